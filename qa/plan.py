"""The first stage: a question (and the conversation so far) becomes a ``Query``.

Planning cleans the question, finds the drugs it names (or carries them from the previous
turn), decides what text to search for, and embeds it. It may decide the answer on its
own, through the abstention policy: a drug with no monograph, a filter that matches none.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from monorag.embed import Embedder
from monorag.errors import EmptyQuestionError, MonoragError
from monorag.index.store import FileEntry
from monorag.qa.abstention import AbstentionPolicy
from monorag.qa.acronyms import Acronyms
from monorag.qa.conversation import Conversation, Turn
from monorag.qa.drugs import DrugIndex, DrugLookup, DrugMatch, words
from monorag.qa.parts import parts_of
from monorag.qa.reader import (
    BARRED,
    SEARCHED_AS,
    STATED_ONLY_AS_ITSELF,
    WHO_NOT,
    Intent,
    asked_scope,
    intent_of,
)
from monorag.qa.shorthand import spelt_out
from monorag.qa.spelling import Speller
from monorag.types import Answer

MIN_NAMED = 4
"""Letters a word of an indication needs to be looked for in the monographs' text."""
MAX_QUESTION_CHARS = 2000
"""Longer questions are cut here: no clinical question needs more, and it bounds cost."""

FORMS = {
    form: re.compile(rf"\b(?:{words})\b", re.IGNORECASE)
    for form, words in {
        "ointment": r"oint(?:ment)?s?",
        "cream": r"creams?",
        "gel": r"gels?",
        "patch": r"patch(?:es)?",
        "inhaler": r"inhalers?|puffers?",
        "drops": r"(?:eye|ear) ?drops?|gtts",
        "spray": r"(?:nasal )?sprays?",
        "suppository": r"suppositor(?:y|ies)|supps?",
        "capsule": r"caps(?:ules?)?",
        "tablet": r"tabs?|tablets?",
        "injection": r"inj|injections?|injectable",
        "infusion": r"infusions?",
    }.items()
}
"""Dosage forms a question may name, with a clinician's shorthand ("oint", "tabs", "caps"):
the word a monograph of that form uses is what it is looked up by."""

MAX_DRUG_CHARS = 200
"""A drug filter longer than this names no drug; it is cut (it is echoed in abstentions)."""


@dataclass(slots=True)
class Query:
    """What to search for and where; the output of ``Planner.plan``."""

    question: str
    """The question as asked, cleaned."""
    text: str
    """The text searched for (a follow-up carries the previous turn's topic)."""
    docs: list[str] | None = None
    """Store keys of the monographs to search (None: the whole corpus)."""
    titles: list[str] = field(default_factory=list)
    """Titles of those monographs, for answers and refusals."""
    named: dict[str, str] = field(default_factory=dict)
    """Each title, with the question's words that named it ("" when carried from the
    conversation): titles named by different words are drugs asked about together (an
    interaction), titles one word names (an INN several brands share) are one drug."""
    said: list[str] = field(default_factory=list)
    """Every phrase of the question that named a searched monograph (``DrugLookup.said``)."""
    focus: str = ""
    """``text`` without drug names: what the question asks about."""
    terms: str = ""
    """The question's own words without drug names (statement overlap is scored on them)."""
    barred: bool = False
    """The question asks who must not take the drug (``WHO_NOT``): the passages that bar
    it are searched for by their wording as well."""
    dosing: bool = False
    """The question asks for a dose: the monograph's dosing section is searched as well
    (``Retriever._dosing``)."""
    speaks: tuple[str, ...] = ()
    """Targets the question asks for that a statement answers only by speaking of them (an
    overdose, a missed dose, storage, how it works: ``STATED_ONLY_AS_ITSELF``): the passage
    of each searched monograph that speaks of one most is searched as well
    (``Retriever._speaking``)."""
    phrased: str = ""
    """How monographs word what the question asks for (``SEARCHED_AS``, ``BARRED``), when it
    says it otherwise: searched for lexically beside ``text`` (``BARRED`` also joins
    ``focus`` and ``terms``, see ``_phrase``)."""
    exclude: list[str] = field(default_factory=list)
    """Monographs whose FAQ chunks are hidden (the evaluation's held-out mode)."""
    vector: np.ndarray | None = None
    unnamed: list[str] = field(default_factory=list)
    """The indication a dose question names ("dose for c diff"), when no monograph searched
    names any word of it: none of them states a dose for it."""
    codrugs: list[str] = field(default_factory=list)
    """Drugs the question names that have no monograph searched here but that the searched
    monographs mention (spelt as they spell them): the interaction or companion drug asked
    about. A statement naming one is never refused for low support."""
    classed: dict[str, list[str]] = field(default_factory=dict)
    """For drugs asked about together that each have a monograph: title -> the classes of
    another of them that this monograph names where it does not name that drug itself
    ("proton pump inhibitors" in a monograph asked about with omeprazole), spelt as it
    spells them. A statement of that monograph naming one is the interaction asked about."""
    generics: list[str] = field(default_factory=list)
    """Monographs titled by the substance of a brand searched here ("Rivaroxaban" for the
    "Xarelto" leaflet), not searched: where the brand's own monograph is silent, the
    question is asked again over them too (``Planner.plan``'s ``generics``)."""
    note: str = ""
    decided: Answer | None = None
    """Set when planning alone decides the answer (a refusal); nothing is retrieved."""


