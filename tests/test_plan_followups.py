"""Planning-stage failure classes of issue 12, on small monographs written here.

- a follow-up after a refused turn keeps the conversation's drug (named in the question or
  chosen as the filter);
- clinical abbreviations of drug names ("asa", "tmp-smx") name the drug's monograph;
- a misspelt co-drug in a follow-up ("can I take it with ciprofloxcin?") is first looked
  for in the conversation's monograph, even when it has a monograph of its own.

Fast tier: hash embedder, in-memory index.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monorag.embed import HashEmbedder
from monorag.ingest.pipeline import ingest
from monorag.qa.conversation import Conversation
from monorag.qa.engine import Engine
from monorag.qa.plan import respell
from monorag.types import Answer
from tests.conftest import make_fast_settings

ZENTRAMIDE = """---
title: Zentramide
lastModified: '2025-03-01'
---
## Alternate Names

Zentrix®

## Dosage

### Adults

The recommended dose of zentramide is 10 mg orally once daily with food.

### Hepatic Impairment

Reduce the zentramide dose to 5 mg once daily in moderate hepatic impairment.

## Drug Interactions

Ciprofloxacin raises zentramide levels: halve the zentramide dose while ciprofloxacin is taken.

## Storage

Keep zentramide capsules below 25 °C in the original blister.
"""

CIPROXAN = """---
title: Ciproxan
description: >-
  Ciproxan tablets. The active substance is ciprofloxacin.
lastModified: '2025-03-01'
---
## Dosage

The usual ciproxan dose for urinary tract infection is 500 mg twice daily for 3 days.

## Renal Impairment

With a creatinine clearance under 30 mL/min give ciproxan 250 mg twice daily.
"""

QUELLATRIN = """---
title: Quellatrin
lastModified: '2024-11-15'
---
## Indications

Quellatrin treats chronic plaque psoriasis in adults.

## Dosage

The quellatrin dose is 2 mg once weekly by subcutaneous injection.

## Hepatic Impairment

No quellatrin dose change is needed in hepatic impairment.
"""

SALICORIN = """---
title: Salicorin
description: >-
  Salicorin tablets. The active substance is aspirin.
lastModified: '2025-01-10'
---
## Dosage

After a coronary stent, the salicorin dose is 75 mg once daily for life.

## Renal Impairment

Avoid salicorin in severe renal impairment (creatinine clearance under 10 mL/min).
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    folder = tmp_path_factory.mktemp("followups")
    for name, text in {
        "zentramide": ZENTRAMIDE,
        "ciproxan": CIPROXAN,
        "quellatrin": QUELLATRIN,
        "salicorin": SALICORIN,
    }.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    settings = make_fast_settings(folder / "store")
    assert ingest([folder], settings, hash_embedder).ok
    return Engine(settings, hash_embedder)


def cited(answer: Answer) -> set[str]:
    return {c.drug for c in answer.citations}


# -- a refused turn keeps the conversation's drug -------------------------------------------


def test_a_follow_up_after_a_refused_turn_stays_on_its_drug(engine: Engine) -> None:
    conversation = Conversation()
    refused = engine.ask("zentramide price in euros?", conversation=conversation)
    assert refused.abstained and refused.drugs == ["Zentramide"]
    answer = engine.ask("and in hepatic impairment?", conversation=conversation)
    assert not answer.abstained, answer.note
    assert cited(answer) == {"Zentramide"}
    assert "5 mg" in answer.text


def test_two_refused_turns_in_a_row_keep_the_drug(engine: Engine) -> None:
    conversation = Conversation()
    engine.ask("zentramide price in euros?", conversation=conversation)
    assert engine.ask("who makes it?", conversation=conversation).abstained
    answer = engine.ask("and in hepatic impairment?", conversation=conversation)
    assert cited(answer) == {"Zentramide"}


def test_a_refused_turn_asked_with_the_drug_filter_keeps_that_drug(engine: Engine) -> None:
    """The drug was chosen as the filter, not named: the follow-up (without the filter)
    stays on it rather than asking which drug is meant."""
    conversation = Conversation()
    refused = engine.ask("price in euros?", conversation=conversation, drug="Zentramide")
    assert refused.abstained
    answer = engine.ask("and in hepatic impairment?", conversation=conversation)
    assert not answer.abstained, answer.text
    assert cited(answer) == {"Zentramide"}


