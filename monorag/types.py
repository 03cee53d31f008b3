"""Typed pipeline objects: Monograph -> Section -> Chunk -> Evidence -> Answer (+ Trace).

A chunk's ``name`` (``Pomalidomide › Dosage › Special Cases``) is readable on its own and
doubles as the citation label shown to clinicians.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SEP = " › "
"""Separator of heading paths in names and citations."""

FAQ_SECTION = "FAQ"
"""Section name of the chunks made from FAQ pairs (their text is ``Q: ...`` then ``A: ...``)."""

ChunkKind = Literal["section", "faq"]


@dataclass(frozen=True, slots=True)
class FAQ:
    """One clean question/answer pair of a monograph."""

    question: str
    answer: str


@dataclass(slots=True)
class Section:
    """A heading of a monograph with its own text and its sub-sections."""

    title: str
    level: int
    path: tuple[str, ...]
    text: str = ""
    children: list[Section] = field(default_factory=list)

    @property
    def heading(self) -> str:
        """The heading path joined for display, e.g. ``Dosage › Standard Dosage › Adults``."""
        return SEP.join(self.path)

    def walk(self) -> list[Section]:
        """This section and all sections below it, in document order."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


@dataclass(slots=True)
class Monograph:
    """A parsed monograph file."""

    title: str
    source: str
    """File name relative to the ingested folder (shown in citations)."""
    key: str
    """Stable identity of the file in the store (its resolved path)."""
    description: str
    last_modified: str
    aliases: list[str]
    faqs: list[FAQ]
    sections: list[Section]
    """Top-level sections; the FAQ section of the body is parsed into ``faqs`` instead."""
    sha256: str
    warnings: list[str] = field(default_factory=list)
    acronyms: dict[str, str] = field(default_factory=dict)
    """Acronyms its text defines ("NSCLC" -> "non-small cell lung cancer")."""

    def all_sections(self) -> list[Section]:
        """Every section of the body in document order."""
        out: list[Section] = []
        for section in self.sections:
            out.extend(section.walk())
        return out


def chunk_id(key: str, rev: str, ordinal: int) -> str:
    """Record id of a chunk: its file (a digest of the key), the file's revision, its place.

    The revision is part of the id so that a changed file's chunks are written beside the
    old ones (see ``monorag.index.store``).
    """
    return f"{hashlib.sha1(key.encode()).hexdigest()[:16]}-{rev}-{ordinal:04d}"


@dataclass(frozen=True, slots=True)
class Chunk:
    """The unit of retrieval: one leaf section (or a part of a long one) or one FAQ pair."""

    id: str
    drug: str
    aliases: tuple[str, ...]
    section: str
    """Heading path inside the monograph, e.g. ``Dosage › Special Cases``."""
    kind: ChunkKind
    text: str
    source: str
    doc: str
    """Key of the monograph file the chunk belongs to."""
    rev: str
    """Content revision of that file (a prefix of its sha256)."""
    last_modified: str
    content_hash: str
    ordinal: int

    @property
    def name(self) -> str:
        """Readable name and citation label: ``Drug › Heading › Sub-heading``."""
        return f"{self.drug}{SEP}{self.section}" if self.section else self.drug

    @property
    def embed_text(self) -> str:
        """What gets embedded and lexically indexed: the heading path and then the text."""
        return f"{self.name}\n{self.text}"

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata as stored in Chroma (scalars only)."""
        return {
            "drug": self.drug,
            "aliases": "|".join(self.aliases),
            "section": self.section,
            "kind": self.kind,
            "source": self.source,
            "doc": self.doc,
            "rev": self.rev,
            "last_modified": self.last_modified,
            "content_hash": self.content_hash,
            "ordinal": self.ordinal,
        }

    @classmethod
    def from_record(cls, id: str, text: str, meta: dict[str, Any]) -> Chunk:
        """Rebuild a chunk from a Chroma record (the inverse of ``metadata``)."""
        aliases = str(meta.get("aliases") or "")
        return cls(
            id=id,
            drug=str(meta.get("drug", "")),
            aliases=tuple(a for a in aliases.split("|") if a),
            section=str(meta.get("section", "")),
            kind="faq" if meta.get("kind") == "faq" else "section",
            text=text,
            source=str(meta.get("source", "")),
            doc=str(meta.get("doc", "")),
            rev=str(meta.get("rev", "")),
            last_modified=str(meta.get("last_modified", "")),
            content_hash=str(meta.get("content_hash", "")),
            ordinal=int(meta.get("ordinal", 0)),
        )


@dataclass(slots=True)
class Evidence:
    """A retrieved chunk with its scores, handed to an answerer."""

    chunk: Chunk
    score: float
    """Fused retrieval score (higher is better)."""
    dense: float | None = None
    """Cosine similarity of question and chunk, when dense search found it."""
    lexical: float | None = None
    """BM25 score, when lexical search found it."""
    key: str = ""
    """Citation key assigned for one answer, e.g. ``S1``."""


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a statement of an answer comes from."""

    key: str
    drug: str
    section: str
    source: str
    last_modified: str
    chunk_id: str = ""
    text: str = ""
    """Full text of the cited passage (for the Sources view)."""
    quote: str = ""
    """The sentence(s) of the passage the answer used, verbatim."""

    @classmethod
    def of(cls, chunk: Chunk, key: str, quote: str = "") -> Citation:
        """The citation of ``chunk`` under ``key``, with the sentence(s) an answer used."""
        return cls(
            key=key,
            drug=chunk.drug,
            section=chunk.section,
            source=chunk.source,
            last_modified=chunk.last_modified,
            chunk_id=chunk.id,
            text=chunk.text,
            quote=quote,
        )

    @property
    def label(self) -> str:
        """``Drug › Heading`` for display."""
        return f"{self.drug}{SEP}{self.section}" if self.section else self.drug

    def public(self) -> dict[str, str]:
        """The JSON shape promised to scripts."""
        return {
            "key": self.key,
            "drug": self.drug,
            "section": self.section,
            "source": self.source,
            "last_modified": self.last_modified,
        }


