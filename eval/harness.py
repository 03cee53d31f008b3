"""Run the FAQ eval set through monorag and the LangChain baseline, in two modes.

Modes (leakage control): the FAQ answers are themselves in the corpus, so a system can
simply find the FAQ chunk that answers the question word for word.

- ``open``: everything is indexed. The question's own FAQ pair counts as a gold section.
- ``held-out``: monorag is asked with ``exclude_faq_of=[drug]`` (no FAQ chunk of the
  evaluated monograph can be retrieved); the baseline indexes the corpus without FAQ
  sections. Only the body can answer: this is the honest accuracy.

Every question of the set (originals, clinician-style variants, unanswerable probes) is
asked of both systems in each mode and scored with ``eval.metrics``; with a judge, each
answer to an answerable question is also graded by an LLM.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np

from monorag.embed import Embedder, resolve_precision
from monorag.errors import EmbeddingModelMismatchError, MonoragError, StoreFormatError
from monorag.eval import metrics
from monorag.eval.dataset import EvalItem, EvalSet, EvalSetError, corpus_files, load_corpus
from monorag.eval.judge import GRADES, Judge
from monorag.eval.variants import ANSWERABLE_KINDS, Variant, VariantKind
from monorag.settings import Settings
from monorag.text import unit_texts
from monorag.types import FAQ_SECTION, SEP, Monograph

if TYPE_CHECKING:
    from monorag.eval.baseline import LangChainBaseline
    from monorag.qa.engine import Engine

MODES: tuple[str, ...] = ("open", "held-out")
SYSTEMS: tuple[str, ...] = ("monorag", "baseline")
RETRIEVAL_DEPTH = 5
"""Passages looked at for hit@k and MRR, the same for both systems."""
PASS_RECALL = 0.5
"""An answer passes when it states at least half of the reference's key facts..."""
PASS_COVERAGE = 0.5
"""...or, for a reference without key facts, when it restates at least half of its sentences..."""
PASS_COVERAGE_SIMILARITY = 0.6
"""...a sentence counting as restated at this cosine similarity (``metrics.sentence_coverage``)."""
KINDS: tuple[str, ...] = get_args(VariantKind)

METRICS: tuple[tuple[str, str], ...] = (
    ("key_fact_recall", "key-fact recall"),
    ("hit@1", "retrieval hit@1"),
    ("hit@3", "retrieval hit@3"),
    ("hit@5", "retrieval hit@5"),
    ("mrr", "MRR@5"),
    ("citation_precision", "citation precision"),
    ("abstention_accuracy", "abstention accuracy (probes)"),
    ("answered_rate", "answered (answerable questions)"),
    ("unstated_abstained", "abstained (answer not in the body, held-out)"),
    ("token_f1", "token F1"),
    ("rouge_l", "ROUGE-L"),
    ("embedding_similarity", "embedding similarity"),
    ("sentence_coverage", "sentence coverage"),
    ("pass_rate", "pass rate (all questions)"),
)
"""Summary metrics in report order: key, label."""
HEADLINE: tuple[str, ...] = (
    "key_fact_recall",
    "hit@3",
    "citation_precision",
    "abstention_accuracy",
)

