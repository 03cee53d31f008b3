"""Issue 12, class 4: an interaction the monograph states is never answered "not covered".

A question that names a second drug (the interacting drug, a regimen's companion) is about
the statement that names it. Such a statement reaches the answerer even when the rest of
the question matches other passages better, and it is given whatever its support: the
support threshold is calibrated on questions of another shape, and a refusal here would
deny an interaction the monograph states.

The monographs are written here; the support threshold is set so high that support alone
would refuse every question (the last test shows it does), so only the co-drug rule can
answer. Fast tier: hash embedder, in-memory index.
"""

from __future__ import annotations

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.conversation import Conversation
from monorag.qa.engine import Engine
from tests.conftest import engine_over

VELOTREXIN = """---
title: Velotrexin
description: >-
  Velotrexin film-coated tablets for hypertension.
lastModified: '2025-05-01'
---
## Dosage

The recommended velotrexin dose for hypertension is 150 mg once daily, taken with a light
meal. The dose may be increased to 300 mg once daily after two weeks.

## Renal Impairment

No velotrexin dose change is needed in mild or moderate renal impairment. Avoid it when the
creatinine clearance is under 30 mL/min.

## Other Medicines

Tell your doctor about every medicine you take, including medicines obtained without a
prescription.

Do not take velotrexin with ciclosporin, a medicine used after an organ transplant: it
raises velotrexin levels in the blood several-fold.

Potassium supplements and salt substitutes containing potassium may raise blood potassium.

Velotrexin may lower blood pressure further when taken with other blood-pressure medicines
such as ramlexen.

Fluvoxamine, a medicine for depression, raises velotrexin levels in the blood. Take
velotrexin at least 4 hours after that medicine.

Acetylsalicylic acid taken with velotrexin raises the risk of bleeding from the stomach.

## Contraindications

Do not take velotrexin

if you are allergic to velotrexin or any of the other ingredients.

if you are taking fluvoxamine.

## Storage

Keep the tablets in the original package below 30 °C.
"""

RAMLEXEN = """---
title: Ramlexen
lastModified: '2025-02-01'
---
## Dosage

The usual ramlexen dose is 5 mg once daily in the morning.

## Side Effects

Dry cough is common with ramlexen.
"""

NEVER = 0.99
"""A support threshold no hash-embedder answer reaches: support alone refuses."""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    folder = tmp_path_factory.mktemp("codrug")
    monographs = {"velotrexin.md": VELOTREXIN, "ramlexen.md": RAMLEXEN}
    return engine_over(folder, monographs, hash_embedder, abstain_below=NEVER)


def test_a_co_drug_without_a_monograph_is_answered_from_the_statement_naming_it(
    engine: Engine,
) -> None:
    answer = engine.ask("velotrexin in a transplant pt on ciclosporin?")
    assert not answer.abstained, answer.text
    assert "Do not take velotrexin with ciclosporin" in answer.text
    assert {(c.drug, c.section) for c in answer.citations} == {("Velotrexin", "Other Medicines")}


def test_a_follow_up_interaction_question_is_answered_from_the_conversations_monograph(
    engine: Engine,
) -> None:
    conversation = Conversation()
    engine.ask("velotrexin dose for hypertension?", conversation=conversation)
    answer = engine.ask("and with ciclosporin?", conversation=conversation)
    assert not answer.abstained, answer.text
    assert "ciclosporin" in answer.text and "raises velotrexin levels" in answer.text
    assert {c.drug for c in answer.citations} == {"Velotrexin"}


def test_a_co_drug_with_a_monograph_of_its_own_is_answered_from_the_statement_naming_it(
    engine: Engine,
) -> None:
    """Both drugs have monographs: the statement of one that names the other answers."""
    answer = engine.ask("velotrexin plus ramlexen?")
    assert not answer.abstained, answer.text
    assert "such as ramlexen" in answer.text
    assert ("Velotrexin", "Other Medicines") in {(c.drug, c.section) for c in answer.citations}


def test_the_passage_naming_the_co_drug_joins_the_evidence(engine: Engine) -> None:
    """Even when one passage is retrieved, the one naming the co-drug is handed over too."""
    query = engine.plan("velotrexin dose with food, on ciclosporin?")
    assert query.codrugs == ["ciclosporin"]
    evidence = engine.retrieve_for(query, k=1).evidence
    assert any("ciclosporin" in e.chunk.text for e in evidence)
    assert len({e.chunk.id for e in evidence}) == len(evidence)


def test_a_co_drug_the_monograph_does_not_name_is_still_not_mentioned(engine: Engine) -> None:
    answer = engine.ask("velotrexin with tacrolimus?")
    assert answer.abstained
    assert "does not mention tacrolimus" in answer.text


def test_without_a_co_drug_support_alone_refuses(engine: Engine) -> None:
    """The control: the same monograph, a question naming no second drug, is refused by
    the threshold; so the answers above are the co-drug rule's."""
    answer = engine.ask("velotrexin in a transplant patient?")
    assert answer.abstained


