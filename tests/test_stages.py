"""The explicit stages: plan -> retrieve -> answerer by name, one abstention policy, a trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monorag.embed import Embedder
from monorag.errors import BackendError, CalibrationError
from monorag.qa.abstention import AbstentionPolicy, stamp
from monorag.qa.answer import scoring
from monorag.qa.answerers import available_answerers, get_answerer
from monorag.qa.engine import Engine
from monorag.settings import AnswerSettings, Settings
from monorag.ui.cli import app


@pytest.fixture(scope="module")
def engine(seed_settings: Settings, embedder: Embedder) -> Engine:
    return Engine(seed_settings, embedder)


def test_stages_are_public_and_compose_to_ask(engine: Engine) -> None:
    query = engine.plan("Pomalyst dose for a dialysis patient?")
    assert query.decided is None and query.titles == ["Pomalidomide"]
    retrieval = engine.retrieve_for(query)
    assert retrieval.evidence and retrieval.titles == ["Pomalidomide"]
    from monorag.types import Trace

    trace = Trace()
    staged = engine.answerer("extractive").answer(query, retrieval, trace)
    asked = engine.ask("Pomalyst dose for a dialysis patient?")
    assert staged.text == asked.text and not asked.abstained
    assert trace.support is not None and trace.support >= engine.threshold


def test_every_answer_carries_a_trace_of_its_path(engine: Engine) -> None:
    answer = engine.ask("What is the starting dose of pomalidomide for multiple myeloma?")
    trace = answer.trace
    assert trace is not None
    assert {"plan", "retrieve", "answer"} <= set(trace.timings)
    assert trace.decided_by == "answer" and trace.evidence and trace.candidates
    chosen = [c for c in trace.candidates if c.chosen]
    assert chosen and all(c.text in answer.text for c in chosen)
    scores = [c.score for c in trace.candidates]
    assert scores[0] == max(scores)
    assert answer.timings is trace.timings


def test_refusals_say_which_stage_decided_and_why(engine: Engine) -> None:
    absent = engine.ask("What is the dose of zanubrutinib?")
    assert absent.abstained and absent.trace.decided_by == "plan"
    assert "zanubrutinib" in absent.trace.abstained_because
    unanswered = engine.ask("How much does pomalidomide cost in Brazil?")
    assert unanswered.abstained and unanswered.trace.decided_by == "policy"
    assert unanswered.trace.support < unanswered.trace.threshold


def test_answerers_come_from_one_registry(engine: Engine) -> None:
    assert {"extractive", "llm", "fake"} <= set(available_answerers())
    context = engine._state.context
    assert get_answerer("extractive", context) is engine.extractive
    with pytest.raises(BackendError, match="unknown answerer 'oracle'"):
        get_answerer("oracle", context)
    with pytest.raises(BackendError, match="needs a backend"):
        get_answerer("llm", context)  # the settings name no LLM backend


def test_a_planning_refusal_is_never_replaced_by_another_answerer(engine: Engine) -> None:
    answer = engine.ask("What is the dose of zanubrutinib?", answerer="fake")
    assert answer.abstained and answer.mode == "extractive"


def test_a_stale_calibration_fails_loudly(tmp_path: Path) -> None:
    scores = scoring(AnswerSettings(), "some-model@abc")
    good = tmp_path / "calibration.json"
    good.write_text(json.dumps({"abstain_below": 0.4, "stamp": stamp(scores)}))
    assert AbstentionPolicy.from_settings(AnswerSettings(), scores, good).threshold == 0.4
    changed = scoring(AnswerSettings(rerank=0), "some-model@abc")
    with pytest.raises(
        CalibrationError, match=r"fitted for other scores.*monorag\.eval\.calibrate"
    ):
        AbstentionPolicy.from_settings(AnswerSettings(rerank=0), changed, good)
    other_model = scoring(AnswerSettings(), "another-model@def")
    with pytest.raises(CalibrationError):
        AbstentionPolicy.from_settings(AnswerSettings(), other_model, good)
    # An explicit threshold needs no calibration.
    explicit = AnswerSettings(abstain_below=0.5)
    assert AbstentionPolicy.from_settings(explicit, changed, good).threshold == 0.5


def test_the_bundled_calibration_fits_the_default_scores(embedder: Embedder) -> None:
    AbstentionPolicy.from_settings(AnswerSettings(), scoring(AnswerSettings(), embedder.name))


def test_cli_explain_shows_the_trace(seed_settings: Settings) -> None:
    db = str(seed_settings.store.path)
    runner = CliRunner()
    shown = runner.invoke(app, ["--db", db, "ask", "pomalyst dose in dialysis", "--explain"])
    assert shown.exit_code == 0, shown.output
    assert "How: answerer extractive" in shown.output and "support" in shown.output
    data = json.loads(
        runner.invoke(
            app, ["--db", db, "ask", "pomalyst dose in dialysis", "--json", "--explain"]
        ).output
    )
    assert data["trace"]["decided_by"] == "answer" and data["trace"]["candidates"]
    plain = json.loads(runner.invoke(app, ["--db", db, "ask", "pomalyst dose", "--json"]).output)
    assert "trace" not in plain
