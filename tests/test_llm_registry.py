"""The LLM backend registry, driven through the real provider clients against local stubs.

Each stub is a stdlib HTTP server on 127.0.0.1 speaking the provider's wire protocol
(OpenAI chat completions JSON + SSE, Ollama /api/chat NDJSON, Anthropic Messages JSON + SSE),
so the real langchain-openai / langchain-ollama / langchain-anthropic clients do the talking.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monorag.errors import BackendError
from monorag.qa import llm
from monorag.qa.generate import LLMAnswerer
from monorag.qa.prompt import NOT_IN_MONOGRAPHS
from monorag.settings import LLMSettings, Settings
from monorag.types import Answer, Chunk, Evidence

PASSAGE = (
    "The recommended starting dose is 4 mg once daily on days 1 to 21 of repeated 28-day "
    "cycles. Tablets should be swallowed whole."
)
GOOD_REPLY = "Take 4 mg once daily on days 1-21 of each 28-day cycle [S1]."


def _evidence() -> list[Evidence]:
    chunk = Chunk(
        id="exampline-0003",
        drug="Exampline",
        aliases=("EXA-1",),
        section="Dosage › Adults",
        kind="section",
        text=PASSAGE,
        source="exampline.md",
        doc="/corpus/exampline.md",
        rev="abc123",
        last_modified="2024-05-01",
        content_hash="h1",
        ordinal=3,
    )
    return [Evidence(chunk=chunk, score=1.0, key="S1")]


def _fallback() -> Answer:
    return Answer(
        question="q",
        text="Extractive: the recommended starting dose is 4 mg [S1].",
        abstained=False,
        citations=[],
        mode="extractive",
    )


# --------------------------------------------------------------------------- stub server


@dataclass
class Received:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Stub:
    """A scripted provider: what it answers, and what it was asked."""

    protocol: str
    reply: str = GOOD_REPLY
    status: int = 200
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def tokens(self) -> list[str]:
        return re.findall(r"\S+\s*", self.reply)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._record({})
        self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        self._record(body)
        stub = self.server.stub
        if stub.delay:
            time.sleep(stub.delay)
        RESPONDERS[stub.protocol](self, stub, body)

    def _record(self, body: dict[str, Any]) -> None:
        self.server.stub.requests.append(
            Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _events(self, content_type: str, lines: Iterator[str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for line in lines:
            self.wfile.write(line.encode())
            self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: Stub

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests) leaves a broken pipe behind: expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _openai(handler: _Handler, stub: Stub, body: dict[str, Any]) -> None:
    if handler.path != "/v1/chat/completions":
        handler._json(404, {"error": {"message": f"no route {handler.path}", "type": "x"}})
        return
    if stub.status != 200:
        error = {"message": f"stub error {stub.status}", "type": "stub", "code": None}
        handler._json(stub.status, {"error": error})
        return
    model = body["model"]
    if not body.get("stream"):
        handler._json(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": stub.reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            },
        )
        return

    def chunk(delta: dict[str, Any], finish: str | None) -> str:
        payload = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(payload)}\n\n"

    def lines() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""}, None)
        for token in stub.tokens():
            yield chunk({"content": token}, None)
        yield chunk({}, "stop")
        yield "data: [DONE]\n\n"

    handler._events("text/event-stream", lines())


def _ollama(handler: _Handler, stub: Stub, body: dict[str, Any]) -> None:
    if handler.path != "/api/chat":
        handler._json(404, {"error": f"no route {handler.path}"})
        return
    if stub.status != 200:
        handler._json(stub.status, {"error": f"model '{body.get('model')}' not found"})
        return
    model = body["model"]

    def part(content: str, done: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": model,
            "created_at": "2024-05-01T00:00:00Z",
            "message": {"role": "assistant", "content": content},
            "done": done,
        }
        if done:
            out.update(done_reason="stop", total_duration=1, prompt_eval_count=10, eval_count=5)
        return out

    if body.get("stream") is False:
        handler._json(200, part(stub.reply, True))
        return
    parts = [part(t, False) for t in stub.tokens()] + [part("", True)]
    handler._events("application/x-ndjson", (json.dumps(p) + "\n" for p in parts))


def _anthropic(handler: _Handler, stub: Stub, body: dict[str, Any]) -> None:
    if handler.path != "/v1/messages":
        handler._json(404, {"type": "error", "error": {"type": "not_found_error", "message": "x"}})
        return
    if stub.status != 200:
        error = {"type": "api_error", "message": f"stub error {stub.status}"}
        handler._json(stub.status, {"type": "error", "error": error})
        return
    model = body["model"]
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": stub.reply}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    if not body.get("stream"):
        handler._json(200, message)
        return

    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

    def lines() -> Iterator[str]:
        start = {**message, "content": [], "stop_reason": None}
        yield event("message_start", {"message": start})
        yield event(
            "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
        )
        for token in stub.tokens():
            yield event(
                "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": token}}
            )
        yield event("content_block_stop", {"index": 0})
        yield event(
            "message_delta",
            {
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        )
        yield event("message_stop", {})

    handler._events("text/event-stream", lines())


RESPONDERS: dict[str, Callable[[_Handler, Stub, dict[str, Any]], None]] = {
    "openai": _openai,
    "ollama": _ollama,
    "anthropic": _anthropic,
}
BASE_PATHS = {"openai": "/v1", "ollama": "", "anthropic": ""}


@pytest.fixture
def stub(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stub]:
    """A stub server for the protocol named by the test's parameter."""
    # A proxy configured in the environment must not intercept requests to the stub.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    state = Stub(protocol=request.param)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.stub = state
    state.url = f"http://127.0.0.1:{server.server_address[1]}{BASE_PATHS[request.param]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _settings(stub: Stub, **extra: Any) -> LLMSettings:
    return LLMSettings(backend=stub.protocol, model="stub-model-1", base_url=stub.url, **extra)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ALL = ["openai", "ollama", "anthropic"]

