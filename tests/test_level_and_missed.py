"""A threshold question ("at what eGFR do I stop it?", "what serum potassium is too high?")
is answered only by a statement of a level of that measurement, and a missed-dose or
overdose question only by a statement that speaks of one (issue 12, class 7: a nearby
unrelated sentence quoted where the monograph is silent). Written monographs, fast tier
(hash embedder, in-memory index).
"""

from __future__ import annotations

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.engine import Engine
from monorag.qa.reader import LEVEL, fit, intent_of
from tests.conftest import engine_over

NEVER = 0.99
"""A support threshold no hash-embedder answer reaches: support alone refuses."""

SILENT = """---
title: Kalinor
description: >-
  Kalinor is a test medicine for kidney disease written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2. What you need to know before you take Kalinor

Tell your doctor if you have ever been told you had a high level of potassium in your blood. Your doctor will do blood tests to check your potassium level and how your kidneys are working.

## 3. How to take Kalinor

The recommended dose of Kalinor is 10 mg once a day. For patients with severe liver problems the dose is 5 mg once a day.

## 4. Possible side effects

Common (may affect more than 1 in 10 people): high potassium level in the blood.
"""  # noqa: E501

STATED = """---
title: Levelor
description: >-
  Levelor is a test medicine for heart failure written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2. What you need to know before you take Levelor

Your doctor will check your blood potassium before you start. Do not start Levelor if your blood potassium is above 5.0 mmol/L.

## 3. How to take Levelor

The recommended dose of Levelor is 20 mg once a day.

### If you forget to take Levelor

If it is less than 12 hours since you should have taken the dose, take it as soon as you remember. If it is more than 12 hours since you should have taken the dose, skip the missed dose. Do not take two doses on the same day.

### If you take more Levelor tablets than you should

Contact your doctor straight away: your blood pressure may fall. Your doctor may give you a medicine called naloxamine to reverse the effects of Levelor.
"""  # noqa: E501


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    """An engine over both monographs; abstention off so that only the gates refuse."""
    monographs = {"kalinor.md": SILENT, "levelor.md": STATED}
    return engine_over(tmp_path_factory.mktemp("level"), monographs, hash_embedder)


@pytest.mark.parametrize(
    "question",
    [
        "at what egfr do i have to stop it?",
        "what serum potassium is too high to start?",
        "what caffeine level should we aim for?",
        "target hb for a child?",
    ],
)
def test_a_threshold_question_asks_for_a_level(question: str) -> None:
    assert intent_of(question).asked == LEVEL


@pytest.mark.parametrize(
    "question",
    [
        "what dose level do i start at?",
        "what levels should i monitor?",
        "at what age can kids use it?",
    ],
)
def test_other_questions_ask_for_no_level(question: str) -> None:
    assert intent_of(question).asked != LEVEL


def test_a_level_is_of_the_measurement_asked() -> None:
    egfr = intent_of("at what egfr do i have to stop it?")
    assert not fit(egfr, "Do not use it if your eGFR is below 30 mL/min.").asked_missing
    assert not fit(egfr, "Stop it if your creatinine clearance is < 45.").asked_missing
    assert fit(egfr, "Stop taking it if your kidney function falls (see section 2).").asked_missing
    potassium = intent_of("what serum potassium is too high to start?")
    # A frequency is no level; a neighbour's number is of something else.
    assert fit(potassium, "High potassium may affect more than 1 in 10 people.").asked_missing
    assert fit(
        potassium, "It contains less than 1 mmol sodium per dose.", ("Potassium.",)
    ).asked_missing
    assert not fit(
        potassium, "Do not start if your blood potassium is above 5.0 mmol/L."
    ).asked_missing


def test_a_level_not_stated_is_refused(engine: Engine) -> None:
    answer = engine.ask("what serum potassium is too high to start kalinor?")
    assert answer.abstained and "does not state a level" in answer.text
    assert "1 in 10" not in answer.text


def test_a_level_stated_is_answered(engine: Engine) -> None:
    answer = engine.ask("what serum potassium is too high to start levelor?")
    assert not answer.abstained and "5.0 mmol/L" in answer.text


def test_late_is_a_missed_dose_only_when_a_dose_is_late() -> None:
    assert "missed" in intent_of("pt noticed 14 hrs late, take it?").targets
    assert "missed" in intent_of("how late can she still take it?").targets
    assert "missed" not in intent_of("late in pregnancy - neonatal risks?").targets


def test_a_missed_dose_not_spoken_of_is_refused(engine: Engine) -> None:
    answer = engine.ask("kalinor missed dose - how long can they still take it?")
    assert answer.abstained and "does not state what to do about a missed dose" in answer.text
    assert "mg" not in answer.text


def test_a_missed_dose_spoken_of_is_answered(engine: Engine) -> None:
    answer = engine.ask("levelor missed dose - how long can they still take it?")
    assert not answer.abstained and "as soon as you remember" in answer.text


