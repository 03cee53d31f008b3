"""Deterministic evaluation metrics: answer overlap, key facts, retrieval and abstention.

Nothing here calls a model except ``embedding_similarity`` and ``sentence_coverage``,
which take the embedding function as an argument. All rules are general (units, enzyme
codes, INN stems, enumerations); none is tuned to one monograph.

Conventions
-----------
- A metric that is undefined for an item returns ``None`` rather than a made-up value:
  key-fact recall of a reference without key facts, hit@k and reciprocal rank without gold
  sections, citation precision of an answer that cites nothing. ``mean_defined`` averages
  while skipping ``None``, so such items are excluded from averages instead of counting
  as perfect (or as zero).
- Section paths are strings joined with ``" › "`` (``monorag.types.SEP``), e.g.
  ``"Dosage › Standard Dosage › Special Cases"``. A gold section matches a retrieved or
  cited section when the gold path's components are a prefix of the other's components
  (compared case-insensitively, trailing colons ignored): gold ``Dosage`` matches
  ``Dosage › Special Cases`` but not ``Dosage Adjustments``, and gold
  ``Dosage › Special Cases`` does not match its parent ``Dosage``, whose text is broader
  than what was asked. Prefix a drug to make the match drug-specific
  (``"Pomalidomide › Dosage"``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from monorag.text import unit_texts

# ---------------------------------------------------------------------------
# Normalisation and tokens
# ---------------------------------------------------------------------------

_DASHES = re.compile(r"[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d]")
_MARKUP = re.compile(r"[*_`#>]+")
_NUMBER_WORDS = {
    "zero": "0",
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
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_PERCENT = re.compile(r"(\d)\s*(?:%|percent\b|per\s+cent\b)")
_NUM = r"\d+(?:\.\d+)?"
_RANGE = re.compile(rf"(?<![\d.])({_NUM})\s*(?:-|to|through|thru)\s*({_NUM})(?![\d])")
_TOKEN = re.compile(rf"{_NUM}(?:-{_NUM})?%?|[a-z0-9]+")

_ARTICLES = frozenset({"a", "an", "the"})
# Function words dropped before key-fact matching. Negations stay: "no dose adjustment"
# and "dose adjustment" are different facts.
_STOPWORDS = frozenset(
    """a an the of to in on at for with by from and or as is are was were be been being
    it its this that these those which who whom whose what when where how why can could
    may might should would will shall must do does did has have had such e g ie eg i
    about into than then also both either any each other their there they them he she his
    her we you your our""".split()
)


def normalize_text(text: str) -> str:
    """Lower-case text with unified dashes, digits for small number words and ranges as ``a-b``.

    ``"Days 1 to 21"``, ``"days 1–21"`` and ``"days 1-21"`` all become ``"days 1-21"``;
    ``"73 percent"`` becomes ``"73%"``; markdown emphasis and ®/™ are dropped; whitespace
    collapses to single spaces.
    """
    # NFKC turns ™ into "TM", so the marks go first.
    text = unicodedata.normalize("NFKC", text.replace("®", "").replace("™", ""))
    text = _DASHES.sub("-", text)
    text = _MARKUP.sub(" ", text.lower())
    text = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1)], text)
    text = _THOUSANDS.sub("", text)
    text = _PERCENT.sub(r"\1%", text)
    text = _RANGE.sub(r"\1-\2", text)
    return " ".join(text.split())


def stem(token: str) -> str:
    """Light plural stemming (``weeks`` → ``week``, ``therapies`` → ``therapy``); not numbers."""
    if any(ch.isdigit() for ch in token) or len(token) <= 3:
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("sses", "shes", "ches", "xes", "zes")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokens(text: str) -> list[str]:
    """Normalised, lightly stemmed word and number tokens of ``text``.

    A numeric range (``1-21``) and a percentage (``73%``) are one token each; other
    hyphens split words (``28-day`` → ``28``, ``day``), so ``28-day`` equals ``28 day``.
    """
    return [stem(t) for t in _TOKEN.findall(normalize_text(text))]


def _content(toks: Iterable[str]) -> list[str]:
    return [t for t in toks if t not in _STOPWORDS]


# ---------------------------------------------------------------------------
# Key facts
# ---------------------------------------------------------------------------

_UNITS = (
    r"mg/m2|mg/m²|mg/kg/day|mg/kg|mg/day|mg/ml|mg/l|mcg/kg|mcg/day|micrograms?|µg|μg|mcg|"
    r"ng/ml|g/dl|g/l|mmol/l|mmol|meq|ml/min|ml|mg|milligrams?|grams?|kg|g|iu|units?|%|"
    r"hours?|hrs?|h|minutes?|mins?|seconds?|days?|weeks?|wks?|months?|years?|yrs?|"
    r"times?|doses?|cycles?|tablets?|capsules?|drops?|puffs?|injections?|sprays?|patches|patch"
)
_QUANTITY = re.compile(
    rf"(?:\b(?:every|each|per)\s+)?(?<![\w.])"
    rf"{_NUM}(?:\s*(?:-|to|through)\s*{_NUM})?\s*-?\s*(?:{_UNITS})(?![a-z0-9])"
    r"(?:\s+(?:cycles?|courses?|periods?|regimens?|intervals?))?",
    re.IGNORECASE,
)
_UNIT = re.compile(_UNITS, re.IGNORECASE)
_SCHEDULE_NUM = rf"{_NUM}(?:\s*(?:-|to|through)\s*{_NUM})?"
_SCHEDULE = re.compile(
    rf"\b(?:days?|weeks?|cycles?|months?)\s+{_SCHEDULE_NUM}"
    rf"(?:(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+){_SCHEDULE_NUM})*",
    re.IGNORECASE,
)
# Enzyme, gene and lab codes with digits: CYP1A2, CYP2C19, IKZF1, HER2, HbA1c, IL-6.
_CODE = re.compile(
    r"\b(?:[A-Z][A-Za-z]*\d[A-Za-z0-9]*|[A-Z]{2,}-\d+(?:\.\d+)?[A-Za-z]?)\b(?![.-]\d)"
)
# Upper-case abbreviations (INR, CBC, DRESS), plural "s" allowed; and P-gp style names.
_ACRONYM = re.compile(r"\b([A-Z]{2,6})s?\b(?!-\d)")
_HYPHEN_NAME = re.compile(r"\b[A-Z]{1,3}-[a-z]{1,3}\b")
_ACRONYM_STOP = frozenset(
    """AND OR NOT NO DO IF OF TO IN ON AT BY IS IT BE AS AN THE FOR YES ALL ANY USE ONLY
    NOTE FAQ FAQS QA II III VI VII VIII""".split()
)
# WHO INN stems (and a few common endings of older drugs). A word of at least 7 letters
# with one of these endings is taken to be a drug name.
_INN_STEMS = (
    "mab|nib|mib|parib|ciclib|lisib|vir|pril|sartan|olol|alol|statin|azole|floxacin|oxacin|"
    "mycin|micin|cillin|cycline|penem|oxetine|tidine|dipine|azepine|apine|pramine|triptyline|"
    "oxamine|zepam|zolam|barbital|sone|olone|darone|adone|codone|afil|tide|parin|farin|xaban|"
    "gatran|gliptin|gliflozin|formin|dronate|triptan|setron|platin|taxel|rubicin|mustine|"
    "tecan|trexate|citabine|vudine|lukast|profen|fenac|phylline|caine|azosin|buterol|meterol|"
    "moterol|tropium|curium|semide|thiazide|toin|ampin|ampicin|quine|fungin|lidomide|amide|"
    "amol|orphine|zodone|peridol"
)
_INN_WORD = re.compile(rf"\b[A-Za-z][a-z]{{2,}}(?:{_INN_STEMS})\b")
_MIN_INN_LETTERS = 7
_BRAND = re.compile(r"\b([A-Z][A-Za-z0-9-]+)\s*[®™]")
# A lead-in before the first item of an enumeration: "side effects include X, Y and Z".
_LEAD_IN = re.compile(
    r"^.*\b(?:includes?|including|such as|e\.g\.|like|are|is|be|were|was|"
    r"contains?|containing|namely)\s+",
    re.IGNORECASE,
)
# A finite verb inside an item means the "enumeration" is really a clause.
_CLAUSE_WORD = re.compile(
    r"\b(?:is|are|was|were|be|been|should|can|could|may|might|will|would|must|has|have|"
    r"had|do|does|did)\b",
    re.IGNORECASE,
)
_PAREN = re.compile(r"\s*\([^()]*\)")
_SENTENCE = re.compile(r"[^\s].*?(?:[.!?;](?=\s|$)|$)")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+(.*)$")
_MAX_ITEM_WORDS = 8


@dataclass(frozen=True, slots=True)
class FactRecall:
    """Which key facts of a reference an answer contains.

    ``recall`` is ``len(found) / (len(found) + len(missing))``, or ``None`` when the
    reference has no key facts (exclude such items from averages; see ``mean_defined``).
    """

    found: list[str]
    missing: list[str]
    recall: float | None


def _clean(text: str) -> str:
    # NFKC turns ™ into "TM"; ® marks a brand just as well.
    text = unicodedata.normalize("NFKC", text.replace("™", "®"))
    text = _THOUSANDS.sub("", _DASHES.sub("-", text))
    return text.replace("**", "").replace("__", "").replace("`", "")


def _key(fact: str) -> tuple[str, ...]:
    """What a fact is compared by: its content tokens."""
    return tuple(_content(tokens(fact)))


def _enumeration_items(sentence: str) -> list[str]:
    """Items of a comma/and/or enumeration in one sentence, or ``[]`` when it is none.

    A sentence is an enumeration when its comma-separated parts end in an ``and``/``or``
    part and every item is short (a noun phrase, not a clause).
    """
    text = _PAREN.sub(" ", sentence).strip().rstrip(".!?;:")
    if ":" in text:
        text = text.rsplit(":", 1)[1]
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2:
        return []
    last = parts[-1]
    tail = re.split(r"\s+(?:and|or)\s+|^(?:and|or)\s+", last)
    if len(tail) < 2:
        return []
    items = parts[:-1] + [t for t in tail if t.strip()]
    if len(items) < 3:
        return []
    first = _LEAD_IN.sub("", items[0]) if len(items[0].split()) > 1 else items[0]
    items[0] = first
    cleaned: list[str] = []
    for item in items:
        item = re.sub(r"^(?:and|or|the|a|an)\s+", "", item.strip(), flags=re.IGNORECASE)
        item = item.strip(" .;:-")
        if len(item.split()) > _MAX_ITEM_WORDS or _CLAUSE_WORD.search(item):
            return []
        # Quantities are facts of their own; "take 4 mg, then 2 mg" is not a noun list.
        if _key(item) and not _QUANTITY.search(item):
            cleaned.append(item)
    return cleaned if len(cleaned) >= 3 else []


def _list_items(text: str) -> list[tuple[int, str]]:
    """Enumeration items and short bullet items, with their offsets."""
    out: list[tuple[int, str]] = []
    for line_match in re.finditer(r"[^\n]+", text):
        line, offset = line_match.group(0), line_match.start()
        bullet = _BULLET.match(line)
        if bullet:
            line, offset = bullet.group(1), offset + bullet.start(1)
            item = _PAREN.sub(" ", line).strip(" .;")
            # A short bullet is an item unless it is a "Label: value" line, an
            # enumeration of its own, or a clause.
            if (
                item
                and ":" not in item
                and len(item.split()) <= _MAX_ITEM_WORDS
                and not _CLAUSE_WORD.search(item)
                and not _enumeration_items(item)
            ):
                out.append((offset, item))
                continue
        for sentence in _SENTENCE.finditer(line):
            out += [(offset + sentence.start(), i) for i in _enumeration_items(sentence.group(0))]
    return out


def key_facts(
    reference: str,
    vocabulary: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> list[str]:
    """Key facts of a reference answer, in order of appearance, without duplicates.

    Facts are:

    - quantities with units: ``4 mg``, ``28-day cycle``, ``73%``, ``every 4 weeks``,
      ``2 to 3 hours``;
    - schedules: ``days 1-21``, ``days 1, 8, 15, and 22``;
    - names: enzyme/gene codes with digits (``CYP1A2``), upper-case abbreviations
      (``INR``, ``CBC``), ``P-gp``-style names, words ending in a WHO INN stem
      (``warfarin``, ``ciprofloxacin``), names marked ® or ™, and any term of
      ``vocabulary`` (known drug names and aliases, matched case-insensitively);
    - list items: the noun phrases of an enumeration (``A, B, and C``) and short bullets.

    Facts whose content tokens equal those of an ``ignore`` term (e.g. the drug the
    question is about, which every answer names) are left out.
    """
    text = _clean(reference)
    found: list[tuple[int, str]] = []
    for pattern in (_QUANTITY, _SCHEDULE, _HYPHEN_NAME):
        found += [(m.start(), m.group(0).strip()) for m in pattern.finditer(text)]
    # Short words with a drug-like ending are mostly ordinary English ("amide", "tide").
    found += [
        (m.start(), m.group(0))
        for m in _INN_WORD.finditer(text)
        if len(m.group(0)) >= _MIN_INN_LETTERS
    ]
    # Two-character codes (E3, Q1) are labels more often than names.
    found += [(m.start(), m.group(0)) for m in _CODE.finditer(text) if len(m.group(0)) >= 3]
    found += [(m.start(), m.group(1)) for m in _BRAND.finditer(text)]
    found += [
        (m.start(), m.group(1))
        for m in _ACRONYM.finditer(text)
        if m.group(1) not in _ACRONYM_STOP
        and not _UNIT.fullmatch(m.group(1))
        and not _shouting(text, m.start())
    ]
    for term in vocabulary:
        term = term.replace("®", "").replace("™", "").strip()
        if not term:
            continue
        pattern = r"(?<![\w-])" + r"\s+".join(map(re.escape, term.split())) + r"(?![\w-])"
        found += [(m.start(), m.group(0)) for m in re.finditer(pattern, text, re.IGNORECASE)]
    found += _list_items(text)

    ignored = {_key(term) for term in ignore}
    seen: set[tuple[str, ...]] = set()
    out: list[str] = []
    for _, fact in sorted(found, key=lambda item: item[0]):
        fact = " ".join(fact.split())
        key = _key(fact)
        if not key or key in seen or key in ignored:
            continue
        seen.add(key)
        out.append(fact)
    return out


def _shouting(text: str, at: int) -> bool:
    """Whether the word at ``at`` sits in an all-caps stretch (emphasis, not an abbreviation)."""
    window = text[max(0, at - 30) : at + 30]
    letters = [c for c in window if c.isalpha()]
    return len(letters) > 20 and sum(c.isupper() for c in letters) / len(letters) > 0.8


def _same(a: str, b: str) -> bool:
    # A plural "s" the stemmer keeps ("SSRIs" -> "ssris", since "-is" words are often
    # singular, like "analysis") still matches its singular.
    return a == b or a + "s" == b or b + "s" == a


def _occurs(needle: Sequence[str], haystack: Sequence[str], slack: int) -> bool:
    """Whether ``needle`` occurs in order in ``haystack`` within ``len(needle) + slack`` tokens."""
    if not needle:
        return False
    span = len(needle) + slack
    for start, tok in enumerate(haystack):
        if not _same(tok, needle[0]):
            continue
        j = 1
        for pos in range(start + 1, min(len(haystack), start + span)):
            if j == len(needle):
                break
            if _same(haystack[pos], needle[j]):
                j += 1
        if j == len(needle):
            return True
    return False


def _haystacks(answer: str) -> tuple[list[str], list[str]]:
    # List items are taken with parenthetical remarks removed, so the answer is also
    # searched without them: "pain (in the belly), nausea" states "pain, nausea".
    return (
        _content(tokens(_clean(answer))),
        _content(tokens(_clean(_PAREN.sub(" ", answer)))),
    )


def _stated(fact: str, haystacks: tuple[list[str], list[str]]) -> bool:
    needle = _key(fact)
    numeric = any(ch.isdigit() for tok in needle for ch in tok)
    # Numbers must appear exactly as in the reference ("4 mg", not "4 ... mg"); a phrase
    # may have a word or two inserted ("severe and sometimes fatal liver injury").
    slack = 0 if numeric or len(needle) <= 2 else 2
    return any(_occurs(needle, haystack, slack) for haystack in haystacks)


def fact_in(fact: str, answer: str) -> bool:
    """Whether ``answer`` states ``fact`` (normalised; see ``key_fact_recall``)."""
    return _stated(fact, _haystacks(answer))


def facts_in(facts: Sequence[str], answer: str) -> list[bool]:
    """``fact_in`` for many facts against one text (the text is tokenised once)."""
    haystacks = _haystacks(answer)
    return [_stated(f, haystacks) for f in facts]


def key_fact_recall(
    answer: str,
    reference: str,
    vocabulary: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> FactRecall:
    """Share of the reference's key facts (``key_facts``) that the answer states.

    Matching ignores case, unicode dash variants, whitespace, markdown emphasis,
    parenthetical remarks and function words; treats ``1-21``, ``1–21`` and ``1 to 21``
    alike and ``28-day`` like ``28 day``; and strips plural endings (``weeks`` = ``week``).
    Facts with numbers must appear contiguously; longer phrases may have up to two extra
    words inserted. ``recall`` is ``None`` when the reference has no key facts.
    """
    facts = key_facts(reference, vocabulary=vocabulary, ignore=ignore)
    haystacks = _haystacks(answer)
    found = [f for f in facts if _stated(f, haystacks)]
    missing = [f for f in facts if f not in found]
    recall = len(found) / len(facts) if facts else None
    return FactRecall(found=found, missing=missing, recall=recall)


# ---------------------------------------------------------------------------
# Answer overlap
# ---------------------------------------------------------------------------


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style token F1 over normalised, stemmed tokens with articles removed.

    1.0 when both texts have no tokens, 0.0 when only one has none.
    """
    a = [t for t in tokens(answer) if t not in _ARTICLES]
    r = [t for t in tokens(reference) if t not in _ARTICLES]
    if not a and not r:
        return 1.0
    if not a or not r:
        return 0.0
    common = sum((Counter(a) & Counter(r)).values())
    if common == 0:
        return 0.0
    precision = common / len(a)
    recall = common / len(r)
    return 2 * precision * recall / (precision + recall)


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F-measure (β = 1): longest common token subsequence over both lengths.

    Tokens as in ``tokens`` (normalised, stemmed, nothing removed). 1.0 when both texts
    have no tokens, 0.0 when only one has none.
    """
    a = tokens(answer)
    r = tokens(reference)
    if not a and not r:
        return 1.0
    if not a or not r:
        return 0.0
    lcs = _lcs_length(a, r)
    if lcs == 0:
        return 0.0
    precision = lcs / len(a)
    recall = lcs / len(r)
    return 2 * precision * recall / (precision + recall)


EmbedFn = Callable[[Sequence[str]], Any]
"""Maps texts to a (n, d) array of vectors, e.g. ``monorag.embed.Embedder.embed``."""


def embedding_similarity(a: str, b: str, embed_fn: EmbedFn) -> float:
    """Cosine similarity of the embeddings of ``a`` and ``b`` (vectors normalised here).

    0.0 when either vector is all zeros.
    """
    vectors = np.asarray(embed_fn([a, b]), dtype=np.float64)
    if vectors.shape[0] != 2:
        raise ValueError(f"embed_fn returned {vectors.shape[0]} vectors for 2 texts")
    na = float(np.linalg.norm(vectors[0]))
    nb = float(np.linalg.norm(vectors[1]))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(vectors[0], vectors[1]) / (na * nb))


def sentence_coverage(
    answer: str, reference: str, embed_fn: EmbedFn, threshold: float = 0.6
) -> float | None:
    """Share of the reference's sentences that some sentence of the answer restates.

    Sentences and list items are cut as the engine cuts units
    (``ingest.chunk.unit_texts``); a reference sentence is covered when its cosine
    similarity to an answer sentence reaches ``threshold`` (0.6: paraphrase level for
    all-MiniLM-L6-v2). Unlike ``embedding_similarity`` of whole texts, a correct answer
    to one part of a two-part reference is not diluted by the other part. ``None`` when
    the reference has no sentences; 0.0 when the answer has none.
    """
    ref_units = unit_texts(reference)
    if not ref_units:
        return None
    answer_units = unit_texts(answer)
    if not answer_units:
        return 0.0
    vectors = np.asarray(embed_fn([*ref_units, *answer_units]), dtype=np.float64)
    if vectors.shape[0] != len(ref_units) + len(answer_units):
        raise ValueError("embed_fn returned the wrong number of vectors")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    vectors = vectors / norms
    sims = vectors[: len(ref_units)] @ vectors[len(ref_units) :].T
    return float(np.mean(sims.max(axis=1) >= threshold))


# ---------------------------------------------------------------------------
# Retrieval and citations
# ---------------------------------------------------------------------------


def _path(section: str) -> tuple[str, ...]:
    parts = section.replace(">", "›").split("›")
    return tuple(
        p for p in (" ".join(_clean(part).split()).strip(" :").casefold() for part in parts) if p
    )


def section_matches(section: str, gold: str) -> bool:
    """Whether ``section`` is the gold section or one of its sub-sections.

    Path components are compared case-insensitively without trailing colons; ``›`` and
    ``>`` both separate components.
    """
    s, g = _path(section), _path(gold)
    return bool(g) and s[: len(g)] == g


def _matches_any(section: str, gold: Iterable[str]) -> bool:
    return any(section_matches(section, g) for g in gold)


def hit_at_k(retrieved_sections: Sequence[str], gold: Iterable[str], k: int) -> float | None:
    """1.0 when one of the first ``k`` retrieved sections matches a gold section, else 0.0.

    ``None`` when there is no gold section (an unanswerable question).
    """
    gold = list(gold)
    if not gold:
        return None
    if k < 1:
        raise ValueError("k must be at least 1")
    return 1.0 if any(_matches_any(s, gold) for s in retrieved_sections[:k]) else 0.0


def reciprocal_rank(
    retrieved_sections: Sequence[str], gold: Iterable[str], k: int | None = None
) -> float | None:
    """1 / rank of the first retrieved section matching a gold section (0.0 if none).

    Only the first ``k`` are looked at when ``k`` is given. ``None`` without gold sections.
    """
    gold = list(gold)
    if not gold:
        return None
    ranked = retrieved_sections if k is None else retrieved_sections[:k]
    for rank, section in enumerate(ranked, start=1):
        if _matches_any(section, gold):
            return 1.0 / rank
    return 0.0


def citation_precision(
    cited_sections: Sequence[str],
    gold_sections: Iterable[str],
    supported: set[str] | None = None,
) -> float | None:
    """Share of citations that point at a gold section or at a section known to support the answer.

    ``supported`` lists further sections accepted as correct (e.g. sections whose text
    contains the reference's key facts; monographs repeat facts across sections). Both use
    the prefix rule of ``section_matches``. ``None`` when nothing is cited.
    """
    if not cited_sections:
        return None
    accepted = [*gold_sections, *(supported or ())]
    good = sum(1 for c in cited_sections if _matches_any(c, accepted))
    return good / len(cited_sections)


class AbstentionResult(Protocol):
    """What ``abstention_accuracy`` needs of a result."""

    @property
    def should_abstain(self) -> bool:
        """The question is unanswerable from the corpus."""
        ...

    @property
    def abstained(self) -> bool:
        """The system declined to answer."""
        ...


@dataclass(frozen=True, slots=True)
class AbstentionScore:
    """How well a system knew when not to answer.

    ``accuracy`` is the share of items where abstaining matched ``should_abstain``
    (``None`` for no items). ``false_abstentions`` abstained on an answerable question;
    ``missed_abstentions`` answered an unanswerable one.
    """

    n: int
    correct: int
    false_abstentions: int
    missed_abstentions: int
    accuracy: float | None


def abstention_accuracy(
    results: Iterable[AbstentionResult | tuple[bool, bool]],
) -> AbstentionScore:
    """Score abstention over results given as ``(should_abstain, abstained)`` pairs or objects."""
    n = correct = false_abst = missed = 0
    for result in results:
        if isinstance(result, tuple):
            should, did = bool(result[0]), bool(result[1])
        else:
            should, did = bool(result.should_abstain), bool(result.abstained)
        n += 1
        if should == did:
            correct += 1
        elif did:
            false_abst += 1
        else:
            missed += 1
    return AbstentionScore(
        n=n,
        correct=correct,
        false_abstentions=false_abst,
        missed_abstentions=missed,
        accuracy=correct / n if n else None,
    )


def mean_defined(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not ``None`` (or NaN); ``None`` when there are none."""
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return sum(kept) / len(kept) if kept else None
