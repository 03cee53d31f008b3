"""Rule-based rewrites of FAQ questions the way clinicians type them, and unanswerable probes.

Everything is deterministic: the same inputs give the same variants in the same order,
with no randomness. Kinds:

- ``original``: the FAQ question as written.
- ``terse``: drug name first, function words dropped (``pomalidomide dose adjustment
  renal impairment?``).
- ``brand``: the drug named by another of its names (the first alias that is not the
  title: a brand for INN-titled monographs, the INN for brand-titled ones).
- ``misspelling``: the drug name with one deterministic typo (``misspell``).
- ``unanswerable_attribute``: a question about something monographs do not state (price,
  storage temperature, shelf life, trials, manufacturer, appearance). When the monograph's
  text is given, probes whose topic words occur in it are left out, so a probe never
  asks for something the monograph does say.
- ``unanswerable_drug``: the FAQ question asked about a real drug that is not in the
  corpus (``drugs_not_in_corpus``).

A question that does not name its drug gets the name appended (``... taking X?``) in every
kind but ``original``, so each variant stands on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from monorag.types import Monograph

VariantKind = Literal[
    "original",
    "terse",
    "brand",
    "misspelling",
    "unanswerable_attribute",
    "unanswerable_drug",
]

ANSWERABLE_KINDS: frozenset[str] = frozenset({"original", "terse", "brand", "misspelling"})


@dataclass(frozen=True, slots=True)
class Variant:
    """One question to ask the system, derived from a FAQ question or a monograph."""

    id: str
    """Unique id: ``<source_id>/<kind>`` (probes add the attribute or drug)."""
    source_id: str
    """Id of the FAQ question (or, for attribute probes, the monograph) it came from."""
    kind: VariantKind
    question: str
    drug: str
    """Title of the monograph the source belongs to."""
    asked_drug: str
    """The drug name as the question writes it (brand, misspelling, another drug)."""

    @property
    def answerable(self) -> bool:
        """Whether the corpus holds the answer (probes should be abstained on)."""
        return self.kind in ANSWERABLE_KINDS


# ---------------------------------------------------------------------------
# Names in questions
# ---------------------------------------------------------------------------


def _bare(name: str) -> str:
    return " ".join(name.replace("®", "").replace("™", "").split())


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = sorted({_bare(n) for n in names if _bare(n)}, key=len, reverse=True)
    if not alternatives:
        return None
    body = "|".join(r"\s+".join(map(re.escape, n.split())) for n in alternatives)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)


def mentions(question: str, names: Iterable[str]) -> bool:
    """Whether the question names the drug by any of ``names`` (whole words, any case)."""
    pattern = _name_pattern(names)
    return bool(pattern and pattern.search(question))


def with_drug_name(question: str, names: Iterable[str], new_name: str) -> str:
    """The question with every mention of ``names`` replaced by ``new_name``.

    A question that names no drug gets ``taking <new_name>`` before its final ``?``.
    """
    pattern = _name_pattern(names)
    if pattern and pattern.search(question):
        return pattern.sub(lambda _: new_name, question)
    stem = question.rstrip().rstrip("?.!").rstrip()
    return f"{stem} taking {new_name}?"


# ---------------------------------------------------------------------------
# Rewrites
# ---------------------------------------------------------------------------

_TERSE_DROP = frozenset(
    """what which who whom whose when where why how is are was were be been being do does
    did can could should would will shall may might must the a an of for to in on at by
    with from about regarding during while and or as that this these those it its there
    their they them patients patient any most some recommended necessary required advised
    taking take taken use used using given giving other i we you your my our me us
    please tell know""".split()
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


def terse(question: str, drug: str, aliases: Iterable[str] = ()) -> str | None:
    """A terse clinician query: drug name first, then the question's content words.

    ``"Is dose adjustment necessary for patients with renal impairment?"`` for
    pomalidomide gives ``"pomalidomide dose adjustment renal impairment?"``. Returns
    ``None`` when the question has no content words besides the drug name.
    """
    pattern = _name_pattern([drug, *aliases])
    stripped = pattern.sub(" ", question) if pattern else question
    kept: list[str] = []
    for word in _WORD.findall(stripped):
        if word.lower() in _TERSE_DROP:
            continue
        # Abbreviations keep their case (INR, CYP3A4); ordinary words are lower-cased.
        kept.append(word if word.isupper() or any(c.isdigit() for c in word) else word.lower())
    if not kept:
        return None
    return f"{_bare(drug).lower()} {' '.join(kept)}?"


_VOWELS = "aeiouy"


def misspell(name: str) -> str:
    """A deterministic typo of a drug name, lower-cased as typed in a hurry.

    Drops the interior vowel closest to the middle of the longest word (the first of two
    equally close ones): ``pomalidomide`` → ``pomaldomide``. Words shorter than 5 letters
    or without an interior vowel get their two middle letters swapped instead. The result
    always differs from the name.
    """
    words = _bare(name).lower().split()
    if not words:
        raise ValueError("cannot misspell an empty name")
    target = max(range(len(words)), key=lambda i: (len(words[i]), -i))
    word = words[target]
    middle = (len(word) - 1) / 2
    interior = [i for i in range(1, len(word) - 1) if word[i] in _VOWELS]
    if len(word) >= 5 and interior:
        drop = min(interior, key=lambda i: (abs(i - middle), i))
        typo = word[:drop] + word[drop + 1 :]
    else:
        typo = _swap_middle(word)
    words[target] = typo
    return " ".join(words)


def _swap_middle(word: str) -> str:
    if len(word) < 2:
        return word + word
    for i in range(max(0, len(word) // 2 - 1), len(word) - 1):
        if word[i] != word[i + 1]:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word + word[-1]  # all letters equal: a doubled letter is the typo left


def other_name(drug: str, aliases: Iterable[str]) -> str | None:
    """The first alias that is not just the title again (case and ®/™ ignored)."""
    title = _bare(drug).casefold()
    for alias in aliases:
        bare = _bare(alias)
        if bare and bare.casefold() != title:
            return bare
    return None


def question_variants(
    source_id: str,
    question: str,
    drug: str,
    aliases: Sequence[str] = (),
) -> list[Variant]:
    """The original question and its terse, brand-name and misspelt forms.

    A form that cannot be made (no alias other than the title, no content words) is
    left out rather than repeated.
    """
    names = [drug, *aliases]
    out = [Variant(f"{source_id}/original", source_id, "original", question, drug, drug)]
    short = terse(question, drug, aliases)
    if short is not None and short != question:
        out.append(Variant(f"{source_id}/terse", source_id, "terse", short, drug, drug))
    brand = other_name(drug, aliases)
    if brand is not None:
        text = with_drug_name(question, names, brand)
        out.append(Variant(f"{source_id}/brand", source_id, "brand", text, drug, brand))
    typo = misspell(drug)
    text = with_drug_name(question, names, typo)
    out.append(Variant(f"{source_id}/misspelling", source_id, "misspelling", text, drug, typo))
    return out


# ---------------------------------------------------------------------------
# Unanswerable probes
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttributeProbe:
    """A question about an attribute drug monographs for clinicians do not state."""

    name: str
    template: str
    """Question text with ``{drug}`` in it."""
    evidence: str
    """Regex of words that would mean a monograph does state the attribute."""


ATTRIBUTE_PROBES: tuple[AttributeProbe, ...] = (
    AttributeProbe(
        "price",
        "How much does {drug} cost?",
        r"\b(?:price[sd]?|pricing|costs?|costly|reimburs\w*|pharmacoeconomic\w*)\b|[£€$]",
    ),
    AttributeProbe(
        "storage_temperature",
        "At what temperature should {drug} be stored?",
        r"\b(?:stor(?:e|ed|es|age|ing)|refrigerat\w*|fridge|freez\w*|temperature\w*)\b|°",
    ),
    AttributeProbe(
        "shelf_life",
        "What is the shelf life of {drug}?",
        r"\b(?:shelf[- ]life|expir\w*|EXP|use[- ]by)\b",
    ),
    AttributeProbe(
        "trials",
        "Which clinical trials led to the approval of {drug}?",
        r"\b(?:trials?|stud(?:y|ies)|approv\w*)\b",
    ),
    AttributeProbe(
        "manufacturer",
        "Which company manufactures {drug}?",
        r"\b(?:manufactur\w*|marketing authori[sz]ation|company|companies)\b",
    ),
    AttributeProbe(
        "appearance",
        "What colour are {drug} tablets or capsules?",
        r"\b(?:colou?r\w*|white|yellow|blue|green|orange|pink|brown|gr[ae]y|round|oval|"
        r"engraved|imprint\w*|debossed|embossed|look like)\b",
    ),
)


def attribute_probes(
    source_id: str,
    drug: str,
    monograph_text: str | None = None,
    probes: Sequence[AttributeProbe] = ATTRIBUTE_PROBES,
) -> list[Variant]:
    """Unanswerable questions about ``drug``'s attributes its monograph does not state.

    With ``monograph_text`` (the whole monograph: front matter and body), a probe whose
    evidence words occur in it is skipped. Without it, every probe is returned.
    """
    out: list[Variant] = []
    for probe in probes:
        if monograph_text is not None and re.search(probe.evidence, monograph_text, re.IGNORECASE):
            continue
        out.append(
            Variant(
                id=f"{source_id}/unanswerable_attribute:{probe.name}",
                source_id=source_id,
                kind="unanswerable_attribute",
                question=probe.template.format(drug=_bare(drug)),
                drug=drug,
                asked_drug=_bare(drug),
            )
        )
    return out


KNOWN_DRUGS: tuple[str, ...] = tuple(
    """acetazolamide aciclovir allopurinol alprazolam amiloride amitriptyline amlodipine
    amoxicillin atenolol atorvastatin azathioprine baclofen beclometasone benzylpenicillin
    bisoprolol bumetanide buspirone captopril carbimazole carvedilol cefalexin cetirizine
    chloramphenicol chlordiazepoxide chloroquine chlorpromazine chlortalidone cimetidine
    citalopram clarithromycin clindamycin clomipramine clonazepam clonidine clotrimazole
    colchicine cyclizine dapsone diazepam diclofenac digoxin diltiazem dipyridamole
    disulfiram domperidone doxazosin doxycycline enalapril erythromycin ethambutol
    famotidine felodipine fexofenadine flucloxacillin fluconazole fludrocortisone fluoxetine
    furosemide gabapentin gliclazide glipizide griseofulvin haloperidol hydralazine
    hydrochlorothiazide hydroxychloroquine hydroxyzine hyoscine ibuprofen indapamide
    isoniazid isosorbide ketoconazole labetalol lactulose lamotrigine lansoprazole
    levothyroxine lisinopril lithium loperamide loratadine lorazepam losartan mebendazole
    mebeverine meloxicam metformin methadone methotrexate methyldopa metoclopramide
    metoprolol metronidazole minocycline minoxidil mirtazapine montelukast naproxen
    nifedipine nitrofurantoin nortriptyline nystatin omeprazole oxybutynin pantoprazole
    paracetamol paroxetine perindopril phenobarbital pioglitazone pravastatin prazosin
    prednisolone primidone probenecid prochlorperazine promethazine propranolol
    propylthiouracil pyrazinamide quinine ramipril ranitidine risperidone salbutamol
    sertraline simvastatin sotalol spironolactone sulfasalazine sumatriptan tamoxifen
    tamsulosin terbinafine theophylline timolol tinidazole tramadol trazodone trimethoprim
    valproate venlafaxine verapamil warfarin zolpidem zopiclone""".split()
)
"""Real, long-established drugs (INNs) used to ask about drugs a corpus may not hold."""


def drugs_not_in_corpus(
    corpus_names: Iterable[str],
    corpus_texts: Iterable[str] = (),
    candidates: Sequence[str] = KNOWN_DRUGS,
) -> list[str]:
    """Candidates that are neither a corpus title/alias nor mentioned in any corpus text.

    ``corpus_names`` are the titles and aliases of every monograph; ``corpus_texts``
    (optional) their full texts. Excluding drugs a monograph merely mentions (e.g. in its
    interactions) keeps probes unambiguous: the corpus says nothing about them at all.
    The candidates' order is kept.
    """
    taken = {_bare(n).casefold() for n in corpus_names if _bare(n)}
    taken |= {word for n in taken for word in n.split()}
    remaining = [c for c in candidates if c.casefold() not in taken]
    if not remaining:
        return []
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(map(re.escape, remaining)) + r")(?![\w-])", re.IGNORECASE
    )
    mentioned: set[str] = set()
    for text in corpus_texts:
        mentioned |= {m.casefold() for m in pattern.findall(text)}
    return [c for c in remaining if c.casefold() not in mentioned]


def other_drug_probes(
    questions: Sequence[tuple[str, str]],
    drug: str,
    aliases: Sequence[str],
    other_drugs: Sequence[str],
    offset: int = 0,
) -> list[Variant]:
    """Each ``(source_id, question)`` asked about another drug instead of ``drug``.

    Drugs are taken from ``other_drugs`` in turn, starting at ``offset`` (pass a running
    count across monographs to spread the names). ``[]`` when ``other_drugs`` is empty.
    """
    if not other_drugs:
        return []
    out: list[Variant] = []
    for i, (source_id, question) in enumerate(questions):
        other = other_drugs[(offset + i) % len(other_drugs)]
        out.append(
            Variant(
                id=f"{source_id}/unanswerable_drug:{other}",
                source_id=source_id,
                kind="unanswerable_drug",
                question=with_drug_name(question, [drug, *aliases], other),
                drug=drug,
                asked_drug=other,
            )
        )
    return out


# ---------------------------------------------------------------------------
# A whole monograph
# ---------------------------------------------------------------------------


def monograph_id(monograph: Monograph) -> str:
    """Id of a monograph in variant ids: its source path without the ``.md`` suffix."""
    source = PurePath(monograph.source)
    return str(source.with_suffix("")) if source.suffix.lower() == ".md" else str(source)


def faq_id(monograph: Monograph, index: int) -> str:
    """Id of the ``index``-th (0-based) FAQ pair: ``<monograph id>#q<index + 1>``."""
    return f"{monograph_id(monograph)}#q{index + 1}"