class Planner:
    """Turns questions into queries over one snapshot of the index."""

    def __init__(
        self,
        drugs: DrugIndex,
        files: Mapping[str, FileEntry],
        embedder: Embedder,
        policy: AbstentionPolicy,
        mentions: Callable[[str, Collection[str]], bool] = lambda _name, _docs: False,
        speller: Speller | None = None,
        acronyms: Acronyms | None = None,
        classes: Callable[[str, Collection[str]], list[str]] = lambda _name, _docs: [],
    ) -> None:
        """``mentions(name, docs)`` tells whether those monographs' text names a drug;
        ``speller`` respells typos of ordinary words (none: questions are taken as typed);
        ``acronyms`` spells out the acronyms the monographs define; ``classes(name, docs)``
        gives the classes the corpus lists a drug under that those monographs name
        (``DrugClasses.named_in``)."""
        self.drugs = drugs
        self.files = files
        self.embedder = embedder
        self.policy = policy
        self.mentions = mentions
        self.speller = speller
        self.acronyms = acronyms
        self.classes = classes

    def plan(
        self,
        question: str,
        conversation: Conversation | None = None,
        drug: str | None = None,
        exclude_faq_of: Collection[str] | None = None,
        generics: bool = False,
    ) -> Query:
        """The query for ``question``; ``drug`` restricts it to the monographs it names;
        ``generics`` also searches the monographs titled by a named brand's substance."""
        question = clean(question)
        if not question:
            raise EmptyQuestionError()
        # Respelt and spelt out, the question is what is searched for and echoed: within
        # its bound, else as typed (a question cut at the bound may end in a piece of a
        # word, "po", that is no shorthand).
        for rewrite in (self.speller.respell if self.speller else None, spelt_out):
            if rewrite is not None and len(rewritten := rewrite(question)) <= MAX_QUESTION_CHARS:
                question = rewritten
        # The filter is user text too: cleaned and bounded like the question (a blank one
        # filters nothing).
        drug = clean(drug)[:MAX_DRUG_CHARS] if drug else None
        lookup = (
            self.drugs.resolve(drug) if drug else self._by_form(question, self.drugs.find(question))
        )
        last = conversation.last_with_drugs() if conversation and not drug else None
        brands = lookup.titles
        if generics:
            lookup = self.drugs.with_generics(lookup)
        in_play = lookup.docs or (list(last.docs) if last is not None else [])
        if self.acronyms is not None and in_play:
            # Read with the definitions of the monographs asked about (a follow-up's: the
            # previous turn's), before the corpus's. A question about no drug in
            # particular searches every monograph, and one of them writes the acronym.
            spelt = self.acronyms.spelt_out(
                question,
                in_play,
                lambda t: self.mentions(t, in_play),
                lambda long: self.mentions(long.split()[-1], in_play),
            )
            question = spelt if len(spelt) <= MAX_QUESTION_CHARS else question
        query = Query(question=question, text=question)
        if drug and not lookup.matches:
            query.decided = self.policy.filter_matches_nothing(question, drug)
            return query
        # What is searched for: the question, with a misspelt co-drug spelt as the
        # monographs in play spell it (the words of the text must match theirs).
        asked = question
        if not drug:
            lookup, asked, query.codrugs = self._co_mentioned(question, lookup, last)
            query.text = asked
        if lookup.unknown and not drug:
            # A drug with no monograph of its own may be one the monographs in play discuss
            # (an interacting drug, a regimen's companion): those answer for it. In play:
            # the drugs the question names, or the conversation's drug.
            in_play = lookup.docs or (last.docs if last is not None else [])
            absent = []
            notes = []
            titles = lookup.titles or list(last.drugs if last is not None else [])
            for name in lookup.unknown:
                spellings = self.drugs.spellings(name) if in_play else []
                said = [s for s in spellings if self.mentions(s, in_play)]
                # Not named, its class may be: "antipsychotics" for quetiapine, where
                # other monographs list quetiapine among antipsychotics. The statements
                # naming the class answer, with a note saying the drug is not named.
                # Looked for in the monographs that do not name it ("advil" with losartan
                # and telmisartan: one names ibuprofen, the other only NSAIDs).
                unnamed = [d for d in in_play if not any(self.mentions(s, [d]) for s in said)]
                classes, via = self._classes_of(spellings, unnamed) if unnamed else ([], "")
                if said or classes:
                    query.codrugs.extend(s for s in [*said, *classes] if s not in query.codrugs)
                else:
                    absent.append(name)
                if classes:
                    listed = name if via.lower() == name.lower() else f"{name} ({via})"
                    notes.append(self.policy.class_named(listed, classes, self._titles(unnamed)))
            if absent and in_play:
                refusal = self.policy.not_mentioned(question, absent, titles)
                if not query.codrugs:
                    query.generics = [] if generics else self.drugs.generics(in_play)
                    query.decided = refusal
                    return query
                # The question also asks about a drug they do mention ("on fluoxetine, now
                # needs clarithromycin"): refusing would hide what they state of that one.
                # The answer is about it, and says the other is not mentioned.
                notes.insert(0, refusal.text)
            elif absent:
                query.decided = self.policy.no_monograph(question, absent, len(self.files))
                return query
            query.note = " ".join(notes)
        if not lookup.matches and not drug:
            if last is not None and conversation is not None:
                # The monographs of that turn themselves: its titles, looked up again as
                # words, could name others too (an INN several brands share).
                lookup = self.drugs.carried(last.docs)
                query.text = conversation.topic_for(asked)
            elif len(self.files) == 1:
                only = next(iter(self.files.values()))
                lookup = self.drugs.resolve(only.title)
        elif conversation is not None:
            query.text = conversation.topic_for(asked)
        if generics:
            brands = brands or lookup.titles
            lookup = self.drugs.with_generics(lookup)
            added = [t for t in lookup.titles if t not in brands]
            if added:
                query.note = " ".join(
                    [self.policy.from_generics(brands, added), query.note]
                ).strip()
        else:
            query.generics = self.drugs.generics(lookup.docs)
        query.docs = lookup.docs or None
        query.titles = lookup.titles
        intent = intent_of(question)
        if query.docs:
            query.unnamed = self._unnamed_indication(question, intent, lookup, query.docs)
        for match in lookup.matches:
            query.named.setdefault(match.title, match.said)
        query.said = [*lookup.said, *(m.said for m in lookup.matches)]
        if not drug and len(set(query.named.values())) > 1:
            classed = self._classes_between(lookup.matches)
            query.classed = {t: [c for c, _ in found] for t, found in classed.items()}
            notes = [
                self.policy.class_named(said, [c for c, s in found if s == said], [title])
                for title, found in classed.items()
                for said in dict.fromkeys(s for _, s in found)
            ]
            query.note = " ".join([query.note, *notes]).strip()
        query.focus = without_drugs(query.text, lookup)
        # Statements are matched on the words of this question only: in a follow-up the
        # carried words are the previous turn's subject ("multiple myeloma"), which the
        # new question replaces ("and for Kaposi sarcoma?"); its intent still shapes the
        # search through the embedded focus.
        query.terms = without_drugs(asked, lookup)
        _phrase(query, question, intent)
        if exclude_faq_of:
            excluded = set(exclude_faq_of)
            query.exclude = [
                k for k, f in self.files.items() if f.title in excluded or k in excluded
            ]
        self._embed(query)
        return query

    def _unnamed_indication(
        self, question: str, intent: Intent, lookup: DrugLookup, docs: Collection[str]
    ) -> list[str]:
        """The indication a dose question names ("flagyl dose for c diff") when ``docs``
        name no word of it (of ``MIN_NAMED`` letters or more, not the drug's own): then none
        of them states a dose for it. A population's words ("in ckd", "in a preemie") are a
        case, not an indication."""
        if "amount" not in intent.targets or intent.population or intent.measures:
            return []
        indication = asked_scope(question)
        said = {w for name in lookup.said for w in words(name)}
        # "c" of "c diff" is in every "25 °C".
        spelt = [w for w in indication if len(w) >= MIN_NAMED and w not in said]
        if spelt and not any(self.mentions(w, docs) for w in spelt):
            return indication
        return []

    def _classes_between(self, matches: list[DrugMatch]) -> dict[str, list[tuple[str, str]]]:
        """For drugs asked about together, each with a monograph of its own: title -> the
        classes (with the words that named the drug) under which the corpus lists another
        of them, where this monograph names the class and not the drug ("pazopanib and
        omeprazole": the pazopanib leaflet names only "proton pump inhibitors")."""
        out: dict[str, list[tuple[str, str]]] = {}
        for match in matches:
            for other in matches:
                if other.said == match.said or other.title == match.title:
                    continue
                spellings = self.drugs.spellings(other.name)
                if any(self.mentions(s, match.docs) for s in spellings):
                    continue
                found = out.setdefault(match.title, [])
                have = {c for c, _ in found}
                classes, _ = self._classes_of(spellings, match.docs)
                found.extend((c, other.said) for c in classes if c not in have)
        return {t: found for t, found in out.items() if found}

    def _classes_of(self, spellings: list[str], docs: Collection[str]) -> tuple[list[str], str]:
        """The classes, once each, under which the corpus lists a drug spelt any of these
        ways that ``docs`` name (``DrugClasses.named_in``), and the first spelling that
        found one ("" if none)."""
        classes: list[str] = []
        via = ""
        for spelling in spellings:
            found = [c for c in self.classes(spelling, docs) if c not in classes]
            classes.extend(found)
            via = via or (spelling if found else "")
        return classes, via

    def _by_form(self, question: str, lookup: DrugLookup) -> DrugLookup:
        """A name several monographs answer to (an INN: tacrolimus capsules and ointment),
        narrowed to those that speak of the dosage form the question names ("tacrolimus
        oint"), when some but not all of them do."""
        forms = [form for form, rx in FORMS.items() if rx.search(question)]
        if not forms:
            return lookup
        kept: list[DrugMatch] = []
        for said in dict.fromkeys(m.said for m in lookup.matches):
            same = [m for m in lookup.matches if m.said == said]
            having = [m for m in same if all(self.mentions(f, m.docs) for f in forms)]
            kept.extend(having if len(same) > 1 and 0 < len(having) < len(same) else same)
        return replace(lookup, matches=kept)

    def _titles(self, docs: Collection[str]) -> list[str]:
        """The titles of the monographs ``docs`` (store keys), once each."""
        return list(dict.fromkeys(self.files[d].title for d in docs if d in self.files))

    def _embed(self, query: Query) -> None:
        # Within named monographs, the drug's name matches every passage: search by what
        # the question asks about (its focus) so that unrelated passages do not score.
        query.vector = self.embedder.embed_one(
            query.focus if query.docs and query.focus else query.text
        )

    def parts(self, query: Query) -> list[Query]:
        """One query per part of a question that asks several things (``parts_of``), each
        searched in the monographs of the whole; none for a question that asks one."""
        if query.decided is not None:
            return []
        pieces = parts_of(query.question)
        if len(pieces) < 2:
            return []
        named = {w for said in [*query.said, *query.named.values()] for w in said.split()}
        out = []
        for piece in pieces:
            part = replace(query, question=piece, text=piece, named=dict(query.named))
            part.focus = part.terms = " ".join(w for w in words(piece) if w not in named)
            _phrase(part, piece, intent_of(piece))
            self._embed(part)
            out.append(part)
        return out

    def _co_mentioned(
        self, question: str, lookup: DrugLookup, last: Turn | None
    ) -> tuple[DrugLookup, str, list[str]]:
        """Misspelt drug names are first looked for in the monographs in play, as names
        with no monograph are: "can I take it with ciprofloxcin?" after a question about X
        is about X when X's monograph names ciprofloxacin, even though ciprofloxacin has a
        monograph of its own (the misspelling matched it). In play: the monographs the
        question names exactly, else the conversation's when the question leans on it
        ("it", "and with ...?"). A misspelt name they do not mention keeps its own
        monograph, searched beside them.

        Returns the lookup, the question with every misspelt name they mention spelt
        as they spell it, so that the words searched for are theirs (whether or not the
        drug has a monograph of its own), and those spellings."""
        exact = [m for m in lookup.matches if m.exact]
        fuzzy = [m for m in lookup.matches if not m.exact]
        respelt: list[str] = []
        if exact:
            in_play = sorted({d for m in exact for d in m.docs})
            beside = self._beside_last(question, exact, in_play, last)
            if beside is not None and last is not None:
                # "what about his warfarin?" after an amiodarone question asks about the
                # pair, as a co-drug with no monograph would: the conversation's monograph
                # states the interaction and is searched, for the co-drug's name.
                exact = self.drugs.carried(last.docs).matches
                in_play = list(last.docs)
                lookup = DrugLookup(matches=[*exact, *fuzzy], unknown=lookup.unknown)
                respelt.extend(beside)
        elif last is not None and Conversation.refers_back(question):
            in_play = list(last.docs)
            exact = self.drugs.carried(in_play).matches
        else:
            return lookup, question, []
        kept: list[DrugMatch] = []
        for match in fuzzy:
            found = None
            if not set(match.docs) & set(in_play):
                spellings = self.drugs.spellings(match.name)
                found = next((s for s in spellings if self.mentions(s, in_play)), None)
            if found is None:
                kept.append(match)
            else:
                question = respell(question, match.said, found)
                respelt.append(found)
        taken = {w for m in lookup.matches for w in m.said.split()}
        for said, spelling in self.drugs.misspelt(question, taken).items():
            if self.mentions(spelling, in_play):
                question = respell(question, said, spelling)
                respelt.append(spelling)
        if not fuzzy:
            return lookup, question, respelt
        titles = {m.title for m in exact}
        matches = [*exact, *(m for m in kept if m.title not in titles)]
        return DrugLookup(matches=matches, unknown=lookup.unknown), question, respelt

    def _beside_last(
        self, question: str, exact: list[DrugMatch], in_play: list[str], last: Turn | None
    ) -> list[str] | None:
        """The spellings under which the conversation's monographs name the drugs of a
        follow-up ("and with warfarin?") that names only drugs with monographs of their
        own, none of them the conversation's; None unless they name every such drug."""
        if last is None or not Conversation.refers_back(question) or set(in_play) & set(last.docs):
            return None
        said = []
        for match in exact:
            spelling = next(
                (s for s in self.drugs.spellings(match.name) if self.mentions(s, last.docs)), None
            )
            if spelling is None:
                return None
            said.append(spelling)
        return said


