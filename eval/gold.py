"""Automatic gold-section labels: which body sections state a FAQ's reference answer.

A FAQ answer is matched against the monograph's body sections (never against the FAQ
itself). Both sides are cut into units the way the engine cuts them (sentences and list
items, ``ingest.chunk.unit_texts``). For every sentence of the reference and every
section the labeller computes

- ``similarity``: the best cosine similarity between the sentence and a unit of the
  section (the unit is kept as the label's evidence);
- ``facts``: the share of the sentence's key facts (``eval.metrics.key_facts``:
  quantities, schedules, drug and enzyme names, list items) that the section's text
  states, or ``None`` when the sentence has no key facts;
- ``score``: the similarity, scaled by ``0.5 + 0.5 * facts`` when the sentence has key
  facts (a section that states none of them scores half its similarity; a fact that
  every section repeats, such as a co-prescribed drug, cannot lift an off-topic section).

A section is **gold** for the item when, for at least one reference sentence, its score
reaches ``LabelParams.gold_min`` and lies within ``LabelParams.margin`` of the best
section for that sentence (monographs repeat facts, e.g. in a summary section, so more
than one section can be gold). A section is **supporting** when, for some sentence, it
is not gold but either scores at least ``LabelParams.support_min`` or states all of the
sentence's key facts with a similarity of at least ``LabelParams.support_facts_sim``:
citing it is not wrong, but it is not where the answer lives. A reference whose best
score stays under ``gold_min`` has no gold section: the body does not state it, and
retrieval metrics skip the item. Labels keep their score, similarity, fact share, the
reference sentence and the evidence unit, so a reviewer can check each one.

Nothing here knows about a particular drug or heading vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from monorag.eval.metrics import EmbedFn, fact_in, key_facts
from monorag.text import unit_texts


@dataclass(frozen=True, slots=True)
class LabelParams:
    """Thresholds of the labeller (recorded in the eval set file with the labels)."""

    gold_min: float = 0.6
    """Lowest score for a gold section: a unit that says the same thing in other words
    scores about 0.6-0.7 in similarity alone; related but different sentences score below."""
    margin: float = 0.1
    """A section within this much of the best section for a sentence is gold as well."""
    support_min: float = 0.6
    """Lowest score for a supporting (acceptable to cite) section."""
    support_facts_sim: float = 0.5
    """Lowest similarity for a section that states all of a sentence's key facts to support it."""

    def to_json(self) -> dict[str, float]:
        """The parameters as a plain mapping."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SectionMatch:
    """How well one section states one sentence of a reference answer."""

    section: str
    """Heading path inside the monograph, e.g. ``Dosage › Standard Dosage › Adults``."""
    score: float
    similarity: float
    facts: float | None
    """Share of the sentence's key facts found in the section (None: it has none)."""
    sentence: str
    """The reference sentence that matched."""
    evidence: str
    """The section's unit most similar to that sentence."""

    def to_json(self) -> dict[str, Any]:
        """A reviewable mapping with rounded scores."""
        return {
            "section": self.section,
            "score": round(self.score, 3),
            "similarity": round(self.similarity, 3),
            "facts": None if self.facts is None else round(self.facts, 3),
            "sentence": self.sentence,
            "evidence": self.evidence,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SectionMatch:
        """Inverse of ``to_json``."""
        facts = data.get("facts")
        return cls(
            section=str(data["section"]),
            score=float(data.get("score", 0.0)),
            similarity=float(data.get("similarity", 0.0)),
            facts=None if facts is None else float(facts),
            sentence=str(data.get("sentence", "")),
            evidence=str(data.get("evidence", "")),
        )


@dataclass(slots=True)
class GoldLabels:
    """Gold and supporting sections of one reference answer, best first."""

    gold: list[SectionMatch] = field(default_factory=list)
    supporting: list[SectionMatch] = field(default_factory=list)


class SectionMatcher:
    """Matches reference answers against the sections of one monograph.

    ``sections`` are ``(heading path, text)`` pairs; the units of all sections are
    embedded once, here. ``vocabulary`` (drug names of the corpus) and ``ignore`` (the
    monograph's own names, which every answer repeats) go to ``key_facts``.
    """

    def __init__(
        self,
        sections: Sequence[tuple[str, str]],
        embed_fn: EmbedFn,
        *,
        vocabulary: Iterable[str] = (),
        ignore: Iterable[str] = (),
        params: LabelParams | None = None,
    ) -> None:
        self.params = params or LabelParams()
        self.embed_fn = embed_fn
        self.vocabulary = list(vocabulary)
        self.ignore = list(ignore)
        self.sections: list[tuple[str, str]] = []
        self.units: list[str] = []
        self.owner: list[int] = []
        for heading, text in sections:
            units = unit_texts(text)
            if not units:
                continue
            self.units += units
            self.owner += [len(self.sections)] * len(units)
            self.sections.append((heading, text))
        self.vectors = _normalised(embed_fn(self.units)) if self.units else np.zeros((0, 1))

    def label(self, reference: str) -> GoldLabels:
        """Gold and supporting sections for ``reference`` (see the module docstring)."""
        sentences = [s for s in unit_texts(reference) if any(ch.isalnum() for ch in s)]
        if not sentences or not self.units:
            return GoldLabels()
        sims = _normalised(self.embed_fn(sentences)) @ self.vectors.T
        best: dict[str, SectionMatch] = {}
        gold: set[str] = set()
        for row, sentence in enumerate(sentences):
            facts = key_facts(sentence, vocabulary=self.vocabulary, ignore=self.ignore)
            matches = [
                self._match(index, sentence, sims[row], facts)
                for index in range(len(self.sections))
            ]
            top = max(m.score for m in matches)
            for match in matches:
                if match.score >= self.params.gold_min and match.score >= top - self.params.margin:
                    gold.add(match.section)
                if self._supports(match) and (
                    match.section not in best or match.score > best[match.section].score
                ):
                    best[match.section] = match
        ranked = sorted(best.values(), key=lambda m: -m.score)
        return GoldLabels(
            gold=[m for m in ranked if m.section in gold],
            supporting=[m for m in ranked if m.section not in gold],
        )

    def _supports(self, match: SectionMatch) -> bool:
        if match.score >= min(self.params.support_min, self.params.gold_min):
            return True
        return match.facts == 1.0 and match.similarity >= self.params.support_facts_sim

    def _match(self, index: int, sentence: str, sims: np.ndarray, facts: list[str]) -> SectionMatch:
        heading, text = self.sections[index]
        mine = [i for i, owner in enumerate(self.owner) if owner == index]
        at = max(mine, key=lambda i: float(sims[i]))
        similarity = max(0.0, float(sims[at]))
        share = sum(fact_in(f, text) for f in facts) / len(facts) if facts else None
        score = similarity if share is None else similarity * (0.5 + 0.5 * share)
        return SectionMatch(heading, score, similarity, share, sentence, self.units[at])


def _normalised(vectors: Any) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError("embed_fn must return a 2-d array")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return array / norms
