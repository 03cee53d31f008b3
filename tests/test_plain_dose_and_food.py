"""A plain dose question gets the dose for everyone; food advice answers whatever its support.

"Dose for ALK+ NSCLC?" over a leaflet that gives the dose for everyone, then the dose for
severe liver problems, then (a paragraph of its own, as converted leaflets have it) "This
means you take a total of 6 capsules": the answer is the dose for everyone, never the liver
line nor the line pointing back at it (a wrong-population dose). "Take it with food?" is
answered by the statement that speaks of food, however far its words are from the
question's ("on an empty stomach, one hour before a meal"), and refused as unstated where
no statement speaks of food. The monographs are written here. Fast tier: hash embedder,
in-memory index.
"""

from __future__ import annotations

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.conversation import Conversation
from monorag.qa.engine import Engine
from tests.conftest import engine_over
from tests.test_reader_neighbours import pick

ALKORIB = """---
title: Alkorib
description: >-
  Alkorib capsules for ALK-positive non-small cell lung cancer.
lastModified: '2025-03-01'
---
## 3. How to take Alkorib

How much to take

The recommended dose is 4 capsules (600 mg) twice a day. This means you take a total of 8
capsules (1200 mg) each day.

If you have severe liver problems before starting your treatment with Alkorib: The
recommended dose is 3 capsules (450 mg) twice a day.

This means you take a total of 6 capsules (900 mg) each day.

Take Alkorib on an empty stomach, at least one hour before or two hours after a meal.
"""

NOFOOD = """---
title: Nofodrin
description: >-
  Nofodrin injection for osteoporosis.
lastModified: '2025-03-01'
---
## 3. How to use Nofodrin

The recommended dose is 20 micrograms once a day, injected under the skin of the thigh.
"""


MONOGRAPHS = {"alkorib.md": ALKORIB, "nofodrin.md": NOFOOD}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    return engine_over(tmp_path_factory.mktemp("plain-dose"), MONOGRAPHS, hash_embedder)


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    """A support threshold above every score here."""
    folder = tmp_path_factory.mktemp("gated")
    return engine_over(folder, MONOGRAPHS, hash_embedder, abstain_below=0.9)


@pytest.mark.parametrize("question", ["alkorib dose alk+ nsclc", "alkorib dose alk"])
def test_a_plain_dose_question_gets_the_dose_for_everyone(engine: Engine, question: str) -> None:
    answer = engine.ask(question, llm=False)
    assert "600 mg" in answer.text, answer.text
    assert "450 mg" not in answer.text and "900 mg" not in answer.text, answer.text


def test_food_advice_answers_whatever_its_support(gated: Engine) -> None:
    """Only speaking of food lets it through the threshold."""
    answer = gated.ask("alkorib - take w food?", llm=False)
    assert not answer.abstained, answer.text
    assert "empty stomach" in answer.text, answer.text


def test_no_statement_speaking_of_food_is_refused_as_unstated(engine: Engine) -> None:
    answer = engine.ask("nofodrin - take w food?", llm=False)
    assert answer.abstained, answer.text
    assert "food" in answer.text, answer.text  # it says what is not stated


def test_the_refusal_control(gated: Engine) -> None:
    """Under that threshold a question that food has nothing to do with is refused."""
    assert gated.ask("alkorib - does it make you tired?", llm=False).abstained


# The same section as the passage ``pick`` reads (similarities set by hand): the liver line
# closest, the line pointing back at it among the re-ranked few, the general dose far below.
SECTION = ALKORIB.split("## 3. How to take Alkorib", 1)[1].strip().replace("Alkorib", "Examplomab")


def test_the_general_dose_is_found_beyond_the_closest_few() -> None:
    answer = pick("examplomab dose?", SECTION, [0.1, 0.1, 0.1, 0.9, 0.5, 0.8])
    assert answer.startswith("The recommended dose is 4 capsules (600 mg) twice a day."), answer
    # Never the line pointing back at the liver dose, neither as the answer nor beside it.
    assert "900 mg" not in answer and "450 mg" not in answer, answer


def test_a_population_follow_up_asks_the_cases_dose_not_the_food_again(engine: Engine) -> None:
    """After "dose, w food or not?", "and if ... severe hepatic impairment?" asks for the
    case's dose: a dose line that says nothing of food answers it."""
    conversation = Conversation()
    engine.ask("alkorib dose, w food or not?", conversation=conversation, llm=False)
    answer = engine.ask(
        "and if she has severe hepatic impairment?", conversation=conversation, llm=False
    )
    assert not answer.abstained, answer.text
    assert "450 mg" in answer.text, answer.text
