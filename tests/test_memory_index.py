"""The ``Index`` protocol: the in-memory NumPy index and the Chroma store agree on it.

One scenario runs on both implementations (the Chroma one is an integration test, but on
the hash embedder, so it stays quick): manifest, revision stamps, vectors by id, ``where``
filters, replacement, removal, an interrupted commit and its repair, rebuild.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from monorag.embed import HashEmbedder
from monorag.errors import EmbeddingModelMismatchError, StoreNotFoundError
from monorag.index import FileEntry, Index, open_index
from monorag.index.memory import MemoryIndex, forget_under, matches
from monorag.index.store import Store, forget_client
from monorag.settings import StoreSettings
from monorag.text import embedded_unit_spans
from monorag.types import Chunk

MODEL = "hash/test@0"


def make_chunks(doc: str, rev: str, texts: list[str], faq: int = -1) -> list[Chunk]:
    """Chunks of one file; the ``faq``-th one is an FAQ chunk."""
    return [
        Chunk(
            id=f"{doc}-{rev}-{i}",
            drug=doc.title(),
            aliases=(f"{doc.title()}ix",),
            section="FAQ" if i == faq else f"Section {i}",
            kind="faq" if i == faq else "section",
            text=text,
            source=f"{doc}.md",
            doc=doc,
            rev=rev,
            last_modified="2025-01-01",
            content_hash=f"h{i}",
            ordinal=i,
        )
        for i, text in enumerate(texts)
    ]


def commit(
    index: Index, embedder: HashEmbedder, doc: str, rev: str, texts: list[str], faq: int = -1
) -> tuple[list[Chunk], np.ndarray, list[np.ndarray], int]:
    """Commit one file; returns its chunks, their vectors and units, and chunks removed."""
    chunks = make_chunks(doc, rev, texts, faq)
    vectors, units = embedder.embed_with_units(
        [c.embed_text for c in chunks], [embedded_unit_spans(c) for c in chunks]
    )
    entry = FileEntry(doc, f"{doc}.md", doc.title(), "", rev * 4, rev, len(chunks), "", 0.0)
    removed = index.commit_files([(entry, chunks, vectors, units)])
    return chunks, vectors, units, removed


A1 = [
    "Take 10 mg once daily with food. Swallow whole.",
    "Reduce to 5 mg in hepatic impairment.",
    "Q: Can it be crushed?\nA: No.",
]
B1 = ["Avoid grapefruit juice.", "Common side effects are headache and nausea."]
A2 = ["Take 20 mg once daily.", "No dose change in renal impairment."]


@pytest.fixture(
    params=["memory", pytest.param("chroma", marks=pytest.mark.integration)],
)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSettings]:
    """Where an index of each backend lives, in this test's tmp_path."""
    settings = StoreSettings(path=tmp_path / "store", backend=request.param)
    yield settings
    if request.param == "chroma":
        forget_client(settings)


def test_both_backends_agree_on_the_protocol(
    place: StoreSettings, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StoreNotFoundError):
        open_index(place)
    index = open_index(place, create=True)
    assert isinstance(index, MemoryIndex if place.backend == "memory" else Store)
    assert (index.files(), index.count(), index.model(), index.pending()) == ({}, 0, None, [])

    index.check_model(MODEL, lambda: hash_embedder.dimension)
    assert index.model() == MODEL and index.meta()["dimension"] == 384
    index.check_format()
    with pytest.raises(EmbeddingModelMismatchError):
        index.check_model("someone/else@1", lambda: 384)

    # Two files.
    before = index.revision()
    a1, a1_vectors, a1_units, removed = commit(index, hash_embedder, "alpha", "r1", A1, faq=2)
    assert removed == 0
    b1, *_ = commit(index, hash_embedder, "beta", "r1", B1)
    assert index.revision() not in ("", before)
    assert sorted(index.files()) == ["alpha", "beta"] and index.count() == 5
    assert index.files()["alpha"].chunks == 3 and index.pending() == []
    assert index.current_revisions(["alpha", "gamma"]) == {"alpha": "r1", "gamma": None}
    assert index.current_revisions([]) == {}

    # Vectors by id: exactly what was written; missing ids and short unit counts left out.
    got = index.chunk_vectors([a1[0].id, "nope"])
    assert set(got) == {a1[0].id}
    np.testing.assert_allclose(got[a1[0].id], a1_vectors[0], atol=1e-6)
    n = len(a1_units[1])
    units = index.unit_vectors({a1[1].id: n, a1[0].id: len(a1_units[0]) + 1})
    assert set(units) == {a1[1].id} and units[a1[1].id].shape == (n, 384)
    # Unit vectors are kept as float16 (a third of the disk and of the cache).
    np.testing.assert_allclose(units[a1[1].id], a1_units[1], atol=1e-3)
    assert index.unit_vectors({}) == {} and index.chunk_vectors([]) == {}

    # Cosine query, best first, with the filters retrieval uses.
    hits = index.query(a1_vectors[1], 2)
    assert hits[0][0] == a1[1].id and hits[0][1] == pytest.approx(1.0, abs=1e-4)
    assert len(hits) == 2 and hits[0][1] >= hits[1][1]
    only_beta = index.query(a1_vectors[1], 10, where={"doc": {"$in": ["beta"]}})
    assert {cid for cid, _ in only_beta} == {c.id for c in b1}
    held_out = {"$or": [{"kind": "section"}, {"doc": {"$nin": ["alpha"]}}]}
    both = {"$and": [{"doc": {"$in": ["alpha"]}}, held_out]}
    assert {cid for cid, _ in index.query(a1_vectors[2], 10, where=both)} == {a1[0].id, a1[1].id}
    # Every chunk with its vector and units, for the reader's cache.
    rows = {c.id: (v, u) for c, v, u in index.iter_chunk_vectors()}
    assert len(rows) == 5
    np.testing.assert_allclose(rows[a1[1].id][1], a1_units[1], atol=1e-3)
    assert {c.id for c in index.iter_chunks(where={"doc": "beta"})} == {c.id for c in b1}
    assert len(list(index.iter_chunks())) == 5

    # A changed file: new revision written beside the old, the old deleted.
    before = index.revision()
    a2, *_, removed = commit(index, hash_embedder, "alpha", "r2", A2)
    assert removed == 3 and index.count() == 4 and index.revision() != before
    assert {c.id for c in index.iter_chunks(where={"doc": "alpha"})} == {c.id for c in a2}
    assert index.current_revisions(["alpha"]) == {"alpha": "r2"}

    # A commit killed after writing its chunks: pending, both revisions present; repaired.
    def killed(keep: dict[str, str | None]) -> int:
        raise RuntimeError("killed")

    monkeypatch.setattr(index, "_delete_stale", killed)
    with pytest.raises(RuntimeError):
        commit(index, hash_embedder, "alpha", "r3", ["Take 30 mg once daily."])
    monkeypatch.undo()
    assert index.pending() == ["alpha"] and index.count() == 5
    assert index.files()["alpha"].rev == "r3"  # the manifest had switched
    assert index.repair() == ["alpha"]
    assert index.pending() == [] and index.count() == 3 and index.repair() == []
    assert {c.rev for c in index.iter_chunks(where={"doc": "alpha"})} == {"r3"}

    # Removal, then rebuild.
    before = index.revision()
    assert index.remove_file("beta") == 2
    assert sorted(index.files()) == ["alpha"] and index.count() == 1
    assert index.revision() != before and index.pending() == []
    fresh = index.rebuild()
    assert (fresh.files(), fresh.count(), fresh.model()) == ({}, 0, None)
    assert open_index(place).files() == {}


