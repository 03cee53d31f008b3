"""The clinical question set: questions nobody on the team tuned on, with a sealed test split.

The set (``eval/data/clinical/*.yaml``, see its README) holds questions as clinicians type
them over three monograph styles (the bundled monograph, EU patient leaflets, US
prescribing-information text), each with gold sections, gold facts (alternative regexes)
and ``must_not`` traps. ``split.yaml`` fixes which monographs are in the sealed test split:
it was drawn by a hash of the monograph's name before anything was tuned, and a monograph
keeps its side when questions are added. Tune on ``dev`` only; report both.

Scoring of one question:
- answerable: **fully correct** when answered, every fact stated, no ``must_not`` stated,
  and a citation of the gold monograph whose section matches a gold section (or whose
  quoted text states every gold fact);
  **false refusal** when refused.
- must be refused: **fully correct** when refused; **false answer** when answered.
- any answer stating a ``must_not`` fact is a **false answer** too (a neighbouring, wrong
  statement: the wrong population's dose).
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monorag.errors import MonoragError
from monorag.ingest.parse import parse_file
from monorag.settings import DEFAULT_CORPUS, PROJECT_DIR

DATA = Path(__file__).resolve().parent / "data"
SET_DIR = DATA / "clinical"
USPI_DIR = DATA / "uspi-monographs"
SPLIT_FILE = SET_DIR / "split.yaml"
TEST_SHARE = 0.35
"""Share of the monographs drawn into the sealed test split (the issue asks for >= 30%)."""
DISTRACTORS = 60
"""Other leaflets ingested beside the set's monographs, so retrieval has to pick the drug."""

TYPES = (
    "dose_indication",
    "dose_population",
    "missed_dose",
    "overdose",
    "interaction",
    "contraindication",
    "pregnancy_breastfeeding",
    "adverse_effect",
    "class_mechanism",
    "metabolism",
    "administration",
    "storage",
    "broad_safety",
    "absent_drug",
)
_KEY = re.compile(r"\[(?:S\d+(?:\s*[,-]\s*S?\d+)*)\]")
_MARKUP = re.compile(r"\*\*|__|`")


class ClinicalSetError(MonoragError):
    """The clinical question set is malformed; the message names the file and question."""


@dataclass(frozen=True, slots=True)
class ClinicalQuestion:
    """One question of the set (see ``eval/data/clinical/README.md``)."""

    id: str
    question: str
    corpus: str
    monograph: str | None
    type: str
    expect: str
    sections: tuple[str, ...]
    facts: tuple[tuple[str, ...], ...]
    must_not: tuple[str, ...]
    follows: str | None
    note: str
    file: str

    @property
    def unit(self) -> str:
        """What the split is drawn by: the monograph, or the question for absent drugs."""
        return f"{self.corpus}:{self.monograph}" if self.monograph else f"absent:{self.id}"


def monograph_dirs(leaflets: Path) -> dict[str, Path]:
    """Where each corpus style's monographs live."""
    return {"ema": leaflets, "bundled": DEFAULT_CORPUS, "uspi": USPI_DIR}


def default_leaflets() -> Path:
    """The EMA leaflet corpus beside the checkout (``../shared/corpora/ema-leaflets``)."""
    return PROJECT_DIR.parent / "shared" / "corpora" / "ema-leaflets"


def load_questions(folder: Path = SET_DIR) -> list[ClinicalQuestion]:
    """Every question of the set, validated (ids unique, regexes compile, follow-ups exist)."""
    out: list[ClinicalQuestion] = []
    seen: dict[str, ClinicalQuestion] = {}
    files = sorted(p for p in folder.glob("*.yaml") if p.name != SPLIT_FILE.name)
    if not files:
        raise ClinicalSetError(f"no question files (*.yaml) in {folder}")
    for path in files:
        try:
            items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            raise ClinicalSetError(f"{path}: not valid YAML ({exc})") from exc
        if not isinstance(items, list):
            raise ClinicalSetError(f"{path}: expected a list of questions")
        for n, item in enumerate(items, 1):
            q = _question(item, path, n)
            if q.id in seen:
                raise ClinicalSetError(f"{path}: question id {q.id!r} is used twice")
            if q.follows and q.follows not in seen:
                raise ClinicalSetError(
                    f"{path}: {q.id} follows {q.follows!r}, which is not an earlier question"
                )
            seen[q.id] = q
            out.append(q)
    return out


