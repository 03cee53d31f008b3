"""CI gate: the clinical question set's dev split must not regress.

The limits in eval/data/clinical/thresholds.json are recorded from a dev run
(``monorag eval --set clinical --split dev --record-thresholds``). The sealed test split
is not run here: it is reported, never gated on or tuned against.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monorag.embed import Embedder
from monorag.eval.clinical import default_leaflets
from monorag.eval.clinical_run import (
    THRESHOLDS,
    check_clinical,
    run_clinical,
    write_clinical_reports,
)
from monorag.settings import Settings
from tests.conftest import make_settings

pytestmark = pytest.mark.slow


def test_dev_figures_hold_the_recorded_gate(tmp_path: Path, embedder: Embedder) -> None:
    settings: Settings = make_settings(tmp_path / "store")
    run = run_clinical(
        settings, tmp_path, default_leaflets(), split="dev", baseline=False, embedder=embedder
    )
    write_clinical_reports(run, tmp_path)
    assert THRESHOLDS.exists(), "record the gate: monorag eval --set clinical --record-thresholds"
    assert check_clinical(run) == [], (tmp_path / "clinical-dev.md").read_text()[:4000]
