from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from monorag.eval.metrics import (
    abstention_accuracy,
    citation_precision,
    embedding_similarity,
    fact_in,
    facts_in,
    hit_at_k,
    key_fact_recall,
    key_facts,
    mean_defined,
    normalize_text,
    reciprocal_rank,
    rouge_l,
    section_matches,
    sentence_coverage,
    stem,
    token_f1,
    tokens,
)
from monorag.ingest.parse import parse_file

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Days 1 to 21", "days 1-21"),
        ("days 1\u201321", "days 1-21"),
        ("days 1 - 21", "days 1-21"),
        ("every four weeks", "every 4 weeks"),
        ("73 percent", "73%"),
        ("73 %", "73%"),
        ("**Warfarin**:   INR", "warfarin : inr"),
        ("Pomalyst®", "pomalyst"),
        ("Quellatrin™ 5 mg", "quellatrin 5 mg"),
        ("1,000 mg", "1000 mg"),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_tokens_keep_ranges_and_split_hyphenated_words() -> None:
    assert tokens("days 1-21 of a 28-day cycle") == ["day", "1-21", "of", "a", "28", "day", "cycle"]
    assert tokens("CYP1A2 and P-gp") == ["cyp1a2", "and", "p", "gp"]
    assert tokens("3mg") == ["3", "mg"]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("weeks", "week"),
        ("therapies", "therapy"),
        ("crosses", "cross"),
        ("analysis", "analysis"),
        ("status", "status"),
        ("cbcs", "cbc"),
        ("1-21", "1-21"),
        ("gas", "gas"),
    ],
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


# ---------------------------------------------------------------------------
# Key facts
# ---------------------------------------------------------------------------


def test_key_facts_quantities_and_schedules() -> None:
    ref = (
        "Give 4 mg orally once daily on days 1-21 of a 28-day cycle; repeat every 4 weeks. "
        "About 73% is excreted renally, with a half-life of 7 to 9 hours."
    )
    facts = key_facts(ref)
    for fact in ["4 mg", "days 1-21", "28-day cycle", "every 4 weeks", "73%", "7 to 9 hours"]:
        assert fact in facts
    # A bare number without a unit is not a fact on its own.
    assert "1-21" not in facts


def test_key_facts_day_lists() -> None:
    facts = key_facts("Dexamethasone 20 mg on days 1, 8, 15, and 22.")
    assert "days 1, 8, 15, and 22" in facts
    assert "20 mg" in facts


def test_key_facts_names_by_general_patterns() -> None:
    ref = (
        "Strong CYP1A2 inhibitors such as fluvoxamine raise exposure; P-gp inhibitors too. "
        "Monitor INR with warfarin. Brand names include Zorbix® and Quellatrin™."
    )
    facts = key_facts(ref)
    for fact in ["CYP1A2", "fluvoxamine", "P-gp", "INR", "warfarin", "Zorbix", "Quellatrin"]:
        assert fact in facts
    # Ordinary words are not names.
    assert "Strong" not in facts and "Monitor" not in facts


def test_key_facts_vocabulary_finds_names_without_a_drug_suffix() -> None:
    ref = "Avoid combining it with Revlimid or grapefruit."
    assert "Revlimid" not in key_facts(ref)
    assert "Revlimid" in key_facts(ref, vocabulary=["revlimid"])


def test_key_facts_enumeration_items() -> None:
    ref = (
        "Common side effects include fatigue, anemia, back pain, and upper respiratory infections."
    )
    facts = key_facts(ref)
    assert facts == ["fatigue", "anemia", "back pain", "upper respiratory infections"]


def test_key_facts_non_oxford_list_and_bullets() -> None:
    assert key_facts("Side effects are nausea, rash and headache.") == [
        "nausea",
        "rash",
        "headache",
    ]
    bullets = "* Breastfeeding.\n* Severe hepatic impairment\n* Patients should not drive."
    assert key_facts(bullets) == ["Breastfeeding", "Severe hepatic impairment"]


def test_key_facts_clause_is_not_an_enumeration() -> None:
    ref = "No, it is contraindicated in both pregnancy and breastfeeding due to its potential."
    assert key_facts(ref) == []


