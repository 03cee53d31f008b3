"""The client side of ``monorag serve``: what ``monorag ask --server URL`` sends.

Standard library only (``urllib``): asking a warm server must not pay for importing an
HTTP stack, let alone the model.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from monorag.errors import MonoragError

TIMEOUT = 300.0
"""Seconds to wait for an answer: an LLM backend behind a busy server can be slow."""


def ask_server(
    url: str,
    question: str,
    *,
    drug: str | None = None,
    k: int | None = None,
    api_key: str | None = None,
    timeout: float = TIMEOUT,
) -> dict[str, Any]:
    """POST ``question`` to ``url``/ask; the answer's JSON (that of ``ask --json``).

    Raises ``MonoragError`` with the server's own one-line message for a refused request,
    and with what to check when the server cannot be reached.
    """
    request, base = _request(url, question, drug, k, api_key, stream=False)
    with _opened(request, base, timeout) as response:
        return dict(json.loads(response.read().decode("utf-8")))


def stream_server(
    url: str,
    question: str,
    *,
    drug: str | None = None,
    k: int | None = None,
    api_key: str | None = None,
    timeout: float = TIMEOUT,
) -> Iterator[dict[str, Any]]:
    """The server's NDJSON stream: ``{"text": ...}`` objects, then ``{"answer": {...}}``.

    A failure after the answer began arrives as ``{"error": ...}``: it is raised as a
    ``MonoragError`` here.
    """
    request, base = _request(url, question, drug, k, api_key, stream=True)
    with _opened(request, base, timeout) as response:
        for raw in response:
            if not raw.strip():
                continue
            line = dict(json.loads(raw.decode("utf-8")))
            if "error" in line:
                raise MonoragError(f"the server at {base} failed mid-answer: {line['error']}")
            yield line


def _request(
    url: str, question: str, drug: str | None, k: int | None, api_key: str | None, *, stream: bool
) -> tuple[urllib.request.Request, str]:
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise MonoragError(f"--server {url}: expected a URL such as http://127.0.0.1:8765")
    body: dict[str, Any] = {"question": question}
    if drug is not None:
        body["drug"] = drug
    if k is not None:
        body["k"] = k
    if stream:
        body["stream"] = True
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["X-API-Key"] = api_key
    request = urllib.request.Request(
        f"{base}/ask", data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    return request, base


@contextmanager
def _opened(request: urllib.request.Request, base: str, timeout: float) -> Iterator[Any]:
    """The open response, every failure turned into one ``MonoragError`` line."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            yield response
    except urllib.error.HTTPError as exc:
        raise MonoragError(
            f"the server at {base} refused the question ({exc.code}): {_message(exc)}"
        ) from None
    except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MonoragError(
            f"cannot reach the monorag server at {base} ({reason}): is `monorag serve` "
            "running there?"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError):
        raise MonoragError(
            f"the server at {base} did not answer with JSON: is it monorag?"
        ) from None


def _message(exc: urllib.error.HTTPError) -> str:
    """The ``error`` line of a refusal, or the HTTP reason when the body has none."""
    try:
        data = json.loads(exc.read().decode("utf-8"))
        return str(data.get("error") or data.get("detail") or exc.reason)
    except (ValueError, UnicodeDecodeError, AttributeError, OSError):
        return str(exc.reason)
