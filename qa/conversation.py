"""Conversation state: the drug(s) and topic of earlier turns carry into follow-ups.

"and for Kaposi sarcoma?" after a pomalidomide dosing question keeps the drug
(pomalidomide) and the topic (dosing) of the turn before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FOLLOW_UP = re.compile(
    r"^\s*(?:and|also|but|what about|how about|same for|and what about|what if|or|then)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(?:it|its|this drug|that drug|the drug|this medicine|they|them)\b", re.I)
_SHORT = 6


@dataclass(slots=True)
class Turn:
    """One answered question."""

    question: str
    topic: str
    """The question without its drug names: what it asks about."""
    drugs: list[str]
    docs: list[str]
    abstained: bool


@dataclass
class Conversation:
    """The turns so far; ``Engine.ask(..., conversation=c)`` reads and extends it."""

    turns: list[Turn] = field(default_factory=list)
    max_turns: int = 20

    def last_with_drugs(self) -> Turn | None:
        """The most recent turn that was about a known monograph."""
        return next((t for t in reversed(self.turns) if t.docs), None)

    @staticmethod
    def is_follow_up(question: str) -> bool:
        """A question that leans on the previous turn ("and for ...?", "what about it?")."""
        words = question.split()
        return bool(_FOLLOW_UP.search(question) or _PRONOUN.search(question)) or len(words) <= 3

    @staticmethod
    def refers_back(question: str) -> bool:
        """A question that names the previous turn's subject by a pronoun or opens as a
        continuation ("can I take it with ...?", "and with ...?"); unlike
        ``is_follow_up``, shortness alone does not count ("ciprofloxacin dose?")."""
        return bool(_FOLLOW_UP.search(question) or _PRONOUN.search(question))

    def topic_for(self, question: str) -> str:
        """Search text for a follow-up: the question plus the previous turn's topic."""
        last = self.turns[-1] if self.turns else None
        if last is None or not self.is_follow_up(question):
            return question
        if len(question.split()) > _SHORT and not _FOLLOW_UP.search(question):
            return question
        return f"{question} {last.topic}"

    def add(self, turn: Turn) -> None:
        """Record a turn (keeping the last ``max_turns``)."""
        self.turns.append(turn)
        del self.turns[: -self.max_turns]

    def clear(self) -> None:
        """Forget every turn."""
        self.turns.clear()
