"""The Chroma store: a chunk collection plus a manifest collection.

A chunk record carries the chunk's vector (searched), text and metadata, and its sentence
units' vectors as one float16 field (``monorag.index.vectors``): the durable copy a
reader's memory-mapped cache is built from. Nothing is ever read by id from a vector
index the reader would have to load whole.

The manifest records, per monograph file, the revision (content hash) whose chunks are
current, and once per store the embedding model. Chunk ids contain the revision, so a
changed file's new chunks are written beside the old ones, the manifest is switched,
and only then are the old chunks deleted. Readers keep only chunks whose revision the
manifest names, so a question never sees a half-replaced monograph, and a killed ingest
leaves chunks that the next ingest recognises and removes.

Works the same on an embedded store (``PersistentClient``, a folder) and on a Chroma
server (``HttpClient``), which is what several processes must use to share one store.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from monorag.errors import (
    StoreNotFoundError,
    StoreUnavailableError,
)
from monorag.index.protocol import CommitFile, FileEntry, Index
from monorag.index.record import IndexRecord
from monorag.index.vectors import UNITS_FIELD, decode_units, encode_units
from monorag.settings import StoreSettings
from monorag.types import Chunk

META_ID = "__store__"
_DUMMY = [1.0]  # manifest records carry no meaning in vector space; Chroma needs a vector.
_PAGE = 5000
_VECTOR_PAGE = 1000
"""Chunk records per read when their vectors and unit vectors come along (~10 KB each)."""


_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def open_client(settings: StoreSettings) -> Any:
    """A Chroma client for the store: embedded folder or server, telemetry off.

    Clients are shared per location within a process, as Chroma expects.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    key = settings.chroma_url or str(settings.path.resolve())
    with _CLIENTS_LOCK:
        if key in _CLIENTS:
            return _CLIENTS[key]
        try:
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                client = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
                client.heartbeat()
            else:
                settings.path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(
                    path=str(settings.path), settings=chroma_settings
                )
        except Exception as exc:
            raise StoreUnavailableError(
                f"cannot open the Chroma store at {settings.where}: {_sentence(exc)} "
                + (
                    "Check the URL, or start the server with `chroma run --path DIR --port N`."
                    if settings.chroma_url
                    else "Check that the folder is writable and not used by another version."
                )
            ) from exc
        _CLIENTS[key] = client
        return client


