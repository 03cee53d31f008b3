"""The reader that picks the statement (qa/reader.py and its use in qa/answer.py).

One test per failure class of issue 12, on small monographs written here (not the bundled
one): the neighbouring statement (severity, child vs adult, a clearance range), the
companion line of a dosing section, list fragments and their lead-in, broad questions,
a follow-up interaction question, and the abstention signal (a statement without the
attribute asked). The engine tests run on the fast tier (hash embedder, in-memory index).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.conversation import Conversation
from monorag.qa.engine import Engine
from monorag.qa.reader import fit, intent_of, is_fragment
from tests.conftest import engine_over

MONOGRAPH = """---
title: Examplozan
description: >-
  Examplozan is a test medicine for multiple myeloma written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## Dosage

### Standard Dosage

* **Myeloma:** The recommended dose of examplozan for myeloma is 4 mg once daily on days 1-21 of a 28-day cycle.
* **Examplozan + Dexamethasone:** This is the standard regimen for myeloma.

### Special Cases

* **Patients with Hepatic Impairment:** For mild-to-moderate hepatic impairment, the examplozan dose is reduced to 3 mg daily. For severe hepatic impairment, the examplozan dose is reduced to 2 mg daily.
* **Patients with Renal Impairment:** Patients with a creatinine clearance of 30 to 60 mL/min take 3 mg daily. Patients with a creatinine clearance of less than 30 mL/min take 1 mg daily.

### Age

Adults: the examplozan dose is 10 mg once daily. Children aged 6 to 11 years: the examplozan dose is 5 mg once daily.

## Contraindications

Do not take Examplozan if:

* you are breastfeeding.
* you have had a severe allergic reaction to examplozan.
* you are taking rifampicin.

## Drug Interactions

* **Warfarin:** Examplozan may enhance the anticoagulant effect of warfarin. Close monitoring of INR is required.

## Administration

