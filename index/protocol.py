"""The ``Index`` protocol: what ingest, qa, the CLI and the app call on an index.

Two implementations: ``monorag.index.store.Store`` (Chroma, what monorag runs on) and
``monorag.index.memory.MemoryIndex`` (NumPy, in one process, for the fast tests).
``monorag.index.open_index`` chooses between them by ``StoreSettings.backend``.

Semantics both keep:

- a manifest of files (``FileEntry`` by key) names the revision of each file whose chunks
  are current; chunk ids contain that revision, so a changed file's new chunks are written
  beside the old, the manifest is switched, then the old ones are deleted;
- ``revision()`` changes whenever the set of current chunks changes (readers reload on it);
- a replacement or removal marks its files ``pending()`` until it has finished, and
  ``repair()`` removes what an interrupted one left behind;
- ``query`` returns chunk ids of any revision: readers keep those the manifest names;
- vectors read by id (a chunk's, its units') come from the durable copies here, and a
  reader reads them from its memory-mapped cache (``monorag.index.cache``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from monorag.types import Chunk

CommitFile = tuple["FileEntry", Sequence[Chunk], Any, Sequence[Any]]
"""One file for ``Index.commit_files``: its entry, chunks, chunk vectors, and per chunk the
array of its unit vectors (one row per ``monorag.text.unit_spans`` span)."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One indexed monograph file as recorded in the manifest."""

    key: str
    source: str
    title: str
    aliases: str
    sha256: str
    rev: str
    chunks: int
    last_modified: str
    indexed_at: float
    acronyms: str = ""
    """The acronyms the file defines, as a JSON object (short form -> long form); empty in
    a store written before they were read (re-ingest to read them)."""

    def metadata(self) -> dict[str, Any]:
        """The entry as flat metadata (what Chroma stores for a manifest record)."""
        return asdict(self)


@runtime_checkable
class Index(Protocol):
    """The chunks, unit vectors and manifest of one monograph index."""

    # -- store-level record ------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """Store-level record: embedding model, dimension, revision, format, pending files."""
        ...

    def revision(self) -> str:
        """Changes whenever the set of current chunks changes."""
        ...

    def check_model(self, model: str, dimension: Callable[[], int]) -> None:
        """Record the embedding model on first use; refuse a different one later."""
        ...

    def check_format(self, meta: dict[str, Any] | None = None) -> None:
        """Refuse an index written in another layout."""
        ...

    def model(self) -> str | None:
        """The embedding model the index was built with, if any."""
        ...

    def pending(self) -> list[str]:
        """Files whose replacement was started and not finished."""
        ...

    def rebuild(self) -> Index:
        """Delete everything and return an empty index at the same place."""
        ...

    # -- manifest and writing ------------------------------------------------------------
    def files(self) -> dict[str, FileEntry]:
        """Every indexed file by key."""
        ...

    def commit_files(self, files: Sequence[CommitFile], batch: int = 512) -> int:
        """Make each file's chunks its current content; returns chunks removed."""
        ...

    def remove_file(self, key: str) -> int:
        """Remove a file from the manifest, then its chunks; returns chunks removed."""
        ...

    def repair(self) -> list[str]:
        """Remove what an interrupted ingest left; returns the files repaired."""
        ...

    # -- reading -------------------------------------------------------------------------
    def current_revisions(self, docs: Sequence[str]) -> dict[str, str | None]:
        """The revision the manifest names for each of ``docs`` (None: not indexed)."""
        ...

    def count(self) -> int:
        """Chunks in the index (current or not)."""
        ...

    def query(
        self,
        embedding: Sequence[float],
        n: int,
        where: dict[str, Any] | None = None,
        at_most: int | None = None,
    ) -> list[tuple[str, float]]:
        """Ids of the nearest chunks to ``embedding`` with their cosine similarity, best first."""
        ...

    def chunk_vectors(self, ids: Sequence[str]) -> dict[str, Any]:
        """Stored vectors of the chunks ``ids`` that exist, by id."""
        ...

    def unit_vectors(self, counts: Mapping[str, int]) -> dict[str, Any]:
        """Each chunk's unit vectors (``counts[id]`` rows), by chunk id; missing ones left out."""
        ...

    def iter_chunks(self, where: dict[str, Any] | None = None) -> Iterator[Chunk]:
        """Every chunk (optionally filtered by metadata)."""
        ...

    def iter_chunk_vectors(
        self, where: dict[str, Any] | None = None
    ) -> Iterator[tuple[Chunk, Any, Any]]:
        """Every chunk (any revision; optionally filtered) with its vector and unit vectors."""
        ...
