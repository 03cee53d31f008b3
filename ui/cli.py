"""The ``monorag`` command line.

Settings are read here (options, each backed by a ``MONORAG_*`` variable) and passed
down. Library errors (``MonoragError``) become one clean line on stderr and exit code 2;
a partial ingest (some files failed) exits 1. Heavy imports (torch, chromadb) happen
inside the commands that need them, so ``--help`` is instant.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from monorag.errors import MonoragError
from monorag.settings import DEFAULT_CORPUS, PROJECT_DIR, Settings

app = typer.Typer(
    name="monorag",
    help="Answer clinicians' questions from drug monographs, with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    """What the global options decided, handed to every command."""

    settings: Settings
    debug: bool = False


STATE = State()


@app.callback()
def main_options(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", envvar="MONORAG_DB", help="Folder of the local store [default: data/store]."
        ),
    ] = None,
    chroma_url: Annotated[
        str | None,
        typer.Option(
            "--chroma-url",
            envvar="MONORAG_CHROMA_URL",
            help="Use a Chroma server (http://HOST:PORT) instead of the local folder.",
        ),
    ] = None,
    collection: Annotated[
        str | None,
        typer.Option("--collection", envvar="MONORAG_COLLECTION", help="Collection name."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Global options shared by all commands."""
    STATE.debug = debug
    with handled():
        STATE.settings = Settings.from_env(
            os.environ,
            **{"store.path": db, "store.chroma_url": chroma_url, "store.collection": collection},
        )