Swallow the examplozan capsules whole with a glass of water. Do not open or chew the capsules.
"""  # noqa: E501 - a monograph's lines are as long as its paragraphs


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    """An engine over the test monograph; abstention off so that every pick is visible."""
    folder = tmp_path_factory.mktemp("reader")
    return engine_over(folder, {"examplozan.md": MONOGRAPH}, hash_embedder)


# -- the question's intent --------------------------------------------------------------------


def test_intent_reads_targets_qualifiers_and_measures() -> None:
    severe = intent_of("examplozan in severe hepatic impairment - what dose?")
    assert "amount" in severe.targets
    assert severe.qualifiers == {"organ": {"hepatic"}, "severity": {"severe"}}
    renal = intent_of("dose if crcl 20?")
    assert renal.measures["clearance"] == (20.0, 20.0)
    assert renal.qualifiers["organ"] == {"renal"}
    child = intent_of("dose for an 8 yo?")
    assert child.qualifiers["age"] == {"child"}
    # A liver score is not a child; a missed dose is not an amount question.
    assert "age" not in intent_of("child-pugh B, can i use it?").qualifiers
    assert intent_of("missed dose, take it now?").targets == {"missed"}
    assert intent_of("how common is angioedema?").targets == {"frequency"}


def test_a_wish_for_a_baby_is_about_pregnancy_and_the_last_dose_is_no_dose_question() -> None:
    """ "She wants to try for a baby, how long after the last dose?" asks about conceiving
    after treatment: no child is treated and no amount is asked for. A baby given the drug
    is still a child."""
    trying = intent_of("examplozan - she wants to try for a baby, how long after the last dose?")
    assert trying.qualifiers == {"reproduction": {"pregnancy"}}
    assert "amount" not in trying.targets
    assert intent_of("can she have a baby on it?").qualifiers == {"reproduction": {"pregnancy"}}
    assert intent_of("dose for a baby of 3 months").qualifiers["age"] == {"child"}
    assert "amount" in intent_of("what is the next dose after a loading dose?").targets


def test_a_different_value_of_the_same_qualifier_is_a_conflict() -> None:
    severe = intent_of("dose in severe hepatic impairment?")
    mild = fit(severe, "For mild-to-moderate hepatic impairment, the dose is 3 mg daily.")
    right = fit(severe, "For severe hepatic impairment, the dose is 2 mg daily.")
    assert mild.conflicts == 1 and right.conflicts == 0 and right.matched == 2
    child = intent_of("dose for a child?")
    assert fit(child, "Adults: the dose is 10 mg once daily.").conflicts == 1
    gfr = intent_of("dose if GFR is 20?")
    assert fit(gfr, "With a GFR of 10 to 30 mL/min take 250 mg.").conflicts == 0
    assert fit(gfr, "With a GFR less than 10 mL/min take 250 mg.").conflicts == 1


def test_a_statement_without_the_asked_attribute_is_flagged() -> None:
    storage = intent_of("examplozan storage temperature?")
    assert fit(storage, "Swallow the capsules whole with a glass of water.").missing_targets == 1
    assert fit(storage, "Store below 25 °C.").missing_targets == 0
    per_kg = intent_of("dose in IU/kg for a bleed?")
    assert fit(per_kg, "The usual dose is 50 IU per kg every 3 days.").unit_missing is False
    assert fit(per_kg, "Each vial contains 1000 IU.").unit_missing is True
    assert fit(intent_of("what dose?"), "Each tablet contains 40 mg.").composition


def test_how_often_and_food_are_targets_of_their_own() -> None:
    """ "How many times a day" asks for a schedule, "with food?" for what the monograph
    says about meals; a dose question states its schedule anyway, and an adverse effect's
    "how often does it cause" is its frequency, not a schedule."""
    assert intent_of("how many times a day?").targets == {"regimen"}
    assert intent_of("ok with food?").targets == {"food"}
    assert intent_of("dose and how often?").targets == {"amount"}
    assert intent_of("how often does it cause a rash?").targets == {"frequency"}
    often = intent_of("how often to take it?")
    assert fit(often, "Take one tablet three times each day.").missing_targets == 0
    assert fit(often, "Swallow the tablet whole.").missing_targets == 1
    meals = intent_of("timing with meals?")
    assert fit(meals, "Take it 1 hour before meals.").missing_targets == 0
    assert fit(meals, "It passes into breast milk.").missing_targets == 1
    assert fit(meals, "Tetracyclines are excreted in human milk.").missing_targets == 1
    # A bare "how often" beside an effect asks how often the effect happens.
    assert intent_of("myocarditis after it - how often and who gets it").targets == {"frequency"}


def test_fragments() -> None:
    assert is_fragment("Breastfeeding.")
    assert is_fragment("How to store Examplozan")
    assert is_fragment("How much and how often to take?")
    assert not is_fragment("Do not take Examplozan if you are breastfeeding.")


# -- the answerer, end to end -----------------------------------------------------------------


def test_severe_gets_the_severe_line_not_its_neighbour(engine: Engine) -> None:
    answer = engine.ask("examplozan dose in severe hepatic impairment?")
    assert "2 mg" in answer.text
    assert "3 mg" not in answer.text
    # The item's label still says whom the line is about.
    assert "Hepatic Impairment" in answer.text


def test_child_gets_the_child_dose_not_the_adult_one(engine: Engine) -> None:
    answer = engine.ask("examplozan dose for a child of 8 years old?")
    assert "5 mg" in answer.text
    assert "10 mg" not in answer.text


def test_clearance_range_picks_the_matching_line(engine: Engine) -> None:
    answer = engine.ask("examplozan dose with creatinine clearance of 20?")
    assert "1 mg" in answer.text
    assert "3 mg" not in answer.text


def test_dose_question_gets_the_amount_not_the_companion_line(engine: Engine) -> None:
    answer = engine.ask("how much examplozan for myeloma?")
    assert "4 mg" in answer.text
    assert "standard regimen" not in answer.text


def test_a_list_item_is_quoted_with_its_lead_in(engine: Engine) -> None:
    answer = engine.ask("is examplozan ok if breastfeeding?")
    assert "Do not take Examplozan if" in answer.text
    assert "breastfeeding" in answer.text
    assert answer.text.split("[")[0].strip() != "you are breastfeeding."


def test_broad_question_gets_the_list(engine: Engine) -> None:
    answer = engine.ask("who should not take examplozan?")
    assert "Do not take Examplozan if" in answer.text
    for item in ("breastfeeding", "allergic reaction", "rifampicin"):
        assert item in answer.text


def test_follow_up_interaction_question(engine: Engine) -> None:
    conversation = Conversation()
    engine.ask("examplozan dose for myeloma?", conversation=conversation)
    answer = engine.ask("and with warfarin?", conversation=conversation)
    assert not answer.abstained
    assert "INR" in answer.text


def test_support_falls_when_the_statement_lacks_the_attribute(engine: Engine) -> None:
    """The abstention signal: no storage statement, so the best one has less support."""
    silent = engine.ask("examplozan capsules storage temperature?")
    stated = engine.ask("examplozan capsules swallow whole?")
    assert silent.trace is not None and stated.trace is not None
    assert (silent.trace.support or 0) < (stated.trace.support or 0) - 0.05


def test_reader_words_name_no_drug() -> None:
    """The word lists are general clinical language: no drug of the corpora is named."""
    import monorag.qa.reader as reader

    source = Path(reader.__file__).read_text(encoding="utf-8").lower()
    for drug in ("pomalidomide", "dexamethasone", "warfarin", "amoxicillin", "alogliptin"):
        assert drug not in source


def test_amounts_are_read_with_the_shared_unit_table() -> None:
    """An amount is a number in a dose unit or form of ``monorag.text.UNITS``, any spelling."""
    from monorag.qa.reader import TARGETS

    carries = TARGETS["amount"][1].search
    for text in ("Inject 5 millilitres.", "Take 250 µg.", "Give 2 puffs.", "Take two tablets."):
        assert carries(text), text
    for text in ("Patients over 50 kg.", "Levels above 5 ng/ml.", "Within 3 days.", "In 5%."):
        assert not carries(text), text


LIMITED = """---
title: Examplodrop
description: >-
  Examplodrop is a test eye drop for glaucoma written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to use Examplodrop

