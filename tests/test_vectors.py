"""Vectors read by id instead of searched: unit and chunk vectors, exact dense search within
named monographs, token-length batching and truncation of the embedder, grouped commits."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import monorag.ingest.pipeline as pipeline
from monorag.embed import Embedder
from monorag.errors import CalibrationError
from monorag.index.store import Store, current_chunks
from monorag.ingest.pipeline import Progress, ingest
from monorag.qa.engine import Engine
from monorag.settings import Settings
from monorag.text import unit_spans
from tests.conftest import CORPUS, make_settings
from tests.test_ingest import assert_consistent


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory, ema_dir: Path) -> Path:
    """The bundled monograph and four EMA leaflets."""
    target = tmp_path_factory.mktemp("small") / "corpus"
    shutil.copytree(CORPUS, target)
    leaflets = sorted(p for p in ema_dir.glob("*.md") if p.name != "NOTICE.md")
    for leaflet in leaflets[100:500:100]:
        shutil.copy(leaflet, target / leaflet.name)
    return target


@pytest.fixture(scope="module")
def small_settings(
    tmp_path_factory: pytest.TempPathFactory, small_corpus: Path, embedder: Embedder
) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("small-store") / "store")
    assert ingest([small_corpus], settings, embedder).ok
    return settings


def test_unit_vectors_are_the_units_of_each_chunk(
    small_settings: Settings, embedder: Embedder
) -> None:
    store = Store.open(small_settings.store)
    chunks = current_chunks(store)[::7]
    got = store.unit_vectors({c.id: len(unit_spans(c.text)) for c in chunks})
    assert set(got) == {c.id for c in chunks if unit_spans(c.text)}
    for chunk in chunks[:6]:
        rows = got[chunk.id]
        assert rows.shape == (len(unit_spans(chunk.text)), embedder.dimension)
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)
        # The same vectors as the chunk's forward pass gives them now.
        spans = [
            (s + len(chunk.name) + 1, e + len(chunk.name) + 1) for s, e in unit_spans(chunk.text)
        ]
        _, fresh = embedder.embed_with_units([chunk.embed_text], [spans])
        assert (fresh[0] * rows).sum(axis=1).min() > 0.99


def test_vectors_of_chunks_that_are_gone_are_left_out(small_settings: Settings) -> None:
    import dataclasses

    store = Store.open(small_settings.store)
    real = current_chunks(store)[0]
    gone = dataclasses.replace(real, id=real.id + "x")
    assert store.unit_vectors({}) == {} and store.chunk_vectors([]) == {}
    counts = {c.id: len(unit_spans(c.text)) for c in (real, gone)}
    assert set(store.unit_vectors(counts)) == {real.id}
    vectors = store.chunk_vectors([real.id, gone.id])
    assert set(vectors) == {real.id} and vectors[real.id].shape == (384,)


def test_dense_search_within_named_monographs_is_exact(
    small_settings: Settings, embedder: Embedder
) -> None:
    engine = Engine(small_settings, embedder)
    store = Store.open(small_settings.store)
    docs = sorted(store.files())
    question = embedder.embed_one("What are the side effects and how should it be stored?")
    for named in (docs[:1], docs[1:3]):
        got = engine.retriever._dense(question, named, (), 8)
        records = store.chunks.get(where={"doc": {"$in": named}}, include=["embeddings"])
        sims = np.asarray(records["embeddings"]) @ question
        best = [records["ids"][j] for j in np.argsort(-sims, kind="stable")[:8]]
        assert [c.id for c, _ in got] == best
        assert all(c.doc in named for c, _ in got)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)


def test_embed_keeps_the_order_of_texts_of_any_length(embedder: Embedder) -> None:
    texts = ["short", "a " * 300 + "long one", "What dose of pomalidomide in renal impairment?", ""]
    together = embedder.embed(texts)
    alone = np.vstack([embedder.embed([t]) for t in texts])
    assert (together * alone).sum(axis=1).min() > 0.999
    assert embedder.embed([]).shape == (0, embedder.dimension)


def test_embed_max_tokens_embeds_the_first_word_pieces(embedder: Embedder) -> None:
    long = "Pomalidomide is given with dexamethasone. " * 20
    short = "Take with water."
    enc = embedder.model.tokenizer(long, add_special_tokens=False, return_offsets_mapping=True)
    prefix = long[: enc["offset_mapping"][13][1]]  # 14 word pieces + [CLS] + [SEP] = 16
    cut, kept = embedder.embed([long, short], max_tokens=16)
    assert float(np.dot(cut, embedder.embed_one(prefix))) > 0.999
    assert float(np.dot(cut, embedder.embed_one(long))) < 0.999
    assert float(np.dot(kept, embedder.embed_one(short))) > 0.999


def test_ingest_in_many_groups_commits_every_file(
    tmp_path: Path, small_corpus: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "GROUP_CHUNKS", 8)
    settings = make_settings(tmp_path / "store")
    events: list[Progress] = []
    report = ingest([small_corpus], settings, embedder, progress=events.append)
    files = sorted(small_corpus.glob("*.md"))
    assert report.ok and sorted(report.indexed) == sorted(str(f.resolve()) for f in files)
    embeds = [e for e in events if e.stage == "embed"]
    assert embeds[-1].done == embeds[-1].total == len(files)
    assert report.chunks_added == report.chunks_total > 8
    assert embeds[-1].detail == f"{report.chunks_added:,} chunks"
    # Files are parsed as their group comes: each group's event follows its own parse.
    assert len({e.done for e in embeds}) > 2
    assert_consistent(settings, files)


def test_a_failing_store_write_stops_the_ingest_and_the_next_one_repairs(
    tmp_path: Path, small_corpus: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "GROUP_CHUNKS", 8)
    settings = make_settings(tmp_path / "store")
    real = Store.commit_files
    committed: list[str] = []

    def flaky(self: Store, files: list, *args: object, **kwargs: object) -> int:
        if len(committed) >= 2:
            raise OSError("disk full")
        removed = real(self, files, *args, **kwargs)
        committed.extend(entry.key for entry, *_ in files)
        return removed

    monkeypatch.setattr(Store, "commit_files", flaky)
    with pytest.raises(OSError, match="disk full"):
        ingest([small_corpus], settings, embedder)
    monkeypatch.setattr(Store, "commit_files", real)
    # The groups written before the failure, and nothing after it.
    assert sorted(Store.open(settings.store).files()) == sorted(committed)
    assert 2 <= len(committed) < len(list(small_corpus.glob("*.md")))
    assert ingest([small_corpus], settings, embedder).ok
    assert_consistent(settings, sorted(small_corpus.glob("*.md")))


def test_rerank_setting(small_settings: Settings, embedder: Embedder) -> None:
    assert Settings.from_env({"MONORAG_RERANK": "0"}).answer.rerank == 0
    assert Settings().answer.rerank == 3
    question = "What is the starting dose of Pomalyst?"
    skipped = small_settings.model_copy(deep=True)
    skipped.answer.rerank = 0
    # The calibrated threshold was fitted for the re-ranked scores: without the re-rank it
    # does not apply, and the engine says so rather than refusing or answering at random.
    with pytest.raises(CalibrationError, match="fitted for other scores"):
        Engine(skipped, embedder)
    for rerank in (0, 3):
        settings = small_settings.model_copy(deep=True)
        settings.answer.rerank = rerank
        if rerank == 0:
            settings.answer.abstain_below = 0.3
        answer = Engine(settings, embedder).ask(question)
        assert not answer.abstained and answer.citations
        passages = {c.key: " ".join(c.text.split()) for c in answer.citations}
        for statement in answer.statements:
            assert " ".join(statement.text.split()) in passages[statement.keys[0]]