def test_a_refused_guess_is_not_carried(engine: Engine) -> None:
    """A turn that named no drug and was refused (retrieval only guessed a monograph)
    gives the next question no drug to lean on."""
    conversation = Conversation()
    engine.ask("price in euros of the capsules?", conversation=conversation)
    assert conversation.last_with_drugs() is None


# -- abbreviations --------------------------------------------------------------------------


def test_an_abbreviation_names_the_monograph_of_its_drug(engine: Engine) -> None:
    conversation = Conversation()
    answer = engine.ask("asa dose after a stent?", conversation=conversation)
    assert answer.drugs == ["Salicorin"], answer.text
    assert "75 mg" in answer.text
    follow = engine.ask("and in severe renal impairment?", conversation=conversation)
    assert cited(follow) == {"Salicorin"}


# -- a misspelt co-drug ---------------------------------------------------------------------


def test_a_misspelt_co_drug_in_a_follow_up_stays_in_the_conversations_monograph(
    engine: Engine,
) -> None:
    """Ciproxan's alias is ciprofloxacin, and "ciprofloxcin" is close to it; but the
    question leans on the zentramide turn and the zentramide monograph names
    ciprofloxacin: it answers."""
    conversation = Conversation()
    engine.ask("zentramide dose for adults?", conversation=conversation)
    answer = engine.ask("can i take it with ciprofloxcin?", conversation=conversation)
    assert answer.drugs == ["Zentramide"], answer.drugs
    assert cited(answer) == {"Zentramide"}
    assert "halve the zentramide dose" in answer.text


def test_the_correctly_spelt_co_drug_without_a_monograph_is_treated_alike(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "zentramide.md").write_text(ZENTRAMIDE, encoding="utf-8")
    (folder / "quellatrin.md").write_text(QUELLATRIN, encoding="utf-8")
    settings = make_fast_settings(tmp_path / "store")
    assert ingest([folder], settings, hash_embedder).ok
    engine = Engine(settings, hash_embedder)
    for co_drug in ("ciprofloxacin", "ciprofloxcin"):
        conversation = Conversation()
        engine.ask("zentramide dose for adults?", conversation=conversation)
        answer = engine.ask(f"can i take it with {co_drug}?", conversation=conversation)
        assert cited(answer) == {"Zentramide"}, co_drug


def test_a_misspelt_co_drug_beside_a_named_drug_is_looked_for_in_its_monograph(
    engine: Engine,
) -> None:
    answer = engine.ask("zentramide with ciprofloxcin?")
    assert answer.drugs == ["Zentramide"]


def test_a_misspelt_drug_the_conversation_does_not_mention_is_searched_beside_it(
    engine: Engine,
) -> None:
    """Zentramide's monograph says nothing of quellatrin: both monographs are searched,
    the conversation's drug is not dropped."""
    query = engine.plan(
        "can i take it with quellatrn?", conversation=_after(engine, "zentramide dose?")
    )
    assert sorted(query.titles) == ["Quellatrin", "Zentramide"]


def test_a_misspelt_drug_asked_about_on_its_own_is_its_monograph(engine: Engine) -> None:
    """Not a follow-up (no pronoun, no "and ..."): the misspelt name is the new subject."""
    query = engine.plan(
        "ciprofloxcin dose for uti?", conversation=_after(engine, "zentramide dose?")
    )
    assert query.titles == ["Ciproxan"]


def test_refers_back() -> None:
    assert Conversation.refers_back("can i take it with ciprofloxcin?")
    assert Conversation.refers_back("and with warfarin?")
    assert not Conversation.refers_back("ciprofloxcin dose?")
    assert Conversation.is_follow_up("ciprofloxcin dose?")


def test_respell_replaces_whole_words_only() -> None:
    assert respell("Can I take it with Ciprofloxcin?", "ciprofloxcin", "ciprofloxacin") == (
        "Can I take it with ciprofloxacin?"
    )
    assert respell("tmp  smx with it?", "tmp smx", "co-trimoxazole") == "co-trimoxazole with it?"
    assert respell("xciprofloxcin", "ciprofloxcin", "ciprofloxacin") == "xciprofloxcin"


def _after(engine: Engine, question: str) -> Conversation:
    conversation = Conversation()
    engine.ask(question, conversation=conversation)
    return conversation
