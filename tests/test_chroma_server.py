"""monorag against a real Chroma server (`chroma run`): ingest, status and ask over HTTP."""

from __future__ import annotations

import gc
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.store import forget_client
from monorag.cli import app
from monorag.settings import StoreSettings

pytestmark = pytest.mark.server

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT / "corpus"
CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A `chroma run` server on a free local port; yields (url, its data folder)."""
    data = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data / "db"), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                output = (data / "server.log").read_text(errors="replace")
                pytest.fail(f"chroma server did not come up (exit {proc.poll()}):\n{output}")
            time.sleep(0.2)
        yield url, data / "db"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        _close_client(StoreSettings(chroma_url=url))


def _close_client(settings: StoreSettings) -> None:
    """Forget the cached client of the server and close every HTTP pool open to it.

    Chroma keeps one HTTP API object per client system and never closes their pools; left
    open, they warn about unclosed sockets when the test process exits.
    """
    from chromadb.api.fastapi import FastAPI

    forget_client(settings)
    for obj in gc.get_objects():
        if type(obj) is FastAPI and str(getattr(obj, "_api_url", "")).startswith(
            settings.chroma_url or "-"
        ):
            obj._session.close()


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
        [sys.executable, "-m", "monorag.cli", *common, "status", "--json"],
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
    url = f"http://127.0.0.1:{_free_port()}"
    code, _out, err = _cli("--db", str(tmp_path), "--chroma-url", url, "status")
    assert code == 2
    assert url in err and "chroma run" in err
