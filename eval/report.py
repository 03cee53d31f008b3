"""Reports of an evaluation run: a rich table, JSON, Markdown and a PNG chart.

Every figure of monorag is shown beside the LangChain baseline's, mode by mode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from monorag.eval.harness import HEADLINE, KINDS, METRICS, EvalRun, QuestionResult

JSON_NAME = "eval.json"
MARKDOWN_NAME = "eval.md"
CHART_NAME = "eval.png"
_ANSWER_CHARS = 320


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Where the three report files were written."""

    json: Path
    markdown: Path
    chart: Path


def fmt(value: float | None) -> str:
    """A figure for tables: two decimals, or an en dash when undefined."""
    return "–" if value is None else f"{value:.2f}"


def _columns(run: EvalRun) -> list[tuple[str, str]]:
    return [(mode, system) for mode in run.summary for system in run.summary[mode]]


def _metric_rows(run: EvalRun) -> list[tuple[str, str]]:
    rows = list(METRICS)
    if any(
        "judge_correct" in figures
        for systems in run.summary.values()
        for figures in systems.values()
    ):
        rows += [
            ("judge_correct", "LLM judge: correct"),
            ("judge_incorrect", "LLM judge: incorrect"),
            ("judge_not_attempted", "LLM judge: not attempted"),
        ]
    return rows


def summary_table(run: EvalRun) -> Table:
    """Metrics (rows) by mode and system (columns); headline metrics in bold."""
    table = Table(title="FAQ evaluation: monorag vs LangChain baseline", title_justify="left")
    table.add_column("metric")
    columns = _columns(run)
    for mode, system in columns:
        table.add_column(f"{mode}\n{system}", justify="right")
    table.add_column("n", justify="right", style="dim")
    for key, label in _metric_rows(run):
        values = [run.summary[mode][system].get(key) for mode, system in columns]
        if all(v is None for v in values):
            continue
        counts = {
            run.summary[mode][system]["n"].get(key.split("_")[0] if "judge" in key else key)
            for mode, system in columns
        }
        counts.discard(None)
        style = "bold" if key in HEADLINE else ""
        table.add_row(
            label,
            *[fmt(v) for v in values],
            "/".join(str(c) for c in sorted(counts)),
            style=style,
        )
    return table


