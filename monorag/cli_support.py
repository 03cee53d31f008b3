"""The command line's shared plumbing, below every layer that declares a command.

``ui/cli.py`` owns the ``monorag`` app and its global options; ``eval/cli.py`` and
``bench/cli.py`` add their own commands to it (``register(app)``). What all of them use
lives here, so that no layer imports the one above it: the consoles, the settings the
global options chose (``STATE``), the error handling that turns a ``MonoragError`` into one
line and exit code 2, JSON output, the ingest progress bar and the options several commands
share.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from monorag.errors import MonoragError
from monorag.settings import Settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    """What the global options decided, handed to every command."""

    settings: Settings
    debug: bool = False


STATE = State()


@contextmanager
def handled() -> Iterator[None]:
    """Turn a ``MonoragError`` into one line on stderr and exit code 2."""
    try:
        yield
    except MonoragError as exc:
        if STATE.debug:
            raise
        err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
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


def settings_overrides(settings: Settings) -> dict[str, Any]:
    """Every field of ``settings`` as dotted overrides (to rebuild it with changes)."""
    data = settings.model_dump()
    return {
        f"{section}.{key}": value
        for section, fields in data.items()
        for key, value in fields.items()
    }


# Options several commands share (ask, serve, eval), declared once.
LLMModelOption = Annotated[
    str | None,
    typer.Option("--llm-model", envvar="MONORAG_LLM_MODEL", help="Model name at the backend."),
]
LLMURLOption = Annotated[
    str | None,
    typer.Option("--llm-url", envvar="MONORAG_LLM_BASE_URL", help="LLM server base URL."),
]
