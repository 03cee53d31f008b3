"""The project's one copy of text handling: markup clean-up, sentence and unit splitting,
units of measure, tokenising for BM25.

Every layer that needs a sentence or a word uses these functions, so a chunk's units at
ingest, the answerer's quotes, the LLM guard's sentences and the eval's reference units are
cut the same way. The sentence splitter is a regular expression rather than pysbd: it
returns character spans (the index stores one vector per span and the answerer quotes the
span verbatim) and runs in microseconds per paragraph; pysbd, measured on these corpora, is
two orders of magnitude slower and re-normalises whitespace, which would break the offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monorag.types import Chunk

_HTML_NAMES = (
    "a|abbr|address|article|aside|audio|b|big|blockquote|body|br|button|canvas|caption|"
    "center|cite|code|col|colgroup|dd|del|details|dfn|div|dl|dt|em|embed|fieldset|"
    "figcaption|figure|font|footer|form|h[1-6]|head|header|hr|html|i|iframe|img|input|ins|"
    "kbd|label|legend|li|link|main|mark|meta|nav|noscript|object|ol|option|p|param|picture|"
    "pre|q|s|samp|script|section|select|small|source|span|strike|strong|style|sub|summary|"
    "sup|svg|table|tbody|td|template|textarea|tfoot|th|thead|title|tr|tt|u|ul|var|video|wbr"
)
# Only HTML element names count as tags: "ALT <ULN and >3 x baseline" is a clinical
# statement, not a tag. Lower case with attributes; any case when bare (<B>, </P>, <BR/>).
_TAG = re.compile(rf"</?(?:{_HTML_NAMES})(?:\s[^<>]*)?/?>|</?(?i:{_HTML_NAMES})\s*/?>")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BOLD = re.compile(r"\*\*|__")
_WS = re.compile(r"[ \t\u00a0]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_markup(text: str) -> tuple[str, bool]:
    """Remove HTML tags and comments (and script/style bodies) and bold markers.

    Returns the text and whether any HTML was found, so the parser can warn about it.
    Markdown lists and line structure are kept: the chunker needs them.
    """
    had_html = bool(_COMMENT.search(text) or _SCRIPT.search(text) or _TAG.search(text))
    text = _COMMENT.sub(" ", text)
    text = _SCRIPT.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _BOLD.sub("", text)
    text = _CONTROL.sub("", text)
    return text, had_html


def squash(text: str) -> str:
    """Collapse all whitespace (newlines too) into single spaces."""
    return " ".join(text.split())


def tidy_lines(text: str) -> str:
    """Collapse runs of spaces inside lines and runs of blank lines; trim the ends."""
    lines = [_WS.sub(" ", line).rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line)
    return "\n".join(out).strip()


def clean_heading(raw: str) -> str:
    """Heading text without markdown emphasis, trailing colons or closing hashes."""
    text, _ = strip_markup(raw)
    text = re.sub(r"\s#+\s*$", "", text)
    text = text.replace("*", "").replace("`", "")
    return squash(text).rstrip(":").strip()


def normalise_question(text: str) -> str:
    """A key under which two phrasings of the same FAQ question compare equal."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


# -- sentences, list items and units ---------------------------------------------------

_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_LOWER_START = re.compile(r"^\s*[a-z]")
_BARE_MARKER = re.compile(r"^\s*[-*+•]\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|approx|incl|vs|Dr|Fig|No|etc)\.$", re.IGNORECASE)


LEAD_IN_WORDS = 30
"""A line ending in ":" of at most this many words introduces the list after it."""
LEAD_IN_HEADING = 8
"""A lead-in without a colon is a short heading-like line of at most this many words
("Do not take X"); a full sentence before a list is not its lead-in."""
_ENDS_SENTENCE = re.compile(r"[.!?]\s*$")


def is_list_item(line: str) -> bool:
    """True when ``line``, a paragraph's first line, starts a list item: "* ...", "- ...",
    "2. ...", or a lower-case start ("if you are taking ..."), which no sentence has:
    converted leaflets lose many lists' markers."""
    return bool(_LIST_ITEM.match(line) or _BARE_MARKER.match(line) or _LOWER_START.match(line))


