"""The whole pipeline on the fast tier: ingest, replace, remove, ask, abstain.

In-memory index and hash embedder (``fast_settings``): no model, no Chroma, no torch.
These check the pipeline's mechanics; answer quality on the real model is the
integration tests' (tests/test_qa.py and others).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from monorag.embed import Embedder, HashEmbedder, get_embedder, shared_embedder
from monorag.errors import CalibrationError, EmbeddingModelMismatchError, SettingsError
from monorag.index import open_index
from monorag.index.memory import MemoryIndex
from monorag.index.store import current_chunks, lexical_dir
from monorag.ingest.pipeline import ingest
from monorag.qa.engine import Engine
from monorag.settings import EmbeddingSettings, Settings
from monorag.types import Answer
from tests.conftest import CORPUS, PROJECT, make_fast_settings

ZENTRAMIDE = """---
title: Zentramide
lastModified: '2025-03-01'
---
## Alternate Names

Zentrix®

## Dosage

### Adults

The recommended dose of zentramide is {dose} orally once daily with food.

### Hepatic Impairment

Reduce the zentramide dose to 5 mg once daily in moderate hepatic impairment.

## Storage

Keep zentramide capsules below 25 °C in the original blister.
"""

QUELLATRIN = """---
title: Quellatrin
lastModified: '2024-11-15'
---
## Indications

Quellatrin treats chronic plaque psoriasis in adults.

## Side Effects

Common side effects of quellatrin are headache, nausea and injection-site redness.
"""


def squash(text: str) -> str:
    return " ".join(text.split())


def assert_cited_quote(answer: Answer, drug: str) -> None:
    """An extractive answer: each statement quoted verbatim from the passage it cites."""
    assert not answer.abstained, answer.note
    assert answer.mode == "extractive"
    assert answer.statements and answer.citations
    by_key = {c.key: c for c in answer.citations}
    assert {c.drug for c in answer.citations} == {drug}
    for statement in answer.statements:
        assert statement.keys and set(statement.keys) <= set(by_key), statement
        assert any(squash(statement.text) in squash(by_key[k].text) for k in statement.keys)
    assert set(re.findall(r"\[(S\d+)\]", answer.text)) == set(by_key)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The bundled corpus plus two monographs written here."""
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    (folder / "zentramide.md").write_text(ZENTRAMIDE.format(dose="10 mg"), encoding="utf-8")
    (folder / "quellatrin.md").write_text(QUELLATRIN, encoding="utf-8")
    return folder


def test_ingest_then_ask_in_one_process(
    corpus: Path, fast_settings: Settings, hash_embedder: HashEmbedder
) -> None:
    report = ingest([corpus], fast_settings, hash_embedder)
    assert report.ok, report.failed
    assert len(report.indexed) == 3 and report.monographs_total == 3
    index = open_index(fast_settings.store)
    assert isinstance(index, MemoryIndex)
    assert report.chunks_total == index.count() == len(current_chunks(index))
    assert index.model() == hash_embedder.name
    # The BM25 cache sits beside the store, in tmp_path: nothing is written elsewhere.
    assert lexical_dir(fast_settings.store).is_relative_to(fast_settings.store.path)

    engine = Engine(fast_settings, hash_embedder)
    assert [m.title for m in engine.monographs()] == ["Pomalidomide", "Quellatrin", "Zentramide"]
    answer = engine.ask("What is the recommended dose of zentramide for adults?")
    assert_cited_quote(answer, "Zentramide")
    assert "10 mg" in answer.text
    assert any("Dosage" in c.section for c in answer.citations)
    assert {c.last_modified for c in answer.citations} == {"2025-03-01"}
    # The brand name from "Alternate Names" finds the monograph too.
    brand = engine.ask("Zentrix dose in hepatic impairment?")
    assert_cited_quote(brand, "Zentramide")
    assert "5 mg" in brand.text


