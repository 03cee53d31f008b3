"""The clinical question set: its shape, its sealed split, its gold, and the scoring."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from monorag.eval.clinical import (
    TYPES,
    ClinicalQuestion,
    ClinicalSetError,
    Reply,
    corpus_files,
    load_questions,
    load_split,
    monograph_dirs,
    plain,
    score,
    split_of,
)
from monorag.ingest.parse import parse_file

from .conftest import EMA


@pytest.fixture(scope="module")
def questions() -> list[ClinicalQuestion]:
    return load_questions()


def test_the_set_has_the_size_and_spread_asked_for(questions: list[ClinicalQuestion]) -> None:
    monographs = {(q.corpus, q.monograph) for q in questions if q.monograph}
    assert len(questions) >= 240
    assert len(monographs) >= 80
    assert len({q.type for q in questions}) >= 12
    assert sum(q.expect == "refuse" for q in questions) / len(questions) >= 0.20
    uspi = [q for q in questions if q.corpus == "uspi"]
    assert len(uspi) >= 30 and len({q.monograph for q in uspi}) >= 10
    assert sum(bool(q.follows) for q in questions) >= 20


def test_the_split_is_frozen_by_monograph_and_holds_a_third(
    questions: list[ClinicalQuestion],
) -> None:
    frozen = load_split()
    # Every unit is in split.yaml: nothing is drawn at run time, nothing moved.
    assert {q.unit for q in questions} <= set(frozen)
    assert split_of(questions, frozen) == frozen
    monographs = {q.unit for q in questions if q.monograph}
    test = [u for u in monographs if frozen[u] == "test"]
    assert len(test) / len(monographs) >= 0.30


def _gold_text(q: ClinicalQuestion) -> str:
    mono = parse_file(monograph_dirs(EMA)[q.corpus] / f"{q.monograph}.md")
    parts = [
        s.text
        for s in mono.all_sections()
        if any(g.lower() in s.heading.lower() for g in q.sections)
    ]
    parts += [
        f"{f.question} {f.answer}"
        for f in mono.faqs
        if any(
            g.lower() in f"Q: {f.question}".lower() or g.lower() in f.question.lower()
            for g in q.sections
        )
    ]
    return " ".join(" ".join(parts).replace("**", "").split())


def test_every_gold_fact_is_stated_in_a_gold_section(questions: list[ClinicalQuestion]) -> None:
    """The gold was written from the text: each fact matches its gold section's words."""
    bad = []
    for q in questions:
        if q.expect != "answer":
            continue
        text = _gold_text(q)
        if not text:
            bad.append(f"{q.id}: no section matches {q.sections}")
            continue
        for alts in q.facts:
            if not any(re.search(a, text, re.IGNORECASE) for a in alts):
                bad.append(f"{q.id}: {alts} not in its gold sections")
    assert bad == []


def test_absent_drugs_have_no_monograph(questions: list[ClinicalQuestion]) -> None:
    stems = {p.stem for d in monograph_dirs(EMA).values() for p in d.glob("*.md")}
    for q in questions:
        if q.type == "absent_drug":
            assert q.expect == "refuse" and q.monograph is None, q.id
            assert not any(s in q.question.lower().split() for s in stems), q.id


def _q(**kw: object) -> ClinicalQuestion:
    base = dict(
        id="x-1",
        question="q",
        corpus="ema",
        monograph="abilify",
        type="dose_population",
        expect="answer",
        sections=("3. How to take",),
        facts=(("10 ?mg",), ("once a day", "daily")),
        must_not=("15 ?mg",),
        follows=None,
        note="",
        file="t.yaml",
    )
    base.update(kw)
    return ClinicalQuestion(**base)  # type: ignore[arg-type]


def test_scoring_needs_every_fact_the_gold_section_and_no_trap() -> None:
    q = _q()
    right = Reply(
        "Take 10 mg once a day. [S1]",
        False,
        (("abilify", "3. How to take abilify", "Take 10 mg once a day."),),
    )
    assert score(q, right).correct
    wrong_section = Reply(
        "Take 10 mg once a day. [S1]", False, (("abilify", "4. Side effects", "Headache."),)
    )
    assert not score(q, wrong_section).correct
    # Another section of the monograph that states every fact is a right citation too.
    restated = Reply("Take 10 mg once a day.", False, (("abilify", "6. Contents", "10 mg daily"),))
    assert score(q, restated).correct
    other_drug = Reply(
        "Take 10 mg once a day. [S1]",
        False,
        (("otherdrug", "3. How to take", "Take 10 mg once a day."),),
    )
    assert not score(q, other_drug).cited_right
    trap = score(q, Reply("10 mg, or 15 mg once a day.", False, right.cited))
    assert not trap.correct and trap.false_answer
    partial = score(q, Reply("Take 10 mg.", False, right.cited))
    assert partial.missing == ["once a day | daily"]
    refused = score(q, Reply("The monographs do not answer this.", True, ()))
    assert refused.false_refusal and not refused.false_answer


def test_scoring_of_refusals() -> None:
    q = _q(expect="refuse", facts=(), sections=())
    assert score(q, Reply("not covered", True, ())).correct
    answered = score(q, Reply("Take 10 mg.", False, (("abilify", "x", "Take 10 mg."),)))
    assert answered.false_answer and not answered.correct


def test_plain_drops_keys_and_markup() -> None:
    assert plain("**Take** 4 mg [S1] daily [S2, S3].") == "Take 4 mg daily ."


def test_a_malformed_set_names_the_file_and_question(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "- id: a-1\n  question: q\n  corpus: ema\n  type: storage\n  expect: maybe\n"
    )
    with pytest.raises(ClinicalSetError, match=r"bad.yaml a-1: expect must be answer or refuse"):
        load_questions(tmp_path)
    (tmp_path / "bad.yaml").write_text(
        "- id: a-1\n  question: q\n  corpus: ema\n  type: storage\n  expect: refuse\n"
        "  follows: nowhere\n"
    )
    with pytest.raises(ClinicalSetError, match="follows 'nowhere'"):
        load_questions(tmp_path)


def test_type_counts_are_reported(questions: list[ClinicalQuestion]) -> None:
    counts = Counter(q.type for q in questions)
    assert set(counts) <= set(TYPES)


def _question(monograph: str) -> ClinicalQuestion:
    return ClinicalQuestion(
        id=f"t-{monograph}-01",
        question="dose?",
        corpus="ema",
        monograph=monograph,
        type="dose_indication",
        expect="answer",
        sections=(),
        facts=(),
        must_not=(),
        follows=None,
        note="",
        file="t.yaml",
    )


def test_distractors_stay_put_as_the_set_grows(tmp_path: Path) -> None:
    """A question over a new leaflet changes the store by that leaflet and at most one
    distractor, so that figures before and after a set grows compare like with like."""
    for i in range(40):
        (tmp_path / f"leaflet{i:02d}.md").write_text("x", encoding="utf-8")
    before = set(corpus_files([_question("leaflet00")], tmp_path, distractors=8))
    outside = sorted(p.stem for p in tmp_path.glob("*.md") if p not in before)
    after = set(corpus_files([_question("leaflet00"), _question(outside[0])], tmp_path, 8))
    assert after - before == {tmp_path / f"{outside[0]}.md"}
    distractor = sorted(p.stem for p in before if p.parent == tmp_path and p.stem != "leaflet00")
    grown = set(
        corpus_files([_question("leaflet00"), _question(distractor[0])], tmp_path, distractors=8)
    )
    assert len(grown - before) == 1 and not before - grown
