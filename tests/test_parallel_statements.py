"""Parallel lines for two cases: both when both are asked, only the asked one otherwise.

A leaflet often states one rule twice, once per case, in nearly the same words ("Women must
use effective contraception ... for at least 8 months after the final dose." / "Men must
... for at least 5 months ..."). Asked about both, the answer quotes both: the lines are
two statements, not a repeat, because each states a number the other does not. Asked
about one, the other case's line stays out (its number would be the wrong population's).
The monograph is written here. Fast tier: hash embedder, in-memory index.
"""

from __future__ import annotations

import pytest

from monorag.embed import HashEmbedder
from monorag.qa.engine import Engine
from tests.conftest import engine_over

VORANTIB = """---
title: Vorantib
description: >-
  Vorantib powder for infusion for acute leukaemia.
lastModified: '2025-02-01'
---
## 2. What you need to know before you are given Vorantib

Contraception

Women must use effective contraception during treatment and for at least 8 months after
the final dose of treatment. Men must use effective contraception during treatment and for
at least 5 months after the final dose of treatment.

Pregnancy

The effects of Vorantib in pregnant women are not known.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    folder = tmp_path_factory.mktemp("parallel")
    return engine_over(folder, {"vorantib.md": VORANTIB}, hash_embedder)


def test_both_cases_asked_get_both_parallel_lines(engine: Engine) -> None:
    answer = engine.ask("vorantib contraception after last dose - women and men?", llm=False)
    assert not answer.abstained, answer.text
    assert "8 months" in answer.text and "5 months" in answer.text, answer.text


@pytest.mark.parametrize(
    ("question", "theirs", "other"),
    [
        ("vorantib: how long must men use contraception after the last dose?", "5", "8"),
        ("vorantib: how long must women use contraception after the last dose?", "8", "5"),
    ],
)
def test_one_case_asked_gets_its_own_line_only(
    engine: Engine, question: str, theirs: str, other: str
) -> None:
    answer = engine.ask(question, llm=False)
    assert f"{theirs} months" in answer.text, answer.text
    assert f"{other} months" not in answer.text, answer.text
