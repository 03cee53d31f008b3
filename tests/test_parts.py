"""Questions that ask several things at once (``monorag.qa.parts`` and the answerer).

"Storage temp, and how long to thaw?" has two answers, in two sections; one search for
the whole found one of them, and the answer left the other part out. Each part is now
searched on its own, in the monographs of the whole, and what a supported part states
beyond the whole's answer is added. Fast tier: hash embedder, in-memory index.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.parts import parts_of
from tests.conftest import engine_over


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "zentavir vials - storage temp, and how long to thaw in the fridge?",
            [
                "zentavir vials storage temp",
                "zentavir vials how long to thaw in the fridge",
            ],
        ),
        ("how is zentavir metabolised + half life", ["how is zentavir metabolised", "half life"]),
        # a "+" on a marker is "positive", no cut: the indication stays whole
        ("zentavir dose alk+ nsclc, w food?", ["zentavir dose alk+ nsclc", "w food"]),
        (
            "zentavir half life? and how is it metabolised",
            ["zentavir half life", "and how is it metabolised"],
        ),
    ],
)
def test_a_question_that_asks_two_things_is_cut_where_the_second_starts(
    question: str, parts: list[str]
) -> None:
    assert parts_of(question) == parts


@pytest.mark.parametrize(
    "question",
    [
        "zentavir dose and duration for CAP?",  # one question, two targets, one indication
        "zentavir + warfarin, how much to cut the warfarin?",  # "+" joins two drugs
        "pt on haemodialysis, does zentavir need a dose change?",  # a scene, then a question
        "blepharitis after zentavir, how common?",
        # "what dose" would lose the patient the question is about
        "starting zentavir in a 78 yo with CAD, what dose and how fast to titrate",
        "zentavir storage",
        # "pregnancy" is whom the whole question is about; the second part lost it
        "ok in pregnancy? and what about the half life",
        "her2+ breast ca - zentavir dose",
    ],
)
def test_a_question_that_asks_one_thing_stays_whole(question: str) -> None:
    assert parts_of(question) == [question]


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "zentavir - how often and timing with meals?",
            ["zentavir how often", "zentavir timing with meals"],
        ),
        (
            "zentavir how many times a day, with food?",
            ["zentavir how many times a day", "with food"],
        ),
    ],
)
def test_two_requests_for_different_targets_are_cut_without_a_question_word(
    question: str, parts: list[str]
) -> None:
    assert parts_of(question) == parts


def test_the_scene_goes_with_every_part() -> None:
    assert parts_of("pt on haemodialysis, does zentavir need a dose change? when to give it") == [
        "pt on haemodialysis does zentavir need a dose change",
        "pt on haemodialysis when to give it",
    ]


LEAFLET = """---
title: Zentavir
description: >-
  Zentavir is a test vaccine written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2. What you need to know before you are given Zentavir

Tell your doctor if you have a bleeding disorder or bruise easily. Zentavir can be given to pregnant women after the first trimester.

## 3. How Zentavir is given

You will receive two injections of 0.5 ml into the upper arm muscle, 28 days apart.

## 5. How to store Zentavir

The storage temperature of the vials is -50 C to -15 C (frozen), in the original carton to protect from light. Keep this medicine out of the sight and reach of children.

### Thawing instructions

How long to thaw: frozen vials thaw in the fridge in 2 hours and 30 minutes, or in 1 hour at room temperature. Once thawed, do not refreeze.

## 6. Contents of the pack and other information

Each vial contains 10 doses of 0.5 ml. The marketing authorisation holder is Example Pharma.
"""  # noqa: E501 - a leaflet's lines are as long as its paragraphs


def test_each_part_is_answered_from_its_own_section(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    engine = engine_over(tmp_path, {"zentavir.md": LEAFLET}, hash_embedder)
    answer = engine.ask("zentavir vials - storage temp, and how long to thaw in the fridge?")
    assert not answer.abstained
    assert "-50 C to -15 C" in answer.text
    assert "2 hours and 30 minutes" in answer.text
    sections = {c.section for c in answer.citations}
    assert "5. How to store Zentavir" in sections
    assert "5. How to store Zentavir › Thawing instructions" in sections


TABLETS = """---
title: Dorvaplex
description: >-
  Dorvaplex is a test medicine for type 2 diabetes written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to take Dorvaplex

### How much to take

The dose of Dorvaplex is one tablet twice a day. Try to take it at the same times each day.

### Taking this medicine

Swallow the tablet whole with water. It is best to take your tablet with a meal. This will lower your chance of having an upset stomach.

## 5. How to store Dorvaplex

Store below 30 C. Keep this medicine out of the sight and reach of children.
"""  # noqa: E501 - a leaflet's lines are as long as its paragraphs


def test_a_short_part_is_answered_by_the_statement_that_states_its_target(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """ "with food" is two words: its own support is low, but beside an answered whole
    the statement about meals is what it asks for (and on its own, too: a statement
    speaking of food answers a food question whatever its support)."""
    (tmp_path / "open").mkdir()
    (tmp_path / "gated").mkdir()
    engine = engine_over(tmp_path / "open", {"dorvaplex.md": TABLETS}, hash_embedder)
    part = engine.ask("dorvaplex with food").trace
    whole = engine.ask("dorvaplex how many times a day").trace
    assert part is not None and whole is not None
    assert part.support is not None and whole.support is not None
    assert part.support < whole.support
    # A threshold that the part alone does not pass and the whole does.
    between = (part.support + whole.support) / 2
    engine = engine_over(tmp_path / "gated", {"dorvaplex.md": TABLETS}, hash_embedder, between)
    alone = engine.ask("dorvaplex with food")
    assert not alone.abstained and "with a meal" in alone.text, alone.text
    assert alone.trace is not None and alone.trace.support is not None
    assert alone.trace.support < between  # let through for speaking of food, not by support
    answer = engine.ask("dorvaplex how many times a day, with food?")
    assert not answer.abstained
    assert "twice a day" in answer.text
    assert "with a meal" in answer.text
    assert "Store below" not in answer.text
