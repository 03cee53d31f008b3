"""Pure helpers of the Streamlit chat (``app.py``): safe markdown, labels, dates, freshness.

Everything shown in the app that comes from a monograph (or from an LLM) goes through
``escape_markdown`` first: Streamlit renders markdown, and monograph text must not be able
to add links, images (which would load from remote hosts), headings, colour directives,
LaTeX or HTML. Highlighting and citation badges are added only *after* escaping, around
text we produced ourselves.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monorag.settings import StoreSettings
from monorag.types import Answer, Citation

_PUNCTUATION = frozenset(string.punctuation)
# CommonMark lets every ASCII punctuation character be backslash-escaped, and Streamlit's
# directives (``:red[...]``, ``:material/x:``), emoji short codes and ``$`` maths are parsed
# by the same tokenizer, so escaping all of it neutralises every construct at once.

# GFM turns bare URLs and e-mail addresses into links after parsing, so escaping does not
# stop it; an invisible word joiner inside the scheme (or after the @) does.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|www)(?=[:.])|(@)")
WORD_JOINER = "\u2060"

_CITATION_RUN = re.compile(r"\[(S\d+)\]")
_LIST_ITEM = re.compile(r"^(?:[-*•+·])\s+")
# Splits at every stop, unlike text.passage_sentences: quoted list items may start lower-case.
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

HIGHLIGHT = "orange-background"
"""Streamlit colour directive used to mark the sentence an answer relies on."""

BADGE = "blue-badge"
"""Streamlit badge directive used for citation keys."""


def escape_markdown(text: str, *, keep_leading: bool = False) -> str:
    """``text`` as literal markdown: every ASCII punctuation character backslash-escaped.

    Leading whitespace of lines is dropped too (four spaces would start a code block),
    except on the first line with ``keep_leading`` (a streamed piece continues a line), and
    bare URLs and e-mail addresses get an invisible word joiner so they stay plain text.
    """
    text = _AUTOLINK.sub(lambda m: m.group() + WORD_JOINER, text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(
        "".join(
            f"\\{ch}" if ch in _PUNCTUATION else ch
            for ch in (line if keep_leading and i == 0 else line.lstrip())
        )
        for i, line in enumerate(lines)
    )


def badge(key: str) -> str:
    """A citation key as an inline badge (``key`` is escaped)."""
    return f":{BADGE}[{escape_markdown(key)}]"


def format_date(value: str) -> str:
    """An ISO timestamp as ``22 Sep 2025``; other text unchanged; empty as ``unknown``."""
    value = value.strip()
    if not value:
        return "unknown"
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value
    return f"{when.day} {when:%b %Y}"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 monograph``, ``2 monographs``, ``1,024 chunks`` (``many``: an irregular plural)."""
    word = noun if count == 1 else many or f"{noun}s"
    return f"{count:,} {word}"


def answer_markdown(text: str, citations: Sequence[Citation]) -> str:
    """The answer text as safe markdown, its ``[S1]`` keys as badges, list items as a list."""
    known = {c.key for c in citations}
    lines = [line.strip() for line in text.replace("\r", "").split("\n")]
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        item = _LIST_ITEM.match(line)
        body = line[item.end() :] if item else line
        rendered = _with_badges(body, known)
        out.append(f"- {rendered}" if item else rendered)
    # List items stay one list; prose lines become paragraphs.
    blocks: list[str] = []
    for line in out:
        if line.startswith("- ") and blocks and blocks[-1].startswith("- "):
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return "\n\n".join(blocks)


def _with_badges(text: str, known: set[str]) -> str:
    parts: list[str] = []
    last = 0
    for match in _CITATION_RUN.finditer(text):
        if match.group(1) not in known:
            continue
        before = text[last : match.start()]
        parts.append(escape_markdown(before, keep_leading=True))
        if before and not before[-1].isspace():
            parts.append(" ")
        parts.append(badge(match.group(1)))
        last = match.end()
        if last < len(text) and text[last].isalnum():
            parts.append(" ")
    parts.append(escape_markdown(text[last:], keep_leading=True))
    return "".join(parts).strip()


def plain_answer(text: str) -> str:
    """The answer text without its citation keys (for copying or comparing)."""
    return " ".join(_CITATION_RUN.sub("", text).split())


def citation_markdown(citation: Citation) -> str:
    """``S1 Pomalidomide › Dosage › Special Cases`` with the key as a badge, escaped."""
    return f"{badge(citation.key)} {escape_markdown(citation.label)}"


def citation_line(citation: Citation) -> str:
    """A citation under an answer: key, ``Drug › Section`` and the monograph's date, escaped.

    The date sits beside every citation because a clinician weighs a statement by how
    current its monograph is.
    """
    when = escape_markdown(format_date(citation.last_modified))
    return f"{citation_markdown(citation)} :gray[· {when}]"


def citation_caption(citation: Citation) -> str:
    """The cited monograph file and its last-modified date, escaped."""
    return (
        f"{escape_markdown(citation.source or 'unknown file')} · "
        f"last modified {escape_markdown(format_date(citation.last_modified))}"
    )


