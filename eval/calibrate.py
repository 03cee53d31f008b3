"""Calibrate the extractive answerer's abstention threshold on data.

Run ``python -m monorag.eval.calibrate`` to rewrite ``qa/data/calibration.json``. The data:
a store of the bundled corpus plus a deterministic sample of the EMA leaflets; answerable questions
are the monographs' own FAQ questions (with their FAQ chunks held out, so the answer must
come from the body) and, for leaflets, questions every EU leaflet answers by its
structure (use, side effects, how to take); unanswerable ones are attribute probes the
monograph's text gives no evidence for (``eval.variants.attribute_probes``). With
``--clinical`` (the default), the **dev split** of the clinical question set is added, so
the threshold holds across the three corpus styles: its answerable questions are
answerable, its questions the monographs are silent on (``expect: refuse``, decided by the
answerer rather than by drug recognition) unanswerable. The sealed test split is never
read. The chosen threshold maximises balanced accuracy between the two; nothing here
names a drug.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from pathlib import Path

import monorag  # noqa: F401  - offline switches first
from monorag.embed import shared_embedder
from monorag.eval.variants import attribute_probes, monograph_text
from monorag.ingest.parse import is_monograph_file, parse_file
from monorag.ingest.pipeline import ingest
from monorag.qa.abstention import CALIBRATION_FILE, stamp
from monorag.qa.answer import scoring
from monorag.qa.engine import Engine
from monorag.settings import DEFAULT_CORPUS, PROJECT_DIR, Settings
from monorag.types import Trace

LEAFLET_QUESTIONS = (
    "What is {drug} used for?",
    "What are the possible side effects of {drug}?",
    "How should {drug} be taken or given?",
)


def support(engine: Engine, question: str, held_out: str | None) -> float:
    """Best unit score of the extractive answerer for ``question`` (its abstention signal)."""
    query = engine.plan(question, None, None, [held_out] if held_out else None)
    if query.decided is not None or query.vector is None:
        return 0.0
    trace = Trace()
    engine.extractive.answer(query, engine.retrieve_for(query), trace)
    return trace.support or 0.0


def clinical_supports(
    settings: Settings, store: Path | None, leaflets: Path
) -> tuple[list[float], list[float]]:
    """Support of the clinical set's dev questions: (answerable, must be refused).

    Follow-ups are asked in their conversation, as the evaluation asks them. Questions a
    stage before the answerer decides (a drug with no monograph) carry no support and are
    left out: the threshold does not decide them.
    """
    from monorag.eval.clinical import corpus_files, load_questions
    from monorag.eval.clinical_run import questions_of
    from monorag.qa.conversation import Conversation

    questions = questions_of("dev")
    path = store or settings.store.path
    clinical = Settings.from_env({}, **{"store.path": path, "answer.abstain_below": 0.0})
    report = ingest(corpus_files(load_questions(), leaflets), clinical, shared_embedder())
    assert report.ok, report.failed
    engine = Engine(clinical)
    conversations: dict[str, Conversation] = {}
    pos: list[float] = []
    neg: list[float] = []
    for q in questions:
        conversation = conversations.get(q.follows or "") or Conversation()
        answer = engine.ask(q.question, conversation=conversation, llm=False)
        conversations[q.id] = conversation
        trace = answer.trace
        if trace is None or trace.decided_by not in ("answer", "policy"):
            continue
        (pos if q.expect == "answer" else neg).append(trace.support or 0.0)
    return pos, neg


def best_threshold(pos: list[float], neg: list[float]) -> tuple[float, float]:
    """Threshold maximising balanced accuracy (answer if score >= t), and that accuracy.

    Where a range of thresholds is equally good, the middle of the first such range is
    taken, so the threshold keeps the largest distance from both classes.
    """
    candidates = sorted(set(pos + neg))
    scored = []
    for lo, hi in itertools.pairwise(candidates):
        t = (lo + hi) / 2
        acc = (sum(p >= t for p in pos) / len(pos) + sum(n < t for n in neg) / len(neg)) / 2
        scored.append((lo, hi, acc))
    if not scored:
        return 0.5, 0.0
    best = max(acc for _, _, acc in scored)
    start = next(i for i, (_, _, acc) in enumerate(scored) if acc == best)
    end = start
    while end + 1 < len(scored) and scored[end + 1][2] == best:
        end += 1
    return (scored[start][0] + scored[end][1]) / 2, best


def main() -> None:
    """Build the calibration store, score both question sets, write calibration.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--leaflets", type=Path, default=PROJECT_DIR.parent / "shared/corpora/ema-leaflets"
    )
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument(
        "--clinical",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add the clinical set's dev split (never its test split)",
    )
    parser.add_argument(
        "--clinical-store",
        type=Path,
        default=None,
        help="a store to ingest the clinical corpus into and reuse (default: a temporary one)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=CALIBRATION_FILE,
    )
    args = parser.parse_args()

    leaflets = sorted(f for f in args.leaflets.glob("*.md") if is_monograph_file(f))
    step = max(1, len(leaflets) // args.sample)
    chosen = leaflets[::step][: args.sample]
    files = [*sorted(DEFAULT_CORPUS.glob("*.md")), *chosen]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            {}, **{"store.path": Path(tmp) / "store", "answer.abstain_below": 0.0}
        )
        report = ingest(files, settings, shared_embedder())
        assert report.ok, report.failed
        engine = Engine(settings)
        pos: list[float] = []
        neg: list[float] = []
        for file in files:
            mono = parse_file(file)
            if mono.faqs:
                pos += [support(engine, f.question, mono.title) for f in mono.faqs]
            else:
                pos += [support(engine, q.format(drug=mono.title), None) for q in LEAFLET_QUESTIONS]
            probes = attribute_probes(mono.title, mono.title, monograph_text(mono))
            neg += [support(engine, p.question, None) for p in probes]
        clinical_pos: list[float] = []
        clinical_neg: list[float] = []
        if args.clinical:
            clinical_pos, clinical_neg = clinical_supports(
                Settings.from_env({}, **{"store.path": Path(tmp) / "clinical"}),
                args.clinical_store,
                args.leaflets,
            )
    threshold, accuracy = best_threshold(pos + clinical_pos, neg + clinical_neg)
    result = {
        "abstain_below": round(threshold, 4),
        # What the threshold was fitted for: the engine refuses it for other scores.
        "stamp": stamp(scoring(settings.answer, engine.embedder.name)),
        "balanced_accuracy": round(accuracy, 4),
        "answerable": {"n": len(pos), "answered": sum(p >= threshold for p in pos)},
        "unanswerable": {"n": len(neg), "abstained": sum(n < threshold for n in neg)},
        "clinical_dev": {
            "answerable": len(clinical_pos),
            "answered": sum(p >= threshold for p in clinical_pos),
            "unanswerable": len(clinical_neg),
            "abstained": sum(n < threshold for n in clinical_neg),
        },
        "monographs": len(files),
        "scores": {
            "answerable": sorted(round(p, 4) for p in pos),
            "unanswerable": sorted(round(n, 4) for n in neg),
        },
        "method": "python -m monorag.eval.calibrate: bundled corpus (FAQ questions, FAQ "
        f"chunks held out) + {len(chosen)} EMA leaflets (structural questions); attribute "
        "probes without evidence in the text as unanswerable"
        + ("; the clinical set's dev split (answerable vs must-refuse)" if args.clinical else "")
        + "; threshold maximises balanced accuracy.",
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
