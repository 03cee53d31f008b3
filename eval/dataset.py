"""The FAQ eval set: build it from a corpus, save it as reviewable YAML, load it back.

Every clean FAQ pair of every monograph becomes an item: question, reference answer,
drug, the reference's key facts, gold and supporting sections (``eval.gold``), and the
clinician-style variants of the question (``eval.variants``). Unanswerable probes
(attributes a monograph does not state, drugs that are not in the corpus) are listed
apart. The file records the corpus it was built from (file names and sha256), the
labeller's parameters and the embedding model, so a stale set is detected instead of
silently scoring against answers that changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monorag.embed import Embedder, shared_embedder
from monorag.errors import MonoragError
from monorag.eval.gold import LabelParams, SectionMatch, SectionMatcher
from monorag.eval.metrics import EmbedFn, key_facts
from monorag.eval.variants import (
    ANSWERABLE_KINDS,
    Variant,
    attribute_probes,
    drugs_not_in_corpus,
    faq_id,
    monograph_id,
    monograph_text,
    other_drug_probes,
    question_variants,
)
from monorag.ingest.parse import parse_file
from monorag.ingest.pipeline import discover
from monorag.settings import EmbeddingSettings
from monorag.types import FAQ_SECTION, SEP, Monograph

SCHEMA_VERSION = 1
"""Bumped when the file's layout changes (old files are then rejected with a message)."""

DEFAULT_EVAL_SET = Path(__file__).resolve().parent / "data" / "faq-eval.yaml"

HEADER = """\
# monorag FAQ eval set (generated: edit the corpus or the labeller, not this file).
# Rebuild with:  monorag eval --build-set
# Each item: a FAQ pair of a monograph, its key facts (what key-fact recall checks), the
# gold sections (where the body states the answer) and supporting sections (acceptable
# to cite), each with its score, the reference sentence and the section's best-matching
# unit as evidence; then the clinician-style variants of the question. Probes at the end
# must be abstained on. See eval/gold.py and docs/eval.md.
"""


class EvalSetError(MonoragError):
    """The eval set file is missing, unreadable or does not match the corpus."""


@dataclass(frozen=True, slots=True)
class CorpusFile:
    """A monograph file the eval set was built from."""

    source: str
    title: str
    sha256: str
    faqs: int


@dataclass(slots=True)
class EvalItem:
    """One FAQ pair with its labels and question variants."""

    id: str
    drug: str
    source: str
    question: str
    reference: str
    key_facts: list[str]
    gold: list[SectionMatch]
    supporting: list[SectionMatch]
    variants: list[Variant]
    """Every form of the question asked, the original first."""

    @property
    def faq_section(self) -> str:
        """The section path of this pair's own FAQ chunk in the store."""
        return f"{FAQ_SECTION}{SEP}{self.question}"


@dataclass(slots=True)
class EvalSet:
    """All items and probes of a corpus, with what they were built from."""

    corpus: list[CorpusFile]
    items: list[EvalItem]
    probes: list[Variant]
    labeller: dict[str, Any] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    """Title -> aliases of every monograph of the corpus (for key-fact matching)."""
    version: int = SCHEMA_VERSION
    built: str = ""

    def questions(self) -> list[Variant]:
        """Every question to ask: each item's variants, then the probes."""
        return [v for item in self.items for v in item.variants] + list(self.probes)

    def item_of(self, variant: Variant) -> EvalItem | None:
        """The item an answerable variant belongs to (``None`` for a probe)."""
        if variant.kind not in ANSWERABLE_KINDS:
            return None
        return self._by_id().get(variant.source_id)

    def _by_id(self) -> dict[str, EvalItem]:
        return {item.id: item for item in self.items}

    @property
    def vocabulary(self) -> list[str]:
        """Every title and alias of the corpus."""
        return sorted({n for title, aliases in self.names.items() for n in [title, *aliases]})

    def stale_against(self, files: Sequence[CorpusFile]) -> list[str]:
        """Why this set does not fit a corpus of ``files`` (``[]`` when it does)."""
        mine = {f.source: f.sha256 for f in self.corpus}
        theirs = {f.source: f.sha256 for f in files}
        reasons = [f"{s} is not in the eval set" for s in sorted(set(theirs) - set(mine))]
        reasons += [f"{s} is no longer in the corpus" for s in sorted(set(mine) - set(theirs))]
        reasons += [
            f"{s} changed since the eval set was built"
            for s in sorted(set(mine) & set(theirs))
            if mine[s] != theirs[s]
        ]
        return reasons


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------


