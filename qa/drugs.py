"""Recognise the drug(s) a question names: by title, INN or brand alias, case-insensitively
and tolerant of small misspellings (rapidfuzz); and notice drug names that have no monograph
here, judged by a real drug vocabulary (``monorag.lexicon``), never by word endings or by
absence from the corpus.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import permutations

from rapidfuzz import fuzz, process

from monorag.index.store import FileEntry
from monorag.lexicon import DrugLexicon
from monorag.text import fold

_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
_SLASHED = re.compile(r"(?<![\w/])[a-z]{3,}(?:/[a-z]{3,}){1,3}(?![\w/])")
"""Two to four words of letters joined by slashes ("elexa/teza/iva", "bud/form")."""
_MAX_WORDS = 4
_CLASS_NOUNS = frozenset(
    fold(w)
    for w in """blocker antagonist agonist analogue analog inhibitor inducer receptor
    derivative substrate reuptake""".split()
)
"""Words after a drug's name that make it a class or a target ("a dopamine blocker", "a
somatostatin analogue", "a CYP3A4 inducer"), not a drug the question is asking about.
Compared folded (``monorag.text.fold``): "blockers" is "blocker"."""


@dataclass(frozen=True, slots=True)
class DrugMatch:
    """A monograph named in a question."""

    title: str
    docs: tuple[str, ...]
    said: str
    """The words of the question that named it."""
    exact: bool
    alias: str = ""
    """The alias or vocabulary name it was matched by ("ciprofloxacin" for a misspelt
    "ciprofloxcin"); ``said`` when empty."""

    @property
    def name(self) -> str:
        """How the drug is spelt correctly: the alias matched, else the words said."""
        return self.alias or self.said


@dataclass(slots=True)
class DrugLookup:
    """What a question names: monographs in the store, and drug names absent from it."""

    matches: list[DrugMatch] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    """Every phrase of the question that named a matched monograph, with those whose own
    match was narrowed away ("glycopyrronium" beside "sialanar"): words of the drug, not
    of what is asked about it."""

    @property
    def docs(self) -> list[str]:
        """Store keys of every matched monograph."""
        return sorted({d for m in self.matches for d in m.docs})

    @property
    def titles(self) -> list[str]:
        """Titles of the matched monographs, in the order the question names them."""
        return list(dict.fromkeys(m.title for m in self.matches))


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
        lexicon: DrugLexicon | None = None,
    ) -> None:
        """Index ``files``' titles and aliases.

        ``common_words`` are the corpus's own words (never taken for a misspelt alias);
        ``lexicon`` tells a drug name from an ordinary word (no lexicon: no name is
        reported as an absent drug).
        """
        self._by_phrase: dict[tuple[str, ...], set[str]] = defaultdict(set)
        self._long: dict[tuple[str, ...], set[str]] = defaultdict(set)
        """Longer names ("Ondansetron Tablets, Orally Disintegrating Tablets and Oral
        Solution", a US label's title): never matched whole, but the drug names in them
        name their monographs (``_substance_words``)."""
        self._title_of: dict[str, str] = {}
        self._parts: dict[str, int] = {}
        self._aliases: dict[str, list[str]] = {}
        for entry in files:
            self._title_of[entry.key] = entry.title
            self._aliases[entry.key] = [a for a in entry.aliases.split("|") if a]
            others = {a.lower() for a in entry.aliases.split("|") if a} - {entry.title.lower()}
            self._parts[entry.key] = max(1, len(others))
            for alias in [entry.title, *entry.aliases.split("|")]:
                phrase = tuple(words(alias))
                if phrase and len(phrase) <= _MAX_WORDS:
                    self._by_phrase[phrase].add(entry.key)
                elif phrase:
                    self._long[phrase].add(entry.key)
        self._single: dict[str, list[str]] = defaultdict(list)
        for phrase in self._by_phrase:
            if len(phrase) == 1 and len(phrase[0]) >= 5:
                self._single[phrase[0][0]].append(phrase[0])
        self._common = frozenset(common_words) - {p[0] for p in self._by_phrase if len(p) == 1}
        self.cutoff = fuzzy_cutoff
        self._lexicon = lexicon

    @cached_property
    def _substance_words(self) -> dict[str, set[str]]:
        """Drug names inside longer aliases ("memantine" of "memantine hydrochloride",
        "glycopyrronium" of "glycopyrronium bromide"), by the drug vocabulary; built on
        first need, since it loads the vocabulary."""
        out: dict[str, set[str]] = defaultdict(set)
        if self._lexicon is None:
            return out
        for phrase, docs in [*self._by_phrase.items(), *self._long.items()]:
            if len(phrase) < 2:
                continue
            for n, word in enumerate(phrase):
                if len(word) < 5:
                    continue
                # The first word of an active-substance alias ("sacituzumab" of
                # "sacituzumab govitecan") names it when it is no ordinary word.
                head = n == 0 and len(word) >= 7 and word.isalpha()
                if self._lexicon.is_drug(word) or (head and not self._lexicon.is_ordinary(word)):
                    out[word] |= docs
        return dict(out)

    @cached_property
    def _by_canonical(self) -> dict[str, set[str]]:
        """Monographs by the vocabulary's name of the substance their aliases name
        ("paracetamol" and "acetaminophen" are one substance), built on first need."""
        out: dict[str, set[str]] = defaultdict(set)
        if self._lexicon is None:
            return out
        named = [(" ".join(p), docs) for p, docs in self._by_phrase.items()]
        for name, docs in [*named, *self._substance_words.items()]:
            found = self._lexicon.lookup(name)
            if found is not None:
                out[found.canonical] |= docs
        return dict(out)

    @cached_property
    def _generic(self) -> dict[str, set[str]]:
        """Monographs titled by the one substance a brand's monograph holds (the
        "Rivaroxaban" label of the "Xarelto" leaflet): a brand names its substance, and
        the substance's own monograph may state what the brand's leaflet leaves out."""
        titled: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for doc, title in self._title_of.items():
            titled[tuple(words(title))].add(doc)
        out: dict[str, set[str]] = {}
        for doc, aliases in self._aliases.items():
            title = tuple(words(self._title_of[doc]))
            substances = {tuple(words(a)) for a in aliases} - {title, ()}
            if len(substances) == 1:
                generic = titled.get(next(iter(substances)), set()) - {doc}
                if generic:
                    out[doc] = generic
        return out

    @cached_property
    def _text_drugs(self) -> dict[str, list[str]]:
        """Drug names in the monographs' text (words of the corpus the vocabulary takes
        for drugs), by first letter: what a misspelt co-drug is corrected to."""
        out: dict[str, list[str]] = defaultdict(list)
        if self._lexicon is None:
            return out
        for word in self._common:
            if len(word) >= 5 and word.isalpha() and self._lexicon.is_drug(word):
                out[word[0]].append(word)
        return dict(out)

    def names_a_monograph(self, word: str) -> bool:
        """True when ``word`` alone is a title or alias of a monograph, or the drug name
        inside a longer one ("memantine" of "memantine hydrochloride")."""
        word = word.lower()
        return (word,) in self._by_phrase or word in self._substance_words

    def misspelt(self, text: str, taken: Collection[str] = ()) -> dict[str, str]:
        """Words of ``text`` that are no word of the corpus, of English or of the drug
        vocabulary but are close to a drug name of the corpus text ("ciprofloxcin" ->
        "ciprofloxacin"); ``taken`` words (those that named monographs) are skipped."""
        if self._lexicon is None:
            return {}
        out: dict[str, str] = {}
        for token in words(text):
            if (
                token in taken
                or token in out
                or len(token) < 5
                or not token.isalpha()
                or fold(token) in self._common
                or (token,) in self._by_phrase
                or self._lexicon.is_ordinary(token)
                or self._lexicon.is_drug(token)
            ):
                continue
            candidates = [
                w for w in self._text_drugs.get(token[0], ()) if abs(len(w) - len(token)) <= 2
            ]
            best = process.extractOne(
                token, candidates, scorer=fuzz.ratio, score_cutoff=self.cutoff * 100
            )
            if best is not None:
                out[token] = best[0]
        return out

    def canonical(self, name: str) -> str:
        """The vocabulary's name for the drug ``name`` ("zoloft" -> "sertraline"), or
        ``name`` itself."""
        found = self._lexicon.lookup(name) if self._lexicon else None
        return found.canonical if found else name

    def spellings(self, name: str) -> list[str]:
        """``name`` and the vocabulary's names for the same drug ("zoloft" -> "sertraline",
        "colestyramine" -> "cholestyramine"), to look for either in a monograph's text."""
        found = self._lexicon.lookup(name) if self._lexicon else None
        if found is None or self._lexicon is None:
            return [name]
        return list(
            dict.fromkeys([name, found.canonical, *self._lexicon.synonyms(found.canonical)])
        )

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
        named: dict[str, set[str]] = defaultdict(set)
        """Every phrase of the question that named monographs -> their titles."""

        def add(docs: set[str], said: str, exact: bool, alias: str = "") -> None:
            self._add(found, docs, said, exact, alias)
            named[said] |= {self._title_of[d] for d in docs}

        for i, parts in self._shortened_combinations(text, tokens):
            # "elexa/teza/iva", "bud/form": a combination named by the first letters of
            # each of its substances names the monographs of exactly those substances.
            docs = self._combination_of(parts)
            if docs:
                used[i : i + len(parts)] = [True] * len(parts)
                add(docs, "/".join(parts), exact=True)
        for size in range(_MAX_WORDS, 0, -1):
            for i in range(len(tokens) - size + 1):
                if any(used[i : i + size]):
                    continue
                docs = self._by_phrase.get(tuple(tokens[i : i + size]))
                if docs and size == 1 and tokens[i] in self._substance_words:
                    # An INN that is one monograph's alias and the substance of others'
                    # longer ones ("glycopyrronium" of "glycopyrronium bromide") names
                    # every monograph of it.
                    docs = docs | self._substance_words[tokens[i]]
                if docs:
                    for i_ in range(i, i + size):
                        used[i_] = True
                    add(docs, " ".join(tokens[i : i + size]), exact=True)
        for i, token in enumerate(tokens):
            if used[i] or len(token) < 5 or token.isdigit():
                continue
            # A word of the corpus text (an interacting drug, say) is not a misspelt alias.
            best = None if fold(token) in self._common else self._closest(token)
            if best is not None:
                used[i] = True
                add(self._docs_named(best), token, exact=False, alias=best)
            elif token in self._substance_words:
                # "memantine" for the alias "memantine hydrochloride"
                used[i] = True
                add(self._substance_words[token], token, exact=True)
        for name in self._unknown(tokens, used):
            # A brand, spelling or abbreviation the vocabulary knows for a substance that
            # has a monograph ("zoloft" -> the sertraline monograph, "apap" -> a paracetamol
            # monograph) names that monograph.
            canonical = self.canonical(name)
            docs = self._docs_of(canonical) | self._by_canonical.get(canonical, set())
            if docs:
                add(docs, name, exact=True, alias=canonical)
            else:
                lookup.unknown.append(name)
        lookup.matches = self._only_these(self._narrowed(list(found.values()), named), named)
        if len(named) == 1:
            lookup.matches = self._alone(lookup.matches)
        titles = set(lookup.titles)
        lookup.said = [said for said, named_titles in named.items() if named_titles & titles]
        return lookup

    def _shortened_combinations(self, text: str, tokens: list[str]) -> list[tuple[int, list[str]]]:
        """Runs of two to four words joined by slashes ("elexa/teza/iva") of which some
        word names no monograph whole, with where they start among ``tokens``."""
        out = []
        for m in _SLASHED.finditer(text.lower()):
            parts = m.group(0).split("/")
            if all(self.names_a_monograph(p) for p in parts):
                continue  # "sacubitril/valsartan": named whole, narrowed by ``_narrowed``
            for i in range(len(tokens) - len(parts) + 1):
                if tokens[i : i + len(parts)] == parts:
                    out.append((i, parts))
                    break
        return out

    @cached_property
    def _substance_heads(self) -> dict[str, list[str]]:
        """Each monograph's substances by the first word of each alias that is not its
        title ("tezacaftor" of Kaftrio's), built on first need."""
        out: dict[str, list[str]] = {}
        for doc, aliases in self._aliases.items():
            title = words(self._title_of[doc])
            out[doc] = [w[0] for a in aliases if (w := words(a)) and w != title]
        return out

    def _combination_of(self, parts: list[str]) -> set[str]:
        """Monographs holding exactly as many substances as ``parts``, each part the start
        of another substance's name ("teza" of "tezacaftor")."""
        found = set()
        for doc, heads in self._substance_heads.items():
            if len(heads) != len(parts):
                continue
            if any(
                all(h.startswith(p) for h, p in zip(order, parts, strict=True))
                for order in permutations(heads)
            ):
                found.add(doc)
        return found

    def _alone(self, matches: list[DrugMatch]) -> list[DrugMatch]:
        """One substance named ("glycopyrronium") that several monographs hold: the
        products of that substance alone, not the combinations that also hold it (a
        glycopyrronium inhaler's dose is not the triple inhaler's). A monograph's parts
        are its aliases besides its title (an EU leaflet lists its active substances)."""
        if len(matches) < 2:
            return matches
        parts = {m.title: min(self._parts.get(d, 1) for d in m.docs) for m in matches}
        fewest = min(parts.values())
        if fewest == max(parts.values()):
            return matches
        return [m for m in matches if parts[m.title] == fewest]

    def _docs_of(self, name: str) -> set[str]:
        phrase = tuple(words(name))
        return set(self._by_phrase.get(phrase, ())) | set(self._substance_words.get(name, ()))

    @staticmethod
    def _narrowed(matches: list[DrugMatch], named: dict[str, set[str]]) -> list[DrugMatch]:
        """The parts of a combination ("sacubitril/valsartan") name the monographs holding
        every part: when the names share monographs, keep only those."""
        if len(named) < 2:
            return matches
        shared = set.intersection(*named.values())
        if not shared or shared == set().union(*named.values()):
            return matches
        return [m for m in matches if m.title in shared]

    def _only_these(self, matches: list[DrugMatch], named: dict[str, set[str]]) -> list[DrugMatch]:
        """Two or more substances named together ("amlodipine valsartan") that several
        monographs hold: those holding no other substance, when some do (the two-drug
        tablet, not the triple one that adds hydrochlorothiazide)."""
        if len(named) < 2 or len(matches) < 2 or self._lexicon is None:
            return matches
        if not all(m.title in titles for m in matches for titles in named.values()):
            return matches  # drugs asked about together, not the parts of one product
        lexicon = self._lexicon
        spoken = {self.canonical(m.name) for m in matches} | {m.name for m in matches}
        spoken |= {self.canonical(said) for said in named}

        def adds(match: DrugMatch) -> bool:
            for doc in match.docs:
                for alias in self._aliases.get(doc, [])[1:]:
                    head = (words(alias) or [""])[0]
                    unnamed = head and head not in spoken and self.canonical(head) not in spoken
                    if unnamed and lexicon.is_drug(head):
                        return True
            return False

        kept = [m for m in matches if not adds(m)]
        return kept if kept and len(kept) < len(matches) else matches

    def _unknown(self, tokens: list[str], used: list[bool]) -> list[str]:
        """Drug names of the vocabulary (two words, then one) not matched so far."""
        if self._lexicon is None:
            return []
        out: list[tuple[int, str]] = []
        taken = list(used)
        for size in (2, 1):
            for i in range(len(tokens) - size + 1):
                if any(taken[i : i + size]) or any(t.isdigit() for t in tokens[i : i + size]):
                    continue
                name = " ".join(tokens[i : i + size])
                after = tokens[i + size] if i + size < len(tokens) else ""
                if after and fold(after) in _CLASS_NOUNS:
                    continue  # "a dopamine blocker", "somatostatin analogues": a class
                if len(name) >= 3 and self._lexicon.is_drug(name):
                    taken[i : i + size] = [True] * size
                    out.append((i, name))
        return [name for _, name in sorted(out)]

    def resolve(self, name: str) -> DrugLookup:
        """Look up a drug given on its own (a filter), exactly or by misspelling."""
        lookup = self.find(name)
        if not lookup.matches and not lookup.unknown and words(name):
            lookup.unknown.append(" ".join(words(name)))
        return lookup

    def _closest(self, token: str) -> str | None:
        """The one-word alias, or drug name inside a longer alias ("doxycycline" of
        "Doxycycline Hyclate"), that ``token`` misspells."""
        names = [*self._single.get(token[0], ()), *self._substance_initial.get(token[0], ())]
        candidates = [a for a in names if abs(len(a) - len(token)) <= 2]
        best = process.extractOne(
            token, candidates, scorer=fuzz.ratio, score_cutoff=self.cutoff * 100
        )
        return best[0] if best else None

    @cached_property
    def _substance_initial(self) -> dict[str, list[str]]:
        """``_substance_words`` by first letter, for ``_closest``."""
        out: dict[str, list[str]] = defaultdict(list)
        for word in self._substance_words:
            out[word[0]].append(word)
        return dict(out)

    def _docs_named(self, name: str) -> set[str]:
        """Monographs a one-word name names: as an alias, else inside longer aliases."""
        return set(self._by_phrase.get((name,), ())) or set(self._substance_words.get(name, ()))

    def _add(
        self, found: dict[str, DrugMatch], docs: set[str], said: str, exact: bool, alias: str
    ) -> None:
        by_title: dict[str, list[str]] = defaultdict(list)
        for doc in sorted(docs):  # a set: sorted, so that titles come in one order
            by_title[self._title_of[doc]].append(doc)
        for title, title_docs in by_title.items():
            if title not in found:
                found[title] = DrugMatch(title, tuple(sorted(title_docs)), said, exact, alias)

    def generics(self, docs: Iterable[str]) -> list[str]:
        """Titles of the monographs titled by the one substance of a brand's monograph
        among ``docs`` (the "Rivaroxaban" label of the "Xarelto" leaflet), not in ``docs``."""
        docs = set(docs)
        found = {g for d in docs for g in self._generic.get(d, ())} - docs
        return sorted({self._title_of[g] for g in found})

    def with_generics(self, lookup: DrugLookup) -> DrugLookup:
        """``lookup`` with the monographs of ``generics`` added, each named by the words
        that named its brand: one drug, not another asked about with it."""
        have = set(lookup.docs)
        matches = list(lookup.matches)
        for match in lookup.matches:
            extra = {g for d in match.docs for g in self._generic.get(d, ())} - have
            for generic in self.carried(sorted(extra)).matches:
                matches.append(replace(match, title=generic.title, docs=generic.docs))
                have |= set(generic.docs)
        return replace(lookup, matches=matches)

    def carried(self, docs: Iterable[str]) -> DrugLookup:
        """The monographs stored under ``docs`` (a previous turn's), as a lookup."""
        by_title: dict[str, list[str]] = defaultdict(list)
        for doc in docs:
            if doc in self._title_of:
                by_title[self._title_of[doc]].append(doc)
        return DrugLookup(
            matches=[
                DrugMatch(title, tuple(sorted(d)), said="", exact=True)
                for title, d in by_title.items()
            ]
        )
