"""Clinical shorthand spelt out (``monorag.qa.shorthand``): "does X cause afib?" found
nothing although the monograph lists atrial fibrillation, because neither the embedding
model nor the lexical index relates the two. Fast tier: hash embedder, in-memory index."""

from __future__ import annotations

from pathlib import Path

from monorag.embed import HashEmbedder
from monorag.lexicon import ABBREVIATIONS
from monorag.qa.shorthand import LAY, SHORTHAND, spelt_out
from tests.conftest import engine_over


def test_shorthand_is_spelt_out_beside_itself() -> None:
    assert spelt_out("does it cause afib?") == "does it cause afib (atrial fibrillation)?"
    assert spelt_out("what sx do i warn about") == "what sx (symptoms) do i warn about"
    assert spelt_out("20 mg PO BID") == "20 mg PO (by mouth) BID (twice a day)"
    assert spelt_out("jivi prophy regimens?") == "jivi prophy (prophylaxis) regimens?"
    assert spelt_out("load for nstemi") == (
        "load for nstemi (non-ST-segment elevation myocardial infarction)"
    )
    assert spelt_out("25 mg nocte") == "25 mg nocte (at night)"
    assert spelt_out("ok in bf?") == "ok in bf (breastfeeding)?"
    assert spelt_out("N/V on it?") == "N/V (nausea and vomiting) on it?"
    assert "stevens-johnson syndrome" in spelt_out("had SJS on it years ago")


def test_clinicians_terms_get_the_leaflets_words() -> None:
    """Leaflets count pregnancy in months ("more than 3 months pregnant")."""
    assert spelt_out("ok in the second trimester?") == (
        "ok in the second trimester (more than 3 months pregnant)?"
    )
    assert "vaccine injection" in spelt_out("same day as a flu jab?")
    assert spelt_out("max puffs a day?") == "max puffs (inhalations) a day?"


def test_words_that_contain_shorthand_are_left_alone() -> None:
    for text in ("mixed", "sob-story", "prnx", "afibrillation", "bid-1", "dosing"):
        assert spelt_out(text) == text


def test_ambiguous_shorthand_and_drug_abbreviations_are_not_in_the_table() -> None:
    """One meaning each: "od" (once daily, overdose), "tx" (treatment, transplant), "im"
    (intramuscular, "I'm") would be guesses; drug names belong to the drug lookup."""
    assert {"od", "tx", "im", "cap", "hr", "fn", "pe", "ra", "ms"}.isdisjoint(SHORTHAND)
    assert set(SHORTHAND).isdisjoint(ABBREVIATIONS)
    assert set(LAY).isdisjoint(SHORTHAND)


LEAFLET = """---
title: Cardivex
description: >-
  Cardivex is a test medicine for heart failure written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to take Cardivex

The recommended dose is one 10 mg tablet once a day, taken in the morning with water.

## 4. Possible side effects

Common side effects (may affect up to 1 in 10 people): headache, dizziness, nausea. Uncommon side effects (may affect up to 1 in 100 people): atrial fibrillation, fainting, rash.

## 5. How to store Cardivex

Store below 30 C in the original package in order to protect from moisture.
"""  # noqa: E501 - a leaflet's lines are as long as its paragraphs


def test_a_shorthand_question_finds_the_statement_in_the_monographs_words(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    engine = engine_over(tmp_path, {"cardivex.md": LEAFLET}, hash_embedder)
    answer = engine.ask("does cardivex cause afib?")
    assert "atrial fibrillation" in answer.text
    assert [c.section for c in answer.citations] == ["4. Possible side effects"]