# --------------------------------------------------------------------------- registry


def test_available_backends_lists_every_builtin() -> None:
    assert set(available := llm.available_backends()) >= {"openai", "ollama", "anthropic", "fake"}
    assert available == sorted(available)
    assert "extractive" not in available


def test_importing_the_registry_loads_no_provider_sdk() -> None:
    code = (
        "import sys, monorag.qa.llm, monorag.qa.generate\n"
        "sdks = ('langchain_openai', 'langchain_ollama', 'langchain_anthropic',"
        " 'openai', 'anthropic', 'ollama')\n"
        "print([m for m in sys.modules if m.split('.')[0] in sdks])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_unknown_backend_says_what_to_set() -> None:
    with pytest.raises(BackendError, match=r"MONORAG_LLM.*openai"):
        llm.get_llm("gpt-magic", LLMSettings(model="m"))


def test_extractive_is_not_an_llm_backend() -> None:
    with pytest.raises(BackendError, match="without an LLM"):
        llm.get_llm("extractive", LLMSettings())


@pytest.mark.parametrize("backend", ALL)
def test_missing_model_name_says_set_monorag_llm_model(backend: str) -> None:
    settings = LLMSettings(backend=backend, base_url="http://127.0.0.1:9", api_key="k")
    with pytest.raises(BackendError, match="MONORAG_LLM_MODEL"):
        llm.get_llm(backend, settings)


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_hosted_backend_without_key_says_set_the_key(backend: str) -> None:
    with pytest.raises(BackendError, match="MONORAG_LLM_API_KEY"):
        llm.get_llm(backend, LLMSettings(backend=backend, model="m"))


@pytest.mark.parametrize(
    ("backend", "module", "package"),
    [
        ("openai", "langchain_openai", "langchain-openai"),
        ("ollama", "langchain_ollama", "langchain-ollama"),
        ("anthropic", "langchain_anthropic", "langchain-anthropic"),
    ],
)
def test_missing_package_names_it(
    backend: str, module: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    settings = LLMSettings(backend=backend, model="m", base_url="http://127.0.0.1:9")
    with pytest.raises(BackendError, match=f"pip install {package}"):
        llm.get_llm(backend, settings)


def test_names_are_case_and_space_insensitive() -> None:
    model = llm.get_llm("  FAKE ", LLMSettings(), responses=["hi"])
    assert model.invoke("x").text == "hi"


def test_register_llm_adds_a_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm, "_FACTORIES", dict(llm._FACTORIES))
    seen: list[LLMSettings] = []

    def factory(settings: LLMSettings, /, **kwargs: Any) -> Any:
        seen.append(settings)
        return llm.get_llm("fake", settings, responses=[kwargs["reply"]])

    llm.register_llm("echo-test", factory)
    assert "echo-test" in llm.available_backends()
    settings = LLMSettings(backend="echo-test", model="m")
    assert llm.get_llm("echo-test", settings, reply="pong").invoke("ping").text == "pong"
    assert seen == [settings]
    with pytest.raises(ValueError, match="invalid backend name"):
        llm.register_llm("extractive", factory)


def test_client_rejecting_settings_becomes_backend_error() -> None:
    settings = LLMSettings(backend="openai", model="m", base_url="http://127.0.0.1:9", api_key="k")
    with pytest.raises(BackendError, match="cannot configure the openai backend"):
        llm.get_llm("openai", settings, n=0)  # ChatOpenAI validates n >= 1


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (LLMSettings(), "extractive (no LLM)"),
        (
            LLMSettings(backend="openai", model="gpt-4o-mini", base_url="http://h:8000/v1"),
            "openai · gpt-4o-mini @ http://h:8000/v1",
        ),
        (
            LLMSettings(backend="openai", model="gpt-4o-mini"),
            "openai · gpt-4o-mini @ https://api.openai.com/v1",
        ),
        (LLMSettings(backend="ollama", model="llama3"), "ollama · llama3 @ http://127.0.0.1:11434"),
        (LLMSettings(backend="anthropic", model="c"), "anthropic · c @ https://api.anthropic.com"),
        (LLMSettings(backend="fake"), "fake · scripted"),
        (LLMSettings(backend="openai"), "openai · (no model set) @ https://api.openai.com/v1"),
    ],
)
def test_describe(settings: LLMSettings, expected: str) -> None:
    assert llm.describe(settings) == expected


