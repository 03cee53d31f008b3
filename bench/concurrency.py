"""Answers per second with 1, 2 and 8 concurrent callers of one shared engine.

``python -m monorag.bench.concurrency --label NAME`` ingests the bundled corpus plus a fixed
sample of the EMA leaflets into a temporary store, then has N threads ask the benchmark
questions of one ``Engine`` for a fixed time each, and appends one row per N to
``docs/benchmarks-concurrency.json``; ``docs/benchmarks-concurrency.md`` is rewritten from
all recorded rows, so a run before and after a change sit side by side, measured the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import monorag  # noqa: F401  - offline switches before heavy libraries load
from monorag.bench.corpus import monograph_files
from monorag.bench.questions import make_questions
from monorag.settings import DEFAULT_CORPUS, PROJECT_DIR, Settings

CALLERS = (1, 2, 8)
LEAFLETS = 60
SECONDS = 20.0


def answers_per_second(engine: Any, questions: list[str], callers: int, seconds: float) -> dict:
    """Throughput and latency of ``callers`` threads asking ``questions`` round-robin."""
    stop = time.perf_counter() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        i = offset
        while time.perf_counter() < stop:
            q = questions[i % len(questions)]
            i += callers
            t0 = time.perf_counter()
            try:
                engine.ask(q, llm=False)
            except Exception as exc:  # recorded: a benchmark must not hide a failure
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                return
            with lock:
                latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    return {
        "callers": callers,
        "answers": len(latencies),
        "answers_per_s": len(latencies) / wall,
        "p95_ms": p95 * 1000.0,
        "errors": errors[:3],
    }


def main() -> None:
    """Measure and record one labelled run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--label", required=True, help="e.g. 'before: one engine lock'")
    parser.add_argument(
        "--leaflets", type=Path, default=PROJECT_DIR.parent / "shared" / "corpora" / "ema-leaflets"
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "docs")
    args = parser.parse_args()
    from monorag.ingest.pipeline import ingest
    from monorag.qa.engine import Engine

    files = monograph_files([DEFAULT_CORPUS]) + monograph_files([args.leaflets])[::15][:LEAFLETS]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for f in files:
            (corpus / f.name).write_bytes(f.read_bytes())
        settings = Settings.from_env({}, **{"store.path": Path(tmp) / "store"})
        from monorag.embed import shared_embedder

        report = ingest([corpus], settings, shared_embedder(settings.embedding))
        assert report.ok, report.failed
        engine = Engine(settings)
        questions = [q.text for q in make_questions(sorted(corpus.glob("*.md")), n=120)]
        for q in questions[:5]:
            engine.ask(q, llm=False)
        rows = [answers_per_second(engine, questions, n, args.seconds) for n in CALLERS]
    record = {
        "label": args.label,
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "monographs": len(files),
        "load_average": list(os.getloadavg()),
        "seconds": args.seconds,
        "rows": rows,
    }
    path = args.out / "benchmarks-concurrency.json"
    runs = json.loads(path.read_text()) if path.exists() else []
    runs.append(record)
    path.write_text(json.dumps(runs, indent=2) + "\n")
    (args.out / "benchmarks-concurrency.md").write_text(render(runs))
    print(render([record]))


def render(runs: list[dict]) -> str:
    """The markdown table of every recorded run."""
    lines = [
        "# Concurrent callers of one engine",
        "",
        "Produced by `python -m monorag.bench.concurrency --label ...` (bench/concurrency.py); "
        "do not edit by hand. One `Engine` shared by N threads, each asking the benchmark "
        "questions round-robin for a fixed time, extractive answers, 2-core machine. "
        "The machine has two cores, so more than two callers can only help where a caller "
        "waits (a lock, I/O) rather than computes.",
        "",
        "| run | monographs | callers | answers/s | p95 (ms) | errors | load avg at start |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for run in runs:
        for row in run["rows"]:
            lines.append(
                f"| {run['label']} ({run['date']}) | {run['monographs']} | {row['callers']} | "
                f"{row['answers_per_s']:.1f} | {row['p95_ms']:.1f} | {len(row['errors'])} | "
                f"{run['load_average'][0]:.2f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