def test_reingest_skips_unchanged_replaces_changed_and_deletes_removed(
    corpus: Path,
    fast_settings: Settings,
    hash_embedder: HashEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = ingest([corpus], fast_settings, hash_embedder)
    index = open_index(fast_settings.store)
    engine = Engine(fast_settings, hash_embedder)
    revision = index.revision()
    zentramide = str((corpus / "zentramide.md").resolve())
    quellatrin = str((corpus / "quellatrin.md").resolve())
    old_zentramide = {c.id for c in index.iter_chunks(where={"doc": zentramide})}
    first_quellatrin = list(index.iter_chunks(where={"doc": quellatrin}))

    # Unchanged: nothing parsed, embedded or written; the revision stays.
    embedded: list[int] = []
    real = HashEmbedder.embed_with_units
    monkeypatch.setattr(
        HashEmbedder,
        "embed_with_units",
        lambda self, texts, *a, **k: embedded.append(len(texts)) or real(self, texts, *a, **k),
    )
    again = ingest([corpus], fast_settings, hash_embedder)
    assert sorted(again.unchanged) == sorted(first.indexed) and again.indexed == []
    assert embedded == [] and index.revision() == revision
    assert again.chunks_total == first.chunks_total

    # Changed: only that file is embedded; its old chunks are gone, the new ones current.
    (corpus / "zentramide.md").write_text(ZENTRAMIDE.format(dose="20 mg"), encoding="utf-8")
    changed = ingest([corpus], fast_settings, hash_embedder)
    assert changed.indexed == [zentramide] and sorted(changed.unchanged) == sorted(
        k for k in first.indexed if k != zentramide
    )
    assert changed.chunks_removed == len(old_zentramide) and embedded == [len(old_zentramide)]
    new_zentramide = {c.id for c in index.iter_chunks(where={"doc": zentramide})}
    assert new_zentramide and not new_zentramide & old_zentramide
    assert index.count() == first.chunks_total == len(current_chunks(index))
    assert engine.refresh(every=0)
    answer = engine.ask("What is the recommended dose of zentramide for adults?")
    assert_cited_quote(answer, "Zentramide")
    assert "20 mg" in answer.text and "10 mg" not in answer.text

    # Removed: its manifest entry and every chunk deleted; the engine no longer has it.
    (corpus / "quellatrin.md").unlink()
    removed = ingest([corpus], fast_settings, hash_embedder)
    assert removed.removed == [quellatrin] and removed.indexed == []
    assert removed.chunks_removed == len(first_quellatrin)
    assert quellatrin not in index.files()
    assert list(index.iter_chunks(where={"doc": quellatrin})) == []
    assert engine.refresh(every=0)
    assert [m.title for m in engine.monographs()] == ["Pomalidomide", "Zentramide"]
    gone = engine.ask("What are the side effects?", drug="Quellatrin")
    assert gone.abstained and gone.citations == []
    assert "Quellatrin" in gone.text


def test_an_interrupted_commit_is_repaired_by_the_next_ingest(
    corpus: Path, fast_settings: Settings, hash_embedder: HashEmbedder
) -> None:
    index = open_index(fast_settings.store, create=True)
    assert isinstance(index, MemoryIndex)
    calls = 0
    real = MemoryIndex._delete_stale

    def killed(self: MemoryIndex, keep: dict[str, str | None]) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("killed between the manifest switch and the deletion")
        return real(self, keep)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MemoryIndex, "_delete_stale", killed)
        with pytest.raises(RuntimeError, match="killed"):
            ingest([corpus], fast_settings, hash_embedder)
    assert index.pending()
    report = ingest([corpus], fast_settings, hash_embedder)
    assert report.ok and sorted(report.repaired) == sorted(index.files())
    assert index.pending() == [] and index.count() == len(current_chunks(index))


def test_the_bundled_corpus_answers_with_a_cited_quote(fast_engine: Engine) -> None:
    answer = fast_engine.ask("Pomalyst dose for a dialysis patient?")
    assert_cited_quote(answer, "Pomalidomide")
    assert "hemodialysis" in answer.text
    assert {c.source for c in answer.citations} == {"pomalidomide.md"}
    data = answer.to_json()
    assert data["mode"] == "extractive" and data["abstained"] is False
    assert set(data["citations"][0]) == {"key", "drug", "section", "source", "last_modified"}
    assert data["citations"][0]["section"].startswith(("Dosage", "FAQ"))


@pytest.mark.parametrize("drug", ["warfarin", "rituximab", "metformin"])
def test_an_unknown_drug_abstains_and_is_named(fast_engine: Engine, drug: str) -> None:
    answer = fast_engine.ask(f"What is the usual dose of {drug}?")
    assert answer.abstained and answer.citations == []
    assert drug in answer.text and "monograph" in answer.text
    assert answer.trace is not None and answer.trace.decided_by == "plan"


def test_an_unknown_drug_filter_abstains(fast_engine: Engine) -> None:
    answer = fast_engine.ask("What is the dose?", drug="Nonexistamab")
    assert answer.abstained and answer.citations == []
    assert "Nonexistamab" in answer.text


def test_an_off_topic_question_abstains_under_the_threshold(fast_engine: Engine) -> None:
    answer = fast_engine.ask("Who won the football world cup in 1998?")
    assert answer.abstained and answer.citations == []
    assert answer.trace is not None and answer.trace.decided_by == "policy"
    assert answer.trace.support is not None and answer.trace.support < fast_engine.threshold


def test_held_out_faq_is_never_retrieved(fast_engine: Engine) -> None:
    evidence = fast_engine.retrieve(
        "What is the recommended dosage for Pomalidomide?", exclude_faq_of=["Pomalidomide"]
    )
    assert evidence and all(e.chunk.kind == "section" for e in evidence)
    assert any(e.chunk.kind == "faq" for e in fast_engine.retrieve("recommended dosage?"))


# -- the hash embedder ---------------------------------------------------------------------


