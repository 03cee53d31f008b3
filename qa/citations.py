"""Citation keys in a generated answer: normalise them, drop invented ones, split statements.

Pure text processing. Models write keys in many styles (``[S1]``, ``[S1, S2]``, ``[S1][S2]``,
``(S1)``, ``【S1】``, ``[s1]``, ``[S1-S3]``); all are rewritten to ``[S1][S2]`` so the UI needs to
know one form only. Keys that were not handed to the model (invented) are removed and reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from monorag.types import Statement

_KEY = r"[Ss]\s?\d{1,3}"
_KEY_LIST = rf"{_KEY}(?:\s*(?:[-–—]|,|;|&|\band\b|\s)\s*{_KEY})*"
_GROUP = (
    rf"\[\s*{_KEY_LIST}\s*\]"
    rf"|\(\s*{_KEY_LIST}\s*\)"
    rf"|【\s*{_KEY_LIST}\s*】"
    rf"|［\s*{_KEY_LIST}\s*］"
    rf"|〔\s*{_KEY_LIST}\s*〕"
)
_RUN = re.compile(rf"(?:{_GROUP})(?:\s*(?:{_GROUP}))*")
"""A run of adjacent citation groups, treated as one citation of one or more keys."""

_KEY_TOKEN = re.compile(r"[Ss]\s?(\d{1,3})")
_RANGE = re.compile(r"[Ss]\s?(\d{1,3})\s*[-–—]\s*[Ss]\s?(\d{1,3})")
_MAX_RANGE = 20
"""Longest ``S1-S20`` range expanded; a longer one is more likely a typo than a citation."""

_NORMALISED = re.compile(r"\[S\d+\]")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")
_SENTENCE_END = re.compile(
    r"(?<=[.!?])((?:\s*\[S\d+\])*)\s+(?=[A-Z0-9\"'“‘(\[])"  # end mark, trailing keys, a new start
)


@dataclass(slots=True)
class CitedText:
    """An answer after citation clean-up."""

    text: str
    """The answer with citations as ``[S1][S2]`` and invented keys removed."""
    keys: list[str] = field(default_factory=list)
    """Valid keys in order of first use."""
    dropped: list[str] = field(default_factory=list)
    """Keys the answer cited that were not among the valid ones, in order of first use."""
    statements: list[Statement] = field(default_factory=list)
    """Sentences and list items (citation marks removed) with the keys that support them."""


def parse_citations(text: str, valid_keys: Iterable[str]) -> CitedText:
    """Normalise the citations of ``text``, drop keys not in ``valid_keys``, split statements."""
    clean, keys, dropped = clean_citations(text, valid_keys)
    clean = clean.strip()
    return CitedText(text=clean, keys=keys, dropped=dropped, statements=split_statements(clean))


def clean_citations(text: str, valid_keys: Iterable[str]) -> tuple[str, list[str], list[str]]:
    """Rewrite every citation run of ``text`` and return ``(text, used_keys, dropped_keys)``.

    Unlike ``parse_citations`` this keeps leading and trailing whitespace, so pieces of a
    streamed answer can be cleaned one at a time and concatenated.
    """
    valid = {_normal_key(k) for k in valid_keys}
    used: list[str] = []
    dropped: list[str] = []

    def rewrite(match: re.Match[str]) -> str:
        keys = _keys_of(match.group())
        kept = [k for k in keys if k in valid]
        for key in keys:
            target = used if key in valid else dropped
            if key not in target:
                target.append(key)
        return "".join(f"[{k}]" for k in kept)

    out = _RUN.sub(rewrite, text)
    # Removing an invented key can leave "4 mg ." or a doubled space behind.
    out = re.sub(r"[ \t]+(?=[.,;:!?](?:\s|$))", "", out)
    out = re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", out)
    out = re.sub(r"[ \t]+$", "", out, flags=re.MULTILINE) if out.strip() else out
    return out, used, dropped


def split_statements(text: str) -> list[Statement]:
    """Split normalised text (``[S1]`` citations) into sentences and list items with keys.

    A citation that stands on its own (after the last sentence, or on a line of its own)
    supports the statement before it.
    """
    statements: list[Statement] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        body = _LIST_ITEM.sub("", line, count=1)
        for sentence in _sentences(body):
            keys = _dedupe(m.group()[1:-1] for m in _NORMALISED.finditer(sentence))
            words = " ".join(_NORMALISED.sub(" ", sentence).split())
            words = re.sub(r"\s+(?=[.,;:!?](?:\s|$))", "", words)
            if not _has_words(words):
                if statements:
                    statements[-1].keys = _dedupe([*statements[-1].keys, *keys])
                continue
            statements.append(Statement(text=words, keys=keys))
    return statements


def strip_citations(text: str) -> str:
    """``text`` without any citation marks (for matching and display of bare prose)."""
    bare = " ".join(_RUN.sub(" ", text).split())
    return re.sub(r"\s+(?=[.,;:!?](?:\s|$))", "", bare)


def _sentences(line: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        end = match.start() + len(match.group(1))
        parts.append(line[start:end])
        start = match.end()
    parts.append(line[start:])
    return [p for p in parts if p.strip()]


def _keys_of(group: str) -> list[str]:
    keys: list[str] = []
    consumed = 0
    for match in _KEY_TOKEN.finditer(group):
        if match.start() < consumed:
            continue  # the second end of a range already expanded
        span = _RANGE.match(group, match.start())
        if span:
            first, last = int(span.group(1)), int(span.group(2))
            if first <= last and last - first < _MAX_RANGE:
                keys.extend(f"S{n}" for n in range(first, last + 1))
                consumed = span.end()
                continue
        keys.append(f"S{int(match.group(1))}")
    return _dedupe(keys)


def _normal_key(key: str) -> str:
    match = _KEY_TOKEN.fullmatch(key.strip())
    return f"S{int(match.group(1))}" if match else key.strip()


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