_KEYS = re.compile(r"\s*\[S\d+(?:\s*,\s*S\d+)*\]")

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``."""


@dataclass(slots=True)
class QuestionResult:
    """One question asked of one system in one mode, with its scores."""

    id: str
    mode: str
    system: str
    kind: str
    drug: str
    question: str
    answerable: bool
    """The question is about something the corpus holds (not a probe)."""
    answer: str
    abstained: bool
    citations: list[str]
    """Cited sections as ``Drug › Heading path``."""
    retrieved: list[str]
    """The first ``RETRIEVAL_DEPTH`` passages, each as the section it comes from (for a
    passage spanning several sections, a gold one if any: the one that was scored)."""
    scores: dict[str, float | None]
    retrieved_sections: list[list[str]] = field(default_factory=list)
    """Every section each retrieved passage comes from (one each for monorag)."""
    facts_found: list[str] = field(default_factory=list)
    facts_missing: list[str] = field(default_factory=list)
    passed: bool = False
    why: str = ""
    judge: str | None = None
    trace: str = ""
    """monorag only: which stage decided, the support against the threshold, any refusal
    reason (from the answer's trace)."""
    judge_reply: str = ""
    seconds: float = 0.0
    reference: str = ""
    answer_mode: str = ""
    unstated: bool = False
    """Held-out only: the body states none of the reference (no gold section), so with the
    FAQ pair excluded nothing in the index answers it; abstaining is right."""

    def to_json(self) -> dict[str, Any]:
        """Plain data, scores rounded to 4 places."""
        data = asdict(self)
        data["scores"] = {k: _round(v) for k, v in self.scores.items()}
        data["seconds"] = round(self.seconds, 4)
        return data


@dataclass(slots=True)
class EvalRun:
    """Everything one evaluation produced."""

    results: list[QuestionResult]
    summary: dict[str, dict[str, dict[str, Any]]]
    """mode -> system -> metric -> value (plus ``n`` counts and ``by_kind``)."""
    meta: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            "meta": self.meta,
            "summary": self.summary,
            "results": [r.to_json() for r in self.results],
        }


@dataclass
class EvalConfig:
    """What to evaluate and where to keep the stores."""

    eval_set: EvalSet
    corpus: Sequence[Path]
    settings: Settings
    """monorag's settings; its store is (re)filled from ``corpus`` by incremental ingest."""
    work_dir: Path
    """Folder for the baseline's Chroma stores."""
    modes: Sequence[str] = MODES
    baseline: bool = True
    judge: Judge | None = None
    progress: Progress | None = None
    embedder: Embedder | None = None


def run_eval(config: EvalConfig) -> EvalRun:
    """Ingest the corpus, ask every question in every mode, score and summarise."""
    for mode in config.modes:
        if mode not in MODES:
            raise MonoragError(f"unknown eval mode {mode!r}: use one of {', '.join(MODES)}")
    say = config.progress or (lambda _stage, _done, _total: None)
    started = time.perf_counter()
    monographs = load_corpus(list(config.corpus))
    stale = config.eval_set.stale_against(corpus_files(monographs))
    if stale:
        raise EvalSetError(
            "the eval set does not match the corpus ("
            + "; ".join(stale[:3])
            + "): rebuild it with `monorag eval --build-set`"
        )
    from monorag.embed import get_embedder
    from monorag.ingest.pipeline import ingest
    from monorag.qa.engine import Engine

    embedder = config.embedder or get_embedder(config.settings.embedding)
    say("ingest", 0, 1)
    try:
        report = ingest(list(config.corpus), config.settings, embedder)
    except (StoreFormatError, EmbeddingModelMismatchError):
        # The eval's store is its own cache of the corpus: after an upgrade or a model
        # change it is rebuilt rather than refused.
        report = ingest(list(config.corpus), config.settings, embedder, rebuild=True)
    if report.monographs_total != len(monographs):
        # The store still holds monographs of an earlier run over another corpus: the
        # figures must describe this corpus alone.
        report = ingest(list(config.corpus), config.settings, embedder, rebuild=True)
    if report.failed:
        failure = report.failed[0]
        raise MonoragError(f"ingest for the evaluation failed: {failure.path}: {failure.reason}")
    say("ingest", 1, 1)
    engine = Engine(config.settings, embedder)
    engine.warm_up()
    by_file = {Path(m.key).name: m for m in monographs}
    questions = config.eval_set.questions()
    results: list[QuestionResult] = []
    timings: dict[str, float] = {"ingest": time.perf_counter() - started}
    for mode in config.modes:
        t0 = time.perf_counter()
        baseline = _baseline(config, mode, monographs, say) if config.baseline else None
        total = len(questions) * (2 if baseline else 1)
        done = 0
        for variant in questions:
            item = config.eval_set.item_of(variant)
            results.append(_ask_monorag(engine, config.eval_set, variant, item, mode))
            done += 1
            say(f"{mode}", done, total)
            if baseline is not None:
                results.append(
                    _ask_baseline(baseline, config.eval_set, variant, item, mode, by_file)
                )
                done += 1
                say(f"{mode}", done, total)
        timings[mode] = time.perf_counter() - t0
    _similarities(results, config.eval_set, embedder)
    for result in results:
        _verdict(result, config.eval_set)
    if config.judge is not None:
        _judge(results, config.judge, say)
    summary = summarise(results)
    meta = {
        "eval_set": {
            "items": len(config.eval_set.items),
            "probes": len(config.eval_set.probes),
            "questions": len(questions),
            "built": config.eval_set.built,
            "version": config.eval_set.version,
            "labeller": config.eval_set.labeller,
            "corpus": [asdict(f) for f in config.eval_set.corpus],
        },
        "modes": list(config.modes),
        "systems": ["monorag", *(["baseline"] if config.baseline else [])],
        "retrieval_depth": RETRIEVAL_DEPTH,
        "pass_rule": {
            "key_fact_recall": PASS_RECALL,
            "sentence_coverage": PASS_COVERAGE,
            "sentence_similarity": PASS_COVERAGE_SIMILARITY,
        },
        "answer_mode": config.settings.llm.backend,
        "judge": config.judge.name if config.judge else None,
        "embedding_model": embedder.name,
        "store": config.settings.store.where,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
    }
    meta["seconds"]["total"] = round(time.perf_counter() - started, 2)
    return EvalRun(results=results, summary=summary, meta=meta)


