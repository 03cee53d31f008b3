"""monorag against a real Chroma server (`chroma run`): ingest, status and ask over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monorag.ui.cli import app
from tests import servers

pytestmark = pytest.mark.server

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT / "corpus"


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A `chroma run` server on a free local port; yields (url, its data folder)."""
    data = tmp_path_factory.mktemp("chroma-server")
    with servers.chroma_server(data) as url:
        yield url, data / "db"


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_ingest_status_and_ask_through_a_chroma_server(
    chroma_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, server_data = chroma_server
    local = tmp_path / "local"
    common = ("--db", str(local), "--chroma-url", url, "--collection", "served")

    code, out, err = _cli(*common, "ingest", "--json", str(CORPUS))
    assert code == 0, err
    report = json.loads(out)
    assert report["files_indexed"] == 1 and report["chunks_added"] > 10
    assert report["store"] == url
    # Everything went to the server: no embedded store was created locally.
    assert not (local / "chroma.sqlite3").exists()
    assert (server_data / "chroma.sqlite3").stat().st_size > 100_000

    # Another process (as a second app replica would be) sees the same store.
    proc = subprocess.run(
        [sys.executable, "-m", "monorag.ui.cli", *common, "status", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT,
    )
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["store"] == url
    assert status["monographs"] == 1
    assert status["chunks"] == report["chunks_total"]
    assert status["files"][0]["source"] == "pomalidomide.md"

    code, out, err = _cli(*common, "ingest", "--json", str(CORPUS))
    assert code == 0, err
    assert json.loads(out)["files_unchanged"] == 1

    code, out, err = _cli(
        *common,
        "ask",
        "--json",
        "What is the recommended dose of pomalidomide for multiple myeloma?",
    )
    assert code == 0, err
    answer = json.loads(out)
    assert not answer["abstained"], answer
    assert answer["citations"]
    assert {c["drug"] for c in answer["citations"]} == {"Pomalidomide"}
    assert "4 mg" in answer["answer"]


def test_a_server_that_is_not_there_is_one_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{servers.free_port()}"
    code, _out, err = _cli("--db", str(tmp_path), "--chroma-url", url, "status")
    assert code == 2
    assert url in err and "chroma run" in err
