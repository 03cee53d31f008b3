"""The second stage: hybrid retrieval, dense search plus BM25 fused by reciprocal rank.

``Retriever.retrieve(query)`` returns the evidence for a ``Query``; when the question named
no drug and the corpus holds several monographs, it answers from a dominant monograph or
reports the candidates (the policy then asks which drug is meant).

Both sides can be restricted to a set of monographs (the drugs a question names) and
can leave out the FAQ chunks of given monographs (the evaluation's held-out mode). Only
chunks of the revision the manifest names are returned, so a reader never sees a
half-replaced monograph.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from monorag.index.lexical import LexicalIndex
from monorag.index.protocol import FileEntry, Index
from monorag.index.vectors import VectorFile
from monorag.qa.reader import SPOKEN_OF
from monorag.settings import RetrieveSettings
from monorag.text import tokenize
from monorag.types import Chunk, Evidence

if TYPE_CHECKING:
    from monorag.qa.plan import Query

DOMINANT_SHARE = 0.6
"""When no drug is named and several monographs are indexed, the best monograph must hold
this share of the retrieval score of the top passages to be answered from alone."""

MENTIONING = 2
"""Passages naming a co-drug of the question added to its evidence, per co-drug."""
DOSING = 2
"""Passages of a monograph's dosing section added for a dose question that reached none."""
_DOSING = re.compile(
    r"\b(?:dosage|dosing|posology|how (?:to|is|are|much)\b.{0,30}\b(?:take|use|given|"
    r"administ\w*|inject\w*|inhal\w*|apply)\w*)",
    re.IGNORECASE,
)
"""A dosing section's heading ("3. How to take X", "2 DOSAGE AND ADMINISTRATION")."""


@dataclass(slots=True)
class Retrieval:
    """The evidence for one query, and what retrieval decided about scope."""

    evidence: list[Evidence] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    """Monographs searched (named, or the dominant one when none was named)."""
    note: str = ""
    ambiguous: list[str] = field(default_factory=list)
    """No drug named and no dominant monograph: the best-matching titles, to ask back."""


