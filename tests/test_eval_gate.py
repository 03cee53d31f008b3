"""CI gate: the held-out FAQ evaluation of the bundled corpus must not regress.

Thresholds live in eval/data/thresholds.json (measured figure minus a documented
tolerance; see eval/gate.py). The run's reports are written to the test's tmp folder
(tests write nothing into the checkout); a failure names its eval.md, which says which
questions failed and why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monorag.embed import Embedder
from monorag.eval.dataset import DEFAULT_EVAL_SET, corpus_files, load_corpus, load_eval_set
from monorag.eval.gate import DEFAULT_THRESHOLDS, GATED, check, load_thresholds
from monorag.eval.harness import EvalConfig, run_eval
from monorag.eval.report import write_reports
from monorag.settings import PROJECT_DIR, Settings

pytestmark = pytest.mark.slow

CORPUS = PROJECT_DIR / "corpus"


def test_held_out_figures_stay_above_the_recorded_thresholds(
    tmp_path: Path, embedder: Embedder
) -> None:
    eval_set = load_eval_set(DEFAULT_EVAL_SET)
    assert eval_set.stale_against(corpus_files(load_corpus([CORPUS]))) == [], (
        "corpus/ changed: rebuild the eval set (`monorag eval --build-set`), review it, and "
        "re-record the thresholds"
    )
    thresholds = load_thresholds(DEFAULT_THRESHOLDS)
    assert set(thresholds["metrics"]) == set(GATED)
    for limit in thresholds["metrics"].values():
        # Recorded from a measurement, never above it.
        assert limit["min"] == pytest.approx(max(0.0, limit["measured"] - limit["tolerance"]))
        assert 0 < limit["tolerance"] <= 0.1

    run = run_eval(
        EvalConfig(
            eval_set=eval_set,
            corpus=[CORPUS],
            settings=Settings.from_env({}, **{"store.path": tmp_path / "store"}),
            work_dir=tmp_path,
            modes=["held-out"],
            embedder=embedder,
        )
    )
    files = write_reports(run, tmp_path / "report")
    figures = run.summary["held-out"]["monorag"]
    assert figures["leaked_faq_chunks"] == 0, "a held-out answer saw its own FAQ chunk"
    failures = check(run, thresholds)
    assert not failures, f"{'; '.join(failures)} (per-question report: {files.markdown})"