def _question(item: Any, path: Path, n: int) -> ClinicalQuestion:
    where = f"{path.name} item {n}"
    if not isinstance(item, dict):
        raise ClinicalSetError(f"{where}: expected a mapping")
    missing = [k for k in ("id", "question", "corpus", "type", "expect") if not item.get(k)]
    if missing:
        raise ClinicalSetError(f"{where}: missing {', '.join(missing)}")
    where = f"{path.name} {item['id']}"
    if item["expect"] not in ("answer", "refuse"):
        raise ClinicalSetError(f"{where}: expect must be answer or refuse")
    if item["type"] not in TYPES:
        raise ClinicalSetError(f"{where}: unknown type {item['type']!r}")
    if item["corpus"] not in ("ema", "bundled", "uspi"):
        raise ClinicalSetError(f"{where}: corpus must be ema, bundled or uspi")
    facts = tuple(
        tuple(str(a) for a in (f if isinstance(f, list) else [f])) for f in item.get("facts") or []
    )
    must_not = tuple(str(p) for p in item.get("must_not") or [])
    for pattern in [a for f in facts for a in f] + list(must_not):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ClinicalSetError(f"{where}: bad regex {pattern!r} ({exc})") from exc
    if item["expect"] == "answer" and not (
        facts and item.get("sections") and item.get("monograph")
    ):
        raise ClinicalSetError(f"{where}: an answerable question needs monograph, sections, facts")
    return ClinicalQuestion(
        id=str(item["id"]),
        question=str(item["question"]),
        corpus=str(item["corpus"]),
        monograph=str(item["monograph"]) if item.get("monograph") else None,
        type=str(item["type"]),
        expect=str(item["expect"]),
        sections=tuple(str(s) for s in item.get("sections") or []),
        facts=facts,
        must_not=must_not,
        follows=str(item["follows"]) if item.get("follows") else None,
        note=str(item.get("note") or ""),
        file=path.name,
    )


# -- the sealed split -------------------------------------------------------------------------


def draw(unit: str) -> float:
    """Where a monograph falls in [0, 1): a hash of its name, fixed before any tuning."""
    digest = hashlib.sha256(f"monorag-clinical-split:{unit}".encode()).hexdigest()
    return int(digest[:12], 16) / float(16**12)


def load_split(path: Path = SPLIT_FILE) -> dict[str, str]:
    """``unit -> "dev" | "test"`` as frozen in ``split.yaml``."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {u: side for side in ("dev", "test") for u in data.get(side) or []}


def split_of(questions: Iterable[ClinicalQuestion], frozen: dict[str, str]) -> dict[str, str]:
    """Every question's unit on its side: frozen units keep theirs, new ones are drawn."""
    sides = dict(frozen)
    for q in questions:
        if q.unit not in sides:
            sides[q.unit] = "test" if draw(q.unit) < TEST_SHARE else "dev"
    return sides


def write_split(sides: dict[str, str], path: Path = SPLIT_FILE) -> None:
    """Freeze the split (units sorted, one list per side)."""
    header = (
        "# The sealed test split of the clinical question set, by monograph (absent-drug\n"
        "# questions by question id). Drawn by eval/clinical.py `draw` before any tuning;\n"
        "# never move a unit between sides, and never tune on `test`.\n"
    )
    data = {s: sorted(u for u, side in sides.items() if side == s) for s in ("dev", "test")}
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


# -- scoring ----------------------------------------------------------------------------------


def plain(text: str) -> str:
    """An answer's text for matching: no citation keys or markup, whitespace collapsed."""
    return " ".join(_MARKUP.sub("", _KEY.sub(" ", text)).split())


def states(text: str, pattern: str) -> bool:
    """True when ``text`` matches ``pattern`` (case-insensitive)."""
    return re.search(pattern, text, re.IGNORECASE) is not None


@dataclass(slots=True)
class Outcome:
    """How one question was answered and scored."""

    id: str
    type: str
    corpus: str
    expect: str
    question: str
    answer: str
    abstained: bool
    citations: list[str]
    correct: bool
    false_answer: bool
    false_refusal: bool
    cited_right: bool | None
    """Answered answerable questions: a citation of the gold monograph and section."""
    missing: list[str] = field(default_factory=list)
    stated_traps: list[str] = field(default_factory=list)
    words: int = 0
    seconds: float = 0.0
    why: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """What a system under evaluation said: text, refusal flag, cited (source, section)."""

    text: str
    abstained: bool
    cited: tuple[tuple[str, str, str], ...]
    """(monograph file stem, section heading path, the quoted text) of each citation."""
    seconds: float = 0.0


