"""One measured process: build the baseline's index, or serve questions with one system.

Run by ``bench.runner`` as ``python -m bench.worker ...`` so that each system's memory is
measured alone (peak RSS of this process) and the model is loaded as a server would load
it. Writes one JSON object to ``--out``.

- ``serve monorag``: load ``qa.engine.Engine``, answer warm-up questions, then time
  ``Engine.retrieve`` (retrieval alone) and ``Engine.ask`` (the full extractive answer)
  for every question.
- ``serve baseline``: the same with ``LangChainBaseline.retrieve`` and ``.answer``.
- ``ingest baseline``: build the baseline's index from a corpus folder.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import monorag  # noqa: F401  - offline switches before transformers or chromadb load
from monorag.bench.machine import rss_mb

WARM_UP = 5
"""Questions answered before timing starts (caches, lazy imports, allocator)."""

EMBED_SAMPLE = 128
"""Stored chunks re-embedded to measure the model's throughput on real chunk text."""


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(calls: Sequence[str], fn: Callable[[str], Any]) -> tuple[list[float], list[Any]]:
    """Milliseconds taken by ``fn(q)`` for each ``q``, and what it returned."""
    times: list[float] = []
    results: list[Any] = []
    for q in calls:
        start = time.perf_counter()
        results.append(fn(q))
        times.append((time.perf_counter() - start) * 1000.0)
    return times, results


def serve_monorag(settings_json: str, questions: list[str]) -> dict[str, Any]:
    """Load the engine and time retrieval and full answers for ``questions``."""
    from monorag.settings import Settings

    settings = Settings.model_validate_json(settings_json)
    memory: dict[str, float | None] = {"start": rss_mb()}
    started = time.perf_counter()
    from monorag.embed import get_embedder
    from monorag.qa.engine import Engine

    embedder = get_embedder(settings.embedding)
    embedder.embed_one("warm up")
    memory["model loaded"] = rss_mb()
    engine = Engine(settings, embedder)
    memory["index opened, reader cache mapped"] = rss_mb()
    engine.warm_up()
    load = time.perf_counter() - started
    for q in questions[:WARM_UP]:
        engine.ask(q)
    memory["warm-up questions answered"] = rss_mb()
    retrieve_ms, _ = timed(questions, lambda q: engine.retrieve(q))
    ask_ms, answers = timed(questions, lambda q: engine.ask(q))
    memory["every question answered"] = rss_mb()
    rss = peak_rss_mb()
    stages: dict[str, list[float]] = {}
    for answer in answers:
        for stage, seconds in answer.timings.items():
            stages.setdefault(stage, []).append(seconds * 1000.0)
    return {
        "load_s": load,
        "retrieve_ms": retrieve_ms,
        "ask_ms": ask_ms,
        "stage_ms": stages,
        "abstained": sum(1 for a in answers if a.abstained),
        "peak_rss_mb": rss,
        "rss_stages_mb": memory,
        "reader_cache": _cache_sizes(engine),
        "embed_chunks_per_s": _embed_rate(engine),
    }


def _cache_sizes(engine: Any) -> dict[str, Any]:
    """What the reader holds of the index: chunks in memory, vectors mapped (MiB on disk)."""
    from monorag.index.store import lexical_dir

    folder = lexical_dir(engine.settings.store)
    files = {
        p.relative_to(folder).as_posix(): p.stat().st_size / 2**20
        for p in folder.rglob("*")
        if p.is_file()
    }
    return {
        "chunks_in_memory": len(engine.lexical.chunks),
        "unit_vectors_mapped": engine._state.extractive.unit_vectors.rows_total,
        "files_mb": {k: round(v, 1) for k, v in sorted(files.items())},
    }


def _embed_rate(engine: Any) -> float | None:
    """Chunks per second the model embeds, on an evenly spread sample of stored chunks."""
    chunks = getattr(engine.lexical, "chunks", [])
    if not chunks:
        return None
    step = max(1, len(chunks) // EMBED_SAMPLE)
    texts = [c.embed_text for c in chunks[::step][:EMBED_SAMPLE]]
    start = time.perf_counter()
    engine.embedder.embed(texts)
    return len(texts) / (time.perf_counter() - start)


def _baseline(corpus: Path, persist: Path, precision: str) -> Any:
    from monorag.bench.corpus import monograph_files
    from monorag.eval.baseline import LangChainBaseline

    return LangChainBaseline(monograph_files([corpus]), persist, root=corpus, precision=precision)


def ingest_baseline(corpus: Path, persist: Path, precision: str) -> dict[str, Any]:
    """Build the baseline's index of ``corpus`` in ``persist`` (from scratch, as it must)."""
    started = time.perf_counter()
    baseline = _baseline(corpus, persist, precision)
    baseline.embeddings.embed_query("warm up")
    load = time.perf_counter() - started
    start = time.perf_counter()
    chunks = baseline.build()
    seconds = time.perf_counter() - start
    return {
        "load_s": load,
        "seconds": seconds,
        "chunks": chunks,
        "monographs": len(baseline.files),
        "peak_rss_mb": peak_rss_mb(),
    }


def serve_baseline(
    corpus: Path, persist: Path, precision: str, questions: list[str]
) -> dict[str, Any]:
    """Open the baseline's index and time retrieval and answers for ``questions``."""
    started = time.perf_counter()
    baseline = _baseline(corpus, persist, precision)
    baseline.embeddings.embed_query("warm up")
    _ = baseline.store
    load = time.perf_counter() - started
    for q in questions[:WARM_UP]:
        baseline.answer(q)
    retrieve_ms, _ = timed(questions, lambda q: baseline.retrieve(q))
    ask_ms, answers = timed(questions, lambda q: baseline.answer(q))
    return {
        "load_s": load,
        "retrieve_ms": retrieve_ms,
        "ask_ms": ask_ms,
        "stage_ms": {},
        "abstained": sum(1 for a in answers if a.abstained),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.worker``."""
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("task", choices=["serve", "ingest"])
    parser.add_argument("system", choices=["monorag", "baseline"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--settings", type=Path, help="file of monorag Settings as JSON")
    parser.add_argument("--questions", type=Path, help="JSON list of question texts")
    parser.add_argument("--corpus", type=Path, help="corpus folder (baseline)")
    parser.add_argument("--persist", type=Path, help="baseline index folder")
    parser.add_argument(
        "--precision", default="float32", help="baseline model precision (monorag's, resolved)"
    )
    args = parser.parse_args(argv)
    questions = json.loads(args.questions.read_text("utf-8")) if args.questions else []
    if args.task == "serve" and args.system == "monorag":
        result = serve_monorag(args.settings.read_text("utf-8"), questions)
    elif args.task == "serve":
        result = serve_baseline(args.corpus, args.persist, args.precision, questions)
    elif args.system == "baseline":
        result = ingest_baseline(args.corpus, args.persist, args.precision)
    else:
        parser.error("monorag ingests through the CLI (`monorag ingest`), not the worker")
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
