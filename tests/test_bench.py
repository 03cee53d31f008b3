"""The benchmark harness: corpus generation, questions, and one end-to-end run on a tiny corpus."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from monorag.bench.corpus import rename, shuffle_sections, synthesize, touch
from monorag.bench.questions import make_questions
from monorag.bench.report import COLUMNS, METRICS, ratio, render_markdown
from monorag.bench.runner import BenchConfig, CorpusSpec, merge, percentile, run
from monorag.ingest.parse import parse_file
from monorag.settings import Settings
from monorag.ui.cli import app

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT / "corpus"


def _headings(path: Path) -> list[str]:
    return [s.title for s in parse_file(path).sections]


def test_synthesize_renames_every_name_and_shuffles_sections(tmp_path: Path) -> None:
    files = synthesize([CORPUS], 4, tmp_path / "c", seed=1)
    assert len(files) == 4
    original = parse_file(CORPUS / "pomalidomide.md")
    assert files[0].read_bytes() == (CORPUS / "pomalidomide.md").read_bytes()
    titles = {parse_file(f).title for f in files}
    assert len(titles) == 4
    for variant in files[1:]:
        text = variant.read_text(encoding="utf-8")
        for name in original.aliases:
            assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.I), name
        mono = parse_file(variant)
        assert mono.title in text
        assert sorted(_headings(variant)) == sorted(_headings(CORPUS / "pomalidomide.md"))
        assert len(mono.faqs) == len(original.faqs)
    orders = [_headings(f) for f in files]
    assert any(order != orders[0] for order in orders[1:])
    again = synthesize([CORPUS], 4, tmp_path / "again", seed=1)
    assert [f.read_bytes() for f in again] == [f.read_bytes() for f in files]


def test_rename_keeps_case_and_prefers_longer_names() -> None:
    text = "ABECMA and Abecma; abecma. Abiraterone acetate, abiraterone, non-abecma"
    out = rename(
        text,
        {"abecma": "zorix", "abiraterone acetate": "dexmab", "abiraterone": "alvir"},
    )
    assert out == "ZORIX and Zorix; zorix. Dexmab, alvir, non-abecma"


def test_shuffle_keeps_front_matter_and_every_section() -> None:
    text = "---\ntitle: X\n---\n\nintro\n\n## A\n\na\n\n## B\n\nb\n\n### B1\n\nb1\n\n## C\n\nc\n"
    outs = {shuffle_sections(text, random.Random(seed)) for seed in range(10)}
    assert len(outs) > 1
    for out in outs:
        assert out.startswith("---\ntitle: X\n---\n\nintro\n\n")
        assert "## B\n\nb\n\n### B1\n\nb1\n" in out
        assert sorted(out.splitlines()) == sorted(text.splitlines())


def test_touch_changes_content_of_one_percent(tmp_path: Path) -> None:
    files = []
    for i in range(250):
        path = tmp_path / f"m{i}.md"
        path.write_text("---\ntitle: M\n---\n\n## A\n\ntext\n", encoding="utf-8")
        files.append(path)
    before = {f: f.read_bytes() for f in files}
    touched = touch(files, 0.01, "t")
    assert len(touched) == 3
    changed = [f for f in files if f.read_bytes() != before[f]]
    assert sorted(changed) == sorted(touched)


def test_questions_are_deterministic_and_spread(tmp_path: Path) -> None:
    files = synthesize([CORPUS], 6, tmp_path / "c")
    first = make_questions(files, 40, seed=3)
    assert first == make_questions(files, 40, seed=3)
    assert len(first) == 40
    assert len({q.text for q in first}) == 40
    assert len({q.drug for q in first}) == 6
    assert {"faq", "used_for", "side_effects", "dose"} <= {q.kind for q in first}
    titles = {parse_file(f).title for f in files}
    assert {q.drug for q in first} <= titles
    # A single monograph still yields the number asked for (with repeats).
    assert len(make_questions(files[:1], 150)) == 150


def test_percentile_matches_numpy() -> None:
    values = [float(v) for v in np.random.default_rng(0).random(37) * 100]
    for q in (50, 95, 99):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_ratio_and_missing_values() -> None:
    assert ratio(1.0, 4.0) == "0.25×"
    assert ratio(None, 4.0) == "n/a"
    assert ratio(3.0, 0) == "n/a"


def _check_report(text: str, corpus: str) -> None:
    header = "| " + " | ".join(COLUMNS) + " |"
    assert header in text
    table = text.split("## Results", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith(f"| {corpus} | ")]
    labels = [row.split(" | ")[1] for row in rows]
    for metric in METRICS:
        assert metric.label in labels
    for row in rows:
        assert len(row.strip("| ").split(" | ")) == len(COLUMNS)


def test_render_markdown_has_every_metric_row() -> None:
    results = {
        "corpora": [
            {
                "name": "x",
                "label": "x",
                "monographs": 2,
                "questions": 3,
                "question_kinds": {"faq": 3},
                "monorag": {m.key: 2.0 for m in METRICS},
                "baseline": {m.key: 4.0 for m in METRICS},
            }
        ]
    }
    text = render_markdown(results)
    _check_report(text, "x")
    assert "0.50×" in text


@pytest.mark.parametrize(
    ("corpus", "message"),
    [("nope", "--corpus 'nope': expected NAME=PATH"), ("x=/no/such", "x: /no/such does not")],
)
def test_bench_refuses_a_bad_corpus_before_anything_runs(corpus: str, message: str) -> None:
    """`monorag bench` (declared in bench/cli.py) checks its corpora first: exit 2."""
    result = CliRunner().invoke(app, ["bench", "--corpus", corpus])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output


def test_bench_only_names_a_corpus_of_the_run() -> None:
    """`--only` splits a long run over sessions; a name that is not a corpus of this run
    is refused before anything is measured."""
    result = CliRunner().invoke(app, ["bench", "--large", "--only", "larg"])
    assert result.exit_code == 2, result.output
    assert "--only larg: not a corpus of this run (bundled, ema, large)" in result.output


def test_earlier_corpora_join_the_report_marked_with_when_they_were_measured() -> None:
    """`--include`: a long run's report shows corpora measured in earlier runs, dated; a
    corpus measured now is not replaced by an earlier figure."""

    def corpus(name: str, size: int, p95: float) -> dict[str, object]:
        figures = {"ask_p95_ms": p95}
        return {"name": name, "label": name, "monographs": size, "questions": 1, "monorag": figures}

    results = {"started": "2026-12-02 17:01", "corpora": [corpus("large", 10_000, 40.0)]}
    earlier = {
        "started": "2026-11-27 06:13",
        "corpora": [corpus("large", 10_000, 99.0), corpus("c2000", 2000, 38.9)],
    }
    merge(results, earlier)
    corpora = results["corpora"]
    assert [c["name"] for c in corpora] == ["c2000", "large"]
    assert corpora[1]["monorag"] == {"ask_p95_ms": 40.0}
    assert [c["measured"] for c in corpora] == ["2026-11-27 06:13", "2026-12-02 17:01"]
    text = render_markdown(results)
    assert "| Kinds | Measured |" in text and "| 2026-11-27 06:13 |" in text


def test_bench_include_refuses_a_file_that_is_not_results(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", "--include", str(bad)])
    assert result.exit_code == 2, result.output
    assert f"--include {bad}: not a results file of monorag bench" in result.output


@pytest.mark.slow
def test_bench_runs_end_to_end_on_a_tiny_corpus(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny"
    synthesize([CORPUS], 2, tiny)
    out = tmp_path / "docs" / "bench.md"
    plot = tmp_path / "docs" / "bench.png"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "--corpus",
            f"tiny={tiny}",
            "--questions",
            "6",
            "--out",
            str(out),
            "--plot",
            str(plot),
            "--work",
            str(tmp_path / "work"),
            "--large",
            "--large-size",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    _check_report(text, "tiny")
    assert "## Machine" in text and "chromadb" in text and "torch" in text
    assert plot.stat().st_size > 5000
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    raw = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    corpus = raw["corpora"][0]
    assert corpus["monographs"] == 2 and corpus["questions"] == 6
    for system in ("monorag", "baseline"):
        figures = corpus[system]
        assert figures["chunks"] > 0
        assert 0 < figures["ask_p50_ms"] <= figures["ask_p95_ms"]
        assert figures["serve_peak_rss_mb"] > 100
        assert figures["store_mb"] > 0
    assert corpus["monorag"]["reindexed_files"] == 1
    assert corpus["touched_files"] == 1
    # --large: a corpus generated from the others (renamed drugs), measured the same way.
    large = raw["corpora"][1]
    assert large["name"] == "large" and large["monographs"] == 3
    assert "(c) 3 generated" in text
    for system in ("monorag", "baseline"):
        assert large[system]["chunks"] > 0 and large[system]["ask_p95_ms"] > 0
    # Issue 15: memory by stage, the reader's cache, the encoder's floor.
    ours = corpus["monorag"]
    stages = ours["rss_stages_mb"]
    assert next(iter(stages)) == "start" and all(v > 0 for v in stages.values())
    assert stages["model loaded"] > stages["start"]
    assert ours["reader_cache"]["chunks_in_memory"] == ours["chunks"]
    assert ours["reader_cache"]["unit_vectors_mapped"] >= ours["chunks"]
    assert ours["embed_chunks_per_s"] > 0 and ours["floor_ratio"] > 0
    assert ours["ingest_rss_samples"] and all(r > 0 for _, r in ours["ingest_rss_samples"])
    assert "## Where the serving process's memory goes" in text

    # A resumed run keeps what was measured: a corpus with saved results is not measured
    # again; one whose full ingest was saved repeats only the steps after it.
    config = BenchConfig(
        corpora=[CorpusSpec("tiny", "tiny", (tiny,))],
        settings=Settings.from_env({}),
        work=tmp_path / "work",
        questions=6,
        baseline=False,
        resume=True,
    )
    assert run(config)["corpora"][0] == corpus
    (tmp_path / "work" / "tiny" / "result.json").unlink()
    again = run(config)["corpora"][0]
    assert again["monorag"]["ingest_s"] == ours["ingest_s"], "full ingest not repeated"
    assert again["monorag"]["ask_p95_ms"] > 0 and "baseline" not in again

    # --only: one corpus of the run, here the generated one, kept from its saved results.
    only = tmp_path / "docs" / "only.md"
    args = ["bench", "--corpus", f"tiny={tiny}", "--large", "--large-size", "3", "--only"]
    args += ["large", "--work", str(tmp_path / "work"), "--resume", "--out", str(only)]
    args += ["--plot", str(tmp_path / "docs" / "only.png")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    kept = json.loads(only.with_suffix(".json").read_text(encoding="utf-8"))["corpora"]
    assert [c["name"] for c in kept] == ["large"] and kept[0] == large
    # --include: the first run's corpora join the report of the split run.
    result = CliRunner().invoke(app, [*args, "--include", str(out.with_suffix(".json"))])
    assert result.exit_code == 0, result.output
    kept = json.loads(only.with_suffix(".json").read_text(encoding="utf-8"))["corpora"]
    assert [c["name"] for c in kept] == ["tiny", "large"]
    assert kept[0]["measured"] == raw["started"]


def test_a_new_run_keeps_the_hand_written_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monorag.bench import report

    page = tmp_path / "benchmarks.md"
    page.write_text(f"old figures\n{report.HAND_WRITTEN}\n## Cold ask\n\nby hand\n")
    monkeypatch.setattr(report, "render_markdown", lambda results, plot: "new figures\n")
    report.write({}, page, None)
    assert page.read_text() == f"new figures\n\n{report.HAND_WRITTEN}\n## Cold ask\n\nby hand\n"
