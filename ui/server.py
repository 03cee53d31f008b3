"""``monorag serve``: a small HTTP JSON API over one engine, for scripts and other systems.

- ``POST /ask`` takes ``{"question": ..., "drug": ..., "k": ..., "llm": ..., "stream": ...}``
  and returns exactly what ``monorag ask --json`` prints; with ``"stream": true`` the answer
  comes as NDJSON: ``{"text": ...}`` lines as it is written, then ``{"answer": {...}}``.
- ``GET /monographs`` lists the index, ``GET /health`` says whether it can answer, and
  ``/docs`` (``/openapi.json``) describes all of it.

The engine (embedding model, BM25 index, drug names) is built once, before the port is
bound, so a bad store or setting fails the command instead of the first request, and
warm answers cost milliseconds. It binds 127.0.0.1 unless told otherwise, and will not
bind any other address without an API key (``MONORAG_API_KEY``); with a key set, every
call but ``/health`` and the docs must send it in the ``X-API-Key`` header. Bodies are
bounded (``MAX_BODY_BYTES``, questions ``MAX_QUESTION_CHARS``); a bad request gets a 4xx
with a one-line ``error``, never a traceback (those go to the server's log only).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException

import monorag
from monorag.errors import (
    BackendError,
    EmptyQuestionError,
    MonoragError,
    StoreNotFoundError,
    StoreUnavailableError,
)
from monorag.qa.engine import MAX_DRUG_CHARS, MAX_QUESTION_CHARS

if TYPE_CHECKING:
    from monorag.qa.engine import Engine

log = logging.getLogger("monorag.server")

MAX_BODY_BYTES = 16_384
"""A question and its options fit in far less; anything bigger is refused unread."""
API_KEY_HEADER = "X-API-Key"
API_KEY_ENV = "MONORAG_API_KEY"

_KEY_HEADER = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
# Module-level: FastAPI resolves a dependency's (string) annotations in the module's globals.

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (only this machine can connect)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond this machine without an API key.

    The answers quote clinical monographs; on a shared network an open port would serve
    them, and burn the CPU, for anyone.
    """
    if not is_loopback(host) and not api_key:
        raise MonoragError(
            f"refusing to listen on {host} without an API key: set {API_KEY_ENV} "
            f"(clients then send it in the {API_KEY_HEADER} header), or keep the default "
            "--host 127.0.0.1"
        )


class AskRequest(BaseModel):
    """A question, as ``monorag ask`` takes it."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        ...,
        max_length=MAX_QUESTION_CHARS,
        description=f"The clinician's question (at most {MAX_QUESTION_CHARS} characters).",
        examples=["Pomalyst dose for a dialysis patient?"],
    )
    drug: str | None = Field(
        None,
        max_length=MAX_DRUG_CHARS,
        description="Answer only from this drug's monograph (title, INN or brand name).",
    )
    k: int | None = Field(None, ge=1, le=50, description="Passages handed to the answerer.")
    llm: bool | None = Field(
        None,
        description="false: extractive even when the server has an LLM backend; "
        "null: the server's setting.",
    )
    stream: bool = Field(
        False,
        description='Answer as NDJSON: {"text": ...} lines as it is written, '
        'then {"answer": {...}}.',
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(str(EmptyQuestionError()))
        return value


class CitationOut(BaseModel):
    """One cited monograph section."""

    key: str = Field(examples=["S1"])
    drug: str = Field(examples=["Pomalidomide"])
    section: str = Field(examples=["Dosage › Standard Dosage › Special Cases"])
    source: str = Field(examples=["pomalidomide.md"])
    last_modified: str = Field(examples=["2025-09-22T17:21:53.946Z"])


class AnswerOut(BaseModel):
    """The answer: the JSON object of ``monorag ask --json`` (documentation only)."""

    question: str
    answer: str
    abstained: bool
    citations: list[CitationOut]
    mode: str = Field(description="extractive, llm:<backend> or extractive-fallback")
    drugs: list[str]
    note: str


class MonographOut(BaseModel):
    """One monograph in the index."""

    title: str
    aliases: list[str]
    source: str
    last_modified: str
    chunks: int


class MonographsOut(BaseModel):
    """The index's contents."""

    count: int
    monographs: list[MonographOut]


class HealthOut(BaseModel):
    """Whether the server can answer."""

    status: str = Field(examples=["ok"])
    monographs: int
    version: str


