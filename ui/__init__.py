"""The top layer: the command line, the Streamlit chat and their presentation helpers."""
