"""The number guard: every dose, frequency or quantity an answer states must be in its evidence.

A generative answer is only as safe as its numbers. This module finds the numeric mentions of
an answer (``4 mg``, ``days 1-21``, ``28-day``, ``73%``, ``1.5 mg/m2``, ``10 000 IU``,
``0,5 ml``, ``2 times``) and reports those that the cited evidence does not contain.

Matching is deliberately literal, with a few normalisations that do not change meaning:
spacing, unicode dashes, thousands separators, decimal commas, ``1-21`` = ``1 to 21``,
unit spellings (``milligrams`` = ``mg``, ``units`` = ``IU``, ``percent`` = ``%``), and
spelled-out numbers on the evidence side only (``twice`` supports ``2 times``).

Units are compared in two strengths. Dose units (mass, volume, IU, %, per-m2 ...) must match
exactly: ``3 mg`` is not supported by ``3 weeks``. Time and count units (days, cycles,
tablets ...) are also satisfied by the bare number in the evidence. A number without a unit
only has to appear somewhere in the evidence. Ranges must appear as ranges: ``days 1-28`` is
not supported by ``days 1-21 of a 28-day cycle``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from monorag.text import UNITS, unit_alternation, units_of

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_SPACES = "\u00a0\u2007\u2009\u202f\u2002\u2003\u2004\u2005\u2006\u2008\u200a"
# One character in, one character out: spans found in the normalised text are spans of the
# original text, so offending mentions are reported exactly as the answer wrote them.
_ONE_TO_ONE = str.maketrans(
    {
        **dict.fromkeys(_DASHES, "-"),
        **dict.fromkeys(_SPACES, " "),
        "\u00d7": "x",
        "\u00b5": "u",
        "\u03bc": "u",
        "\u00b2": "2",
        "\uff05": "%",
    }
)

# Thousands groups (10 000, 10,000), then decimals with a point or a lone comma (0,5 but
# not the list 1,8,15).
_NUM = r"\d{1,3}(?:[ ,]\d{3})+(?:\.\d+)?(?![\d,])|\d+\.\d+|(?<!\d,)\d+,\d+(?![,\d])|\d+"

# Units and their spellings come from the one table in ``monorag.text``. Dose and measure
# units must match exactly; time, count and the counted forms (tablets, capsules, doses) may
# also match a bare number. Other forms stay bare numbers ("2 puffs" as a unit would need
# the evidence to say puffs, not inhalations), and so does MBq, as before the table was shared.
_LEFT_BARE = frozenset({"mbq", *units_of("form")} - {"tablet", "capsule", "dose"})
# The table's "µg" is new here: only spelled-out numbers ("two µg", read before µ -> u) see it.
_UNIT_SPELLINGS: dict[str, tuple[str, ...]] = {
    name: spellings for name, (_, spellings) in UNITS.items() if name not in _LEFT_BARE
}
_DOSE_UNITS = frozenset(units_of("dose", "measure")) - _LEFT_BARE
_PER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "m2": ("m2", "m\\^2", r"square\s+met(?:re|er)", r"sq\.?\s?m"),
    "kg": ("kg", "kilograms?"),
    "ml": ("ml", "millilit(?:re|er)s?"),
    "l": ("l", "lit(?:re|er)s?"),
    "dl": ("dl",),
    "day": ("days?", "d"),
    "h": ("hours?", "h"),
    "min": ("minutes?", "min"),
    "week": ("weeks?",),
    "dose": ("doses?",),
}
_LEAD_UNITS: dict[str, tuple[str, ...]] = {
    "day": ("days?",),
    "week": ("weeks?",),
    "cycle": ("cycles?",),
    "month": ("months?",),
}


def _alternation(spellings: dict[str, tuple[str, ...]]) -> str:
    parts = [s for group in spellings.values() for s in group]
    # Longest first so `mg/m2` is not read as `mg` and `milligrams` not as `m`.
    parts.sort(key=len, reverse=True)
    return "|".join(parts)


_BASE_UNIT = unit_alternation(_UNIT_SPELLINGS)
_PER_UNIT = _alternation(_PER_SPELLINGS)
_UNIT = rf"(?:{_BASE_UNIT})(?:\s*(?:/|per)\s*(?:{_PER_UNIT}))?(?![A-Za-z0-9])"
_LEAD = _alternation(_LEAD_UNITS)
_SEP = r"\s*(?:-|to|through|thru|until)\s*"

_MENTION = re.compile(
    rf"""
    (?<![A-Za-z0-9])(?<![A-Za-z]-)(?<!\d\.)      # not part of a word, code or number
    (?:(?P<lead>{_LEAD})\s+)?
    (?P<a>{_NUM})
    (?:
        {_SEP}(?:(?:{_LEAD})\s+)?(?P<b>{_NUM})(?:\s*-?\s*(?P<ub>{_UNIT}))?
      | \s*-?\s*(?P<ua>{_UNIT})
    )?
    (?![A-Za-z0-9])
    """,
    re.IGNORECASE | re.VERBOSE,
)

_LIST_NUMBER = re.compile(r"^([ \t]*)(\d+)([.)])(?=\s)", re.MULTILINE)
_CITATION_KEY = re.compile(r"(?<![A-Za-z0-9])[Ss]\s?\d+(?![A-Za-z0-9])")

_NUMBER_WORDS = {
    "once": "1 times",
    "twice": "2 times",
    "thrice": "3 times",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "fourteen": "14",
    "twenty": "20",
    "half": "0.5",
}
_NUMBER_WORD = re.compile(
    r"(?<![A-Za-z-])(" + "|".join(_NUMBER_WORDS) + rf")(?:\s*-?\s*(?P<unit>{_UNIT}))?(?![A-Za-z])",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Mention:
    """One numeric mention: a value or a range, with its canonical unit (``None`` if bare)."""

    surface: str
    values: tuple[str, ...]
    unit: str | None
    start: int
    end: int

    @property
    def is_range(self) -> bool:
        """True for ``1-21``, ``2 to 4 mg`` and the like."""
        return len(self.values) == 2


def unsupported_numbers(answer_text: str, evidence_texts: Iterable[str]) -> list[str]:
    """Numeric mentions of ``answer_text`` that the evidence does not contain.

    Returns each offending mention once, in answer order, as the answer wrote it
    (e.g. ``["100 mg", "days 1-28"]``). An empty list means every number is supported.
    Citation keys (``S1``) and list numbering are not numbers.
    """
    support = _Support.build(evidence_texts)
    out: list[str] = []
    for mention in find_mentions(answer_text):
        if not support.covers(mention) and mention.surface not in out:
            out.append(mention.surface)
    return out


def find_mentions(text: str) -> list[Mention]:
    """Every numeric mention of ``text``, in order (citation keys and list numbers excluded)."""
    norm = text.translate(_ONE_TO_ONE)
    # Blank out what looks numeric but is not a quantity, keeping offsets intact.
    norm = _CITATION_KEY.sub(lambda m: " " * len(m.group()), norm)
    norm = _LIST_NUMBER.sub(lambda m: m.group(1) + " " * (len(m.group()) - len(m.group(1))), norm)
    mentions: list[Mention] = []
    for match in _MENTION.finditer(norm):
        a = _canonical_number(match.group("a"))
        if a is None:
            continue
        unit_text = match.group("ub") or match.group("ua")
        unit = _canonical_unit(unit_text) if unit_text else None
        if unit is None and match.group("lead"):
            unit = _canonical_unit(match.group("lead"))
        values: tuple[str, ...] = (a,)
        if match.group("b") is not None:
            b = _canonical_number(match.group("b"))
            if b is None:
                continue
            values = (a, b)
        surface = text[match.start() : match.end()].strip()
        mentions.append(Mention(surface, values, unit, match.start(), match.end()))
    return mentions


@dataclass(slots=True)
class _Support:
    singles: set[tuple[str, str | None]]
    ranges: set[tuple[str, str, str | None]]
    values: set[str]

    @classmethod
    def build(cls, texts: Iterable[str]) -> _Support:
        support = cls(set(), set(), set())
        for text in texts:
            for mention in find_mentions(text):
                support.values.update(mention.values)
                for value in mention.values:
                    support.singles.add((value, mention.unit))
                if mention.is_range:
                    a, b = mention.values
                    support.ranges.add((a, b, mention.unit))
            # Spelled-out numbers support digits ("two capsules" -> 2 capsules); they are
            # read beside the text, not substituted into it, so "one 100 mg" stays 100 mg.
            for match in _NUMBER_WORD.finditer(text):
                value, _, implied = _NUMBER_WORDS[match.group(1).lower()].partition(" ")
                unit_text = match.group("unit")
                unit = _canonical_unit(unit_text) if unit_text else implied or None
                support.values.add(value)
                support.singles.add((value, unit))
        return support

    def covers(self, mention: Mention) -> bool:
        unit = mention.unit
        if mention.is_range:
            a, b = mention.values
            if unit is None:
                return any(r[0] == a and r[1] == b for r in self.ranges)
            if (a, b, unit) in self.ranges:
                return True
            return not _is_dose(unit) and (a, b, None) in self.ranges
        (value,) = mention.values
        if unit is None:
            return value in self.values
        if (value, unit) in self.singles:
            return True
        return not _is_dose(unit) and (value, None) in self.singles


def _is_dose(unit: str) -> bool:
    # mg/kg, mg/m2 and mg/day are doses as much as mg is.
    return unit.split("/", 1)[0] in _DOSE_UNITS


def _canonical_number(raw: str) -> str | None:
    text = raw.replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", text):
        text = text.replace(",", "")
    else:
        # A comma that is not a thousands separator is a decimal comma (0,5 ml).
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return format(value.normalize(), "f")


_UNIT_LOOKUP: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"(?:{'|'.join(spellings)})", re.IGNORECASE), canonical)
    for canonical, spellings in _UNIT_SPELLINGS.items()
]
_PER_LOOKUP: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"(?:{'|'.join(spellings)})", re.IGNORECASE), canonical)
    for canonical, spellings in _PER_SPELLINGS.items()
]


def _canonical_unit(raw: str) -> str | None:
    whole = _lookup(_UNIT_LOOKUP, raw)
    if whole is not None:
        return whole
    parts = re.split(r"\s*(?:/|\bper\b)\s*", raw.strip(), maxsplit=1)
    name = _lookup(_UNIT_LOOKUP, parts[0])
    if name is None:
        return None
    if len(parts) == 2:
        per = parts[1]
        return f"{name}/{_lookup(_PER_LOOKUP, per) or per.lower()}"
    return name


def _lookup(table: list[tuple[re.Pattern[str], str]], text: str) -> str | None:
    for pattern, canonical in table:
        if pattern.fullmatch(text.strip()):
            return canonical
    return None
