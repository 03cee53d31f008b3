"""Recognise the drug(s) a question names: by title, INN or brand alias, case-insensitively
and tolerant of small misspellings; and notice drug names that have no monograph here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

from monorag.index.store import FileEntry
from monorag.text import fold

_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
_MAX_WORDS = 4
# INN stems that almost only occur in drug names (WHO stem book), for spotting a drug
# that is not in the store when it is not in the bundled list either.
_DRUG_STEM = re.compile(
    r"(?:mab|tinib|ciclib|parib|rafenib|lisib|zomib|pril|sartan|olol|statin|prazole|"
    r"conazole|cillin|mycin|floxacin|oxacin|cycline|navir|tegravir|previr|buvir|asvir|ciclovir|"
    r"gliptin|gliflozin|glitazone|dipine|afil|triptan|setron|lukast|tidine|parin|xaban|gatran|"
    r"semide|thiazide|olone|oxetine|pramine|azepam|azolam|barbital|profen|coxib|dronate|platin|"
    r"rubicin|taxel|lutamide|glutide|lidomide|cept|kinra|fungin|penem|cef\w+)$"
)


# Endings of many drug names; used only for words that are neither in the corpus nor a
# whole word of the embedding model's vocabulary (which holds common English words).
_DRUG_ENDING = re.compile(
    r"(?:ide|ine|ol|one|ate|am|an|il|in|ex|ax|ix|ox|yl|ium|zole|fen|pine|done|rone|ast|ib)$"
)


@dataclass(frozen=True, slots=True)
class DrugMatch:
    """A monograph named in a question."""

    title: str
    docs: tuple[str, ...]
    said: str
    """The words of the question that named it."""
    exact: bool


@dataclass(slots=True)
class DrugLookup:
    """What a question names: monographs in the store, and drug names absent from it."""

    matches: list[DrugMatch] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def docs(self) -> list[str]:
        """Store keys of every matched monograph."""
        return sorted({d for m in self.matches for d in m.docs})

    @property
    def titles(self) -> list[str]:
        """Titles of the matched monographs, in the order the question names them."""
        return list(dict.fromkeys(m.title for m in self.matches))


@cache
def known_drug_names() -> frozenset[str]:
    """The bundled list of common drug names (for out-of-store detection only)."""
    text = (Path(__file__).parent / "data" / "drug_names.txt").read_text(encoding="utf-8")
    return frozenset(
        w for line in text.splitlines() if not line.startswith("#") for w in line.lower().split()
    )


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (apostrophes and hyphens kept inside words)."""
    return _WORD.findall(text.lower().replace("®", " ").replace("™", " "))


class DrugIndex:
    """Aliases of every monograph in the store, for lookup in questions."""

    def __init__(
        self,
        files: Iterable[FileEntry],
        common_words: Collection[str] = (),
        fuzzy_cutoff: float = 0.84,
        english: Collection[str] = (),
    ) -> None:
        """Index ``files``' titles and aliases.

        ``common_words`` are the corpus's own words (never taken for a misspelt alias);
        ``english`` is a vocabulary of ordinary words (the embedding model's whole-word
        pieces), used to tell an unknown drug name from an ordinary word.
        """
        self._by_phrase: dict[tuple[str, ...], set[str]] = defaultdict(set)
        self._title_of: dict[str, str] = {}
        for entry in files:
            self._title_of[entry.key] = entry.title
            for alias in [entry.title, *entry.aliases.split("|")]:
                phrase = tuple(words(alias))
                if phrase and len(phrase) <= _MAX_WORDS:
                    self._by_phrase[phrase].add(entry.key)
        self._single: dict[str, list[str]] = defaultdict(list)
        for phrase in self._by_phrase:
            if len(phrase) == 1 and len(phrase[0]) >= 5:
                self._single[phrase[0][0]].append(phrase[0])
        self._common = frozenset(common_words) - {p[0] for p in self._by_phrase if len(p) == 1}
        self.cutoff = fuzzy_cutoff
        self._english = frozenset(english)

    @property
    def titles(self) -> list[str]:
        """Every monograph title in the store, sorted."""
        return sorted(set(self._title_of.values()), key=str.lower)

    def title_of(self, doc: str) -> str:
        """Title of the monograph stored under ``doc``."""
        return self._title_of.get(doc, doc)

    def find(self, text: str) -> DrugLookup:
        """Monographs named in ``text`` and drug-like names that match none."""
        tokens = words(text)
        lookup = DrugLookup()
        used = [False] * len(tokens)
        found: dict[str, DrugMatch] = {}
        for size in range(_MAX_WORDS, 0, -1):
            for i in range(len(tokens) - size + 1):
                if any(used[i : i + size]):
                    continue
                docs = self._by_phrase.get(tuple(tokens[i : i + size]))
                if docs:
                    for i_ in range(i, i + size):
                        used[i_] = True
                    self._add(found, docs, " ".join(tokens[i : i + size]), exact=True)
        for i, token in enumerate(tokens):
            if used[i] or len(token) < 5 or token.isdigit():
                continue
            # A word of the corpus text (an interacting drug, say) is not a misspelt alias.
            best = None if fold(token) in self._common else self._closest(token)
            if best is not None:
                used[i] = True
                self._add(found, self._by_phrase[(best,)], token, exact=False)
            elif self._looks_like_drug(token):
                lookup.unknown.append(token)
        lookup.matches = list(found.values())
        return lookup

    def resolve(self, name: str) -> DrugLookup:
        """Look up a drug given on its own (a filter), exactly or by misspelling."""
        lookup = self.find(name)
        if not lookup.matches and not lookup.unknown and words(name):
            lookup.unknown.append(" ".join(words(name)))
        return lookup

    def _looks_like_drug(self, token: str) -> bool:
        if token in known_drug_names() or _DRUG_STEM.search(token):
            return True
        unfamiliar = (
            bool(self._english)
            and token.isalpha()
            and len(token) >= 6
            and fold(token) not in self._common
            and token not in self._english
        )
        return unfamiliar and bool(_DRUG_ENDING.search(token))

    def _closest(self, token: str) -> str | None:
        best, best_ratio = None, self.cutoff
        for alias in self._single.get(token[0], ()):
            if abs(len(alias) - len(token)) > 2:
                continue
            matcher = SequenceMatcher(None, token, alias, autojunk=False)
            if matcher.real_quick_ratio() < best_ratio or matcher.quick_ratio() < best_ratio:
                continue
            ratio = matcher.ratio()
            if ratio >= best_ratio:
                best, best_ratio = alias, ratio
        return best

    def _add(self, found: dict[str, DrugMatch], docs: set[str], said: str, exact: bool) -> None:
        by_title: dict[str, list[str]] = defaultdict(list)
        for doc in docs:
            by_title[self._title_of[doc]].append(doc)
        for title, title_docs in by_title.items():
            if title not in found:
                found[title] = DrugMatch(title, tuple(sorted(title_docs)), said, exact)
