"""The third stage's default answerer: extractive, grounded, cited, offline.

It picks the sentences or list items of the top evidence that answer the question and
quotes them verbatim, each with the citation key of its passage. Units are scored with
the embedding model (the unit vectors stored at ingest, then a re-rank of the best few
with their own embeddings) and with idf-weighted term overlap. Nothing here knows any
particular drug or question: the same scoring runs on every monograph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from monorag.embed import Embedder
from monorag.index.lexical import LexicalIndex
from monorag.index.store import Store
from monorag.qa.abstention import AbstentionPolicy
from monorag.settings import AnswerSettings
from monorag.text import tokenize, unit_layout
from monorag.types import SEP, Answer, Candidate, Citation, Evidence, Statement, Trace

if TYPE_CHECKING:
    from monorag.qa.plan import Query
    from monorag.qa.retrieve import Retrieval

_LIST_QUESTION = re.compile(
    r"^\s*(?:what|which)\s+(?:are|were)\b|\blist\b|\bwhat\s+(?:side\s+effects|adverse|drugs|"
    r"medications|interactions|contraindications)|\b(?:side\s+effects|adverse\s+(?:effects|"
    r"reactions)|contraindications|interact\w*|precautions|warnings)\b",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^[A-Z][^:.]{2,60}:\s")
# A question that asks for an amount is answered by a sentence that states one.
_ASKS_AMOUNT = re.compile(
    r"\b(?:dose|doses|dosage|dosing|how\s+(?:much|many|often|long)|frequency|"
    r"titrat\w*|maximum|starting|loading|infusion\s+rate)\b",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"\d\s*(?:mg|mcg|µg|g|ml|mL|l|iu|IU|units?|%|mmol|hours?|days?|weeks?|months?|times?)\b"
    r"|\bdays?\s+\d|\d+\s*(?:-|to)\s*\d+",
    re.IGNORECASE,
)
_FAQ_QUESTION = re.compile(r"^\s*Q:\s", re.IGNORECASE)
_ANSWER_PREFIX = re.compile(r"^\s*A:\s*")
_NEEDS_CONTEXT = re.compile(r"^(?:it|this|they|these|that|its|their)\b", re.IGNORECASE)
_GENERIC = frozenset(
    """what how when which who does do can should much many dose dosage doses recommended
    drug drugs medicine medication medications tell about need needed required""".split()
)

# Weights of the unit score. Semantic similarity dominates (the unit's own embedding under
# its heading, and its in-context vector from ingest); overlap of the question's rare terms
# breaks ties between similar sentences; the passage's retrieval rank is a weak prior.
W_OWN = 0.6
W_OVERLAP = 0.30
W_AMOUNT = 0.08
W_PRIOR = 0.05
PLAIN_CHOICE = 3
RERANK_TOKENS = 64
# A re-ranked sentence is embedded from its first 64 word pieces: enough to say what a
# sentence is about, and a long list item no longer sets the cost of the whole batch.
MARGIN = 0.06
LIST_REACH = 0.25
TRACED = 8
"""Candidate statements kept in the trace."""


def scoring(settings: AnswerSettings, model: str) -> dict[str, Any]:
    """Everything the support score depends on: the abstention threshold is fitted for it."""
    return {
        "weights": [W_OWN, W_OVERLAP, W_AMOUNT, W_PRIOR, PLAIN_CHOICE, RERANK_TOKENS],
        "rerank": settings.rerank,
        "model": model,
    }


@dataclass(slots=True)
class Unit:
    """A candidate sentence or list item of one evidence passage."""

    evidence: Evidence
    rank: int
    index: int
    text: str
    item: int
    """Number of the list item the unit belongs to (0: not in a list)."""
    late: float
    overlap: float = 0.0
    heading: float = 0.0
    own: float | None = None
    score: float = 0.0
    states_amount: bool = False


@dataclass(slots=True)
class Selection:
    """What the answerer chose, before it is written out."""

    units: list[Unit] = field(default_factory=list)
    support: float = 0.0
    listing: bool = False
    ranked: list[Unit] = field(default_factory=list)
    """The best candidates, best first (for the trace)."""


class ExtractiveAnswerer:
    """Selects and cites the sentences that answer a question."""

    name = "extractive"

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        lexical: LexicalIndex,
        settings: AnswerSettings,
        policy: AbstentionPolicy,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.lexical = lexical
        self.settings = settings
        self.policy = policy

    def answer(self, query: Query, retrieval: Retrieval, trace: Trace) -> Answer:
        """Quote the statements of ``retrieval`` that answer ``query``, or refuse."""
        selection = self.select(query.question, query.terms, query.vector, retrieval.evidence)
        chosen = {id(u) for u in selection.units}
        trace.support, trace.threshold = selection.support, self.policy.threshold
        trace.candidates = [
            Candidate(
                citation=u.evidence.chunk.name,
                text=u.text,
                score=u.score,
                similarity=u.own if u.own is not None else u.late,
                overlap=u.overlap,
                chosen=id(u) in chosen,
            )
            for u in selection.ranked[:TRACED]
        ]
        note = retrieval.note or query.note
        if not selection.units or not self.policy.supports(selection.support):
            trace.decided_by = "policy"
            refusal = self.policy.unsupported(query.question, selection.support, retrieval.titles)
            trace.abstained_because = refusal.note
            refusal.note = note or refusal.note
            return refusal
        trace.decided_by = "answer"
        answer = self.compose(query.question, selection, searched=retrieval.titles, note=note)
        answer.evidence = answer.evidence or retrieval.evidence
        return answer

    def select(
        self, question: str, terms: str, query_vector: np.ndarray, evidence: list[Evidence]
    ) -> Selection:
        """Score the units of ``evidence`` and choose the answer's sentences or list.

        ``terms`` is the text whose words count for overlap (the question without drug
        names); ``query_vector`` embeds what the question asks about.
        """
        units = self._candidates(query_vector, evidence)
        if not units:
            return Selection()
        weights = {t: self.lexical.idf(t) for t in dict.fromkeys(tokenize(terms))}
        weights = {t: w for t, w in weights.items() if t not in _GENERIC} or weights
        total = sum(weights.values()) or 1.0
        amount = bool(_ASKS_AMOUNT.search(question))
        for unit in units:
            unit.states_amount = amount and bool(_AMOUNT.search(unit.text))
            # A unit is read under its heading: "Common Side Effects" answers "common".
            heading = set(tokenize(unit.evidence.chunk.section))
            terms = set(tokenize(f"{_leaf(unit)} {unit.text}"))
            unit.overlap = sum(w for t, w in weights.items() if t in terms) / total
            unit.heading = sum(w for t, w in weights.items() if t in heading) / total
            unit.score = unit.late + self._bonus(unit)
        units.sort(key=lambda u: -u.score)
        top = units[: self.settings.rerank or PLAIN_CHOICE]
        if self.settings.rerank:
            # Each unit is embedded under its own heading: "Common Side Effects: Fatigue,
            # ..." means something a bare list of symptoms does not.
            vectors = self.embedder.embed(
                [f"{_leaf(u)}: {u.text}" for u in top], max_tokens=RERANK_TOKENS
            )
            for unit, vector in zip(top, vectors, strict=True):
                unit.own = float(np.dot(vector, query_vector))
                unit.score = W_OWN * unit.own + (1 - W_OWN) * unit.late + self._bonus(unit)
            top.sort(key=lambda u: -u.score)
        best = top[0]
        in_top = {id(u) for u in top}
        selection = Selection(
            support=best.score,
            listing=bool(_LIST_QUESTION.search(question)),
            ranked=top + [u for u in units if id(u) not in in_top][: TRACED - len(top)],
        )
        listed = self._listed(best, units) if selection.listing else None
        if listed is not None:
            selection.units = self._list_of(listed)
        else:
            selection.units = self._prose(best, top)
        return selection

    @staticmethod
    def _listed(best: Unit, units: list[Unit]) -> Unit | None:
        """For a list question: the best list item under a heading that names the topic."""
        for unit in sorted(units, key=lambda u: -u.score):
            if unit.item and unit.heading > 0 and unit.score >= best.score - LIST_REACH:
                return unit
        return None

    @staticmethod
    def _bonus(unit: Unit) -> float:
        return (
            W_OVERLAP * unit.overlap
            + W_PRIOR / (1 + unit.rank)
            + (W_AMOUNT if unit.states_amount else 0.0)
        )

    def _candidates(self, query_vector: np.ndarray, evidence: list[Evidence]) -> list[Unit]:
        """The units of ``evidence`` closest to the question by their in-context vectors."""
        layouts = {ev.chunk.id: unit_layout(ev.chunk.text) for ev in evidence}
        vectors = self.store.unit_vectors({cid: len(lay) for cid, lay in layouts.items()})
        scored: list[tuple[float, int, int, str, int]] = []
        for rank, ev in enumerate(evidence):
            rows = vectors.get(ev.chunk.id)
            if rows is None:
                continue
            text = ev.chunk.text
            layout = layouts[ev.chunk.id]
            for index, ((start, end, item), late) in enumerate(
                zip(layout, rows @ query_vector, strict=True)
            ):
                unit_text = " ".join(text[start:end].split())
                if not _FAQ_QUESTION.match(unit_text):
                    scored.append((float(late), rank, index, unit_text, item))
        # Twelve per passage (counted over all passages) is plenty: the rest, far from the
        # question, cannot reach the re-rank.
        scored.sort(key=lambda u: -u[0])
        return [
            Unit(evidence[rank], rank, index, _ANSWER_PREFIX.sub("", text), item, late)
            for late, rank, index, text, item in scored[: 12 * len(evidence)]
        ]

    def _list_of(self, best: Unit) -> list[Unit]:
        """The whole list around ``best`` in its passage, one unit per list item, in order."""
        layout = unit_layout(best.evidence.chunk.text)
        text = best.evidence.chunk.text
        lo = hi = best.index
        while lo > 0 and layout[lo - 1][2]:
            lo -= 1
        while hi + 1 < len(layout) and layout[hi + 1][2]:
            hi += 1
        items: dict[int, list[int]] = {}
        for i in range(lo, hi + 1):
            items.setdefault(layout[i][2], []).append(i)
        out = []
        for number, indexes in list(items.items())[: self.settings.max_list_items]:
            start, end = layout[indexes[0]][0], layout[indexes[-1]][1]
            joined = " ".join(text[start:end].split())
            out.append(Unit(best.evidence, best.rank, indexes[0], joined, number, best.late))
        return out

    def _prose(self, best: Unit, ranked: list[Unit]) -> list[Unit]:
        chosen = [best]
        for unit in ranked[1:]:
            if len(chosen) >= self.settings.max_sentences:
                break
            if unit.score < best.score - MARGIN or any(_same(unit.text, c.text) for c in chosen):
                continue
            # A runner-up must match the question's terms as well as the best does, or be
            # nearly as close in meaning: this keeps loosely related lines out.
            if unit.overlap < best.overlap and (unit.own or 0.0) < (best.own or 0.0) - MARGIN / 2:
                continue
            chosen.append(unit)
        # A sentence that leans on the one before it ("It is reduced to ...", or a line
        # under a "Patients with Renal Impairment: ..." lead-in) brings that one along.
        for unit in list(chosen):
            if unit.index > 0 and self._leans_back(unit):
                layout = unit_layout(unit.evidence.chunk.text)
                s, e, item = layout[unit.index - 1]
                prev = " ".join(unit.evidence.chunk.text[s:e].split())
                if _FAQ_QUESTION.match(prev):
                    continue
                if not any(
                    c.evidence is unit.evidence and c.index == unit.index - 1 for c in chosen
                ):
                    chosen.append(
                        Unit(unit.evidence, unit.rank, unit.index - 1, prev, item, unit.late)
                    )
        chosen.sort(key=lambda u: (u.rank, u.index))
        return chosen

    @staticmethod
    def _leans_back(unit: Unit) -> bool:
        if _NEEDS_CONTEXT.match(unit.text):
            return True
        text = unit.evidence.chunk.text
        layout = unit_layout(text)
        s, e, item = layout[unit.index - 1]
        if unit.item and item == unit.item:
            return True  # a later sentence of a list item is read with the item's first
        same_block = "\n\n" not in text[e : layout[unit.index][0]] and item == unit.item
        return same_block and bool(_LABEL.match(text[s:e])) and not _LABEL.match(unit.text)

    def compose(
        self, question: str, selection: Selection, *, searched: list[str], note: str = ""
    ) -> Answer:
        """Write the selection out as an ``Answer`` with keys and citations."""
        keys: dict[str, str] = {}
        citations: list[Citation] = []
        quotes: dict[str, list[str]] = {}
        for unit in selection.units:
            chunk = unit.evidence.chunk
            if chunk.id not in keys:
                keys[chunk.id] = f"S{len(keys) + 1}"
                unit.evidence.key = keys[chunk.id]
            quotes.setdefault(chunk.id, []).append(unit.text)
        drugs = list(dict.fromkeys(u.evidence.chunk.drug for u in selection.units))
        # Statements say which drug they are about whenever more than one is in play: an
        # unlabelled dose answering "X and Y?" would read as applying to both.
        labelled = len(drugs) > 1 or len(searched) > 1
        unquoted = [d for d in searched if d not in drugs] if len(searched) > 1 else []
        if unquoted:
            only = (
                f"The answer quotes only the {' and '.join(drugs)} "
                f"monograph{'s' if len(drugs) > 1 else ''}, nothing about "
                f"{' or '.join(unquoted)}: ask about {' and '.join(unquoted)} separately."
            )
            note = f"{note} {only}" if note else only
        statements = [
            Statement(
                text=f"{u.evidence.chunk.drug}: {u.text}" if labelled else u.text,
                keys=[keys[u.evidence.chunk.id]],
            )
            for u in selection.units
        ]
        for unit in selection.units:
            chunk = unit.evidence.chunk
            key = keys[chunk.id]
            if any(c.key == key for c in citations):
                continue
            citations.append(Citation.of(chunk, key, " ".join(quotes[chunk.id])))
        if selection.listing and all(u.item for u in selection.units):
            text = "\n".join(f"- {s.text} [{s.keys[0]}]" for s in statements)
        else:
            text = " ".join(f"{s.text} [{s.keys[0]}]" for s in statements)
        return Answer(
            question=question,
            text=text,
            abstained=False,
            citations=citations,
            mode="extractive",
            statements=statements,
            drugs=drugs,
            note=note,
            evidence=[u.evidence for u in selection.units],
        )


def _same(a: str, b: str) -> bool:
    """Near-duplicates (a FAQ answer restating a section sentence, say)."""
    ta, tb = set(tokenize(a)), set(tokenize(b))
    if not ta or not tb:
        return a == b
    return len(ta & tb) / min(len(ta), len(tb)) > 0.6


def _leaf(unit: Unit) -> str:
    return unit.evidence.chunk.section.rsplit(SEP, 1)[-1]