def _sentence(exc: Exception) -> str:
    """``exc``'s message ending in exactly one full stop (Chroma's may end in "?")."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if text.endswith((".", "?", "!")) else text + "."


def forget_client(settings: StoreSettings) -> None:
    """Drop the cached client of a location (tests that delete a store folder need this)."""
    with _CLIENTS_LOCK:
        _CLIENTS.pop(settings.chroma_url or str(settings.path.resolve()), None)


class Store(IndexRecord):
    """Chunks and manifest of one monograph index."""

    def __init__(self, client: Any, settings: StoreSettings, chunks: Any, manifest: Any) -> None:
        self.client = client
        self.settings = settings
        self.chunks = chunks
        self.manifest = manifest

    @classmethod
    def open(cls, settings: StoreSettings, *, create: bool = False) -> Store:
        """Open the store; with ``create`` make its collections when missing.

        Without ``create``, a store that was never ingested raises ``StoreNotFoundError``.
        """
        if (
            not create
            and not settings.chroma_url
            and not (settings.path / "chroma.sqlite3").exists()
        ):
            raise StoreNotFoundError(settings.where)
        client = open_client(settings)
        names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        manifest_name = f"{settings.collection}-manifest"
        if not create and manifest_name not in names:
            raise StoreNotFoundError(settings.where)
        chunks = client.get_or_create_collection(
            settings.collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"monorag": "chunks"},
        )
        manifest = client.get_or_create_collection(
            manifest_name, embedding_function=None, metadata={"monorag": "manifest"}
        )
        return cls(client, settings, chunks, manifest)

    # -- store-level metadata -------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        """Store-level record: embedding model, dimension, revision, pending files."""
        got = self.manifest.get(ids=[META_ID], include=["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else {}

    def _write_meta(self, **changes: Any) -> None:
        meta = self.meta()
        meta.update(changes)
        self.manifest.upsert(ids=[META_ID], embeddings=[_DUMMY], metadatas=[meta], documents=[""])

    def rebuild(self) -> Store:
        """Delete everything in the store and return a fresh, empty one."""
        base = self.settings.collection
        # ``-units``: the unit collection of format 3 stores, gone since format 4.
        for name in (base, f"{base}-units", f"{base}-manifest"):
            with contextlib.suppress(Exception):
                self.client.delete_collection(name)
        return Store.open(self.settings, create=True)

    # -- manifest ---------------------------------------------------------------------------

    def files(self) -> dict[str, FileEntry]:
        """Every indexed file by key."""
        out: dict[str, FileEntry] = {}
        for ids, metas in self._pages(self.manifest, include=["metadatas"]):
            for id_, meta in zip(ids, metas, strict=True):
                if id_ != META_ID:
                    fields = FileEntry.__dataclass_fields__
                    out[id_] = FileEntry(**{f: meta[f] for f in fields if f in meta})
        return out

    # -- writing ------------------------------------------------------------------------------

    def commit_file(
        self,
        entry: FileEntry,
        chunks: Sequence[Chunk],
        embeddings: Any,
        units: Sequence[Any] = (),
        batch: int = 512,
    ) -> int:
        """Make ``chunks`` the current content of ``entry.key``; returns chunks removed.

        ``units[i]`` holds the unit vectors of ``chunks[i]`` (one row per
        ``ingest.chunk.unit_spans`` span).
        """
        return self.commit_files([(entry, chunks, embeddings, units)], batch)

    def commit_files(
        self,
        files: Sequence[CommitFile],
        batch: int = 512,
    ) -> int:
        """``commit_file`` for several files in one round of writes; returns chunks removed.

        Order matters for readers and for crash safety: mark the files pending, write
        their new chunks and units, switch their manifest entries, delete the records of
        older revisions, clear the marks. A kill anywhere leaves pending files that the
        next ingest repairs. Every Chroma write costs about 14 ms of CPU whatever its
        size, so writing a group of files together rather than file by file saves most
        of the store's share of an ingest.
        """
        if not files:
            return 0
        pending = self.pending()
        keys = [entry.key for entry, *_ in files]
        # Only a file the manifest names, or one left pending by a killed ingest, can have
        # records to delete: a new file's check (a read that brings every record's unit
        # vectors along) is skipped, which is every file of a first ingest.
        prior = self.current_revisions(keys)
        may_have_old = {k for k in keys if prior[k] is not None or k in pending}
        self._set_pending([*pending, *keys])
        chunks = [c for _, file_chunks, _, _ in files for c in file_chunks]
        vectors = [row for _, _, embeddings, _ in files for row in embeddings]
        units = [rows for _, _, _, file_units in files for rows in file_units]
        units += [()] * (len(chunks) - len(units))
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            self.chunks.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[start : start + batch],
                documents=[c.text for c in part],
                metadatas=[
                    {**c.metadata(), UNITS_FIELD: encode_units(rows)}
                    for c, rows in zip(part, units[start : start + batch], strict=True)
                ],
            )
        self.manifest.upsert(
            ids=[entry.key for entry, *_ in files],
            embeddings=[_DUMMY] * len(files),
            metadatas=[entry.metadata() for entry, *_ in files],
            documents=[""] * len(files),
        )
        removed = self._delete_stale(
            {entry.key: entry.rev for entry, *_ in files if entry.key in may_have_old}
        )
        self._write_meta(revision=uuid.uuid4().hex, pending=json.dumps(sorted(set(pending))))
        return removed

    def remove_file(self, key: str) -> int:
        """Remove a file from the manifest, then its chunks; returns chunks removed."""
        # Marked pending first: a kill between the two deletes must not orphan chunks
        # that no manifest entry (and so no repair) would ever point at again.
        pending = self.pending()
        self._set_pending([*pending, key])
        self.manifest.delete(ids=[key])
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
        """Delete the records of each file ``key`` whose revision is not ``keep[key]``
        (all of its records when ``None``); returns the chunks deleted."""
        if not keep:
            return 0
        got = self.chunks.get(where={"doc": {"$in": sorted(keep)}}, include=["metadatas"])
        stale = [
            id_
            for id_, meta in zip(got["ids"], got["metadatas"], strict=True)
            if meta is not None and meta.get("rev") != keep.get(str(meta.get("doc")))
        ]
        for start in range(0, len(stale), _PAGE):
            self.chunks.delete(ids=stale[start : start + _PAGE])
        return len(stale)

    # -- reading --------------------------------------------------------------------------------

    def current_revisions(self, docs: Sequence[str]) -> dict[str, str | None]:
        """The revision the manifest names for each of ``docs`` (None: not indexed)."""
        if not docs:
            return {}  # Chroma refuses an empty list of ids
        got = self.manifest.get(ids=list(docs), include=["metadatas"])
        found = {i: (m or {}).get("rev") for i, m in zip(got["ids"], got["metadatas"], strict=True)}
        return {doc: found.get(doc) for doc in docs}

    def count(self) -> int:
        """Chunks in the store (current or not)."""
        return int(self.chunks.count())

    def query(
        self,
        embedding: Sequence[float],
        n: int,
        where: dict[str, Any] | None = None,
        at_most: int | None = None,
    ) -> list[tuple[str, float]]:
        """Ids of the nearest chunks to ``embedding`` with their cosine similarity.

        Ids only: a reader holds the chunks themselves (``monorag.index.cache``), and a
        record's metadata carries its unit vectors. ``at_most`` is a known lower bound of
        the collection's size (a reader knows how many current chunks it loaded); without
        it the collection is counted, which is one more round trip.
        """
        size = at_most if at_most is not None else self.count()
        n = max(1, min(n, size or 1))
        res = self.chunks.query(
            query_embeddings=[list(map(float, embedding))],
            n_results=n,
            where=where,
            include=["distances"],
        )
        return [
            (id_, 1.0 - float(dist))
            for id_, dist in zip(res["ids"][0], res["distances"][0], strict=True)
        ]

    def chunk_vectors(self, ids: Sequence[str]) -> dict[str, Any]:
        """The stored vectors of the chunks ``ids`` (one fetch by id; missing ones left out)."""
        return _vectors_by_id(self.chunks, ids)

    def unit_vectors(self, counts: Mapping[str, int]) -> dict[str, Any]:
        """The first ``counts[id]`` unit vectors of each chunk, from the chunk records.

        The durable copy (a reader uses its memory-mapped cache); a chunk that is gone, or
        has fewer units than asked for, is left out.
        """
        import numpy as np

        ids = [cid for cid, n in counts.items() if n]
        if not ids:
            return {}
        got = self.chunks.get(ids=ids, include=["metadatas"])
        out: dict[str, Any] = {}
        for id_, meta in zip(got["ids"], got["metadatas"], strict=True):
            rows = decode_units(str((meta or {}).get(UNITS_FIELD, "")))
            n = counts[id_]
            if len(rows) >= n:
                out[id_] = np.asarray(rows[:n], dtype=np.float32)
        return out

    def iter_chunk_vectors(
        self, where: dict[str, Any] | None = None
    ) -> Iterator[tuple[Chunk, Any, Any]]:
        """Every chunk (optionally filtered) with its vector and unit vectors (float16), paged."""
        import numpy as np

        for ids, docs, metas, vectors in self._pages(
            self.chunks,
            include=["documents", "metadatas", "embeddings"],
            where=where,
            page=_VECTOR_PAGE,
        ):
            for id_, doc, meta, vector in zip(ids, docs, metas, vectors, strict=True):
                meta = dict(meta or {})
                units = decode_units(str(meta.pop(UNITS_FIELD, "")))
                chunk = Chunk.from_record(id_, doc or "", meta)
                yield chunk, np.asarray(vector, dtype=np.float32), units

    def iter_chunks(self, where: dict[str, Any] | None = None) -> Iterator[Chunk]:
        """Every chunk (optionally filtered), paged so memory stays flat."""
        for ids, docs, metas in self._pages(
            self.chunks, include=["documents", "metadatas"], where=where, page=_VECTOR_PAGE
        ):
            for id_, doc, meta in zip(ids, docs, metas, strict=True):
                yield Chunk.from_record(id_, doc or "", dict(meta or {}))

    @staticmethod
    def _pages(
        collection: Any,
        include: list[str],
        where: dict[str, Any] | None = None,
        page: int = _PAGE,
    ) -> Iterator[tuple[list[str], ...]]:
        offset = 0
        while True:
            got = collection.get(include=include, where=where, limit=page, offset=offset)
            ids = got["ids"]
            if not ids:
                return
            yield (ids, *[got[name] for name in include])
            if len(ids) < page:
                return
            offset += len(ids)


def _vectors_by_id(collection: Any, ids: Sequence[str]) -> dict[str, Any]:
    """Stored vectors of the records ``ids`` that exist, by id (one fetch, no search)."""
    import numpy as np

    if not ids:
        return {}
    got = collection.get(ids=list(ids), include=["embeddings"])
    return {
        id_: np.asarray(vector, dtype=np.float32)
        for id_, vector in zip(got["ids"], got["embeddings"], strict=True)
    }


def now() -> float:
    """Wall-clock time for manifest stamps."""
    return time.time()


def current_chunks(store: Index, files: dict[str, FileEntry] | None = None) -> list[Chunk]:
    """Chunks of the revision the manifest names for each file, in file and chunk order."""
    files = store.files() if files is None else files
    out = [c for c in store.iter_chunks() if c.doc in files and c.rev == files[c.doc].rev]
    out.sort(key=lambda c: (c.doc, c.ordinal))
    return out


def lexical_dir(settings: StoreSettings) -> Path:
    """Folder of the reader's cache of this store (``monorag.index.cache``: BM25 and the
    mapped vectors; local even when the store is a server)."""
    import hashlib

    tag = hashlib.sha1((settings.chroma_url or "local").encode()).hexdigest()[:8]
    return settings.path / "lexical" / f"{settings.collection}-{tag}"