# ---------------------------------------------------------------------------
# Asking
# ---------------------------------------------------------------------------


def _gold(item: EvalItem, mode: str) -> list[str]:
    gold = [f"{item.drug}{SEP}{g.section}" for g in item.gold]
    if mode == "open":
        # The FAQ pair itself answers the question word for word; finding it is a hit.
        gold.append(f"{item.drug}{SEP}{item.faq_section}")
    return gold


def _accepted(item: EvalItem, mode: str) -> list[str]:
    return _gold(item, mode) + [f"{item.drug}{SEP}{s.section}" for s in item.supporting]


def _new(variant: Variant, mode: str, system: str, item: EvalItem | None) -> QuestionResult:
    return QuestionResult(
        id=variant.id,
        mode=mode,
        system=system,
        kind=variant.kind,
        drug=variant.drug,
        question=variant.question,
        answerable=variant.kind in ANSWERABLE_KINDS,
        answer="",
        abstained=False,
        citations=[],
        retrieved=[],
        scores={},
        reference=item.reference if item else "",
        unstated=item is not None and mode == "held-out" and not item.gold,
    )


def trace_line(trace: Any) -> str:
    """One line of an answer's trace for the report: who decided, support, why refused."""
    if trace is None:
        return ""
    parts = [f"decided by {trace.decided_by or 'answer'}"]
    if trace.support is not None:
        parts.append(f"support {trace.support:.3f}/{trace.threshold:.3f}")
    if trace.abstained_because:
        parts.append(trace.abstained_because)
    return "; ".join(parts)


