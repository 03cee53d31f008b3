"""A dose answer quotes the asked drug's amount, not its companion's; "how long" gets a length.

Issue 12, class 2 (the wrong part of a dosing section): a label's indication paragraph
often gives the companion drug's dose for the very indication asked ("In patients with
unstable angina, initiate aspirin (75 mg to 100 mg once daily) and continue it in
combination with ..."). That line names the indication and so matches the question best,
but its amount is aspirin's. The asked drug's own loading and maintenance dose answers,
and the companion's line follows it as the rest of the regimen. A question asking "how
long" is answered by the statement that states a length of time, with the lines it points
back to. The monographs are written here. Fast tier: hash embedder, in-memory index.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.engine import Engine
from tests.conftest import engine_over

THROMBAXEL = """---
title: Thrombaxel
description: >-
  Thrombaxel is a P2Y12 platelet inhibitor for acute coronary syndrome.
lastModified: '2025-03-01'
---
## 2 DOSAGE AND ADMINISTRATION

### 2.1 Acute Coronary Syndrome

In patients who need an antiplatelet effect within hours, initiate thrombaxel with a
single 180 mg oral loading dose and then continue at 90 mg twice daily. In patients with
unstable angina, initiate aspirin (75 mg to 100 mg once daily) and continue it in
combination with thrombaxel.

## 6 ADVERSE REACTIONS

In the PLATO-UA trial of patients with unstable angina, major bleeding occurred in 4.1% of
patients; the aspirin doses in this trial ranged from 75 mg to 100 mg once daily.
"""

NEBRAVENT = """---
title: Nebravent
description: >-
  Nebravent inhalation powder for chronic obstructive pulmonary disease.
lastModified: '2025-04-01'
---
## 2. What you need to know before you use Nebravent

Men using Nebravent should use condoms during treatment with Nebravent.
You should also do this for three months after the last dose. If your partner
can become pregnant she should also use contraception during your treatment and for
three months after.

## 3. How to use Nebravent

Once the pouch is opened Nebravent is ready to use. Inhale one dose once a day.

Keep using Nebravent for as long as your doctor tells you.

## 5. How to store Nebravent

Do not store above 30 °C. Once the pouch is opened, the inhaler can be used for up to
4 weeks.
"""

ANGINA = "thrombaxel for unstable angina - load and maintenance dose?"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    folder = tmp_path_factory.mktemp("companion")
    return engine_over(
        folder, {"thrombaxel.md": THROMBAXEL, "nebravent.md": NEBRAVENT}, hash_embedder
    )


def test_the_asked_drugs_own_amount_answers_a_dose_question(engine: Engine) -> None:
    answer = engine.ask(ANGINA, llm=False)
    assert not answer.abstained, answer.text
    assert "180 mg" in answer.text and "90 mg twice daily" in answer.text, answer.text
    # The companion's line for the indication asked follows, as the rest of the regimen.
    assert "aspirin" in answer.text
    assert answer.text.index("180 mg") < answer.text.index("aspirin"), answer.text


def test_a_trials_companion_doses_are_no_part_of_the_answer(engine: Engine) -> None:
    """The trial's aspirin doses name the indication too, but are neither drug's regimen."""
    answer = engine.ask(ANGINA, llm=False)
    assert "PLATO" not in answer.text and "4.1%" not in answer.text, answer.text


def test_how_long_is_answered_by_a_length_of_time(engine: Engine) -> None:
    answer = engine.ask("nebravent - once the pouch is opened how long can it be used?", llm=False)
    assert not answer.abstained, answer.text
    assert "4 weeks" in answer.text, answer.text


def test_a_length_the_next_sentence_states_completes_the_best_one(engine: Engine) -> None:
    answer = engine.ask("nebravent - how long does he need condoms after the last dose?", llm=False)
    assert "three months" in answer.text, answer.text
    assert "condoms" in answer.text, answer.text  # the statement the length belongs to


def test_how_long_without_a_stated_length_is_still_answered(engine: Engine) -> None:
    """ "As long as your doctor tells you" answers it: no length stated is no refusal."""
    answer = engine.ask("how long do i keep using nebravent?", llm=False)
    assert not answer.abstained, answer.text
    assert "as long as your doctor tells you" in answer.text, answer.text


LORVATIDE = """---
title: Lorvatide
description: >-
  Lorvatide capsules for multiple myeloma.
lastModified: '2025-04-01'
---
## 2. What you need to know before you take Lorvatide

If you are a sexually active man, use condoms during treatment with Lorvatide. You should
also do this for three months after the last dose. It is also needed if your partner is
pregnant.

## 3. How to take Lorvatide

Take one capsule once a day.
"""


def test_a_line_pointing_back_brings_what_it_points_to(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """ "It is also needed" leans on "You should also do this", which leans on "use condoms":
    both steps back are quoted, or the answer never says what is needed."""
    engine = engine_over(tmp_path, {"lorvatide.md": LORVATIDE}, hash_embedder)
    answer = engine.ask("lorvatide: is it also needed if his partner is pregnant?", llm=False)
    assert "partner is pregnant" in answer.text, answer.text
    assert "use condoms" in answer.text, answer.text
