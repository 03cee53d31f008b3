"""A dose question about a case the monograph does not give a dose for (issue 12: a wrong
dose for the wrong population).

"Dose if CrCl is 20?" over a monograph that states only the mild-to-moderate renal dose,
or "dose for a 7 year old?" over one that states only the adult dose, must not be answered
with the neighbouring case's amount: the answer says the monograph states no dose for that
case. A clearance range in the statement grades the severity it is about ("below 30 mL/min"
is severe); "kidney transplant" or "renal anaemia" names an organ but no impairment, so it
is no case. Written monographs, fast tier (hash embedder, in-memory index).
"""

from __future__ import annotations

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.conversation import Conversation
from monorag.qa.engine import Engine
from monorag.qa.reader import fit, intent_of, sub_population
from tests.conftest import engine_over

PARTIAL = """---
title: Casedrin
description: >-
  Casedrin is a test medicine for hypertension written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## Dosage

### Adults

The recommended dose of casedrin for hypertension is 20 mg once daily.

### Renal Impairment

* **Mild to moderate renal impairment (creatinine clearance 30 to 80 mL/min):** casedrin 10 mg once daily.

### Kidney Transplant Recipients

In kidney transplant recipients the casedrin dose is 15 mg once daily.

## Storage

Store casedrin below 25 °C.
"""  # noqa: E501 - a monograph's lines are as long as its paragraphs

GRADED = """---
title: Gradolin
description: >-
  Gradolin is a test medicine for infections written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## Dosage

### Adults and Children

Adults: gradolin 500 mg twice daily. Children aged 2 to 11 years: gradolin 10 mg/kg twice daily.

### Kidney Problems

Creatinine clearance 30 to 50 mL/min: gradolin 250 mg twice daily. Creatinine clearance below 30 mL/min: gradolin 250 mg once daily.
"""  # noqa: E501


LEAFLET = """---
title: Lostolin
description: >-
  Lostolin is a test medicine for anaemia written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to use Lostolin

Your doctor will check your blood pressure while you are using Lostolin. People with kidney disease

The usual starting dose of Lostolin is 50 IU per kilogram of body weight three times a week.

Your doctor may adjust the dose every four weeks. Adults on chemotherapy

The starting dose of Lostolin is 150 IU per kilogram three times a week.
"""

GENERAL = """---
title: Generol
description: >-
  Generol is a test medicine for myeloma written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## Dosage

### Elderly Patients

For elderly patients receiving generol with dexamethasone, a lower recommended starting dose of 2 mg is recommended.

### Standard Dosage

Dosage: 4 mg once daily on days 1-21 of a 28-day cycle.
"""  # noqa: E501

HEPATIC = """---
title: Hepatorin
description: >-
  Hepatorin is a test medicine for depression written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## Dosage

### Hepatic Impairment

In patients with mild hepatic impairment (Child-Pugh score 5 or 6), the recommended hepatorin starting dosage is half the usual daily dosage. The use of hepatorin in patients with moderate (Child-Pugh score 7 to 9) or severe hepatic impairment (Child-Pugh score 10 to 15) is not recommended.
"""  # noqa: E501

CAPPED = """---
title: Cappadrin
description: >-
  Cappadrin is a test antibiotic written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## Dosage

### Prophylaxis of Travellers' Fever

For adults, the recommended dose of cappadrin for prophylaxis of travellers' fever is 100 mg daily. For children over 8 years of age, the recommended dose is 2 mg/kg given once daily up to the adult dose. Prophylaxis should begin 1 to 2 days before travel and should be continued for 4 weeks after the traveller returns.
"""  # noqa: E501


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    """An engine over the two monographs; abstention off so that only the case gate refuses."""
    monographs = {
        "casedrin.md": PARTIAL,
        "gradolin.md": GRADED,
        "lostolin.md": LEAFLET,
        "generol.md": GENERAL,
        "hepatorin.md": HEPATIC,
        "cappadrin.md": CAPPED,
    }
    return engine_over(tmp_path_factory.mktemp("dose-case"), monographs, hash_embedder)


# -- the case a question asks about -----------------------------------------------------------


def test_the_case_of_a_dose_question() -> None:
    assert intent_of("dose if crcl 20?").case == {"renal", "severe"}
    assert intent_of("dose in moderate renal impairment?").case == {"renal", "moderate"}
    assert intent_of("dose on haemodialysis?").case == {"renal"}
    assert intent_of("dose for a 7 year old?").case == {"child"}
    # An organ without its impairment, an adult, a severe infection: no case.
    assert intent_of("dose after a kidney transplant?").case == frozenset()
    assert intent_of("dose for renal anaemia?").case == frozenset()
    assert intent_of("adult dose?").case == frozenset()
    assert intent_of("dose for a severe infection?").case == frozenset()


def test_a_statement_leaves_unstated_the_case_it_is_not_about() -> None:
    severe = intent_of("dose if crcl 20?")
    assert "severe" in fit(severe, "Creatinine clearance 30 to 80 mL/min: 10 mg daily.").unstated
    assert fit(severe, "Creatinine clearance below 30 mL/min: 5 mg daily.").unstated == ()
    child = intent_of("dose for a 7 year old?")
    assert fit(child, "Adults: 10 mg once daily.").unstated == ("child",)
    assert fit(child, "Children aged 6 to 11 years: 5 mg once daily.").unstated == ()


