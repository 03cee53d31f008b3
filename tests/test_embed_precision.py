"""bfloat16 embedding (an ingest speed-up) gives the float32 vectors to within rounding."""

from __future__ import annotations

import numpy as np
import pytest

from monorag.embed import cpu_has_native_bf16, resolve_precision, shared_embedder
from monorag.settings import EmbeddingSettings, Settings

TEXTS = [
    "Pomalidomide › Dosage\nThe recommended starting dose is 4 mg once daily on days 1-21.",
    "Side effects\nVery common: neutropenia, anaemia, fatigue.",
    "How to store\nDo not store above 25 °C. Keep out of the sight and reach of children.",
    "Q: Can it be used in pregnancy?\nA: No. It is contraindicated in pregnancy.",
]


def test_precision_setting_reads_its_environment_variable() -> None:
    settings = Settings.from_env({"MONORAG_EMBED_PRECISION": "bfloat16"})
    assert settings.embedding.precision == "bfloat16"
    assert Settings().embedding.precision == "auto"


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        ("flags\t: fpu avx2 avx512f avx512_bf16 amx_tile", True),
        ("flags\t: fpu avx2 amx_bf16", True),
        ("flags\t: fpu avx2 avx512f", False),
        ("", False),
    ],
)
def test_auto_precision_follows_the_cpu(flags: str, native: bool) -> None:
    assert cpu_has_native_bf16(flags) is native
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("bfloat16") == "bfloat16"


@pytest.mark.integration
def test_bfloat16_vectors_agree_with_float32() -> None:
    embedder = shared_embedder(EmbeddingSettings(precision="float32"))
    fast = shared_embedder(EmbeddingSettings(precision="bfloat16"))
    assert fast is not embedder
    exact = embedder.embed(TEXTS)
    rough = fast.embed(TEXTS)
    assert rough.dtype == np.float32 and rough.shape == exact.shape
    assert np.allclose(np.linalg.norm(rough, axis=1), 1.0, atol=1e-4)
    cosines = (exact * rough).sum(axis=1)
    assert cosines.min() > 0.999
    assert not np.array_equal(exact, rough)  # the setting did change the arithmetic

    spans = [[(0, 10), (11, len(t))] for t in TEXTS]
    vectors, units = fast.embed_with_units(TEXTS, spans)
    exact_vectors, exact_units = embedder.embed_with_units(TEXTS, spans)
    assert (vectors * exact_vectors).sum(axis=1).min() > 0.999
    for got, want in zip(units, exact_units, strict=True):
        assert got.shape == want.shape == (2, exact.shape[1])
        assert (got * want).sum(axis=1).min() > 0.999
