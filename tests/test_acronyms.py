"""Acronyms spelt out as the monographs define them (``monorag.ingest.acronyms``,
``monorag.qa.acronyms``).

"Dose for CAP?" where the leaflet says "pneumonia": neither the embedding model nor the
lexical index relates the two, so the dose for the other indication beside it was quoted.
Each monograph's definitions ("community-acquired pneumonia (CAP)") are read at ingest; a
question's acronym is followed by its long form. Fast tier: hash embedder, in-memory index.
"""

from __future__ import annotations

import logging
from pathlib import Path

from monorag.embed import HashEmbedder
from monorag.ingest.acronyms import defined_in
from monorag.qa.acronyms import Acronyms
from tests.conftest import engine_over


def test_definitions_are_read_from_the_text_in_brackets() -> None:
    text = (
        "It is used to treat non-small cell lung cancer (NSCLC) and generalised myasthenia "
        "gravis (gMG). Read all of this leaflet (see section 2). Each ml contains 10 "
        "international units (IU) of it; do not use it with warfarin (Coumadin)."
    )
    found = defined_in(text)
    assert found["NSCLC"] == "non-small cell lung cancer"
    assert found["gMG"] == "generalised myasthenia gravis"
    assert "Coumadin" not in found  # a brand in brackets is no acronym
    assert all(" " in long for long in found.values())


def test_reading_definitions_leaves_the_root_logger_alone() -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    defined_in("chronic kidney disease (CKD)")
    assert (list(root.handlers), root.level) == before


DEFINED = {
    "a": {"CAP": "community-acquired pneumonia", "UC": "ulcerative colitis"},
    "b": {"UC": "urothelial carcinoma", "ALL": "acute lymphoblastic leukaemia"},
    "c": {"MTX": "methotrexate sodium", "gMG": "generalized myasthenia gravis"},
    "d": {"gMG": "generalised myasthenia gravis"},
}


def acronyms() -> Acronyms:
    return Acronyms(DEFINED, english={"all", "cap"}, reserved=lambda w: w == "methotrexate")


def test_the_monographs_asked_about_define_first_then_the_corpus_if_it_agrees() -> None:
    spell = acronyms()
    assert spell.long_form("UC", ["b"]) == "urothelial carcinoma"
    assert spell.long_form("UC", ["a"]) == "ulcerative colitis"
    # Two long forms across the corpus: ambiguous for a monograph that defines neither.
    assert spell.long_form("UC", ["x"]) is None
    # Spellings of one long form agree.
    assert spell.long_form("gMG", ["x"]) in {
        "generalised myasthenia gravis",
        "generalized myasthenia gravis",
    }
    assert spell.long_form("MTX", ["c"]) is None  # a drug: the drug lookup's


def test_an_acronym_that_is_a_word_in_lower_case_must_be_typed_in_capitals() -> None:
    spell = acronyms()
    assert spell.spelt_out("dose for ALL?", ["b"]) == (
        "dose for ALL (acute lymphoblastic leukaemia)?"
    )
    assert spell.spelt_out("is it ok for all ages?", ["b"]) == "is it ok for all ages?"
    assert spell.spelt_out("cap or tablet?", ["a"]) == "cap or tablet?"
    assert spell.spelt_out("DOSE FOR ALL?", ["b"]) == "DOSE FOR ALL?"  # all in capitals
    assert spell.spelt_out("dose in gmg", ["d"]) == "dose in gmg (generalised myasthenia gravis)"


def test_an_acronym_the_text_already_spells_or_the_monographs_write_is_left() -> None:
    spell = acronyms()
    question = "dose for community-acquired pneumonia (CAP)?"
    assert spell.spelt_out(question, ["a"]) == question
    assert spell.spelt_out("dose for CAP?", ["a"], used=lambda t: t == "CAP") == "dose for CAP?"


OTHER = """---
title: Quenlafor
description: >-
  Quenlafor is a test antibiotic written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 1. What Quenlafor is and what it is used for

Quenlafor is used to treat community-acquired pneumonia (CAP) in adults.
"""

ASKED = """---
title: Zorvexin
description: >-
  Zorvexin is a test antibiotic written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How Zorvexin is given

The recommended dose is 300 mg twice a day for 5 to 14 days for skin infections.

Patients with pneumonia: 450 mg twice a day for 5 to 10 days.
"""


def test_a_dose_question_naming_an_acronym_gets_the_dose_for_what_it_stands_for(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    engine = engine_over(tmp_path, {"quenlafor.md": OTHER, "zorvexin.md": ASKED}, hash_embedder)
    answer = engine.ask("zorvexin dose for CAP?")
    assert "CAP (community-acquired pneumonia)" in answer.question
    assert not answer.abstained
    assert "450 mg" in answer.text, answer.text
    assert "300 mg" not in answer.text


PSORIASIS = """---
title: Plaxentor
description: >-
  Plaxentor is a test medicine written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to use Plaxentor

Psoriatic arthritis: the first dose is 160 mg, then 80 mg every 4 weeks.
"""

PROSTATE = """---
title: Quorandel
description: >-
  Quorandel is a test medicine written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2. Before you take Quorandel

Your doctor will measure your prostate-specific antigen (PSA) before each dose.
"""


def test_another_monographs_definition_is_not_read_into_a_question_about_one_that_never_uses_it(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """Only one leaflet defines PSA, as the prostate-specific antigen; a question about the
    psoriatic-arthritis leaflet typing "psa" is not about an antigen that leaflet never
    names, and is echoed as typed. The corpus's definition still spells out a question
    about a monograph that writes of what it stands for."""
    engine = engine_over(
        tmp_path, {"plaxentor.md": PSORIASIS, "quorandel.md": PROSTATE}, hash_embedder
    )
    answer = engine.ask("plaxentor for psa - loading and maintenance?")
    assert "antigen" not in answer.question
    spell = acronyms()
    assert spell.spelt_out("dose for CAP?", ["x"], written=lambda long: False) == "dose for CAP?"
    assert spell.spelt_out("dose for CAP?", ["x"], written=lambda long: True) == (
        "dose for CAP (community-acquired pneumonia)?"
    )
    # What the asked monograph defines itself needs no more.
    assert spell.spelt_out("dose for CAP?", ["a"], written=lambda long: False) == (
        "dose for CAP (community-acquired pneumonia)?"
    )
