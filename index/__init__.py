"""The index layer: the store of chunks and sentence vectors, the lexical index, the manifest.

Both ``monorag.ingest`` (which writes) and ``monorag.qa`` (which reads) use it; it imports only
the foundation (``monorag.types``, ``settings``, ``errors``, ``text``).
"""
