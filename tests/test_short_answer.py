"""A one-sentence answer is completed by the statement it belongs to: the rest of its
paragraph ("... you can crush it." + "Mix it with water or apple sauce"), else the
sentence before it, but never a neighbour with a number of its own (another case's line:
"less than 6 hours", "two tablets"). Written monographs, fast tier (hash embedder,
in-memory index).
"""

from __future__ import annotations

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.engine import Engine
from tests.conftest import engine_over

LEAFLET = """---
title: Crushix
description: >-
  Crushix is a test tablet written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to take Crushix

Take one tablet each morning.

If you cannot swallow the tablet whole, you can crush it. Mix it with water or soft foods, such as apple sauce, and take it right away.

If you forget to take Crushix, take the missed tablet as soon as you remember within the same day. Do not take two tablets in one day to make up for a forgotten tablet.

If you are sick after a tablet, wait until the next morning. If less than 6 hours have passed since the tablet, take another one.
"""  # noqa: E501


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    return engine_over(tmp_path_factory.mktemp("short"), {"crushix.md": LEAFLET}, hash_embedder)


def test_the_rest_of_the_paragraph_completes_a_short_answer(engine: Engine) -> None:
    answer = engine.ask("can crushix tablets be crushed?", llm=False)
    assert "you can crush it" in answer.text
    assert "apple sauce" in answer.text, answer.text
    assert "each morning" not in answer.text, "another paragraph does not come along"


def test_the_sentence_before_completes_a_short_answer(engine: Engine) -> None:
    answer = engine.ask(
        "crushix forgot a tablet, make up for it with two tablets in one day?", llm=False
    )
    assert "Do not take two tablets" in answer.text
    assert "within the same day" in answer.text, answer.text


def test_a_neighbour_with_a_number_of_its_own_stays_out(engine: Engine) -> None:
    answer = engine.ask("crushix - sick after the tablet, wait until next morning?", llm=False)
    assert "wait until the next morning" in answer.text
    assert "6 hours" not in answer.text, answer.text