def test_a_clearance_range_grades_the_severity_it_is_about() -> None:
    severe = fit(intent_of("dose in severe renal impairment?"), "CrCl below 30 mL/min: 5 mg.")
    assert severe.unstated == () and severe.conflicts == 0 and severe.matched == 2
    moderate = intent_of("dose in moderate renal impairment?")
    assert fit(moderate, "Creatinine clearance 30 to 50 mL/min: 250 mg.").conflicts == 0
    assert fit(moderate, "Creatinine clearance below 30 mL/min: 250 mg.").conflicts == 1


def test_a_child_pugh_class_or_score_is_the_hepatic_severity() -> None:
    for question, severity in (
        ("child-pugh B, can i use it?", "moderate"),
        ("dose in child pugh class a cirrhosis?", "mild"),
        ("dose if Child-Pugh C?", "severe"),
        ("dose with a child-pugh score of 8?", "moderate"),
    ):
        assert intent_of(question).case == {"hepatic", severity}, question
    moderate = intent_of("dose in child-pugh b?")
    assert fit(moderate, "Child-Pugh score 5 or 6: half the dose.").conflicts == 1
    assert fit(moderate, "Child-Pugh score 7 to 9: not recommended.").conflicts == 0
    assert fit(moderate, "Child-Pugh A or B: no dose change.").conflicts == 0
    # Another score beside the name is no class ("Child-Pugh and MELD scores").
    assert intent_of("are Child-Pugh and MELD scores needed?").case == {"hepatic"}


def test_a_childrens_line_capped_at_the_adult_dose_is_about_children() -> None:
    adult = intent_of("adult dose?")
    capped = "Children over 8 years: 2 mg/kg once daily up to the adult dose."
    assert fit(adult, capped).conflicts == 1
    assert fit(adult, "Children over 45 kg should receive the adult dose.").conflicts == 1
    # A sentence that states the adults' dose itself stays about adults too.
    assert fit(adult, "The adult dose is 100 mg; children take half the adult dose.").conflicts == 0


# -- the answerer, end to end -----------------------------------------------------------------


def test_severe_renal_question_is_not_given_the_moderate_dose(engine: Engine) -> None:
    answer = engine.ask("casedrin dose if crcl 20?")
    assert answer.abstained
    assert "10 mg" not in answer.text
    assert "severe renal impairment" in answer.text and "Casedrin" in answer.text


def test_a_child_pugh_class_gets_its_own_line_not_the_milder_one(engine: Engine) -> None:
    answer = engine.ask("child-pugh B, can i use hepatorin?")
    assert not answer.abstained and "not recommended" in answer.text
    assert "half the usual" not in answer.text


def test_an_adults_dose_does_not_bring_the_childrens_line(engine: Engine) -> None:
    answer = engine.ask(
        "cappadrin for travellers fever prophylaxis in an adult - dose, and when to start?"
    )
    assert not answer.abstained and "100 mg daily" in answer.text
    assert "2 mg/kg" not in answer.text


def test_the_stated_case_is_answered(engine: Engine) -> None:
    answer = engine.ask("casedrin dose in moderate renal impairment?")
    assert not answer.abstained and "10 mg" in answer.text


def test_a_child_is_not_given_the_adult_dose(engine: Engine) -> None:
    answer = engine.ask("casedrin dose for a 7 year old?")
    assert answer.abstained
    assert "20 mg" not in answer.text and "children" in answer.text


def test_an_organ_without_its_impairment_is_no_case(engine: Engine) -> None:
    answer = engine.ask("casedrin dose after kidney transplant?")
    assert not answer.abstained and "15 mg" in answer.text


def test_the_graded_line_answers_the_severe_case(engine: Engine) -> None:
    answer = engine.ask("gradolin dose in severe renal impairment?")
    assert not answer.abstained
    assert "once daily" in answer.text and "twice daily" not in answer.text.split("[")[0]


def test_the_child_line_answers_the_child(engine: Engine) -> None:
    answer = engine.ask("gradolin dose for a 4 year old?")
    assert not answer.abstained and "10 mg/kg" in answer.text
    assert "500 mg" not in answer.text


def test_a_follow_up_keeps_the_case_gate(engine: Engine) -> None:
    conversation = Conversation()
    engine.ask("casedrin dose for hypertension?", conversation=conversation)
    answer = engine.ask("and if crcl is 15?", conversation=conversation)
    assert answer.abstained and "10 mg" not in answer.text


def test_a_heading_the_conversion_left_in_a_paragraph_states_the_case(engine: Engine) -> None:
    answer = engine.ask("lostolin dose for kidney disease on dialysis?")
    assert not answer.abstained
    assert "50 IU" in answer.text and "150 IU" not in answer.text
    assert "People with kidney disease" in answer.citations[0].section


