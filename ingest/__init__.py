"""Ingestion: parse monographs, chunk them by section, embed them into a Chroma store."""
