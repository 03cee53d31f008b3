"""Drug classes as the monographs state them: under which class the corpus lists a drug.

A question may name a drug that the monographs asked about never name, while they name its
class: "pt on xtandi started on quetiapine" where the Xtandi leaflet warns about
"antipsychotics", a new beta-blocker beside an insulin whose leaflet says "beta-blockers
may mask the warning symptoms of low blood sugar". Answering "the monograph does not
mention quetiapine" hides an interaction it states. The drug dictionary
(``monorag.lexicon``) links names to MeSH and DrugBank ids, not to classes, and no
vocabulary of pharmacological classes ships in the registries. Two sources remain: the
WHO's INN stems (``STEMS``: "-olol" names a beta-blocker), for the stems that name one
class; and the monographs themselves, which say which drugs a class holds wherever they
give examples of one:

- a class followed by its examples in brackets: "antipsychotics (e.g. haloperidol,
  quetiapine)", "medicines used to treat heart rhythm problems (quinidine, amiodarone)";
- a class followed by "such as", "e.g.", "including", "like": "NSAIDs such as ibuprofen";
- a drug followed by its class: "moxifloxacin (an antibiotic)".

Words before examples are not always a class: "medicines for bacterial infections (e.g.
...)" ends in a condition, "tests of pulmonary function (...)" in a test. Grammar keeps
out clauses (what follows a preposition or "that"); the embedding model tells a class of
medicines from a condition or a part of the body: a phrase is a class when it is closer
to ``KINDS[0]`` than to the others (an argmax between three descriptions, no threshold).

``DrugClasses.named_in(name, docs)`` reads those statements in every monograph that names
the drug and returns the classes that the monographs asked about also name, spelt as they
spell them: the statements naming them are what the question asks about. Nothing here
names a drug, and no class but the stems' own: the knowledge grows with the corpus (a
class no monograph lists the drug under and no stem gives is not found, and the question
is refused as before).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection

import numpy as np

from monorag.text import fold

_I = re.IGNORECASE
_WORD = r"[A-Za-z][A-Za-z0-9'’-]*"
_INTRO = (
    r"(?:e\.\s?g\.?,?|eg,?|such as|for example,?|for instance,?|including|includes|like|"
    r"incl\.?|i\.\s?e\.?,?|namely)"
)
_EXAMPLES = re.compile(
    rf"((?:{_WORD}\s+){{0,5}}{_WORD})\s*[(\[]\s*(?:{_INTRO}\s+)?([^()\[\]]{{2,300}})[)\]]", _I
)
"""A class and its examples in brackets: "beta-blockers (e.g. atenolol, bisoprolol)"."""
_SUCH_AS = re.compile(rf"((?:{_WORD}\s+){{0,5}}{_WORD}),?\s+{_INTRO}\s+([^.;:()\[\]]{{2,300}})", _I)
"""A class and its examples after "such as": "NSAIDs such as ibuprofen or naproxen"."""
_IS_A = re.compile(rf"([A-Za-z][\w-]*)\s*\(\s*an?\s+((?:{_WORD}\s+){{0,3}}{_WORD})\s*\)", _I)
"""A drug and its class: "moxifloxacin (an antibiotic)"."""

_BOUNDARY = frozenset(
    """with and or if taking take takes took using use uses are is was were you your than as
    when while also be been being not no nor who which that this these those on by from
    called named known including includes like""".split()
)
"""Words at which a class's name is cut, reading back from its examples ("if you take
beta-blockers (e.g. ...)": the class is "beta-blockers")."""
_PREPOSITIONS = frozenset(
    "of for to in into at about against after before during that which who whose".split()
)
"""Words after which what precedes the examples is a condition or a clause, not a class
("medicines for bacterial infections (e.g. ...)", "medicines that contain ...")."""
_LEADING = frozenset("a an the other some certain any all such another both example".split())
_GENERIC = frozenset(
    """medicine medicines medication medications drug drugs product products agent agents
    substance substances treatment treatments therapy therapies preparation preparations
    example examples inhibitors inducers blockers antagonists agonists analogues derivatives
    substrates""".split()
)
"""Words that name no class alone ("other medicines (such as ...)", "inhibitors" cut from
"CYP3A4 inhibitors")."""
MAX_WORDS = 4
"""A class is named in at most this many words ("non-steroidal anti-inflammatory drugs");
more is a clause, not a name."""
SOURCES = 60
"""Passages naming the drug read for its classes (the most relevant by BM25 first)."""
KINDS = ("a class of medicines", "a disease or medical condition", "a part of the body or a test")
"""What the words before a list of examples may name; only the first is a class."""
MAX_CLASSES = 3
"""At most this many classes are reported for one drug, the most specific first."""


STEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("olol", ("beta-blockers", "beta blocking agents")),
    ("alol", ("beta-blockers", "beta blocking agents")),
    ("dilol", ("beta-blockers", "beta blocking agents")),
    ("pril", ("ACE inhibitors", "angiotensin converting enzyme inhibitors")),
    ("sartan", ("angiotensin II receptor blockers", "angiotensin receptor blockers")),
    ("vastatin", ("statins", "HMG-CoA reductase inhibitors")),
    ("prazole", ("proton pump inhibitors",)),
    ("tidine", ("H2 antagonists", "H2-receptor antagonists", "H2 blockers")),
    ("conazole", ("azole antifungals", "antifungals", "antifungal medicines")),
    ("floxacin", ("fluoroquinolones", "quinolones")),
    ("nidazole", ("nitroimidazoles",)),
    ("cillin", ("penicillins",)),
    ("dipine", ("calcium channel blockers",)),
    ("gliptin", ("DPP-4 inhibitors",)),
    ("gliflozin", ("SGLT2 inhibitors",)),
    ("parin", ("heparins",)),
    ("xaban", ("factor Xa inhibitors", "anticoagulants")),
    ("gatran", ("thrombin inhibitors", "anticoagulants")),
    ("triptan", ("triptans",)),
    ("setron", ("5-HT3 antagonists",)),
    ("peridone", ("antipsychotics", "antipsychotic medicines")),
    ("piprazole", ("antipsychotics", "antipsychotic medicines")),
    ("azepam", ("benzodiazepines",)),
    ("azolam", ("benzodiazepines",)),
    ("coxib", ("COX-2 inhibitors", "non-steroidal anti-inflammatory drugs", "NSAIDs")),
    ("profen", ("non-steroidal anti-inflammatory drugs", "NSAIDs")),
    ("reotide", ("somatostatin analogues",)),
    ("nitrate", ("nitrates",)),
    ("dronate", ("bisphosphonates",)),
    ("lukast", ("leukotriene receptor antagonists",)),
    ("triptyline", ("tricyclic antidepressants",)),
    ("barbital", ("barbiturates",)),
)
"""The class an INN's stem gives it, by the WHO's "The use of stems in the selection of
International Nonproprietary Names" (WHO/EMP/RHT/TSN/2018.1): "-olol" is a beta-blocker
("bisoprolol"), "-prazole" a proton pump inhibitor. Only stems whose every INN is of one
class, and each class spelt as leaflets and labels name it (``class_pattern`` reads their
variants). A name is stemmed only when it is longer than its stem by three letters. This
is pharmacology's own naming convention, not a list of drugs: a drug no monograph lists
under a class still has its class."""
MIN_ROOT = 3
"""Letters an INN has before its stem ("bisopr-olol"): a shorter word is no INN of it."""


def stem_classes(name: str) -> list[str]:
    """The classes the INN stems of ``name``'s words give it (``STEMS``), e.g.
    "bisoprolol" -> ["beta-blockers", "beta blocking agents"]."""
    out: list[str] = []
    for word in re.findall(r"[a-z]+", name.lower()):
        for stem, classes in STEMS:
            if word.endswith(stem) and len(word) >= len(stem) + MIN_ROOT:
                out.extend(c for c in classes if c not in out)
    return out