def test_a_question_naming_no_one_gets_the_dose_for_everyone(engine: Engine) -> None:
    """The mirror of the case rule: the elderly line matches "recommended" twice, but a
    question naming no one is answered by the dose for everyone."""
    answer = engine.ask("what is the recommended dose of generol?")
    assert "4 mg" in answer.text and "2 mg" not in answer.text


def test_a_dose_for_adults_and_children_is_for_everyone() -> None:
    general = intent_of("usual dose?")
    everyone = ("The usual dose is 5 mg/kg daily in infants, children, adolescents and adults.",)
    assert sub_population(general, everyone) == frozenset()
    assert sub_population(general, ("Children aged 2 to 11 years: 5 mg/kg daily.",)) == {"child"}


HEPATIC_TWO_SECTIONS = """---
title: Sartavel
description: >-
  Sartavel is a test angiotensin receptor blocker written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
---
## 2 DOSAGE AND ADMINISTRATION

### 2.5 Dosage in Hepatic Impairment

In patients with mild-to-moderate hepatic impairment the recommended starting dose of
sartavel is 25 mg once daily; sartavel has not been studied in patients with severe hepatic
impairment.

## 8 USE IN SPECIFIC POPULATIONS

### 8.7 Hepatic Impairment

In patients with mild to moderate cirrhosis of the liver, plasma concentrations of sartavel
were 5 times those in healthy volunteers and a lower starting dose is therefore
recommended; sartavel has not been studied in patients with severe hepatic impairment.
"""


def test_a_verdict_counts_only_in_a_clause_about_the_case_asked() -> None:
    """ "Not studied in severe impairment" settles nothing for a moderate case: no dose."""
    moderate = intent_of("sartavel starting dose in child pugh b cirrhosis?")
    other_case = "A lower dose is recommended; it has not been studied in severe impairment."
    same_case = "It has not been studied in patients with moderate hepatic impairment."
    assert fit(moderate, other_case).missing_targets == 1
    assert fit(moderate, same_case).missing_targets == 0
    severe = intent_of("sartavel starting dose in severe hepatic impairment?")
    assert fit(severe, other_case).missing_targets == 0


def test_the_moderate_case_gets_its_amount_not_the_severe_cases_verdict(
    tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder
) -> None:
    folder = tmp_path_factory.mktemp("hepatic")
    engine = engine_over(folder, {"sartavel.md": HEPATIC_TWO_SECTIONS}, hash_embedder)
    answer = engine.ask("sartavel starting dose in child pugh b cirrhosis of the liver?", llm=False)
    assert "25 mg once daily" in answer.text, answer.text


# -- what the dose is for: to prevent attacks, or to treat one --------------------------
PURPOSES_TEXT = """Routine prevention of attacks: 500 IU of Examplomab should be injected\
 every 3 or 4 days.

Treatment of an attack: 1000 IU should be injected at the first sign of an attack."""


def test_a_dose_for_treating_an_attack_is_not_the_preventive_dose() -> None:
    from tests.test_reader_neighbours import pick

    sims = [0.9, 0.6]
    treat = pick("examplomab dose for an acute attack?", PURPOSES_TEXT, sims)
    assert "1000 IU" in treat and "500 IU" not in treat, treat
    prevent = pick("examplomab prophylaxis dose?", PURPOSES_TEXT, [0.6, 0.9])
    assert "500 IU" in prevent and "1000 IU" not in prevent, prevent


@pytest.mark.parametrize(
    ("question", "purpose"),
    [
        ("examplomab dose for an acute attack?", {"treatment"}),
        ("examplomab ppx (prophylaxis) dose for a 9yo", {"prevention"}),
        ("examplomab dose to prevent and treat bleeds", set()),  # both: none
        ("how long is treatment with examplomab", set()),  # no dose asked
        ("examplomab side effects during treatment?", set()),
    ],
)
def test_the_purpose_is_read_only_from_a_dose_question_naming_one(
    question: str, purpose: set[str]
) -> None:
    assert intent_of(question).purpose == purpose


# A case standing as its own paragraph above the schedule that holds for it.
CASE_PARAGRAPHS = """The number of injections depends on your age at the first injection.

If you are between 9 and 14 years old

You will receive 2 injections:

First injection: at chosen date. Second injection: 5 to 13 months after the first.

If you are 15 years old or above

You will receive 3 injections:

First injection: at chosen date. Second injection: 1 month after. Third: 6 months after."""


def test_a_case_heading_paragraph_is_what_the_schedule_below_it_is_for(
    tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder
) -> None:
    """ "If you are between 9 and 14 years old" states the case of the lines under it: a
    12-year-old's schedule is stated, and it is not the one for 15 and over."""
    text = (
        "---\ntitle: Vaccinol\nlastModified: '2026-01-01'\n---\n## 3. How Vaccinol is given\n\n"
        + CASE_PARAGRAPHS
        + "\n"
    )
    engine = engine_over(
        tmp_path_factory.mktemp("case-heading"), {"vaccinol.md": text}, hash_embedder
    )
    answer = engine.ask("vaccinol schedule for a 12yo girl? how many doses")
    assert not answer.abstained, answer.text
    assert "2 injections" in answer.text and "3 injections" not in answer.text, answer.text