def test_key_facts_ignore_and_dedupe() -> None:
    ref = "Zorbanib interacts with warfarin. Warfarin needs INR checks; INR weekly."
    facts = key_facts(ref, vocabulary=["Zorbanib"], ignore=["zorbanib"])
    assert "Zorbanib" not in facts
    assert facts.count("warfarin") + facts.count("Warfarin") == 1
    assert facts.count("INR") == 1


def test_key_facts_no_facts() -> None:
    assert key_facts("") == []
    assert key_facts("It should be taken with water.") == []


# ---------------------------------------------------------------------------
# Key-fact recall
# ---------------------------------------------------------------------------

REF = "The dose is 4 mg once daily on days 1-21 of a 28-day cycle. Monitor INR with warfarin."


def test_recall_full_with_normalised_variants() -> None:
    answer = "Take 4mg daily, days 1 to 21 of each 28 day cycle; check the inr if on Warfarin."
    result = key_fact_recall(answer, REF)
    assert result.missing == []
    assert result.recall == 1.0
    assert set(result.found) == {"4 mg", "days 1-21", "28-day cycle", "INR", "warfarin"}


def test_recall_unicode_dash_and_number_words() -> None:
    result = key_fact_recall(
        "Dose every four weeks on days 1\u201321.", "Days 1-21, every 4 weeks."
    )
    assert result.recall == 1.0


def test_recall_partial() -> None:
    result = key_fact_recall("The dose is 4 mg on days 1-21.", REF)
    assert result.found == ["4 mg", "days 1-21"]
    assert set(result.missing) == {"28-day cycle", "INR", "warfarin"}
    assert result.recall == pytest.approx(2 / 5)


def test_recall_zero_for_unrelated_answer() -> None:
    result = key_fact_recall("I cannot find this in the monographs.", REF)
    assert result.found == []
    assert result.recall == 0.0


def test_recall_wrong_numbers_score_zero() -> None:
    result = key_fact_recall("The dose is 5 mg on days 1-14 of a 21-day cycle.", REF)
    assert {"4 mg", "days 1-21", "28-day cycle"} <= set(result.missing)
    assert key_fact_recall("Take 14 mg.", "Take 4 mg.").recall == 0.0
    # The number and the unit must be adjacent, not merely both present.
    assert key_fact_recall("4 weeks of 10 mg", "Take 4 mg.").recall == 0.0


def test_recall_undefined_without_facts() -> None:
    result = key_fact_recall("anything", "It should be taken with water.")
    assert result.recall is None
    assert result.found == [] and result.missing == []


def test_fact_in_plural_and_inserted_words() -> None:
    assert fact_in("severe allergic reactions", "a severe allergic reaction")
    assert fact_in("severe liver injury", "severe and acute liver injury")
    assert not fact_in("severe liver injury", "liver injury")
    assert not fact_in("severe liver injury", "injury to the liver, severe")
    facts = ["severe liver injury", "4 mg", "INR"]
    text = "Severe liver injury; check INR."
    assert facts_in(facts, text) == [fact_in(f, text) for f in facts] == [True, False, True]


def test_recall_acronym_plurals_codes_and_thousands() -> None:
    ref = "Avoid SSRIs; IL-6 rises; give 1,000 IU."
    assert key_facts(ref) == ["SSRI", "IL-6", "1000 IU"]
    assert key_fact_recall("no SSRI, il-6 and 1000 iu", ref).recall == 1.0
    assert key_fact_recall("il 6 and 100 iu", ref).found == ["IL-6"]


def test_recall_ignores_parenthetical_remarks_in_the_answer() -> None:
    ref = "Side effects: stomach pain, nausea, and itchy skin."
    answer = "Stomach (abdominal) pain, nausea, and itchy (dry) skin."
    assert key_fact_recall(answer, ref).recall == 1.0


def test_every_text_states_its_own_key_facts() -> None:
    mono = parse_file(CORPUS / "pomalidomide.md")
    texts = [s.text for s in mono.all_sections()] + [f.answer for f in mono.faqs]
    defined = 0
    for text in texts:
        result = key_fact_recall(text, text, mono.aliases)
        assert result.recall in (None, 1.0), result.missing
        defined += result.recall is not None
    assert defined > len(texts) // 2