def _ask_monorag(
    engine: Engine, eval_set: EvalSet, variant: Variant, item: EvalItem | None, mode: str
) -> QuestionResult:
    exclude = [variant.drug] if mode == "held-out" else None
    result = _new(variant, mode, "monorag", item)
    t0 = time.perf_counter()
    answer = engine.ask(variant.question, exclude_faq_of=exclude)
    result.seconds = time.perf_counter() - t0
    evidence = engine.retrieve(variant.question, exclude_faq_of=exclude, k=RETRIEVAL_DEPTH)
    result.answer = answer.text
    result.abstained = answer.abstained
    result.answer_mode = answer.mode
    result.trace = trace_line(answer.trace)
    result.citations = list(dict.fromkeys(f"{c.drug}{SEP}{c.section}" for c in answer.citations))
    result.retrieved = [f"{e.chunk.drug}{SEP}{e.chunk.section}" for e in evidence]
    result.retrieved_sections = [[s] for s in result.retrieved]
    if mode == "held-out":
        leaked = [
            e.chunk.section
            for e in evidence
            if e.chunk.kind == "faq" and e.chunk.drug == variant.drug
        ]
        result.scores["leaked_faq_chunks"] = float(len(leaked))
    _score(result, eval_set, item, mode, result.retrieved_sections)
    return result


def _baseline(
    config: EvalConfig, mode: str, monographs: list[Monograph], say: Progress
) -> LangChainBaseline:
    from monorag.eval.baseline import LangChainBaseline

    chat_model = None
    backend = config.settings.llm.backend.strip().lower()
    if backend not in ("", "extractive", "none"):
        from monorag.qa.llm import get_llm

        # Like for like: the baseline answers with the LLM monorag is configured with.
        chat_model = get_llm(backend, config.settings.llm)
    baseline = LangChainBaseline(
        [Path(m.key) for m in monographs],
        config.work_dir / f"baseline-{mode}",
        chat_model=chat_model,
        collection=f"baseline-{mode}",
        drop_faq_sections=mode == "held-out",
        precision=resolve_precision(config.settings.embedding.precision),
    )
    say(f"baseline index ({mode})", 0, 1)
    baseline.build()
    say(f"baseline index ({mode})", 1, 1)
    return baseline


def _ask_baseline(
    baseline: LangChainBaseline,
    eval_set: EvalSet,
    variant: Variant,
    item: EvalItem | None,
    mode: str,
    by_file: dict[str, Monograph],
) -> QuestionResult:
    from monorag.eval.baseline import TOP_K, sections_of

    result = _new(variant, mode, "baseline", item)
    t0 = time.perf_counter()
    chunks = baseline.retrieve(variant.question, k=max(RETRIEVAL_DEPTH, TOP_K))
    answer = baseline.answer(variant.question, retrieved=chunks)
    result.seconds = time.perf_counter() - t0
    chunks = chunks[:RETRIEVAL_DEPTH]
    result.answer = answer.text
    result.abstained = answer.abstained
    result.answer_mode = "llm" if baseline.chat_model is not None else "extractive"
    per_passage: list[list[str]] = []
    for chunk in chunks:
        mono = by_file.get(chunk.source)
        per_passage.append(_baseline_sections(chunk.text, mono, sections_of) if mono else [])
    result.retrieved_sections = per_passage
    result.retrieved = [p[0] if p else "(no section)" for p in per_passage]
    # The baseline cites files; its section-level citations are the sections its answer
    # text was taken from (or, failing that, those of the passages it was given).
    cited: list[str] = []
    for chunk in answer.chunks:
        mono = by_file.get(chunk.source)
        if mono is None:
            continue
        from_answer = _baseline_sections(answer.text, mono, sections_of)
        cited += from_answer or _baseline_sections(chunk.text, mono, sections_of)
    if not answer.abstained and answer.text and not cited:
        cited = [f"{s}{SEP}(no section)" for s in answer.sources]
    result.citations = list(dict.fromkeys(cited))
    _score(result, eval_set, item, mode, per_passage)
    return result


def _baseline_sections(
    text: str, mono: Monograph, sections_of: Callable[[str, Monograph], list[str]]
) -> list[str]:
    """Sections (and FAQ pairs) of ``mono`` that ``text`` is taken from, drug-prefixed."""
    found = [f"{mono.title}{SEP}{s}" for s in sections_of(text, mono)]
    flat = _flat(text)
    for faq in mono.faqs:
        units = [_flat(u) for u in unit_texts(faq.answer)]
        if any(len(u) >= 20 and u in flat for u in units):
            found.append(f"{mono.title}{SEP}{FAQ_SECTION}{SEP}{faq.question}")
    return found