@pytest.mark.parametrize(
    ("question", "said", "not_said"),
    [
        (
            "levelor was due this morning, its been about 5 hrs - take it now or skip?",
            "as soon as you remember",
            "skip the missed dose",
        ),
        (
            "levelor forgotten, noticed 20 hrs later - take it?",
            "skip the missed dose",
            "as soon as you remember",
        ),
    ],
)
def test_a_missed_dose_question_gets_the_case_for_how_late_it_is(
    engine: Engine, question: str, said: str, not_said: str
) -> None:
    """ "5 hrs" is the "less than 12 hours" case, "20 hrs" the other: quoting the
    neighbouring case tells the patient the opposite."""
    assert intent_of(question).targets == {"missed"}
    answer = engine.ask(question)
    assert not answer.abstained
    assert said in answer.text and not_said not in answer.text


def test_an_overdose_is_spoken_of_in_more_than_one_way(engine: Engine) -> None:
    """A leaflet's "If you take more X tablets than you should" speaks of an overdose."""
    answer = engine.ask("levelor overdose - what happens?")
    assert not answer.abstained and "blood pressure" in answer.text
    answer = engine.ask("kalinor overdose - what happens?")
    assert answer.abstained and "does not state what to do after an overdose" in answer.text


def test_an_antidote_question_is_answered_by_the_antidote_or_refused(engine: Engine) -> None:
    """ "Reversal agent?" asks for what treats the overdose, not what it does: the
    description of an overdose ("your blood pressure may fall") does not answer it."""
    assert intent_of("levelor overdose - antidote?").targets == {"antidote"}
    assert intent_of("does it reverse bone loss?").targets == frozenset()
    answer = engine.ask("levelor overdose - any antidote?")
    assert not answer.abstained and "naloxamine" in answer.text
    answer = engine.ask("kalinor overdose - any antidote?")
    assert answer.abstained and "does not state an antidote" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "pt took a handful of levelor by mistake - whats the worry",
        "pt accidentally took 3 levelor tabs - what sx to expect?",
        "overdose of levelor - what can come on late and how late",
    ],
)
def test_an_overdose_is_asked_about_in_more_than_one_way(question: str) -> None:
    """Clinicians rarely type "overdose"; "how late" beside it is about late symptoms, not
    a late dose."""
    assert intent_of(question).targets == {"overdose"}


def test_a_statement_speaking_of_the_overdose_asked_about_is_given_whatever_its_support(
    tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder
) -> None:
    """The second signal of abstention: a statement that speaks of the overdose asked about
    ("If you take more Levelor tablets than you should") answers it, however far the
    question's words ("accidentally took 3 tabs"); a monograph that speaks of no overdose
    is still refused at the same threshold."""
    question = "pt accidentally took 3 {} tabs - what sx to expect?"
    folder = tmp_path_factory.mktemp("specific")
    engine = engine_over(folder, {"levelor.md": STATED, "kalinor.md": SILENT}, hash_embedder, NEVER)
    given = engine.ask(question.format("levelor"))
    assert not given.abstained, given.text
    assert "blood pressure" in given.text
    # Only that statement's passage: the runners-up of so low a support are no answer.
    assert all("than you should" in c.section for c in given.citations), given.citations
    assert engine.ask(question.format("kalinor")).abstained


def test_the_passage_speaking_of_the_overdose_joins_the_evidence(engine: Engine) -> None:
    """ "Took a handful by mistake" shares no word with "If you take more Levelor tablets
    than you should": that passage is searched as well, even when one passage is asked for."""
    query = engine.plan("pt took a handful of levelor by mistake - whats the worry")
    assert query.speaks == ("overdose",)
    evidence = engine.retrieve_for(query, k=1).evidence
    assert any("than you should" in e.chunk.section for e in evidence)


def test_too_much_speaks_of_an_overdose_only_when_too_much_is_taken() -> None:
    overdose = intent_of("pt took a handful by mistake")
    assert fit(overdose, "If you have taken too many tablets, call your doctor.").targets
    assert fit(overdose, "If you use too much, call your doctor.").targets
    assert not fit(overdose, "Signs of losing too much fluid are listed in section 4.").targets


OCULOR = """---
title: Oculor
description: >-
  Oculor eye drops are a test medicine for glaucoma written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to use Oculor

Put one drop in each affected eye once a day, in the evening. If a drop misses the eye, put in another drop.

If you use more Oculor than you should, rinse the eye with warm water. Do not put in any more drops until the next evening dose.
"""  # noqa: E501


