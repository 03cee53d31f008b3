"""``monorag bench``: the command's options, added to the ``monorag`` app by ``register``.

The harness itself (``bench.runner``, ``bench.report``) is imported only when the command
runs: ``monorag --help`` and a mistyped option load none of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from monorag.cli_support import STATE, err, handled, print_json
from monorag.errors import MonoragError
from monorag.settings import DEFAULT_CORPUS, PROJECT_DIR

BENCH_EMA = PROJECT_DIR.parent / "shared" / "corpora" / "ema-leaflets"


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command to ``app``."""
    app.command(short_help="Benchmark speed, memory and disk against the LangChain baseline.")(
        bench
    )


def bench(
    large: Annotated[
        bool, typer.Option("--large", help="Also a generated corpus of --large-size monographs.")
    ] = False,
    ema: Annotated[
        Path,
        typer.Option(
            "--ema",
            help="Folder of the EMA leaflets (corpus b) [default: ../shared/corpora/ema-leaflets].",
            show_default=False,
        ),
    ] = BENCH_EMA,
    bundled: Annotated[
        Path,
        typer.Option(
            "--bundled", help="The bundled corpus (a) [default: corpus/].", show_default=False
        ),
    ] = DEFAULT_CORPUS,
    large_size: Annotated[
        int, typer.Option("--large-size", min=2, help="Monographs in the generated corpus.")
    ] = 10_000,
    large_baseline: Annotated[
        bool,
        typer.Option(
            "--large-baseline/--no-large-baseline",
            help="Measure the baseline on the generated corpus too (hours at 10,000).",
        ),
    ] = True,
    corpus: Annotated[
        list[str] | None,
        typer.Option(
            "--corpus",
            help="NAME=PATH: benchmark this folder instead of the default corpora (repeatable).",
        ),
    ] = None,
    questions: Annotated[int, typer.Option("--questions", min=1, help="Questions asked.")] = 120,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Measure the LangChain baseline too.")
    ] = True,
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Markdown report [default: docs/benchmarks.md].", show_default=False
        ),
    ] = PROJECT_DIR / "docs" / "benchmarks.md",
    plot: Annotated[
        Path,
        typer.Option(
            "--plot",
            help="Latency plot (PNG) [default: docs/benchmarks-latency.png].",
            show_default=False,
        ),
    ] = PROJECT_DIR / "docs" / "benchmarks-latency.png",
    work: Annotated[
        Path | None,
        typer.Option(
            "--work",
            help="Keep corpora and stores in this folder "
            "[default: a temporary folder, removed afterwards].",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="With --work: keep what an earlier run there measured (corpora with saved "
            "results, a finished full ingest) and measure only the rest.",
        ),
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Measure only this corpus (bundled, ema, large or a --corpus NAME; "
            "repeatable): with --work and --resume, a long run can be split over sessions.",
        ),
    ] = None,
    include: Annotated[
        list[Path] | None,
        typer.Option(
            "--include",
            help="Results JSON of an earlier run: its corpora join the report, marked with "
            "when they were measured (a corpus measured now wins; repeatable).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw results as JSON.")] = False,
) -> None:
    """Benchmark ingest, question latency, memory and disk against the LangChain baseline."""
    import time

    from monorag.bench.report import write
    from monorag.bench.runner import BenchConfig, CorpusSpec, merge, run

    start = time.monotonic()

    def log(message: str) -> None:
        err.print(f"[dim]{time.monotonic() - start:7.1f}s[/] {escape(message)}", markup=True)

    with handled():
        if corpus:
            specs = [_corpus_option(value) for value in corpus]
        else:
            specs = [
                CorpusSpec("bundled", "(a) bundled corpus", (bundled,)),
                CorpusSpec("ema", "(b) EMA leaflets + bundled", (ema, bundled)),
            ]
        if large:
            sources = (ema, bundled) if not corpus else tuple(p for s in specs for p in s.sources)
            label = f"(c) {large_size:,} generated"
            specs.append(
                CorpusSpec("large", label, sources, size=large_size, baseline=large_baseline)
            )
        if only:
            unknown = sorted(set(only) - {s.name for s in specs})
            if unknown:
                names = ", ".join(s.name for s in specs)
                asked = ", ".join(unknown)
                raise MonoragError(f"--only {asked}: not a corpus of this run ({names})")
            specs = [s for s in specs if s.name in only]
        for spec in specs:
            for source in spec.sources:
                if not source.exists():
                    raise MonoragError(f"benchmark corpus {spec.name}: {source} does not exist")
        config = BenchConfig(
            corpora=specs,
            settings=STATE.settings,
            work=work,
            questions=questions,
            baseline=baseline,
            log=log,
            resume=resume,
        )
        if resume and work is None:
            raise MonoragError("--resume needs --work DIR (the folder of the run to resume)")
        earlier = [_earlier(path) for path in include or []]
        results = run(config)
        for data in earlier:
            merge(results, data)
        write(results, out, plot)
        out.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    log(f"wrote {out}, {plot} and {out.with_suffix('.json')}")
    if as_json:
        print_json(results)


def _corpus_option(value: str) -> Any:
    from monorag.bench.runner import CorpusSpec

    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise MonoragError(f"--corpus {value!r}: expected NAME=PATH")
    return CorpusSpec(name, name, (Path(path),))


def _earlier(path: Path) -> dict[str, Any]:
    """An earlier run's results (``--include``), read before anything is measured."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MonoragError(
            f"--include {path}: not a results file of monorag bench ({exc})"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("corpora"), list):
        raise MonoragError(f"--include {path}: not a results file of monorag bench (no corpora)")
    return data
