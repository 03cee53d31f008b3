"""A compact prompt for small local models, and citations recovered by matching.

The full prompt (``qa.prompt``: seven rules, every retrieved passage fenced in tags) is
right for a capable model. SmolLM2-135M, the model the ``local`` backend ships with, was
measured on it: ~410 prompt tokens, no ``[S1]`` citation ever, 3 of 5 grounded dose
questions wrongly refused. What worked better on the same questions (recorded in
``tests/data/local_llm_outputs.json``): one short instruction, two worked examples (user
and assistant turns) whose answers copy the passage and end with ``[S1]``, and evidence cut
down to what the extractive answerer already chose, so the prompt is ~150-270 tokens.

- ``compact_evidence``: the passages the extractive answer cited (the sentences it quoted
  plus one neighbour on each side), else the best retrieved passages' first sentences;
  at most ``MAX_PASSAGES``, renumbered ``S1``.. so the keys the model sees are the keys
  the answer is checked against.
- ``build_compact_messages``: the messages for one question.
- ``attribute``: a statement the model left without a key is given one only when exactly
  one passage could have supplied it (every number it states, and most of its words);
  otherwise it stays uncited and the usual checks (``qa.generate``) fall back.

The examples deliberately carry no population, so the model cannot copy one into an
answer; they also show nothing about refusing, because with a refusal example the model
refused every question (10 of 10 in the measurement). It therefore answers even when the
evidence does not, and the qualifier check (``qa.qualifiers``) is what rejects that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from monorag.qa.guard import find_mentions, unsupported_numbers
from monorag.qa.prompt import NOT_IN_MONOGRAPHS, neutralise
from monorag.text import passage_sentences
from monorag.types import Answer, Evidence, Statement

MAX_PASSAGES = 3
"""Passages shown to a small model: more made it quote the wrong one."""

NEIGHBOURS = 1
"""Sentences kept on each side of a quoted one: enough for "In adults:" lead-ins."""

FIRST_SENTENCES = 3
"""Sentences of a passage shown when the extractive answer quoted none of it."""

COMPACT_SYSTEM = (
    "You answer questions about medicines from the evidence only. Copy numbers exactly. "
    "End every sentence with the key of its passage, like [S1]. "
    f"If the evidence does not answer the question, reply exactly: {NOT_IN_MONOGRAPHS}"
)

EXAMPLES: tuple[tuple[str, str, str], ...] = (
    (
        "[S1] Examplinib › Dosage: The usual dose is 20 mg once daily. Tablets may be split.",
        "How much examplinib is given?",
        "The usual dose is 20 mg once daily [S1].",
    ),
    (
        "[S1] Samplumab › Dosage: Severe hepatic impairment: 5 mg every 2 weeks.",
        "Samplumab dose in severe hepatic impairment?",
        "Severe hepatic impairment: 5 mg every 2 weeks [S1].",
    ),
)
"""Worked examples (evidence, question, answer), fictional drugs so nothing leaks."""

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by for from in is it of on or the to with was were this that "
    "these those should be can may will not no".split()
)

ATTRIBUTION_SHARE = 0.6
"""Share of a statement's content words one passage must hold to be its only source."""


def sentences(text: str) -> list[str]:
    """The sentences (and list items) of a passage, single-line, in order."""
    return passage_sentences(text)


def compact_evidence(evidence: Sequence[Evidence], fallback: Answer) -> list[tuple[Evidence, str]]:
    """``(evidence renumbered S1.., text shown)`` for the compact prompt.

    The passages come from the extractive answer when it cited any (they are what the
    question is most likely about), in its order; the rest of the budget goes to the best
    retrieved passages. The Evidence keeps its whole chunk: checks run on the passage, not
    on the excerpt shown.
    """
    by_id = {item.chunk.id: item for item in evidence}
    chosen: list[tuple[Evidence, str]] = []
    seen: set[str] = set()
    for citation in fallback.citations:
        item = by_id.get(citation.chunk_id)
        if item is None or item.chunk.id in seen:
            continue
        seen.add(item.chunk.id)
        chosen.append((item, _excerpt(item.chunk.text, citation.quote)))
    for item in evidence:
        if len(chosen) >= MAX_PASSAGES:
            break
        if item.chunk.id in seen or chosen:  # only pad when nothing was cited
            continue
        seen.add(item.chunk.id)
        chosen.append((item, " ".join(sentences(item.chunk.text)[:FIRST_SENTENCES])))
    return [
        (replace(item, key=f"S{i}"), text)
        for i, (item, text) in enumerate(chosen[:MAX_PASSAGES], 1)
    ]