def test_an_overdose_question_worded_like_the_instructions_gets_the_overdose_statement(
    tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder
) -> None:
    """ "Accidentally put 3 drops in each eye" shares its words with how the drops are put
    in; only the statement speaking of using more than one should answers it."""
    folder = tmp_path_factory.mktemp("oculor")
    engine = engine_over(folder, {"oculor.md": OCULOR}, hash_embedder)
    answer = engine.ask(
        "pt accidently put 3 drops of oculor in each affected eye in the evening - what now?"
    )
    assert not answer.abstained, answer.text
    assert "rinse the eye with warm water" in answer.text
    assert "once a day" not in answer.text and "another drop" not in answer.text


STORED = """---
title: Pellorin
lastModified: '2025-05-01'
---
## 2. Dosage

The usual pellorin dose is one tablet of 50 mg twice daily with food.

## 12. Clinical Pharmacology

Pellorin reduces the production of uric acid: it works by blocking xanthine oxidase, the
enzyme that turns hypoxanthine into uric acid.

## 16. How Supplied and Storage

Pellorin tablets are supplied as 50 mg round white tablets in bottles of 60.

Store at 25°C (77°F), with excursions permitted to 15°C to 30°C (59°F to 86°F).
"""


UNSTORED = """---
title: Capsulin
lastModified: '2025-05-01'
---
## Administration

Capsulin capsules should be swallowed whole with water. They should not be broken, chewed,
or opened.

## Pharmacokinetics

It has a half-life of about 8 hours.
"""


ACTIVATED = """---
title: Lumivin
lastModified: '2025-05-01'
---
## 1. What Lumivin is and what it is used for

Lumivin contains a substance which is activated by light from a laser in a treatment called
photodynamic therapy.

## 3. How Lumivin is given

Lumivin is given as an infusion into a vein.
"""


@pytest.fixture(scope="module")
def low_support(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    """An engine over Pellorin and Capsulin whose support threshold no statement reaches:
    only what answers whatever its support answers."""
    folder = tmp_path_factory.mktemp("low-support")
    monographs = {"pellorin.md": STORED, "capsulin.md": UNSTORED, "lumivin.md": ACTIVATED}
    return engine_over(folder, monographs, hash_embedder, abstain_below=0.99)


def test_a_plain_storage_question_is_answered_by_the_storage_statement_whatever_its_support(
    low_support: Engine,
) -> None:
    """ "How shd X tabs be stored" shares one word with "Store at 25°C": its support is low,
    but a statement speaking of storage answers a storage question, as one speaking of an
    overdose answers an overdose question. What the monograph does not say of storage is
    still refused."""
    answer = low_support.ask("how shd pellorin tabs be stored")
    assert not answer.abstained, answer.text
    assert "Store at 25°C" in answer.text
    assert "twice daily" not in answer.text
    opened = low_support.ask("pellorin bottle once opened - how many weeks can it be used?")
    assert opened.abstained, opened.text


def test_a_how_does_it_work_question_is_answered_by_the_statement_of_how_it_works(
    low_support: Engine,
) -> None:
    """ "How does X actually work" shares no word with "it works by blocking xanthine
    oxidase" but "work": the statement speaking of its mechanism answers whatever the
    support."""
    answer = low_support.ask("how does pellorin actually work")
    assert not answer.abstained, answer.text
    assert "blocking xanthine oxidase" in answer.text
    assert "Store at" not in answer.text


def test_a_statement_of_what_activates_it_says_how_it_works(low_support: Engine) -> None:
    """ "Is activated by light" (or "acts by attaching to") is how a leaflet says how a
    medicine works without "works by"."""
    answer = low_support.ask("how does lumivin work? moa")
    assert not answer.abstained, answer.text
    assert "activated by light" in answer.text and "infusion" not in answer.text


def test_a_line_that_only_carries_a_storage_word_does_not_answer_whatever_its_support(
    low_support: Engine,
) -> None:
    """ "Should not be opened" carries a word storage questions use, but says nothing of
    how to store it: a shelf-life question it is closest to stays refused when its support
    is low."""
    answer = low_support.ask("What is the shelf life of Capsulin?")
    assert answer.abstained, answer.text


OVERDOSE_SYMPTOMS = """The recommended dose is two puffs twice a day. Use it every day. Do not stop.

If you use more Examplomab than you should If you have used more Examplomab than you should,\
 talk to a doctor straight away. You may need medical attention. You may notice that your\
 heart is beating faster than usual or that you feel shaky."""


def test_an_overdose_answer_reads_its_paragraph_on_to_what_to_expect() -> None:
    """Guard: the overdose statement brings what its paragraph goes on to say (the
    symptoms to expect), however close it is to the question on its own."""
    from tests.test_reader_neighbours import pick

    sims = [0.6, 0.6, 0.6, 0.5, 0.9, 0.1]
    answer = pick("took too many examplomab puffs - what to expect?", OVERDOSE_SYMPTOMS, sims)
    assert "medical attention" in answer and "beating faster" in answer, answer
