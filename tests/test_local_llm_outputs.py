"""The checks of an LLM answer, on what the real local model wrote, without the model.

``tests/data/local_llm_outputs.json`` holds SmolLM2-135M's replies to fixed dose questions
(recorded by ``tests/record_local_llm.py``). Replayed through ``LLMAnswerer`` with a fake
chat model, the qualifier check must reject every misplaced number the model wrote (a
child's dose answered with the adult one) and let the right answers through.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from monorag.qa.compact import attribute, build_compact_messages, compact_evidence, unfaithful
from monorag.qa.generate import FALLBACK_MODE, LLMAnswerer
from monorag.qa.guard import find_mentions, unsupported_numbers
from monorag.qa.llm import describe, get_llm, prompt_style
from monorag.qa.qualifiers import Source, question_qualifiers, unqualified_numbers
from monorag.settings import LLMSettings, Settings
from monorag.types import Citation, Evidence, Statement
from tests.record_local_llm import CASES, case_evidence

FIXTURE = Path(__file__).resolve().parent / "data" / "local_llm_outputs.json"
RECORDED = json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]


def _replay(case: dict[str, object]) -> object:
    evidence, fallback = case_evidence(
        str(case["drug"]), str(case["section"]), str(case["passage"])
    )
    model = get_llm("fake", LLMSettings(backend="fake"), responses=[str(case["reply"])])
    return LLMAnswerer(model, "local", prompt="compact").answer(
        str(case["question"]), [evidence], fallback
    )


def test_the_fixture_is_the_recorders_cases() -> None:
    assert [c["question"] for c in RECORDED] == [case[4] for case in CASES]


@pytest.mark.parametrize("case", RECORDED, ids=lambda c: str(c["question"])[:50])
def test_no_recorded_reply_passes_unless_it_is_right(case: dict[str, object]) -> None:
    answer = _replay(case)
    if answer.mode == "llm:local":
        assert case["acceptable"], (case["reply"], answer.text)
        # Every number of an accepted answer is in its cited passage.
        assert not unsupported_numbers(answer.text, [str(case["passage"])])
        assert answer.citations
    else:
        assert answer.mode == FALLBACK_MODE and answer.note


def test_every_misplaced_number_the_model_wrote_is_rejected_with_the_reason() -> None:
    misplaced = [c for c in RECORDED if c["kind"] == "unanswered" and find_mentions(c["reply"])]
    # Measured: the model answered every such question with the passage's number.
    assert len(misplaced) >= 6
    for case in misplaced:
        answer = _replay(case)
        assert answer.mode == FALLBACK_MODE, case["reply"]
        assert "as the question asks" in answer.note
        assert answer.text.startswith(str(case["passage"])[:20])  # the extractive answer


def test_the_right_grounded_replies_are_accepted() -> None:
    grounded = [c for c in RECORDED if c["kind"] == "grounded" and c["acceptable"]]
    accepted = [c for c in grounded if _replay(c).mode == "llm:local"]
    assert len(grounded) >= 6
    assert len(accepted) == len(grounded)


# -- the qualifier check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("What is the dose of lenalidomide for children?", ["children"]),
        ("Apixaban for a 12-year-old with DVT?", ["children", "dvt"]),
        ("Dose for infants under 6 months?", ["children"]),
        ("Dose in an 80-year-old?", ["elderly patients"]),
        ("What is the adult dose?", ["adults"]),
        (
            "Dose in moderate hepatic impairment?",
            ["hepatic impairment", "moderate impairment"],
        ),
        ("Pomalyst dose for a dialysis patient?", ["dialysis"]),
        ("Can it be used in pregnancy?", ["pregnancy"]),
        ("What is the pomalidomide dose for multiple myeloma?", ["multiple myeloma"]),
        ("For how many days is it given for DVT?", ["dvt"]),
        ("What is the maximum daily dose of levetiracetam?", []),
    ],
)
def test_question_qualifiers(question: str, names: list[str]) -> None:
    found = question_qualifiers(question, ["Pomalidomide", "Pomalyst", "Levetiracetam"])
    assert [q.name for q in found] == names


def test_a_number_must_come_from_a_sentence_about_the_asked_population() -> None:
    sources = [
        Source(
            "Drug › Dosage",
            "Adults: 10 mg once daily. Children aged 6 to 11 years: 5 mg once daily.",
        )
    ]
    child = question_qualifiers("What is the dose for children?")
    assert unqualified_numbers("Children take 5 mg once daily.", sources, child) == []
    [problem] = unqualified_numbers("Children take 10 mg once daily.", sources, child)
    assert problem.number == "10 mg" and problem.missing == ("children",)
    adult = question_qualifiers("What is the adult dose?")
    assert unqualified_numbers("Adults take 10 mg.", sources, adult) == []
    assert unqualified_numbers("Adults take 5 mg.", sources, adult)


def test_a_heading_carries_its_qualifier_and_adults_are_the_default() -> None:
    child = question_qualifiers("What is the dose in children?")
    under_heading = [Source("Drug › Dosage › Paediatric population", "Give 2 mg/kg daily.")]
    assert unqualified_numbers("Give 2 mg/kg daily.", under_heading, child) == []
    adult = question_qualifiers("What is the adult dose?")
    plain = [Source("Drug › Dosage", "The recommended dose is 4 mg once daily.")]
    assert unqualified_numbers("4 mg once daily", plain, adult) == []


def test_severity_and_indication_must_match() -> None:
    sources = [
        Source("X › Hepatic impairment", "Mild hepatic impairment: 25 mg once daily."),
        Source("X › Multiple myeloma", "The dose is 4 mg on days 1-21."),
    ]
    severe = question_qualifiers("Dose in severe hepatic impairment?")
    assert unqualified_numbers("25 mg once daily", sources, severe)
    mild = question_qualifiers("Dose in mild hepatic impairment?")
    assert not unqualified_numbers("25 mg once daily", sources, mild)
    myeloma = question_qualifiers("Dose for multiple myeloma?")
    assert not unqualified_numbers("4 mg on days 1-21", sources, myeloma)
    kaposi = question_qualifiers("Dose for Kaposi sarcoma?")
    assert unqualified_numbers("4 mg on days 1-21", sources, kaposi)


# -- the compact prompt and attribution ------------------------------------------------------


def test_compact_evidence_is_what_the_extractive_answer_quoted_plus_neighbours() -> None:
    passage = "One. Two has 4 mg. Three. Four. Five."
    evidence, fallback = case_evidence("Drug", "Dosage", passage)
    fallback.citations[0] = Citation.of(evidence.chunk, "S1", "Two has 4 mg.")
    other = Evidence(chunk=replace(evidence.chunk, id="x-2"), score=2.0, key="S9")
    items = compact_evidence([other, evidence], fallback)
    assert [(item.key, item.chunk.id, text) for item, text in items] == [
        ("S1", evidence.chunk.id, "One. Two has 4 mg. Three.")
    ]
    messages = build_compact_messages("How much?", items)
    assert "[S1] Drug › Dosage: One. Two has 4 mg. Three." in messages[-1].text
    assert messages[2].text.endswith("[S1].")  # a worked example answers with a key


def test_an_uncited_statement_gets_the_key_of_its_only_source() -> None:
    a, _ = case_evidence("Alpha", "Dosage", "Alpha dose is 4 mg once daily.")
    b, _ = case_evidence("Beta", "Dosage", "Beta dose is 8 mg twice daily.")
    b = Evidence(chunk=b.chunk, score=1.0, key="S2")
    statements = [Statement("The Alpha dose is 4 mg once daily.", [])]
    assert attribute(statements, [a, b]) == ["S1"] and statements[0].keys == ["S1"]
    shared = [Statement("The dose is given daily.", [])]
    assert attribute(shared, [a, b]) == [] and shared[0].keys == []  # two possible sources


def test_repetition_and_words_of_its_own_are_unfaithful() -> None:
    evidence, _ = case_evidence("Drug", "Dosage", "No dose adjustment is needed on dialysis.")
    by_key = {"S1": evidence}
    ok = [Statement("No dose adjustment is needed on dialysis.", ["S1"])]
    assert unfaithful("Dose on dialysis?", ok, by_key) == ""
    twice = [*ok, Statement("No dose adjustment is needed on dialysis.", ["S1"])]
    assert "repeats" in unfaithful("Dose on dialysis?", twice, by_key)
    invented = [Statement("Drug is used to treat renal failure.", ["S1"])]
    assert "do not" in unfaithful("Dose on dialysis?", invented, by_key)


def test_a_number_for_what_only_the_question_names_is_unfaithful() -> None:
    """Measured in the FAQ eval: a half-life passage answered a shelf-life question."""
    evidence, _ = case_evidence(
        "Pomalidomide", "Pharmacokinetics", "The half-life is approximately 7 to 9 hours."
    )
    said = [Statement("The shelf life of Pomalidomide is approximately 7 to 9 hours.", ["S1"])]
    reason = unfaithful("What is the shelf life of Pomalidomide?", said, {"S1": evidence})
    assert "shelf" in reason


def test_a_connection_dropped_mid_answer_falls_back_with_the_reason() -> None:
    class RemoteProtocolError(Exception):
        """Named like httpx's (and httpx2's): the server closed the connection."""

    evidence, fallback = case_evidence("Drug", "Dosage", "Adults: 4 mg once daily.")
    model = get_llm(
        "fake", LLMSettings(backend="fake"), responses=[RemoteProtocolError("peer closed")]
    )
    answer = LLMAnswerer(model, "local", where="http://127.0.0.1:1/v1").answer(
        "Adult dose?", [evidence], fallback
    )
    assert answer.mode == FALLBACK_MODE
    assert "closed the connection" in answer.note and answer.text == fallback.text


# -- settings and the registry ---------------------------------------------------------------


def test_local_settings_come_from_their_environment_variables(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "MONORAG_LLM": "local",
            "MONORAG_LOCAL_LLM_THREADS": "2",
            "MONORAG_LOCAL_LLM_CTX": "4096",
            "MONORAG_LOCAL_LLM_PARALLEL": "3",
            "MONORAG_LOCAL_LLM_MODEL": str(tmp_path / "m.gguf"),
            "MONORAG_LLM_PROMPT": "full",
        }
    )
    llm = settings.llm
    assert (llm.local_threads, llm.local_ctx, llm.local_parallel) == (2, 4096, 3)
    assert llm.local_model == tmp_path / "m.gguf" and llm.prompt == "full"


def test_the_local_backend_uses_the_compact_prompt_by_default() -> None:
    assert prompt_style(LLMSettings(backend="local")) == "compact"
    assert prompt_style(LLMSettings(backend="openai")) == "full"
    assert prompt_style(LLMSettings(backend="openai", prompt="compact")) == "compact"
    assert describe(LLMSettings(backend="local")).startswith("local · SmolLM2-135M")