def monograph_text(monograph: Monograph) -> str:
    """Everything a monograph states: description, FAQ pairs and all section titles and text."""
    parts = [monograph.title, monograph.description, *monograph.aliases]
    parts += [f"{faq.question}\n{faq.answer}" for faq in monograph.faqs]
    parts += [f"{s.title}\n{s.text}" for s in monograph.all_sections()]
    return "\n".join(parts)


def monograph_variants(
    monograph: Monograph,
    other_drugs: Sequence[str] = (),
    offset: int = 0,
) -> list[Variant]:
    """All variants and probes of one monograph's FAQ.

    Per FAQ question: original, terse, brand, misspelling, and (when ``other_drugs`` is
    given) the same question about another drug. Per monograph: the attribute probes its
    text does not answer.
    """
    aliases = [a for a in monograph.aliases if _bare(a).casefold() != monograph.title.casefold()]
    questions = [(faq_id(monograph, i), faq.question) for i, faq in enumerate(monograph.faqs)]
    out: list[Variant] = []
    for source_id, question in questions:
        out += question_variants(source_id, question, monograph.title, aliases)
    out += other_drug_probes(questions, monograph.title, aliases, other_drugs, offset)
    out += attribute_probes(monograph_id(monograph), monograph.title, monograph_text(monograph))
    return out
