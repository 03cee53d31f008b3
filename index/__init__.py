"""The index layer: the store of chunks and sentence vectors, the lexical index, the manifest.

Both ``monorag.ingest`` (which writes) and ``monorag.qa`` (which reads) use it; it imports only
the foundation (``monorag.types``, ``settings``, ``errors``, ``text``). ``open_index`` is the
one way in: the Chroma store (``index/store.py``) or, for tests, the in-memory NumPy index
(``index/memory.py``), both behind the ``Index`` protocol (``index/protocol.py``).
"""

from __future__ import annotations

from monorag.index.protocol import FileEntry, Index
from monorag.settings import StoreSettings

__all__ = ["FileEntry", "Index", "open_index"]


def open_index(settings: StoreSettings, *, create: bool = False) -> Index:
    """The index ``settings`` name: Chroma (``backend="chroma"``) or in memory (``"memory"``).

    Without ``create``, an index that was never ingested raises ``StoreNotFoundError``;
    with it, a missing one is made empty.
    """
    # Imported when chosen: importing the package for its names loads neither backend.
    if settings.backend == "memory":
        from monorag.index.memory import MemoryIndex

        return MemoryIndex.open(settings, create=create)
    from monorag.index.store import Store

    return Store.open(settings, create=create)