def _excerpt(passage: str, quote: str) -> str:
    """The passage's sentences that ``quote`` holds, with ``NEIGHBOURS`` on each side."""
    parts = sentences(passage)
    said = _squash(quote)
    hits = [i for i, s in enumerate(parts) if _squash(s) and _squash(s) in said]
    if not hits:
        return " ".join(parts[:FIRST_SENTENCES])
    keep = sorted({j for i in hits for j in range(i - NEIGHBOURS, i + NEIGHBOURS + 1)})
    return " ".join(parts[j] for j in keep if 0 <= j < len(parts))


def _squash(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _line(item: Evidence, text: str) -> str:
    return f"[{item.key}] {neutralise(item.chunk.name)}: {neutralise(' '.join(text.split()))}"


def build_compact_messages(
    question: str, items: Sequence[tuple[Evidence, str]]
) -> list[BaseMessage]:
    """System rule, the worked examples as earlier turns, then this question's evidence."""
    messages: list[BaseMessage] = [SystemMessage(COMPACT_SYSTEM)]
    for evidence, asked, answered in EXAMPLES:
        messages.append(HumanMessage(f"Evidence:\n{evidence}\n\nQuestion: {asked}"))
        messages.append(AIMessage(answered))
    lines = "\n".join(_line(item, text) for item, text in items)
    messages.append(HumanMessage(f"Evidence:\n{lines}\n\nQuestion: {neutralise(question.strip())}"))
    return messages


NOVEL_SHARE = 0.25
"""Largest share of a statement's content words that may be in neither its passages nor the
question. The small model is right when it copies; the wrong statements measured
("Pomalidomide ... is used to treat renal failure") brought words of their own."""


def _stem(word: str) -> str:
    for suffix in ("ages", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _content(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


def unfaithful(question: str, statements: Sequence[Statement], by_key: dict[str, Evidence]) -> str:
    """Why the answer is not a wording of its evidence ("" when it is).

    Two failures of the small model: repeating itself until the token limit (the same
    statement twice), and statements with words of their own: more than ``NOVEL_SHARE``
    of the content words in neither the cited passages (heading path included) nor the
    question.
    """
    seen: set[str] = set()
    asked = _content(question)
    every = list(by_key)
    for statement in statements:
        flat = " ".join(_WORD.findall(statement.text.lower()))
        if flat in seen:
            return "The LLM answer repeats itself"
        seen.add(flat)
        words = _content(statement.text)
        if not words:
            continue
        keys = [k for k in statement.keys if k in by_key] or every
        allowed = asked.union(*(_content(by_key[k].chunk.embed_text) for k in keys))
        novel = sorted(words - allowed)
        if len(novel) / len(words) > NOVEL_SHARE:
            shown = ", ".join(novel[:4])
            return f"The LLM answer says what its cited sections do not (words: {shown})"
        if find_mentions(statement.text):
            # A number stated about what only the question names: measured, "The shelf
            # life of Pomalidomide is approximately 7 to 9 hours" from a half-life passage.
            passage = set().union(*(_content(by_key[k].chunk.embed_text) for k in keys))
            borrowed = sorted(words & asked - passage - _GENERIC)
            if borrowed:
                shown = ", ".join(borrowed[:4])
                return (
                    "The LLM answer gives a number for what the question asks "
                    f"({shown}) but its cited section does not mention"
                )
    return ""


_GENERIC = frozenset(
    _stem(w)
    for w in "dose dosage dosing recommended usual starting initial maximum daily patient "
    "patients adult adults take taken given give much many long often what how which "
    "treatment day days week weeks mg first next then when time".split()
)


def attribute(statements: list[Statement], keyed: Sequence[Evidence]) -> list[str]:
    """Give uncited statements the key of their only possible source; return keys added.

    A passage is a possible source of a statement when it holds every number the
    statement states (``qa.guard``) and at least ``ATTRIBUTION_SHARE`` of its content
    words. With none, or several, the statement stays uncited: guessing a source would
    make the citation, the thing a clinician checks, unreliable.
    """
    added: list[str] = []
    for statement in statements:
        if statement.keys:
            continue
        words = {w for w in _WORD.findall(statement.text.lower()) if w not in _STOP}
        if not words:
            continue
        sources = []
        for item in keyed:
            text = item.chunk.embed_text
            theirs = set(_WORD.findall(text.lower()))
            share = len(words & theirs) / len(words)
            numbers_ok = not find_mentions(statement.text) or not unsupported_numbers(
                statement.text, [text]
            )
            if numbers_ok and share >= ATTRIBUTION_SHARE:
                sources.append(item.key)
        if len(sources) == 1:
            statement.keys = [sources[0]]
            if sources[0] not in added:
                added.append(sources[0])
    return added
