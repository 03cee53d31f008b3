"""An in-memory NumPy index with the semantics of the Chroma store, for fast tests.

Same revision stamps, manifest, pending/repair protocol, ``where`` filters and vectors by
id as ``monorag.index.store.Store``; exact cosine search instead of HNSW. Nothing is
persisted: an index lives as long as the process. Indexes are registered per process by
location (``StoreSettings.path`` and collection), so an ingest and an ``Engine`` opened
later on the same settings see the same index, as they would on disk.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monorag.errors import StoreNotFoundError
from monorag.index.protocol import CommitFile, FileEntry
from monorag.index.record import IndexRecord
from monorag.settings import StoreSettings
from monorag.types import Chunk


class MemoryIndex(IndexRecord):
    """Chunks, unit vectors and manifest of one index, held in dictionaries."""

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        # One lock per index: every method reads or writes under it, so a reader never
        # iterates a dictionary that a writer is changing. Writes stay step by step (as
        # on Chroma), so an interrupted commit leaves what the repair protocol expects.
        self._lock = threading.RLock()
        self._meta: dict[str, Any] = {}
        self._files: dict[str, FileEntry] = {}
        self._chunks: dict[str, Chunk] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._units: dict[str, np.ndarray] = {}

    @classmethod
    def open(cls, settings: StoreSettings, *, create: bool = False) -> MemoryIndex:
        """The process's index at ``settings``' location; with ``create`` make it if missing.

        Without ``create``, an index that was never ingested raises ``StoreNotFoundError``.
        """
        key = _key(settings)
        with _REGISTRY_LOCK:
            index = _REGISTRY.get(key)
            if index is None:
                if not create:
                    raise StoreNotFoundError(settings.where)
                index = _REGISTRY[key] = cls(settings)
            return index

    # -- store-level record ------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        """Store-level record: embedding model, dimension, revision, pending files."""
        with self._lock:
            return dict(self._meta)

    def _write_meta(self, **changes: Any) -> None:
        with self._lock:
            self._meta.update(changes)

    def rebuild(self) -> MemoryIndex:
        """Delete everything in the index and return it, empty."""
        with self._lock:
            for table in (self._meta, self._files, self._chunks, self._vectors, self._units):
                table.clear()
        return self

    # -- manifest and writing ------------------------------------------------------------

    def files(self) -> dict[str, FileEntry]:
        """Every indexed file by key."""
        with self._lock:
            return dict(self._files)

    def commit_files(self, files: Sequence[CommitFile], batch: int = 512) -> int:
        """Make each file's chunks its current content; returns chunks removed.

        The steps and their order are the Chroma store's: mark the files pending, write
        the new chunks and units, switch the manifest, delete older revisions, clear the
        marks. ``batch`` only matters to Chroma.
        """
        if not files:
            return 0
        pending = self.pending()
        self._set_pending([*pending, *(entry.key for entry, *_ in files)])
        with self._lock:
            for _, chunks, vectors, units in files:
                for i, chunk in enumerate(chunks):
                    self._chunks[chunk.id] = chunk
                    self._vectors[chunk.id] = np.asarray(vectors[i], dtype=np.float32)
                    if i < len(units):
                        # float16, as the Chroma store keeps them (the same answers).
                        self._units[chunk.id] = np.asarray(units[i], dtype=np.float16)
            for entry, *_ in files:
                self._files[entry.key] = entry
        removed = self._delete_stale({entry.key: entry.rev for entry, *_ in files})
        self._write_meta(revision=uuid.uuid4().hex, pending=json.dumps(sorted(set(pending))))
        return removed

    def remove_file(self, key: str) -> int:
        """Remove a file from the manifest, then its chunks; returns chunks removed."""
        pending = self.pending()
        self._set_pending([*pending, key])
        with self._lock:
            self._files.pop(key, None)
        removed = self._delete_stale({key: None})
        self._write_meta(revision=uuid.uuid4().hex, pending=json.dumps(sorted(set(pending))))
        return removed

    def repair(self) -> list[str]:
        """Remove chunks left by an interrupted ingest; returns the files repaired."""
        pending = self.pending()
        if not pending:
            return []
        files = self.files()
        self._delete_stale({key: files[key].rev if key in files else None for key in pending})
        self._write_meta(revision=uuid.uuid4().hex, pending="[]")
        return pending

    def _delete_stale(self, keep: dict[str, str | None]) -> int:
        """Delete the chunks of each file ``key`` whose revision is not ``keep[key]``."""
        with self._lock:
            stale = [
                cid
                for cid, chunk in self._chunks.items()
                if chunk.doc in keep and chunk.rev != keep[chunk.doc]
            ]
            for cid in stale:
                del self._chunks[cid]
                self._vectors.pop(cid, None)
                self._units.pop(cid, None)
            return len(stale)

    # -- reading -------------------------------------------------------------------------

    def current_revisions(self, docs: Sequence[str]) -> dict[str, str | None]:
        """The revision the manifest names for each of ``docs`` (None: not indexed)."""
        with self._lock:
            return {d: self._files[d].rev if d in self._files else None for d in docs}

    def count(self) -> int:
        """Chunks in the index (current or not)."""
        with self._lock:
            return len(self._chunks)

    def query(
        self,
        embedding: Sequence[float],
        n: int,
        where: dict[str, Any] | None = None,
        at_most: int | None = None,
    ) -> list[tuple[str, float]]:
        """Ids of the ``n`` chunks nearest to ``embedding`` (exact cosine), matching ``where``.

        ``at_most`` is accepted for the protocol's sake: there is no round trip to save.
        """
        with self._lock:
            found = [c.id for c in self._chunks.values() if matches(c.metadata(), where)]
            if not found:
                return []
            matrix = np.stack([self._vectors[cid] for cid in found])
        sims = matrix @ np.asarray(embedding, dtype=np.float32)
        # Stored vectors are unit length; dividing anyway keeps this a cosine for any input.
        sims /= np.maximum(np.linalg.norm(matrix, axis=1), 1e-12) * max(
            float(np.linalg.norm(np.asarray(embedding, dtype=np.float32))), 1e-12
        )
        order = np.argsort(-sims, kind="stable")[: max(1, n)]
        return [(found[j], float(sims[j])) for j in order]

    def chunk_vectors(self, ids: Sequence[str]) -> dict[str, Any]:
        """The stored vectors of the chunks ``ids`` (missing ones left out)."""
        with self._lock:
            return {i: self._vectors[i].copy() for i in ids if i in self._vectors}

    def unit_vectors(self, counts: Mapping[str, int]) -> dict[str, Any]:
        """The first ``counts[id]`` unit vectors of each chunk, by chunk id.

        A chunk whose units are gone, or fewer than asked for, is left out (as on Chroma).
        """
        with self._lock:
            return {
                cid: self._units[cid][:n].astype(np.float32)
                for cid, n in counts.items()
                if n and cid in self._units and len(self._units[cid]) >= n
            }

    def iter_chunk_vectors(
        self, where: dict[str, Any] | None = None
    ) -> Iterator[tuple[Chunk, Any, Any]]:
        """Every chunk (optionally filtered) with its vector and units, in the order written."""
        with self._lock:
            rows = [
                (c, self._vectors[c.id].copy(), self._units.get(c.id, np.zeros((0, 0))).copy())
                for c in self._chunks.values()
                if matches(c.metadata(), where)
            ]
        yield from rows

    def iter_chunks(self, where: dict[str, Any] | None = None) -> Iterator[Chunk]:
        """Every chunk (optionally filtered), in the order written."""
        with self._lock:
            chunks = [c for c in self._chunks.values() if matches(c.metadata(), where)]
        yield from chunks


def matches(meta: Mapping[str, Any], where: Mapping[str, Any] | None) -> bool:
    """Whether metadata ``meta`` passes a Chroma ``where`` filter.

    The operators monorag uses: ``$and``, ``$or``, a field equal to a value, and a field's
    ``$eq``, ``$ne``, ``$in``, ``$nin``. Another operator raises, so a filter this index
    would silently misread cannot pass a test.
    """
    if not where:
        return True
    for field, cond in where.items():
        if field == "$and":
            ok = all(matches(meta, c) for c in cond)
        elif field == "$or":
            ok = any(matches(meta, c) for c in cond)
        elif isinstance(cond, Mapping):
            ok = all(_compare(meta.get(field), op, value) for op, value in cond.items())
        else:
            ok = meta.get(field) == cond
        if not ok:
            return False
    return True


def _compare(found: Any, op: str, value: Any) -> bool:
    if op == "$eq":
        return bool(found == value)
    if op == "$ne":
        return bool(found != value)
    if op == "$in":
        return found in value
    if op == "$nin":
        return found not in value
    raise ValueError(f"MemoryIndex does not support the where operator {op!r}")


_REGISTRY: dict[str, MemoryIndex] = {}
_REGISTRY_LOCK = threading.Lock()


def _key(settings: StoreSettings) -> str:
    return f"{settings.path.resolve()}|{settings.collection}"


def forget_under(folder: Path) -> int:
    """Drop every registered index located under ``folder``; returns how many.

    Tests give each index a folder in their tmp_path; dropping them afterwards keeps a
    long test session from holding every index it ever built.
    """
    root = Path(folder).resolve()
    with _REGISTRY_LOCK:
        gone = [k for k, i in _REGISTRY.items() if i.settings.path.resolve().is_relative_to(root)]
        for key in gone:
            del _REGISTRY[key]
    return len(gone)
