"""The benchmark harness behind ``monorag bench``.

For each corpus: copy (or generate) it into a work folder, make a fixed question list,
then for monorag and for the plain LangChain baseline measure

- full ingest (wall time of the process, as a user runs it) and chunks per second;
- re-ingest with nothing changed, and after editing 1% of the files (the baseline has no
  incremental mode: its only way to take a change is to rebuild, so its figures there
  are its full build);
- warm latency p50/p95 of retrieval alone and of the full extractive answer;
- peak RSS of the serving process, and the store's size on disk.

Every process runs as a subprocess (``monorag`` CLI for monorag's ingest, ``bench.worker``
for the rest) so timings include nothing of the harness and memory is one process's own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monorag.bench.corpus import assemble, synthesize, touch
from monorag.bench.machine import describe_machine, rss_mb
from monorag.bench.questions import make_questions
from monorag.embed import resolve_precision
from monorag.errors import MonoragError
from monorag.settings import PROJECT_DIR, Settings

TOUCH_FRACTION = 0.01
DEFAULT_CORPORA = ("bundled", "ema")
"""Names of the corpora of a plain ``monorag bench`` (its time budget is for these)."""


@dataclass(frozen=True)
class CorpusSpec:
    """A corpus to benchmark: copied from ``sources``, or synthesized to ``size`` files."""

    name: str
    label: str
    sources: tuple[Path, ...]
    size: int | None = None
    """When set, generate this many monographs from ``sources`` (``bench.corpus.synthesize``)."""
    baseline: bool = True
    """Measure the baseline on this corpus too (when the run measures it at all)."""


@dataclass
class BenchConfig:
    """What to run and where to write it."""

    corpora: list[CorpusSpec]
    settings: Settings
    """Base settings; each corpus gets its own store folder (and collection on a server)."""
    work: Path | None = None
    """Folder for corpora and stores; a temporary one (removed afterwards) when ``None``."""
    questions: int = 120
    baseline: bool = True
    seed: int = 0
    timeout: float = 6 * 3600.0
    """Seconds any one measured process may take."""
    resume: bool = False
    """Keep what an earlier run with the same ``work`` folder measured: a corpus whose
    results were saved is not measured again, and a full ingest that finished is not
    repeated (the long 10,000 run can be split over sessions, or resumed after a stop)."""
    log: Callable[[str], None] = field(default=lambda _msg: None)


class BenchError(MonoragError):
    """A measured process failed; the message carries its output."""


def run(config: BenchConfig) -> dict[str, Any]:
    """Run every corpus of ``config`` and return the results (see ``bench.report``)."""
    started = time.time()
    results: dict[str, Any] = {
        "machine": describe_machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "questions": config.questions,
        "touch_fraction": TOUCH_FRACTION,
        "chroma": "server " + config.settings.store.chroma_url
        if config.settings.store.chroma_url
        else "embedded (PersistentClient)",
        "corpora": [],
    }
    temporary = config.work is None
    work = Path(tempfile.mkdtemp(prefix="monorag-bench-")) if temporary else Path(config.work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        for spec in config.corpora:
            results["corpora"].append(run_corpus(spec, work / spec.name, config))
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    results["seconds"] = time.time() - started
    default = [c for c in results["corpora"] if c["name"] in DEFAULT_CORPORA]
    if default:
        results["run_ab_seconds"] = sum(c["seconds"] for c in default)
    return results


def merge(results: dict[str, Any], earlier: dict[str, Any]) -> None:
    """Add the corpora of an ``earlier`` run's results to ``results`` (one measured in this
    run wins), each marked with when it was measured."""
    for corpus in results["corpora"]:
        corpus.setdefault("measured", results.get("started"))
    names = {c["name"] for c in results["corpora"]}
    for corpus in earlier.get("corpora", []):
        if corpus.get("name") not in names:
            results["corpora"].append({"measured": earlier.get("started"), **corpus})
            names.add(corpus.get("name"))
    results["corpora"].sort(key=lambda c: c["monographs"])


def run_corpus(spec: CorpusSpec, folder: Path, config: BenchConfig) -> dict[str, Any]:
    """Measure both systems on one corpus; ``folder`` receives its files and stores."""
    say = config.log
    started = time.perf_counter()
    saved = folder / "result.json"
    if config.resume and saved.exists():
        say(f"[{spec.name}] kept the results saved by an earlier run in {saved}")
        return dict(json.loads(saved.read_text(encoding="utf-8")))
    corpus = folder / "corpus"
    full_saved = folder / "full-ingest.json"
    resuming = config.resume and full_saved.exists() and corpus.is_dir()
    if not resuming:
        shutil.rmtree(folder, ignore_errors=True)
        say(f"[{spec.name}] preparing corpus")
        if spec.size is None:
            files = assemble(spec.sources, corpus)
        else:
            files = synthesize(spec.sources, spec.size, corpus, seed=config.seed)
    else:
        say(f"[{spec.name}] resuming after the full ingest saved in {full_saved}")
        files = sorted(corpus.glob("*.md"))
    if not files:
        raise BenchError(f"corpus {spec.name}: no monograph files under {spec.sources}")
    questions = make_questions(files, config.questions, seed=config.seed)
    qfile = folder / "questions.json"
    qfile.write_text(json.dumps([q.text for q in questions], indent=1), encoding="utf-8")
    out: dict[str, Any] = {
        "name": spec.name,
        "label": spec.label,
        "monographs": len(files),
        "corpus_mb": _size_mb(corpus),
        "questions": len(questions),
        "question_kinds": _count(q.kind for q in questions),
    }

    settings = _corpus_settings(config.settings, spec.name, folder / "store")
    if resuming:
        mono = json.loads(full_saved.read_text(encoding="utf-8"))
    else:
        say(f"[{spec.name}] monorag: full ingest of {len(files)} monographs")
        mono = _monorag_ingest(settings, corpus, folder, config, rebuild=True)
        keep = {k: mono[k] for k in ("wall", "peak_rss_mb", "report", "rss_samples")}
        full_saved.write_text(json.dumps(keep), encoding="utf-8")
    full = mono["report"]
    if full.get("files_failed"):
        say(f"[{spec.name}] warning: {full['files_failed']} files failed to ingest")
    say(f"[{spec.name}] monorag: re-ingest, nothing changed")
    unchanged = _monorag_ingest(settings, corpus, folder, config)
    touched = touch(files, TOUCH_FRACTION, spec.name)
    say(f"[{spec.name}] monorag: re-ingest after editing {len(touched)} files")
    changed = _monorag_ingest(settings, corpus, folder, config)
    say(f"[{spec.name}] monorag: serving {len(questions)} questions")
    serve = _worker(
        ["serve", "monorag", "--settings", str(_settings_file(settings, folder))],
        qfile,
        folder,
        config,
    )
    out["touched_files"] = len(touched)
    out["monorag"] = {
        "ingest_s": mono["wall"],
        "ingest_pipeline_s": full.get("seconds"),
        "chunks": full.get("chunks_total"),
        "chunks_per_s": _rate(full.get("chunks_added"), full.get("seconds")),
        "files_failed": full.get("files_failed"),
        "ingest_peak_rss_mb": mono["peak_rss_mb"],
        "reingest_unchanged_s": unchanged["wall"],
        "reingest_pipeline_s": unchanged["report"].get("seconds"),
        "reingest_touched_s": changed["wall"],
        "reindexed_files": changed["report"].get("files_indexed"),
        "store_mb": _size_mb(settings.store.path) if not settings.store.chroma_url else None,
        "ingest_rss_samples": mono.get("rss_samples", []),
        **_serving(serve),
    }
    floor = out["monorag"].get("embed_chunks_per_s")
    if floor and full.get("chunks_added") and full.get("seconds"):
        # The encoder alone would take chunks / floor seconds over the same texts.
        out["monorag"]["floor_ratio"] = full["seconds"] / (full["chunks_added"] / floor)

    if config.baseline and spec.baseline:
        out["baseline"] = _run_baseline(spec, corpus, folder, qfile, config)
    out["seconds"] = time.perf_counter() - started
    saved.write_text(json.dumps(out), encoding="utf-8")
    return out


def _run_baseline(
    spec: CorpusSpec, corpus: Path, folder: Path, qfile: Path, config: BenchConfig
) -> dict[str, Any]:
    say = config.log
    persist = folder / "baseline"
    # The same model at the same precision as monorag: the ratios compare pipelines.
    where = [
        *("--corpus", str(corpus), "--persist", str(persist)),
        *("--precision", resolve_precision(config.settings.embedding.precision)),
    ]
    say(f"[{spec.name}] baseline: building its index")
    build = _worker(
        ["ingest", "baseline", *where],
        None,
        folder,
        config,
    )
    say(f"[{spec.name}] baseline: serving")
    serve = _worker(
        ["serve", "baseline", *where],
        qfile,
        folder,
        config,
    )
    return {
        "ingest_s": build["wall"],
        "ingest_pipeline_s": build["result"]["seconds"],
        "chunks": build["result"]["chunks"],
        "chunks_per_s": _rate(build["result"]["chunks"], build["result"]["seconds"]),
        "ingest_peak_rss_mb": build["peak_rss_mb"],
        # No incremental mode: taking any change means rebuilding the whole index.
        "reingest_unchanged_s": build["wall"],
        "reingest_touched_s": build["wall"],
        "store_mb": _size_mb(persist),
        **_serving(serve),
    }


def _serving(serve: dict[str, Any]) -> dict[str, Any]:
    result = serve["result"]
    stage = {
        name: {"p50": percentile(v, 50), "p95": percentile(v, 95), "mean": sum(v) / len(v)}
        for name, v in result.get("stage_ms", {}).items()
        if v
    }
    return {
        "retrieve_p50_ms": percentile(result["retrieve_ms"], 50),
        "retrieve_p95_ms": percentile(result["retrieve_ms"], 95),
        "ask_p50_ms": percentile(result["ask_ms"], 50),
        "ask_p95_ms": percentile(result["ask_ms"], 95),
        "serve_load_s": result["load_s"],
        "serve_peak_rss_mb": result["peak_rss_mb"],
        "abstained": result["abstained"],
        "stage_ms": stage,
        "embed_chunks_per_s": result.get("embed_chunks_per_s"),
        "rss_stages_mb": result.get("rss_stages_mb"),
        "reader_cache": result.get("reader_cache"),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile by linear interpolation (numpy's default method)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _corpus_settings(base: Settings, name: str, store: Path) -> Settings:
    data = base.model_dump()
    data["store"]["path"] = store
    if base.store.chroma_url:
        data["store"]["collection"] = f"bench-{name}"
    data["llm"]["backend"] = "extractive"
    return Settings.model_validate(data)


def _settings_file(settings: Settings, folder: Path) -> Path:
    path = folder / "settings.json"
    path.write_text(settings.model_dump_json(), encoding="utf-8")
    return path


def _monorag_ingest(
    settings: Settings, corpus: Path, folder: Path, config: BenchConfig, *, rebuild: bool = False
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "monorag.ui.cli", "--db", str(settings.store.path)]
    if settings.store.chroma_url:
        cmd += ["--chroma-url", settings.store.chroma_url]
    cmd += ["--collection", settings.store.collection, "ingest", "--json", "--quiet"]
    if rebuild:
        cmd.append("--rebuild")
    cmd.append(str(corpus))
    done = _measure(cmd, folder, config, ok_codes=(0, 1))
    try:
        done["report"] = json.loads(done["stdout"].strip().splitlines()[-1])
    except (IndexError, ValueError) as exc:
        raise BenchError(
            f"`monorag ingest` printed no JSON report: {done['stderr'][-2000:]}"
        ) from exc
    return done


def _worker(
    args: list[str], questions: Path | None, folder: Path, config: BenchConfig
) -> dict[str, Any]:
    out = folder / "worker.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "monorag.bench.worker", *args, "--out", str(out)]
    if questions is not None:
        cmd += ["--questions", str(questions)]
    done = _measure(cmd, folder, config)
    done["result"] = json.loads(out.read_text(encoding="utf-8"))
    return done


def _measure(
    cmd: list[str], folder: Path, config: BenchConfig, ok_codes: tuple[int, ...] = (0,)
) -> dict[str, Any]:
    """Run ``cmd``; its wall time, peak RSS (from the kernel's accounting) and output."""
    stdout_path = folder / "stdout.log"
    stderr_path = folder / "stderr.log"
    start = time.perf_counter()
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        # Run from the checkout so ``python -m bench.worker`` finds this very code.
        proc = subprocess.Popen(
            cmd, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, cwd=PROJECT_DIR
        )
        status, rusage, samples = _wait(proc, config.timeout)
    wall = time.perf_counter() - start
    text = stdout_path.read_text(encoding="utf-8", errors="replace")
    err = stderr_path.read_text(encoding="utf-8", errors="replace")
    if status not in ok_codes:
        raise BenchError(f"{' '.join(cmd[:6])} ... exited with {status}:\n{err[-3000:]}")
    return {
        "wall": wall,
        "peak_rss_mb": rusage.ru_maxrss / 1024.0,
        "rss_samples": samples,
        "stdout": text,
        "stderr": err,
    }


def _wait(
    proc: subprocess.Popen[bytes], timeout: float, every: float = 5.0
) -> tuple[int, Any, list[tuple[float, float]]]:
    """Wait for ``proc``; its status, resource usage, and (seconds, RSS MiB) every ``every`` s."""
    started = time.monotonic()
    deadline = started + timeout
    samples: list[tuple[float, float]] = []
    next_sample = started
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, rusage, samples
        if time.monotonic() >= next_sample:
            rss = round(rss_mb(proc.pid) or 0.0, 1)
            if rss > 0:  # gone, or just forked with next to nothing mapped: no sample
                samples.append((round(time.monotonic() - started, 1), rss))
            next_sample += every
        if time.monotonic() > deadline:
            proc.kill()
            _, status, rusage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            raise BenchError(f"{proc.args!r} took longer than {timeout:.0f} s and was stopped")
        time.sleep(0.05)


def _size_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return total / (1024.0 * 1024.0)


def _rate(count: Any, seconds: Any) -> float | None:
    if not count or not seconds:
        return None
    return float(count) / float(seconds)


def _count(kinds: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind in kinds:
        out[kind] = out.get(kind, 0) + 1
    return out