@contextmanager
def handled() -> Iterator[None]:
    """Turn a ``MonoragError`` into one line on stderr and exit code 2."""
    try:
        yield
    except MonoragError as exc:
        if STATE.debug:
            raise
        err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def print_json(data: Any) -> None:
    """Machine output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr fed by ``ingest.pipeline.Progress`` events."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if not enabled:
        yield lambda _event: None
        return
    bar = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    tasks: dict[str, Any] = {}
    labels = {"scan": "scanning", "embed": "embedding", "index": "indexing"}

    def update(event: Any) -> None:
        if event.stage not in tasks:
            tasks[event.stage] = bar.add_task(
                labels.get(event.stage, event.stage), total=event.total
            )
        bar.update(tasks[event.stage], completed=event.done, total=max(event.total, 1))

    with bar:
        yield update


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Monograph files or folders [default: corpus/].")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Empty the store first (e.g. after a model change).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Parse, chunk and embed monographs into the store (incremental)."""
    from monorag.embed import shared_embedder
    from monorag.ingest.pipeline import ingest as run_ingest

    settings = STATE.settings
    with handled():
        embedder = shared_embedder(settings.embedding)
        with progress_bar(not quiet and not as_json and err.is_terminal) as update:
            report = run_ingest(
                paths or [DEFAULT_CORPUS], settings, embedder, rebuild=rebuild, progress=update
            )
    for failure in report.failed:
        err.print(f"[red]failed:[/] {failure.path}: {failure.reason}", markup=True)
    if as_json:
        print_json(report.to_json())
    else:
        for warning in report.warnings:
            err.print(f"[yellow]warning:[/] {warning}", markup=True)
        out.print(
            f"{len(report.indexed)} indexed, {len(report.unchanged)} unchanged, "
            f"{len(report.removed)} removed, {len(report.failed)} failed; "
            f"{report.chunks_added} chunks added, {report.chunks_removed} removed; "
            f"store holds {report.monographs_total} monographs in {report.chunks_total} chunks "
            f"({report.seconds:.1f} s)"
        )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what the store holds."""
    from monorag.index.store import Store

    with handled():
        store = Store.open(STATE.settings.store)
        files = store.files()
        data = {
            "store": STATE.settings.store.where,
            "embedding_model": store.model(),
            "monographs": len(files),
            "chunks": sum(f.chunks for f in files.values()),
            "files": [
                {
                    "title": f.title,
                    "source": f.source,
                    "chunks": f.chunks,
                    "last_modified": f.last_modified,
                }
                for f in sorted(files.values(), key=lambda f: f.title.lower())
            ],
        }
    if as_json:
        print_json(data)
        return
    out.print(
        f"{data['store']}: {data['monographs']} monographs, {data['chunks']} chunks "
        f"(model {data['embedding_model']})"
    )
    for f in data["files"]:
        out.print(
            f"  {f['title']}  [dim]{f['source']} · {f['chunks']} chunks · {f['last_modified']}[/]"
        )


BENCH_EMA = PROJECT_DIR.parent / "shared" / "corpora" / "ema-leaflets"


@app.command()
def bench(
    large: Annotated[
        bool, typer.Option("--large", help="Also a generated corpus of --large-size monographs.")
    ] = False,
    ema: Annotated[
        Path,
        typer.Option(
            "--ema",
            help="Folder of the EMA leaflets (corpus b).",
            show_default="../shared/corpora/ema-leaflets",
        ),
    ] = BENCH_EMA,
    bundled: Annotated[
        Path, typer.Option("--bundled", help="The bundled corpus (a).", show_default="corpus/")
    ] = DEFAULT_CORPUS,
    large_size: Annotated[int, typer.Option("--large-size", min=2)] = 10_000,
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
        Path, typer.Option("--out", help="Markdown report.", show_default="docs/benchmarks.md")
    ] = PROJECT_DIR / "docs" / "benchmarks.md",
    plot: Annotated[
        Path,
        typer.Option(
            "--plot", help="Latency plot (PNG).", show_default="docs/benchmarks-latency.png"
        ),
    ] = PROJECT_DIR / "docs" / "benchmarks-latency.png",
    work: Annotated[
        Path | None,
        typer.Option(
            "--work",
            help="Keep corpora and stores in this folder.",
            show_default="a temporary folder, removed afterwards",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw results as JSON.")] = False,
) -> None:
    """Benchmark ingest, question latency, memory and disk against the LangChain baseline."""
    import time

    from monorag.bench.report import write
    from monorag.bench.runner import BenchConfig, CorpusSpec, run

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
        )
        results = run(config)
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


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question (or use --file).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (JSON lines with --file).")
    ] = False,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm", envvar="MONORAG_LLM", help="extractive (default), openai, ollama, anthropic."
        ),
    ] = None,
    llm_model: Annotated[
        str | None, typer.Option("--llm-model", envvar="MONORAG_LLM_MODEL", help="Model name.")
    ] = None,
    llm_url: Annotated[
        str | None,
        typer.Option("--llm-url", envvar="MONORAG_LLM_BASE_URL", help="LLM server base URL."),
    ] = None,
    k: Annotated[int | None, typer.Option("--k", help="Passages to use.", min=1, max=50)] = None,
    drug: Annotated[str | None, typer.Option("--drug", help="Only this drug's monograph.")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Read one question per line (blank lines skipped)."),
    ] = None,
) -> None:
    """Answer a question from the monographs, with citations."""
    with handled():
        settings = STATE.settings.model_copy(deep=True)
        updates = {"backend": llm, "model": llm_model, "base_url": llm_url}
        settings = Settings.from_env(
            {}, **{**settings_overrides(settings), **{f"llm.{k_}": v for k_, v in updates.items()}}
        )
        if (question is None) == (file is None):
            raise typer.BadParameter("give a QUESTION or --file, not both")
        if file is not None:
            try:
                lines = file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise MonoragError(f"cannot read questions from {file}: {exc}") from exc
            questions = [line.strip() for line in lines if line.strip()]
        else:
            questions = [question or ""]
        from monorag.qa.engine import Engine

        engine = Engine(settings)
        for q in questions:
            answer = engine.ask(q, drug=drug, k=k)
            if as_json:
                print_json(answer.to_json())
            else:
                print_answer(answer)


EVAL_REPORT = PROJECT_DIR / "out" / "eval"


@app.command("eval")
def evaluate(
    mode: Annotated[
        str, typer.Option("--mode", help="open, held-out or both (held-out is the honest figure).")
    ] = "both",
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm", help="Grade answers with an LLM judge of this backend (e.g. openai)."
        ),
    ] = None,
    llm_model: Annotated[
        str | None, typer.Option("--llm-model", envvar="MONORAG_LLM_MODEL", help="Judge model.")
    ] = None,
    llm_url: Annotated[
        str | None,
        typer.Option("--llm-url", envvar="MONORAG_LLM_BASE_URL", help="Judge server base URL."),
    ] = None,
    report: Annotated[
        Path,
        typer.Option(
            "--report", help="Report folder (also holds the eval's own store) [default: out/eval]."
        ),
    ] = EVAL_REPORT,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    corpus: Annotated[
        list[Path] | None,
        typer.Option("--corpus", help="Monograph folder or file (repeatable) [default: corpus/]."),
    ] = None,
    eval_set: Annotated[
        Path | None,
        typer.Option("--eval-set", help="Eval set file [default: eval/data/faq-eval.yaml]."),
    ] = None,
    build_set: Annotated[
        bool, typer.Option("--build-set", help="(Re)build the eval set from the corpus and stop.")
    ] = False,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Run the LangChain baseline too.")
    ] = True,
    record_thresholds: Annotated[
        bool,
        typer.Option(
            "--record-thresholds", help="Write eval/data/thresholds.json from this held-out run."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Evaluate answers to the monographs' FAQ questions against the LangChain baseline.

    The corpus is ingested into a store of its own under the report folder (the global
    --db is not touched), so the figures always describe exactly that corpus.
    """
    from monorag.eval.cli import EvalOptions, run_eval_command

    with handled():
        settings = Settings.from_env(
            {},
            **{
                **settings_overrides(STATE.settings),
                "llm.model": llm_model or STATE.settings.llm.model,
                "llm.base_url": llm_url or STATE.settings.llm.base_url,
            },
        )
        run_eval_command(
            EvalOptions(
                mode=mode,
                judge=llm,
                report=report,
                as_json=as_json,
                corpus=corpus or [DEFAULT_CORPUS],
                eval_set=eval_set,
                build_set=build_set,
                baseline=baseline,
                record_thresholds=record_thresholds,
                progress=not quiet and not as_json,
            ),
            settings,
            out,
            err,
        )


def settings_overrides(settings: Settings) -> dict[str, Any]:
    """Every field of ``settings`` as dotted overrides (to rebuild it with changes)."""
    data = settings.model_dump()
    return {
        f"{section}.{key}": value
        for section, fields in data.items()
        for key, value in fields.items()
    }


def print_answer(answer: Any) -> None:
    """A readable answer with its numbered sources."""
    out.print(f"[bold]Q:[/] {answer.question}", markup=True)
    style = "yellow" if answer.abstained else "green"
    out.print(
        f"[{style}]{'Not in the monographs' if answer.abstained else 'A'}:[/] ", markup=True, end=""
    )
    out.print(answer.text, markup=False)
    if answer.note:
        out.print(f"[dim]({answer.note})[/]", markup=True)
    for c in answer.citations:
        when = c.last_modified or "unknown"
        out.print(f"  [{c.key}] {c.label}  ", markup=False, end="")
        out.print(f"[dim]{escape(c.source)}, last modified {escape(when)}[/]", markup=True)
    out.print()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
