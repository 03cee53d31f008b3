"""Shared fixtures: every data dir points at tmp_path.

Two tiers. The fast fixtures (``fast_settings``, ``hash_embedder``, ``fast_engine``) run
ingest and the engine on the in-memory NumPy index and the hash embedder: no model, no
Chroma, no torch. Every test that uses the real model (the ``embedder`` fixture, or a
fixture built on it such as ``seed_settings``) is marked ``integration`` automatically;
``make test-fast`` leaves those out, ``make test`` and CI run everything.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

import monorag  # noqa: F401  - sets the offline variables before anything else loads
from monorag.embed import Embedder, HashEmbedder, get_embedder, shared_embedder
from monorag.index.memory import forget_under
from monorag.index.store import FileEntry
from monorag.qa.engine import Engine
from monorag.settings import EmbeddingSettings, Settings

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT / "corpus"
SEED = CORPUS / "pomalidomide.md"
SHARED = PROJECT.parent / "shared"
EMA = SHARED / "corpora" / "ema-leaflets"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's MONORAG_* settings or writes to the project's data dir."""
    for name in list(os.environ):
        if name.startswith("MONORAG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MONORAG_DB", str(tmp_path / "default-store"))
    yield
    forget_under(tmp_path)  # in-memory indexes of this test: a session would keep them all


@pytest.fixture(scope="session", autouse=True)
def _hypothesis_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Hypothesis keeps its examples and constants in ./.hypothesis (the checkout) unless
    told otherwise: tests write nothing into the repository."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))


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


# -- the two tiers -----------------------------------------------------------------------

REAL_MODEL = "embedder"
"""The fixture that loads the real embedding model; a test that needs it, directly or
through another fixture, is an integration test."""

FAST_THRESHOLD = 0.43
"""Support threshold for the hash embedder's scores. The calibrated one is fitted to the
real model's (and refused for any other); on the bundled corpus the hash scores were 0.446
and up for its FAQ questions (FAQ held out) and 0.42 and below for eight it cannot answer
(price, maker, storage temperature, off-topic)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that needs the real model ``integration``."""
    for item in items:
        # fixturenames is the closure: fixtures of fixtures count too.
        if REAL_MODEL in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


def make_fast_settings(store: Path, **overrides: object) -> Settings:
    """Settings for the fast tier: the in-memory index at ``store``, the hash embedder."""
    return make_settings(
        store,
        **{
            "store.backend": "memory",
            "embedding.backend": "hash",
            "answer.abstain_below": FAST_THRESHOLD,
            **overrides,
        },
    )


def file_entry(key: str, title: str, aliases: list[str]) -> FileEntry:
    """A store's record of a monograph titled ``title`` with these aliases, for a
    ``DrugIndex`` built without a store."""
    return FileEntry(
        key=key,
        source=f"{key}.md",
        title=title,
        aliases="|".join([title, *aliases]),
        sha256="0" * 64,
        rev="0" * 12,
        chunks=1,
        last_modified="2025-01-01",
        indexed_at=0.0,
    )


OPEN = -10.0
"""A support threshold every answer reaches: abstention off, so every pick is visible."""


def engine_over(
    folder: Path,
    monographs: dict[str, str],
    embedder: HashEmbedder,
    abstain_below: float = OPEN,
) -> Engine:
    """A fast-tier engine over ``monographs`` (file name -> text) written into ``folder``."""
    from monorag.ingest.pipeline import ingest

    for name, text in monographs.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = make_fast_settings(folder / "store", **{"answer.abstain_below": abstain_below})
    report = ingest([folder], settings, embedder)
    assert report.ok, report.failed
    return Engine(settings, embedder)


@pytest.fixture
def fast_settings(tmp_path: Path) -> Settings:
    """Fast-tier settings with the (in-memory) index placed in this test's tmp_path."""
    return make_fast_settings(tmp_path / "store")


@pytest.fixture(scope="session")
def hash_embedder() -> HashEmbedder:
    """The deterministic hash embedder of the fast tier (what ``fast_settings`` choose)."""
    embedder = get_embedder(EmbeddingSettings(backend="hash"))
    assert isinstance(embedder, HashEmbedder)
    return embedder


@pytest.fixture(scope="session")
def fast_seed_settings(
    tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder
) -> Settings:
    """The bundled corpus ingested once per session into memory (read-only for tests)."""
    from monorag.ingest.pipeline import ingest

    settings = make_fast_settings(tmp_path_factory.mktemp("fast-seed") / "store")
    report = ingest([CORPUS], settings, hash_embedder)
    assert report.ok, report.failed
    return settings


@pytest.fixture(scope="session")
def fast_engine(fast_seed_settings: Settings, hash_embedder: HashEmbedder) -> Engine:
    """An engine over the bundled corpus in memory, shared by the session's fast tests."""
    return Engine(fast_seed_settings, hash_embedder)
