"""The engine: one read-only object that answers questions from an index, in stages.

``plan`` (question -> ``Query``), ``retrieve`` (``Query`` -> ``Retrieval``), an answerer
chosen by name (``Query`` + ``Retrieval`` -> ``Answer``), every refusal through one
``AbstentionPolicy``, and a ``Trace`` per call. The CLI, the app, the evaluation and the
benchmarks all go through ``Engine.ask``.

What a question needs (BM25 index, drug names, the answerers) is loaded into an immutable
snapshot, replaced whole when the store's revision moves (another process ingested); a
call takes the snapshot current when it starts and keeps every per-call value on its own
stack, so callers share the engine without a lock on the answer path. Only building a new
snapshot, and building an LLM client, are serialised.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from monorag.embed import Embedder, bound_allocator, get_embedder
from monorag.errors import EmbeddingModelMismatchError
from monorag.index import open_index
from monorag.index.cache import load_or_build
from monorag.index.lexical import LexicalIndex
from monorag.index.store import FileEntry, lexical_dir
from monorag.lexicon import shared_lexicon
from monorag.qa.abstention import CALIBRATION_FILE, AbstentionPolicy
from monorag.qa.acronyms import Acronyms
from monorag.qa.answer import ExtractiveAnswerer, scoring
from monorag.qa.answerers import AnswerContext, Answerer, answerer_name, get_answerer
from monorag.qa.classes import DrugClasses
from monorag.qa.conversation import Conversation, Turn
from monorag.qa.drugs import DrugIndex
from monorag.qa.plan import MAX_DRUG_CHARS, MAX_QUESTION_CHARS, Planner, Query, without_drugs
from monorag.qa.retrieve import Retrieval, Retriever
from monorag.qa.shorthand import TERMS
from monorag.qa.spelling import Speller, english_words
from monorag.settings import Settings
from monorag.types import Answer, Evidence, Trace

__all__ = [
    "CALIBRATION_FILE",
    "MAX_DRUG_CHARS",
    "MAX_QUESTION_CHARS",
    "AnswerStream",
    "Engine",
    "MonographInfo",
]


@dataclass(frozen=True, slots=True)
class MonographInfo:
    """A monograph in the index, for listings and filters."""

    title: str
    aliases: list[str]
    source: str
    last_modified: str
    chunks: int


@dataclass(slots=True)
class _Run:
    """One call's state: never shared, so no lock is needed on the answer path."""

    state: _Snapshot
    trace: Trace
    query: Query
    retrieval: Retrieval
    answer: Answer
    decided: bool = False
    """Refused by planning or retrieval: no answerer may answer instead."""


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Everything a question reads, for one revision of the index."""

    revision: str
    files: dict[str, FileEntry]
    lexical: LexicalIndex
    drugs: DrugIndex
    planner: Planner
    retriever: Retriever
    extractive: ExtractiveAnswerer
    context: AnswerContext


class Engine:
    """Answers questions from the monographs in one index."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        bound_allocator()  # freed buffers go back to the OS (see monorag.embed)
        self.embedder = embedder or get_embedder(settings.embedding)
        self.policy = AbstentionPolicy.from_settings(
            settings.answer, scoring(settings.answer, self.embedder.name)
        )
        self.store = open_index(settings.store)
        self.store.check_format()
        model = self.store.model()
        if model is not None and model != self.embedder.name:
            raise EmbeddingModelMismatchError(settings.store.where, model, self.embedder.name)
        self.lexicon = shared_lexicon(frozenset(self.embedder.whole_words()))
        # Ordinary English for the speller, once per engine (not per index revision).
        self._english = self.embedder.whole_words() | english_words()
        self._reload = threading.Lock()
        self._llm_lock = threading.Lock()
        self._llms: dict[str, Any] = {}
        self._checked = 0.0
        self._state = self._load()

    # -- loading ----------------------------------------------------------------------------

    def _load(self) -> _Snapshot:
        revision = self.store.revision()
        files = self.store.files()
        cache = load_or_build(self.store, lexical_dir(self.settings.store), revision, files)
        lexical = cache.lexical
        drugs = DrugIndex(
            files.values(),
            lexical.vocabulary,
            self.settings.retrieve.drug_fuzzy_cutoff,
            lexicon=self.lexicon,
        )

        def is_drug(word: str) -> bool:
            return self.lexicon.is_drug(word) or drugs.names_a_monograph(word)

        extractive = ExtractiveAnswerer(
            cache.unit_vectors,
            self.embedder,
            lexical,
            self.settings.answer,
            self.policy,
            is_drug=is_drug,
        )
        retriever = Retriever(
            self.store, lexical, cache.chunk_vectors, files, self.settings.retrieve
        )

        return _Snapshot(
            revision=revision,
            files=files,
            lexical=lexical,
            drugs=drugs,
            planner=Planner(
                drugs,
                files,
                self.embedder,
                self.policy,
                retriever.mentions,
                Speller(
                    {**dict.fromkeys(TERMS, 1), **lexical.frequencies()},
                    self._english,
                    is_drug,
                ),
                Acronyms(
                    {k: json.loads(f.acronyms) for k, f in files.items() if f.acronyms},
                    self._english,
                    is_drug,
                ),
                DrugClasses(retriever.passages_naming, is_drug, self.embedder.embed).named_in,
            ),
            retriever=retriever,
            extractive=extractive,
            context=AnswerContext(extractive, self.settings.llm, self._llm_for),
        )

    def refresh(self, *, every: float = 1.0) -> bool:
        """Reload if the store changed since loading (checked at most every ``every`` s)."""
        now = time.monotonic()
        if now - self._checked < every:
            return False
        self._checked = now
        return self._reload_if(lambda state: self.store.revision() != state.revision)

    def _reload_if(self, stale: Callable[[_Snapshot], bool]) -> bool:
        if not stale(self._state):
            return False
        with self._reload:
            if not stale(self._state):  # another caller reloaded meanwhile
                return False
            self._state = self._load()
            return True

    # Read-only views of the current snapshot (tests, the eval and the app read them).
    @property
    def files(self) -> dict[str, FileEntry]:
        """The monographs of the current revision, by store key."""
        return self._state.files

    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index of the current revision."""
        return self._state.lexical

    @property
    def drugs(self) -> DrugIndex:
        """Drug-name recognition over the current monographs."""
        return self._state.drugs

    @property
    def retriever(self) -> Retriever:
        """Hybrid retrieval over the current revision."""
        return self._state.retriever

    @property
    def extractive(self) -> ExtractiveAnswerer:
        """The extractive answerer of the current revision."""
        return self._state.extractive

    @property
    def threshold(self) -> float:
        """The support threshold of the abstention policy."""
        return self.policy.threshold

    def warm_up(self) -> None:
        """Load the embedding model, the drug vocabulary and the speller's matcher now, not
        on the first question."""
        self.embedder.embed_one("warm up")
        self.lexicon.warm_up()
        Speller.warm_up()

    def monographs(self) -> list[MonographInfo]:
        """Every monograph in the index, by title."""
        return sorted(
            (
                MonographInfo(
                    f.title,
                    [a for a in f.aliases.split("|") if a],
                    f.source,
                    f.last_modified,
                    f.chunks,
                )
                for f in self.files.values()
            ),
            key=lambda m: m.title.lower(),
        )

    # -- answerers ---------------------------------------------------------------------------

    def _llm_for(self, backend: str) -> Any:
        """The shared LLM answerer of ``backend`` (built once; building may be slow)."""
        key = backend.strip().lower()
        with self._llm_lock:
            if key not in self._llms:
                from monorag.qa.generate import LLMAnswerer

                settings = self.settings.llm.model_copy(update={"backend": key})
                self._llms[key] = LLMAnswerer.from_settings(settings)
            return self._llms[key]

    @property
    def llm(self) -> Any:
        """The LLM answerer of the configured backend (built on first use)."""
        return self._llm_for(self.settings.llm.backend)

    def use_llm(self, answerer: Any) -> None:
        """Use a ready LLM answerer for the configured backend (tests pass a fake one)."""
        with self._llm_lock:
            self._llms[self.settings.llm.backend.strip().lower()] = answerer

    def answerer(self, name: str | None = None) -> Answerer:
        """The answerer ``name`` (default: the one the settings choose)."""
        return get_answerer(name or answerer_name(self.settings.llm), self._state.context)

    def _chosen(self, llm: bool | None, name: str | None) -> str:
        if name:
            return name
        use = self.settings.llm.enabled if llm is None else llm and self.settings.llm.enabled
        return answerer_name(self.settings.llm) if use else "extractive"

    # -- the stages, public ------------------------------------------------------------------

    def plan(
        self,
        question: str,
        conversation: Conversation | None = None,
        drug: str | None = None,
        exclude_faq_of: Collection[str] | None = None,
    ) -> Query:
        """Stage one: the ``Query`` for ``question`` (its ``decided`` may already refuse)."""
        return self._state.planner.plan(question, conversation, drug, exclude_faq_of)

    def retrieve_for(self, query: Query, k: int | None = None) -> Retrieval:
        """Stage two: the evidence for ``query``."""
        return self._state.retriever.retrieve(query, k)

    def retrieve(
        self,
        question: str,
        *,
        drug: str | None = None,
        k: int | None = None,
        exclude_faq_of: Collection[str] | None = None,
    ) -> list[Evidence]:
        """The evidence ``ask`` would use for ``question`` (no answer written)."""
        query = self.plan(question, None, drug, exclude_faq_of)
        if query.decided is not None:
            return []
        return self._state.retriever.search(
            query.text, query.vector, docs=query.docs, k=k, exclude_faq_of=query.exclude
        )

    # -- asking ------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        conversation: Conversation | None = None,
        drug: str | None = None,
        k: int | None = None,
        exclude_faq_of: Collection[str] | None = None,
        llm: bool | None = None,
        answerer: str | None = None,
    ) -> Answer:
        """Answer ``question`` with the answerer the settings choose (or ``answerer``).

        ``llm`` chooses per call: ``False`` answers extractively even when a backend is
        configured; ``None`` follows the settings.
        """
        started = time.perf_counter()
        name = self._chosen(llm, answerer)
        answer = self._answer(question, conversation, drug, k, exclude_faq_of, name)
        answer.timings["total"] = time.perf_counter() - started
        self._remember(conversation, answer)
        return answer

    def stream(
        self,
        question: str,
        *,
        conversation: Conversation | None = None,
        drug: str | None = None,
        k: int | None = None,
        llm: bool | None = None,
        answerer: str | None = None,
    ) -> AnswerStream:
        """The answer as a stream of text pieces; ``.answer`` holds the final Answer.

        An answerer that cannot stream (the extractive one) gives its whole answer as one
        piece. With an LLM, pieces arrive as the model writes them (each checked by the
        number guard); if the final check rejects the LLM answer, ``.answer`` is the
        extractive fallback and says why.
        """
        started = time.perf_counter()
        run = self._extractive(question, conversation, drug, k, None)
        chosen = self._second(run, self._chosen(llm, answerer))
        if chosen is not None and hasattr(chosen, "stream"):
            pieces, final = chosen.stream(run.query, run.retrieval, run.trace, run.answer)
        else:
            pieces, final = iter([run.answer.text]), lambda: run.answer

        def finish() -> Answer:
            answer = _with_trace(final(), run.trace)
            answer.timings["total"] = time.perf_counter() - started
            return answer

        return AnswerStream(pieces, finish, self, conversation)

    def _answer(
        self,
        question: str,
        conversation: Conversation | None,
        drug: str | None,
        k: int | None,
        exclude_faq_of: Collection[str] | None,
        name: str,
    ) -> Answer:
        run = self._extractive(question, conversation, drug, k, exclude_faq_of)
        chosen = self._second(run, name)
        if chosen is None:
            return run.answer
        if hasattr(chosen, "over"):
            result = chosen.over(run.answer, run.query, run.retrieval, run.trace)
        else:
            with run.trace.timed("answer"):
                result = chosen.answer(run.query, run.retrieval, run.trace)
        return _with_trace(result, run.trace)

    def _second(self, run: _Run, name: str) -> Answerer | None:
        """The answerer that answers after the extractive pass, if any may."""
        if name == "extractive" or run.decided:
            return None  # extractive, or refused by planning or retrieval for every answerer
        chosen = get_answerer(name, run.state.context)
        run.trace.answerer = chosen.name
        return chosen

    def _extractive(
        self,
        question: str,
        conversation: Conversation | None,
        drug: str | None,
        k: int | None,
        exclude_faq_of: Collection[str] | None,
    ) -> _Run:
        """Plan, retrieve and the extractive answer, retried if the index moved under it.

        Refused over a brand's own monograph, the question is asked again over the
        monographs of its substance as well (``Query.generics``): the brand's leaflet is
        preferred where it states the answer (a product's storage, its strengths), the
        substance's label where it alone does."""
        self.refresh()
        for attempt in range(3):
            state = self._state
            run = self._pass(state, question, conversation, drug, k, exclude_faq_of, False)
            if run.answer.abstained and run.query.generics:
                again = self._pass(state, question, conversation, drug, k, exclude_faq_of, True)
                kept, other = (again, run) if not again.answer.abstained else (run, again)
                # Both passes were the question's work: its stage timings hold their sum.
                for stage, seconds in other.trace.timings.items():
                    kept.trace.timings[stage] = kept.trace.timings.get(stage, 0.0) + seconds
                run = kept
            # Another process replaced a monograph while this question was answered: the
            # passages found are gone. Answer again from what replaced them.
            evidence = run.retrieval.evidence
            moved = attempt < 2 and not run.decided and run.answer.abstained and bool(evidence)
            if moved and self._reload_if(lambda s, ev=evidence: self._replaced(s, ev)):
                continue
            return run
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def _pass(
        self,
        state: _Snapshot,
        question: str,
        conversation: Conversation | None,
        drug: str | None,
        k: int | None,
        exclude_faq_of: Collection[str] | None,
        generics: bool,
    ) -> _Run:
        """One plan, retrieval and extractive answer over ``state``."""
        trace = Trace(answerer="extractive")
        with trace.timed("plan"):
            query = state.planner.plan(question, conversation, drug, exclude_faq_of, generics)
        trace.query, trace.drugs = query.text, list(query.titles)
        if query.decided is not None:
            trace.decided_by, trace.abstained_because = "plan", query.decided.note
            answer = _with_trace(query.decided, trace)
            return _Run(state, trace, query, Retrieval(), answer, decided=True)
        with trace.timed("retrieve"):
            retrieval = state.retriever.retrieve(query, k)
        trace.evidence = [(e.chunk.name, e.score) for e in retrieval.evidence]
        if retrieval.ambiguous:
            refusal = self.policy.which_drug(query.question, retrieval.ambiguous)
            trace.decided_by, trace.abstained_because = "retrieve", refusal.note
            answer = _with_trace(refusal, trace)
            return _Run(state, trace, query, retrieval, answer, decided=True)
        with trace.timed("retrieve"):
            # A question that asks several things: each part searched on its own.
            parts = [(p, state.retriever.retrieve(p, k)) for p in state.planner.parts(query)]
        with trace.timed("answer"):
            answer = _with_trace(state.extractive.answer(query, retrieval, trace, parts), trace)
        return _Run(state, trace, query, retrieval, answer)

    def _replaced(self, state: _Snapshot, evidence: list[Evidence]) -> bool:
        """True when the store moved on from a revision of a monograph ``evidence`` is from."""
        if self.store.revision() != state.revision:
            return True
        # The manifest switches to a new revision before the store's revision is stamped.
        current = self.store.current_revisions(sorted({e.chunk.doc for e in evidence}))
        return any(current.get(e.chunk.doc) != e.chunk.rev for e in evidence)

    def _remember(self, conversation: Conversation | None, answer: Answer) -> None:
        if conversation is None:
            return
        state = self._state
        docs = sorted({k for k, f in state.files.items() if f.title in answer.drugs})
        lookup = state.drugs.find(answer.question)
        # A refused turn stays about the monographs planning settled on (named, given as
        # the filter, or carried), not about ones retrieval only guessed.
        planned = bool(answer.trace is not None and answer.trace.drugs)
        conversation.add(
            Turn(
                question=answer.question,
                topic=without_drugs(answer.question, lookup),
                drugs=list(answer.drugs),
                docs=docs if not answer.abstained or lookup.matches or planned else [],
                abstained=answer.abstained,
            )
        )


def _with_trace(answer: Answer, trace: Trace) -> Answer:
    answer.trace = trace
    answer.timings = trace.timings
    return answer


class AnswerStream:
    """Text pieces of an answer as they are produced, then the final ``answer``."""

    def __init__(
        self,
        pieces: Iterator[str],
        final: Callable[[], Answer],
        engine: Engine,
        conversation: Conversation | None,
    ) -> None:
        self._pieces = pieces
        self._final = final
        self._engine = engine
        self._conversation = conversation
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        yield from self._pieces
        self.answer = self._final()
        self._engine._remember(self._conversation, self.answer)
