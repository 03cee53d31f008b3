"""The optional LLM judge (eval/judge.py), through qa.llm's ``fake`` backend."""

from __future__ import annotations

import pytest

from monorag.errors import BackendError
from monorag.eval.judge import Judge, parse_grade
from monorag.qa.llm import get_llm
from monorag.settings import LLMSettings


@pytest.mark.parametrize(
    ("reply", "grade"),
    [
        ("CORRECT", "correct"),
        ("correct.", "correct"),
        ("INCORRECT", "incorrect"),
        ("The answer is incorrect: it gives 5 mg.", "incorrect"),
        ("NOT_ATTEMPTED", "not_attempted"),
        ("Not attempted", "not_attempted"),
        ("A", "correct"),
        ("(B)", "incorrect"),
        ("C) the model declined", "not_attempted"),
        ("I think so", "unparsed"),
        ("", "unparsed"),
        ("Absolutely", "unparsed"),  # a leading A that is a word, not a choice
    ],
)
def test_parse_grade(reply: str, grade: str) -> None:
    assert parse_grade(reply) == grade


def test_judge_sends_question_reference_and_answer() -> None:
    model = get_llm("fake", LLMSettings(backend="fake"), responses=["CORRECT", "INCORRECT"])
    judge = Judge(model, name="fake")
    first = judge.grade("Dose?", "4 mg daily.", "Take 4 mg once daily.")
    second = judge.grade("Dose?", "4 mg daily.", "Take 5 mg.")
    assert (first.grade, second.grade) == ("correct", "incorrect")
    assert first.reply == "CORRECT"


def test_judge_failing_at_once_raises_but_later_failures_are_recorded() -> None:
    broken = get_llm("fake", LLMSettings(backend="fake"), responses=[RuntimeError("down")])
    with pytest.raises(BackendError, match="judge"):
        Judge(broken, name="fake").grade("q", "r", "a")
    flaky = get_llm(
        "fake", LLMSettings(backend="fake"), responses=["CORRECT", RuntimeError("timeout")]
    )
    judge = Judge(flaky, name="fake")
    assert judge.grade("q", "r", "a").grade == "correct"
    late = judge.grade("q", "r", "a")
    assert late.grade == "error" and "timeout" in late.reply


def test_echo_fake_backend_gives_no_grade() -> None:
    """Without scripted replies the fake backend answers its no-evidence sentence."""
    judge = Judge(get_llm("fake", LLMSettings(backend="fake")), name="fake")
    assert judge.grade("Dose?", "4 mg daily.", "4 mg").grade == "unparsed"
