"""Real local servers for tests: a free loopback port and a `chroma run` process."""

from __future__ import annotations

import gc
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from monorag.index.store import forget_client
from monorag.settings import StoreSettings

CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def close_client(settings: StoreSettings) -> None:
    """Forget the cached client of a server and close every HTTP pool open to it.

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


@contextmanager
def chroma_server(data: Path) -> Iterator[str]:
    """Run `chroma run` on a free loopback port with its data under ``data``; yield its URL."""
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
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
        yield url
    finally:
        stop(proc, timeout=20)
        log.close()
        close_client(StoreSettings(chroma_url=url))


def stop(proc: subprocess.Popen, timeout: float, *, terminate: bool = True) -> None:
    """End a child process: SIGTERM (unless it is ending by itself), then SIGKILL if it
    has not exited within ``timeout`` seconds."""
    if terminate:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
