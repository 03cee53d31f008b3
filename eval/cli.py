"""``monorag eval``: the command (added to the ``monorag`` app by ``register``) and what it runs.

The eval ingests the corpus into a store of its own (``<report>/store``, incremental, so
a second run only re-checks hashes) and keeps the baseline's Chroma stores beside it:
the figures always describe exactly the evaluated corpus, and the user's store is never
touched. All other settings (retrieval, answering, an LLM backend for answers) are the
CLI's global settings. The harness is imported only when the command runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from monorag.cli_support import (
    STATE,
    LLMModelOption,
    LLMURLOption,
    err,
    handled,
    out,
    settings_overrides,
)
from monorag.errors import MonoragError
from monorag.settings import DEFAULT_CORPUS, Settings, in_checkout, user_data_dir


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to ``app``."""
    app.command("eval", short_help="Evaluate answers to the FAQ questions against the baseline.")(
        evaluate
    )


def evaluate(
    mode: Annotated[
        str, typer.Option("--mode", help="open, held-out or both (held-out is the honest figure).")
    ] = "both",
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            help="Answer with this LLM backend, as `ask --llm` does (e.g. local, openai) "
            "[default: MONORAG_LLM, else extractive].",
        ),
    ] = None,
    llm_model: LLMModelOption = None,
    llm_url: LLMURLOption = None,
    judge: Annotated[
        str | None,
        typer.Option(
            "--judge",
            help="Also grade answers with an LLM judge of this backend (e.g. openai; it "
            "uses --llm-model and --llm-url).",
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Report folder (also holds the eval's own store) "
            f"[default: {user_data_dir() / 'eval'}].",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            "--corpus",
            help="Monograph folder or file (repeatable) [default: corpus/ of a checkout].",
        ),
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
    question_set: Annotated[
        str,
        typer.Option(
            "--set",
            help="faq (the monographs' own FAQ questions) or clinical (the clinical question "
            "set with its sealed test split, eval/data/clinical).",
        ),
    ] = "faq",
    split: Annotated[
        str, typer.Option("--split", help="Clinical set: dev, test (sealed) or all.")
    ] = "dev",
    leaflets: Annotated[
        Path | None,
        typer.Option(
            "--leaflets", help="Clinical set: the EMA leaflet folder [default: ../shared/...]."
        ),
    ] = None,
) -> None:
    """Evaluate answers against the LangChain baseline: the FAQ set or the clinical set.

    The corpus is ingested into a store of its own under the report folder (the global
    --db is not touched), so the figures always describe exactly that corpus.
    """
    with handled():
        settings = Settings.from_env(
            {},
            **{
                **settings_overrides(STATE.settings),
                "llm.backend": llm or STATE.settings.llm.backend,
                "llm.model": llm_model or STATE.settings.llm.model,
                "llm.base_url": llm_url or STATE.settings.llm.base_url,
            },
        )
        if settings.llm.enabled:
            from monorag.qa.llm import get_llm

            get_llm(settings.llm.backend, settings.llm)  # a broken backend fails in a second
        if question_set.strip().lower() == "clinical":
            run_clinical_command(
                settings,
                report or user_data_dir() / "eval",
                split=split,
                baseline=baseline,
                leaflets=leaflets,
                as_json=as_json,
                progress=not quiet and not as_json,
                out=out,
                err=err,
                record_thresholds=record_thresholds,
            )
            return
        if question_set.strip().lower() != "faq":
            raise MonoragError(f"--set {question_set!r}: use faq or clinical")
        run_eval_command(
            EvalOptions(
                mode=mode,
                judge=judge,
                report=report or user_data_dir() / "eval",
                as_json=as_json,
                corpus=corpus or eval_corpus(),
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


def eval_corpus() -> list[Path]:
    """The corpus evaluated by default: ``corpus/`` of a checkout (a wheel ships none)."""
    if in_checkout():
        return [DEFAULT_CORPUS]
    raise MonoragError("name the corpus to evaluate with --corpus FOLDER")


@dataclass
class EvalOptions:
    """The options of ``monorag eval``."""

    mode: str
    judge: str | None
    report: Path
    as_json: bool
    corpus: list[Path]
    eval_set: Path | None
    build_set: bool
    baseline: bool
    record_thresholds: bool
    progress: bool


def modes_of(mode: str) -> list[str]:
    """``both`` -> both modes; otherwise the one mode named (validated)."""
    from monorag.eval.harness import MODES

    key = mode.strip().lower().replace("_", "-")
    if key == "both":
        return list(MODES)
    if key == "heldout":
        key = "held-out"
    if key not in MODES:
        raise MonoragError(f"--mode {mode!r}: use open, held-out or both")
    return [key]


def eval_settings(settings: Settings, report: Path) -> Settings:
    """``settings`` with the store moved to ``<report>/store`` (local, default collection)."""
    store = settings.store.model_copy(
        update={"path": report / "store", "chroma_url": None, "collection": "monographs"}
    )
    return settings.model_copy(update={"store": store})


def run_eval_command(opts: EvalOptions, settings: Settings, out: Console, err: Console) -> None:
    """Build the eval set (``--build-set``) or run the evaluation and write the reports."""
    import json
    import sys

    from monorag.embed import get_embedder
    from monorag.eval.dataset import (
        DEFAULT_EVAL_SET,
        EvalSetError,
        build_eval_set,
        corpus_files,
        labelling_embedder,
        load_corpus,
        load_eval_set,
        save_eval_set,
    )

    modes = modes_of(opts.mode)
    embedder = get_embedder(settings.embedding)
    labeller = labelling_embedder(settings.embedding)
    set_path = opts.eval_set or DEFAULT_EVAL_SET
    monographs = load_corpus(opts.corpus)
    if opts.build_set:
        eval_set = build_eval_set(monographs, labeller.embed, model=labeller.name)
        save_eval_set(eval_set, set_path)
        out.print(
            f"wrote {set_path}: {len(eval_set.items)} FAQ items, "
            f"{len(eval_set.questions())} questions ({len(eval_set.probes)} probes) "
            f"from {len(monographs)} monographs"
        )
        return
    try:
        eval_set = load_eval_set(set_path)
        stale = eval_set.stale_against(corpus_files(monographs))
    except EvalSetError:
        if opts.eval_set is not None:
            raise
        stale = [f"no usable eval set at {set_path}"]
    if stale:
        if opts.eval_set is not None:
            raise EvalSetError(
                f"{set_path} does not match the corpus ({'; '.join(stale[:3])}): "
                "rebuild it with `monorag eval --build-set --eval-set FILE`"
            )
        # Another corpus (or an edited one): label it now and keep the set with the report.
        err.print(
            f"[yellow]note:[/] the eval set {set_path} does not match the corpus "
            f"({'; '.join(stale[:2])}); building one for this run",
            markup=True,
        )
        eval_set = build_eval_set(monographs, labeller.embed, model=labeller.name)
        save_eval_set(eval_set, opts.report / "faq-eval.yaml")

    judge = _judge(opts.judge, settings) if opts.judge else None
    from monorag.eval.gate import record_thresholds
    from monorag.eval.harness import EvalConfig, run_eval
    from monorag.eval.report import summary_table, write_reports

    with _progress(opts.progress and err.is_terminal, err) as progress:
        run = run_eval(
            EvalConfig(
                eval_set=eval_set,
                corpus=opts.corpus,
                settings=eval_settings(settings, opts.report),
                work_dir=opts.report,
                modes=modes,
                baseline=opts.baseline,
                judge=judge,
                progress=progress,
                embedder=embedder,
            )
        )
    files = write_reports(run, opts.report)
    if opts.record_thresholds:
        record_thresholds(run)
    if opts.as_json:
        data = run.to_json()
        data["files"] = {
            "json": str(files.json),
            "markdown": str(files.markdown),
            "chart": str(files.chart),
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    out.print(summary_table(run))
    out.print(f"reports: {files.markdown}, {files.json}, {files.chart}")


def run_clinical_command(
    settings: Settings,
    report: Path,
    *,
    split: str,
    baseline: bool,
    leaflets: Path | None,
    as_json: bool,
    progress: bool,
    out: Console,
    err: Console,
    record_thresholds: bool = False,
) -> None:
    """Run the clinical question set (one split) and write its reports under ``report``."""
    import json
    import sys

    from monorag.eval.clinical import default_leaflets
    from monorag.eval.clinical_run import questions_of, run_clinical, table, write_clinical_reports

    questions_of(split)  # a bad --split fails before anything loads
    folder = leaflets or default_leaflets()
    if not folder.is_dir():
        raise MonoragError(f"the EMA leaflet folder {folder} is missing: pass --leaflets DIR")
    with _progress(progress and err.is_terminal, err) as update:
        run = run_clinical(
            eval_settings(settings, report / "clinical"),
            report / "clinical",
            folder,
            split=split,
            baseline=baseline,
            progress=update,
        )
    json_path, md_path = write_clinical_reports(run, report)
    if record_thresholds:
        from monorag.eval.clinical_run import record_clinical_thresholds

        record_clinical_thresholds(run)
    if as_json:
        data = run.to_json()
        data["files"] = {"json": str(json_path), "markdown": str(md_path)}
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    out.print(table(run))
    out.print(f"reports: {md_path}, {json_path}")


def _judge(name: str, settings: Settings) -> Any:
    from monorag.eval.judge import Judge
    from monorag.qa.llm import describe, get_llm

    llm_settings = settings.llm.model_copy(update={"backend": name})
    return Judge(get_llm(name, llm_settings), name=describe(llm_settings))


@contextmanager
def _progress(enabled: bool, err: Console) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr, one task per stage of the run."""
    if not enabled:
        yield lambda _stage, _done, _total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=max(total, 1))
        bar.update(tasks[stage], completed=done, total=max(total, 1))

    with bar:
        yield update
