"""The eval harness end to end on a small hand-made corpus: real ingest, real engine, real
LangChain baseline, both modes; the judge through the ``fake`` backend; the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monorag.embed import Embedder
from monorag.errors import MonoragError
from monorag.eval.dataset import (
    EvalSet,
    EvalSetError,
    build_eval_set,
    labelling_embedder,
    load_corpus,
    save_eval_set,
)
from monorag.eval.harness import EvalConfig, EvalRun, run_eval
from monorag.eval.judge import Judge
from monorag.index.store import Store
from monorag.ingest.pipeline import ingest
from monorag.qa.llm import get_llm
from monorag.settings import LLMSettings, Settings
from tests.eval_corpus import write_corpus

pytestmark = pytest.mark.slow

MONORAG = Path(sys.executable).with_name("monorag")


def settings_for(store: Path) -> Settings:
    return Settings.from_env({}, **{"store.path": store})


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Path, EvalSet]:
    corpus = write_corpus(tmp_path_factory.mktemp("harness") / "corpus")
    return corpus, build_eval_set(load_corpus([corpus]), labelling_embedder().embed)


@pytest.fixture(scope="module")
def run(
    small: tuple[Path, EvalSet], tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> EvalRun:
    corpus, eval_set = small
    work = tmp_path_factory.mktemp("work")
    seen: list[tuple[str, int, int]] = []
    result = run_eval(
        EvalConfig(
            eval_set=eval_set,
            corpus=[corpus],
            settings=settings_for(work / "store"),
            work_dir=work,
            embedder=embedder,
            progress=lambda stage, done, total: seen.append((stage, done, total)),
        )
    )
    assert ("held-out", 60, 60) in seen and ("ingest", 1, 1) in seen
    return result


def test_every_question_is_asked_of_both_systems_in_both_modes(
    run: EvalRun, small: tuple[Path, EvalSet]
) -> None:
    _, eval_set = small
    questions = len(eval_set.questions())
    assert len(run.results) == questions * 2 * 2
    for mode in ("open", "held-out"):
        for system in ("monorag", "baseline"):
            mine = [r for r in run.results if r.mode == mode and r.system == system]
            assert len(mine) == questions
            figures = run.summary[mode][system]
            for key in ("key_fact_recall", "hit@3", "citation_precision", "abstention_accuracy"):
                assert key in figures
            assert figures["n"]["abstention_accuracy"] == len(eval_set.probes)


def test_held_out_mode_never_retrieves_the_evaluated_faq(run: EvalRun) -> None:
    held = [r for r in run.results if r.mode == "held-out"]
    ours = [r for r in held if r.system == "monorag"]
    assert all(r.scores["leaked_faq_chunks"] == 0 for r in ours)
    assert run.summary["held-out"]["monorag"]["leaked_faq_chunks"] == 0
    for r in held:
        assert not any(f"{r.drug} › FAQ › " in s for s in r.retrieved), (r.id, r.retrieved)
    # In open mode the FAQ pairs are there to be found, by both systems.
    open_ours = [r for r in run.results if r.mode == "open" and r.system == "monorag"]
    assert any(s.startswith(f"{r.drug} › FAQ › ") for r in open_ours for s in r.retrieved)
    open_base = [r for r in run.results if r.mode == "open" and r.system == "baseline"]
    assert any(" › FAQ › " in s for r in open_base for p in r.retrieved_sections for s in p)
    held_base = [r for r in held if r.system == "baseline"]
    assert not any(" › FAQ › " in s for r in held_base for p in r.retrieved_sections for s in p)


def test_scores_follow_the_labels(run: EvalRun) -> None:
    by = {(r.id, r.mode, r.system): r for r in run.results}
    # The grapefruit answer is not in the body: no gold when held out; its FAQ pair when open.
    unstated = by[("zorbanib#q3/original", "held-out", "monorag")]
    assert unstated.unstated and unstated.scores["hit@3"] is None and unstated.scores["mrr"] is None
    assert not by[("zorbanib#q3/original", "open", "monorag")].unstated
    assert by[("zorbanib#q3/original", "open", "monorag")].scores["hit@3"] is not None
    for r in run.results:
        if not r.answerable:
            assert r.passed == r.abstained
            assert r.scores.get("key_fact_recall") is None
            continue
        if r.unstated:
            assert r.mode == "held-out" and r.passed == r.abstained
            continue
        if r.abstained:
            assert not r.passed and r.scores["citation_precision"] is None
            assert r.scores["token_f1"] == 0.0 and r.facts_found == []
        recall = r.scores["key_fact_recall"]
        if recall is not None:
            total = len(r.facts_found) + len(r.facts_missing)
            assert recall == pytest.approx(len(r.facts_found) / total)
            assert r.passed == (recall >= 0.5 and not r.abstained)
        for key in ("hit@1", "hit@3", "hit@5", "mrr", "citation_precision"):
            value = r.scores.get(key)
            assert value is None or 0.0 <= value <= 1.0
        assert r.scores["hit@1"] is None or r.scores["hit@1"] <= r.scores["hit@3"]


def test_summary_matches_the_rows(run: EvalRun) -> None:
    for mode in ("open", "held-out"):
        for system in ("monorag", "baseline"):
            rows = [r for r in run.results if r.mode == mode and r.system == system]
            probes = [r for r in rows if not r.answerable]
            expected = sum(r.abstained for r in probes) / len(probes)
            assert run.summary[mode][system]["abstention_accuracy"] == pytest.approx(
                expected, abs=1e-4
            )
            passes = sum(r.passed for r in rows) / len(rows)
            assert run.summary[mode][system]["pass_rate"] == pytest.approx(passes, abs=1e-4)
    # The plain baseline answers everything: it has no way to abstain.
    assert run.summary["held-out"]["baseline"]["abstention_accuracy"] == 0.0


def test_judge_grades_every_answerable_answer(
    small: tuple[Path, EvalSet], tmp_path: Path, embedder: Embedder
) -> None:
    corpus, eval_set = small
    # A store left over from a run on another corpus is rebuilt, not mixed in.
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "other.md").write_text(
        (corpus / "plainomab.md").read_text().replace("Plainomab", "Strayomab"), encoding="utf-8"
    )
    assert ingest([stray], settings_for(tmp_path / "store"), embedder).ok
    answerable = [q for q in eval_set.questions() if q.answerable]  # more than are judged
    replies = ["CORRECT", "INCORRECT", "NOT_ATTEMPTED"] * len(answerable)
    judge = Judge(get_llm("fake", LLMSettings(backend="fake"), responses=replies), name="fake")
    result = run_eval(
        EvalConfig(
            eval_set=eval_set,
            corpus=[corpus],
            settings=settings_for(tmp_path / "store"),
            work_dir=tmp_path,
            modes=["held-out"],
            baseline=False,
            judge=judge,
            embedder=embedder,
        )
    )
    graded = [r.judge for r in result.results if r.answerable and not r.unstated]
    assert graded == (["correct", "incorrect", "not_attempted"] * len(answerable))[: len(graded)]
    # Probes and questions the held-out index cannot answer are not graded.
    assert all(r.judge is None for r in result.results if not r.answerable or r.unstated)
    assert any(r.unstated for r in result.results)
    figures = result.summary["held-out"]["monorag"]
    assert figures["judge_correct"] + figures["judge_incorrect"] + figures[
        "judge_not_attempted"
    ] == pytest.approx(1.0, abs=1e-3)
    assert list(result.summary["held-out"]) == ["monorag"]
    titles = {f.title for f in Store.open(settings_for(tmp_path / "store").store).files().values()}
    assert titles == {"Zorbanib", "Quellatrin", "Plainomab"}


def test_bad_mode_and_stale_set_are_refused(
    small: tuple[Path, EvalSet], tmp_path: Path, embedder: Embedder
) -> None:
    corpus, eval_set = small
    config = EvalConfig(
        eval_set=eval_set,
        corpus=[corpus],
        settings=settings_for(tmp_path / "store"),
        work_dir=tmp_path,
        modes=["closed-book"],
        embedder=embedder,
    )
    with pytest.raises(MonoragError, match="closed-book"):
        run_eval(config)
    other = write_corpus(tmp_path / "other", with_no_faq=False)
    config.modes, config.corpus = ["held-out"], [other]
    with pytest.raises(EvalSetError, match=r"plainomab\.md is no longer in the corpus"):
        run_eval(config)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONORAG_")}
    return subprocess.run(
        [str(MONORAG), *args], capture_output=True, text=True, timeout=900, env=env, check=False
    )


def test_cli_builds_a_set_and_writes_the_three_reports(
    small: tuple[Path, EvalSet], tmp_path: Path
) -> None:
    corpus, eval_set = small
    set_path = tmp_path / "set.yaml"
    built = cli("eval", "--build-set", "--corpus", str(corpus), "--eval-set", str(set_path))
    assert built.returncode == 0, built.stderr
    assert "4 FAQ items" in built.stdout and set_path.is_file()

    report = tmp_path / "report"
    proc = cli(
        "eval",
        "--mode",
        "held-out",
        "--corpus",
        str(corpus),
        "--eval-set",
        str(set_path),
        "--report",
        str(report),
        "--no-baseline",
        "--judge",
        "fake",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data["summary"]) == {"held-out"}
    assert data["meta"]["judge"].startswith("fake")
    # The fake backend without a script cannot grade: every answer is "unparsed", not faked.
    graded = {r["judge"] for r in data["results"] if r["answerable"] and not r["unstated"]}
    assert graded == {"unparsed"}
    for name in ("eval.json", "eval.md", "eval.png"):
        assert (report / name).is_file()
    assert Path(data["files"]["markdown"]) == report / "eval.md"
    assert (report / "store").is_dir()  # its own store, not the user's

    bad = cli("eval", "--mode", "sideways", "--corpus", str(corpus), "--eval-set", str(set_path))
    assert bad.returncode == 2 and "--mode 'sideways'" in bad.stderr

    save_eval_set(eval_set, set_path)
    (corpus / "extra.md").write_text((corpus / "plainomab.md").read_text(), encoding="utf-8")
    try:
        stale = cli("eval", "--corpus", str(corpus), "--eval-set", str(set_path), "-q")
    finally:
        (corpus / "extra.md").unlink()
    assert stale.returncode == 2 and "does not match the corpus" in stale.stderr


def test_a_store_of_an_older_format_is_rebuilt_not_refused(
    small: tuple[Path, EvalSet], tmp_path: Path, embedder: Embedder
) -> None:
    """The eval's store is its own cache: after an upgrade it is rebuilt, the run goes on."""
    corpus, eval_set = small
    settings = settings_for(tmp_path / "store")
    assert ingest([corpus], settings, embedder).ok
    Store.open(settings.store)._write_meta(format=1)
    result = run_eval(
        EvalConfig(
            eval_set=eval_set,
            corpus=[corpus],
            settings=settings,
            work_dir=tmp_path,
            embedder=embedder,
            modes=("held-out",),
            baseline=False,
        )
    )
    assert result.summary["held-out"]["monorag"]["hit@3"] > 0
    assert Store.open(settings.store).meta()["format"] != 1