def test_every_statement_naming_the_co_drug_is_quoted_with_its_lead_in(engine: Engine) -> None:
    """The monograph names the co-drug twice (a contraindication list whose markers are
    lost, and an interaction line): both are quoted, the list item after the line that
    makes it a contraindication."""
    answer = engine.ask("velotrexin with fluvoxamine?")
    assert not answer.abstained, answer.text
    assert "if you are taking fluvoxamine" in answer.text
    assert "Do not take velotrexin" in answer.text
    assert "raises velotrexin levels" in answer.text
    assert "at least 4 hours after that medicine" in answer.text  # what the line goes on to say
    assert {c.section for c in answer.citations} == {"Other Medicines", "Contraindications"}
    assert answer.text.index("Do not take velotrexin") < answer.text.index("if you are taking")


def test_two_drugs_with_monographs_hand_over_the_passage_of_one_naming_the_other(
    engine: Engine,
) -> None:
    """Both drugs have monographs (the two-title case): the passage of one that names the
    other joins the evidence even when the question's other words match elsewhere."""
    query = engine.plan("velotrexin dose with food, on ramlexen?")
    assert query.codrugs == []
    assert set(query.named) == {"Velotrexin", "Ramlexen"}
    evidence = engine.retrieve_for(query, k=1).evidence
    assert any(e.chunk.drug == "Velotrexin" and "ramlexen" in e.chunk.text for e in evidence), [
        e.chunk.name for e in evidence
    ]


def test_a_co_drug_the_monograph_names_by_another_name_is_found(engine: Engine) -> None:
    """The question says "aspirin", the monograph "acetylsalicylic acid" (the drug
    dictionary's synonyms): an interaction it states, not "does not mention aspirin"."""
    answer = engine.ask("velotrexin with aspirin ok?")
    assert not answer.abstained, answer.text
    assert "Acetylsalicylic acid taken with velotrexin" in answer.text


def test_a_follow_up_naming_a_drug_with_its_own_monograph_asks_about_the_pair(
    engine: Engine,
) -> None:
    """ "what about his ramlexen?" after a velotrexin question: ramlexen has a monograph of
    its own, but the question asks about the pair, which the conversation's monograph
    states; ramlexen's own dose is not the answer."""
    conversation = Conversation()
    engine.ask("velotrexin with ciclosporin?", conversation=conversation)
    query = engine.plan("what about his ramlexen?", conversation=conversation)
    assert query.codrugs == ["ramlexen"] and set(query.named) == {"Velotrexin"}
    answer = engine.ask("what about his ramlexen?", conversation=conversation)
    assert not answer.abstained, answer.text
    assert "such as ramlexen" in answer.text and "5 mg" not in answer.text
    assert {c.drug for c in answer.citations} == {"Velotrexin"}


def test_a_follow_up_naming_a_drug_the_conversation_does_not_mention_is_that_drug(
    engine: Engine,
) -> None:
    """The control: velotrexin's monograph does not name the new drug, so the question is
    about it alone (a new subject), answered from its own monograph."""
    conversation = Conversation()
    engine.ask("ramlexen dose?", conversation=conversation)
    query = engine.plan("and what about velotrexin?", conversation=conversation)
    assert query.codrugs == [] and set(query.named) == {"Velotrexin"}


def test_an_unmentioned_co_drug_beside_a_mentioned_one_does_not_hide_it(engine: Engine) -> None:
    """A question about two co-drugs, one the monograph names and one it does not: the
    answer is about the named one (refusing would hide an interaction it states), and says
    the other is not mentioned."""
    answer = engine.ask("velotrexin pt on tacrolimus, now needs ciclosporin - ok?")
    assert not answer.abstained, answer.text
    assert "Do not take velotrexin with ciclosporin" in answer.text
    assert "does not mention tacrolimus" in answer.note


TARVELIN = """---
title: Tarvelin
lastModified: '2025-06-01'
---
## Other Medicines

Tarvelin raises the blood levels of citalopram, so limit citalopram to 20 mg a day. Tarvelin
also raises the levels of cilostazol, so reduce cilostazol to 50 mg twice daily.

## Dosage

The usual tarvelin dose is 20 mg once daily.
"""


def test_the_paragraph_naming_the_co_drug_is_followed_only_until_it_turns_to_another_drug(
    tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder
) -> None:
    """What follows the statement naming the co-drug is about it, until a sentence names a
    drug nobody asked about: that one is another interaction, with another drug's dose."""
    folder = tmp_path_factory.mktemp("turns")
    engine = engine_over(folder, {"tarvelin.md": TARVELIN}, hash_embedder, abstain_below=NEVER)
    answer = engine.ask("pt on citalopram 40, adding tarvelin - ok?")
    assert not answer.abstained, answer.text
    assert "limit citalopram to 20 mg" in answer.text
    assert "cilostazol" not in answer.text