class Retriever:
    """Dense + lexical search over the current chunks of a store."""

    def __init__(
        self,
        store: Index,
        lexical: LexicalIndex,
        vectors: VectorFile,
        files: Mapping[str, FileEntry],
        settings: RetrieveSettings,
    ) -> None:
        self.store = store
        self.lexical = lexical
        self.vectors = vectors
        """The current chunks' vectors (memory-mapped, the same revision as ``lexical``)."""
        self._at = {chunk.id: i for i, chunk in enumerate(lexical.chunks)}
        self.files = files
        self.settings = settings
        positions: dict[str, list[int]] = defaultdict(list)
        for i, chunk in enumerate(lexical.chunks):
            positions[chunk.doc].append(i)
        self._positions = {doc: np.asarray(p, dtype=np.int64) for doc, p in positions.items()}
        self._is_faq = np.asarray([c.kind == "faq" for c in lexical.chunks], dtype=bool)
        self._doc_of = [c.doc for c in lexical.chunks]

    def _current(self, chunk: Chunk) -> bool:
        entry = self.files.get(chunk.doc)
        return entry is not None and entry.rev == chunk.rev

    def retrieve(self, query: Query, k: int | None = None) -> Retrieval:
        """The evidence for ``query``, scoped to a dominant monograph when none was named."""
        terms = f"{query.text} {query.phrased}".strip()
        evidence = self.search(
            terms, query.vector, docs=query.docs, k=k, exclude_faq_of=query.exclude
        )
        if query.docs is not None or len(self.files) <= 1 or not evidence:
            titles = query.titles or list(dict.fromkeys(e.chunk.drug for e in evidence[:3]))
            if query.codrugs:
                evidence += self._mentioning(query.codrugs, query.docs, query.exclude, evidence)
            if query.barred and query.docs is not None:
                evidence += self._barring(query.docs, query.exclude, evidence)
            if query.dosing and query.docs is not None:
                evidence += self._dosing(query.docs, query.exclude, evidence)
            if query.speaks and query.docs is not None:
                evidence += self._speaking(query.docs, query.exclude, evidence, query.speaks)
            if query.docs is not None and len(set(query.named.values())) > 1:
                evidence += self._together(query, evidence)
            return Retrieval(evidence, titles)
        share: dict[str, float] = {}
        for ev in evidence:
            share[ev.chunk.doc] = share.get(ev.chunk.doc, 0.0) + ev.score
        best_doc, best = max(share.items(), key=lambda kv: kv[1])
        title = self.files[best_doc].title
        if best / sum(share.values()) >= DOMINANT_SHARE and evidence[0].chunk.doc == best_doc:
            focused = self.search(
                terms, query.vector, docs=[best_doc], k=k, exclude_faq_of=query.exclude
            )
            return Retrieval(
                focused, [title], f"No drug was named; answered from the {title} monograph."
            )
        # Shares equal to three places are a tie, broken by title: the approximate
        # index can order near-equal scores differently from one build to the next.
        ranked = sorted(share.items(), key=lambda kv: (-round(kv[1], 3), self.files[kv[0]].title))
        return Retrieval([], [], ambiguous=[self.files[d].title for d, _ in ranked[:3]])

    def mentions(self, name: str, docs: Collection[str]) -> bool:
        """True when the current text of one of ``docs`` contains every word of ``name``."""
        found, _ = self._naming(name, self._allowed(docs, ()))
        return bool(found.any())

    def passages_naming(
        self, name: str, docs: Collection[str] | None = None, limit: int | None = None
    ) -> list[str]:
        """The text of the current passages of ``docs`` (None: every monograph) that
        contain every word of ``name``, the most relevant by BM25 first, at most ``limit``
        (``monorag.qa.classes`` reads them)."""
        candidates = self._allowed(docs, ())
        found, total = self._naming(name, candidates)
        out: list[str] = []
        for j in np.argsort(-np.where(found, total, -1.0), kind="stable"):
            if not found[j] or (limit is not None and len(out) >= limit):
                break
            chunk = self.lexical.chunks[int(candidates[j])]
            if self._current(chunk):
                out.append(chunk.text)
        return out

    def _naming(self, name: str, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``candidates`` (lexical positions) contain every word of ``name``, and
        their summed BM25 score for those words."""
        tokens = list(dict.fromkeys(tokenize(name)))
        if not tokens or not len(candidates):
            return np.zeros(len(candidates), dtype=bool), np.zeros(len(candidates))
        found = np.ones(len(candidates), dtype=bool)
        total = np.zeros(len(candidates))
        for token in tokens:
            sub = self.lexical.scores(token)[candidates]
            found &= sub > 0
            total += sub
        return found, total

    def _mentioning(
        self,
        names: Sequence[str],
        docs: Collection[str] | None,
        exclude_faq_of: Collection[str],
        have: list[Evidence],
    ) -> list[Evidence]:
        """Passages of ``docs`` that name one of ``names`` (a co-drug the question asks
        about) and are not in ``have`` yet: the interaction a monograph states must reach
        the answerer even when the rest of the question matches other passages better."""
        candidates = self._allowed(docs, exclude_faq_of)
        taken = {e.chunk.id for e in have}
        floor = min((e.score for e in have), default=0.0)
        out: list[Evidence] = []
        for name in names:
            found, total = self._naming(name, candidates)
            if not found.any():
                continue
            for j in np.argsort(-np.where(found, total, -1.0), kind="stable")[:MENTIONING]:
                chunk = self.lexical.chunks[int(candidates[j])]
                if not found[j] or chunk.id in taken or not self._current(chunk):
                    continue
                taken.add(chunk.id)
                out.append(Evidence(chunk=chunk, score=floor, lexical=float(total[j])))
        return out

    def _barring(
        self, docs: Collection[str], exclude_faq_of: Collection[str], have: list[Evidence]
    ) -> list[Evidence]:
        """For "who shouldn't take X": the first passage of each of ``docs`` that bars the
        drug ("Do not take X", "X must not be given", "contraindicated"), when the search
        did not find it: its words are far from the question's."""
        return self._first_passages(docs, exclude_faq_of, have, _bars, 1)

    def _dosing(
        self, docs: Collection[str], exclude_faq_of: Collection[str], have: list[Evidence]
    ) -> list[Evidence]:
        """For a dose question: the first passages of the dosing section of each of
        ``docs`` whose dosing section the search did not reach ("decitabine aml regimen"
        finds what AML is and the vial's strength; "How to take" names neither)."""
        reached = {e.chunk.doc for e in have if _DOSING.search(e.chunk.section)}
        return self._first_passages(
            [d for d in docs if d not in reached],
            exclude_faq_of,
            have,
            lambda chunk: chunk.kind == "section" and bool(_DOSING.search(chunk.section)),
            DOSING,
        )

    def _speaking(
        self,
        docs: Collection[str],
        exclude_faq_of: Collection[str],
        have: list[Evidence],
        targets: Sequence[str],
    ) -> list[Evidence]:
        """For a question asking what a statement answers only by speaking of it (an
        overdose, a missed dose, storage, how it works): the passage of each of ``docs``
        that speaks of it most ("If you take more X than you should"; ``SPOKEN_OF``):
        "took a handful by mistake" shares no word with it."""
        patterns = [SPOKEN_OF[t] for t in targets]
        taken = {e.chunk.id for e in have}
        floor = min((e.score for e in have), default=0.0)
        best: dict[str, tuple[int, Chunk]] = {}
        for position in self._allowed(docs, exclude_faq_of):
            chunk = self.lexical.chunks[int(position)]
            if chunk.kind != "section" or not self._current(chunk):
                continue
            said = sum(len(p.findall(f"{chunk.section}\n{chunk.text}")) for p in patterns)
            if said and said > best.get(chunk.doc, (0, chunk))[0]:
                best[chunk.doc] = (said, chunk)
        return [
            Evidence(chunk=chunk, score=floor)
            for _, chunk in best.values()
            if chunk.id not in taken
        ]

    def _first_passages(
        self,
        docs: Collection[str],
        exclude_faq_of: Collection[str],
        have: list[Evidence],
        wanted: Callable[[Chunk], bool],
        per_doc: int,
    ) -> list[Evidence]:
        """The first ``per_doc`` current passages of each of ``docs`` that are ``wanted``,
        in document order, less those already in ``have`` (added at its lowest score)."""
        candidates = self._allowed(docs, exclude_faq_of)
        taken = {e.chunk.id for e in have}
        floor = min((e.score for e in have), default=0.0)
        out: list[Evidence] = []
        count: dict[str, int] = defaultdict(int)
        for position in candidates:
            chunk = self.lexical.chunks[int(position)]
            if count[chunk.doc] >= per_doc or not self._current(chunk):
                continue
            if wanted(chunk):
                count[chunk.doc] += 1
                if chunk.id not in taken:
                    out.append(Evidence(chunk=chunk, score=floor))
        return out

    def _together(self, query: Query, have: list[Evidence]) -> list[Evidence]:
        """For drugs the question names together that each have a monograph: the passages
        of each one's monographs that name another (the interaction either states)."""
        out: list[Evidence] = []
        for said in dict.fromkeys(query.named.values()):
            own = {t for t, s in query.named.items() if s == said}
            others = [
                n for t, s in query.named.items() if s != said for n in dict.fromkeys([t, s]) if n
            ]
            docs = [d for d in query.docs or () if d in self.files and self.files[d].title in own]
            aliases = {a.lower() for d in docs for a in self.files[d].aliases.split("|")}
            others = [n for n in others if n.lower() not in aliases]
            others += [c for t in own for c in query.classed.get(t, ())]
            out += self._mentioning(others, docs, query.exclude, [*have, *out])
        return out

    def search(
        self,
        query: str,
        query_vector: Sequence[float],
        *,
        docs: Collection[str] | None = None,
        k: int | None = None,
        exclude_faq_of: Collection[str] = (),
    ) -> list[Evidence]:
        """The ``k`` best chunks for ``query`` (restricted to ``docs`` when given)."""
        k = k or self.settings.k
        n = self.settings.candidates
        dense = self._dense(query_vector, docs, exclude_faq_of, n)
        lexical = self._lexical(query, docs, exclude_faq_of, n)
        fused: dict[str, Evidence] = {}
        for rank, (chunk, sim) in enumerate(dense):
            ev = fused.setdefault(chunk.id, Evidence(chunk=chunk, score=0.0))
            ev.dense = sim
            ev.score += 1.0 / (self.settings.rrf_k + rank + 1)
        for rank, (chunk, bm25) in enumerate(lexical):
            ev = fused.setdefault(chunk.id, Evidence(chunk=chunk, score=0.0))
            ev.lexical = bm25
            ev.score += 1.0 / (self.settings.rrf_k + rank + 1)
        ranked = sorted(fused.values(), key=lambda e: (-e.score, -(e.dense or 0.0), e.chunk.id))
        return ranked[:k]

    def _dense(
        self,
        vector: Sequence[float],
        docs: Collection[str] | None,
        exclude_faq_of: Collection[str],
        n: int,
    ) -> list[tuple[Chunk, float]]:
        if docs is not None:
            return self._dense_within(vector, self._allowed(docs, exclude_faq_of), n)
        where = _where(docs, exclude_faq_of)
        hits = self.store.query(vector, n, where=where, at_most=len(self.lexical.chunks))
        # Only ids come back: chunks of this snapshot's revision are the ones held here.
        found = [(self.lexical.chunks[self._at[cid]], s) for cid, s in hits if cid in self._at]
        return [(c, s) for c, s in found if self._current(c)]

    def _dense_within(
        self, vector: Sequence[float], allowed: np.ndarray, n: int
    ) -> list[tuple[Chunk, float]]:
        """Exact similarity over the chunks of named monographs, fetched by id.

        A filtered nearest-neighbour search over the whole index must wade through the
        other monographs' chunks to find a few dozen allowed ones (it was most of the
        retrieval time at 954 monographs); the named monographs' chunks are known here,
        so their vectors are fetched and scored exactly instead.
        """
        chunks = [self.lexical.chunks[int(i)] for i in allowed]
        vectors = self.vectors.single([c.id for c in chunks])
        found = [c for c in chunks if c.id in vectors]
        if not found:
            return []
        sims = np.stack([vectors[c.id] for c in found]) @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-sims, kind="stable")[:n]
        return [(found[j], float(sims[j])) for j in order if self._current(found[j])]

    def _allowed(self, docs: Collection[str] | None, exclude_faq_of: Collection[str]) -> np.ndarray:
        """Positions (in the lexical index) of the chunks a search may return."""
        if docs is not None:
            parts = [self._positions[d] for d in docs if d in self._positions]
            candidates = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        else:
            candidates = np.arange(len(self.lexical.chunks))
        if exclude_faq_of and len(candidates):
            excluded = set(exclude_faq_of)
            keep = [i for i in candidates if not (self._is_faq[i] and self._doc_of[i] in excluded)]
            candidates = np.asarray(keep, dtype=np.int64)
        return candidates

    def _lexical(
        self,
        query: str,
        docs: Collection[str] | None,
        exclude_faq_of: Collection[str],
        n: int,
    ) -> list[tuple[Chunk, float]]:
        scores = self.lexical.scores(query)
        candidates = self._allowed(docs, exclude_faq_of)
        if not len(candidates):
            return []
        sub = scores[candidates]
        order = np.argsort(-sub, kind="stable")[:n]
        return [
            (self.lexical.chunks[int(candidates[j])], float(sub[j]))
            for j in order
            if sub[j] > 0 and self._current(self.lexical.chunks[int(candidates[j])])
        ]


def _bars(chunk: Chunk) -> bool:
    """Whether ``chunk`` bars its drug: "Do not take X", "You must not be given X", "X is
    contraindicated", a label's CONTRAINDICATIONS section."""
    if "contraindication" in chunk.section.lower():
        return True
    drug = re.escape(chunk.drug.lower())
    return bool(
        re.search(
            rf"\b(?:do not|must not|should not|never)\s+(?:\w+\s+){{0,2}}?"
            rf"(?:take|use|be given|receive|have)\s+{drug}\b|\b{drug}\b[^.]{{0,30}}"
            r"\bcontraindicated\b",
            chunk.text.lower(),
        )
    )


def _where(docs: Collection[str] | None, exclude_faq_of: Collection[str]) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if docs is not None:
        clauses.append({"doc": {"$in": sorted(docs)}})
    if exclude_faq_of:
        clauses.append({"$or": [{"kind": "section"}, {"doc": {"$nin": sorted(exclude_faq_of)}}]})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