def labelling_embedder(settings: EmbeddingSettings | None = None) -> Embedder:
    """The embedder gold labels are made with: the configured model, always in float32.

    bfloat16 moves similarities by up to about 0.002, enough to flip a label that sits on
    a threshold; labels must be the same on every machine, speed does not matter here.
    """
    settings = (settings or EmbeddingSettings()).model_copy(update={"precision": "float32"})
    return shared_embedder(settings)


def load_corpus(paths: Sequence[Path]) -> list[Monograph]:
    """Parse every monograph under ``paths`` (as ingest finds them), in a stable order.

    Raises ``EvalSetError`` for a path that does not exist or a file that does not parse:
    an eval set must not quietly leave monographs out.
    """
    for path in paths:
        if not Path(path).exists():
            raise EvalSetError(f"corpus path {path} does not exist")
    found, _ = discover(paths)
    monographs = [parse_file(file, root) for file, root in found]
    if not monographs:
        raise EvalSetError(f"no monograph files under {', '.join(map(str, paths))}")
    return sorted(monographs, key=lambda m: m.source)


def corpus_files(monographs: Iterable[Monograph]) -> list[CorpusFile]:
    """The fingerprint of a corpus: source, title, sha256 and FAQ count per file."""
    return [CorpusFile(m.source, m.title, m.sha256, len(m.faqs)) for m in monographs]