GROUP_HEADER = re.compile(
    r"(?:\((?:may affect|affects?|occurs? in|seen in|reported in|frequency)\b[^()]*\)\s*:?"
    r"|(?::|\s[-–])\s*(?:may affect|affects?|frequency cannot be estimated)\b[^():;.]*"
    r"[:.]?)\s*$",
    re.IGNORECASE,
)
"""A frequency group's parenthesis ending a line ("(may affect up to 1 in 100 people)"), or
its label after a colon or dash ("Common: may affect up to 1 in 10 people", the way about
one leaflet in nine writes its groups)."""


def is_lead_in(line: str) -> bool:
    """True when ``line`` (one sentence or line, not a list item) can introduce a list."""
    n = len(line.split())
    if line.rstrip().endswith(":"):
        return n <= LEAD_IN_WORDS
    if GROUP_HEADER.search(line):
        # "Uncommon side effects (may affect up to 1 in 100 people)", "Common: may affect
        # up to 1 in 10 people": a frequency group's header, however many words it takes.
        return n <= LEAD_IN_WORDS
    return 0 < n <= LEAD_IN_HEADING and not _ENDS_SENTENCE.search(line)


_DONE = re.compile(r"[.!?:;)\]\"'”]\s*$")
_INTRODUCES = re.compile(
    r"^(?:warnings and precautions\s+)?(?:talk to|tell|check with) your (?:doctor|pharmacist|"
    r"nurse)\b.*\bbefore\b",
    re.IGNORECASE,
)
"""A long line that still introduces the items after it: a leaflet's warnings lead-in
("Warnings and precautions Talk to your doctor before taking X")."""


def lost_lead_in(sentences_of_item: list[str]) -> str:
    """The lead-in of the next items that lost its line break into the end of this list
    item ("... if you drink alcohol to excess. Warnings and precautions Talk to your doctor
    before taking X" in a converted leaflet): the item's last sentence when it ends with
    no full stop after a sentence that has one and reads as a lead-in (``_INTRODUCES``);
    "" otherwise. A one-phrase item ("vomiting") is an item, not a lead-in."""
    if len(sentences_of_item) < 2:
        return ""
    last = sentences_of_item[-1].strip()
    if _DONE.search(last) or not _DONE.search(sentences_of_item[-2]):
        return ""
    # Only a line that says it introduces: a short unpunctuated line is as often an item
    # that lost its full stop ("The moles may itch, bleed or ulcerate").
    return last if len(last.split()) <= LEAD_IN_WORDS and _INTRODUCES.search(last) else ""


def blocks(text: str) -> list[str]:
    """Paragraphs and list items of a section's text, in order (a marker alone on its
    line, then a paragraph, is one item: "* paragraph")."""
    out: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if not line.strip():
            if current and not (len(current) == 1 and _BARE_MARKER.match(current[0])):
                out.append(" ".join(current))
                current = []
            continue
        if _BARE_MARKER.match(line):
            if current:
                out.append(" ".join(current))
            current = [line.strip()]
            continue
        if _LIST_ITEM.match(line) and current:
            out.append(" ".join(current))
            current = []
        current.append(line.strip())
    if current:
        out.append(" ".join(current))
    return [b for b in (" ".join(b.split()) for b in out) if b]


def sentences(text: str) -> list[str]:
    """Sentences of a paragraph; abbreviations like ``e.g.`` do not end one."""
    parts = _SENTENCE_END.split(text)
    out: list[str] = []
    for part in parts:
        if out and _ABBREV.search(out[-1]):
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return [p.strip() for p in out if p.strip()]


