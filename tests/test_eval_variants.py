from __future__ import annotations

import re
from pathlib import Path

import pytest

from monorag.eval.variants import (
    ATTRIBUTE_PROBES,
    KNOWN_DRUGS,
    attribute_probes,
    drugs_not_in_corpus,
    faq_id,
    mentions,
    misspell,
    monograph_text,
    monograph_variants,
    other_drug_probes,
    other_name,
    question_variants,
    terse,
    with_drug_name,
)
from monorag.ingest.parse import parse_file

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def is_one_typo(a: str, b: str) -> bool:
    """Whether b is a with one letter dropped or two adjacent letters swapped."""
    if len(b) == len(a) - 1:
        return any(a[:i] + a[i + 1 :] == b for i in range(len(a)))
    if len(b) == len(a) and a != b:
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
    return False


# ---------------------------------------------------------------------------
# Rewrites
# ---------------------------------------------------------------------------


def test_terse_puts_drug_first_and_drops_function_words() -> None:
    q = "Is dose adjustment necessary for patients with renal impairment?"
    assert terse(q, "Zorbanib") == "zorbanib dose adjustment renal impairment?"
    q = "What is the recommended dosage for Zorbanib?"
    assert terse(q, "Zorbanib") == "zorbanib dosage?"


def test_terse_drops_aliases_and_keeps_abbreviations_and_negation() -> None:
    q = "Can Zorbix be taken with CYP3A4 inhibitors if INR is not stable?"
    assert terse(q, "Zorbanib", ["Zorbix"]) == "zorbanib CYP3A4 inhibitors if INR not stable?"


def test_terse_none_without_content_words() -> None:
    assert terse("What is Zorbanib?", "Zorbanib") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pomalidomide", "pomaldomide"),
        ("Warfarin", "warfrin"),
        ("Zorbanib", "zorbnib"),
        ("abc", "bac"),
        ("Rhythm", "rhthm"),
        ("Xtrm", "xrtm"),
    ],
)
def test_misspell_is_deterministic_and_one_typo_away(name: str, expected: str) -> None:
    typo = misspell(name)
    assert typo == expected
    assert misspell(name) == typo
    assert is_one_typo(name.lower(), typo)


def test_misspell_multiword_changes_the_longest_word() -> None:
    assert misspell("insulin glargine") == "insulin glrgine"
    with pytest.raises(ValueError):
        misspell("  ")


def test_misspell_never_returns_the_name() -> None:
    for name in [*KNOWN_DRUGS, "aa", "a", "ooo", "Xy"]:
        assert misspell(name) != name.lower()


def test_mentions_and_with_drug_name() -> None:
    names = ["Zorbanib", "Zorbix®"]
    assert mentions("Dose of zorbix?", names)
    assert not mentions("Dose of Zorbanibs?", names)
    assert with_drug_name("How is ZORBANIB given?", names, "Quell") == "How is Quell given?"
    assert (
        with_drug_name("Is dose adjustment needed in renal impairment?", names, "Quell")
        == "Is dose adjustment needed in renal impairment taking Quell?"
    )


def test_other_name() -> None:
    assert other_name("Zorbanib", ["Zorbanib", "ZORBANIB®", "Zorbix", "Quell"]) == "Zorbix"
    assert other_name("Zorbanib", ["zorbanib"]) is None
    assert other_name("Abilify", ["Abilify", "aripiprazole"]) == "aripiprazole"


def test_question_variants_kinds_ids_and_answerability() -> None:
    variants = question_variants(
        "zorbanib#q1", "What is the dose of Zorbanib?", "Zorbanib", ["Zorbix"]
    )
    assert [v.kind for v in variants] == ["original", "terse", "brand", "misspelling"]
    assert [v.question for v in variants] == [
        "What is the dose of Zorbanib?",
        "zorbanib dose?",
        "What is the dose of Zorbix?",
        "What is the dose of zorbnib?",
    ]
    assert all(v.source_id == "zorbanib#q1" for v in variants)
    assert len({v.id for v in variants}) == len(variants)
    assert all(v.answerable for v in variants)
    assert [v.asked_drug for v in variants] == ["Zorbanib", "Zorbanib", "Zorbix", "zorbnib"]


def test_question_variants_without_alias_skip_brand() -> None:
    kinds = [v.kind for v in question_variants("x#q1", "Dose of Zorbanib?", "Zorbanib")]
    assert "brand" not in kinds
    assert kinds == ["original", "terse", "misspelling"]


