"""The reader's cache of one index revision: BM25, chunk vectors and unit vectors.

Everything here is derived from the index's current chunks, so it is a cache: one folder
(``lexical_dir``) holding the BM25 index with its chunks, the chunks' vectors and their
sentence units' vectors (memory-mapped, see ``monorag.index.vectors``), stamped with the
index revision it was built for. It is written into a temporary folder and renamed into
place whole, so a reader finds either the complete cache of one revision or none; a
reader that finds none, or a stale one, rebuilds it from the index (``load_or_build``).
A reader that mapped an older cache keeps reading that revision's files (a rename or an
unlink leaves an open mapping intact): one engine snapshot never mixes two revisions.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monorag.index.lexical import LexicalIndex
from monorag.index.protocol import FileEntry, Index
from monorag.index.vectors import VectorFile, VectorWriter
from monorag.types import Chunk

FORMAT = "4"
"""Version of the cache's layout (and of the tokenizer); part of its stamp. 4 added the
memory-mapped chunk and unit vectors."""

_CHUNKS, _UNITS = "chunk-vectors", "unit-vectors"


@dataclass(frozen=True)
class ReadCache:
    """What a reader of one revision needs in memory or mapped: see the module docstring."""

    revision: str
    lexical: LexicalIndex
    chunk_vectors: VectorFile
    unit_vectors: VectorFile


def stamp(revision: str) -> str:
    """The content of a cache's ``REVISION`` file for ``revision``."""
    return f"{FORMAT}:{revision}"


def is_saved(folder: Path, revision: str) -> bool:
    """Whether ``folder`` holds the complete cache of ``revision`` in this format."""
    try:
        return (folder / "REVISION").read_text(encoding="utf-8") == stamp(revision)
    except OSError:
        return False


def load(folder: Path, revision: str | None) -> ReadCache | None:
    """The cache saved for ``revision``, or None if absent, stale, damaged or replaced.

    ``revision=None`` takes the cache of whatever revision is there (in this format): what
    ``build`` reuses the unchanged files' rows from.
    """
    try:
        inode = folder.stat().st_ino
        found = (folder / "REVISION").read_text(encoding="utf-8")
        if revision is None and not found.startswith(f"{FORMAT}:"):
            return None
        if revision is not None and found != stamp(revision):
            return None
        revision = found.split(":", 1)[1]
        lexical = LexicalIndex.read(folder)
        chunks = VectorFile.open(folder, _CHUNKS)
        units = VectorFile.open(folder, _UNITS)
        if folder.stat().st_ino != inode:
            return None  # replaced by another process while read: parts may not match
    except (OSError, ValueError, KeyError):
        return None
    if len(chunks) != len(lexical.chunks) or len(units) != len(lexical.chunks):
        return None
    return ReadCache(revision, lexical, chunks, units)


def build(
    index: Index,
    folder: Path,
    revision: str,
    files: dict[str, FileEntry] | None = None,
    previous: ReadCache | None = None,
) -> ReadCache:
    """Build the cache of ``revision`` from ``index``'s current chunks and save it.

    Files whose current revision ``previous`` (an older cache) already holds are copied
    from it; only the others are read from the index, so re-ingesting a few files of a
    large corpus reads a few files' records. Vectors stream to files as they are read;
    only the chunks themselves (for BM25) are held. Saving is best effort: a read-only
    data folder costs a rebuild next time, not an error.
    """
    files = index.files() if files is None else files
    reused = _reusable(previous, files) if previous is not None else []
    reused_docs = {c.doc for c, _, _ in reused}
    missing = sorted(doc for doc in files if doc not in reused_docs)
    _remove_stale_temporaries(folder)
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir(parents=True)
    except OSError:
        tmp = Path(_scratch())
    try:
        chunk_out = VectorWriter(tmp, _CHUNKS, "float32")
        unit_out = VectorWriter(tmp, _UNITS, "float16")
        chunks = []
        for chunk, vector, units in reused:
            chunks.append(chunk)
            chunk_out.add(chunk.id, vector)
            unit_out.add(chunk.id, units)
        where = None if not reused else {"doc": {"$in": missing}}
        records = index.iter_chunk_vectors(where) if missing else iter(())
        for chunk, vector, units in records:
            entry = files.get(chunk.doc)
            if entry is None or entry.rev != chunk.rev:
                continue  # another revision's record (a replacement in flight): not ours
            chunks.append(chunk)
            chunk_out.add(chunk.id, vector)
            unit_out.add(chunk.id, units)
        chunk_out.close()
        unit_out.close()
        chunks.sort(key=lambda c: (c.doc, c.ordinal))
        lexical = LexicalIndex.build(chunks)
        lexical.write(tmp)
        (tmp / "REVISION").write_text(stamp(revision), encoding="utf-8")
        cache = ReadCache(
            revision, lexical, VectorFile.open(tmp, _CHUNKS), VectorFile.open(tmp, _UNITS)
        )
        _publish(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cache


def load_or_build(
    index: Index,
    folder: Path,
    revision: str,
    files: dict[str, FileEntry] | None = None,
    previous: ReadCache | None = None,
) -> ReadCache:
    """The saved cache of ``revision``, rebuilt from ``index`` when missing or stale (from
    ``previous`` too, or from whatever older cache the folder holds)."""
    found = load(folder, revision)
    if found is not None:
        return found
    if previous is None:
        previous = load(folder, None)
    return build(index, folder, revision, files, previous)


def _reusable(previous: ReadCache, files: dict[str, FileEntry]) -> list[tuple[Chunk, Any, Any]]:
    """(chunk, vector, unit vectors) from ``previous`` of each file current at that same
    revision there, whole (every chunk with its rows)."""
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in previous.lexical.chunks:
        entry = files.get(chunk.doc)
        if entry is not None and entry.rev == chunk.rev:
            by_doc.setdefault(chunk.doc, []).append(chunk)
    out = []
    for doc, chunks in by_doc.items():
        rows = [
            (previous.chunk_vectors.rows(c.id), previous.unit_vectors.rows(c.id)) for c in chunks
        ]
        if len(chunks) == files[doc].chunks and all(
            v is not None and u is not None for v, u in rows
        ):
            out += [(c, v, u) for c, (v, u) in zip(chunks, rows, strict=True)]
    return out


def _publish(tmp: Path, folder: Path) -> None:
    """Rename ``tmp`` to ``folder``, replacing an older cache (several processes may race:
    a save that keeps losing leaves the other's cache, which is as good)."""
    if not tmp.is_relative_to(folder.parent):
        return  # built in a scratch folder because the data folder is read-only
    for _ in range(3):
        shutil.rmtree(folder, ignore_errors=True)
        try:
            tmp.rename(folder)
            return
        except OSError:
            continue


def _scratch() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="monorag-cache-")


def _remove_stale_temporaries(folder: Path, older_than: float = 3600.0) -> None:
    """Temporary folders left by builds that were killed (a live build takes minutes)."""
    for tmp in folder.parent.glob(f"{folder.name}.tmp*"):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > older_than:
                shutil.rmtree(tmp, ignore_errors=True)
