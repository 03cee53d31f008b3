"""A question that names the kind of number it wants ("what %", "how many weeks", "in
mmol/L") is answered only by a statement carrying a number of that kind (issue 12, class 7:
a nearby unrelated sentence quoted where the monograph is silent). A dose question naming an
indication the monograph gives no dose for is refused, not answered with another
indication's dose. Written monographs, fast tier (hash embedder, in-memory index).
"""

from __future__ import annotations

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.engine import Engine
from monorag.qa.reader import asked_scope, fit, intent_of, names_phrase, scoped_elsewhere
from tests.conftest import engine_over

LEAFLET = """---
title: Numberix
description: >-
  Numberix is a test vaccine written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 1. What Numberix is and what it is used for

Numberix is a vaccine used to protect people 50 years of age or older against shingles. It helps the body build its own protection against the virus.

## 4. Possible side effects

Redness at the injection site occurred in 12% of the people vaccinated. Pain at the injection site may last for 3 days.
"""  # noqa: E501

USPI = """---
title: Indicamab
description: >-
  Indicamab is a test medicine for arthritis and leukaemia written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2 DOSAGE AND ADMINISTRATION

### 2.1 Recommended Dosage

For adults with rheumatoid arthritis, the recommended starting dosage of indicamab is 7.5 mg orally once weekly. For acute lymphoblastic leukemia (ALL), the recommended dosage of indicamab is 20 mg/m² orally once weekly as part of a maintenance regimen.

### 2.4 Dosage in Hepatic Impairment

No dosage adjustment is needed in mild hepatic impairment; in severe hepatic impairment the dose of indicamab should be reduced to 2.5 mg orally once weekly.
"""  # noqa: E501


STRENGTHS = """---
title: Strengthol
description: >-
  Strengthol is a test long-acting injection written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How Strengthol is given

Your doctor or nurse will give you the injection into a muscle of the upper arm or buttock.

## 6. Contents of the pack

Each Strengthol 350 mg pre-filled syringe contains 546 mg strengthol palmitate in 1.75 mL.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    """An engine over the two monographs; abstention off so that only the gates refuse."""
    monographs = {"numberix.md": LEAFLET, "indicamab.md": USPI, "strengthol.md": STRENGTHS}
    return engine_over(tmp_path_factory.mktemp("asked"), monographs, hash_embedder)


def test_what_number_a_question_asks_for() -> None:
    assert intent_of("what % of patients respond?").asked == "a percentage"
    assert intent_of("how many weeks does it last?").asked == "a number of weeks"
    # As clinicians shorten them.
    assert intent_of("run it over how many mins?").asked == "a number of minutes"
    assert intent_of("held how many wks before surgery?").asked == "a number of weeks"
    assert intent_of("over how many hrs?").duration == "hours"
    assert intent_of("max correction in mmol/L per day?").asked.startswith("a figure in mmol")
    assert intent_of("dose per m2?").asked == "a figure per m2"
    assert intent_of("what dose?").asked == ""


def test_a_number_the_question_gives_is_not_what_it_asks_for() -> None:
    """ "EF 35%" and "the 270 mcg/kg bolus" state the patient's value and the dose asked
    about: a statement without a percentage (or a figure in mcg/kg) may still answer."""
    assert intent_of("start dose post MI w EF 35%, how fast to uptitrate?").asked == ""
    assert intent_of("can we use the single 270 mcg/kg bolus instead?").units == ()
    assert intent_of("dose in mcg/kg for a 20 kg child?").asked == "a figure in mcg/kg"


def test_an_age_is_not_a_duration() -> None:
    years = intent_of("how many years does protection last?")
    assert fit(years, "It protects people 50 years of age or older.").asked_missing
    assert not fit(years, "Protection lasts for at least 5 years.").asked_missing
    assert fit(intent_of("what % respond?"), "Most people respond.").asked_missing


def test_a_percentage_not_stated_is_refused(engine: Engine) -> None:
    answer = engine.ask("what % of patients respond to indicamab?")
    assert answer.abstained and "does not state a percentage" in answer.text


def test_a_percentage_stated_is_answered(engine: Engine) -> None:
    answer = engine.ask("what % get redness at the injection site with numberix?")
    assert not answer.abstained and "12%" in answer.text


def test_a_duration_not_stated_is_refused(engine: Engine) -> None:
    answer = engine.ask("how many years does numberix protection last?")
    assert answer.abstained and "50 years" not in answer.text


def test_a_duration_stated_is_answered(engine: Engine) -> None:
    answer = engine.ask("how many days does injection site pain from numberix last?")
    assert not answer.abstained and "3 days" in answer.text


def test_the_indication_a_dose_question_names() -> None:
    assert asked_scope("dose for ulcerative colitis?") == ["ulcerative", "colitis"]
    assert asked_scope("pomalyst dose for a dialysis patient?") == []
    ra = "For adults with rheumatoid arthritis, the dose is 7.5 mg."
    assert names_phrase(["ra"], (ra,)) and names_phrase(["rheumatoid", "arthritis"], (ra,))
    assert scoped_elsewhere(["crohn's"], ra) and not scoped_elsewhere(["ra"], ra)
    assert not scoped_elsewhere(["crohn's"], "The dose is 7.5 mg once weekly.")


def test_a_dose_for_an_indication_not_stated_is_refused(engine: Engine) -> None:
    answer = engine.ask("indicamab dose for crohn's disease?")
    assert answer.abstained
    assert "7.5 mg" not in answer.text and "20 mg" not in answer.text
    assert "crohn's" in answer.text


def test_a_dose_for_an_indication_the_monograph_never_names_is_refused(engine: Engine) -> None:
    """The monograph never names C. difficile: the closest dose line (the hepatic
    adjustment, scoped to no indication) is no dose for it. A case of the patient ("in
    severe liver impairment") is no indication, and is answered."""
    answer = engine.ask("indicamab po dose for c diff, first episode non severe?")
    assert answer.abstained, answer.text
    assert "does not state a dose for c diff" in answer.text
    hepatic = engine.ask("indicamab dose in severe hepatic impairment?")
    assert not hepatic.abstained and "2.5 mg" in hepatic.text
    # The drug's own name, misspelt after "dose for", is no indication.
    misspelt = engine.ask("What is the recommended dosage for indicamb?")
    assert "does not state a dose" not in misspelt.text


@pytest.mark.parametrize(
    "question", ["indicamab starting dose for RA", "indicamab dose for rheumatoid arthritis"]
)
def test_a_dose_for_the_indication_stated_is_answered(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert not answer.abstained and "7.5 mg" in answer.text


def test_a_strength_is_no_dose(engine: Engine) -> None:
    """No statement gives a dose: neither how it is given nor the pack strength is passed
    off as one. The refusal does not claim more than that the passages found do not say."""
    answer = engine.ask("strengthol dose when switching from the monthly injection?")
    assert answer.abstained and "546 mg" not in answer.text
    assert "do not answer" in answer.text
    # Naming an indication, the refusal says which dose is not stated.
    answer = engine.ask("strengthol dose for schizophrenia?")
    assert answer.abstained and "does not state a dose for schizophrenia" in answer.text


def test_a_content_question_is_no_dose_question(engine: Engine) -> None:
    answer = engine.ask("how many mg of strengthol palmitate are in one syringe?")
    assert not answer.abstained and "546 mg" in answer.text