def score(q: ClinicalQuestion, reply: Reply) -> Outcome:
    """Score ``reply`` against the gold of ``q``."""
    text = plain(reply.text)
    traps = [p for p in q.must_not if not reply.abstained and states(text, p)]
    citations = [f"{stem} › {section}" for stem, section, _ in reply.cited]
    out = Outcome(
        id=q.id,
        type=q.type,
        corpus=q.corpus,
        expect=q.expect,
        question=q.question,
        answer=reply.text,
        abstained=reply.abstained,
        citations=citations,
        correct=False,
        false_answer=bool(traps),
        false_refusal=False,
        cited_right=None,
        stated_traps=traps,
        words=0 if reply.abstained else len(text.split()),
        seconds=reply.seconds,
    )
    if q.expect == "refuse":
        out.correct = reply.abstained
        out.false_answer = out.false_answer or not reply.abstained
        out.why = "" if out.correct else "answered where the monographs are silent"
        return out
    if reply.abstained:
        out.false_refusal = True
        out.why = "refused, but the monograph states it"
        return out
    out.missing = [" | ".join(alts) for alts in q.facts if not any(states(text, a) for a in alts)]
    # The gold sections, or any other section of the gold monograph whose quoted text
    # states every gold fact (the same statement often sits in two sections).
    out.cited_right = any(
        stem == q.monograph
        and (
            any(g.lower() in section.lower() for g in q.sections)
            or all(any(states(plain(quote), a) for a in alts) for alts in q.facts)
        )
        for stem, section, quote in reply.cited
    )
    out.correct = not out.missing and not traps and out.cited_right
    reasons = []
    if out.missing:
        reasons.append(f"missing {', '.join(out.missing)}")
    if traps:
        reasons.append(f"states the trap {', '.join(traps)}")
    if not out.cited_right:
        reasons.append("cites no gold section")
    out.why = "; ".join(reasons)
    return out


@dataclass(slots=True)
class Summary:
    """Rates over a group of outcomes."""

    n: int
    fully_correct: float
    false_answer: float
    false_refusal: float
    citation_accuracy: float | None
    median_words: float | None
    refusals_expected: int

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Summary:
        """The summary of ``outcomes`` (rates over all of them)."""
        n = len(outcomes) or 1
        answerable = [o for o in outcomes if o.expect == "answer"]
        cited = [o.cited_right for o in answerable if o.cited_right is not None]
        words = [o.words for o in outcomes if not o.abstained]
        return cls(
            n=len(outcomes),
            fully_correct=sum(o.correct for o in outcomes) / n,
            false_answer=sum(o.false_answer for o in outcomes) / n,
            false_refusal=sum(o.false_refusal for o in answerable) / (len(answerable) or 1),
            citation_accuracy=sum(cited) / len(cited) if cited else None,
            median_words=statistics.median(words) if words else None,
            refusals_expected=sum(o.expect == "refuse" for o in outcomes),
        )


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Overall, per question type and per corpus style."""
    by_type: dict[str, list[Outcome]] = defaultdict(list)
    by_corpus: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_type[o.type].append(o)
        by_corpus[o.corpus].append(o)
    return {
        "overall": asdict(Summary.of(outcomes)),
        "by_type": {t: asdict(Summary.of(v)) for t, v in sorted(by_type.items())},
        "by_corpus": {c: asdict(Summary.of(v)) for c, v in sorted(by_corpus.items())},
    }


def run_questions(
    questions: Sequence[ClinicalQuestion],
    ask: Callable[[ClinicalQuestion, Any], tuple[Reply, Any]],
    progress: Callable[[int, int], None] | None = None,
) -> list[Outcome]:
    """Ask every question in order; a follow-up continues its parent's conversation.

    ``ask(question, conversation)`` returns the reply and the conversation to continue
    (``None`` starts a new one).
    """
    conversations: dict[str, Any] = {}
    outcomes = []
    for i, q in enumerate(questions):
        reply, conversation = ask(q, conversations.get(q.follows) if q.follows else None)
        conversations[q.id] = conversation
        outcomes.append(score(q, reply))
        if progress:
            progress(i + 1, len(questions))
    return outcomes


def corpus_files(
    questions: Iterable[ClinicalQuestion], leaflets: Path, distractors: int = DISTRACTORS
) -> list[Path]:
    """The set's monographs, the US-PI test monographs, the bundled corpus and distractors."""
    dirs = monograph_dirs(leaflets)
    wanted = {(q.corpus, q.monograph) for q in questions if q.monograph}
    files = {dirs[c] / f"{m}.md" for c, m in wanted}
    files |= set(USPI_DIR.glob("*.md")) | set(DEFAULT_CORPUS.glob("*.md"))
    missing = sorted(str(f) for f in files if not f.exists())
    if missing:
        raise ClinicalSetError(
            f"monographs of the clinical set are missing: {', '.join(missing[:5])}"
        )
    others = [p for p in leaflets.glob("*.md") if p not in files and p.name != "NOTICE.md"]
    # The other leaflets first in the order of a hash of their names: no choice by content,
    # and stable as the set grows (a question over one of them swaps in the next one only;
    # every k-th leaflet of the rest moved every distractor whenever a monograph joined).
    others.sort(key=lambda p: draw(f"distractor:{p.stem}"))
    files |= set(others[:distractors])
    return sorted(files)


def titles_of(files: Iterable[Path]) -> dict[str, str]:
    """Monograph file stem -> title (what citations name)."""
    return {f.stem: parse_file(f).title for f in files}
