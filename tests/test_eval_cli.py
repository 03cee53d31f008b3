"""`monorag eval` wiring that needs no model: options, modes, the eval's own store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monorag.errors import MonoragError
from monorag.eval.cli import eval_settings, modes_of
from monorag.settings import Settings
from monorag.ui.cli import app


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("both", ["open", "held-out"]),
        ("open", ["open"]),
        ("held-out", ["held-out"]),
        ("held_out", ["held-out"]),
        ("HELDOUT", ["held-out"]),
    ],
)
def test_modes_of(mode: str, expected: list[str]) -> None:
    assert modes_of(mode) == expected


def test_modes_of_rejects_unknown_modes() -> None:
    with pytest.raises(MonoragError, match="use open, held-out or both"):
        modes_of("closed")


def test_eval_uses_its_own_store_and_keeps_other_settings(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {},
        **{
            "store.path": tmp_path / "mine",
            "store.chroma_url": "http://127.0.0.1:9",
            "store.collection": "other",
            "retrieve.k": 4,
        },
    )
    moved = eval_settings(settings, tmp_path / "report")
    assert moved.store.path == tmp_path / "report" / "store"
    assert moved.store.chroma_url is None and moved.store.collection == "monographs"
    assert moved.retrieve.k == 4
    assert settings.store.path == tmp_path / "mine"  # the caller's settings are untouched


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(app, ["eval", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for option in (
        "--mode",
        "--llm",
        "--judge",
        "--report",
        "--json",
        "--build-set",
        "--no-baseline",
    ):
        assert option in result.output


def test_llm_chooses_the_answering_backend_and_judge_the_grader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`eval --llm NAME` answers with NAME, as `ask --llm` does; `--judge NAME` grades."""
    import monorag.eval.cli as eval_cli

    seen: dict[str, object] = {}

    def fake_run(opts: object, settings: Settings, out: object, err: object) -> None:
        seen["judge"] = opts.judge  # type: ignore[attr-defined]
        seen["backend"] = settings.llm.backend

    monkeypatch.setattr(eval_cli, "run_eval_command", fake_run)
    args = ["eval", "--report", str(tmp_path), "--llm", "fake", "--judge", "fake"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen == {"judge": "fake", "backend": "fake"}
    result = CliRunner().invoke(app, ["eval", "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen == {"judge": None, "backend": "extractive"}


def test_help_does_not_import_the_harness() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from monorag.ui.cli import app\n"
        "CliRunner().invoke(app, ['eval', '--help'])\n"
        "heavy = [m for m in ('monorag.eval.harness', 'torch', 'chromadb', 'matplotlib') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip() == ""
