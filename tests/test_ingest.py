"""Incremental ingest into a real Chroma store with the real model (issue 2)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import monorag.ingest.chunk as chunk_module
import monorag.ingest.pipeline as pipeline
from monorag.embed import Embedder
from monorag.errors import EmbeddingModelMismatchError
from monorag.index import cache
from monorag.index.store import Store, current_chunks, lexical_dir
from monorag.index.vectors import UNITS_FIELD, decode_units
from monorag.ingest.chunk import chunk_monograph
from monorag.ingest.parse import parse_file
from monorag.ingest.pipeline import IngestReport, Progress, ingest
from monorag.settings import Settings
from monorag.text import unit_spans

SEED = Path(__file__).resolve().parent.parent / "corpus" / "pomalidomide.md"


class Calls:
    """Counts model calls (``Embedder._forward``: every embedding goes through it)."""

    def __init__(self) -> None:
        self.encode = 0
        self.texts = 0


@pytest.fixture
def calls(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    counter = Calls()
    real = embedder._forward

    def counting(batch):  # type: ignore[no-untyped-def]
        counter.encode += 1
        counter.texts += len(batch)
        return real(batch)

    monkeypatch.setattr(embedder, "_forward", counting)
    yield counter


def renamed(embedder: Embedder, name: str) -> Embedder:
    """The same weights under another identity: what a model switch looks like to a store."""

    class Renamed(Embedder):
        @property
        def name(self) -> str:
            return name

    other = copy.copy(embedder)
    other.__class__ = Renamed
    return other


def store_records(settings: Settings) -> list[tuple[str, dict]]:
    store = Store.open(settings.store)
    got = store.chunks.get(include=["metadatas"])
    # A record's metadata is the chunk's, plus its unit vectors (checked by assert_consistent).
    return [
        (id_, {k: v for k, v in meta.items() if k != UNITS_FIELD})
        for id_, meta in zip(got["ids"], got["metadatas"], strict=True)
    ]


def add_copy(folder: Path, name: str, title: str) -> Path:
    """A copy of the seed under another file name and title (a second monograph)."""
    text = SEED.read_text(encoding="utf-8").replace("title: Pomalidomide", f"title: {title}", 1)
    target = folder / name
    target.write_text(text, encoding="utf-8")
    return target


def assert_consistent(settings: Settings, files: list[Path]) -> None:
    """Store == manifest == files on disk: what every ingest must leave behind."""
    store = Store.open(settings.store)
    manifest = store.files()
    assert sorted(manifest) == sorted(str(f.resolve()) for f in files)
    records = store_records(settings)
    per_doc: dict[str, list[int]] = {}
    for _id, meta in records:
        entry = manifest[meta["doc"]]
        assert meta["rev"] == entry.rev, "no chunk of an old revision is left"
        per_doc.setdefault(meta["doc"], []).append(int(meta["ordinal"]))
    for key, entry in manifest.items():
        assert entry.sha256 == hashlib.sha256(Path(key).read_bytes()).hexdigest()
        assert sorted(per_doc.get(key, [])) == list(range(entry.chunks))
    assert store.pending() == []
    current = current_chunks(store)
    assert len(current) == len(records)
    # Unit vectors: one row per sentence or list item of each current chunk, in the chunk's
    # own record, and the same rows in the reader's cache of this revision.
    by_id = {c.id: c for c in current}
    got = store.chunks.get(ids=list(by_id), include=["metadatas"])
    saved = cache.load(lexical_dir(settings.store), store.revision())
    assert saved is not None, "ingest leaves the reader's cache of the revision it made"
    assert sorted(c.id for c in saved.lexical.chunks) == sorted(by_id)
    for id_, meta in zip(got["ids"], got["metadatas"], strict=True):
        rows = decode_units(meta[UNITS_FIELD])
        assert rows.shape == (len(unit_spans(by_id[id_].text)), 384)
        assert np.allclose(saved.unit_vectors.rows(id_), rows, atol=1e-3)


def test_first_ingest(settings: Settings, corpus_dir: Path, embedder: Embedder) -> None:
    file = corpus_dir / SEED.name
    events: list[Progress] = []
    report = ingest([corpus_dir], settings, embedder, progress=events.append)
    assert report.ok and report.failed == []
    expected = chunk_monograph(parse_file(file, corpus_dir), embedder.count_tokens_many, 256)
    assert report.indexed == [str(file.resolve())]
    assert report.chunks_added == report.chunks_total == len(expected)
    assert report.monographs_total == 1 and report.chunks_removed == 0
    assert report.seconds > 0 and report.store == str(settings.store.path)

    store = Store.open(settings.store)
    entry = store.files()[str(file.resolve())]
    assert entry.title == "Pomalidomide" and entry.source == SEED.name
    assert entry.sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
    assert entry.chunks == len(expected) and set(entry.aliases.split("|")) >= {"Pomalyst"}
    assert store.model() == embedder.name

    got = store.chunks.get(include=["metadatas", "documents", "embeddings"])
    rows = zip(got["metadatas"], got["documents"], got["embeddings"], strict=True)
    by_id = dict(zip(got["ids"], rows, strict=True))
    assert sorted(by_id) == sorted(c.id for c in expected)
    for c in expected:
        meta, doc, vector = by_id[c.id]
        units = decode_units(meta.pop(UNITS_FIELD))
        assert meta == c.metadata() and doc == c.text
        assert units.shape == (len(unit_spans(c.text)), 384)
        assert len(vector) == 384 and abs(float(np.linalg.norm(vector)) - 1) < 1e-3
    probe = expected[len(expected) // 2]
    assert float(np.dot(by_id[probe.id][2], embedder.embed_one(probe.embed_text))) > 0.99
    assert_consistent(settings, [file])

    stages = [e.stage for e in events]
    assert stages[0] == "scan" and "embed" in stages and stages[-1] == "index"
    embeds = [e for e in events if e.stage == "embed"]
    assert embeds[-1].done == embeds[-1].total == 1, "embedding counts files"
    assert embeds[-1].detail == f"{len(expected):,} chunks"
    assert [e.done for e in embeds] == sorted(e.done for e in embeds)

    lexical = cache.load(lexical_dir(settings.store), store.revision()).lexical
    assert sorted(c.id for c in lexical.chunks) == sorted(c.id for c in expected)


def test_unchanged_file_embeds_nothing(
    settings: Settings, corpus_dir: Path, embedder: Embedder, calls: Calls, monkeypatch
) -> None:
    first = ingest([corpus_dir], settings, embedder)
    assert calls.encode > 0 and calls.texts >= first.chunks_added
    before_ids = sorted(i for i, _ in store_records(settings))
    revision = Store.open(settings.store).revision()
    calls.encode = calls.texts = 0
    parsed: list[Path] = []
    monkeypatch.setattr(pipeline, "parse_file", lambda p, *a: parsed.append(p) or parse_file(p, *a))

    again = ingest([corpus_dir], settings, embedder)
    assert calls.encode == 0 and calls.texts == 0, "an unchanged file is not embedded"
    assert parsed == [], "an unchanged file is not even parsed"
    assert again.unchanged == [str((corpus_dir / SEED.name).resolve())]
    assert again.indexed == [] and again.chunks_added == 0 and again.chunks_removed == 0
    assert again.chunks_total == first.chunks_total
    assert sorted(i for i, _ in store_records(settings)) == before_ids
    assert Store.open(settings.store).revision() == revision


def test_a_new_parser_rereads_unchanged_files(
    settings: Settings, corpus_dir: Path, embedder: Embedder, monkeypatch
) -> None:
    """A store built by an older reading of the files is not kept for unchanged bytes:
    every file is read again, and no chunk of the old reading is left."""
    first = ingest([corpus_dir], settings, embedder)
    old = {meta["rev"] for _, meta in store_records(settings)}
    monkeypatch.setattr(chunk_module, "READING", "a-newer-parser")

    again = ingest([corpus_dir], settings, embedder)
    assert again.unchanged == [] and again.indexed == first.indexed
    revs = {meta["rev"] for _, meta in store_records(settings)}
    assert revs and revs.isdisjoint(old), "no chunk of the old reading is left"
    assert again.chunks_total == first.chunks_total
    assert_consistent(settings, [corpus_dir / SEED.name])

    monkeypatch.setattr(chunk_module, "READING", "a-newer-parser")
    assert ingest([corpus_dir], settings, embedder).indexed == [], "then it is current"


def test_changed_file_replaces_its_chunks(
    settings: Settings, corpus_dir: Path, embedder: Embedder
) -> None:
    file = corpus_dir / SEED.name
    first = ingest([corpus_dir], settings, embedder)
    old_ids = {i for i, _ in store_records(settings)}
    old_rev = Store.open(settings.store).revision()
    text = file.read_text(encoding="utf-8")
    assert "For multiple myeloma: 4 mg orally" in text
    edited = text.replace("For multiple myeloma: 4 mg orally", "For multiple myeloma: 6 mg orally")
    # A new section too, so the chunk count changes as well as the content.
    edited = edited.replace(
        "## **Contraindications**", "## **Storage**\n\nKeep dry.\n\n## **Contraindications**"
    )
    file.write_text(edited, encoding="utf-8")

    report = ingest([corpus_dir], settings, embedder)
    assert report.indexed == [str(file.resolve())]
    assert report.chunks_removed == first.chunks_added
    assert report.chunks_added == first.chunks_added + 1 == report.chunks_total
    records = store_records(settings)
    assert old_ids.isdisjoint(i for i, _ in records), "no chunk of the old revision is left"
    store = Store.open(settings.store)
    docs = store.chunks.get(include=["documents"])["documents"]
    assert any("6 mg orally" in d for d in docs)
    assert not any("For multiple myeloma: 4 mg orally" in d for d in docs)
    assert any(m["section"] == "Storage" for _, m in records)
    assert store.revision() != old_rev
    assert_consistent(settings, [file])
    lexical = cache.load(lexical_dir(settings.store), store.revision()).lexical
    assert {c.id for c in lexical.chunks} == {i for i, _ in records}


def test_removed_file_leaves_no_trace(
    settings: Settings, corpus_dir: Path, embedder: Embedder
) -> None:
    seed = corpus_dir / SEED.name
    other = add_copy(corpus_dir, "testamide.md", "Testamide")
    first = ingest([corpus_dir], settings, embedder)
    assert len(first.indexed) == 2
    assert_consistent(settings, [seed, other])
    other.unlink()

    report = ingest([corpus_dir], settings, embedder)
    key = str(other.resolve())
    assert report.removed == [key]
    assert report.chunks_removed == first.chunks_added // 2
    assert report.unchanged == [str(seed.resolve())] and report.chunks_added == 0
    assert key not in Store.open(settings.store).files()
    assert not any(m["doc"] == key for _, m in store_records(settings))
    assert not any(m["drug"] == "Testamide" for _, m in store_records(settings))
    assert_consistent(settings, [seed])
    store = Store.open(settings.store)
    lexical = cache.load(lexical_dir(settings.store), store.revision()).lexical
    assert {c.drug for c in lexical.chunks} == {"Pomalidomide"}


def test_ingesting_one_file_keeps_the_others(
    settings: Settings, corpus_dir: Path, embedder: Embedder
) -> None:
    seed = corpus_dir / SEED.name
    other = add_copy(corpus_dir, "testamide.md", "Testamide")
    ingest([corpus_dir], settings, embedder)
    other.write_text(other.read_text().replace("Keep", "Store"), encoding="utf-8")
    report = ingest([seed], settings, embedder)
    assert report.removed == [] and report.unchanged == [str(seed.resolve())]
    assert len(Store.open(settings.store).files()) == 2


def test_model_switch_is_refused(settings: Settings, corpus_dir: Path, embedder: Embedder) -> None:
    ingest([corpus_dir], settings, embedder)
    before = sorted(i for i, _ in store_records(settings))
    other = renamed(embedder, "someone/other-model@0123456789ab")
    with pytest.raises(EmbeddingModelMismatchError) as info:
        ingest([corpus_dir], settings, other)
    message = str(info.value)
    assert embedder.name in message and "someone/other-model@0123456789ab" in message
    assert "--rebuild" in message and str(settings.store.path) in message
    assert sorted(i for i, _ in store_records(settings)) == before, "nothing was touched"

    report = ingest([corpus_dir], settings, other, rebuild=True)
    assert report.ok and report.chunks_total == len(before)
    assert Store.open(settings.store).model() == "someone/other-model@0123456789ab"
    assert_consistent(settings, [corpus_dir / SEED.name])


def test_duplicate_titles_warn(settings: Settings, corpus_dir: Path, embedder: Embedder) -> None:
    twin = add_copy(corpus_dir, "pomalidomide-copy.md", "Pomalidomide")
    twin.write_text(twin.read_text() + "\nExtra line.\n", encoding="utf-8")
    report = ingest([corpus_dir], settings, embedder)
    assert report.ok and len(report.indexed) == 2
    dup = [w for w in report.warnings if "also the title of" in w]
    assert len(dup) == 1 and "'Pomalidomide'" in dup[0]


def test_missing_path_is_reported_once(
    settings: Settings, corpus_dir: Path, embedder: Embedder, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.md"
    report = ingest([corpus_dir, missing], settings, embedder)
    assert [(f.path, f.reason) for f in report.failed] == [(str(missing), "no such file or folder")]
    assert len(report.indexed) == 1


def test_file_that_turns_malformed_keeps_its_last_good_version(
    settings: Settings, corpus_dir: Path, embedder: Embedder
) -> None:
    file = corpus_dir / SEED.name
    first = ingest([corpus_dir], settings, embedder)
    good = file.read_bytes()
    file.write_bytes(b"\xff\xfe garbage")
    report = ingest([corpus_dir], settings, embedder)
    assert [f.path for f in report.failed] == [str(file.resolve())]
    assert "UTF-16" in report.failed[0].reason
    assert report.removed == [] and report.chunks_total == first.chunks_total
    file.write_bytes(good)
    report = ingest([corpus_dir], settings, embedder)
    assert report.ok and report.unchanged == [str(file.resolve())]


def test_report_json_shape(settings: Settings, corpus_dir: Path, embedder: Embedder) -> None:
    report: IngestReport = ingest([corpus_dir], settings, embedder)
    data = report.to_json()
    assert data["files_indexed"] == 1 and data["files_failed"] == 0
    assert data["chunks_added"] == data["chunks_total"] == report.chunks_added > 0
    assert data["indexed"] == report.indexed and data["failed"] == []
    assert set(data) >= {"store", "files_unchanged", "files_removed", "seconds", "warnings"}


def test_renamed_file_is_moved_without_a_duplicate_warning(
    settings: Settings, corpus_dir: Path, embedder: Embedder
) -> None:
    old = corpus_dir / SEED.name
    first = ingest([corpus_dir], settings, embedder)
    new = old.rename(corpus_dir / "pomalidomide-2025.md")
    report = ingest([corpus_dir], settings, embedder)
    assert report.removed == [str(old.resolve())] and report.indexed == [str(new.resolve())]
    assert not [w for w in report.warnings if "also the title of" in w]
    assert report.chunks_total == first.chunks_total
    assert_consistent(settings, [new])


def test_store_of_another_format_asks_for_a_rebuild(
    settings: Settings, corpus_dir: Path, embedder: Embedder
) -> None:
    from monorag.errors import StoreFormatError
    from monorag.index.store import Store
    from monorag.qa.engine import Engine

    assert ingest([corpus_dir], settings, embedder).ok
    store = Store.open(settings.store)
    store._write_meta(format=1)
    with pytest.raises(StoreFormatError, match="--rebuild"):
        ingest([corpus_dir], settings, embedder)
    with pytest.raises(StoreFormatError):
        Engine(settings, embedder)
    assert ingest([corpus_dir], settings, embedder, rebuild=True).ok
    Engine(settings, embedder)
