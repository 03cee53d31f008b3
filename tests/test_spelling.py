"""Typos of ordinary words (``monorag.qa.spelling``): respelt from the corpus's own words.

A misspelt word ("mechansim") matches no term and embeds as meaningless word pieces, so a
question the monograph plainly answers scored as if it asked about nothing and was
refused. Only words that neither the corpus nor English nor the drug vocabulary knows
are respelt, to the corpus word one edit away that keeps the first letter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monorag.embed import HashEmbedder, default_model_path
from monorag.lexicon import DrugLexicon
from monorag.qa.engine import Engine
from monorag.qa.spelling import Speller, english_words
from tests.conftest import engine_over
from tests.test_lexicon import CLINICAL_WORDS

VOCAB = {
    "mechanism": 40,
    "action": 90,
    "bradycardia": 12,
    "titration": 5,
    "reflex": 3,
    "pacing": 2,
    "pomegranate": 1,
    "grapefruit": 4,
}


@pytest.fixture(scope="module")
def english() -> frozenset[str]:
    vocab = json.loads((default_model_path() / "tokenizer.json").read_text())["model"]["vocab"]
    return frozenset(w for w in vocab if w.isalpha())


def test_a_swap_a_drop_and_an_extra_letter_are_respelt() -> None:
    speller = Speller(VOCAB)
    assert speller.respell("pomalidomide mechansim of action") == (
        "pomalidomide mechanism of action"
    )
    assert speller.correct("bradycardai") == "bradycardia"
    assert speller.correct("pomegranite") == "pomegranate"
    assert speller.correct("Grapefriut") == "grapefruit"


def test_words_that_are_known_or_short_or_two_edits_away_are_kept() -> None:
    speller = Speller(VOCAB, english={"spacing"})
    assert speller.correct("mechanism") is None  # already a corpus word
    assert speller.correct("spacing") is None  # an English word the corpus lacks
    assert speller.correct("actin") is None  # too short to correct safely
    assert speller.correct("mcehnaism") is None  # two edits
    assert speller.respell("dose 5 mg/kg, CrCl < 30?") == "dose 5 mg/kg, CrCl < 30?"


def test_the_first_letter_is_never_changed() -> None:
    """One edit at the start is how a word becomes another: a brand name the drug
    vocabulary lacks ("keflex") must not turn into "reflex"."""
    speller = Speller(VOCAB)
    assert speller.correct("keflex") is None
    assert speller.correct("spacing") is None


def test_drug_names_are_left_to_the_drug_lookup() -> None:
    """A drug the corpus lacks is never turned into a corpus word, and a misspelt drug
    name is resolved by the drug lookup (which knows the monographs in play), not here."""
    drugs = {"tacagrelor", "ticagrelor"}
    speller = Speller({"bradycardia": 1, "ticagrelor": 1}, is_drug=drugs.__contains__)
    assert speller.correct("tacagrelor") is None
    assert speller.correct("ticagrelr") is None


def test_the_most_frequent_corpus_word_wins() -> None:
    speller = Speller({"dosing": 50, "dosint": 1})
    assert speller.correct("dosinf") == "dosing"


def american(word: str) -> str:
    return word.replace("ae", "e").replace("oe", "e")


def test_clinical_words_and_drug_names_spelt_right_stay_as_typed(
    english: frozenset[str], fast_engine: Engine
) -> None:
    """Correctly spelt clinical words and drug names are never changed, whatever the
    corpus lacks (the seed corpus's vocabulary is small: most of these are not in it),
    except a British spelling into the American one the corpus uses ("paediatric")."""
    from tests.test_lexicon import DRUG_NAMES

    lexicon = DrugLexicon(english)
    vocabulary = fast_engine._state.lexical.frequencies()
    speller = Speller(vocabulary, english | english_words(), lexicon.is_drug)
    words = [*CLINICAL_WORDS, *(n.replace("-", " ") for n in DRUG_NAMES)]
    changed = {w: speller.respell(w) for w in words if speller.respell(w) != w}
    assert {w: c for w, c in changed.items() if c != american(w)} == {}
    # Without the English list, the small corpus's "ligase" would take "lipase".
    bare = Speller(vocabulary, english, lexicon.is_drug)
    assert bare.correct("lipase") == "ligase"
    assert speller.correct("lipase") is None


MONOGRAPH = """---
title: Zorvatide
description: >-
  Zorvatide is a test medicine written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## **Dosage**

The recommended dose of zorvatide is 20 mg orally once daily with food.

## **Mechanism of Action**

Zorvatide inhibits the enzyme xanthine oxidase and so lowers the production of uric acid.

## **Storage**

Store below 25 C in the original package.
"""


def test_a_misspelt_question_is_answered_from_the_section_it_means(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    engine = engine_over(tmp_path, {"zorvatide.md": MONOGRAPH}, hash_embedder)
    answer = engine.ask("zorvatide mechansim?")
    assert not answer.abstained
    assert "mechanism" in answer.question
    assert any("Mechanism of Action" in c.section for c in answer.citations), answer


def test_a_typo_of_a_clinicians_term_the_corpus_lacks_is_respelt_and_spelt_out(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """The leaflet says "asthma", never "asthmatic": the speller still knows the terms the
    planner spells out, so "asthamtic" becomes "asthmatic (asthma)"."""
    leaflet = MONOGRAPH.replace(
        "## **Storage**",
        "## **Warnings**\n\nDo not take zorvatide if you have asthma or other breathing "
        "problems.\n\n## **Storage**",
    )
    engine = engine_over(tmp_path, {"zorvatide.md": leaflet}, hash_embedder)
    answer = engine.ask("zorvatide in an asthamtic?")
    assert "asthmatic (asthma)" in answer.question
    assert not answer.abstained
    assert "asthma or other breathing problems" in answer.text
