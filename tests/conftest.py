"""Shared fixtures: every data dir points at tmp_path; the real model and Chroma are used."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import monorag  # noqa: F401  - sets the offline variables before anything else loads
from monorag.embed import Embedder, shared_embedder
from monorag.settings import Settings

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT / "corpus"
SEED = CORPUS / "pomalidomide.md"
SHARED = PROJECT.parent / "shared"
EMA = SHARED / "corpora" / "ema-leaflets"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's MONORAG_* settings or writes to the project's data dir."""
    for name in list(os.environ):
        if name.startswith("MONORAG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MONORAG_DB", str(tmp_path / "default-store"))


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged embedding model, loaded once per test session."""
    return shared_embedder()


def make_settings(store: Path, **overrides: object) -> Settings:
    """Settings whose store is ``store``; ``overrides`` use dotted names (``retrieve.k``)."""
    return Settings.from_env({}, **{"store.path": store, **overrides})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with the store in this test's tmp_path."""
    return make_settings(tmp_path / "store")


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """A store holding the bundled corpus, ingested once per session (read-only for tests)."""
    from monorag.ingest.pipeline import ingest

    settings = make_settings(tmp_path_factory.mktemp("seed") / "store")
    report = ingest([CORPUS], settings, embedder)
    assert report.ok, report.failed
    return settings


@pytest.fixture(scope="session")
def ema_dir() -> Iterator[Path]:
    """The EMA leaflet corpus (shared, read-only)."""
    if not EMA.is_dir():
        pytest.fail(f"{EMA} is missing: the EMA corpus must sit beside the checkout in ../shared")
    yield EMA
