"""`monorag serve` as a real process on 127.0.0.1, asked by real HTTP clients.

One server (with an API key, so the key check is exercised on every call) serves a copy
of the session's seed store; its answers are compared with the same engine's answers in
this process, which is what `monorag ask --json` prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from monorag.settings import Settings
from monorag.ui.server import check_bind, is_loopback
from tests import servers

pytestmark = [pytest.mark.server, pytest.mark.slow]

MONORAG = Path(sys.executable).with_name("monorag")
KEY = "test-key-1234"
START_TIMEOUT = 300.0
"""The server loads the model before it binds: minutes on a busy 2-core machine."""
QUESTIONS = [
    ("Pomalyst dose for a dialysis patient?", None),
    ("What is the starting dose for multiple myeloma?", "pomalidomide"),
    ("What is the recommended dose of aspirin?", None),
]


def env_without_settings(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONORAG_")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def api(
    seed_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path]]:
    """`monorag serve` on a copy of the seed store; yields (URL, store, log file)."""
    work = tmp_path_factory.mktemp("api")
    store = work / "store"
    shutil.copytree(seed_settings.store.path, store)
    port = servers.free_port()
    log = work / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(MONORAG), "--db", str(store), "serve", "--port", str(port)],
            env=env_without_settings(MONORAG_API_KEY=KEY),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"monorag serve exited with {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"monorag serve not healthy in {START_TIMEOUT:.0f} s:\n{log.read_text()}"
                )
            time.sleep(0.3)
        yield url, store, log
    finally:
        servers.stop(proc, timeout=20)


def call(
    url: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    key: str | None = KEY,
    method: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, dict[str, str]]:
    """One HTTP request; (status, body text, headers), 4xx/5xx included."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("X-API-Key", key)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def ask(url: str, question: str, drug: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {"question": question, **({"drug": drug} if drug else {}), **extra}
    status, text, _ = call(url, "/ask", body)
    assert status == 200, text
    return json.loads(text)


@pytest.fixture(scope="module")
def expected(seed_settings: Settings) -> dict[tuple[str, str | None], dict[str, Any]]:
    """What `monorag ask --json` prints for each question: the engine's own answers."""
    from monorag.qa.engine import Engine

    engine = Engine(seed_settings)
    return {(q, d): engine.ask(q, drug=d).to_json() for q, d in QUESTIONS}


def test_health_monographs_and_docs(api: tuple[str, Path, Path]) -> None:
    url, _, _ = api
    status, text, _ = call(url, "/health", key=None)  # health needs no key
    assert status == 200 and json.loads(text)["status"] == "ok"
    assert json.loads(text)["monographs"] == 1
    status, text, _ = call(url, "/monographs")
    listing = json.loads(text)
    assert status == 200 and listing["count"] == 1
    [mono] = listing["monographs"]
    assert mono["title"] == "Pomalidomide" and mono["last_modified"].startswith("2025-09-22")
    status, text, _ = call(url, "/openapi.json", key=None)
    spec = json.loads(text)
    assert status == 200 and {"/ask", "/monographs", "/health"} <= set(spec["paths"])
    status, text, _ = call(url, "/docs", key=None)
    assert status == 200 and "swagger" in text.lower()


def test_ask_returns_the_json_of_ask_json(
    api: tuple[str, Path, Path], expected: dict[tuple[str, str | None], dict[str, Any]]
) -> None:
    url, _, _ = api
    for (question, drug), want in expected.items():
        assert ask(url, question, drug) == want
    aspirin = expected[QUESTIONS[2]]
    assert aspirin["abstained"]  # no monograph, and said so in a clinician's words:
    assert "not in the index" in aspirin["note"], aspirin
    assert "store" not in aspirin["note"] + aspirin["answer"], aspirin


def test_streaming_answers_as_ndjson(
    api: tuple[str, Path, Path], expected: dict[tuple[str, str | None], dict[str, Any]]
) -> None:
    url, _, _ = api
    question, drug = QUESTIONS[0]
    status, text, headers = call(url, "/ask", {"question": question, "stream": True})
    assert status == 200 and headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in text.splitlines()]
    assert "answer" in lines[-1] and all("text" in line for line in lines[:-1])
    assert lines[-1]["answer"] == expected[(question, drug)]
    assert "".join(line["text"] for line in lines[:-1]) == lines[-1]["answer"]["answer"]


BAD_REQUESTS = [
    ("no body", None, None, 422, "send a JSON body"),
    ("empty object", {}, None, 422, "question: required"),
    ("empty question", {"question": ""}, None, 422, "the question is empty"),
    ("blank question", {"question": "  \n "}, None, 422, "the question is empty"),
    ("too long", {"question": "dose? " * 400}, None, 422, "at most 2000 characters"),
    ("not text", {"question": 5}, None, 422, "question: Input should be a valid string"),
    ("k out of range", {"question": "dose?", "k": 0}, None, 422, "k: Input should be greater"),
    ("unknown field", {"question": "dose?", "drugs": "x"}, None, 422, "drugs: unknown field"),
    ("not JSON", None, b'{"question": ', 422, "not valid JSON"),
    ("not an object", None, b"[1, 2]", 422, "must be a JSON object"),
    ("too big", None, b'{"question": "' + b"x" * 20_000 + b'"}', 413, "the limit is 16,384"),
]


