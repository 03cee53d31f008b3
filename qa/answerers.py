"""Answerers by name, from one registry: ``extractive``, ``llm:<backend>``, and fakes.

An answerer turns a ``Query`` and its ``Retrieval`` into an ``Answer`` and records what it
did on the call's ``Trace``. Every answerer goes through the same ``AbstentionPolicy``: the
LLM answerer's fallback is the extractive answer (or its refusal), so a refusal the policy
makes is never replaced by an unchecked LLM text.

``get_answerer("extractive", context)``, ``get_answerer("llm:openai", context)`` (the LLM
backend named after the colon; plain ``llm`` uses ``settings.llm.backend``), and
``get_answerer("fake", context)``, a scripted LLM answerer for tests (the LLM registry's
``fake`` chat model). ``register_answerer`` adds others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from monorag.errors import BackendError
from monorag.qa.answer import ExtractiveAnswerer
from monorag.qa.plan import Query
from monorag.qa.retrieve import Retrieval
from monorag.settings import LLMSettings
from monorag.types import Answer, Trace


class Answerer(Protocol):
    """The third stage: an answer for a query from its evidence."""

    name: str

    def answer(self, query: Query, retrieval: Retrieval, trace: Trace) -> Answer:
        """The answer (or refusal) for ``query``; records its decision on ``trace``."""
        ...


class StreamingAnswerer(Answerer, Protocol):
    """An answerer that can hand out its text as it is produced."""

    def stream(
        self, query: Query, retrieval: Retrieval, trace: Trace, fallback: Answer | None = None
    ) -> tuple[Iterator[str], Callable[[], Answer]]:
        """Text pieces, and a function giving the final answer once they are consumed;
        ``fallback``, when given, is the extractive answer already made."""
        ...


@dataclass(frozen=True, slots=True)
class AnswerContext:
    """What answerers are built from: the extractive answerer and the LLM backends."""

    extractive: ExtractiveAnswerer
    llm: LLMSettings
    llm_for: Callable[[str], Any]
    """The shared ``LLMAnswerer`` of a backend name (the engine builds each once)."""
    answer_refused: bool = False
    """Let the LLM answer where the extractive answerer refused for low support (its
    answer is still checked, and the refusal is the fallback)."""


AnswererFactory = Callable[[AnswerContext, str], Answerer]
_FACTORIES: dict[str, AnswererFactory] = {}


def register_answerer(name: str, factory: AnswererFactory) -> None:
    """Make ``factory`` available as answerer ``name`` (``factory(context, argument)``)."""
    _FACTORIES[name.strip().lower()] = factory


def available_answerers() -> list[str]:
    """Registered answerer names, sorted."""
    return sorted(_FACTORIES)


def get_answerer(name: str, context: AnswerContext) -> Answerer:
    """The answerer ``name`` (``kind`` or ``kind:argument``), built from ``context``."""
    kind, _, argument = name.strip().lower().partition(":")
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise BackendError(
            f"unknown answerer {name!r}: use one of {', '.join(available_answerers())}"
        )
    return factory(context, argument)


class LLMStage:
    """The checked LLM answer over the evidence, with the extractive answer as fallback."""

    def __init__(self, context: AnswerContext, shared: Any) -> None:
        self.context = context
        self.shared = shared
        self.name = shared.mode

    def _fresh(self) -> Any:
        # A fresh answerer per call around the shared chat model: the LLM answerer keeps
        # per-call state (its last answer), and one engine serves many users at once.
        answerer = type(self.shared)(
            self.shared.chat_model,
            self.shared.backend_label,
            where=self.shared.where,
            prompt=getattr(self.shared, "prompt", "full"),
        )
        answerer.description = self.shared.description
        return answerer

    def _skips(self, fallback: Answer, retrieval: Retrieval) -> bool:
        return not retrieval.evidence or (fallback.abstained and not self.context.answer_refused)

    def answer(self, query: Query, retrieval: Retrieval, trace: Trace) -> Answer:
        """The LLM's checked answer, or the extractive one with a note saying why."""
        fallback = self.context.extractive.answer(query, retrieval, trace)
        return self.over(fallback, query, retrieval, trace)

    def over(self, fallback: Answer, query: Query, retrieval: Retrieval, trace: Trace) -> Answer:
        """The LLM's checked answer given the extractive one already made (the fallback)."""
        if self._skips(fallback, retrieval):
            return fallback
        with trace.timed("llm"):
            answer = self._fresh().answer(query.question, retrieval.evidence, fallback)
        if answer.mode.startswith("llm:"):
            trace.decided_by = "llm"
        return answer

    def stream(
        self, query: Query, retrieval: Retrieval, trace: Trace, fallback: Answer | None = None
    ) -> tuple[Iterator[str], Callable[[], Answer]]:
        """Statements as the model writes them (each checked); then the final answer."""
        if fallback is None:
            fallback = self.context.extractive.answer(query, retrieval, trace)
        if self._skips(fallback, retrieval):
            return iter([fallback.text]), lambda: fallback
        answerer = self._fresh()
        pieces = answerer.stream(query.question, retrieval.evidence, fallback)
        return pieces, lambda: answerer.last_answer or fallback


def _extractive(context: AnswerContext, _argument: str) -> Answerer:
    return context.extractive


def _llm(context: AnswerContext, backend: str) -> Answerer:
    backend = backend or context.llm.backend
    if not LLMSettings(backend=backend).enabled:
        raise BackendError("the llm answerer needs a backend: llm:openai, llm:ollama, ...")
    return LLMStage(context, context.llm_for(backend))


def _fake(context: AnswerContext, _argument: str) -> Answerer:
    return LLMStage(context, context.llm_for("fake"))


register_answerer("extractive", _extractive)
register_answerer("llm", _llm)
register_answerer("fake", _fake)


def answerer_name(settings: LLMSettings) -> str:
    """The answerer the settings choose: ``extractive`` or ``llm:<backend>``."""
    return f"llm:{settings.backend.strip().lower()}" if settings.enabled else "extractive"
