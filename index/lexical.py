"""The lexical (BM25) side of hybrid retrieval, persisted beside the store.

Dense search misses exact terms: drug names, doses, enzyme names such as CYP1A2 or
P-gp. The BM25 index is derived entirely from the store's current chunks, so it is a
cache: part of the reader's per-revision cache (``monorag.index.cache``), rebuilt whenever
the store's revision moves (ingest does so right after committing; a reader rebuilds it if
it finds it stale).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from monorag.text import tokenize
from monorag.types import Chunk


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

    def _doc_freq(self) -> np.ndarray:
        if self._df is None:
            scores = getattr(self._bm25, "scores", None) or {}
            indptr = scores.get("indptr")
            self._df = np.diff(indptr) if indptr is not None else np.zeros(0, dtype=np.int64)
        return self._df

    def frequencies(self) -> dict[str, int]:
        """Every (folded) token -> the number of chunks it occurs in."""
        df = self._doc_freq()
        return {t: int(df[i]) if i < len(df) else 0 for t, i in self._vocab.items()}

    def idf(self, token: str) -> float:
        """Inverse document frequency of a folded token; unseen tokens get the maximum."""
        n = len(self.chunks)
        df_of = self._doc_freq()
        pos = self._vocab.get(token)
        df = int(df_of[pos]) if pos is not None and pos < len(df_of) else 0
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def write(self, folder: Path) -> None:
        """Write the index into ``folder`` (``monorag.index.cache`` stamps and publishes it)."""
        if self.chunks:
            self._bm25.save(str(folder / "bm25"), show_progress=False)
        with (folder / "chunks.jsonl").open("w", encoding="utf-8") as out:
            for c in self.chunks:
                out.write(json.dumps({"id": c.id, "text": c.text, "meta": c.metadata()}) + "\n")

    @classmethod
    def read(cls, folder: Path) -> LexicalIndex:
        """The index ``write`` left in ``folder`` (``OSError``/``ValueError`` if damaged)."""
        import bm25s

        chunks = []
        with (folder / "chunks.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                chunks.append(Chunk.from_record(row["id"], row["text"], row["meta"]))
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False) if chunks else None
        return cls(chunks, bm25 or bm25s.BM25())
