"""The engine: one object that answers questions from a store.

It loads what it needs once (embedding model, BM25 index, drug names) and reloads only
when the store's revision moves (another process ingested). The CLI, the app, the
evaluation and the benchmarks all go through ``Engine.ask``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monorag.embed import Embedder, shared_embedder
from monorag.errors import EmbeddingModelMismatchError, EmptyQuestionError, MonoragError
from monorag.index.lexical import LexicalIndex
from monorag.index.store import FileEntry, Store, current_chunks, lexical_dir
from monorag.qa.answer import ExtractiveAnswerer, abstain
from monorag.qa.conversation import Conversation, Turn
from monorag.qa.drugs import DrugIndex, DrugLookup, words
from monorag.settings import Settings
from monorag.types import Answer, Evidence

MAX_QUESTION_CHARS = 2000
"""Longer questions are cut here: no clinical question needs more, and it bounds cost."""

MAX_DRUG_CHARS = 200
"""A drug filter longer than this names no drug; it is cut (it is echoed in abstentions)."""

# When no drug is named and several monographs are stored, the best monograph must hold
# this share of the retrieval score of the top passages to be answered from alone.
DOMINANT_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class MonographInfo:
    """A monograph in the store, for listings and filters."""

    title: str
    aliases: list[str]
    source: str
    last_modified: str
    chunks: int


CALIBRATION_FILE = Path(__file__).resolve().parent / "data" / "calibration.json"
"""Where ``monorag.eval.calibrate`` writes the fitted abstention threshold."""


def calibrated_threshold() -> float:
    """The abstention threshold calibrated on data (see ``eval/calibrate.py``)."""
    text = CALIBRATION_FILE.read_text(encoding="utf-8")
    return float(json.loads(text)["abstain_below"])


class Engine:
    """Answers questions from the monographs in one store."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or shared_embedder(settings.embedding)
        self.threshold = (
            settings.answer.abstain_below
            if settings.answer.abstain_below is not None
            else calibrated_threshold()
        )
        self.store = Store.open(settings.store)
        self.store.check_format()
        model = self.store.model()
        if model is not None and model != self.embedder.name:
            raise EmbeddingModelMismatchError(settings.store.where, model, self.embedder.name)
        self._lock = threading.RLock()
        self._revision = ""
        self._checked = 0.0
        self._llm: Any = None
        self.last_answer: Answer | None = None
        self._load()

    # -- loading ----------------------------------------------------------------------------

    def _load(self) -> None:
        revision = self.store.revision()
        files = self.store.files()
        folder = lexical_dir(self.settings.store)
        lexical = LexicalIndex.load(folder, revision)
        if lexical is None:
            lexical = LexicalIndex.build(current_chunks(self.store, files))
            with contextlib.suppress(OSError):  # a read-only data dir costs a rebuild next time
                lexical.save(folder, revision)
        from monorag.qa.retrieve import Retriever

        self.files: dict[str, FileEntry] = files
        self.lexical = lexical
        self.drugs = DrugIndex(
            files.values(),
            lexical.vocabulary,
            self.settings.retrieve.drug_fuzzy_cutoff,
            english=self.embedder.whole_words(),
        )
        self.retriever = Retriever(self.store, lexical, files, self.settings.retrieve)
        self.extractive = ExtractiveAnswerer(
            self.store, self.embedder, lexical, self.settings.answer, self.threshold
        )
        self._revision = revision

    def refresh(self, *, every: float = 1.0) -> bool:
        """Reload if the store changed since loading (checked at most every ``every`` s)."""
        now = time.monotonic()
        if now - self._checked < every:
            return False
        self._checked = now
        if self.store.revision() == self._revision:
            return False
        with self._lock:
            if self.store.revision() != self._revision:
                self._load()
                return True
        return False

    def warm_up(self) -> None:
        """Load the embedding model now rather than on the first question."""
        self.embedder.embed_one("warm up")

    def monographs(self) -> list[MonographInfo]:
        """Every monograph in the store, by title."""
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

    # -- asking ------------------------------------------------------------------------------

    def retrieve(
        self,
        question: str,
        *,
        drug: str | None = None,
        k: int | None = None,
        exclude_faq_of: Collection[str] | None = None,
    ) -> list[Evidence]:
        """The evidence ``ask`` would use for ``question`` (no answer written)."""
        plan = self._plan(_clean(question), None, drug, exclude_faq_of)
        if plan.answer is not None:
            return []
        return self.retriever.search(
            plan.query, plan.vector, docs=plan.docs, k=k, exclude_faq_of=plan.exclude
        )

    def ask(
        self,
        question: str,
        *,
        conversation: Conversation | None = None,
        drug: str | None = None,
        k: int | None = None,
        exclude_faq_of: Collection[str] | None = None,
        llm: bool | None = None,
    ) -> Answer:
        """Answer ``question``; with an LLM backend configured, the checked LLM answer.

        ``llm`` chooses per call: ``False`` answers extractively even when a backend is
        configured; ``None`` follows the settings.
        """
        started = time.perf_counter()
        extractive, evidence = self._extractive(question, conversation, drug, k, exclude_faq_of)
        answer = extractive
        if self._use_llm(llm) and not extractive.abstained and evidence:
            answer = self._llm_answerer().answer(extractive.question, evidence, extractive)
        answer.timings["total"] = time.perf_counter() - started
        self._remember(conversation, answer)
        self.last_answer = answer
        return answer

    def stream(
        self,
        question: str,
        *,
        conversation: Conversation | None = None,
        drug: str | None = None,
        k: int | None = None,
        llm: bool | None = None,
    ) -> AnswerStream:
        """The answer as a stream of text pieces; ``.answer`` holds the final Answer.

        In extractive mode the whole answer is one piece. With an LLM, pieces arrive as
        the model writes them (each checked by the number guard); if the final check
        rejects the LLM answer, ``.answer`` is the extractive fallback and says why.
        """
        extractive, evidence = self._extractive(question, conversation, drug, None, None)
        if not self._use_llm(llm) or extractive.abstained or not evidence:
            return AnswerStream(iter([extractive.text]), lambda: extractive, self, conversation)
        answerer = self._llm_answerer()
        pieces = answerer.stream(extractive.question, evidence, extractive)
        return AnswerStream(pieces, lambda: answerer.last_answer or extractive, self, conversation)

    def _use_llm(self, requested: bool | None) -> bool:
        enabled = self.settings.llm.enabled
        return enabled if requested is None else requested and enabled

    @property
    def llm(self) -> Any:
        """The LLM answerer of the configured backend (built on first use)."""
        if self._llm is None:
            from monorag.qa.generate import LLMAnswerer

            self._llm = LLMAnswerer.from_settings(self.settings.llm)
        return self._llm

    def _llm_answerer(self) -> Any:
        # A fresh answerer per question around the shared chat model: the answerer keeps
        # per-call state (its last answer), and one engine serves many users at once.
        shared = self.llm
        answerer = type(shared)(shared.chat_model, shared.backend_label, where=shared.where)
        answerer.description = shared.description
        return answerer

    def use_llm(self, answerer: Any) -> None:
        """Use a ready LLM answerer (tests pass one built on a fake chat model)."""
        self._llm = answerer

    # -- the extractive pipeline -------------------------------------------------------------

    def _extractive(
        self,
        question: str,
        conversation: Conversation | None,
        drug: str | None,
        k: int | None,
        exclude_faq_of: Collection[str] | None,
    ) -> tuple[Answer, list[Evidence]]:
        """The extractive answer and the evidence it was chosen from."""
        self.refresh()
        answer, evidence = self._extractive_once(question, conversation, drug, k, exclude_faq_of)
        for _ in range(2):
            if not (answer.abstained and evidence and self._replaced(evidence)):
                break
            # Another process replaced a monograph while this question was answered: the
            # passages found are gone from the store. Answer again from what replaced them.
            with self._lock:
                self._load()
            answer, evidence = self._extractive_once(
                question, conversation, drug, k, exclude_faq_of
            )
        return answer, evidence

    def _replaced(self, evidence: list[Evidence]) -> bool:
        """True when the store moved on from a revision of a monograph ``evidence`` is from."""
        if self.store.revision() != self._revision:
            return True
        # The manifest switches to a new revision before the store's revision is stamped.
        docs = sorted({e.chunk.doc for e in evidence})
        got = self.store.manifest.get(ids=docs, include=["metadatas"])
        current = {
            i: (m or {}).get("rev") for i, m in zip(got["ids"], got["metadatas"], strict=True)
        }
        return any(current.get(e.chunk.doc) != e.chunk.rev for e in evidence)

    def _extractive_once(
        self,
        question: str,
        conversation: Conversation | None,
        drug: str | None,
        k: int | None,
        exclude_faq_of: Collection[str] | None,
    ) -> tuple[Answer, list[Evidence]]:
        with self._lock:
            timings: dict[str, float] = {}
            t0 = time.perf_counter()
            question = _clean(question)
            plan = self._plan(question, conversation, drug, exclude_faq_of)
            timings["plan"] = time.perf_counter() - t0
            if plan.answer is not None:
                plan.answer.timings.update(timings)
                return plan.answer, []
            t1 = time.perf_counter()
            evidence = self.retriever.search(
                plan.query, plan.vector, docs=plan.docs, k=k, exclude_faq_of=plan.exclude
            )
            timings["retrieve"] = time.perf_counter() - t1
            if plan.docs is None and len(self.files) > 1:
                focused, note = self._focus(plan, evidence, k)
                plan.note = plan.note or note
                if focused is None:
                    answer = abstain(
                        question, note, searched=[], note="evidence split between monographs"
                    )
                    answer.timings.update(timings)
                    return answer, []
                evidence = focused
            t2 = time.perf_counter()
            selection = self.extractive.select(question, plan.terms, plan.vector, evidence)
            searched = plan.titles or list(dict.fromkeys(e.chunk.drug for e in evidence[:3]))
            answer = self.extractive.compose(question, selection, searched=searched, note=plan.note)
            timings["answer"] = time.perf_counter() - t2
            answer.timings.update(timings)
            answer.evidence = answer.evidence or evidence
            return answer, evidence

    def _plan(
        self,
        question: str,
        conversation: Conversation | None,
        drug: str | None,
        exclude_faq_of: Collection[str] | None,
    ) -> _Plan:
        if not question:
            raise EmptyQuestionError()
        # The filter is user text too: cleaned and bounded like the question (a blank one
        # filters nothing).
        drug = _clean(drug)[:MAX_DRUG_CHARS] if drug else None
        lookup = self.drugs.resolve(drug) if drug else self.drugs.find(question)
        plan = _Plan(question=question, query=question)
        if drug and not lookup.matches:
            plan.answer = abstain(
                question,
                f"The monographs do not cover {drug}: there is no monograph for it here.",
                searched=[],
                note=f"drug filter {drug!r} matches no monograph",
            )
            return plan
        if not lookup.matches and not drug:
            last = conversation.last_with_drugs() if conversation else None
            if lookup.unknown:
                names = ", ".join(lookup.unknown)
                plan.answer = abstain(
                    question,
                    f"The monographs do not cover {names}: there is no monograph for it here "
                    f"({len(self.files)} monograph{'s' if len(self.files) != 1 else ''} searched).",
                    searched=[],
                    note=f"not in the store: {names}",
                )
                return plan
            if last is not None and conversation is not None:
                lookup = DrugLookup(matches=self.drugs.resolve(" ".join(last.drugs)).matches)
                plan.query = conversation.topic_for(question)
            elif len(self.files) == 1:
                only = next(iter(self.files.values()))
                lookup = self.drugs.resolve(only.title)
        elif conversation is not None:
            plan.query = conversation.topic_for(question)
        plan.docs = lookup.docs or None
        plan.titles = lookup.titles
        plan.focus = _without_drugs(plan.query, lookup)
        # Sentences are matched on the words of this question only: in a follow-up the
        # carried words are the previous turn's subject ("multiple myeloma"), which the
        # new question replaces ("and for Kaposi sarcoma?"); its intent still shapes the
        # search through the embedded focus.
        plan.terms = _without_drugs(question, lookup)
        if exclude_faq_of:
            excluded = set(exclude_faq_of)
            plan.exclude = [
                k for k, f in self.files.items() if f.title in excluded or k in excluded
            ]
        # Within named monographs, the drug's name matches every passage: search by what
        # the question asks about (its focus) so that unrelated passages do not score.
        plan.vector = self.embedder.embed_one(
            plan.focus if plan.docs and plan.focus else plan.query
        )
        return plan

    def _focus(
        self, plan: _Plan, evidence: list[Evidence], k: int | None
    ) -> tuple[list[Evidence] | None, str]:
        """No drug named and several monographs: answer from a dominant one, or ask."""
        if not evidence:
            return evidence, ""
        share: dict[str, float] = {}
        for ev in evidence:
            share[ev.chunk.doc] = share.get(ev.chunk.doc, 0.0) + ev.score
        total = sum(share.values())
        best_doc, best = max(share.items(), key=lambda kv: kv[1])
        title = self.drugs.title_of(best_doc)
        if best / total >= DOMINANT_SHARE and evidence[0].chunk.doc == best_doc:
            focused = self.retriever.search(
                plan.query, plan.vector, docs=[best_doc], k=k, exclude_faq_of=plan.exclude
            )
            plan.titles = [title]
            return focused, f"No drug was named; answered from the {title} monograph."
        ranked = sorted(share.items(), key=lambda kv: -kv[1])[:3]
        names = [self.drugs.title_of(d) for d, _ in ranked]
        return None, (
            "Which drug do you mean? The monographs that best match are "
            + ", ".join(names[:-1])
            + f" and {names[-1]}."
            if len(names) > 1
            else f"Which drug do you mean? Perhaps {names[0]}."
        )

    def _remember(self, conversation: Conversation | None, answer: Answer) -> None:
        if conversation is None:
            return
        docs = sorted({k for k, f in self.files.items() if f.title in answer.drugs})
        lookup = self.drugs.find(answer.question)
        conversation.add(
            Turn(
                question=answer.question,
                topic=_without_drugs(answer.question, lookup),
                drugs=list(answer.drugs),
                docs=docs if not answer.abstained or lookup.matches else [],
                abstained=answer.abstained,
            )
        )


