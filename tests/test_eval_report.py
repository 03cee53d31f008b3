"""Summaries and report files of an eval run (eval/harness.summarise, eval/report.py),
on hand-made results so that every figure is known in advance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from monorag.eval.gate import check, load_thresholds, record_thresholds
from monorag.eval.harness import EvalRun, QuestionResult, summarise
from monorag.eval.report import markdown, summary_table, write_reports


def result(
    system: str,
    mode: str,
    kind: str,
    *,
    recall: float | None = None,
    hit3: float | None = None,
    abstained: bool = False,
    passed: bool = False,
    cited: float | None = None,
    judge: str | None = None,
) -> QuestionResult:
    answerable = not kind.startswith("unanswerable")
    return QuestionResult(
        id=f"d#q1/{kind}",
        mode=mode,
        system=system,
        kind=kind,
        drug="Drug",
        question=f"A {kind} question | with a pipe?",
        answerable=answerable,
        answer="(none)" if abstained else "An answer with 4 mg.",
        abstained=abstained,
        citations=[] if abstained else ["Drug › Dosage"],
        retrieved=["Drug › Dosage"],
        scores={
            "key_fact_recall": recall,
            "hit@3": hit3,
            "citation_precision": cited,
            "token_f1": 0.5 if answerable else None,
        },
        passed=passed,
        why="because",
        judge=judge,
        seconds=0.01,
    )


def make_run() -> EvalRun:
    results = []
    for mode in ("open", "held-out"):
        results += [
            result("monorag", mode, "original", recall=1.0, hit3=1.0, passed=True, cited=1.0),
            result("monorag", mode, "terse", recall=0.5, hit3=0.0, passed=True, cited=0.5),
            result("monorag", mode, "brand", recall=None, hit3=None, abstained=True),
            result("monorag", mode, "unanswerable_drug", abstained=True, passed=True),
            result("monorag", mode, "unanswerable_attribute", abstained=False),
            result("baseline", mode, "original", recall=0.0, hit3=1.0, cited=0.0),
            result("baseline", mode, "terse", recall=0.0, hit3=0.0, cited=0.0),
            result("baseline", mode, "brand", recall=0.0, hit3=0.0, cited=0.0),
            result("baseline", mode, "unanswerable_drug"),
            result("baseline", mode, "unanswerable_attribute"),
        ]
    meta = {
        "eval_set": {
            "items": 1,
            "probes": 2,
            "questions": 5,
            "built": "2026-01-01",
            "version": 1,
            "labeller": {},
            "corpus": [{"source": "drug.md"}],
        },
        "modes": ["open", "held-out"],
        "retrieval_depth": 5,
        "answer_mode": "extractive",
        "judge": None,
        "seconds": {"total": 1.0},
    }
    return EvalRun(results=results, summary=summarise(results), meta=meta)


def test_summary_figures() -> None:
    run = make_run()
    ours = run.summary["held-out"]["monorag"]
    # None (no key facts) is left out of the mean, not counted as 0 or 1.
    assert ours["key_fact_recall"] == pytest.approx(0.75)
    assert ours["n"]["key_fact_recall"] == 2
    assert ours["hit@3"] == pytest.approx(0.5)
    # Abstention accuracy is over probes only: one of two abstained.
    assert ours["abstention_accuracy"] == pytest.approx(0.5)
    assert ours["n"]["abstention_accuracy"] == 2
    assert ours["answered_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert ours["pass_rate"] == pytest.approx(3 / 5)
    assert ours["by_kind"]["terse"]["key_fact_recall"] == 0.5
    assert ours["by_kind"]["unanswerable_drug"]["abstention_accuracy"] == 1.0
    theirs = run.summary["held-out"]["baseline"]
    assert theirs["key_fact_recall"] == 0.0 and theirs["abstention_accuracy"] == 0.0
    assert theirs["citation_precision"] == 0.0 and theirs["pass_rate"] == 0.0


def test_reports_are_written(tmp_path: Path) -> None:
    run = make_run()
    files = write_reports(run, tmp_path / "report")
    assert files.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files.chart.stat().st_size > 10_000
    data = json.loads(files.json.read_text(encoding="utf-8"))
    assert len(data["results"]) == 20 and set(data["summary"]) == {"open", "held-out"}
    text = files.markdown.read_text(encoding="utf-8")
    assert "| metric | open · monorag | open · baseline | held-out · monorag |" in text
    assert "| key-fact recall | **0.75** | 0.00 | **0.75** | 0.00 |" in text
    assert "| abstention accuracy (probes) | **0.50** | 0.00 | **0.50** | 0.00 |" in text
    assert "![metrics per mode against the baseline](eval.png)" in text
    # Per-question rows: pipes in questions are escaped, verdicts spelled out.
    assert "A terse question \\| with a pipe?" in text
    assert "✅ pass: because" in text and "❌ fail: because" in text
    assert "## Questions: `held-out`" in text


def test_rich_table_lists_each_mode_and_system() -> None:
    console = Console(record=True, width=140)
    console.print(summary_table(make_run()))
    text = console.export_text()
    assert "key-fact recall" in text and "abstention accuracy" in text
    assert text.count("monorag") >= 2 and text.count("baseline") >= 2


def test_judge_rows_appear_only_with_a_judge() -> None:
    run = make_run()
    assert "LLM judge" not in markdown(run)
    for r in run.results:
        if r.answerable:
            r.judge = "correct" if r.system == "monorag" else "incorrect"
    run.summary = summarise(run.results)
    text = markdown(run)
    assert "| LLM judge: correct | **1.00** | 0.00 |" in text
    assert run.summary["open"]["baseline"]["judge_incorrect"] == 1.0


def test_gate_thresholds_from_measurement(tmp_path: Path) -> None:
    run = make_run()
    path = tmp_path / "thresholds.json"
    data = record_thresholds(run, path)
    recall = data["metrics"]["key_fact_recall"]
    assert recall["measured"] == 0.75 and recall["min"] == pytest.approx(0.70)
    # One probe of two may flip: tolerance 1/2.
    assert data["metrics"]["abstention_accuracy"]["tolerance"] == 0.5
    assert check(run, load_thresholds(path)) == []
    worse = make_run()
    for r in worse.results:
        if r.system == "monorag" and r.mode == "held-out" and r.kind == "original":
            r.scores["key_fact_recall"] = 0.0
    worse.summary = summarise(worse.results)
    failures = check(worse, load_thresholds(path))
    assert len(failures) == 1 and failures[0].startswith("key_fact_recall 0.25 < minimum 0.7")