def highlight_spans(text: str, quote: str) -> list[tuple[int, int]]:
    """Where the sentences of ``quote`` occur in ``text`` (whitespace-insensitive), merged.

    The quote is tried whole first, then sentence by sentence, because quotes of several
    sentences are joined with single spaces while the passage may break lines between them.
    """
    quote = quote.strip()
    if not quote or not text:
        return []
    found = _find(text, quote)
    spans: list[tuple[int, int]] = []
    if found is not None:
        spans.append(found)
    else:
        for piece in _SENTENCE.split(quote):
            if len(piece.split()) < 2 and len(piece) < 12:
                continue  # a lone word would light up wherever it happens to occur
            hit = _find(text, piece)
            if hit is not None:
                spans.append(hit)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _find(text: str, piece: str) -> tuple[int, int] | None:
    words = piece.split()
    if not words:
        return None
    match = re.search(r"\s+".join(re.escape(w) for w in words), text)
    return (match.start(), match.end()) if match else None


def passage_markdown(text: str, quote: str = "") -> str:
    """A cited passage as safe markdown, with the quoted sentence(s) highlighted.

    Lines that are list items in the monograph stay list items; every other line is its
    own paragraph.
    """
    spans = highlight_spans(text, quote)
    blocks: list[str] = []
    offset = 0
    for raw in text.split("\n"):
        start, end = offset, offset + len(raw)
        offset = end + 1
        stripped = raw.strip()
        if not stripped:
            continue
        lead = start + (len(raw) - len(raw.lstrip()))
        item = _LIST_ITEM.match(stripped)
        body_start = lead + (item.end() if item else 0)
        body = _highlighted(text, body_start, lead + len(stripped), spans)
        line = f"- {body}" if item else body
        if item and blocks and blocks[-1].startswith("- "):
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return "\n\n".join(blocks)


def _highlighted(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """``text[start:end]`` (one line) escaped, with the parts inside ``spans`` highlighted."""
    out: list[str] = []
    pos = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out.append(escape_markdown(text[pos:s], keep_leading=True))
        piece = text[s:e]
        marked = piece.strip()
        if marked:
            # Bold inside the directive: its brackets bound the emphasis, so CommonMark's
            # flanking rules hold whatever characters surround the highlight.
            out.append(piece[: len(piece) - len(piece.lstrip())])
            out.append(f":{HIGHLIGHT}[**{escape_markdown(marked)}**]")
            out.append(piece[len(piece.rstrip()) :])
        pos = e
    out.append(escape_markdown(text[pos:end], keep_leading=True))
    return "".join(out)


def searched_markdown(answer: Answer, monographs: int) -> str:
    """What an abstention searched: the named monographs, or the whole store."""
    if answer.drugs:
        names = ", ".join(escape_markdown(d) for d in answer.drugs)
        return f"Searched: {names}"
    return f"Searched all {plural(monographs, 'monograph')} in the index"


def trace_markdown(trace: Any) -> str:
    """How the answer was chosen, in one line for the Sources panel (from its trace)."""
    parts = [f"{plural(len(trace.evidence), 'passage')} retrieved"]
    if trace.candidates:
        parts.append(f"{plural(len(trace.candidates), 'statement')} weighed")
    if trace.support is not None and trace.threshold is not None:
        parts.append(f"best support {trace.support:.2f} (answers from {trace.threshold:.2f})")
    total = sum(trace.timings.values()) * 1000.0
    parts.append(f"{total:.0f} ms")
    return escape_markdown("How this answer was chosen: " + ", ".join(parts) + ".")


def mode_label(mode: str) -> str:
    """``Answer.mode`` in words."""
    if mode.startswith("llm:"):
        return f"LLM answer ({mode.removeprefix('llm:')}), checked against the cited sections"
    if mode == "extractive-fallback":
        return "Extractive answer (the LLM answer was rejected)"
    return "Extractive answer, quoted from the monographs"


@dataclass
class Exchange:
    """One question of the chat and what it got: an answer or an error message."""

    question: str
    answer: Answer | None = None
    error: str = ""
    seconds: float = 0.0
    drug: str = ""
    """The drug filter in force when the question was asked (empty: none)."""
    streamed: bool = False
    """Shown as it was generated (LLM mode)."""


@dataclass(frozen=True)
class CorpusState:
    """How the corpus folder compares with the store."""

    stale: bool
    reason: str


def corpus_state(corpus: Path, settings: StoreSettings) -> CorpusState:
    """Whether ``corpus`` has files the store lacks, changed files, or files gone.

    Cheap: a file is hashed only when its mtime is newer than its indexing time, so an
    unchanged corpus of thousands of monographs costs one ``stat`` per file.
    """
    from monorag.errors import StoreNotFoundError
    from monorag.index import open_index
    from monorag.ingest.pipeline import discover

    found, _ = discover([corpus])
    if not found:
        return CorpusState(False, f"no monographs in {corpus}")
    try:
        known = open_index(settings).files()
    except StoreNotFoundError:
        return CorpusState(True, "the index does not exist yet")
    root = corpus.resolve()
    present = {str(path) for path, _ in found}
    new = [key for key in present if key not in known]
    gone = [key for key in known if Path(key).is_relative_to(root) and key not in present]
    changed = [
        key
        for key in present
        if key in known
        and Path(key).stat().st_mtime > known[key].indexed_at
        and hashlib.sha256(Path(key).read_bytes()).hexdigest() != known[key].sha256
    ]
    if not (new or gone or changed):
        return CorpusState(False, "the index is up to date")
    parts = [
        f"{len(items)} {what}"
        for items, what in ((new, "new"), (changed, "changed"), (gone, "removed"))
        if items
    ]
    files = "monograph file" if len(new) + len(changed) + len(gone) == 1 else "monograph files"
    return CorpusState(True, f"{', '.join(parts)} {files}")
