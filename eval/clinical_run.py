"""Run the clinical question set against monorag (and the LangChain baseline) and report.

``monorag eval --set clinical [--split dev|test|all]`` calls ``run_clinical``: the set's
monographs (plus the US-PI test monographs, the bundled corpus and fixed distractor
leaflets) are ingested into a store under the report folder, every question of the split is
asked in order (follow-ups continue their conversation), and ``clinical.json`` and
``clinical.md`` are written: the figures overall, per question type and per corpus style,
beside the baseline, and every question that is not fully correct with why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from monorag.eval.clinical import (
    ClinicalQuestion,
    Outcome,
    Reply,
    corpus_files,
    load_questions,
    load_split,
    run_questions,
    split_of,
    summarise,
)
from monorag.settings import Settings

Progress = Callable[[str, int, int], None]
SPLITS = ("dev", "test", "all")


@dataclass(slots=True)
class ClinicalRun:
    """Outcomes of one run, per system."""

    split: str
    systems: dict[str, list[Outcome]]
    monographs: int
    settings: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Figures and every outcome."""
        return {
            "split": self.split,
            "monographs": self.monographs,
            "settings": self.settings,
            "summary": {name: summarise(out) for name, out in self.systems.items()},
            "outcomes": {name: [asdict(o) for o in out] for name, out in self.systems.items()},
        }


def questions_of(split: str, folder: Path | None = None) -> list[ClinicalQuestion]:
    """The questions of ``split`` (``all``: both), in file order."""
    if split not in SPLITS:
        from monorag.eval.clinical import ClinicalSetError

        raise ClinicalSetError(f"--split {split!r}: use dev, test or all")
    questions = load_questions(folder) if folder else load_questions()
    sides = split_of(questions, load_split())
    return [q for q in questions if split == "all" or sides[q.unit] == split]


def run_clinical(
    settings: Settings,
    work_dir: Path,
    leaflets: Path,
    *,
    split: str = "dev",
    baseline: bool = True,
    embedder: Any = None,
    progress: Progress | None = None,
) -> ClinicalRun:
    """Ingest the set's corpus under ``work_dir`` and ask every question of ``split``."""
    from monorag.embed import get_embedder
    from monorag.ingest.pipeline import ingest
    from monorag.qa.conversation import Conversation
    from monorag.qa.engine import Engine

    everything = load_questions()
    questions = questions_of(split)
    files = corpus_files(everything, leaflets)
    embedder = embedder or get_embedder(settings.embedding)
    say = progress or (lambda *_: None)
    report = ingest(files, settings, embedder, progress=lambda p: say("ingest", p.done, p.total))
    if not report.ok:
        from monorag.errors import MonoragError

        raise MonoragError(f"the clinical corpus did not ingest: {report.failed[:3]}")
    engine = Engine(settings, embedder)

    def ask_monorag(q: ClinicalQuestion, conversation: Any) -> tuple[Reply, Any]:
        conversation = conversation or Conversation()
        started = time.perf_counter()
        answer = engine.ask(q.question, conversation=conversation, llm=None)
        cited = tuple((Path(c.source).stem, c.section, c.quote) for c in answer.citations)
        seconds = time.perf_counter() - started
        return Reply(answer.text, answer.abstained, cited, seconds), conversation

    systems = {"monorag": run_questions(questions, ask_monorag, lambda d, t: say("ask", d, t))}
    if baseline:
        systems["baseline"] = _run_baseline(files, questions, work_dir, settings, say)
    return ClinicalRun(
        split=split,
        systems=systems,
        monographs=len(files),
        settings={"answerer": engine.answerer().name, "threshold": engine.threshold},
    )


def _run_baseline(
    files: list[Path],
    questions: list[ClinicalQuestion],
    work_dir: Path,
    settings: Settings,
    say: Progress,
) -> list[Outcome]:
    from monorag.embed import resolve_precision
    from monorag.eval.baseline import LangChainBaseline, sections_of
    from monorag.ingest.parse import parse_file

    baseline = LangChainBaseline(
        files,
        work_dir / "baseline",
        collection="clinical-baseline",
        precision=resolve_precision(settings.embedding.precision),
    )
    baseline.build(lambda d, t: say("baseline", d, t))
    parsed = {f.name: parse_file(f) for f in files}

    def ask_baseline(q: ClinicalQuestion, conversation: Any) -> tuple[Reply, Any]:
        # The baseline has no conversation: a follow-up is asked as typed.
        started = time.perf_counter()
        answer = baseline.answer(q.question)
        cited = tuple(
            (Path(c.source).stem, heading, c.text)
            for c in answer.chunks
            for heading in sections_of(c.text, parsed[Path(c.source).name]) or [""]
        )
        seconds = time.perf_counter() - started
        return Reply(answer.text, answer.abstained, cited, seconds), None

    return run_questions(questions, ask_baseline)