def test_recall_lists() -> None:
    ref = "Serious side effects include thromboembolism, neutropenia, and severe liver injury."
    result = key_fact_recall("Watch for neutropenia and thromboembolism.", ref)
    assert result.found == ["thromboembolism", "neutropenia"]
    assert result.missing == ["severe liver injury"]


def test_recall_against_real_monograph_sections() -> None:
    mono = parse_file(CORPUS / "pomalidomide.md")
    by_heading = {s.heading: s.text for s in mono.all_sections()}
    dosage_faq = next(f for f in mono.faqs if "dosage" in f.question.lower())
    adults = next(text for heading, text in by_heading.items() if heading.endswith("Adults"))
    children = next(text for heading, text in by_heading.items() if heading.endswith("Children"))
    assert key_fact_recall(adults, dosage_faq.answer, mono.aliases, mono.aliases).recall == 1.0
    assert key_fact_recall(children, dosage_faq.answer, mono.aliases, mono.aliases).recall == 0.0


# ---------------------------------------------------------------------------
# Token F1 and ROUGE-L
# ---------------------------------------------------------------------------


def test_token_f1() -> None:
    assert token_f1("The dose is 4 mg.", "the dose is 4 mg") == 1.0
    assert token_f1("the cat sat", "the cat ran") == pytest.approx(0.5)
    assert token_f1("weekly blood counts", "blood count weekly") == 1.0
    assert token_f1("alpha beta", "gamma delta") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("", "something") == 0.0
    assert token_f1("something", "") == 0.0


def test_rouge_l() -> None:
    assert rouge_l("x y z w", "x y z w") == 1.0
    assert rouge_l("x y z w", "x z w v") == pytest.approx(0.75)
    # Order matters for ROUGE-L, not for token F1.
    assert rouge_l("w z y x", "x y z w") == pytest.approx(0.25)
    assert token_f1("w z y x", "x y z w") == 1.0
    assert rouge_l("alpha beta", "gamma delta") == 0.0
    assert rouge_l("", "") == 1.0
    assert rouge_l("", "x") == 0.0


def test_rouge_l_unequal_lengths() -> None:
    # LCS = 2 (a c), P = 2/2, R = 2/5 -> F = 2 * 1 * 0.4 / 1.4
    assert rouge_l("aa cc", "aa bb cc dd ee") == pytest.approx(0.8 / 1.4)


# ---------------------------------------------------------------------------
# Embedding similarity
# ---------------------------------------------------------------------------


def letter_counts(texts: Sequence[str]) -> np.ndarray:
    """A tiny deterministic embedding: counts of the letters a-z."""
    out = np.zeros((len(texts), 26))
    for row, text in enumerate(texts):
        for ch in text.lower():
            if "a" <= ch <= "z":
                out[row, ord(ch) - ord("a")] += 1
    return out


def test_embedding_similarity() -> None:
    assert embedding_similarity("abc", "cba", letter_counts) == pytest.approx(1.0)
    assert embedding_similarity("aaa", "bbb", letter_counts) == 0.0
    assert embedding_similarity("aab", "abb", letter_counts) == pytest.approx(0.8)
    assert embedding_similarity("123", "abc", letter_counts) == 0.0


def test_embedding_similarity_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match="returned 1 vectors"):
        embedding_similarity("a", "b", lambda texts: np.ones((1, 3)))


VECTORS = {
    "Take 4 mg daily.": [1.0, 0.0, 0.0],
    "Avoid grapefruit.": [0.0, 1.0, 0.0],
    "The daily dose is 4 mg.": [0.9, 0.0, 0.3],  # cosine 0.95 with the first sentence
    "Store it cold.": [0.0, 0.0, 1.0],
}


def table_embed(texts: Sequence[str]) -> np.ndarray:
    return np.asarray([VECTORS[t] for t in texts], dtype=np.float64)


