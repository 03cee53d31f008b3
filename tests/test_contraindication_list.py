""" "Who shouldn't take X?" is answered by the list of who must not take it (issue 12,
classes 3 and 8): typed without its apostrophe, searched for as monographs introduce their
contraindications, and answered by the list whose lead-in bars, not by the warnings list
beside it. A converted leaflet's warnings lead-in glued to the end of the last
contraindication ("... Warnings and precautions Talk to your doctor before taking X")
heads the items after it, so they are not passed off as contraindications. Written
monographs, fast tier (hash embedder, in-memory index).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monorag.embed import HashEmbedder
from monorag.ingest.chunk import _with_lead_ins
from monorag.qa.engine import Engine
from monorag.qa.plan import clean
from monorag.text import lost_lead_in, sentences
from tests.conftest import engine_over

LEAFLET = """---
title: Barrix
description: >-
  Barrix is a test medicine for diabetes written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2. What you need to know before you take Barrix

Talk to your doctor or pharmacist before taking Barrix if:

- you have type 1 diabetes.
- you have had pancreatitis.
- you are going to have an operation.

Do not take Barrix:

- if you are allergic to barrixin.
- if you have severely reduced kidney function.
- if you have liver problems.
"""

GLUED = """---
title: Gluedin
description: >-
  Gluedin is a test medicine for diabetes written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2. What you need to know before you take Gluedin

Do not take Gluedin

if you are allergic to gluedin.

if you drink alcohol to excess. If you are not sure, talk to your doctor. Warnings and precautions Talk to your doctor, pharmacist or nurse before taking Gluedin

if you have type 1 diabetes.

if you have had pancreatitis.
"""  # noqa: E501 - a converted leaflet's paragraphs are one line


NOTED = """---
title: Notarix
description: >-
  Notarix is a test medicine for HIV written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2. What you need to know before you take Notarix

Do not take Notarix

* If you are allergic to notarixin or any of the other ingredients of this medicine.

If this applies to you, tell your doctor immediately.

* If you are currently taking any of the following medicines

* carbamazepine and phenytoin (medicines to treat epilepsy)

* omeprazole and pantoprazole (proton pump inhibitors used to treat stomach ulcers)

Warnings and precautions

You must remain under the care of your doctor while taking Notarix.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    """An engine over both leaflets; abstention off so that only the gates refuse."""
    monographs = {"barrix.md": LEAFLET, "gluedin.md": GLUED, "notarix.md": NOTED}
    return engine_over(tmp_path_factory.mktemp("barred"), monographs, hash_embedder)


@pytest.mark.parametrize(
    ("typed", "spelt"),
    [
        ("who shouldnt get it?", "who shouldn't get it?"),
        ("cant swallow tabs", "can't swallow tabs"),
        ("Whats the dose", "What's the dose"),
        ("is it ok im or iv", "is it ok im or iv"),
        ("its half life", "its half life"),
    ],
)
def test_contractions_get_their_apostrophe(typed: str, spelt: str) -> None:
    assert clean(typed) == spelt