def build_eval_set(
    monographs: Sequence[Monograph],
    embed_fn: EmbedFn,
    *,
    model: str = "",
    precision: str = "float32",
    params: LabelParams | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalSet:
    """Items, variants and probes of every monograph, labelled against its body sections.

    ``embed_fn`` embeds texts (``labelling_embedder().embed``); ``model`` and
    ``precision`` name it in the file.
    ``progress(done, total)`` is called after each monograph.
    """
    params = params or LabelParams()
    names = {m.title: _other_names(m) for m in monographs}
    vocabulary = sorted({n for m in monographs for n in [m.title, *m.aliases]})
    others = drugs_not_in_corpus(vocabulary, [monograph_text(m) for m in monographs])
    items: list[EvalItem] = []
    probes: list[Variant] = []
    offset = 0
    for done, mono in enumerate(monographs, start=1):
        if mono.faqs:
            items += _items(mono, embed_fn, vocabulary, params)
            questions = [(faq_id(mono, i), faq.question) for i, faq in enumerate(mono.faqs)]
            probes += other_drug_probes(
                questions, mono.title, names[mono.title], others, offset=offset
            )
            offset += len(questions)
            probes += attribute_probes(monograph_id(mono), mono.title, monograph_text(mono))
        if progress is not None:
            progress(done, len(monographs))
    return EvalSet(
        corpus=corpus_files(monographs),
        items=items,
        probes=probes,
        labeller={"model": model, "precision": precision, **params.to_json()},
        names=names,
        built=dt.date.today().isoformat(),
    )


def _other_names(mono: Monograph) -> list[str]:
    return [a for a in mono.aliases if a.casefold() != mono.title.casefold()]


def _items(
    mono: Monograph, embed_fn: EmbedFn, vocabulary: list[str], params: LabelParams
) -> list[EvalItem]:
    ignore = [mono.title, *mono.aliases]
    matcher = SectionMatcher(
        [(s.heading, s.text) for s in mono.all_sections()],
        embed_fn,
        vocabulary=vocabulary,
        ignore=ignore,
        params=params,
    )
    aliases = _other_names(mono)
    out: list[EvalItem] = []
    for index, faq in enumerate(mono.faqs):
        item_id = faq_id(mono, index)
        labels = matcher.label(faq.answer)
        out.append(
            EvalItem(
                id=item_id,
                drug=mono.title,
                source=mono.source,
                question=faq.question,
                reference=faq.answer,
                key_facts=key_facts(faq.answer, vocabulary=vocabulary, ignore=ignore),
                gold=labels.gold,
                supporting=labels.supporting,
                variants=question_variants(item_id, faq.question, mono.title, aliases),
            )
        )
    return out


# ---------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------


def to_data(eval_set: EvalSet) -> dict[str, Any]:
    """The eval set as plain data (the YAML document)."""
    return {
        "version": eval_set.version,
        "built": eval_set.built,
        "labeller": eval_set.labeller,
        "corpus": [
            {"source": f.source, "title": f.title, "sha256": f.sha256, "faqs": f.faqs}
            for f in eval_set.corpus
        ],
        "names": eval_set.names,
        "items": [
            {
                "id": item.id,
                "drug": item.drug,
                "source": item.source,
                "question": item.question,
                "reference": item.reference,
                "key_facts": item.key_facts,
                "gold": [m.to_json() for m in item.gold],
                "supporting": [m.to_json() for m in item.supporting],
                "variants": [
                    {"kind": v.kind, "question": v.question, "asked_drug": v.asked_drug}
                    for v in item.variants
                ],
            }
            for item in eval_set.items
        ],
        "probes": [
            {
                "id": p.id,
                "kind": p.kind,
                "drug": p.drug,
                "question": p.question,
                "asked_drug": p.asked_drug,
            }
            for p in eval_set.probes
        ],
    }


def from_data(data: Any, where: str = "eval set") -> EvalSet:
    """Inverse of ``to_data``; raises ``EvalSetError`` naming ``where`` for a bad document."""
    if not isinstance(data, dict):
        raise EvalSetError(f"{where}: not a mapping (rebuild it with `monorag eval --build-set`)")
    if data.get("version") != SCHEMA_VERSION:
        raise EvalSetError(
            f"{where}: version {data.get('version')!r}, this monorag reads version "
            f"{SCHEMA_VERSION}: rebuild it with `monorag eval --build-set`"
        )
    try:
        items = [_item(raw) for raw in data.get("items") or []]
        probes = [
            Variant(
                id=str(p["id"]),
                source_id=str(p["id"]).split("/", 1)[0],
                kind=p["kind"],
                question=str(p["question"]),
                drug=str(p["drug"]),
                asked_drug=str(p.get("asked_drug", p["drug"])),
            )
            for p in data.get("probes") or []
        ]
        corpus = [
            CorpusFile(str(f["source"]), str(f["title"]), str(f["sha256"]), int(f["faqs"]))
            for f in data.get("corpus") or []
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise EvalSetError(f"{where}: malformed entry ({exc!r}): rebuild the eval set") from exc
    return EvalSet(
        corpus=corpus,
        items=items,
        probes=probes,
        labeller=dict(data.get("labeller") or {}),
        names={str(k): [str(a) for a in v] for k, v in (data.get("names") or {}).items()},
        version=int(data["version"]),
        built=str(data.get("built", "")),
    )


def _item(raw: dict[str, Any]) -> EvalItem:
    item_id, drug = str(raw["id"]), str(raw["drug"])
    variants = [
        Variant(
            id=f"{item_id}/{v['kind']}",
            source_id=item_id,
            kind=v["kind"],
            question=str(v["question"]),
            drug=drug,
            asked_drug=str(v.get("asked_drug", drug)),
        )
        for v in raw.get("variants") or []
    ]
    return EvalItem(
        id=item_id,
        drug=drug,
        source=str(raw["source"]),
        question=str(raw["question"]),
        reference=str(raw["reference"]),
        key_facts=[str(f) for f in raw.get("key_facts") or []],
        gold=[SectionMatch.from_json(m) for m in raw.get("gold") or []],
        supporting=[SectionMatch.from_json(m) for m in raw.get("supporting") or []],
        variants=variants,
    )


class _Dumper(yaml.SafeDumper):
    """Block style for long strings so that references and evidence stay readable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if len(value) > 90 and "\n" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def save_eval_set(eval_set: EvalSet, path: Path) -> None:
    """Write the eval set as YAML (with an explanatory header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.dump(
        to_data(eval_set), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=92
    )
    path.write_text(HEADER + body, encoding="utf-8")


def load_eval_set(path: Path) -> EvalSet:
    """Read an eval set file written by ``save_eval_set``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EvalSetError(
            f"cannot read the eval set {path}: {exc.strerror or exc} "
            "(build one with `monorag eval --build-set`)"
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EvalSetError(f"{path} is not valid YAML: {exc}") from exc
    return from_data(data, str(path))
