"""A dose question reaches the dosing section, and its answer carries the whole schedule.

The leaflet below is written for these tests: its dosing section names neither the drug
nor the indication, while the use and pack sections name both, and the pack states a
strength ("a vial containing 50 mg") that must never pass for the dose.
"""

from __future__ import annotations

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.engine import Engine
from monorag.qa.reader import fit, intent_of
from tests.conftest import engine_over

CYCLOTREX = """---
title: Cyclotrex
description: >-
  Cyclotrex is a test medicine for acute myeloid leukaemia (AML) written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 1. What Cyclotrex is and what it is used for

Cyclotrex is used to treat acute myeloid leukaemia or AML. Cyclotrex is given to adults with AML who are newly diagnosed. You will be given Cyclotrex when you are first diagnosed with AML.

## 3. How to take Cyclotrex

Your doctor will work out how much you need from your height and weight.

The dose is 20 mg/m2 body surface area.

You will receive it every day for 5 days, then 3 weeks without the medicine. This is called a treatment cycle and it is repeated every 4 weeks. Your doctor may delay a dose if you have an infection.

## 4. Possible side effects

Cyclotrex for AML may cause fever and bleeding. Tell your doctor if Cyclotrex for AML makes you feel unwell.

## 6. Contents of the pack and other information

What Cyclotrex looks like: Cyclotrex for AML is a white powder. It is supplied in a 20 ml glass vial containing 50 mg Cyclotrex.
"""  # noqa: E501 - a leaflet's lines are as long as its paragraphs


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    folder = tmp_path_factory.mktemp("cyclotrex")
    return engine_over(folder, {"cyclotrex.md": CYCLOTREX}, hash_embedder)


def test_a_dose_question_reaches_the_dosing_section_the_search_missed(engine: Engine) -> None:
    """However few passages the search keeps, the dosing section is among them."""
    query = engine.plan("cyclotrex aml regimen")
    found = engine.retrieve_for(query, k=1).evidence
    assert any("How to take" in e.chunk.section for e in found), [e.chunk.name for e in found]


def test_the_dose_is_quoted_with_its_whole_schedule_not_the_vial_strength(
    engine: Engine,
) -> None:
    answer = engine.ask("cyclotrex aml regimen")
    assert not answer.abstained
    assert "20 mg/m2" in answer.text, answer.text
    # The schedule runs over two sentences after the amount: both come along.
    assert "every day for 5 days" in answer.text
    assert "every 4 weeks" in answer.text
    assert "50 mg" not in answer.text
    assert "delay" not in answer.text
    assert all("How to take" in c.section for c in answer.citations)


@pytest.mark.parametrize(
    ("text", "composition"),
    [
        ("It is supplied in a 20 ml glass vial containing 50 mg decitabine.", True),
        ("Each vial contains 100 mg of powder.", True),
        # A dose that says what each dose contains is a dose, not a strength.
        ("Children 6 months to 5 years: 2 doses (0.25 mL each, containing 25 micrograms).", False),
    ],
)
def test_a_vial_supplied_containing_an_amount_is_a_strength(text: str, composition: bool) -> None:
    assert fit(intent_of("what dose?"), text).composition is composition


MONTHLIX = """---
title: Monthlix
description: >-
  Monthlix is a test injection for osteoporosis written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to use Monthlix

Monthlix will be started by a specialist.

How much to use

* The recommended dose of Monthlix is 210 mg.
* Since one pen contains 105 mg, 2 pens must be used for each dose.
* Do this once every month for 12 months.

## 5. How to store Monthlix

Do not store above 25 C or below 15 C. Keep the pens in the outer carton. Since this medicine is given in the clinic, the hospital staff are responsible for its storage before use.
"""  # noqa: E501


@pytest.fixture(scope="module")
def monthly(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    folder = tmp_path_factory.mktemp("monthlix")
    return engine_over(folder, {"monthlix.md": MONTHLIX}, hash_embedder)


def test_the_schedule_in_the_next_list_item_comes_with_the_dose(monthly: Engine) -> None:
    """The amount's item is followed by the item that says how often and how long; the
    list's run-in sub-heading ("How much to use") is no statement and is not quoted."""
    answer = monthly.ask("monthlix dosing - how many pens and for how long")
    assert not answer.abstained
    assert "2 pens" in answer.text, answer.text
    assert "once every month for 12 months" in answer.text
    assert "How much to use" not in answer.text


def test_a_storage_temperature_question_is_answered_by_the_temperature(monthly: Engine) -> None:
    answer = monthly.ask("monthlix storage temp before the clinic visit?")
    assert not answer.abstained
    assert "25 C" in answer.text, answer.text
    assert "hospital staff" not in answer.text


@pytest.mark.parametrize(
    ("question", "temperature"),
    [
        ("holoclar storage temp?", True),
        ("max storage temperature for the pens", True),
        ("what temp should it be kept at", True),
        # Room temperature is the condition here; the question asks for a duration.
        ("pens at room temp - how long are they ok?", False),
        ("how to store it", False),
    ],
)
def test_a_question_asks_for_a_temperature_only_when_it_says_so(
    question: str, temperature: bool
) -> None:
    assert (intent_of(question).asked == "a storage temperature") is temperature
