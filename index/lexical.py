"""The lexical (BM25) side of hybrid retrieval, persisted beside the store.

Dense search misses exact terms: drug names, doses, enzyme names such as CYP1A2 or
P-gp. The BM25 index is derived entirely from the store's current chunks, so it is a
cache: it is saved under the store's revision and rebuilt whenever that revision moves
(ingest does so right after committing; a reader rebuilds it if it finds it stale).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from monorag.text import tokenize
from monorag.types import Chunk

FORMAT = "3"
"""Version of the tokenizer and file layout; part of the cache stamp, so a change rebuilds."""


class LexicalIndex:
    """BM25 over chunks, with the chunks themselves kept for lookup by position."""

    def __init__(self, chunks: Sequence[Chunk], bm25: object) -> None:
        self.chunks = list(chunks)
        self._bm25 = bm25
        self._df: np.ndarray | None = None

    @classmethod
    def build(cls, chunks: Iterable[Chunk]) -> LexicalIndex:
        """Index ``chunks`` (their heading path and text)."""
        import bm25s

        chunks = list(chunks)
        bm25 = bm25s.BM25()
        corpus = [tokenize(c.embed_text) or ["\u2205"] for c in chunks]
        if corpus:
            bm25.index(corpus, show_progress=False)
        return cls(chunks, bm25)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros when no term matches)."""
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens or not self.chunks:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    @property
    def _vocab(self) -> dict[str, int]:
        return getattr(self._bm25, "vocab_dict", None) or {}

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every (folded) token of the indexed chunks."""
        return frozenset(self._vocab)

    def idf(self, token: str) -> float:
        """Inverse document frequency of a folded token; unseen tokens get the maximum."""
        n = len(self.chunks)
        if self._df is None:
            scores = getattr(self._bm25, "scores", None) or {}
            indptr = scores.get("indptr")
            self._df = np.diff(indptr) if indptr is not None else np.zeros(0, dtype=np.int64)
        pos = self._vocab.get(token)
        df = int(self._df[pos]) if pos is not None and pos < len(self._df) else 0
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def save(self, folder: Path, revision: str) -> None:
        """Write the index under ``folder`` for ``revision`` (atomically, by rename).

        Processes sharing a data folder may save at once (an ingest, and a reader that
        rebuilt a stale cache): each writes its own temporary folder, and a save that keeps
        losing the race to the final name leaves the other's index (a cache) in place.
        """
        _remove_stale_temporaries(folder)
        tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            tmp.mkdir(parents=True)
            if self.chunks:
                self._bm25.save(str(tmp / "bm25"), show_progress=False)
            with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as out:
                for c in self.chunks:
                    out.write(json.dumps({"id": c.id, "text": c.text, "meta": c.metadata()}) + "\n")
            (tmp / "REVISION").write_text(_stamp(revision), encoding="utf-8")
            for _ in range(3):
                shutil.rmtree(folder, ignore_errors=True)
                try:
                    tmp.rename(folder)
                    return
                except OSError:
                    continue  # another process renamed its index there in between
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def is_saved(folder: Path, revision: str) -> bool:
        """Whether ``folder`` holds the index saved for ``revision`` by this format."""
        try:
            return (folder / "REVISION").read_text(encoding="utf-8") == _stamp(revision)
        except OSError:
            return False

    @classmethod
    def load(cls, folder: Path, revision: str) -> LexicalIndex | None:
        """The index saved for ``revision``, or ``None`` if absent or stale."""
        import bm25s

        try:
            inode = folder.stat().st_ino
            if not cls.is_saved(folder, revision):
                return None
            chunks = []
            with (folder / "chunks.jsonl").open(encoding="utf-8") as lines:
                for line in lines:
                    row = json.loads(line)
                    chunks.append(Chunk.from_record(row["id"], row["text"], row["meta"]))
            bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False) if chunks else None
            if folder.stat().st_ino != inode:
                return None  # replaced by another process while read: parts may not match
        except (OSError, ValueError, KeyError):
            return None
        return cls(chunks, bm25 or bm25s.BM25())


def _stamp(revision: str) -> str:
    return f"{FORMAT}:{revision}"


def _remove_stale_temporaries(folder: Path, older_than: float = 3600.0) -> None:
    """Temporary folders left by saves that were killed (a live save takes seconds)."""
    for tmp in folder.parent.glob(f"{folder.name}.tmp*"):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > older_than:
                shutil.rmtree(tmp, ignore_errors=True)