def test_hash_vectors_are_deterministic_unit_length_and_share_words(
    hash_embedder: HashEmbedder,
) -> None:
    texts = ["Reduce the dose in renal impairment.", "Dose in renal impairment", "Keep cool."]
    vectors = hash_embedder.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(vectors, HashEmbedder().embed(texts))
    np.testing.assert_array_equal(vectors[0], hash_embedder.embed_one(texts[0]))
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.6 and abs(sims[0, 2]) < 0.3


def test_hash_vectors_are_the_same_in_another_process(hash_embedder: HashEmbedder) -> None:
    """crc32, not Python's salted ``hash``: a store is readable by the next process."""
    code = (
        "from monorag.embed import HashEmbedder; import sys; "
        "v = HashEmbedder().embed_one('Pomalidomide 4 mg daily'); "
        "print(' '.join(f'{x:.6f}' for x in v)); "
        "assert 'torch' not in sys.modules"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT
    ).stdout
    there = np.asarray([float(x) for x in out.split()], dtype=np.float32)
    here = hash_embedder.embed_one("Pomalidomide 4 mg daily")
    np.testing.assert_allclose(there, here, atol=1e-6)


def test_hash_tokens_window_and_units(hash_embedder: HashEmbedder) -> None:
    assert hash_embedder.count_tokens("Take 4 mg, daily.") == 6 + 2
    assert hash_embedder.count_tokens_many(["a b", ""]) == [4, 2]
    assert hash_embedder.max_tokens == 256 and hash_embedder.dimension == 384
    # max_tokens embeds the first tokens only, special tokens counted as the model does.
    cut = hash_embedder.embed(["alpha beta gamma delta"], max_tokens=4)[0]
    np.testing.assert_array_equal(cut, hash_embedder.embed_one("alpha beta"))
    text = "Dosage\nTake 4 mg daily. Avoid grapefruit."
    vectors, units = hash_embedder.embed_with_units([text], [[(7, 24), (25, 42)]])
    assert vectors.shape == (1, 384) and units[0].shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(units[0], axis=1), 1.0, atol=1e-6)
    # Each unit is nearest its own words.
    alone = hash_embedder.embed(["Take 4 mg daily.", "Avoid grapefruit."])
    assert np.argmax(units[0] @ alone.T, axis=1).tolist() == [0, 1]
    assert hash_embedder.whole_words() >= {"dose", "renal", "daily"}


def test_get_embedder_follows_the_setting() -> None:
    assert isinstance(get_embedder(EmbeddingSettings(backend="hash")), HashEmbedder)
    real = get_embedder(EmbeddingSettings())
    assert isinstance(real, Embedder) and real is shared_embedder(EmbeddingSettings())
    # Choosing an embedder loads nothing (settings of their own: another test may already
    # have loaded the shared default one).
    fresh = get_embedder(EmbeddingSettings(batch_size=31))
    assert isinstance(fresh, Embedder) and fresh._model is None
    assert get_embedder(EmbeddingSettings(backend="hash")).name != real.name


def test_backends_are_settings_with_environment_variables(tmp_path: Path) -> None:
    env = {"MONORAG_STORE_BACKEND": "memory", "MONORAG_EMBED_BACKEND": "hash"}
    settings = Settings.from_env(env)
    assert (settings.store.backend, settings.embedding.backend) == ("memory", "hash")
    assert (Settings().store.backend, Settings().embedding.backend) == ("chroma", "model")
    with pytest.raises(SettingsError, match=r"store\.backend"):
        Settings.from_env({"MONORAG_STORE_BACKEND": "redis"})


def test_an_index_built_with_another_model_is_refused(tmp_path: Path) -> None:
    settings = make_fast_settings(tmp_path / "store")
    open_index(settings.store, create=True).check_model("someone/model@1", lambda: 384)
    with pytest.raises(EmbeddingModelMismatchError):
        Engine(settings)


def test_the_calibrated_threshold_is_refused_for_hash_scores(tmp_path: Path) -> None:
    """The bundled calibration is fitted to the real model: hash scores need their own."""
    settings = make_fast_settings(tmp_path / "store", **{"answer.abstain_below": None})
    open_index(settings.store, create=True)
    with pytest.raises(CalibrationError, match="fitted for other scores"):
        Engine(settings)


def test_which_drug_suggestions_are_ordered_by_title_when_the_evidence_ties(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    # Three monographs saying the same thing: no drug named, the evidence splits evenly,
    # and the suggestions must not depend on the order the index happens to return.
    from tests.conftest import engine_over

    body = "\n## Storage\n\nKeep below 25 °C in the original package.\n"
    texts = {
        f"{stem}.md": f"---\ntitle: {title}\nlastModified: '2025-01-01'\n---\n{body}"
        for stem, title in (("a", "Zolvane"), ("b", "Miravex"), ("c", "Bexitol"))
    }
    engine = engine_over(tmp_path, texts, hash_embedder)
    answer = engine.ask("How should it be stored?")
    assert answer.abstained and "Which drug" in answer.text
    assert (
        answer.text.index("Bexitol") < answer.text.index("Miravex") < answer.text.index("Zolvane")
    )
