"""A brand's question falls back to the monograph of its substance where the brand is silent.

An EU leaflet titled by its brand ("Coravex", active substance velorixaban) and a label
titled by the substance itself ("Velorixaban") are one drug. Asked by the brand, the brand's
own leaflet answers first (its storage, its strengths are the product's); where it states
nothing, the substance's monograph is searched as well, and the answer says so. The
monographs are written here. Fast tier: hash embedder, in-memory index.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.conversation import Conversation
from monorag.qa.drugs import DrugIndex
from monorag.qa.engine import Engine
from tests.conftest import engine_over, file_entry

CORAVEX = """---
title: Coravex
description: >-
  Coravex film-coated tablets to prevent stroke in atrial fibrillation.
lastModified: '2025-05-01'
---
## What Coravex is

The active substance is velorixaban. Coravex prevents blood clots.

## How to take Coravex

The recommended dose for atrial fibrillation is one 20 mg tablet once a day with food.

If you forget a dose, take it as soon as you remember on the same day.

## How to store Coravex

Store below 30 °C in the original blister.
"""

VELORIXABAN = """---
title: Velorixaban
description: >-
  Velorixaban is a factor Xa inhibitor for atrial fibrillation and venous thromboembolism.
lastModified: '2025-06-01'
---
## 2 DOSAGE AND ADMINISTRATION

### 2.1 Nonvalvular Atrial Fibrillation

The recommended dose is 20 mg taken orally once daily with the evening meal.

### 2.2 Treatment of Deep Vein Thrombosis

The recommended dose for the treatment of deep vein thrombosis is 15 mg taken orally twice
daily with food for the first 21 days, followed by 20 mg once daily.

## 16 HOW SUPPLIED/STORAGE AND HANDLING

Store at 20 °C to 25 °C; excursions permitted to 15 °C to 30 °C.
"""

DVT = "coravex dose for deep vein thrombosis?"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    folder = tmp_path_factory.mktemp("brand-generic")
    monographs = {"coravex.md": CORAVEX, "velorixaban.md": VELORIXABAN}
    return engine_over(folder, monographs, hash_embedder)


def test_what_the_brand_leaves_out_is_answered_from_its_substance(engine: Engine) -> None:
    answer = engine.ask(DVT, llm=False)
    assert not answer.abstained, answer.text
    assert "15 mg" in answer.text and "21 days" in answer.text
    assert {c.drug for c in answer.citations} == {"Velorixaban"}
    # Said, so that a prescriber checks the product: the brand's leaflet did not state it.
    assert "Coravex monograph does not state this" in answer.note
    assert "Velorixaban" in answer.note


def test_the_brands_own_statement_is_preferred(engine: Engine) -> None:
    """The product's storage is the brand leaflet's (below 30 °C), not the label's."""
    answer = engine.ask("how should coravex be stored?", llm=False)
    assert not answer.abstained
    assert "30 °C" in answer.text and "20 °C to 25 °C" not in answer.text
    assert {c.drug for c in answer.citations} == {"Coravex"}
    assert "same substance" not in answer.note


def test_a_follow_up_keeps_the_monographs_of_the_fallback(engine: Engine) -> None:
    conversation = Conversation()
    engine.ask(DVT, conversation=conversation, llm=False)
    answer = engine.ask("and after the first 3 weeks?", conversation=conversation, llm=False)
    assert not answer.abstained, answer.text
    assert "Velorixaban" in {c.drug for c in answer.citations}


def test_without_the_substances_monograph_the_brand_is_refused(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """The control: the DVT dose is stated only by the substance's label."""
    alone = engine_over(tmp_path, {"coravex.md": CORAVEX}, hash_embedder)
    answer = alone.ask(DVT, llm=False)
    assert answer.abstained, answer.text


def test_one_substance_named_is_one_drug_not_another_left_out(engine: Engine) -> None:
    """ "velorixaban" names both monographs: quoting one is no drug the answer omits."""
    answer = engine.ask("velorixaban dose for deep vein thrombosis", llm=False)
    assert not answer.abstained
    assert "separately" not in answer.note


def test_generics_are_monographs_titled_by_a_brands_one_substance() -> None:
    index = DrugIndex(
        [
            file_entry("brand", "Coravex", ["velorixaban"]),
            file_entry("generic", "Velorixaban", []),
            file_entry("combo", "Coravex Duo", ["velorixaban", "aspirin"]),
            file_entry("other", "Velorixaban Accord", ["velorixaban"]),
        ]
    )
    assert index.generics(["brand"]) == ["Velorixaban"]
    assert index.generics(["combo"]) == []  # two substances: no one generic
    assert index.generics(["brand", "generic"]) == []  # already searched
    lookup = index.with_generics(index.find("coravex dose"))
    assert lookup.titles == ["Coravex", "Velorixaban"]
    assert {m.said for m in lookup.matches} == {"coravex"}  # one drug, one name


def test_the_fallbacks_timings_hold_both_passes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refused first pass was work done for the question: its time is counted too."""
    planner = type(engine._state.planner)
    plan = planner.plan

    def slow_plan(self: object, *args: object, **kwargs: object) -> object:
        time.sleep(0.05)
        return plan(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(planner, "plan", slow_plan)
    answer = engine.ask(DVT, llm=False)
    assert "same substance" in answer.note  # answered by the second pass
    assert answer.timings["plan"] >= 0.1, answer.timings