# ---------------------------------------------------------------------------
# Unanswerable probes
# ---------------------------------------------------------------------------


def test_attribute_probes_without_text_are_all_returned() -> None:
    probes = attribute_probes("zorbanib", "Zorbanib")
    assert len(probes) == len(ATTRIBUTE_PROBES)
    assert all(not p.answerable and p.kind == "unanswerable_attribute" for p in probes)
    assert all("Zorbanib" in p.question for p in probes)
    assert "How much does Zorbanib cost?" in [p.question for p in probes]
    assert len({p.id for p in probes}) == len(probes)


def test_attribute_probes_skip_what_the_monograph_states() -> None:
    text = "Store below 25 °C in the original package. Film-coated white round tablets."
    names = {p.id.rsplit(":", 1)[1] for p in attribute_probes("z", "Zorbanib", text)}
    assert "storage_temperature" not in names
    assert "appearance" not in names
    assert {"price", "shelf_life", "trials", "manufacturer"} <= names


def test_drugs_not_in_corpus_excludes_names_and_mentions() -> None:
    candidates = ["metformin", "warfarin", "digoxin", "aripiprazole", "lithium"]
    corpus_names = ["Zorbanib", "Abilify", "aripiprazole"]
    texts = ["Zorbanib enhances the effect of Warfarin.", "Lithiumcarbonate is unrelated."]
    assert drugs_not_in_corpus(corpus_names, texts, candidates) == [
        "metformin",
        "digoxin",
        "lithium",
    ]
    assert drugs_not_in_corpus(["metformin"], (), ["metformin"]) == []


def test_known_drugs_are_distinct_lowercase_names() -> None:
    assert len(set(KNOWN_DRUGS)) == len(KNOWN_DRUGS) >= 100
    assert all(d == d.lower() and d.isalpha() for d in KNOWN_DRUGS)


def test_other_drug_probes_round_robin_with_offset() -> None:
    questions = [("z#q1", "Dose of Zorbanib?"), ("z#q2", "Is it safe in pregnancy?")]
    probes = other_drug_probes(questions, "Zorbanib", ["Zorbix"], ["metformin", "digoxin"], 1)
    assert [p.question for p in probes] == [
        "Dose of digoxin?",
        "Is it safe in pregnancy taking metformin?",
    ]
    assert [p.source_id for p in probes] == ["z#q1", "z#q2"]
    assert all(p.kind == "unanswerable_drug" and not p.answerable for p in probes)
    assert other_drug_probes(questions, "Zorbanib", [], []) == []


# ---------------------------------------------------------------------------
# A real monograph
# ---------------------------------------------------------------------------


def test_monograph_variants_on_the_seed_monograph() -> None:
    mono = parse_file(CORPUS / "pomalidomide.md")
    text = (CORPUS / "pomalidomide.md").read_text(encoding="utf-8")
    others = drugs_not_in_corpus(mono.aliases, [text])
    # The monograph mentions warfarin (interactions): never asked about as an absent drug.
    assert "warfarin" not in others

    variants = monograph_variants(mono, others)
    assert variants == monograph_variants(mono, others)  # deterministic
    assert len({v.id for v in variants}) == len(variants)

    n = len(mono.faqs)
    kinds = [v.kind for v in variants]
    assert kinds.count("original") == n
    assert kinds.count("brand") == n
    assert kinds.count("misspelling") == n
    assert kinds.count("unanswerable_drug") == n
    assert kinds.count("unanswerable_attribute") >= 1

    first = faq_id(mono, 0)
    from_first = {v.kind: v for v in variants if v.source_id == first}
    assert from_first["original"].question == mono.faqs[0].question
    assert from_first["brand"].asked_drug in mono.aliases
    assert from_first["brand"].asked_drug in from_first["brand"].question
    assert mono.title.lower() not in from_first["misspelling"].question.lower()
    assert from_first["terse"].question.startswith(mono.title.lower())

    for v in variants:
        if v.kind == "unanswerable_drug":
            assert v.asked_drug in others
            assert v.asked_drug in v.question
            assert not mentions(v.question, mono.aliases)

    stated = monograph_text(mono)
    for probe in (v for v in variants if v.kind == "unanswerable_attribute"):
        spec = next(p for p in ATTRIBUTE_PROBES if probe.id.endswith(":" + p.name))
        assert not re.search(spec.evidence, stated, re.IGNORECASE)
