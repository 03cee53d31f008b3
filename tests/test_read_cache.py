"""The reader's per-revision cache (BM25, memory-mapped chunk and unit vectors), issue 15.

Fast tier (in-memory index, hash embedder) for the mechanics; one integration test on the
real Chroma store. What must hold: the cache is derived from the index and rebuilt from it
when missing or damaged; an engine snapshot reads one revision only, even while an ingest
replaces the cache under it; ingest parses and commits group by group.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import monorag.ingest.pipeline as pipeline
from monorag.embed import Embedder, HashEmbedder
from monorag.index import cache, open_index
from monorag.index.store import Store, current_chunks, lexical_dir
from monorag.index.vectors import VectorFile, VectorWriter, decode_units, encode_units
from monorag.ingest.pipeline import ingest
from monorag.qa.engine import Engine
from monorag.settings import Settings

DRUG = """---
title: {name}
lastModified: '2025-03-01'
---
## Dosage

### Adults

The recommended dose of {name} is {dose} mg orally once daily with food.

### Renal Impairment

Reduce the {name} dose to {low} mg once daily when creatinine clearance is below 30 mL/min.

## Storage

Keep {name} tablets below 25 °C.
"""


def write(folder: Path, name: str, dose: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name.lower()}.md"
    path.write_text(DRUG.format(name=name, dose=dose, low=dose // 2), encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for i, name in enumerate(("Zentramide", "Quellatrin", "Borvastin", "Ferolimab")):
        write(folder, name, 10 * (i + 1))
    return folder


def test_unit_vectors_round_trip_through_one_metadata_field() -> None:
    rows = np.random.default_rng(0).standard_normal((5, 384)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    text = encode_units(rows)
    assert isinstance(text, str) and text.startswith("384:")
    back = decode_units(text)
    assert back.dtype == np.float16 and back.shape == (5, 384)
    assert np.abs(back.astype(np.float32) - rows).max() < 1e-3
    assert decode_units(encode_units(np.zeros((0, 384)))).shape[0] == 0
    assert decode_units("").shape[0] == 0


def test_vector_file_maps_rows_by_id_and_refuses_a_damaged_file(tmp_path: Path) -> None:
    out = VectorWriter(tmp_path, "v", "float16")
    out.add("a", np.ones((3, 4)))
    out.add("empty", np.zeros((0, 4)))
    out.add("b", np.full(4, 2.0))
    out.close()
    got = VectorFile.open(tmp_path, "v")
    assert len(got) == 3 and got.rows_total == 4 and "a" in got and "zzz" not in got
    assert got.rows("a").shape == (3, 4) and got.rows("a").dtype == np.float32
    assert got.first({"a": 2, "b": 1, "empty": 1, "zzz": 1}).keys() == {"a", "b"}
    assert got.first({"a": 4}) == {}, "fewer rows than asked for: left out"
    assert np.all(got.single(["b", "empty"])["b"] == 2.0)
    with (tmp_path / "v.vec").open("ab") as f:
        f.write(b"\0\0")
    with pytest.raises(ValueError, match="wrong size"):
        VectorFile.open(tmp_path, "v")


def test_ingest_leaves_the_cache_and_the_engine_reads_its_vectors(
    corpus: Path, fast_settings: Settings, hash_embedder: HashEmbedder
) -> None:
    assert ingest([corpus], fast_settings, hash_embedder).ok
    index = open_index(fast_settings.store)
    saved = cache.load(lexical_dir(fast_settings.store), index.revision())
    assert saved is not None
    durable = {c.id: (v, u) for c, v, u in index.iter_chunk_vectors()}
    assert sorted(c.id for c in saved.lexical.chunks) == sorted(durable)
    for cid, (vector, units) in durable.items():
        assert np.allclose(saved.chunk_vectors.rows(cid)[0], vector, atol=1e-6)
        assert np.allclose(saved.unit_vectors.rows(cid), units, atol=1e-3)
    engine = Engine(fast_settings, hash_embedder)
    answer = engine.ask("Quellatrin dose in renal impairment?")
    assert not answer.abstained and "10 mg" in answer.text


@pytest.mark.parametrize("damage", ["delete-units", "delete-folder", "truncate", "stale-stamp"])
def test_a_missing_or_damaged_cache_is_rebuilt_on_the_next_start(
    corpus: Path, fast_settings: Settings, hash_embedder: HashEmbedder, damage: str
) -> None:
    assert ingest([corpus], fast_settings, hash_embedder).ok
    folder = lexical_dir(fast_settings.store)
    question = "Borvastin dose in renal impairment?"
    before = Engine(fast_settings, hash_embedder).ask(question)
    revision = open_index(fast_settings.store).revision()
    if damage == "delete-units":
        (folder / "unit-vectors.vec").unlink()
    elif damage == "delete-folder":
        shutil.rmtree(folder)
    elif damage == "truncate":
        with (folder / "chunk-vectors.vec").open("r+b") as f:
            f.truncate(100)
    else:
        (folder / "REVISION").write_text(cache.stamp("another-revision"), encoding="utf-8")
    assert cache.load(folder, revision) is None

    after = Engine(fast_settings, hash_embedder).ask(question)
    assert cache.load(folder, revision) is not None, "the start rebuilt and saved it"
    assert after.text == before.text and not after.abstained
    assert "15 mg" in after.text


def test_an_engine_snapshot_never_mixes_two_revisions(
    corpus: Path, fast_settings: Settings, hash_embedder: HashEmbedder
) -> None:
    assert ingest([corpus], fast_settings, hash_embedder).ok
    engine = Engine(fast_settings, hash_embedder)
    old = engine._state
    old_ids = {c.id for c in old.lexical.chunks}
    question = "Zentramide dose for adults?"
    assert "10 mg" in engine.ask(question).text

    # An ingest changes one file and replaces the cache folder under the running engine.
    write(corpus, "Zentramide", 70)
    assert ingest([corpus], fast_settings, hash_embedder).indexed
    index = open_index(fast_settings.store)
    assert index.revision() != old.revision
    new = cache.load(lexical_dir(fast_settings.store), index.revision())
    assert new is not None and {c.id for c in new.lexical.chunks} != old_ids

    # The old snapshot still reads its own revision's vectors: every chunk it holds has its
    # rows, from the files it mapped (now unlinked), and none of the new revision's.
    for chunk in old.lexical.chunks:
        assert chunk.id in old.extractive.unit_vectors and chunk.id in old.retriever.vectors
    assert not any(
        c.id in old.extractive.unit_vectors for c in new.lexical.chunks if c.id not in old_ids
    )
    # A refresh swaps the whole snapshot: lexical, vectors and files of the new revision.
    assert engine.refresh(every=0.0)
    fresh = engine._state
    assert fresh.revision == index.revision()
    assert {c.id for c in fresh.lexical.chunks} == {c.id for c in current_chunks(index)}
    assert all(c.id in fresh.extractive.unit_vectors for c in fresh.lexical.chunks)
    assert "70 mg" in engine.ask(question).text


def test_ingest_parses_and_commits_group_by_group(
    tmp_path: Path, fast_settings: Settings, hash_embedder: HashEmbedder, monkeypatch
) -> None:
    folder = tmp_path / "many"
    for i in range(12):
        write(folder, f"Drugamide{i:02d}", 10 + i)
    events: list[str] = []
    real_parse = pipeline.parse_file
    monkeypatch.setattr(
        pipeline, "parse_file", lambda p, *a: events.append("parse") or real_parse(p, *a)
    )
    index = open_index(fast_settings.store, create=True)
    real_commit = type(index).commit_files

    def commit(self, files, *args, **kwargs):  # type: ignore[no-untyped-def]
        events.append(f"commit:{len(files)}")
        return real_commit(self, files, *args, **kwargs)

    monkeypatch.setattr(type(index), "commit_files", commit)
    monkeypatch.setattr(pipeline, "GROUP_CHUNKS", 8)  # about two files per group
    report = ingest([folder], fast_settings, hash_embedder)
    assert report.ok and len(report.indexed) == 12
    commits = [e for e in events if e.startswith("commit")]
    assert len(commits) >= 4 and sum(int(e.split(":")[1]) for e in commits) == 12
    # Files of later groups are parsed only after earlier groups were committed: the
    # ingest never holds the whole corpus.
    first_commit = events.index(commits[0])
    assert events[:first_commit].count("parse") < 12
    assert events[-1].startswith("commit")


@pytest.mark.integration
def test_the_chroma_store_keeps_no_unit_collection_and_rebuilds_its_cache(
    tmp_path: Path, corpus: Path, embedder: Embedder, settings: Settings
) -> None:
    assert ingest([corpus], settings, embedder).ok
    store = Store.open(settings.store)
    names = {c if isinstance(c, str) else c.name for c in store.client.list_collections()}
    assert not any(n.endswith("-units") for n in names), names
    folder = lexical_dir(settings.store)
    before = Engine(settings, embedder).ask("Ferolimab dose in renal impairment?")
    assert "20 mg" in before.text
    (folder / "unit-vectors.vec").unlink()
    (folder / "chunk-vectors.json").unlink()
    after = Engine(settings, embedder).ask("Ferolimab dose in renal impairment?")
    assert after.text == before.text
    saved = cache.load(folder, store.revision())
    assert saved is not None
    got = store.unit_vectors(
        {c.id: len(saved.unit_vectors.rows(c.id)) for c in saved.lexical.chunks}
    )
    for cid, rows in got.items():
        assert np.allclose(saved.unit_vectors.rows(cid), rows, atol=1e-6)


def test_a_reingest_reads_back_only_the_files_it_wrote(
    corpus: Path, fast_settings: Settings, hash_embedder: HashEmbedder, monkeypatch
) -> None:
    assert ingest([corpus], fast_settings, hash_embedder).ok
    index = open_index(fast_settings.store)
    asked: list[object] = []
    real = type(index).iter_chunk_vectors

    def spy(self, where=None):  # type: ignore[no-untyped-def]
        asked.append(where)
        return real(self, where)

    monkeypatch.setattr(type(index), "iter_chunk_vectors", spy)
    changed = write(corpus, "Quellatrin", 90)
    assert ingest([corpus], fast_settings, hash_embedder).indexed == [str(changed.resolve())]
    assert asked == [{"doc": {"$in": [str(changed.resolve())]}}]
    reused = cache.load(lexical_dir(fast_settings.store), index.revision())
    assert reused is not None

    # The same cache as one built from the index alone.
    full = cache.build(index, tmp_folder := fast_settings.store.path / "full", index.revision())
    assert [c.id for c in reused.lexical.chunks] == [c.id for c in full.lexical.chunks]
    for c in full.lexical.chunks:
        assert np.array_equal(reused.unit_vectors.rows(c.id), full.unit_vectors.rows(c.id))
        assert np.array_equal(reused.chunk_vectors.rows(c.id), full.chunk_vectors.rows(c.id))
    assert tmp_folder.exists()
    assert (
        "45 mg"
        in Engine(fast_settings, hash_embedder).ask("Quellatrin dose in renal impairment?").text
    )