_CONTRACTED = re.compile(
    r"\b(do|does|did|is|are|was|were|should|would|could|ca|wo|have|has|had|must|need)nt\b|"
    r"\b(what|he|she|that|there)s\b",
    re.IGNORECASE,
)
"""Contractions typed without their apostrophe ("shouldnt", "cant", "whats"): none of these
spellings is another English word a clinician would type ("im" is intramuscular, "its",
"well", "ill" are words, so they are left alone)."""


def _phrase(query: Query, question: str, intent: Intent) -> None:
    """What the question asks for, in the monographs' words (``Query.phrased``): searched
    for lexically, not scored as the question's own words (a statement that answers them
    in other words would then lack them). Only the contraindications' wording also joins
    the embedded focus: "who shouldn't be on X" says nothing else; a target's wording
    there would move every statement's similarity, not just find the passage."""
    targets = intent.targets
    query.phrased = " ".join(SEARCHED_AS[t] for t in sorted(targets) if t in SEARCHED_AS)
    query.barred = bool(WHO_NOT.search(question))
    query.dosing = "amount" in targets
    query.speaks = tuple(sorted(targets & STATED_ONLY_AS_ITSELF.keys()))
    if query.barred:
        # "Who shouldn't be on X?" says nothing but "who" once X is left out: it is
        # searched for as monographs introduce their contraindications, and statements
        # are matched on those words.
        query.phrased = f"{query.phrased} {BARRED}".strip()
        query.terms = f"{query.terms} {BARRED}".strip()
        query.focus = f"{query.focus} {BARRED}".strip()


