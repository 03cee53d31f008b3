"""An optional LLM judge: grades an answer against the reference as correct, incorrect or
not attempted (the three grades of SimpleQA-style grading).

Deterministic metrics say how much of the reference an answer repeats; a judge says
whether it is right. It is optional (``monorag eval --judge NAME``) and never needed for
the CI gate. The chat model comes from ``qa.llm.get_llm``, so any configured backend
(including the ``fake`` one in tests) can judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from monorag.errors import BackendError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

Grade = Literal["correct", "incorrect", "not_attempted", "unparsed", "error"]
GRADES: tuple[Grade, ...] = ("correct", "incorrect", "not_attempted")

JUDGE_SYSTEM = """You grade answers to clinicians' questions about medicines.
You get the question, the gold reference answer from the drug monograph, and the answer
to grade. Grade the answer:
A) CORRECT: it states what the reference says that answers the question, and nothing
   that contradicts it. Extra true detail, other wording or partial lists that keep the
   reference's main point are fine.
B) INCORRECT: it contradicts the reference, answers a different question, or misses the
   reference's main point while claiming to answer.
C) NOT_ATTEMPTED: it declines to answer or says the information is not available, without
   contradicting the reference.
Reply with one word: CORRECT, INCORRECT or NOT_ATTEMPTED."""

JUDGE_USER = """Question: {question}
Reference answer: {reference}
Answer to grade: {answer}
Grade:"""

_WORD = re.compile(r"\b(NOT[\s_-]?ATTEMPTED|INCORRECT|CORRECT)\b", re.IGNORECASE)
_LETTER = re.compile(r"^\s*\(?([ABC])\)?\s*(?:[).:]|$)", re.IGNORECASE)
_BY_LETTER: dict[str, Grade] = {"A": "correct", "B": "incorrect", "C": "not_attempted"}


def parse_grade(reply: str) -> Grade:
    """The grade a judge's reply gives: the first grade word, or a leading A/B/C."""
    match = _WORD.search(reply)
    if match:
        word = re.sub(r"[\s_-]", "", match.group(1).upper())
        return {"CORRECT": "correct", "INCORRECT": "incorrect"}.get(word, "not_attempted")
    letter = _LETTER.match(reply)
    if letter:
        return _BY_LETTER[letter.group(1).upper()]
    return "unparsed"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A judge's grade and its raw reply (or the error)."""

    grade: Grade
    reply: str


class Judge:
    """Grades answers with a LangChain chat model.

    A failure on the very first call raises ``BackendError`` (a judge that cannot be
    reached should stop the run, not grade every answer "error"); later failures are
    recorded as the grade ``error``.
    """

    def __init__(self, chat_model: BaseChatModel, name: str = "") -> None:
        self.chat_model = chat_model
        self.name = name or type(chat_model).__name__
        self._answered = 0

    def grade(self, question: str, reference: str, answer: str) -> Verdict:
        """Grade one answer against its reference."""
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = [
            SystemMessage(JUDGE_SYSTEM),
            HumanMessage(JUDGE_USER.format(question=question, reference=reference, answer=answer)),
        ]
        try:
            reply = self.chat_model.invoke(messages)
        except Exception as exc:  # any backend failure; the first one is fatal
            if self._answered == 0:
                raise BackendError(f"the LLM judge {self.name} failed: {exc}") from exc
            return Verdict("error", f"{type(exc).__name__}: {exc}")
        self._answered += 1
        text = reply.text if hasattr(reply, "text") else str(reply)
        return Verdict(parse_grade(text), text.strip())
