"""The eval set builder (eval/dataset.py): items, labels, variants, probes, the YAML file,
and the committed set for the bundled corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monorag.eval.dataset import (
    DEFAULT_EVAL_SET,
    SCHEMA_VERSION,
    EvalSet,
    EvalSetError,
    build_eval_set,
    corpus_files,
    from_data,
    labelling_embedder,
    load_corpus,
    load_eval_set,
    save_eval_set,
    to_data,
)
from monorag.eval.variants import KNOWN_DRUGS
from tests.eval_corpus import write_corpus

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT / "corpus"


# Gold labels are the real model's similarities: the tests on them are integration tests.
@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EvalSet]:
    folder = write_corpus(tmp_path_factory.mktemp("evalset") / "corpus")
    return folder, build_eval_set(load_corpus([folder]), labelling_embedder().embed)


@pytest.mark.integration
def test_every_faq_pair_is_an_item_with_labels_and_variants(small: tuple[Path, EvalSet]) -> None:
    _, eval_set = small
    assert [i.id for i in eval_set.items] == [
        "quellatrin#q1",
        "zorbanib#q1",
        "zorbanib#q2",
        "zorbanib#q3",
    ]
    dose = next(i for i in eval_set.items if i.id == "zorbanib#q1")
    assert dose.drug == "Zorbanib" and dose.source == "zorbanib.md"
    assert dose.key_facts == ["15 mg", "10 mg"]
    assert {g.section for g in dose.gold} == {"Dosage › Adults", "Dosage › Hepatic Impairment"}
    assert all(g.evidence and g.sentence for g in dose.gold)
    assert [v.kind for v in dose.variants] == ["original", "terse", "brand", "misspelling"]
    assert dose.variants[2].question == "What is the recommended dose of Zorbix?"
    interactions = next(i for i in eval_set.items if i.id == "zorbanib#q2")
    assert [g.section for g in interactions.gold] == ["Drug Interactions"]
    assert {"CYP3A4", "ketoconazole", "warfarin", "INR"} <= set(interactions.key_facts)
    # The body never mentions grapefruit: no gold section, so retrieval metrics skip it.
    grapefruit = next(i for i in eval_set.items if i.id == "zorbanib#q3")
    assert grapefruit.gold == []
    # A monograph without a brand name gets no brand variant.
    quellatrin = next(i for i in eval_set.items if i.drug == "Quellatrin")
    assert "brand" not in [v.kind for v in quellatrin.variants]


@pytest.mark.integration
def test_probes_ask_about_what_the_corpus_does_not_hold(small: tuple[Path, EvalSet]) -> None:
    folder, eval_set = small
    texts = " ".join(p.read_text(encoding="utf-8").lower() for p in folder.glob("*.md"))
    drug_probes = [p for p in eval_set.probes if p.kind == "unanswerable_drug"]
    assert len(drug_probes) == len(eval_set.items)  # one per FAQ question
    for probe in drug_probes:
        assert probe.asked_drug in KNOWN_DRUGS and probe.asked_drug not in texts
        assert probe.asked_drug in probe.question
    attributes = {p.id for p in eval_set.probes if p.kind == "unanswerable_attribute"}
    # Quellatrin states its storage, Zorbanib does not; a monograph without FAQs adds none.
    assert "quellatrin/unanswerable_attribute:storage_temperature" not in attributes
    assert "zorbanib/unanswerable_attribute:storage_temperature" in attributes
    assert not any(p.startswith("plainomab") for p in attributes)
    assert all(not p.answerable for p in eval_set.probes)
    assert len(eval_set.questions()) == 15 + len(eval_set.probes)


@pytest.mark.integration
def test_yaml_round_trip_and_reviewable_layout(small: tuple[Path, EvalSet], tmp_path: Path) -> None:
    _, eval_set = small
    path = tmp_path / "set.yaml"
    save_eval_set(eval_set, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# monorag FAQ eval set")
    assert "evidence:" in text and "score:" in text and "› Hepatic Impairment" in text
    again = load_eval_set(path)
    assert to_data(again) == to_data(eval_set)
    assert [v.id for v in again.questions()] == [v.id for v in eval_set.questions()]
    assert again.item_of(again.items[1].variants[2]) is again.items[1]
    assert again.item_of(again.probes[0]) is None


@pytest.mark.integration
def test_stale_against_names_what_changed(small: tuple[Path, EvalSet], tmp_path: Path) -> None:
    folder, eval_set = small
    assert eval_set.stale_against(corpus_files(load_corpus([folder]))) == []
    changed = write_corpus(tmp_path / "changed", with_no_faq=False)
    (changed / "zorbanib.md").write_text(
        (changed / "zorbanib.md").read_text(encoding="utf-8").replace("15 mg", "20 mg"),
        encoding="utf-8",
    )
    (changed / "extra.md").write_text((folder / "plainomab.md").read_text(), encoding="utf-8")
    reasons = eval_set.stale_against(corpus_files(load_corpus([changed])))
    assert "zorbanib.md changed since the eval set was built" in reasons
    assert "extra.md is not in the eval set" in reasons
    assert "plainomab.md is no longer in the corpus" in reasons


def test_bad_files_raise_eval_set_errors(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="--build-set"):
        load_eval_set(tmp_path / "missing.yaml")
    (tmp_path / "old.yaml").write_text("version: 0\nitems: []\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="version 0"):
        load_eval_set(tmp_path / "old.yaml")
    (tmp_path / "broken.yaml").write_text("version: [\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="not valid YAML"):
        load_eval_set(tmp_path / "broken.yaml")
    with pytest.raises(EvalSetError, match="malformed"):
        from_data({"version": SCHEMA_VERSION, "items": [{"id": "x"}]})
    with pytest.raises(EvalSetError, match="does not exist"):
        load_corpus([tmp_path / "nowhere"])


@pytest.mark.integration
def test_committed_eval_set_is_current_for_the_bundled_corpus() -> None:
    """The reviewed file must be what the builder makes of corpus/ today."""
    committed = load_eval_set(DEFAULT_EVAL_SET)
    monographs = load_corpus([CORPUS])
    assert committed.stale_against(corpus_files(monographs)) == [], (
        "corpus/ changed: rebuild the eval set with `monorag eval --build-set` and review it"
    )
    labeller = labelling_embedder()
    fresh = build_eval_set(monographs, labeller.embed, model=labeller.name)
    old, new = to_data(committed), to_data(fresh)
    for data in (old, new):
        data.pop("built")
        for item in data["items"]:
            for label in item["gold"] + item["supporting"]:
                # Scores may differ in the last digits between machines; the labels may not.
                for key in ("score", "similarity", "facts"):
                    label.pop(key)
    assert new == old, "eval/data/faq-eval.yaml is out of date: run `monorag eval --build-set`"
    assert len(committed.items) == sum(m.faqs for m in committed.corpus) > 0
    raw = yaml.safe_load(DEFAULT_EVAL_SET.read_text(encoding="utf-8"))
    assert raw["labeller"]["gold_min"] > raw["labeller"]["support_facts_sim"]
    assert raw["labeller"]["precision"] == "float32"