def test_sentence_coverage() -> None:
    reference = "Take 4 mg daily. Avoid grapefruit."
    # One of two reference sentences restated; the other part does not dilute it.
    assert sentence_coverage("The daily dose is 4 mg.", reference, table_embed) == 0.5
    both = "The daily dose is 4 mg. Avoid grapefruit."
    assert sentence_coverage(both, reference, table_embed) == 1.0
    assert sentence_coverage("Store it cold.", reference, table_embed) == 0.0
    assert sentence_coverage("", reference, table_embed) == 0.0
    assert sentence_coverage("Store it cold.", "", table_embed) is None
    # A stricter threshold than the restatement's similarity: not covered.
    strict = sentence_coverage("The daily dose is 4 mg.", reference, table_embed, threshold=0.99)
    assert strict == 0.0


def test_sentence_coverage_rejects_wrong_count() -> None:
    with pytest.raises(ValueError, match="wrong number"):
        sentence_coverage("a b c.", "d e f.", lambda texts: np.ones((1, 3)))


# ---------------------------------------------------------------------------
# Retrieval
# ---------------------------------------------------------------------------


def test_section_matches_prefix_of_path_components() -> None:
    assert section_matches("Dosage › Special Cases", "Dosage")
    assert section_matches("dosage › special cases:", "Dosage › Special Cases")
    assert section_matches("Dosage > Special Cases", "Dosage")
    assert not section_matches("Dosage Adjustments", "Dosage")
    assert not section_matches("Dosage", "Dosage › Special Cases")
    assert not section_matches("Side Effects", "Dosage")
    assert not section_matches("Dosage", "")
    assert section_matches("Pomalidomide › Dosage › Adults", "Pomalidomide › Dosage")
    assert not section_matches("Lenalidomide › Dosage", "Pomalidomide › Dosage")


RETRIEVED = ["Usage", "Dosage › Standard Dosage › Adults", "Side Effects"]


def test_hit_at_k() -> None:
    assert hit_at_k(RETRIEVED, {"Dosage"}, 1) == 0.0
    assert hit_at_k(RETRIEVED, {"Dosage"}, 2) == 1.0
    assert hit_at_k(RETRIEVED, {"Contraindications"}, 3) == 0.0
    assert hit_at_k([], {"Dosage"}, 3) == 0.0
    assert hit_at_k(RETRIEVED, set(), 3) is None
    with pytest.raises(ValueError):
        hit_at_k(RETRIEVED, {"Dosage"}, 0)


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(RETRIEVED, {"Dosage"}) == pytest.approx(0.5)
    assert reciprocal_rank(RETRIEVED, {"Usage", "Dosage"}) == 1.0
    assert reciprocal_rank(RETRIEVED, {"Side Effects"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(RETRIEVED, {"Side Effects"}, k=2) == 0.0
    assert reciprocal_rank(RETRIEVED, {"Precautions"}) == 0.0
    assert reciprocal_rank(RETRIEVED, []) is None


def test_citation_precision() -> None:
    cited = ["Dosage › Standard Dosage › Adults", "Drug Profile Summary", "Usage"]
    assert citation_precision(cited, {"Dosage"}) == pytest.approx(1 / 3)
    assert citation_precision(cited, {"Dosage"}, supported={"Drug Profile Summary"}) == (
        pytest.approx(2 / 3)
    )
    assert citation_precision(cited, {"Precautions"}) == 0.0
    assert citation_precision(["Dosage › Adults"], {"Dosage"}) == 1.0
    assert citation_precision([], {"Dosage"}) is None


@dataclass
class Outcome:
    should_abstain: bool
    abstained: bool


def test_abstention_accuracy() -> None:
    score = abstention_accuracy(
        [Outcome(True, True), Outcome(False, False), Outcome(False, True), (True, False)]
    )
    assert score.n == 4
    assert score.correct == 2
    assert score.false_abstentions == 1
    assert score.missed_abstentions == 1
    assert score.accuracy == pytest.approx(0.5)


def test_abstention_accuracy_all_wrong_and_empty() -> None:
    assert abstention_accuracy([(True, False), (False, True)]).accuracy == 0.0
    assert abstention_accuracy([]).accuracy is None


def test_mean_defined() -> None:
    assert mean_defined([1.0, None, 0.0, float("nan")]) == pytest.approx(0.5)
    assert mean_defined([None, None]) is None
    assert mean_defined([]) is None
