"""Question answering: retrieval, extractive and generative answerers, the engine facade."""