class AnswerStream:
    """Text pieces of an answer as they are produced, then the final ``answer``."""

    def __init__(
        self,
        pieces: Iterator[str],
        final: Any,
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
        self._engine.last_answer = self.answer
        self._engine._remember(self._conversation, self.answer)


@dataclass
class _Plan:
    question: str
    query: str
    docs: list[str] | None = None
    titles: list[str] | None = None
    focus: str = ""
    terms: str = ""
    exclude: list[str] | None = None
    vector: np.ndarray | None = None
    answer: Answer | None = None
    note: str = ""

    def __post_init__(self) -> None:
        self.titles = self.titles or []
        self.exclude = self.exclude or []


def _clean(question: str) -> str:
    """Printable text, whitespace collapsed, bounded in length."""
    if not isinstance(question, str):
        raise MonoragError("the question must be text")
    # Invisible format characters (soft hyphen, zero-width space, bidi marks) arrive inside
    # pasted words: dropping them keeps "pomali\u00addomide" one word that names the drug.
    text = "".join(
        "" if unicodedata.category(ch) == "Cf" else ch if ch.isprintable() or ch.isspace() else " "
        for ch in question
    )
    return " ".join(text.split())[:MAX_QUESTION_CHARS]


def _without_drugs(text: str, lookup: DrugLookup) -> str:
    """``text`` without the words that named drugs (they match every passage of the drug)."""
    named = {w for m in lookup.matches for w in m.said.split()}
    return " ".join(w for w in words(text) if w not in named)