Always use this medicine exactly as your doctor has told you. Do not use more than one drop of Examplodrop in the affected eye twice daily. The recommended dose is one drop in the affected eye or eyes, twice a day, in the morning and in the evening. If you use other eye drops, leave at least 5 minutes between them.
"""  # noqa: E501 - a leaflet's lines are as long as its paragraphs


def test_a_dose_cap_is_not_the_dose() -> None:
    """ "Do not take more than ..." caps the dose; it answers "what is the maximum", not
    "what is the dose"."""
    cap = "Do not use more than one drop of Examplodrop in the affected eye twice daily."
    assert fit(intent_of("examplodrop dosing"), cap).limit
    assert fit(intent_of("examplodrop dose?"), "Doses should not exceed 20 mg a day.").limit
    assert not fit(intent_of("examplodrop max dose?"), cap).limit
    assert not fit(
        intent_of("examplodrop dose"), "The recommended dose is 1 drop twice a day."
    ).limit
    assert not fit(intent_of("examplodrop storage?"), cap).limit


def test_a_change_of_the_dose_is_not_the_dose() -> None:
    """ "Your doctor may adjust the dose to 2.5 mg" is how the dose may change: it answers
    a question about changing it, or about a case (a child, an impairment), not "what is
    the dose"."""
    change = "Your doctor may adjust the dose to 2.5 mg based on your response."
    assert fit(intent_of("examplodrop dose for ED"), change).adjustment
    assert fit(intent_of("examplodrop dose?"), "The dose may be reduced to 10 mg.").adjustment
    assert not fit(intent_of("can i reduce the examplodrop dose?"), change).adjustment
    assert not fit(intent_of("examplodrop dose in renal impairment"), change).adjustment
    assert not fit(intent_of("examplodrop dose"), "The usual dose is 5 mg once a day.").adjustment