@pytest.mark.parametrize(
    ("body", "raw", "status", "message"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_requests_get_a_4xx_with_one_clear_line(
    api: tuple[str, Path, Path], body: Any, raw: bytes | None, status: int, message: str
) -> None:
    url, _, _ = api
    got, text, headers = call(url, "/ask", body, raw=raw, method="POST")
    assert got == status, text
    assert headers["content-type"] == "application/json"
    error = json.loads(text)["error"]
    assert message in error and "\n" not in error and "Traceback" not in text, error


def test_wrong_routes_methods_and_keys(api: tuple[str, Path, Path]) -> None:
    url, _, log = api
    for path, method, key, status, message in [
        ("/nope", "GET", KEY, 404, "no such endpoint: GET /nope"),
        ("/ask", "GET", KEY, 405, "GET is not allowed on /ask"),
        ("/monographs", "GET", None, 401, "send it in the X-API-Key header"),
        ("/monographs", "GET", "wrong", 401, "missing or wrong API key"),
    ]:
        got, text, _ = call(url, path, key=key, method=method)
        assert got == status and message in json.loads(text)["error"], (path, text)
    got, text, _ = call(url, "/ask", {"question": "dose?"}, key=None)
    assert got == 401, text
    assert "Traceback" not in log.read_text(errors="replace")


def test_concurrent_clients_get_the_same_answers_warm(
    api: tuple[str, Path, Path], expected: dict[tuple[str, str | None], dict[str, Any]]
) -> None:
    url, _, log = api
    # Enough overlapping requests to catch shared state in the engine: before the
    # embedder's tokenizer was locked, about 1 call in 100 at 8 threads failed.
    jobs = [q for q in QUESTIONS for _ in range(20)]

    def one(job: tuple[str, str | None]) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        answer = ask(url, *job)
        return answer, time.perf_counter() - started

    ask(url, *QUESTIONS[0])  # warm
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, jobs))
    for job, (answer, _) in zip(jobs, results, strict=True):
        assert answer == expected[job]
    sequential = sorted(one(job)[1] for job in QUESTIONS * 3)
    median = sequential[len(sequential) // 2]
    print(f"warm /ask over HTTP: median {median * 1000:.0f} ms, max {sequential[-1] * 1000:.0f} ms")
    assert median < 5.0  # milliseconds when idle; generous for a loaded CI machine
    assert "Traceback" not in log.read_text(errors="replace")


def test_cli_asks_the_server_with_its_key(
    api: tuple[str, Path, Path], expected: dict[tuple[str, str | None], dict[str, Any]]
) -> None:
    url, _, _ = api
    question, drug = QUESTIONS[1]
    base = env_without_settings(MONORAG_API_KEY=KEY)
    started = time.perf_counter()
    proc = subprocess.run(
        [str(MONORAG), "ask", "--server", url, "--json", question, "--drug", str(drug)],
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected[(question, drug)]
    assert elapsed < 10.0, "asking a warm server must not load the model"
    readable = subprocess.run(
        [str(MONORAG), "ask", QUESTIONS[0][0]],
        env={**base, "MONORAG_SERVER": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert readable.returncode == 0, readable.stderr
    assert "last modified 22 Sep 2025" in readable.stdout
    streamed = subprocess.run(
        [str(MONORAG), "ask", "--server", url, "--stream", QUESTIONS[0][0]],
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert streamed.returncode == 0, streamed.stderr
    assert expected[QUESTIONS[0]]["answer"] in streamed.stdout
    assert "last modified 22 Sep 2025" in streamed.stdout
    keyless = subprocess.run(
        [str(MONORAG), "ask", "--server", url, question],
        env=env_without_settings(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert keyless.returncode == 2
    assert "refused the question (401)" in keyless.stderr and "X-API-Key" in keyless.stderr
    assert "Traceback" not in keyless.stderr


def test_serve_refuses_other_addresses_without_a_key_before_loading_anything() -> None:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(MONORAG), "serve", "--host", "0.0.0.0"],
        env=env_without_settings(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "refusing to listen on 0.0.0.0 without an API key" in proc.stderr
    assert "MONORAG_API_KEY" in proc.stderr and "Traceback" not in proc.stderr
    assert time.perf_counter() - started < 10.0


def test_loopback_and_bind_rules() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert is_loopback(host), host
        check_bind(host, None)
    for host in ("0.0.0.0", "::", "10.1.2.3", "192.168.0.5", "example.org"):
        assert not is_loopback(host), host
        with pytest.raises(Exception, match="API key"):
            check_bind(host, None)
        check_bind(host, "a-key")
