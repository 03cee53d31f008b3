"""The CI gate: held-out figures must not fall below recorded thresholds.

``eval/data/thresholds.json`` holds, per gated metric, the figure measured on the bundled
corpus, the tolerance and the resulting minimum (``measured - tolerance``). Thresholds
are recorded from a measurement (``monorag eval --record-thresholds``), never typed in.

Tolerances: key-fact recall may drop by ``RECALL_TOLERANCE`` (about two of forty
answerable questions losing half their facts); abstention accuracy by one probe
(``1 / probes``, at least ``MIN_ABSTENTION_TOLERANCE``). The engine is deterministic,
so the tolerance only absorbs floating-point and index-order differences between
machines and small unrelated changes; a real regression exceeds it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from monorag.eval.dataset import EvalSetError
from monorag.eval.harness import EvalRun

DEFAULT_THRESHOLDS = Path(__file__).resolve().parent / "data" / "thresholds.json"
GATE_MODE = "held-out"
GATE_SYSTEM = "monorag"
GATED: tuple[str, ...] = ("key_fact_recall", "abstention_accuracy")
RECALL_TOLERANCE = 0.05
MIN_ABSTENTION_TOLERANCE = 0.05


def tolerance(metric: str, run: EvalRun) -> float:
    """The allowed drop of ``metric`` below its measured figure."""
    if metric == "abstention_accuracy":
        probes = run.summary[GATE_MODE][GATE_SYSTEM]["n"]["abstention_accuracy"]
        return max(MIN_ABSTENTION_TOLERANCE, 1.0 / probes) if probes else 1.0
    return RECALL_TOLERANCE


def record_thresholds(run: EvalRun, path: Path = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    """Write the thresholds measured by ``run`` (which must include the held-out mode)."""
    if GATE_MODE not in run.summary:
        raise EvalSetError("recording thresholds needs a held-out run (--mode held-out or both)")
    figures = run.summary[GATE_MODE][GATE_SYSTEM]
    metrics: dict[str, Any] = {}
    for metric in GATED:
        measured = figures.get(metric)
        if measured is None:
            raise EvalSetError(f"the run measured no {metric}: cannot record a threshold")
        tol = tolerance(metric, run)
        metrics[metric] = {
            "min": round(max(0.0, measured - tol), 4),
            "measured": measured,
            "tolerance": round(tol, 4),
            "n": figures["n"].get(metric),
        }
    data = {
        "mode": GATE_MODE,
        "system": GATE_SYSTEM,
        "metrics": metrics,
        "measured_on": dt.date.today().isoformat(),
        "eval_set_built": run.meta["eval_set"]["built"],
        "answer_mode": run.meta["answer_mode"],
        "note": "min = measured - tolerance; see eval/gate.py and docs/eval.md. "
        "Re-record with `monorag eval --mode held-out --record-thresholds` only after a "
        "deliberate change, and say why in the commit.",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return data


def load_thresholds(path: Path = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    """Read the thresholds file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvalSetError(f"cannot read eval thresholds {path}: {exc}") from exc


def check(run: EvalRun, thresholds: dict[str, Any]) -> list[str]:
    """Gate failures (``[]`` when every gated figure is at or above its minimum)."""
    mode, system = thresholds.get("mode", GATE_MODE), thresholds.get("system", GATE_SYSTEM)
    figures = run.summary.get(mode, {}).get(system)
    if figures is None:
        return [f"the run has no {mode}/{system} figures"]
    failures: list[str] = []
    for metric, limit in thresholds["metrics"].items():
        value = figures.get(metric)
        if value is None or value < limit["min"]:
            failures.append(
                f"{metric} {value} < minimum {limit['min']} "
                f"(measured {limit['measured']} - tolerance {limit['tolerance']})"
            )
    return failures