def test_describe_never_shows_the_api_key() -> None:
    settings = LLMSettings(backend="openai", model="m", api_key="sk-secret-123")
    assert "sk-secret" not in llm.describe(settings)


def test_settings_from_env_reach_the_client() -> None:
    env = {
        "MONORAG_LLM": "openai",
        "MONORAG_LLM_MODEL": "served-model",
        "MONORAG_LLM_BASE_URL": "http://127.0.0.1:9/v1",
    }
    settings = Settings.from_env(env).llm
    model = llm.get_llm(settings.backend, settings)
    assert model.model_name == "served-model"  # type: ignore[attr-defined]
    assert model.openai_api_base == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    assert model.max_retries == 0  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- real clients


@pytest.mark.parametrize("stub", ALL, indirect=True)
def test_invoke_through_real_client(stub: Stub) -> None:
    answerer = LLMAnswerer.from_settings(_settings(stub))
    answer = answerer.answer("What is the starting dose?", _evidence(), _fallback())

    assert answer.mode == f"llm:{stub.protocol}"
    assert answer.text == GOOD_REPLY
    assert [c.key for c in answer.citations] == ["S1"]
    citation = answer.citations[0]
    assert (citation.drug, citation.section, citation.source) == (
        "Exampline",
        "Dosage › Adults",
        "exampline.md",
    )
    assert citation.quote.startswith("The recommended starting dose is 4 mg")

    posts = [r for r in stub.requests if r.method == "POST"]
    assert len(posts) == 1
    body = posts[0].body
    assert body["model"] == "stub-model-1"
    flat = json.dumps(body, ensure_ascii=False)
    assert '<evidence key=\\"S1\\" source=\\"Exampline › Dosage › Adults\\"' in flat
    assert "What is the starting dose?" in flat
    assert NOT_IN_MONOGRAPHS in flat  # the system rules travelled with the request


@pytest.mark.parametrize("stub", ALL, indirect=True)
def test_stream_through_real_client(stub: Stub) -> None:
    stub.reply = "Take 4 mg once daily [S1]. Swallow the tablets whole [S1]."
    answerer = LLMAnswerer.from_settings(_settings(stub))
    pieces = list(answerer.stream("Dose?", _evidence(), _fallback()))

    assert len(pieces) == 2, pieces
    assert "".join(pieces).strip() == stub.reply
    final = answerer.last_answer
    assert final is not None and final.mode == f"llm:{stub.protocol}"
    assert [s.keys for s in final.statements] == [["S1"], ["S1"]]
    body = next(r.body for r in stub.requests if r.method == "POST")
    assert body.get("stream") is True


@pytest.mark.parametrize("stub", ["openai"], indirect=True)
def test_openai_request_shape(stub: Stub) -> None:
    answerer = LLMAnswerer.from_settings(_settings(stub, temperature=0.0, max_tokens=321))
    answerer.answer("Dose?", _evidence(), _fallback())
    request = stub.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {llm.LOCAL_API_KEY}"
    body = request.body
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "<evidence key=" in body["messages"][1]["content"]
    assert body.get("stream") in (None, False)
    assert body["temperature"] == 0.0
    assert body.get("max_tokens", body.get("max_completion_tokens")) == 321