_HEADS = frozenset(fold(w) for w in "medicine medication drug agent".split())
"""Head nouns a class is named with interchangeably ("anti-inflammatory agents",
"anti-inflammatory medicines")."""
_PREFIX = re.compile(r"^(non|anti)-?(?=[a-z]{4})", _I)
"""Prefixes written with or without a hyphen ("nonsteroidal", "non-steroidal")."""


def class_pattern(phrase: str) -> re.Pattern[str]:
    """How a class is matched in another monograph: each word by its folded stem with a
    short ending ("antipsychotics" matches "antipsychotic medicines"), a hyphen optional
    ("beta-blockers", "beta blockers", "nonsteroidal", "non-steroidal"), the last word of
    two or more matching any head noun too (``_HEADS``: "potassium-sparing diuretics" in
    "potassium-sparing medicines"), and a last word that is a head noun optional
    where the word before it is in the plural ("antipsychotic drugs" is "antipsychotics",
    never the adjective alone: "an antipsychotic effect")."""
    words = []
    split = phrase.split()
    heads = "|".join(sorted(_HEADS))
    tail = ""
    for n, word in enumerate(split):
        last = n == len(split) - 1 and n > 0
        if last and fold(word.lower()) in _HEADS:
            tail = rf"(?:[-\s]+(?:{heads})\w{{0,4}}|(?<=s))"
            break
        word = _PREFIX.sub(r"\1-", word)
        pieces = [fold(p.lower()) for p in re.split(r"[-'’]", word) if p]
        spelt = r"[-\s]?".join(re.escape(p) for p in pieces)
        # "Potassium-sparing medicines" names every potassium-sparing diuretic: what a
        # monograph says of the wider class is said of the narrower.
        words.append(f"(?:{spelt}|{heads})" if last else spelt)
    return re.compile(r"\b" + r"\w{0,4}[-\s]+".join(words) + r"\w{0,4}" + tail + r"\b", _I)


def _among_kinds(text: str, at: int) -> bool:
    """Whether position ``at`` is inside brackets of examples ("medicines that reduce
    stomach acid (e.g. proton pump inhibitor, H2 antagonists)"): a class named there in
    the singular still names the kind, not one drug."""
    before = text[:at]
    opened = max(before.rfind("("), before.rfind("["))
    if opened < 0 or max(before.rfind(")"), before.rfind("]")) > opened:
        return False
    return bool(re.match(rf"[(\[]\s*{_INTRO}\s", text[opened:at] + " ", _I))


def _plural(phrase: str) -> bool:
    last = phrase.split()[-1]
    return last.endswith("s") and not last.endswith(("ss", "us", "is"))