def _apostrophes(text: str) -> str:
    def put(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(0)[:-2] + "n't" if m.group(1).lower() != "ca" else m.group(0)[:-1] + "'t"
        return m.group(0)[:-1] + "'s"

    return _CONTRACTED.sub(put, text)


def clean(question: str) -> str:
    """Printable text, whitespace collapsed, bounded in length; contractions typed without
    their apostrophe ("shouldnt") spelt with it, as every monograph and word list spells them."""
    if not isinstance(question, str):
        raise MonoragError("the question must be text")
    # Invisible format characters (soft hyphen, zero-width space, bidi marks) arrive inside
    # pasted words: dropping them keeps "pomali\u00addomide" one word that names the drug.
    text = "".join(
        "" if unicodedata.category(ch) == "Cf" else ch if ch.isprintable() or ch.isspace() else " "
        for ch in question
    )
    return _apostrophes(" ".join(text.split())[:MAX_QUESTION_CHARS])


def respell(text: str, said: str, spelling: str) -> str:
    """``text`` with the word(s) ``said`` (as ``words`` gives them) replaced by ``spelling``."""
    pattern = r"(?<![\w'’-])" + r"\s+".join(map(re.escape, said.split())) + r"(?![\w'’-])"
    return re.sub(pattern, spelling, text, flags=re.IGNORECASE)


def without_drugs(text: str, lookup: DrugLookup) -> str:
    """``text`` without the words that named drugs (they match every passage of the drug)."""
    named = {w for said in [*lookup.said, *(m.said for m in lookup.matches)] for w in said.split()}
    return " ".join(w for w in words(text) if w not in named)