def write_clinical_reports(run: ClinicalRun, folder: Path) -> tuple[Path, Path]:
    """``clinical-<split>.json`` and ``clinical-<split>.md`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    data = run.to_json()
    json_path = folder / f"clinical-{run.split}.json"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path = folder / f"clinical-{run.split}.md"
    md_path.write_text(render(run), encoding="utf-8")
    return json_path, md_path


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def table(run: ClinicalRun) -> str:
    """The headline table: one row per metric, one column per system."""
    summaries = {name: summarise(out)["overall"] for name, out in run.systems.items()}
    names = list(summaries)
    rows = [
        ("questions", lambda s: str(s["n"])),
        ("fully correct", lambda s: _pct(s["fully_correct"])),
        ("false answers", lambda s: _pct(s["false_answer"])),
        ("false refusals (of answerable)", lambda s: _pct(s["false_refusal"])),
        ("citation accuracy (answered)", lambda s: _pct(s["citation_accuracy"])),
        ("median answer words", lambda s: _pct(s["median_words"]).removesuffix(".00")),
    ]
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [
        f"| {label} | " + " | ".join(f(summaries[n]) for n in names) + " |" for label, f in rows
    ]
    return "\n".join(lines)


def render(run: ClinicalRun) -> str:
    """The markdown report."""
    out = [
        f"# Clinical question set: {run.split} split",
        "",
        f"{run.monographs} monographs indexed; answerer {run.settings['answerer']}, "
        f"support threshold {run.settings['threshold']:.4f}.",
        "",
        table(run),
        "",
        "## Per question type (monorag, and the baseline's fully correct)",
        "",
        "| type | n | correct | false answers | false refusals | baseline correct |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    mine = summarise(run.systems["monorag"])
    theirs = summarise(run.systems["baseline"]) if "baseline" in run.systems else None
    for kind, s in mine["by_type"].items():
        b = theirs["by_type"].get(kind) if theirs else None
        out.append(
            f"| {kind} | {s['n']} | {_pct(s['fully_correct'])} | {_pct(s['false_answer'])} | "
            f"{_pct(s['false_refusal'])} | {_pct(b['fully_correct']) if b else '–'} |"
        )
    out += [
        "",
        "## Per corpus style (monorag)",
        "",
        "| corpus | n | correct | false ans. | false ref. |",
    ]
    out.append("|---|---:|---:|---:|---:|")
    for corpus, s in mine["by_corpus"].items():
        out.append(
            f"| {corpus} | {s['n']} | {_pct(s['fully_correct'])} | {_pct(s['false_answer'])} | "
            f"{_pct(s['false_refusal'])} |"
        )
    out += ["", "## Not fully correct (monorag)", ""]
    for o in run.systems["monorag"]:
        if o.correct:
            continue
        answer = " ".join(o.answer.split())
        out.append(f"- **{o.id}** ({o.type}) {o.question!r}: {o.why}. Answer: {answer[:300]!r}")
    return "\n".join(out) + "\n"


THRESHOLDS = Path(__file__).resolve().parent / "data" / "clinical" / "thresholds.json"
GATED = {"fully_correct": "min", "false_answer": "max", "false_refusal": "max"}
"""Dev-split figures CI holds: fully correct may not fall, false answers and false
refusals may not rise, beyond the tolerance."""


def tolerance(n: int) -> float:
    """Three questions' worth of the rate (at least 0.01): absorbs index-order ties and
    bfloat16 rounding between machines; a real regression moves more questions."""
    return round(max(3.0 / max(1, n), 0.01), 4)


def record_clinical_thresholds(run: ClinicalRun, path: Path = THRESHOLDS) -> dict[str, Any]:
    """Write the dev-split figures of ``run`` (monorag) as the CI gate."""
    if run.split != "dev":
        from monorag.eval.clinical import ClinicalSetError

        raise ClinicalSetError("the gate is recorded from the dev split only")
    overall = summarise(run.systems["monorag"])["overall"]
    tol = tolerance(overall["n"])
    metrics = {}
    for metric, side in GATED.items():
        measured = overall[metric]
        limit = measured - tol if side == "min" else measured + tol
        metrics[metric] = {side: round(limit, 4), "measured": round(measured, 4), "tolerance": tol}
    data = {"split": "dev", "n": overall["n"], "metrics": metrics, "settings": run.settings}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def check_clinical(run: ClinicalRun, path: Path = THRESHOLDS) -> list[str]:
    """The gated figures of ``run`` that crossed their recorded limit (empty: passed)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    overall = summarise(run.systems["monorag"])["overall"]
    failed = []
    for metric, limit in data["metrics"].items():
        value = overall[metric]
        if "min" in limit and value < limit["min"]:
            failed.append(f"{metric} {value:.4f} < {limit['min']}")
        if "max" in limit and value > limit["max"]:
            failed.append(f"{metric} {value:.4f} > {limit['max']}")
    return failed