def unit_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the answerable units of a chunk: sentences and list items.

    The extractive answerer quotes these verbatim; ingest embeds each of them from the
    chunk's own token embeddings, so they are scored without another model call.
    """
    return [(start, end) for start, end, _ in unit_layout(text)]


def embedded_unit_spans(chunk: Chunk) -> list[tuple[int, int]]:
    """``unit_spans`` of a chunk's text as offsets into its ``embed_text`` (name, newline,
    text), which is what the model reads at ingest."""
    shift = len(chunk.name) + 1
    return [(start + shift, end + shift) for start, end in unit_spans(chunk.text)]


def unit_layout(text: str) -> list[tuple[int, int, int]]:
    """``unit_spans`` with, for each unit, the number of its list item (0: not in a list).

    Sentences of one list item share its number, so a list can be quoted item by item.
    """
    spans: list[tuple[int, int, int]] = []
    pos = 0
    block_start: int | None = None
    block_end = 0
    in_item = 0
    items = 0
    pending = 0
    """An item whose marker stood alone on its line ("*", blank line, paragraph: a common
    artefact of converted leaflets): the next paragraph is that item's text."""
    after_blank = True

    def flush() -> None:
        if block_start is None:
            return
        block = text[block_start:block_end]
        cursor = 0
        for match in _SENTENCE_END.finditer(block):
            piece = block[cursor : match.start()]
            if _ABBREV.search(piece.rstrip()):
                continue
            _add(spans, block_start + cursor, block_start + match.start(), text, in_item)
            cursor = match.end()
        _add(spans, block_start + cursor, block_end, text, in_item)

    lines = text.split("\n")
    for n, line in enumerate(lines):
        start, end = pos, pos + len(line)
        pos = end + 1
        if not line.strip():
            flush()
            block_start, in_item, after_blank = None, 0, True
            continue
        fresh, after_blank = after_blank, False
        if _BARE_MARKER.match(line):
            flush()
            items += 1
            block_start, in_item, pending = None, 0, items
            continue
        marker = _LIST_ITEM.match(line)
        if marker:
            flush()
            items += 1
            block_start, block_end, in_item, pending = start + marker.end(), end, items, 0
            continue
        if block_start is None:
            if not pending and fresh and _continues(spans, text, lines, n):
                # The rest of the last unit's sentence, cut off by a stray blank line.
                block_start, _, in_item = spans.pop()
                block_end = end
                continue
            if not pending and fresh and _LOWER_START.match(line):
                # A paragraph that starts in lower case is a list item whose marker the
                # conversion lost ("Do not take X" / "if you are taking Y.").
                items += 1
                pending = items
            block_start, in_item, pending = start, pending, 0
        block_end = end
    flush()
    return spans


def _continues(spans: list[tuple[int, int, int]], text: str, lines: list[str], n: int) -> bool:
    """True when paragraph line ``n``, starting in lower case, is the rest of the unit
    before it, which a converted leaflet's stray blank line cut mid-sentence ("your doctor
    may need to reduce your maintenance" / "dose to one capsule every other day."): that
    unit is a sentence (capital start, no end, not a lead-in) and this paragraph is not the
    first of a run of lower-case paragraphs, which is a list that lost its markers."""
    if not spans or not _LOWER_START.match(lines[n]):
        return False
    start, end, _ = spans[-1]
    last = text[start:end]
    if not last[:1].isupper() or _DONE.search(last) or is_lead_in(" ".join(last.split())):
        return False
    if text[end:].split("\n", 1)[0].strip():
        return False  # the unit ended inside its line: a sentence that stopped, not a cut
    after = n + 1
    while after < len(lines) and lines[after].strip():
        after += 1
    while after < len(lines) and not lines[after].strip():
        after += 1
    return after >= len(lines) or not (
        _LOWER_START.match(lines[after])
        or _BARE_MARKER.match(lines[after])
        or _LIST_ITEM.match(lines[after])
    )


