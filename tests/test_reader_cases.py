"""Lists of cases and frequency groups (issue 12, class 3: fragments). A lead-in ending in
":" that opens a short list of cases ("If you miss a dose and notice:" / "within 12 hours
..." / "12 hours or more ...") is quoted with every case, not the first alone; a leaflet's
frequency header ("Uncommon side effects (may affect up to 1 in 100 people)", no colon)
is the lead-in of its items, so "how common is X?" gets the frequency with the item.
Written monographs, fast tier (hash embedder, in-memory index).
"""

from __future__ import annotations

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.engine import Engine
from monorag.text import is_lead_in
from tests.conftest import engine_over

LEAFLET = """---
title: Casewin
description: >-
  Casewin is a test medicine for HIV written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to take Casewin

The recommended dose is one tablet once a day with food.

If you do miss a dose and notice:

* within 12 hours of the time you usually take Casewin, take the tablet as soon as possible.

* 12 hours or more after the time you usually take Casewin, do not take the missed dose.

## 4. Possible side effects

Common side effects (may affect up to 1 in 10 people)

* headache.
* feeling sick.

Uncommon side effects (may affect up to 1 in 100 people)

* increased spleen size.
* spleen rupture. Some cases of spleen rupture were fatal.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    """An engine over the leaflet; abstention off so that only the gates refuse."""
    return engine_over(tmp_path_factory.mktemp("cases"), {"casewin.md": LEAFLET}, hash_embedder)


def test_a_missed_dose_is_answered_with_every_case(engine: Engine) -> None:
    answer = engine.ask("casewin missed dose window")
    assert not answer.abstained
    assert "within 12 hours" in answer.text and "12 hours or more" in answer.text


def test_a_frequency_header_is_a_lead_in() -> None:
    assert is_lead_in("Uncommon side effects (may affect up to 1 in 100 people)")
    assert is_lead_in("Very common (may affect more than 1 in 10 people):")
    assert not is_lead_in(
        "Spleen rupture has been reported in patients given this medicine (rare)."
    )


def test_how_common_gets_the_frequency_group(engine: Engine) -> None:
    answer = engine.ask("spleen rupture with casewin - how common?")
    assert not answer.abstained and "1 in 100" in answer.text and "spleen rupture" in answer.text
    assert "1 in 10 people" not in answer.text


def test_a_question_naming_its_case_gets_no_other_case(engine: Engine) -> None:
    """ "Noticed 14 hours late" names its case: the other case is its neighbour."""
    answer = engine.ask("casewin missed dose, noticed 14 hrs late")
    assert not ("within 12 hours" in answer.text and "12 hours or more" in answer.text)


TITRATED = """---
title: Stepzantine
description: >-
  Stepzantine is a test medicine for dementia written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to take Stepzantine

The usual starting dose is half a tablet once a day (5 mg) for the first week. This is increased to one tablet once a day (10 mg) in the second week. From the third week on, the usual dose is 2 tablets once a day (20 mg). Swallow the tablets with some water.
"""  # noqa: E501 - a leaflet's lines are as long as its paragraphs


def test_a_schedule_is_quoted_step_by_step_to_its_last_dose(
    tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder
) -> None:
    """ "From the third week on, ..." continues the schedule as "This is increased to" does:
    without it, the answer stops at the second week's dose."""
    folder = tmp_path_factory.mktemp("titrated")
    engine = engine_over(folder, {"stepzantine.md": TITRATED}, hash_embedder)
    answer = engine.ask("stepzantine titration schedule")
    assert not answer.abstained
    for dose in ("5 mg", "10 mg", "20 mg"):
        assert dose in answer.text
    assert "Swallow" not in answer.text
