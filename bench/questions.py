"""A fixed, deterministic list of benchmark questions generated from a corpus.

Questions are the kinds clinicians ask: the monographs' own FAQ questions, what a drug is
used for, its side effects, doses asked by brand or other name, and questions about the
sections a monograph has. They are drawn round-robin over kinds and over drugs with a
seeded random generator, so every run (and both systems) get the same list.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monorag.errors import ParseError
from monorag.ingest.parse import parse_file
from monorag.types import Monograph


@dataclass(frozen=True, slots=True)
class Question:
    """One benchmark question, its kind and the monograph it was made from."""

    text: str
    kind: str
    drug: str


_TEMPLATES: dict[str, tuple[str, ...]] = {
    "used_for": ("What is {name} used for?", "What is {name} indicated for?"),
    "side_effects": (
        "What are the side effects of {name}?",
        "What are the serious side effects of {name}?",
    ),
    "dose": (
        "What is the dose of {name}?",
        "How much {name} should be given?",
        "How should {name} be taken?",
    ),
    "safety": (
        "Can {name} be used during pregnancy?",
        "Who should not take {name}?",
        "What drugs interact with {name}?",
        "How should {name} be stored?",
    ),
}


def _askable(heading: str) -> bool:
    """Whether a heading makes a question: short, not numbered, not the leaflet's own parts."""
    return len(heading) <= 60 and not heading[:1].isdigit() and "leaflet" not in heading.lower()


def make_questions(files: Sequence[Path], n: int = 120, seed: int = 0) -> list[Question]:
    """``n`` questions about the monographs in ``files`` (repeats only if the corpus is tiny).

    Drugs take turns (each contributes about equally), and each drug's turn takes the next
    kind of question in rotation, so a large corpus gets a spread of drugs and kinds.
    """
    rng = random.Random(seed)
    order = sorted(files)
    rng.shuffle(order)
    per_drug: list[dict[str, list[Question]]] = []
    for file in order:
        # One round over n drugs already gives n questions: a large corpus is not parsed whole.
        if len(per_drug) >= n:
            break
        try:
            mono = parse_file(file, file.parent)
        except ParseError:
            continue
        pools = _questions_of(mono)
        for pool in pools.values():
            rng.shuffle(pool)
        if any(pools.values()):
            per_drug.append(pools)
    kinds = ["faq", *_TEMPLATES, "section"]
    out: list[Question] = []
    seen: set[str] = set()
    turn = 0
    while len(out) < n:
        before = len(out)
        for pools in per_drug:
            have = [k for k in kinds if pools.get(k)]
            question = _next(pools, have[turn % len(have)], have, seen)
            turn += 1
            if question is not None:
                seen.add(question.text)
                out.append(question)
                if len(out) == n:
                    break
        if len(out) == before:
            if not out:
                return []
            # A corpus of a few monographs has fewer distinct questions than asked for:
            # repeat the list (the engine caches no answers, so repeats are real work).
            out += out[: n - len(out)]
    return out[:n]


def _questions_of(mono: Monograph) -> dict[str, list[Question]]:
    names = [mono.title] + [a for a in mono.aliases if a.lower() != mono.title.lower()]
    pools: dict[str, list[Question]] = {
        "faq": [Question(f.question, "faq", mono.title) for f in mono.faqs]
    }
    for kind, templates in _TEMPLATES.items():
        # Every name (brand names, INN): clinicians ask by whichever they know.
        pools[kind] = [
            Question(template.format(name=x), kind, mono.title)
            for template in templates
            for x in names
        ]
    pools["section"] = [
        Question(
            f"What does the {mono.title} monograph say about {section.title.lower()}?",
            "section",
            mono.title,
        )
        for section in mono.all_sections()
        if section.text and _askable(section.title)
    ]
    return pools


def _next(
    pools: dict[str, list[Question]], kind: str, kinds: list[str], seen: set[str]
) -> Question | None:
    """The first unasked question of ``kind``, else of the kinds after it."""
    start = kinds.index(kind)
    for other in kinds[start:] + kinds[:start]:
        for question in pools.get(other, []):
            if question.text not in seen:
                return question
    return None