@dataclass(slots=True)
class Statement:
    """One sentence or list item of an answer and the keys that support it."""

    text: str
    keys: list[str]


@dataclass(slots=True)
class Candidate:
    """One statement the answerer weighed."""

    citation: str
    """The passage's name (``Drug › Section``)."""
    text: str
    score: float
    similarity: float
    """The statement's own similarity to the question (re-ranked), or its in-context one."""
    overlap: float
    chosen: bool = False


@dataclass(slots=True)
class Trace:
    """The record of one question's path through plan, retrieve and answer."""

    answerer: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    drugs: list[str] = field(default_factory=list)
    """Monographs the plan restricted the search to (empty: the whole corpus)."""
    query: str = ""
    """The text searched for (a follow-up carries the previous turn's topic)."""
    evidence: list[tuple[str, float]] = field(default_factory=list)
    """Passages retrieved, by name, with their fused retrieval score."""
    candidates: list[Candidate] = field(default_factory=list)
    support: float | None = None
    threshold: float | None = None
    decided_by: str = ""
    """The stage that decided the outcome: plan, retrieve, answer, policy or llm."""
    abstained_because: str = ""

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the wall time of the ``with`` body to ``timings[stage]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy (timings in milliseconds)."""
        data = asdict(self)
        data["timings"] = {k: round(v * 1000.0, 2) for k, v in self.timings.items()}
        data["evidence"] = [{"passage": n, "score": round(s, 4)} for n, s in self.evidence]
        for c in data["candidates"]:
            for key in ("score", "similarity", "overlap"):
                c[key] = round(c[key], 4)
        return data


@dataclass(slots=True)
class Answer:
    """What a question gets back."""

    question: str
    text: str
    abstained: bool
    citations: list[Citation]
    mode: str
    """``extractive``, ``llm:<backend>`` or ``extractive-fallback`` (LLM answer rejected)."""
    statements: list[Statement] = field(default_factory=list)
    drugs: list[str] = field(default_factory=list)
    """Monographs the answer was drawn from (or, when abstaining, the ones searched)."""
    note: str = ""
    """Why the answer looks the way it does (abstention reason, fallback reason)."""
    evidence: list[Evidence] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage (plan, retrieve, answer, llm, total); the trace's timings."""
    trace: Trace | None = None
    """What the call did and why (``--explain``, the app's Sources, the eval report)."""

    def to_json(self, *, trace: bool = False) -> dict[str, Any]:
        """The JSON object of ``monorag ask --json`` (``trace``: with ``--explain``)."""
        data = {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.public() for c in self.citations],
            "mode": self.mode,
            "drugs": list(self.drugs),
            "note": self.note,
        }
        if trace and self.trace is not None:
            data["trace"] = self.trace.to_json()
        return data