def test_a_dose_question_gets_the_recommended_dose_not_its_cap(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    engine = engine_over(tmp_path, {"examplodrop.md": LIMITED}, hash_embedder)
    answer = engine.ask("examplodrop eye drops dosing")
    chosen = [c.text for c in answer.trace.candidates if c.chosen]
    assert chosen and chosen[0].startswith("The recommended dose is one drop"), chosen


HEADED = """---
title: Examplodip
description: >-
  Examplodip is a test medicine for high blood pressure written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2. What you need to know before you take Examplodip

Pregnancy and breast-feeding

Tell your doctor if you think you are pregnant. Examplodip is not recommended for mothers who are breast-feeding, especially a newborn baby or one born prematurely.

Driving and using machines

Examplodip may make you feel dizzy.
"""  # noqa: E501 - a leaflet's lines are as long as its paragraphs


def test_a_heading_line_is_never_the_answer_on_its_own(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """A leaflet's run-in heading ("Pregnancy and breast-feeding", a line of its own) is a
    fragment: the statement under it answers, however close the heading's words are."""
    engine = engine_over(tmp_path, {"examplodip.md": HEADED}, hash_embedder)
    answer = engine.ask("pregnancy and breast-feeding on examplodip?")
    chosen = [c.text for c in answer.trace.candidates if c.chosen]
    assert chosen and not is_fragment(chosen[0]), chosen
    assert "not recommended for mothers who are breast-feeding" in answer.text


def test_clinicians_shorthand_for_dialysis_a_choice_of_doses_and_a_child_who_ate_some() -> None:
    """ "Pt on HD" is on haemodialysis; "2.5 or 5 bid?" asks which amount; a toddler who
    "got into the tube and ate some" took an overdose. None of them is read into "hd" or
    "ate" alone."""
    hd = intent_of("afib pt on HD - 2.5 or 5 bid?")
    assert hd.qualifiers["organ"] == {"renal"} and "amount" in hd.targets
    assert "organ" not in intent_of("hd camera dose?").qualifiers
    assert intent_of("toddler got into the tube and ate some, make her vomit?").targets == {
        "overdose"
    }
    assert "overdose" not in intent_of("can i take it after i ate?").targets


def test_a_patient_outside_a_dose_statements_exception_is_no_conflict() -> None:
    """ "5 mg twice daily, reduced to 2.5 mg twice daily if 80 years of age or older": a
    68-year-old on dialysis gets the main dose; the ages the statement names are the
    exception's. A range of the main clause itself still conflicts."""
    sentence = (
        "In patients on hemodialysis the recommended dose is 5 mg twice daily, reduced to "
        "2.5 mg twice daily if the patient is 80 years of age or older."
    )
    patient = intent_of("pt on HD, 68yo - 2.5 or 5 bid?")
    read = fit(patient, sentence)
    assert read.conflicts == 0 and read.matched >= 2 and not read.unstated
    main_only = (
        "In patients 80 years of age or older on hemodialysis the dose is 2.5 mg twice daily."
    )
    assert fit(patient, main_only).conflicts


def test_a_flattened_tables_weight_band_is_one_band_and_states_a_childs_case() -> None:
    """ "20 kg - < 80 kg Single dose of 40 mg": one band [20, 80], not "< 80"; a child of
    35 kg falls in it, so it states the child's dose. Adults' bands still conflict."""
    child = intent_of("xofluza for an 11yo 35kg - dose?")
    band = fit(child, "20 kg - < 80 kg Single dose of 40 mg taken as")
    assert band.matched and not band.conflicts and not band.unstated
    assert fit(child, "80 kg or more Single dose of 80 mg").conflicts
    assert fit(child, "Adults weighing 20 kg to less than 80 kg take 40 mg.").conflicts


def test_a_dose_stated_relative_to_the_usual_one_is_an_amount() -> None:
    """ "Reduced by approximately 50%" answers "how much do I cut the dose?"; a share of
    patients is no amount."""
    cut = intent_of("examplozan in cirrhosis - how much do i cut the dose")
    assert fit(cut, "Doses should be reduced by approximately 50% in hepatic impairment.").targets
    assert fit(cut, "In hepatic impairment give half the usual dose.").targets
    assert not fit(cut, "In hepatic impairment 50% of patients had nausea.").targets