def _flat(text: str) -> str:
    return " ".join(text.replace("**", "").replace("__", "").split()).casefold()


# ---------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------


def _score(
    result: QuestionResult,
    eval_set: EvalSet,
    item: EvalItem | None,
    mode: str,
    passages: list[list[str]],
) -> None:
    scores = result.scores
    if item is None:
        scores["abstained_correctly"] = 1.0 if result.abstained else 0.0
        return
    gold = _gold(item, mode)
    # A passage that spans several sections is a hit when any of them is gold.
    labels = [
        next((s for s in sections if any(metrics.section_matches(s, g) for g in gold)), sections[0])
        if sections
        else "(no section)"
        for sections in passages
    ]
    result.retrieved = labels
    has_gold = bool(item.gold) or mode == "open"
    for k in (1, 3, 5):
        scores[f"hit@{k}"] = metrics.hit_at_k(labels, gold, k) if has_gold else None
    scores["mrr"] = metrics.reciprocal_rank(labels, gold, RETRIEVAL_DEPTH) if has_gold else None
    scores["answered"] = 0.0 if result.abstained else 1.0
    if result.abstained:
        result.facts_missing = list(item.key_facts)
        scores["key_fact_recall"] = 0.0 if item.key_facts else None
        scores["token_f1"] = scores["rouge_l"] = 0.0
        scores["citation_precision"] = None
        return
    answer = _without_keys(result.answer)
    result.facts_found = [f for f in item.key_facts if metrics.fact_in(f, answer)]
    result.facts_missing = [f for f in item.key_facts if f not in result.facts_found]
    scores["key_fact_recall"] = (
        len(result.facts_found) / len(item.key_facts) if item.key_facts else None
    )
    scores["token_f1"] = metrics.token_f1(answer, item.reference)
    scores["rouge_l"] = metrics.rouge_l(answer, item.reference)
    scores["citation_precision"] = metrics.citation_precision(
        result.citations, gold, set(_accepted(item, mode))
    )


def _without_keys(text: str) -> str:
    """An answer without its citation markers ``[S1]`` (they are not words of the answer)."""
    return _KEYS.sub("", text)


def _similarities(results: list[QuestionResult], eval_set: EvalSet, embedder: Embedder) -> None:
    """Embedding similarity and sentence coverage of every answer, embedded in one batch."""
    todo = [r for r in results if r.answerable and not r.abstained and r.reference]
    for r in results:
        if r.answerable and r.abstained:
            r.scores["embedding_similarity"] = 0.0
            r.scores["sentence_coverage"] = 0.0
    if not todo:
        return
    texts: list[str] = []
    for r in todo:
        answer = _without_keys(r.answer)
        texts += [answer, r.reference, *unit_texts(answer), *unit_texts(r.reference)]
    unique = list(dict.fromkeys(texts))
    vectors = np.asarray(embedder.embed(unique))
    index = {t: i for i, t in enumerate(unique)}

    def cached(batch: Sequence[str]) -> np.ndarray:
        return vectors[[index[t] for t in batch]]

    for r in todo:
        answer = _without_keys(r.answer)
        r.scores["embedding_similarity"] = metrics.embedding_similarity(answer, r.reference, cached)
        r.scores["sentence_coverage"] = metrics.sentence_coverage(
            answer, r.reference, cached, PASS_COVERAGE_SIMILARITY
        )