class DrugClasses:
    """Which classes the corpus lists a drug under, and which of them a monograph names."""

    def __init__(
        self,
        passages_naming: Callable[[str, Collection[str] | None, int | None], list[str]],
        is_drug: Callable[[str], bool],
        embed: Callable[[list[str]], np.ndarray],
    ) -> None:
        """``passages_naming(words, docs, limit)``: the text of the passages of ``docs``
        (None: every monograph) that contain every one of ``words``, the most relevant
        first, at most ``limit`` (None: all); ``is_drug(word)``: whether
        a word names a drug (a drug is not a class); ``embed(texts)``: unit vectors of
        texts (see ``KINDS``)."""
        self._passages = passages_naming
        self._is_drug = is_drug
        self._embed = embed
        self._kinds: np.ndarray | None = None
        self._is_class: dict[str, bool] = {}

    def of(self, name: str) -> list[str]:
        """The classes under which the corpus lists ``name``, the most often stated first."""
        member = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", _I)
        found: Counter[str] = Counter()
        for text in self._passages(name, None, SOURCES):
            for line in text.splitlines():
                if not member.search(line):
                    continue
                for rx in (_EXAMPLES, _SUCH_AS):
                    for m in rx.finditer(line):
                        phrase = self._phrase(m.group(1))
                        # A class with examples is named in the plural ("antipsychotics
                        # (e.g. ...)"); a singular before a bracket is something else: a
                        # condition, a clause ("pain and inflammation (NSAIDs ...)").
                        if phrase and _plural(phrase) and member.search(m.group(2)):
                            found[phrase] += 1
                for m in _IS_A.finditer(line):
                    if member.fullmatch(m.group(1)) and (phrase := self._phrase(m.group(2))):
                        found[phrase] += 1
        return [p for p, _ in found.most_common() if self._class(p)]

    def _class(self, phrase: str) -> bool:
        """Whether ``phrase`` names a class of medicines rather than a condition or a part
        of the body (``KINDS``); remembered, since a corpus has few such phrases."""
        if phrase not in self._is_class:
            if self._kinds is None:
                self._kinds = np.asarray(self._embed(list(KINDS)))
            vector = np.asarray(self._embed([phrase]))[0]
            self._is_class[phrase] = int(np.argmax(self._kinds @ vector)) == 0
        return self._is_class[phrase]

    def named_in(self, name: str, docs: Collection[str]) -> list[str]:
        """The classes of ``name`` (``of``, then its INN stem's: ``stem_classes``) that
        ``docs`` name as a class, spelt as they spell them, the most specific (longest)
        first."""
        spelt: dict[str, None] = {}
        for phrase in dict.fromkeys([*self.of(name), *stem_classes(name)]):
            words = self._as_class(class_pattern(phrase), phrase, docs)
            if words and words.lower() not in {s.lower() for s in spelt}:
                spelt[words] = None
        return sorted(spelt, key=lambda s: -len(s.split()))[:MAX_CLASSES]

    def _as_class(self, pattern: re.Pattern[str], phrase: str, docs: Collection[str]) -> str:
        """The words of ``docs`` naming the class ``pattern`` matches, where they name the
        class itself: in the plural ("antipsychotics may ..."), not as what one listed drug
        is ("nefazodone (an antidepressant)", "ketoconazole, itraconazole (antifungals)"):
        what a monograph says of one antidepressant it names is not said of all of them."""
        split = phrase.split()
        if len(split) > 1:
            split = split[:-1]  # a head noun may name it there (``class_pattern``)
        for text in self._passages(" ".join(split).replace("-", " "), docs, None):
            for m in pattern.finditer(text):
                words = " ".join(m.group(0).split())
                kind = _plural(words) or _among_kinds(text, m.start())
                if kind and not self._describes_a_drug(text, m.start()):
                    return words
        return ""

    def _describes_a_drug(self, text: str, at: int) -> bool:
        """Whether position ``at`` is inside brackets that follow a drug's name."""
        before = text[:at]
        opened = max(before.rfind("("), before.rfind("["))
        if opened < 0 or max(before.rfind(")"), before.rfind("]")) > opened:
            return False
        ahead = re.findall(r"[A-Za-z][\w-]*", before[:opened])
        return bool(ahead) and self._is_drug(ahead[-1].lower())

    def _phrase(self, raw: str) -> str | None:
        """The class named by the words before a list of examples, or None when they name
        none (a clause, a generic "other medicines", a drug)."""
        words = raw.split()
        for i in range(len(words) - 1, -1, -1):
            if words[i].lower() in _PREPOSITIONS:
                return None
            if words[i].lower() in _BOUNDARY:
                words = words[i + 1 :]
                break
        while words and words[0].lower() in _LEADING:
            words = words[1:]
        if not words or len(words) > MAX_WORDS:
            return None
        low = [w.lower().strip("'’-") for w in words]
        if all(w in _GENERIC for w in low):
            return None
        if any(w not in _GENERIC and self._is_drug(w) for w in low):
            return None
        return " ".join(low)