@pytest.mark.parametrize(
    "question",
    [
        "who shouldnt take barrix?",
        "who should not take barrix?",
        "barrix contraindications",
        "who can't take barrix?",
        "who cant take barrix? pls",
    ],
)
def test_who_must_not_is_the_barring_list(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert not answer.abstained
    assert "Do not take Barrix" in answer.text and "liver problems" in answer.text
    assert "pancreatitis" not in answer.text


def test_a_glued_warnings_lead_in_heads_what_follows() -> None:
    glued = (
        "if you drink alcohol to excess. Warnings and precautions Talk to your doctor, "
        "pharmacist or nurse before taking Gluedin"
    )
    assert lost_lead_in(sentences(glued)).startswith("Warnings and precautions Talk to")
    # An item that lost its full stop is still an item, however short.
    assert lost_lead_in(sentences("if you have a rash. The moles may itch or bleed")) == ""
    assert lost_lead_in(sentences("vomiting")) == ""
    parts = _with_lead_ins(
        ["Do not take Gluedin\n\nif you are allergic.\n\n" + glued, "if you have type 1 diabetes."]
    )
    assert parts[1].startswith("Warnings and precautions Talk to your doctor")


def test_warnings_after_a_glued_lead_in_are_no_contraindications(engine: Engine) -> None:
    answer = engine.ask("gluedin in type 1 diabetes?")
    assert "Do not take Gluedin" not in answer.text


def test_an_item_is_quoted_under_its_group_and_its_list(engine: Engine) -> None:
    """A group opened by "any of the following medicines" (no colon), in a list whose
    lead-in is further up, past a note on the item before ("If this applies to you ..."):
    the interaction is quoted as what it is, a case of "Do not take"."""
    answer = engine.ask("notarix with omeprazole?")
    assert not answer.abstained
    assert answer.text.index("Do not take Notarix") < answer.text.index("omeprazole")
    assert "any of the following medicines" in answer.text


def _leaflet_with_far_contraindications() -> str:
    """A leaflet whose "Do not take" list shares no word with "who shouldn't be on it",
    among sections that say "doctor", "tell" and "before" far more often."""
    others = "\n\n".join(
        f"## {n}. Section {n}\n\nThere are no contraindications to exercise or travel on "
        f"Zentorin (topic {n}): it may be given, taken and used as usual, and nothing must "
        f"change for who is on it."
        for n in range(4, 12)
    )
    return f"""---
title: Zentorin
description: >-
  Zentorin is a test medicine for diabetes written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2. What you need to know before you take Zentorin

Do not take Zentorin

- if you are allergic to linagliptin or any of the other ingredients of this medicine.
- if you have severely reduced kidney function.
- if you drink alcohol to excess.

## 3. How to take Zentorin

The recommended dose is one tablet twice a day with meals.

{others}
"""


def test_who_should_not_take_it_finds_the_barring_list_the_search_missed(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    engine = engine_over(
        tmp_path, {"zentorin.md": _leaflet_with_far_contraindications()}, hash_embedder
    )
    answer = engine.ask("who shouldnt be on zentorin")
    assert answer.text.startswith("Do not take Zentorin"), answer.text
    for item in ("allergic", "severely reduced kidney function", "alcohol"):
        assert item in answer.text
    # However few passages the search keeps, the one that bars the drug is among them.
    query = engine.plan("who shouldnt be on zentorin")
    found = engine.retrieve_for(query, k=1).evidence
    assert any("Do not take Zentorin" in e.chunk.text for e in found), [e.chunk.name for e in found]


def test_who_must_not_is_answered_by_the_barring_list_whatever_its_support(
    tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder
) -> None:
    """ "Who shouldn't get X?" shares no word with any item: support alone, set out of
    reach here, would refuse the list that answers it. A question that asks something more
    ("... in pregnancy?") is not answered by the list on that ground."""
    engine = engine_over(
        tmp_path_factory.mktemp("barred-never"),
        {"barrix.md": LEAFLET},
        hash_embedder,
        abstain_below=0.99,
    )
    answer = engine.ask("who shouldnt get barrix? contraindications list pls")
    assert not answer.abstained, answer.text
    assert "Do not take Barrix" in answer.text and "liver problems" in answer.text
    assert engine.ask("who shouldnt get barrix in pregnancy?").abstained


def test_a_question_asking_the_warnings_gets_the_warnings_list_whatever_its_support(
    tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder
) -> None:
    """ "Main warnings before starting?" asks what to watch for, not who must not take it:
    the list the "talk to your doctor before taking" lead-in heads answers, even where no
    statement reaches the support threshold ("before starting" asks for no starting dose).
    """
    engine = engine_over(
        tmp_path_factory.mktemp("warned"), {"barrix.md": LEAFLET}, hash_embedder, abstain_below=0.99
    )
    answer = engine.ask("barrix - who needs caution before starting? main warnings")
    assert not answer.abstained, answer.text
    assert "pancreatitis" in answer.text and "type 1 diabetes" in answer.text
    assert "severely reduced kidney function" not in answer.text
    barred = engine.ask("who shouldn't take barrix?")
    assert "severely reduced kidney function" in barred.text and "pancreatitis" not in barred.text


CONDITION_BARRED = """---
title: Betalol
lastModified: '2026-01-01'
---
## 1 INDICATIONS AND USAGE

Betalol is indicated for the management of essential hypertension.

## 4 CONTRAINDICATIONS

Betalol is contraindicated in the following conditions: bronchial asthma or related
bronchospastic conditions; severe bradycardia; and cardiogenic shock.

## 17 PATIENT COUNSELING INFORMATION

If you vomit after a dose, you do not need to take another tablet for your gout.
"""


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    """A support threshold no statement here reaches."""
    folder = tmp_path_factory.mktemp("condition")
    # Other monographs, so that a condition's word is rare in the corpus, as in a real one.
    others = {
        f"filler{n}.md": f"---\ntitle: Filler{n}\nlastModified: '2026-01-01'\n---\n"
        f"## Dosage\n\nTake one Filler{n} tablet of {n + 1} mg a day with water.\n\n"
        f"## Storage\n\nStore Filler{n} below 25 C in the original package.\n"
        for n in range(8)
    }
    monographs = {"betalol.md": CONDITION_BARRED, **others}
    return engine_over(folder, monographs, hash_embedder, 0.99)


def test_a_statement_barring_the_drug_in_the_condition_asked_answers_whatever_its_support(
    gated: Engine,
) -> None:
    """'Not covered' would deny a contraindication the monograph states."""
    answer = gated.ask("pt with asthma and htn - is betalol an option if i go low and slow?")
    assert not answer.abstained, answer.text
    assert "bronchial asthma" in answer.text, answer.text


def test_a_do_not_that_bars_nothing_does_not_answer_below_the_threshold(gated: Engine) -> None:
    """ "You do not need to take another tablet" names gout but bars no use of the drug."""
    answer = gated.ask("pt with gout - is betalol an option?")
    assert answer.abstained, answer.text