class ErrorOut(BaseModel):
    """Every 4xx and 5xx body."""

    error: str = Field(examples=["question: the question is empty: type a question about a drug"])


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _status_of(exc: MonoragError) -> int:
    """The HTTP status of a library error: whose fault it is, the client's or ours."""
    if isinstance(exc, EmptyQuestionError):
        return 422
    if isinstance(exc, BackendError):
        return 502  # the LLM server behind us failed
    if isinstance(exc, StoreUnavailableError | StoreNotFoundError):
        return 503
    return 400


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes before any of them is read.

    A body must say its length (``Content-Length``; none means no body): a chunked upload
    could not be refused before it had been read, and no client of this API needs one.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            problem = None
            if length is None and b"transfer-encoding" in headers:
                problem = (411, "send the body with a Content-Length header, not chunked")
            elif length is not None and not length.isdigit():
                problem = (400, "the Content-Length header is not a number")
            elif length is not None and int(length) > self.limit:
                problem = (
                    413,
                    f"the request body is {int(length):,} bytes; the limit is {self.limit:,}",
                )
            if problem is not None:
                await _error(*problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        if error.get("type") == "json_invalid":
            return "the request body is not valid JSON"
        if error.get("type") == "missing" and not loc:
            return 'send a JSON body such as {"question": "..."}'
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "required"
        elif error.get("type") == "extra_forbidden":
            message = "unknown field (fields: question, drug, k, llm, stream)"
        elif error.get("type") in ("model_attributes_type", "dict_type"):
            return 'the body must be a JSON object such as {"question": "..."}'
        parts.append(f"{'.'.join(loc) or 'body'}: {message}")
    return "; ".join(parts) or "invalid request"


def create_app(engine: Engine, api_key: str | None = None) -> FastAPI:
    """The API over ``engine`` (already loaded); with ``api_key``, calls must send it."""
    api = FastAPI(
        title="monorag",
        version=monorag.__version__,
        summary="Answers clinicians' questions from drug monographs, with citations.",
        description="Every answer is quoted from the monographs in the index and cites the "
        "sections it comes from, or says plainly that they do not cover the question.",
    )

    def authorised(key: Annotated[str | None, Depends(_KEY_HEADER)]) -> None:
        if api_key and not (key and hmac.compare_digest(key.encode(), api_key.encode())):
            raise HTTPException(
                401, f"missing or wrong API key: send it in the {API_KEY_HEADER} header"
            )

    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut, "description": text}
        for code, text in (
            (401, "Missing or wrong API key"),
            (413, "Body too large"),
            (422, "Invalid request"),
            (503, "The index cannot be read"),
        )
    }

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @api.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404:
            message = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path} (see /docs)"
        return _error(exc.status_code, message, getattr(exc, "headers", None))

    @api.exception_handler(MonoragError)
    async def _library(_request: Request, exc: MonoragError) -> JSONResponse:
        return _error(_status_of(exc), str(exc))

    @api.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The client gets one line; the traceback goes to the server's log.
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(
            500, f"internal error ({type(exc).__name__}); the details are in the server log"
        )

    @api.get("/health", response_model=HealthOut, responses={503: errors[503]})
    def health() -> dict[str, Any]:
        """Whether the index can be read, and how many monographs it holds."""
        engine.refresh()
        return {
            "status": "ok",
            "monographs": len(engine.monographs()),
            "version": monorag.__version__,
        }

    @api.get(
        "/monographs",
        response_model=MonographsOut,
        dependencies=[Depends(authorised)],
        responses={401: errors[401]},
    )
    def monographs() -> dict[str, Any]:
        """Every monograph in the index, by title."""
        engine.refresh()
        found = engine.monographs()
        return {
            "count": len(found),
            "monographs": [
                {
                    "title": m.title,
                    "aliases": list(m.aliases),
                    "source": m.source,
                    "last_modified": m.last_modified,
                    "chunks": m.chunks,
                }
                for m in found
            ],
        }

    @api.post(
        "/ask",
        dependencies=[Depends(authorised)],
        responses={
            200: {
                "model": AnswerOut,
                "description": "The answer (application/json), or with stream=true NDJSON "
                "lines (application/x-ndjson)",
            },
            **{code: errors[code] for code in (401, 413, 422, 503)},
        },
    )
    def ask(body: AskRequest) -> Any:
        """Answer a question from the monographs: the JSON of ``monorag ask --json``."""
        if body.stream:
            stream = engine.stream(body.question, drug=body.drug, k=body.k, llm=body.llm)
            return StreamingResponse(_ndjson(stream), media_type="application/x-ndjson")
        answer = engine.ask(body.question, drug=body.drug, k=body.k, llm=body.llm)
        return JSONResponse(answer.to_json())

    return api


def _ndjson(stream: Any) -> Iterator[bytes]:
    """One JSON object per line: the text pieces, then the final answer (or an error)."""
    try:
        for piece in stream:
            if piece:
                yield _line({"text": piece})
        yield _line({"answer": stream.answer.to_json()})
    except MonoragError as exc:
        # The status line has gone out already: the failure is the stream's last line.
        yield _line({"error": str(exc)})
    except Exception as exc:
        log.error("streaming an answer failed", exc_info=exc)
        yield _line({"error": f"internal error ({type(exc).__name__}); see the server log"})


def _line(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False) + "\n").encode()


def serve(
    engine: Engine,
    host: str,
    port: int,
    api_key: str | None,
    *,
    log_level: str = "info",
) -> None:
    """Listen on ``host:port`` until stopped (SIGINT or SIGTERM)."""
    import uvicorn

    check_bind(host, api_key)
    app = BodyLimit(create_app(engine, api_key), MAX_BODY_BYTES)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        # Beyond this many open connections a client gets 503 at once rather than queueing
        # behind two CPU cores.
        limit_concurrency=64,
        timeout_keep_alive=5,
        server_header=False,
    )