def _add(spans: list[tuple[int, int, int]], start: int, end: int, text: str, item: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start >= 3:
        spans.append((start, end, item))


def unit_texts(text: str) -> list[str]:
    """The units of ``unit_spans`` as single-line strings."""
    return [" ".join(text[s:e].split()) for s, e in unit_spans(text)]


def passage_sentences(text: str, *, clauses: bool = False) -> list[str]:
    """The units of a passage (``unit_texts``: sentences and list items) for matching
    LLM output against; with ``clauses`` each unit is cut again after its semicolons (a
    qualifier must sit in the clause that states the number it qualifies)."""
    units = unit_texts(text)
    if not clauses:
        return units
    return [c for u in units for c in (p.strip() for p in re.split(r"(?<=;)\s+", u)) if c]


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (all of it when it has no sentence end)."""
    found = sentences(" ".join(text.split()))
    return found[0] if found else ""


# -- units of measure -------------------------------------------------------------------
# The one table of the units doses, quantities and times are stated in, read by the number
# guard (``qa.guard``: which numbers must match with their unit) and by the reader
# (``qa.reader``: whether a statement states an amount). Canonical name -> (kind, spellings);
# each spelling is a regular expression, matched case-insensitively. Kinds: ``dose`` (what a
# dose is measured in), ``measure`` (a level, a body weight or a share: matched as exactly as
# a dose, but never a dose itself), ``time``, ``count`` and ``form`` (a dosage form counted).
UNITS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mg": ("dose", ("mg", "milligrams?", "milligrammes?")),
    "mcg": ("dose", ("mcg", "µg", "ug", "micrograms?", "microgrammes?")),
    "ng": ("measure", ("ng", "nanograms?")),
    "g": ("dose", ("g", "grams?", "grammes?")),
    "kg": ("measure", ("kg", "kilograms?", "kilogrammes?")),
    "ml": ("dose", ("ml", "millilit(?:re|er)s?")),
    "l": ("dose", ("l", "lit(?:re|er)s?")),
    "iu": ("dose", ("iu", r"international\s+units?", "units?")),
    "mbq": ("dose", ("mbq",)),
    "mmol": ("dose", ("mmol", "millimoles?")),
    "%": ("measure", ("%", "percent", r"per\s?cent")),
    "day": ("time", ("days?", "d")),
    "week": ("time", ("weeks?", "wks?")),
    "month": ("time", ("months?",)),
    "year": ("time", ("years?", "yrs?")),
    "h": ("time", ("hours?", "hrs?", "h")),
    "min": ("time", ("minutes?", "mins?")),
    "times": ("count", ("times", "x")),
    "cycle": ("count", ("cycles?",)),
    "tablet": ("form", ("tablets?",)),
    "capsule": ("form", ("capsules?",)),
    "dose": ("form", ("doses?",)),
    "drop": ("form", ("drops?",)),
    "puff": ("form", ("puffs?",)),
    "injection": ("form", ("injections?",)),
    "pen": ("form", ("pens?",)),
    "sachet": ("form", ("sachets?",)),
    "inhalation": ("form", ("inhalations?",)),
    "vial": ("form", ("vials?",)),
    "syringe": ("form", ("syringes?",)),
}


def units_of(*kinds: str) -> list[str]:
    """Canonical names of the ``UNITS`` of these kinds, in table order."""
    return [name for name, (kind, _) in UNITS.items() if kind in kinds]


def unit_alternation(names: Iterable[str]) -> str:
    """The spellings of the named ``UNITS`` as one regex alternation (no group).

    Longest first, so that ``milligrams`` is not read as ``m`` nor ``mg/m2`` as ``mg``.
    """
    parts = [spelling for name in names for spelling in UNITS[name][1]]
    parts.sort(key=len, reverse=True)
    return "|".join(parts)


# -- tokens for BM25 --------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+(?:[-/.][a-z0-9]+)*")
_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers him his how i if in into is it its itself me more most my
no nor not of off on once only or other our out over own same she should so some such than
that the their them then there these they this those through to too under until up very was
we were what when where which while who whom why will with would you your yours patient
patients take taking used use
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens with light plural folding; hyphenated terms also split.

    ``CYP1A2`` stays one token; ``days 1-21`` yields ``1-21``, ``1`` and ``21``;
    ``breast-feeding`` yields ``breastfeed``, ``breast`` and ``feed``.
    """
    out: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        token = token.strip(".")
        if not token or token in STOPWORDS:
            continue
        # A compound is spelt open, hyphenated or closed ("breast-feeding",
        # "breastfeeding"): the hyphenated form is indexed closed, so the spellings meet.
        joined = token.replace("-", "")
        out.append(fold(joined if "-" in token and joined.isalpha() else token))
        if "-" in token or "/" in token:
            out.extend(fold(p) for p in re.split(r"[-/]", token) if p and p not in STOPWORDS)
    return out


def fold(token: str) -> str:
    """Light suffix folding: ``effects`` -> ``effect``, ``monitored`` -> ``monitor``."""
    if token[0].isdigit():
        return token
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 7 and token.endswith(("tion", "tions")):
        return token[: -4 if token.endswith("tions") else -3]
    if len(token) > 6 and token.endswith("ing"):
        return _undouble(token[:-3])
    if len(token) > 5 and token.endswith("ed") and not token.endswith("eed"):
        return _undouble(token[:-2])
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def _undouble(stem: str) -> str:
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "ls":
        return stem[:-1]
    return stem