def test_the_protocol_names_the_methods_both_implement_with_one_signature() -> None:
    members = [n for n in dir(Index) if not n.startswith("_") and callable(getattr(Index, n))]
    assert members  # the protocol is not empty
    for name in members:
        wanted = inspect.signature(getattr(Index, name))
        for cls in (Store, MemoryIndex):
            got = inspect.signature(getattr(cls, name))
            assert list(got.parameters) == list(wanted.parameters), (cls.__name__, name)
            defaults = [p.default for p in got.parameters.values()]
            assert defaults == [p.default for p in wanted.parameters.values()], (cls, name)


def test_every_index_call_of_the_layers_above_is_in_the_protocol() -> None:
    """What ingest, qa, eval, bench and ui call on a store is what ``Index`` names."""
    import ast

    project = Path(__file__).resolve().parent.parent
    names = {n for n in dir(Index) if not n.startswith("_")}
    called: set[str] = set()
    for folder in ("ingest", "qa", "eval", "bench", "ui"):
        for path in (project / folder).glob("*.py"):
            if path.name == "baseline.py":
                continue  # the LangChain baseline holds its own (LangChain) vector store
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                # store.x(...) and self.store.x(...): the names the index is held under.
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name | ast.Attribute)
                    and (getattr(node.value, "id", None) or getattr(node.value, "attr", None))
                    == "store"
                ):
                    called.add(node.attr)
    # Settings sections are also called ``store`` (settings.store.path): not index calls.
    called -= set(StoreSettings.model_fields) | set(dir(StoreSettings))
    assert called <= names, sorted(called - names)
    assert {"revision", "files", "query", "commit_files", "current_revisions"} <= called


def test_an_index_is_shared_by_location_within_the_process(tmp_path: Path) -> None:
    here = StoreSettings(path=tmp_path / "store", backend="memory")
    first = open_index(here, create=True)
    assert open_index(here) is first
    assert open_index(here.model_copy(update={"collection": "other"}), create=True) is not first
    assert forget_under(tmp_path) == 2
    with pytest.raises(StoreNotFoundError):
        open_index(here)


def test_a_missing_chroma_store_is_not_found_without_loading_chroma(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFoundError):
        open_index(StoreSettings(path=tmp_path / "nothing"))
    assert not (tmp_path / "nothing").exists()


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (None, True),
        ({"doc": "a"}, True),
        ({"doc": "b"}, False),
        ({"doc": {"$in": ["a", "b"]}}, True),
        ({"doc": {"$nin": ["a"]}}, False),
        ({"kind": {"$ne": "faq"}}, True),
        ({"$or": [{"kind": "faq"}, {"doc": {"$nin": ["a"]}}]}, False),
        ({"$and": [{"doc": "a"}, {"kind": {"$eq": "section"}}]}, True),
    ],
)
def test_where_filters(where: dict | None, expected: bool) -> None:
    assert matches({"doc": "a", "kind": "section"}, where) is expected


def test_an_unknown_where_operator_is_refused_not_misread() -> None:
    with pytest.raises(ValueError, match=r"\$gt"):
        matches({"ordinal": 3}, {"ordinal": {"$gt": 1}})