def write_reports(run: EvalRun, out_dir: Path) -> ReportFiles:
    """Write ``eval.json``, ``eval.md`` and ``eval.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out_dir / JSON_NAME, out_dir / MARKDOWN_NAME, out_dir / CHART_NAME)
    files.json.write_text(
        json.dumps(run.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    write_chart(run, files.chart)
    files.markdown.write_text(markdown(run, chart=files.chart.name), encoding="utf-8")
    return files


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


def _cell(text: str, limit: int = _ANSWER_CHARS) -> str:
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("|", "\\|") or "–"


def markdown(run: EvalRun, chart: str | None = CHART_NAME) -> str:
    """The Markdown report: headline, all metrics, per-kind figures, per-question rows."""
    meta = run.meta
    columns = _columns(run)
    lines = ["# FAQ evaluation report", ""]
    es = meta["eval_set"]
    lines += [
        f"Eval set: {es['items']} FAQ items, {es['questions']} questions asked "
        f"({es['probes']} unanswerable probes), built {es['built']} from "
        + ", ".join(f"`{c['source']}`" for c in es["corpus"])
        + ".",
        f"Answers: monorag `{meta['answer_mode']}`; baseline: plain LangChain RAG "
        "(RecursiveCharacterTextSplitter 1000/200, top-4 cosine, "
        + (
            "first three sentences of the top chunk)."
            if meta["answer_mode"] in ("", "extractive", "none")
            else "the same LLM with LangChain's stuff prompt)."
        )
        + (f" LLM judge: `{meta['judge']}`." if meta.get("judge") else ""),
        "Pass: an answer states at least half of the reference's key facts (or, when the "
        "reference has none, restates at least half of its sentences); a probe, or in "
        "`held-out` a question whose answer the body does not state, passes by abstaining.",
        f"Modes: {', '.join(f'`{m}`' for m in meta['modes'])}. `held-out` excludes the "
        "evaluated monograph's FAQ chunks from retrieval (the baseline indexes no FAQ "
        "sections): it is the honest figure. Run time "
        f"{meta['seconds'].get('total', 0):.0f} s.",
        "",
        "## Headline",
        "",
    ]
    lines += _table(run, [(k, label) for k, label in METRICS if k in HEADLINE], columns)
    if chart:
        lines += ["", f"![metrics per mode against the baseline]({chart})", ""]
    lines += ["## All metrics", ""]
    lines += _table(run, _metric_rows(run), columns)
    lines += [
        "",
        "Answerable-question metrics average over the originals and their variants; "
        "`–` means undefined (e.g. no gold section). hit@k and MRR look at the first "
        f"{meta['retrieval_depth']} passages; a passage hits when it comes from a gold "
        "section (or, in `open` mode, from the question's own FAQ pair).",
        "",
        "## By question kind",
        "",
    ]
    lines += _kind_table(run, columns)
    leaks = [
        run.summary[m][s].get("leaked_faq_chunks")
        for m, s in columns
        if run.summary[m][s].get("leaked_faq_chunks") is not None
    ]
    if leaks:
        lines += [
            "",
            f"Leakage check: {int(sum(leaks))} FAQ chunks of the evaluated monograph "
            "were retrieved in `held-out` mode (must be 0).",
            "",
        ]
    for mode in run.summary:
        lines += ["", f"## Questions: `{mode}`", ""]
        lines += _question_rows([r for r in run.results if r.mode == mode])
    return "\n".join(lines) + "\n"


def _table(run: EvalRun, rows: list[tuple[str, str]], columns: list[tuple[str, str]]) -> list[str]:
    head = "| metric | " + " | ".join(f"{m} · {s}" for m, s in columns) + " |"
    out = [head, "|---|" + "---:|" * len(columns)]
    for key, label in rows:
        values = [run.summary[m][s].get(key) for m, s in columns]
        if all(v is None for v in values):
            continue
        cells = [
            f"**{fmt(v)}**" if s == "monorag" and v is not None else fmt(v)
            for (m, s), v in zip(columns, values, strict=True)
        ]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def _kind_table(run: EvalRun, columns: list[tuple[str, str]]) -> list[str]:
    head = "| kind | metric | " + " | ".join(f"{m} · {s}" for m, s in columns) + " |"
    out = [head, "|---|---|" + "---:|" * len(columns)]
    for kind in KINDS:
        keys = (
            [
                ("key_fact_recall", "key-fact recall"),
                ("hit@3", "hit@3"),
                ("unstated_abstained", "abstained (answer not in the body)"),
                ("pass_rate", "pass"),
            ]
            if not kind.startswith("unanswerable")
            else [("abstention_accuracy", "abstained")]
        )
        for key, label in keys:
            values = [
                run.summary[m][s].get("by_kind", {}).get(kind, {}).get(key) for m, s in columns
            ]
            if all(v is None for v in values):
                continue
            out.append(f"| {kind} | {label} | " + " | ".join(fmt(v) for v in values) + " |")
    return out


def _question_rows(results: list[QuestionResult]) -> list[str]:
    judged = any(r.judge for r in results)
    head = "| id | kind | question | system | answer | citations | result |"
    if judged:
        head += " judge |"
    out = [head, "|---" * (8 if judged else 7) + "|"]
    for r in results:
        verdict = ("✅ pass" if r.passed else "❌ fail") + f": {r.why}"
        if r.trace:
            verdict += f" ({r.trace})"
        row = [
            r.id.rsplit("/", 1)[0] if r.answerable else r.id,
            r.kind,
            _cell(r.question, 120),
            r.system,
            _cell(("(abstained) " if r.abstained else "") + r.answer),
            _cell("; ".join(r.citations), 200),
            _cell(verdict, 200),
        ]
        if judged:
            row.append(r.judge or "–")
        out.append("| " + " | ".join(row) + " |")
    return out


# ---------------------------------------------------------------------------
# Chart
# ---------------------------------------------------------------------------

_CHART_METRICS: tuple[tuple[str, str], ...] = (
    ("key_fact_recall", "key-fact\nrecall"),
    ("hit@3", "hit@3"),
    ("mrr", "MRR@5"),
    ("citation_precision", "citation\nprecision"),
    ("abstention_accuracy", "abstention\naccuracy"),
    ("token_f1", "token F1"),
    ("rouge_l", "ROUGE-L"),
    ("embedding_similarity", "embedding\nsimilarity"),
)
_COLOURS = {
    ("open", "monorag"): "#8fb8de",
    ("held-out", "monorag"): "#1f5f9e",
    ("open", "baseline"): "#f2b880",
    ("held-out", "baseline"): "#c0601a",
}


def write_chart(run: EvalRun, path: Path) -> None:
    """A grouped bar chart of the main metrics, one bar per mode and system (PNG, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = _columns(run)
    metrics = [(k, label) for k, label in _CHART_METRICS]
    width = 0.8 / max(1, len(columns))
    fig, ax = plt.subplots(figsize=(11, 4.8), dpi=110)
    try:
        for i, (mode, system) in enumerate(columns):
            values = [run.summary[mode][system].get(k) for k, _ in metrics]
            xs = [j + (i - (len(columns) - 1) / 2) * width for j in range(len(metrics))]
            heights = [0.0 if v is None else v for v in values]
            bars = ax.bar(
                xs,
                heights,
                width,
                label=f"{system} · {mode}",
                color=_COLOURS.get((mode, system)),
                hatch="//" if system == "baseline" else None,
                edgecolor="white" if system == "baseline" else None,
            )
            for bar, value in zip(bars, values, strict=True):
                ax.annotate(
                    "n/a" if value is None else f"{value:.2f}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=6.5,
                    xytext=(0, 1),
                    textcoords="offset points",
                )
        ax.set_xticks(range(len(metrics)), [label for _, label in metrics], fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("score (higher is better)")
        ax.set_title("FAQ evaluation: monorag vs LangChain baseline, open and held-out")
        ax.legend(fontsize=8, ncols=len(columns), loc="upper center", bbox_to_anchor=(0.5, -0.14))
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)


def summary_json(run: EvalRun) -> dict[str, Any]:
    """The summary without per-question rows (for ``--json`` consumers that want figures)."""
    return {"meta": run.meta, "summary": run.summary}