def _verdict(result: QuestionResult, eval_set: EvalSet) -> None:
    """Pass or fail, and why, in words a reader of the report can check."""
    if not result.answerable:
        result.passed = result.abstained
        result.why = "abstained" if result.abstained else "answered instead of abstaining"
        return
    if result.unstated:
        result.passed = result.abstained
        result.why = "the body does not state the answer (no gold section)" + (
            "; abstained" if result.abstained else "; should have abstained"
        )
        return
    if result.abstained:
        result.passed = False
        result.why = "abstained on an answerable question"
        return
    recall = result.scores.get("key_fact_recall")
    if recall is not None:
        result.passed = recall >= PASS_RECALL
        total = len(result.facts_found) + len(result.facts_missing)
        result.why = f"{len(result.facts_found)}/{total} key facts"
        if result.facts_missing:
            result.why += "; missing: " + ", ".join(result.facts_missing[:6])
    else:
        coverage = result.scores.get("sentence_coverage") or 0.0
        result.passed = coverage >= PASS_COVERAGE
        result.why = f"no key facts in the reference; restates {coverage:.0%} of its sentences"
    hit = result.scores.get("hit@3")
    if hit == 0.0:
        result.why += "; no gold section in the top 3 passages"


def _judge(results: list[QuestionResult], judge: Judge, say: Progress) -> None:
    todo = [r for r in results if r.answerable and not r.unstated]
    for done, r in enumerate(todo, start=1):
        verdict = judge.grade(r.question, r.reference, r.answer)
        r.judge, r.judge_reply = verdict.grade, verdict.reply[:500]
        say("judge", done, len(todo))


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------


def summarise(results: Sequence[QuestionResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """mode -> system -> metric means (with counts), per-kind breakdown and latency."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for mode in dict.fromkeys(r.mode for r in results):
        out[mode] = {}
        for system in dict.fromkeys(r.system for r in results if r.mode == mode):
            mine = [r for r in results if r.mode == mode and r.system == system]
            summary = _figures(mine)
            summary["by_kind"] = {
                kind: _figures([r for r in mine if r.kind == kind])
                for kind in KINDS
                if any(r.kind == kind for r in mine)
            }
            times = [r.seconds for r in mine]
            summary["seconds_median"] = round(statistics.median(times), 4) if times else None
            out[mode][system] = summary
    return out


def _figures(results: Sequence[QuestionResult]) -> dict[str, Any]:
    # Questions whose answer the held-out index does not hold are neither answerable
    # (no answer can be right) nor probes (the set did not ask them to be abstained on).
    answerable = [r for r in results if r.answerable and not r.unstated]
    probes = [r for r in results if not r.answerable]
    unstated = [r for r in results if r.unstated]
    fig: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for key in (
        "key_fact_recall",
        "hit@1",
        "hit@3",
        "hit@5",
        "mrr",
        "citation_precision",
        "token_f1",
        "rouge_l",
        "embedding_similarity",
        "sentence_coverage",
    ):
        values = [r.scores.get(key) for r in answerable]
        fig[key] = _round(metrics.mean_defined(values))
        counts[key] = sum(v is not None for v in values)
    abstention = metrics.abstention_accuracy((True, r.abstained) for r in probes)
    fig["abstention_accuracy"] = _round(abstention.accuracy)
    counts["abstention_accuracy"] = abstention.n
    fig["answered_rate"] = _round(
        sum(not r.abstained for r in answerable) / len(answerable) if answerable else None
    )
    counts["answered_rate"] = len(answerable)
    if unstated:
        fig["unstated_abstained"] = _round(sum(r.abstained for r in unstated) / len(unstated))
        counts["unstated_abstained"] = len(unstated)
    fig["pass_rate"] = _round(sum(r.passed for r in results) / len(results) if results else None)
    counts["pass_rate"] = len(results)
    judged = [r for r in answerable if r.judge is not None]
    if judged:
        for grade in (*GRADES, "unparsed", "error"):
            fig[f"judge_{grade}"] = _round(sum(r.judge == grade for r in judged) / len(judged))
        counts["judge"] = len(judged)
    leaks = [r.scores["leaked_faq_chunks"] for r in results if "leaked_faq_chunks" in r.scores]
    if leaks:
        fig["leaked_faq_chunks"] = int(sum(leaks))
    fig["n"] = counts
    return fig


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)