@pytest.mark.parametrize("stub", ["openai"], indirect=True)
def test_openai_api_key_is_sent(stub: Stub) -> None:
    answerer = LLMAnswerer.from_settings(_settings(stub, api_key="sk-test-42"))
    answerer.answer("Dose?", _evidence(), _fallback())
    assert stub.requests[0].headers["authorization"] == "Bearer sk-test-42"


@pytest.mark.parametrize("stub", ["ollama"], indirect=True)
def test_ollama_request_shape(stub: Stub) -> None:
    answerer = LLMAnswerer.from_settings(_settings(stub, max_tokens=123))
    answerer.answer("Dose?", _evidence(), _fallback())
    body = stub.requests[0].body
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["options"]["num_predict"] == 123
    assert body["options"]["temperature"] == 0.0


@pytest.mark.parametrize("stub", ["anthropic"], indirect=True)
def test_anthropic_request_shape(stub: Stub) -> None:
    answerer = LLMAnswerer.from_settings(_settings(stub, api_key="ak-test", max_tokens=222))
    answerer.answer("Dose?", _evidence(), _fallback())
    request = stub.requests[0]
    # Older SDKs send x-api-key; the installed one sends a bearer token. Either carries it.
    sent = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    assert sent.removeprefix("Bearer ") == "ak-test"
    assert "anthropic-version" in request.headers
    body = request.body
    assert body["max_tokens"] == 222
    assert [m["role"] for m in body["messages"]] == ["user"]
    system = body["system"] if isinstance(body["system"], str) else json.dumps(body["system"])
    assert "ONLY the numbered" in system


@pytest.mark.parametrize("stub", ALL, indirect=True)
def test_guard_fires_through_real_client(stub: Stub) -> None:
    stub.reply = "Take 100 mg once daily [S1]."
    answerer = LLMAnswerer.from_settings(_settings(stub))
    answer = answerer.answer("Dose?", _evidence(), _fallback())
    assert answer.mode == "extractive-fallback"
    assert "100 mg" in answer.note
    assert answer.text == _fallback().text


@pytest.mark.parametrize("stub", ALL, indirect=True)
def test_server_error_falls_back(stub: Stub) -> None:
    stub.status = 500
    answerer = LLMAnswerer.from_settings(_settings(stub))
    answer = answerer.answer("Dose?", _evidence(), _fallback())
    assert answer.mode == "extractive-fallback"
    assert "HTTP 500" in answer.note
    assert len([r for r in stub.requests if r.method == "POST"]) == 1  # no retries


@pytest.mark.parametrize("stub", ["openai", "anthropic"], indirect=True)
def test_rejected_key_raises_backend_error(stub: Stub) -> None:
    stub.status = 401
    answerer = LLMAnswerer.from_settings(_settings(stub))
    with pytest.raises(BackendError, match=r"HTTP 401.*MONORAG_LLM_API_KEY"):
        answerer.answer("Dose?", _evidence(), _fallback())


@pytest.mark.parametrize("stub", ["ollama"], indirect=True)
def test_unknown_ollama_model_raises_backend_error(stub: Stub) -> None:
    stub.status = 404
    answerer = LLMAnswerer.from_settings(_settings(stub))
    with pytest.raises(BackendError, match=r"HTTP 404.*MONORAG_LLM_MODEL"):
        answerer.answer("Dose?", _evidence(), _fallback())


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("streaming", [False, True])
def test_unreachable_server_fails_fast(backend: str, streaming: bool) -> None:
    url = f"http://127.0.0.1:{_free_port()}" + BASE_PATHS[backend]
    settings = LLMSettings(backend=backend, model="m", base_url=url, api_key="k")
    answerer = LLMAnswerer.from_settings(settings)
    started = time.perf_counter()
    with pytest.raises(BackendError, match="unreachable") as caught:
        if streaming:
            list(answerer.stream("Dose?", _evidence(), _fallback()))
        else:
            answerer.answer("Dose?", _evidence(), _fallback())
    assert time.perf_counter() - started < 5
    assert url in str(caught.value)
    assert backend in str(caught.value)


@pytest.mark.parametrize("stub", ["openai", "ollama"], indirect=True)
def test_timeout_raises_backend_error(stub: Stub) -> None:
    stub.delay = 1.5
    answerer = LLMAnswerer.from_settings(_settings(stub, timeout=0.3))
    started = time.perf_counter()
    with pytest.raises(BackendError, match="did not answer in time") as caught:
        answerer.answer("Dose?", _evidence(), _fallback())
    assert stub.url in str(caught.value)
    assert time.perf_counter() - started < 1.4
