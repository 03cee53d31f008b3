"""The qualifier check: a number must come from a sentence about what the question asks.

The number guard (``qa.guard``) proves that every number of an LLM answer is in the cited
evidence. That is not enough. Asked for a child's dose, the local 135M model answered, on
5 of 5 measured questions, with the adult dose of the passage, a number that *is* in the
evidence ("A 12-year-old with DVT should receive 10 mg of apixaban twice daily" from a
passage about adults). What is wrong is the population the number belongs to.

So the qualifiers the **question** states are read (``question_qualifiers``):

- population: child (children, paediatric, infant, neonate, adolescent, "6-year-old" under
  18), elderly (older, geriatric, 65 and over), adult;
- renal and hepatic impairment, each with its severity (mild, moderate, severe, and
  Child-Pugh A/B/C), dialysis, pregnancy, breast-feeding;
- the indication: the words after "for", "in" or "with" that are none of the above, no
  drug name and no dosing word ("for multiple myeloma", "with DVT").

and every number of the answer (``unqualified_numbers``) must have a *supplying* sentence,
one of the cited passages' sentences that contains the number, which carries them all. A
sentence carries a qualifier when it, or its passage's heading path (``Dosage › Children``),
says it; the indication may be carried anywhere in the passage (headings often name it once
for a whole section). Adults are the monograph's default population, so "adult" is carried
by any sentence that names no other population.

Deliberately literal and conservative: a synonym it does not know ("DVT" against "deep vein
thrombosis") makes the answer fall back to the extractive one, which is safe; it never
makes an answer pass that the number guard would reject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monorag.qa.guard import find_mentions, unsupported_numbers
from monorag.qa.reader import CHILD_PUGH
from monorag.text import passage_sentences


@dataclass(frozen=True, slots=True)
class Qualifier:
    """One thing the question restricts its answer to, and what in a sentence says it."""

    name: str
    """How the note names it: ``children``, ``severe``, ``multiple myeloma``."""
    carried: re.Pattern[str]
    """Matches text that states it."""
    scope: str = "sentence"
    """``sentence`` (the sentence or its heading path must carry it) or ``passage``."""
    unless_other: re.Pattern[str] | None = None
    """Also carried by a sentence this pattern does not match (the default population)."""


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z])(?:" + "|".join(alternatives) + r")(?![a-z])", re.IGNORECASE)


# Under-18 ages in a sentence: "aged 4 to 15 years", "under 18 years", "from 1 month".
_MINOR_AGE = (
    r"(?:aged|from|between)\s+\d+\s*(?:-|to|and)\s*(?:1[0-7]|[1-9])\s*years?"
    r"|(?:under|below|less than|younger than|<)\s*(?:1[0-8]|[1-9])\s*years?"
    r"|\d+\s*(?:months?|weeks?)\s+(?:of age|old)"
)
_CHILD_TEXT = _words(
    r"child(?:ren|hood)?",
    r"p(?:a)?ediatrics?",
    r"infants?",
    r"neonat(?:e|es|al)",
    r"newborns?",
    r"adolescents?",
    r"toddlers?",
    r"kids?",
    r"teen(?:s|agers?)?",
    _MINOR_AGE,
)
_ELDERLY_TEXT = _words(
    r"elderly",
    r"older(?:\s+(?:adults?|patients?|people))?",
    r"geriatrics?",
    r"(?:aged|over|above|≥|>=)\s*(?:6[5-9]|[7-9]\d)(?:\s*years?)?",
    r"(?:6[5-9]|[7-9]\d)\s*years?\s+(?:and|or)\s+(?:over|older)",
)
_ADULT_TEXT = _words(r"adults?", r"grown-ups?")
_OTHER_THAN_ADULT = re.compile(f"{_CHILD_TEXT.pattern}|{_ELDERLY_TEXT.pattern}", re.IGNORECASE)

# "6-year-old", "a 12 year old": a child under 18, elderly from 65.
_AGE_OLD = re.compile(r"(?<!\d)(\d{1,3})[- ]?(?:years?|yrs?)[- ]old", re.IGNORECASE)
_MONTHS_OLD = re.compile(r"(?<!\d)\d{1,2}[- ]?(?:months?|weeks?)[- ]old", re.IGNORECASE)

_RENAL = _words(r"renal", r"kidneys?", r"creatinine clearance", r"crcl", r"e?gfr", r"nephropathy")
_HEPATIC = _words(r"hepatic", r"liver", r"child[- ]pugh")
_DIALYSIS = _words(r"(?:ha?e)?mo?dialysis", r"dialysed", r"dialyzed", r"dialysis", r"esrd")
_PREGNANCY = _words(r"pregnan(?:t|cy|cies)", r"gestation(?:al)?", r"expectant mothers?")
_BREASTFEEDING = _words(r"breast[- ]?feed(?:ing)?", r"breast[- ]?fed", r"lactat(?:ion|ing)")
_SEVERITY: dict[str, re.Pattern[str]] = {
    "mild": _words(r"mild(?:ly)?", CHILD_PUGH["mild"]),
    "moderate": _words(r"moderate(?:ly)?", CHILD_PUGH["moderate"]),
    "severe": _words(r"severe(?:ly)?", CHILD_PUGH["severe"], r"end[- ]stage", r"esrd"),
}

# Words after "for/in/with" that are not an indication.
_NOT_INDICATION = frozenset(
    """
    a an the this that these those my our your his her their its of to and or per
    patient patients person people someone man woman men women adult adults user users
    dose doses dosage dosing dosed regimen schedule amount recommended recommendation usual
    starting start initial maintenance maximum max minimum daily day days week weeks month
    months year years old aged age weight weighing kg mg ml oral orally iv tablet tablets
    capsule capsules injection infusion treatment therapy use used using given taking take
    what which how much many often long when is are should be can does do with without in
    for on at by from who whose whom impairment impaired insufficiency function failure
    disease mild moderate severe severely renal kidney hepatic liver dialysis haemodialysis
    hemodialysis pregnancy pregnant breastfeeding breast feeding lactation child children
    paediatric pediatric infant infants neonate neonates newborn newborns adolescent
    adolescents elderly older geriatric first next then also only same other case cases
    condition conditions indication indications any all each combination combined alone
    under over above below than least most once twice thrice times hours hour minutes
    """.split()
)
# A lookahead, so that every "for/in/with" starts a phrase ("For how many days is X given
# for DVT?" has its indication after the second "for").
_INDICATION_AFTER = re.compile(
    r"\b(?:for|in|with|treating|against)\s+(?=([^?.,;:()]+))", re.IGNORECASE
)
_STOP_AT = re.compile(
    r"\b(?:for|in|with|who|which|that|when|if|and|or|at|on|by|is|are|was|be|been|being"
    r"|receive|receives|get|gets|take|takes|taken|given|give|have|has|had|need|needs"
    r"|should|would|could|can|may|must|does|do|did|use|used|start|started|recommended)\b",
    re.IGNORECASE,
)
_MAX_INDICATION_WORDS = 4
_TOKEN = re.compile(r"[a-z][a-z0-9'-]*", re.IGNORECASE)


def question_qualifiers(question: str, drug_names: Iterable[str] = ()) -> list[Qualifier]:
    """What ``question`` restricts its answer to (see the module docstring), in a fixed order.

    ``drug_names`` (titles and aliases of the retrieved monographs) are never read as an
    indication.
    """
    found: list[Qualifier] = []
    ages = [int(m.group(1)) for m in _AGE_OLD.finditer(question)]
    child = bool(_CHILD_TEXT.search(question)) or any(a < 18 for a in ages)
    child = child or bool(_MONTHS_OLD.search(question))
    elderly = bool(_ELDERLY_TEXT.search(question)) or any(a >= 65 for a in ages)
    if child:
        found.append(Qualifier("children", _CHILD_TEXT))
    if elderly:
        found.append(Qualifier("elderly patients", _ELDERLY_TEXT))
    if _ADULT_TEXT.search(question) and not child and not elderly:
        found.append(Qualifier("adults", _ADULT_TEXT, unless_other=_OTHER_THAN_ADULT))
    organs = [
        ("renal impairment", _RENAL),
        ("hepatic impairment", _HEPATIC),
    ]
    for name, pattern in organs:
        if pattern.search(question):
            found.append(Qualifier(name, pattern))
    if _DIALYSIS.search(question):
        found.append(Qualifier("dialysis", _DIALYSIS))
    if _PREGNANCY.search(question):
        found.append(Qualifier("pregnancy", _PREGNANCY))
    if _BREASTFEEDING.search(question):
        found.append(Qualifier("breast-feeding", _BREASTFEEDING))
    for name, pattern in _SEVERITY.items():
        if pattern.search(question):
            found.append(Qualifier(f"{name} impairment", pattern))
    names = {w.lower() for n in drug_names for w in _TOKEN.findall(n)}
    for phrase in _indications(question, names):
        found.append(Qualifier(phrase, _phrase_pattern(phrase), scope="passage"))
    return found


def _indications(question: str, drug_words: set[str]) -> list[str]:
    """Indication phrases: words after for/in/with, up to the next such word or mark."""
    out: list[str] = []
    for match in _INDICATION_AFTER.finditer(question):
        span = _STOP_AT.split(match.group(1), maxsplit=1)[0]
        words = [
            w
            for w in _TOKEN.findall(span)
            if w.lower() not in _NOT_INDICATION
            and w.lower() not in drug_words
            and not _CHILD_TEXT.fullmatch(w)
            and not _AGE_OLD.search(w)
        ]
        words = [
            w
            for w in words
            if not re.fullmatch(r"\d+|years?|old|(?:years?|months?|weeks?)-old", w, re.IGNORECASE)
        ]
        phrase = " ".join(words[:_MAX_INDICATION_WORDS]).lower()
        if phrase and phrase not in out:
            out.append(phrase)
    return out


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    # Every word of the phrase, in any order, a plural 's' either way.
    parts = [rf"(?=.*(?<![a-z]){re.escape(w.rstrip('s'))}s?(?![a-z]))" for w in phrase.split()]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Source:
    """A passage a number may come from: its heading path and its text."""

    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class Misplaced:
    """A number of the answer whose supplying sentences miss qualifiers of the question."""

    number: str
    missing: tuple[str, ...]


def unqualified_numbers(
    answer_text: str, sources: Sequence[Source], qualifiers: Sequence[Qualifier]
) -> list[Misplaced]:
    """Numbers of ``answer_text`` no sentence of ``sources`` supplies with every qualifier.

    A number no source sentence contains at all is the number guard's business and is not
    reported here. Returns each offending number once, in answer order.
    """
    if not qualifiers:
        return []
    out: list[Misplaced] = []
    seen: set[str] = set()
    split = [(source, _sentences(source.text)) for source in sources]
    for mention in find_mentions(answer_text):
        if mention.surface in seen:
            continue
        seen.add(mention.surface)
        supplying = [
            (source, sentence)
            for source, parts in split
            for sentence in parts
            if not unsupported_numbers(mention.surface, [sentence])
        ]
        if not supplying:
            continue
        best: tuple[str, ...] | None = None
        for source, sentence in supplying:
            missing = tuple(q.name for q in qualifiers if not _carries(q, source, sentence))
            if best is None or len(missing) < len(best):
                best = missing
            if not missing:
                break
        if best:
            out.append(Misplaced(mention.surface, best))
    return out


def _carries(qualifier: Qualifier, source: Source, sentence: str) -> bool:
    where = f"{source.heading}\n{source.text}" if qualifier.scope == "passage" else sentence
    if qualifier.scope == "sentence":
        where = f"{source.heading}\n{sentence}"
    if qualifier.carried.search(where):
        return True
    return qualifier.unless_other is not None and not qualifier.unless_other.search(where)


def _sentences(text: str) -> list[str]:
    return passage_sentences(text, clauses=True)


def misplaced_reason(problems: Sequence[Misplaced]) -> str:
    """The note's reason: which numbers, and what their sentences do not say."""
    first = problems[0]
    shown = ", ".join(p.number for p in problems[:3])
    missing = " or ".join(first.missing)
    return (
        f"The LLM answer gave {shown}, but no cited sentence giving "
        f"{'it' if len(problems) == 1 else 'them'} is about {missing}, as the question asks"
    )
