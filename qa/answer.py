"""The third stage's default answerer: extractive, grounded, cited, offline.

It picks the sentences or list items of the top evidence that answer the question and
quotes them verbatim, each with the citation key of its passage. Units are scored with
the embedding model (the unit vectors stored at ingest, then a re-rank of the best few
with their own embeddings), with idf-weighted term overlap, and by the reader
(``qa/reader.py``): whether a unit carries what the question asks for (an amount, a
frequency, a storage condition ...) and about whom (a severity, a child, a clearance), or
someone else's value of it. A list item is quoted with its lead-in ("Do not take X if:"),
a short item whole; a question that asks two things gets a statement for each. Nothing
here knows any particular drug or question: the same scoring runs on every monograph.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from monorag.embed import Embedder
from monorag.index.lexical import LexicalIndex
from monorag.index.vectors import VectorFile
from monorag.qa.abstention import AbstentionPolicy
from monorag.qa.drugs import words
from monorag.qa.reader import (
    AXES,
    BARS,
    CASE_AXES,
    HOW_LONG,
    LENGTH_OF_TIME,
    SCHEDULE,
    SPOKEN_OF,
    STATED_ONLY_AS_ITSELF,
    TARGETS,
    VERDICT,
    WARNED,
    WARNS,
    WHO_NOT,
    Fit,
    Intent,
    asked_scope,
    clause_for,
    fit,
    intent_of,
    is_fragment,
    names_asked_scope,
    names_phrase,
    other_scope,
    scoped_elsewhere,
    states_target,
    sub_population,
)
from monorag.settings import AnswerSettings
from monorag.text import (
    GROUP_HEADER,
    LEAD_IN_WORDS,
    fold,
    is_lead_in,
    lost_lead_in,
    tokenize,
    unit_layout,
)
from monorag.types import SEP, Answer, Candidate, Citation, Evidence, Statement, Trace

if TYPE_CHECKING:
    from monorag.qa.plan import Query
    from monorag.qa.retrieve import Retrieval

_LIST_QUESTION = re.compile(
    r"^\s*(?:what|which)\s+(?:are|were)\b|\blist\b|\bwhat\s+(?:side\s+effects|adverse|drugs|"
    r"medications|interactions|contraindications)|\b(?:side\s+effects|adverse\s+(?:effects|"
    r"reactions)|contraindications|interact\w*|precautions|warnings)\b",
    re.IGNORECASE,
)
_AMOUNT = TARGETS["amount"][1]
"""How a statement carries an amount (a dose's number and unit, "two tablets")."""
_LABEL = re.compile(r"^[A-Z][^:.]{2,60}:\s")
_FAQ_QUESTION = re.compile(r"^\s*Q:\s", re.IGNORECASE)
# A line addressed to a chat model (a speaker label, talk of its instructions or prompt) is
# never a statement about the drug: text planted in a monograph must not be quoted, nor
# pulled in beside a real statement as its completion.
_TO_THE_MODEL = re.compile(
    r"^\s*(?:assistant|system|user|ai|chatbot|model)\s*:|\b(?:ignore|disregard|forget|override)\b"
    r"[^.]{0,30}\binstructions\b|\bsystem prompt\b|\bdeveloper mode\b",
    re.IGNORECASE,
)
_ANSWER_PREFIX = re.compile(r"^\s*A:\s*")
_OPENS = re.compile(
    r"(?::|\b(?:for example|such as|including|as follows|the following(?: \w+){0,2}))\s*$",
    re.IGNORECASE,
)
"""How a list item that heads a group of the items after it ends."""
_REFERS_BACK = re.compile(
    r"^(?:if\s+)?(?:this|these|any of (?:the above|these)|either of these)\b", re.IGNORECASE
)
"""A paragraph inside a list that speaks of the item before it ("If this applies to you,
tell your doctor immediately.")."""
_CONTINUES = re.compile(
    r"^(?:thereafter|then|after (?:that|this)|afterwards|subsequently)\b", re.IGNORECASE
)
_DIGIT = re.compile(r"\d")
_NEEDS_CONTEXT = re.compile(
    r"^(?:it|this|they|these|that|its|their)\b|"
    # "However, if it is nearly time for your next dose, skip the missed dose.": the rule
    # it qualifies is the sentence before.
    r"^(?:however|otherwise|instead|but)\b|"
    # "You should also do this for six months after": what "this" is, the sentence before says.
    r"^\w+ (?:should|must|will|can|need to) (?:also )?do (?:this|so|the same)\b",
    re.IGNORECASE,
)
_GENERIC = frozenset(
    """what how when which who does do can should much many dose dosage doses recommended
    drug drugs medicine medication medications tell about need needed required get gets
    getting pls please list ok okay remind me any anything just""".split()
)
"""Words of a question that say nothing of what it asks about (its wording, a clinician's
asides: "pls", "remind me"); a statement is not scored on them."""

# Weights of the unit score. Semantic similarity dominates (the unit's own embedding under
# its heading, and its in-context vector from ingest); overlap of the question's rare terms
# breaks ties between similar sentences; the passage's retrieval rank is a weak prior.
W_OWN = 0.6
W_OVERLAP = 0.30
W_PRIOR = 0.05
# The reader's weights (qa/reader.py): a statement carrying what the question asks for (its
# target: an amount, a frequency, a storage condition...) and about whom (its qualifiers)
# is preferred; one about another population, or without the target, loses support.
W_TARGET = 0.08
W_NO_TARGET = 0.10
W_MATCH = 0.08
W_MISSING = 0.04
W_CONFLICT = 0.40
W_NO_POPULATION = 0.08
W_FRAGMENT = 0.15
W_COMPOSITION = 0.12
W_LIMIT = 0.12
W_ADJUST = 0.08
W_CODRUG = 0.08
W_NO_UNIT = 0.15
READER = [
    W_NO_UNIT,
    W_TARGET,
    W_NO_TARGET,
    W_MATCH,
    W_MISSING,
    W_CONFLICT,
    W_NO_POPULATION,
    W_FRAGMENT,
    W_COMPOSITION,
    W_LIMIT,
    W_ADJUST,
    W_CODRUG,
]
ITEM_WORDS = 40
"""A list item up to this length is quoted whole (all its sentences)."""
PART_UNITS = 3
"""At most this many statements are added for each part of a question that asks several
things: the part's best statement and what completes it, not a second full answer."""
RARE_IDF = math.log(10.0)
"""The inverse document frequency (``LexicalIndex.idf``) of a word found in one passage in
ten: rarer words say what a question is about."""
CODRUG_WORDS = 40
"""What follows a statement naming a co-drug in its item or paragraph, quoted with it up
to this many words: the advice ("take it 12 hours before") follows the naming."""
SHORT_RUN = 8
SHORT_ITEM = 20
"""A paragraph is read as an item of a list whose markers were lost when at most this many
short paragraphs (each at most ``SHORT_ITEM`` words) stand between it and a line ending in ":"."""
COVER_MARGIN = 0.15
"""A runner-up that states a part of the question the best statement leaves out (the
other population named, the half-life after the enzyme) may be this far below it."""
COVER_TERMS = 0.25
"""... or that states this share of the question's idf-weighted words they lack."""
PLAIN_CHOICE = 3
RERANK_TOKENS = 64
# A re-ranked sentence is embedded from its first 64 word pieces: enough to say what a
# sentence is about, and a long list item no longer sets the cost of the whole batch.
MARGIN = 0.06
LIST_REACH = 0.25
TRACED = 8
"""Candidate statements kept in the trace."""
SHORT_ANSWER = 35
REST_WORDS = 30
"""An answer under ``SHORT_ANSWER`` words is completed by what the chosen statement's
paragraph or item goes on to say, up to ``REST_WORDS`` words."""


def scoring(settings: AnswerSettings, model: str) -> dict[str, Any]:
    """Everything the support score depends on: the abstention threshold is fitted for it."""
    return {
        "weights": [W_OWN, W_OVERLAP, W_PRIOR, PLAIN_CHOICE, RERANK_TOKENS],
        "reader": READER,
        "rerank": settings.rerank,
        "model": model,
    }


@dataclass(slots=True)
class Unit:
    """A candidate sentence or list item of one evidence passage."""

    evidence: Evidence
    rank: int
    index: int
    text: str
    item: int
    """Number of the list item the unit belongs to (0: not in a list)."""
    late: float
    overlap: float = 0.0
    heading: float = 0.0
    own: float | None = None
    score: float = 0.0
    reader: float = 0.0
    """The reader's bonus or penalty (qa/reader.py): target, qualifiers, fragment."""
    fit: Fit | None = None
    foreign: bool = False
    """Every amount it quotes is another drug's (``ExtractiveAnswerer._foreign``)."""
    lead: str = ""
    """The sentence that introduces the unit's list ("Do not take X if:"), quoted with it."""
    lead_index: int = -1
    """Where ``lead`` stands in the passage (it is quoted as a statement of its own)."""
    outer: str = ""
    """When ``lead`` heads a group inside a list (an item ending in ":"), the sentence that
    introduces the whole list ("Do not take X"): which group is nested under which cannot
    be read from flat markers, and the list's own lead-in is true of every item."""
    outer_index: int = -1
    context: tuple[str, ...] = ()
    """What the unit is read under for qualifiers: its list item's first sentence, the
    sentence before it, its lead-in, its heading (nearest first)."""


@dataclass(slots=True)
class Selection:
    """What the answerer chose, before it is written out."""

    units: list[Unit] = field(default_factory=list)
    support: float = 0.0
    listing: bool = False
    ranked: list[Unit] = field(default_factory=list)
    """The best candidates, best first (for the trace)."""
    codrug: bool = False
    """The chosen statement names a co-drug of the question (the interaction asked about):
    it is given whatever its support, since "not covered" would deny what it states."""
    undosed: bool = False
    """A dose question none of whose candidate statements gives an amount: refused."""
    targeted: bool = False
    """The best statement states every target the question asks for (a schedule, what to
    do about food ...): a part of an answered question is given on that alone."""
    specific: bool = False
    """The question asks for what a statement answers only by speaking of it (a missed
    dose, an overdose, a half-life: ``STATED_ONLY_AS_ITSELF``) and the chosen statement
    speaks of it: the second signal of abstention, which answers whatever the support
    (clinicians ask "took a handful by mistake" in words far from "If you take more X than
    you should", and the statement's own words already say it answers that)."""
    condition: bool = False
    """The question names a condition, asks for no target, and the chosen statement bars
    the drug in it: given whatever its support, as a co-drug's statement is."""
    barring: bool = False
    """The question asks only who must not take the drug, and the answer is the list a
    lead-in naming the drug bars it with ("Do not take X:"), or only for the warnings, and
    the answer is the list a warning lead-in heads ("Warnings and precautions Talk to your
    doctor before using X if:"): given whatever its support, since the question's words
    ("who shouldn't get X?", "main warnings?") are far from every item's."""
    unstated: str = ""
    """What the question asks for that no statement states ("a dose for severe renal
    impairment", "a percentage"): the answer is a refusal that says so."""


class ExtractiveAnswerer:
    """Selects and cites the sentences that answer a question."""

    name = "extractive"

    def __init__(
        self,
        unit_vectors: VectorFile,
        embedder: Embedder,
        lexical: LexicalIndex,
        settings: AnswerSettings,
        policy: AbstentionPolicy,
        is_drug: Callable[[str], bool] = lambda _word: False,
    ) -> None:
        """``is_drug(word)``: whether a (lower-case) word names a drug (the drug
        dictionary's verdict; see ``monorag.lexicon``)."""
        self.unit_vectors = unit_vectors
        self.embedder = embedder
        self.lexical = lexical
        self.settings = settings
        self.policy = policy
        self.is_drug = is_drug

    def answer(
        self,
        query: Query,
        retrieval: Retrieval,
        trace: Trace,
        parts: Sequence[tuple[Query, Retrieval]] = (),
    ) -> Answer:
        """Quote the statements of ``retrieval`` that answer ``query``, or refuse.

        ``parts``: for a question that asks several things, each part's query and
        evidence; what a supported part's answer states beyond the whole's is added (the
        thaw time beside the storage temperature), and a part the monographs do not
        answer adds nothing."""
        selection = self._selection(query, retrieval)
        chosen = {id(u) for u in selection.units}
        trace.support, trace.threshold = selection.support, self.policy.threshold
        trace.candidates = [
            Candidate(
                citation=u.evidence.chunk.name,
                text=u.text,
                score=u.score,
                similarity=u.own if u.own is not None else u.late,
                overlap=u.overlap,
                chosen=id(u) in chosen,
            )
            for u in selection.ranked[:TRACED]
        ]
        note = retrieval.note or query.note
        if selection.unstated and self.policy.supports(selection.support):
            trace.decided_by = "policy"
            refusal = self.policy.unstated(query.question, selection.unstated, retrieval.titles)
            trace.abstained_because = refusal.note
            return refusal
        # A part ("with food") is a few words: its support is low even where its best
        # statement is plainly about what it asks. Beside a whole or another part that
        # answers, the part is given when that statement states the part's target.
        whole = self._gives(selection)
        chosen_parts = [self._selection(q, r) for q, r in parts]
        some = whole or any(self._gives(s) for s in chosen_parts)
        answered = [
            s for s in chosen_parts if self._gives(s) or (some and s.targeted and not s.unstated)
        ]
        if not whole and not answered:
            trace.decided_by = "policy"
            refusal = self.policy.unsupported(query.question, selection.support, retrieval.titles)
            trace.abstained_because = refusal.note
            refusal.note = note or refusal.note
            return refusal
        if answered:
            selection = _merged(selection if whole else None, answered)
            trace.support = max(trace.support or 0.0, selection.support)
        trace.decided_by = "answer"
        answer = self.compose(
            query.question, selection, searched=retrieval.titles, note=note, named=query.named
        )
        answer.evidence = answer.evidence or retrieval.evidence
        return answer

    def _rare_words(self, weights: Mapping[str, float], evidence: list[Evidence]) -> set[str]:
        """The question's words that say what it is about: of three letters or more,
        found in fewer than one passage in ten (``RARE_IDF``), no word of the monographs'
        own names (a condition: "asthma", "ebv"; a co-drug the monographs name is the
        co-drug rule's)."""
        own = {w for ev in evidence for w in tokenize(" ".join((ev.chunk.drug, *ev.chunk.aliases)))}
        return {t for t, w in weights.items() if w >= RARE_IDF and len(t) >= 3 and t not in own}

    def _selection(self, query: Query, retrieval: Retrieval) -> Selection:
        return self.select(
            query.question,
            query.terms,
            query.vector,
            retrieval.evidence,
            named=query.named,
            codrugs=query.codrugs,
            topic=query.text,
            classed=query.classed,
            unnamed=query.unnamed,
        )

    def _gives(self, selection: Selection) -> bool:
        """Whether ``selection`` is an answer the policy lets through."""
        supported = (
            selection.codrug
            or selection.condition
            or selection.barring
            or self.policy.supports(selection.support)
            or selection.specific
        )
        return bool(selection.units) and not selection.undosed and supported

    def select(
        self,
        question: str,
        terms: str,
        query_vector: np.ndarray,
        evidence: list[Evidence],
        named: Mapping[str, str] | None = None,
        codrugs: Sequence[str] = (),
        topic: str = "",
        classed: Mapping[str, Sequence[str]] | None = None,
        unnamed: Sequence[str] = (),
    ) -> Selection:
        """Score the units of ``evidence`` and choose the answer's sentences or list.

        ``terms`` is the text whose words count for overlap (the question without drug
        names); ``query_vector`` embeds what the question asks about; ``named`` holds the
        drugs the question names, each with the words that named it (a statement of one
        drug's monograph that names another of them is the interaction the question asks
        about; ``Query.named``); ``codrugs`` are drugs it
        names that only the monographs' text mentions (the same holds for them); ``topic``
        is what is searched for (a follow-up's question with the previous turn's topic);
        ``classed`` holds, per drug, the classes of another drug named that stand in its
        monograph for that drug (``Query.classed``); ``unnamed`` is the indication a dose
        question names that no monograph searched names (``Query.unnamed``).
        """
        layouts: dict[str, list[tuple[int, int, int]]] = {}
        units = self._candidates(query_vector, evidence, layouts)
        if not units:
            return Selection()
        weights = {t: self.lexical.idf(t) for t in dict.fromkeys(tokenize(terms))}
        weights = {t: w for t, w in weights.items() if t not in _GENERIC} or weights
        total = sum(weights.values()) or 1.0
        intent = intent_of(question)
        own = intent.targets or "reproduction" in intent.qualifiers
        if not own and topic and topic != question:
            # "and if CrCl is 15?" after a dose question asks for the dose: a follow-up
            # that asks for nothing of its own asks what the previous turn asked. Not
            # "what if she's breastfeeding?": whether it is safe is a question of its own.
            inherited = intent_of(topic).targets
            if "amount" in inherited and intent.population:
                # "and if she has severe hepatic impairment?" after "dose, w food or not?"
                # asks the case's dose, not the food advice again.
                inherited = frozenset({"amount"})
            intent = replace(intent, targets=inherited)
        names = _other_names(evidence, named or {}, codrugs, classed or {})
        for unit in units:
            # A unit is read under its heading: "Common Side Effects" answers "common".
            heading = set(tokenize(unit.evidence.chunk.section))
            terms = set(tokenize(f"{_leaf(unit)} {unit.lead} {unit.text}"))
            unit.overlap = sum(w for t, w in weights.items() if t in terms) / total
            unit.heading = sum(w for t, w in weights.items() if t in heading) / total
            unit.fit = fit(intent, unit.text, unit.context)
            unit.foreign = "amount" in intent.targets and self._foreign(unit, question)
            unit.reader = _reader_bonus(unit.fit) + _codrug(unit, names)
            unit.score = unit.late + self._bonus(unit)
        units.sort(key=lambda u: -u.score)
        top = units[: self.settings.rerank or PLAIN_CHOICE]
        if self.settings.rerank:
            # Each unit is embedded under its own heading: "Common Side Effects: Fatigue,
            # ..." means something a bare list of symptoms does not.
            vectors = self.embedder.embed(
                [f"{_leaf(u)}: {_quoted(u)}" for u in top], max_tokens=RERANK_TOKENS
            )
            for unit, vector in zip(top, vectors, strict=True):
                unit.own = float(np.dot(vector, query_vector))
                unit.score = W_OWN * unit.own + (1 - W_OWN) * unit.late + self._bonus(unit)
            top.sort(key=lambda u: -u.score)
        best = top[0]
        if intent.qualifiers or intent.measures:
            # Among near-ties, the statement that carries more of the question's qualifiers
            # answers it (the severe line over the line for another sub-case beside it);
            # support stays the best score, so abstention is unchanged.
            best = max(
                (u for u in top if u.score >= top[0].score - MARGIN / 2),
                key=lambda u: (_matched(u) - 2 * _conflicts(u), _named(intent, u), u.score),
            )
        elif "amount" in intent.targets:
            best = _general(intent, top)
        no_dose = False
        if intent.targets == {"amount"} and not _states_amount(best):
            # A dose question is answered by a statement of the amount: the line naming
            # the indication the question names ("X is used to treat Y") matches its
            # words better but does not answer it.
            stating = [u for u in units if _states_amount(u)]
            if stating:
                best = max(
                    stating,
                    key=lambda u: (_matched(u) - 2 * _conflicts(u), _named(intent, u), u.score),
                )
                top = _with(top, best)
            else:
                # No statement gives a dose: the closest line (how it is given, a strength
                # such as "Each syringe contains 546 mg") would be passed off as one. Not
                # for "how many cells are in one implant?": a content, not a dose.
                no_dose = bool(_DOSE_WORD.search(question))
        plain = intent.targets == {"amount"} and not (intent.qualifiers or intent.measures)
        if plain and topic in ("", question) and _for_others(intent, best):
            # The mirror of the case rule below: a dose question naming nobody in particular
            # is answered by the dose for everyone, not by a sub-population's beside it.
            # (A follow-up names its own subject: "and if of Asian ancestry?")
            # Else the general line of the best one's passage ("The recommended dose is 4
            # capsules (600 mg) twice a day" beside "If you have severe liver problems:").
            # Not a line pointing back ("This means you take a total of 6 capsules"): it is
            # the sentence before it's, whoever that is for.
            general = _near(top, units, best.evidence, lambda u: _general_amount(intent, u))
            if general:
                best = max(general, key=lambda u: (_named(intent, u), u.score))
        naming = [u for u in units if _codrug(u, names)]
        if naming and all(u is not best for u in naming):
            # The question asks about a drug these monographs name: the statement that
            # names it answers, over a closer line about something else.
            best = max(naming, key=lambda u: u.score)
            top = _with(top, best, first=True)
        barring = []
        if not intent.targets and not naming:
            # "asthmatic with htn - is carvedilol an option?": a re-ranked statement that
            # bars the drug in a condition the question names ("contraindicated in ...
            # bronchial asthma") answers, whatever its support: "not covered" would deny
            # a contraindication the monograph states.
            rare = self._rare_words(weights, evidence)
            barring = [u for u in top if _BARS_USE.search(f"{u.lead} {u.text}") and _names(u, rare)]
            if barring and all(u is not best for u in barring):
                best = max(barring, key=lambda u: u.score)
        unstated = ""
        case = _case(intent)
        if case and "amount" in intent.targets and not naming and not _answers_case(best):
            # A dose question about a case (a child, severe renal impairment) is answered
            # by a statement of the amount for that case, never by another case's amount
            # nor by the general dose beside it: without one, the answer says so.
            stating = [u for u in units if _answers_case(u)]
            if stating:
                best = max(stating, key=lambda u: (_matched(u), _named(intent, u), u.score))
                top = _with(top, best)
            else:
                unstated = f"a dose for {case}"
        indication = asked_scope(question) if "amount" in intent.targets else []
        dose_for = f"a dose for {' '.join(indication)}"
        if indication and not (naming or unstated) and _other_indication(indication, best):
            # "Dose for GAD?" where the closest amount is the one "for ALL": the dose for
            # the indication asked, else the answer says the monograph states none.
            naming_it = [
                u
                for u in units
                if _states_amount(u) and names_phrase(indication, (u.text, *u.context[:1]))
            ]
            if naming_it:
                best = max(naming_it, key=lambda u: u.score)
                top = _with(top, best)
            else:
                unstated = dose_for
        if no_dose and indication and not (naming or unstated):
            unstated = dose_for
        if unnamed and "amount" in intent.targets and not (naming or unstated):
            # "Flagyl dose for c diff" where the monograph never names C. difficile: the
            # closest dose line (a hepatic adjustment) is for someone else.
            unstated = f"a dose for {' '.join(unnamed)}"
        # Without an indication to name, the passages found may have missed the dose: the
        # answer says only that they do not answer (``undosed``), not that none is stated.
        undosed = no_dose and not (naming or unstated)
        if intent.asked and not (naming or unstated) and not _carries_asked(best):
            # "What % ...?", "how many weeks ...?": a statement without a number of that
            # kind answers something else, however close its words. Beyond the re-ranked
            # few, the best statement's own passage may state it ("Do not store above 25 C"
            # beside "Keep it in the carton").
            carrying = _near(top, units, top[0].evidence, _carries_asked)
            if carrying:
                best = max(carrying, key=lambda u: u.score)
            else:
                unstated = intent.asked
        specific = sorted(intent.targets & STATED_ONLY_AS_ITSELF.keys())
        if specific and not (naming or unstated) and not any(_speaks(specific, u) for u in units):
            # "Missed dose - how long can they still take it?" where no passage found
            # speaks of a missed dose: the closest dose line does not answer it.
            unstated = STATED_ONLY_AS_ITSELF[specific[0]]
        speaking_only = False
        if specific and own and not (naming or unstated) and not _speaks(specific, best):
            # Only a statement speaking of it answers: "accidentally put 3-4 drops in"
            # is closer to the instructions for putting drops in than to "If you use
            # more X than you should", which is the answer. Not for a follow-up that
            # asks nothing of its own ("and if she vomits?" after a missed dose).
            best = max(
                (u for u in units if _speaks(specific, u)),
                key=lambda u: (_speaks(specific, u, own=True), u.score),
            )
            speaking_only = True
        strict = [t for t in specific if t in SPOKEN_ONLY]
        if (
            strict
            and not (naming or unstated)
            and not any(_states_specific(t, best) for t in strict)
        ):
            # "Supplied as 50 mg tablets" under a "How Supplied and Storage" heading is
            # not how to store it; the line of its passage that says so is.
            saying = [
                u
                for u in units
                if u.evidence is best.evidence and any(_states_specific(t, u) for t in strict)
            ]
            if saying:
                best = max(saying, key=lambda u: u.score)
        how_long = HOW_LONG.search(question) and "amount" not in intent.targets
        if how_long and not (intent.asked or naming or unstated):
            # "Once opened, how long can it be used?": the re-ranked statement stating a
            # length of time ("up to 6 weeks"), or else one of the best one's passage, over
            # a closer one stating none ("Once the tray is opened it is ready to use").
            # None stating one is no refusal: "until the disease progresses" and "use it
            # at once" answer it too. A line it leans on ("You should also do this for six
            # months after") comes along with it. A dose question's "for how long" is the
            # course's, a part beside the amount (``_covers_more``), not its answer.
            lasting = _near(top, units, top[0].evidence, lambda u: _lasts(u) and not _conflicts(u))
            if lasting and not _lasts(best):
                best = max(lasting, key=lambda u: u.score)
        if best.fit is not None and best.fit.fragment and not best.lead:
            # A heading line or bare entry ("Pregnancy and breast-feeding") is no answer
            # on its own: the best statement that is one answers.
            whole = [u for u in top if u.fit is not None and not u.fit.fragment]
            if whole:
                best = whole[0]
        in_top = {id(u) for u in top}
        rest = [u for u in units if id(u) not in in_top]
        selection = Selection(
            support=top[0].score,
            listing=bool(_LIST_QUESTION.search(question)) or intent.broad,
            ranked=top + rest[: TRACED - len(top)],
            codrug=bool(naming),
            condition=bool(barring) and any(u is best for u in barring),
            targeted=bool(
                intent.targets and best.fit and best.fit.targets and not best.fit.missing_targets
            ),
            specific=not unstated and any(_states_specific(t, best) for t in specific),
            unstated=unstated,
            undosed=undosed,
        )
        barred = bool(WHO_NOT.search(question))
        warned = not barred and bool(WARNED.search(question))
        listed = (
            self._listed(best, units, intent.broad, barred, warned) if selection.listing else None
        )
        if selection.listing and barred and not (listed is not None and BARS.search(listed.lead)):
            # No candidate is an item of the contraindications list: it is read from the
            # passages found, however far its items' words are from "who shouldn't".
            listed = _barring_list(evidence, layouts) or listed
        if listed is not None:
            selection.units = self._list_of(listed, layouts)
            plain = not (intent.targets or intent.qualifiers or intent.measures or naming)
            # "Who shouldn't get X?" and "main warnings for X?", asking nothing else, are
            # answered by the list that bars or warns, whatever its support.
            selection.barring = plain and (
                (barred and _bars_its_drug(listed)) or (warned and bool(WARNS.search(listed.lead)))
            )
        else:
            share = {t: w / total for t, w in weights.items()}
            naming_best = [u for u in naming if u is not best]
            selection.units = self._prose(
                best,
                top,
                rest,
                intent,
                layouts,
                share,
                naming=naming_best if naming else None,
                question=question,
            )
            if selection.specific and (
                speaking_only or not self.policy.supports(selection.support)
            ):
                # Chosen for speaking of it over closer lines, or given whatever its
                # support: the runners-up are about something else (the instructions for
                # putting drops in, not for having put in too many) or as far from the
                # question. What speaks of it in the passage answers, the best statement
                # read on to its paragraph's end.
                kept = [
                    u
                    for u in selection.units
                    if u is best
                    or (u.evidence.chunk.id == best.evidence.chunk.id and _speaks(specific, u))
                ]
                more = _read_on(best, layouts, intent, kept)
                selection.units = sorted([*kept, *more], key=lambda u: (u.index, u.item))
            elif selection.specific and intent.targets & _ADVICE:
                # Close enough to answer on its own, advice after an overdose or a missed
                # dose still comes with what its paragraph goes on to say ("You may need
                # medical attention. You may notice that your heart is beating faster ..."
                # for "what sx to expect"): the steps of one piece of advice.
                more = [
                    u
                    for u in _read_on(best, layouts, intent, selection.units)
                    if not _ASK_IF_UNSURE.match(u.text)
                ]
                at = next(
                    (i + 1 for i, u in enumerate(selection.units) if u is best),
                    len(selection.units),
                )
                selection.units[at:at] = more
        return selection

    @staticmethod
    def _listed(
        best: Unit,
        units: list[Unit],
        broad: bool = False,
        barred: bool = False,
        warned: bool = False,
    ) -> Unit | None:
        """For a list question: the best list item under a heading that names the topic
        (for a broad question, "who should not take X", any list item with a lead-in; for
        one asking who must not, a list whose lead-in bars: "Do not take X if"; for one
        asking for the warnings, a list whose lead-in warns: ``WARNS``)."""
        items = [u for u in sorted(units, key=lambda u: -u.score) if u.item]
        if barred or warned:
            # "Who shouldn't get X?" is answered by the contraindications, not by the
            # "talk to your doctor before" list beside them, however much closer its words
            # ("who", "take" say little about which list); "main warnings?" by that list.
            lead = BARS if barred else WARNS
            for unit in items:
                if unit.lead and lead.search(unit.lead):
                    return unit
        ranked = [u for u in items if u.score >= best.score - LIST_REACH]
        for unit in ranked:
            if unit.heading > 0 or (broad and unit.lead):
                return unit
        return None

    @staticmethod
    def _bonus(unit: Unit) -> float:
        return W_OVERLAP * unit.overlap + W_PRIOR / (1 + unit.rank) + unit.reader

    def _candidates(
        self,
        query_vector: np.ndarray,
        evidence: list[Evidence],
        layouts: dict[str, list[tuple[int, int, int]]],
    ) -> list[Unit]:
        """The units of ``evidence`` closest to the question by their in-context vectors."""
        layouts.update({ev.chunk.id: unit_layout(ev.chunk.text) for ev in evidence})
        vectors = self.unit_vectors.first({cid: len(lay) for cid, lay in layouts.items()})
        scored: list[tuple[float, int, int, str, int]] = []
        for rank, ev in enumerate(evidence):
            rows = vectors.get(ev.chunk.id)
            if rows is None:
                continue
            text = ev.chunk.text
            layout = layouts[ev.chunk.id]
            for index, ((start, end, item), late) in enumerate(
                zip(layout, rows @ query_vector, strict=True)
            ):
                unit_text = " ".join(text[start:end].split())
                if quotable(unit_text):
                    scored.append((float(late), rank, index, unit_text, item))
        # Twelve per passage (counted over all passages) is plenty: the rest, far from the
        # question, cannot reach the re-rank.
        scored.sort(key=lambda u: -u[0])
        out = []
        for late, rank, index, text, item in scored[: 12 * len(evidence)]:
            ev = evidence[rank]
            unit = Unit(ev, rank, index, _ANSWER_PREFIX.sub("", text), item, late)
            (unit.lead, unit.lead_index), (unit.outer, unit.outer_index), unit.context = (
                _surroundings(ev, layouts[ev.chunk.id], index)
            )
            out.append(unit)
        return out

    def _list_of(self, best: Unit, layouts: dict[str, list[tuple[int, int, int]]]) -> list[Unit]:
        """The whole list around ``best`` in its passage, one unit per list item, in order,
        after the sentence that introduces it."""
        layout = layouts[best.evidence.chunk.id]
        text = best.evidence.chunk.text
        lo = hi = best.index
        while lo > 0 and layout[lo - 1][2]:
            lo -= 1
        while hi + 1 < len(layout) and layout[hi + 1][2]:
            hi += 1
        items: dict[int, list[int]] = {}
        for i in range(lo, hi + 1):
            items.setdefault(layout[i][2], []).append(i)
        out = []
        for lead, at in ((best.outer, best.outer_index), (best.lead, best.lead_index)):
            if lead and 0 <= at < lo:
                out.append(Unit(best.evidence, best.rank, at, lead, 0, best.late))
        for number, indexes in list(items.items())[: self.settings.max_list_items]:
            start, end = layout[indexes[0]][0], layout[indexes[-1]][1]
            joined = " ".join(text[start:end].split())
            out.append(Unit(best.evidence, best.rank, indexes[0], joined, number, best.late))
        return out

    def _prose(
        self,
        best: Unit,
        ranked: list[Unit],
        rest: list[Unit],
        intent: Intent,
        layouts: dict[str, list[tuple[int, int, int]]],
        share: dict[str, float],
        naming: list[Unit] | None = None,
        question: str = "",
    ) -> list[Unit]:
        """``best`` and what completes it; ``naming``, when the question names a co-drug,
        holds the other statements naming it: those, and only those, join ``best`` (every
        statement a monograph makes about the interaction, not a closer line about
        something else)."""
        chosen = [best]
        if naming is not None:
            for unit in sorted(naming, key=lambda u: -u.score):
                if len(chosen) >= self.settings.max_sentences:
                    break
                # Statements naming one drug share words: only a repeat is left out.
                if not any(_repeats(unit.text, c.text) for c in chosen):
                    chosen.append(unit)
            # What the paragraph or item naming the co-drug goes on to say is about it
            # ("... such as famotidine. Take it at least 12 hours before ...").
            # Not once it turns to a drug nobody asked about ("Omeprazole also increases
            # exposure of cilostazol ...": another drug's interaction and its dose).
            asked = set(tokenize(question))
            for unit in list(chosen):
                own = {
                    w
                    for a in (unit.evidence.chunk.drug, *unit.evidence.chunk.aliases)
                    for w in tokenize(a)
                }
                for later in _following(unit, layouts, CODRUG_WORDS):
                    if self._names_another(later.text, asked | own):
                        break
                    if not _holds(chosen, later):
                        chosen.append(later)
            ranked, rest = [], []
        companions = [u for u in ranked if u.foreign and u.score > best.score and _named(intent, u)]
        if companions and not best.foreign:
            # The asked drug's own amount was chosen over a closer line giving another
            # drug's for the indication asked ("In NSTE-ACS, initiate aspirin (75 mg to
            # 325 mg once daily) and continue it in combination with clopidogrel"): that
            # line is the rest of the regimen, and the closest such line follows it.
            chosen.append(max(companions, key=lambda u: u.score))
        for unit in ranked[1:]:
            if len(chosen) >= self.settings.max_sentences:
                break
            if unit.score < best.score - MARGIN or any(_same(unit.text, c.text) for c in chosen):
                continue
            # A runner-up must match the question's terms as well as the best does, or be
            # nearly as close in meaning: this keeps loosely related lines out.
            if unit.overlap < best.overlap and (unit.own or 0.0) < (best.own or 0.0) - MARGIN / 2:
                continue
            if unit.fit is not None and unit.fit.conflicts:
                continue  # never the neighbouring population's statement beside the right one
            if _elsewhere(intent, unit, best) or (unit.foreign and not best.foreign):
                continue  # nor an amount for a population, indication or drug not asked about
            if self._points_elsewhere(intent, unit, best, chosen, layouts):
                continue  # nor a line pointing back at such a statement ("This means ...")
            if (intent.qualifiers or intent.measures) and _matched(unit) < _matched(best):
                continue  # nor the line for another sub-case of the same item
            if unit.score > best.score and _states_amount(best) and not _states_amount(unit):
                continue  # nor a closer line passed over because it states no amount
            chosen.append(unit)
        # A question that asks two things (the enzyme and the half-life; women and men)
        # gets the best statement for the part the chosen ones leave out.
        for unit in [*ranked[1:], *rest]:
            if len(chosen) >= self.settings.max_sentences + 1:
                break
            if unit in chosen or unit.score < best.score - COVER_MARGIN:
                continue
            if unit.fit is None or unit.fit.conflicts or unit.fit.fragment:
                continue
            if _elsewhere(intent, unit, best) or (unit.foreign and not best.foreign):
                continue  # nor a companion drug's amount beside the asked drug's dose
            if best.fit is not None and unit.fit.missing_targets > best.fit.missing_targets:
                continue
            if _covers_more(intent, unit, chosen, share) and not any(
                _same(unit.text, c.text, figures=True) for c in chosen
            ):
                chosen.append(unit)
        # A sentence that leans on the one before it ("It is reduced to ...", or a line
        # under a "Patients with Renal Impairment: ..." lead-in) brings that one along;
        # if that one is about another population, only its label comes along. A line
        # brought along that opens by pointing back ("You should also do this for six
        # months", brought by "She should also use ...") brings its own predecessor ("...
        # use condoms"): one more step back, not more.
        first, leaning = list(chosen), list(chosen)
        for unit in leaning:
            if unit.index > 0 and self._leans_back(unit, layouts):
                prev = _at(unit, layouts, unit.index - 1)
                if not quotable(prev.text) or _holds(chosen, prev):
                    continue
                if _case_alone(intent, unit, prev):
                    continue
                if fit(intent, prev.text).conflicts or other_scope(
                    intent, prev.text, (), unit.text, unit.context
                ):
                    label = _LABEL.match(prev.text)
                    if label and not unit.lead:
                        unit.lead, unit.lead_index = label.group(0).strip(), unit.index - 1
                    continue
                chosen.append(prev)
                if any(u is unit for u in first) and _NEEDS_CONTEXT.match(prev.text):
                    leaning.append(prev)
        # A short list item is one statement: its later sentences come along ("Warfarin:
        # may enhance its effect." + "Close monitoring of INR is required.").
        for unit in list(chosen):
            if not unit.item or intent.qualifiers or intent.measures:
                continue  # an item's other sentences may be about other sub-cases
            layout = layouts[unit.evidence.chunk.id]
            same = [i for i, (_, _, item) in enumerate(layout) if item == unit.item]
            start, end = layout[same[0]][0], layout[same[-1]][1]
            if len(unit.evidence.chunk.text[start:end].split()) > ITEM_WORDS:
                continue
            for i in same:
                later = _at(unit, layouts, i)
                if i <= unit.index or _holds(chosen, later):
                    continue
                if not fit(intent, later.text).conflicts and not other_scope(
                    intent, later.text, (), unit.text, unit.context
                ):
                    chosen.append(later)
        # A line that ends in ":" introduces what follows it: the next unit comes along,
        # and when that opens a short list of cases ("If you miss a dose and notice:" /
        # "within 12 hours ..." / "12 hours or more ..."), each case's first sentence:
        # one case alone answers half the question.
        # Only for a question that names no case of its own: "noticed 14 hours late" or
        # "for a teen" asks for one case, and the others would be its neighbours.
        open_question = not (
            intent.qualifiers or intent.measures or naming or _DIGIT.search(question)
        )
        for unit in list(chosen):
            if unit.text.endswith(":") and unit.index + 1 < len(layouts[unit.evidence.chunk.id]):
                lead, given = unit, unit.index + 1
            elif (
                open_question
                and unit.item
                and unit.lead.endswith(":")
                and 0 <= unit.lead_index < unit.index
            ):
                lead, given = _at(unit, layouts, unit.lead_index), unit.index
            else:
                continue
            for nxt in _cases_after(lead, layouts):
                if _holds(chosen, nxt):
                    continue
                # Never another population's case ("Adults: ..." / "Children: ..."): a
                # question naming no one is about the general patient.
                if nxt.index == given or (
                    open_question and not sub_population(intent, (nxt.text, lead.text))
                ):
                    chosen.append(nxt)
        # The same for cases stated sentence by sentence ("If it is less than 12 hours
        # since ..., take it" / "If it is more than 12 hours ..., skip it"): a question
        # naming no case gets the other side of the line the best one draws.
        if open_question:
            for near in _neighbours(best, layouts):
                if _other_case(best, near) and not _holds(chosen, near):
                    chosen.append(near)
        # A dose sentence continued by the next one ("This is increased to ...") brings it,
        # and so on down the schedule ("From the fourth week on, the usual dose is ...").
        if "amount" in intent.targets:
            for unit in list(chosen):
                nxt = _continuation(unit, layouts)
                while nxt is not None and not _holds(chosen, nxt) and len(chosen) < STEPS:
                    chosen.append(nxt)
                    nxt = _continuation(nxt, layouts)
        # A dose answer states the schedule the passage gives beside the amount: the
        # sentence before or after it ("... repeated in 21-day cycles", "every day for 5
        # days, then 3 weeks without"), when it is about no other case.
        if "amount" in intent.targets:
            # A schedule told over several sentences or items ("every day for 5 days, then
            # 3 weeks without" / "This is called a treatment cycle and it is repeated every
            # 4 weeks") is followed on: a line of the answer that names an amount brings
            # the schedule after it, and that schedule line the next.
            queue = [c for c in chosen if _AMOUNT.search(c.text)]
            for unit in queue:
                onward = not _states_amount(unit)
                for near in [*_neighbours(unit, layouts), *_next_item(unit, layouts)]:
                    if onward and near.index < unit.index:
                        continue
                    if len(chosen) >= self.settings.max_sentences + 2:
                        break
                    if _holds(chosen, near):
                        continue
                    if not SCHEDULE.search(near.text) or len(near.text.split()) > ITEM_WORDS:
                        continue
                    if _AMOUNT.search(near.text) and not (
                        near.index > unit.index and _CONTINUES.match(near.text)
                    ):
                        continue  # an amount of its own: another case's line
                    if fit(intent, near.text).conflicts or other_scope(
                        intent, near.text, (), unit.text, unit.context
                    ):
                        continue
                    chosen.append(near)
                    if near.index > unit.index:
                        queue.append(near)
            if _ASKS_CYCLE.search(question) and not any(_CYCLE.search(c.text) for c in chosen):
                cycle = _cycle_of(best, [*ranked, *rest], intent)
                if cycle is not None:
                    chosen.append(cycle)
                    if cycle.index > 0 and _NEEDS_CONTEXT.match(cycle.text):
                        # "This 21 day period is one cycle." says which days with the one before.
                        prev = _at(cycle, layouts, cycle.index - 1)
                        if quotable(prev.text) and not _AMOUNT.search(prev.text):
                            chosen.append(prev)

        # One short sentence is seldom the whole statement: the rest of its paragraph or
        # item ("... you can crush it." + "Mix it with water or apple sauce"), else the
        # sentence it follows ("take it within the same day." before "Do not take two"),
        # comes along, unless it is about another case: one with a number of its own
        # ("less than 6 hours", "two tablets") is another case's line.
        def completes(near: Unit | None) -> bool:
            return (
                near is not None
                and sum(len(u.text.split()) for u in chosen) < SHORT_ANSWER
                and len(near.text.split()) <= REST_WORDS
                and not _holds(chosen, near)
                and not _DIGIT.search(near.text)
                and not _elsewhere(intent, near, best)
                and not fit(intent, near.text).conflicts
            )

        for near in _following(best, layouts, REST_WORDS):
            if not completes(near):
                break
            chosen.append(near)
        # A short sentence that a short list follows is that list's lead-in, whatever its
        # punctuation ("If you cannot swallow the tablet whole, you can crush it." / "Mix
        # it with water or soft foods" / "Take it right away").
        layout = layouts[best.evidence.chunk.id]
        if not best.item and best.index + 1 < len(layout) and layout[best.index + 1][2]:
            for case in _cases_after(best, layouts):
                if not completes(case):
                    break
                chosen.append(case)
        before = _preceding(best, layouts)
        if completes(before):
            chosen.append(before)
        chosen.sort(key=lambda u: (u.rank, u.index))
        # One lead-in per list, quoted as its own statement before the first of its items
        # in the answer (every statement stays a verbatim quote), unless the item has a
        # label of its own ("Lifestyle Considerations: ...").
        seen: set[tuple[str, int]] = set()
        for unit in list(chosen):
            if _LABEL.match(unit.text):
                continue
            for lead, at in ((unit.lead, unit.lead_index), (unit.outer, unit.outer_index)):
                key = (unit.evidence.chunk.id, at)
                if not lead or key in seen:
                    continue
                seen.add(key)
                if _SUBHEADING.match(lead) and is_fragment(lead):
                    continue  # "How much to use", "What X contains": a heading, no statement
                if not any(
                    c.evidence is unit.evidence and c.index == at and c.text == lead for c in chosen
                ):
                    chosen.append(Unit(unit.evidence, unit.rank, at, lead, 0, unit.late))
        chosen.sort(key=lambda u: (u.rank, u.index, u.item))
        return chosen

    @staticmethod
    def _points_elsewhere(
        intent: Intent,
        unit: Unit,
        best: Unit,
        chosen: list[Unit],
        layouts: dict[str, list[tuple[int, int, int]]],
    ) -> bool:
        """Whether ``unit`` opens by pointing back ("This means you take a total of 6
        capsules") at a sentence not chosen that states an amount for a population or
        indication ``best`` is not about (a paragraph of its own after "If you have severe
        liver problems: 3 capsules")."""
        if unit.index == 0 or not _NEEDS_CONTEXT.match(unit.text):
            return False
        prev = _at(unit, layouts, unit.index - 1)
        return not _holds(chosen, prev) and _elsewhere(intent, prev, best)

    def _foreign(self, unit: Unit, question: str) -> bool:
        """Whether every amount the unit quotes follows another drug's name ("In patients
        with NSTE-ACS, initiate aspirin (75 mg to 325 mg once daily) and continue it in
        combination with clopidogrel": aspirin's dose, in the clopidogrel label)."""
        if not _AMOUNT.search(unit.text):
            return False  # no amount to own: no clause to cut (this runs for every unit)
        chunk = unit.evidence.chunk
        quoted = clause_for(question, unit.text, chunk.drug) or unit.text
        own = {fold(w) for name in (chunk.drug, *chunk.aliases) for w in words(name)}
        owners = [self._owner(quoted[: m.start()], own) for m in _AMOUNT.finditer(quoted)]
        return bool(owners) and all(o == "other" for o in owners)

    def _owner(self, before: str, own: set[str]) -> str:
        """Whose amount follows ``before``: the nearest drug named in its clause, at most
        ``OWNER_WORDS`` words back ("the aspirin doses in this trial ranged from" 75 mg):
        "own" for the monograph's drug or none named, "other" for another drug."""
        clause = re.split(r"[;:.,](?:\s|$)", before)[-1]
        # The rest of a range ("75 mg to" before 325 mg) is no word of the clause.
        said = [w for w in words(_AMOUNT.sub(" ", clause)) if not w[:1].isdigit()]
        for word in reversed(said[-OWNER_WORDS:]):
            if fold(word) in own:
                return "own"
            if len(word) > 3 and self.is_drug(word):
                return "other"
        return "own"

    def _names_another(self, text: str, known: set[str]) -> bool:
        """Whether ``text`` names a drug that is not among the ``known`` words."""
        return any(
            self.is_drug(w)
            for w in words(text)
            if len(w) > 3 and w not in known and fold(w) not in known
        )

    @staticmethod
    def _leans_back(unit: Unit, layouts: dict[str, list[tuple[int, int, int]]]) -> bool:
        if _NEEDS_CONTEXT.match(unit.text):
            return True
        text = unit.evidence.chunk.text
        layout = layouts[unit.evidence.chunk.id]
        s, e, item = layout[unit.index - 1]
        if unit.item and item == unit.item:
            return True  # a later sentence of a list item is read with the item's first
        same_block = "\n\n" not in text[e : layout[unit.index][0]] and item == unit.item
        return same_block and bool(_LABEL.match(text[s:e])) and not _LABEL.match(unit.text)

    def compose(
        self,
        question: str,
        selection: Selection,
        *,
        searched: list[str],
        note: str = "",
        named: Mapping[str, str] | None = None,
    ) -> Answer:
        """Write the selection out as an ``Answer`` with keys and citations; ``named`` holds
        the words that named each searched monograph (``Query.named``)."""
        keys: dict[str, str] = {}
        citations: list[Citation] = []
        quotes: dict[str, list[str]] = {}
        for unit in selection.units:
            chunk = unit.evidence.chunk
            if chunk.id not in keys:
                keys[chunk.id] = f"S{len(keys) + 1}"
                unit.evidence.key = keys[chunk.id]
            quotes.setdefault(chunk.id, []).append(unit.text)
        drugs = list(dict.fromkeys(u.evidence.chunk.drug for u in selection.units))
        # Statements say which drug they are about whenever more than one is in play: an
        # unlabelled dose answering "X and Y?" would read as applying to both.
        labelled = len(drugs) > 1 or len(searched) > 1
        # A monograph named by the words that named a quoted one is of the same drug (an
        # INN several products share): not another drug the answer leaves out.
        quoted_by = {named.get(d) for d in drugs} - {None, ""} if named else set()
        unquoted = (
            [d for d in searched if d not in drugs and not (named and named.get(d) in quoted_by)]
            if len(searched) > 1
            else []
        )
        if unquoted:
            only = (
                f"The answer quotes only the {' and '.join(drugs)} "
                f"monograph{'s' if len(drugs) > 1 else ''}, nothing about "
                f"{' or '.join(unquoted)}: ask about {' and '.join(unquoted)} separately."
            )
            note = f"{note} {only}" if note else only
        # A sentence stating two cases ("40 to 50 IU/kg for minor bleeding and 50 to 80
        # IU/kg for major") is quoted for the case asked only (the citation keeps it whole).
        said = [
            clause_for(question, u.text, u.evidence.chunk.drug) or u.text for u in selection.units
        ]
        statements = [
            Statement(
                text=f"{u.evidence.chunk.drug}: {text}" if labelled else text,
                keys=[keys[u.evidence.chunk.id]],
            )
            for u, text in zip(selection.units, said, strict=True)
        ]
        for unit in selection.units:
            chunk = unit.evidence.chunk
            key = keys[chunk.id]
            if any(c.key == key for c in citations):
                continue
            citations.append(Citation.of(chunk, key, " ".join(quotes[chunk.id])))
        if selection.listing and all(u.item for u in selection.units[1:]):
            text = "\n".join(
                f"- {s.text} [{s.keys[0]}]" if u.item else f"{s.text} [{s.keys[0]}]"
                for s, u in zip(statements, selection.units, strict=True)
            )
        else:
            text = " ".join(f"{s.text} [{s.keys[0]}]" for s in statements)
        return Answer(
            question=question,
            text=text,
            abstained=False,
            citations=citations,
            mode="extractive",
            statements=statements,
            drugs=drugs,
            note=note,
            evidence=[u.evidence for u in selection.units],
        )


def _speaks(targets: Sequence[str], unit: Unit, *, own: bool = False) -> bool:
    """The unit (read under its context and heading; with ``own``, in its own words and
    lead-in) speaks of one of ``targets``."""
    said = (unit.text, unit.lead)
    if not own:
        said = (*said, *unit.context, unit.evidence.chunk.section)
    return any(states_target(target, said) for target in targets)


SPOKEN_ONLY = ("storage", "mechanism")
"""Targets whose statement pattern is loose ("opened", "works"): a statement answers
one whatever its support only when it speaks of it in its own words (``SPOKEN_OF``: "Store
at 25°C", "works by blocking"), not "They should not be opened"."""


def _states_specific(target: str, unit: Unit) -> bool:
    """Whether ``unit`` states ``target`` so that it answers whatever its support."""
    if target in SPOKEN_ONLY:
        return bool(SPOKEN_OF[target].search(f"{unit.lead} {unit.text}"))
    return states_target(target, (unit.text, *unit.context))


def _bars_its_drug(unit: Unit) -> bool:
    """The list item's lead-in is a short line barring its own monograph's drug ("Do not
    take X:", "This medicine must not be given")."""
    lead = unit.lead.lower()
    names = unit.evidence.chunk.drug.lower() in lead or "this medicine" in lead
    return len(lead.split()) <= LEAD_IN_WORDS and names and bool(BARS.search(lead))


def _barring_list(
    evidence: list[Evidence], layouts: dict[str, list[tuple[int, int, int]]]
) -> Unit | None:
    """The first item of the first list in ``evidence`` whose lead-in bars the drug ("Do
    not take X", "X must not be given"), with that lead-in; None if no passage has one."""
    for rank, ev in enumerate(evidence):
        layout = layouts.get(ev.chunk.id)
        if not layout:
            continue
        text = ev.chunk.text
        for i, (start, end, item) in enumerate(layout[:-1]):
            if item or not layout[i + 1][2]:
                continue
            s, e, number = layout[i + 1]
            unit = Unit(ev, rank, i + 1, " ".join(text[s:e].split()), number, 0.0)
            unit.lead, unit.lead_index = " ".join(text[start:end].split()), i
            if _bars_its_drug(unit):
                return unit
    return None


def _merged(whole: Selection | None, parts: list[Selection]) -> Selection:
    """The whole question's selection (if it answers) and what each answered part adds:
    statements already quoted are not repeated, and each part adds at most
    ``PART_UNITS`` statements (its lead-ins come along with them)."""
    units: list[Unit] = []
    seen: set[tuple[str, int]] = set()

    def add(unit: Unit) -> None:
        key = (unit.evidence.chunk.id, unit.index)
        if key not in seen and not any(_same(unit.text, u.text) for u in units):
            seen.add(key)
            units.append(unit)

    for unit in whole.units if whole is not None else ():
        add(unit)
    for selection in parts:
        new = [u for u in selection.units if (u.evidence.chunk.id, u.index) not in seen]
        for unit in new[:PART_UNITS]:
            add(unit)
    every = [*([whole] if whole is not None else []), *parts]
    return Selection(
        units=units,
        support=max(s.support for s in every),
        listing=whole is not None and whole.listing,
        ranked=every[0].ranked,
        codrug=any(s.codrug for s in every),
    )


def _same(a: str, b: str, *, figures: bool = False) -> bool:
    """Near-duplicates (a FAQ answer restating a section sentence, say). With ``figures``,
    parallel lines that each state a number the other does not are two statements,
    however alike their words ("Women must use contraception ... for at least 8 months
    after" beside "Men ... for at least 5 months after"): only for a line chosen because
    it covers a part of the question the others leave out (the other sex, asked too), as
    a parallel line is otherwise another case's statement."""
    ta, tb = set(tokenize(a)), set(tokenize(b))
    if not ta or not tb:
        return a == b
    if figures:
        na, nb = set(_FIGURE.findall(a)), set(_FIGURE.findall(b))
        if na - nb and nb - na:
            return False
    return len(ta & tb) / min(len(ta), len(tb)) > 0.6


_FIGURE = re.compile(r"\d+(?:[.,]\d+)?")


def _repeats(a: str, b: str) -> bool:
    """The same statement twice (most of the words of both in common)."""
    ta, tb = set(tokenize(a)), set(tokenize(b))
    if not ta or not tb:
        return a == b
    return len(ta & tb) / len(ta | tb) > 0.8


def _elsewhere(intent: Intent, unit: Unit, best: Unit) -> bool:
    """True when ``unit``, beside ``best``, states an amount for another population or
    indication than the one asked (``reader.other_scope``)."""
    return bool(other_scope(intent, unit.text, unit.context, best.text, best.context))


def _general(intent: Intent, top: list[Unit]) -> Unit:
    """The statement that answers a dose question naming no population (``top`` best
    first): among near-ties, the one for the indication the question names; else, the
    statement for a sub-population (a child, an impaired kidney) gives way to a general
    (adult) one as close as a runner-up, which states the amount as well."""
    best = max(
        (u for u in top if u.score >= top[0].score - MARGIN / 2),
        key=lambda u: (_named(intent, u), u.score),
    )
    if _named(intent, best) or not _sub_population(intent, best):
        return best
    for unit in top:
        if unit.score < top[0].score - MARGIN or unit.fit is None or best.fit is None:
            continue
        if unit.fit.conflicts or unit.fit.fragment or _sub_population(intent, unit):
            continue
        if unit.fit.missing_targets <= best.fit.missing_targets:
            return unit
    return best


_BARS_USE = re.compile(
    r"\b(?:must not|do not|don't|should not|cannot|can't|never)\s+(?:be\s+)?(?:take|taken|use|"
    r"used|give|given|receive|treated with)\b|\bcontraindicated\b",
    re.IGNORECASE,
)
"""A statement barring the drug's use ("you must not be treated with X", "is
contraindicated in"), not any "do not" ("you do not need to take another tablet")."""


def _names(unit: Unit, words: set[str]) -> bool:
    """Whether the unit (with its lead-in) says one of ``words``."""
    return bool(words & set(tokenize(f"{unit.lead} {unit.text}")))


def _with(top: list[Unit], unit: Unit, first: bool = False) -> list[Unit]:
    """``top`` with ``unit`` among them (at the end, or ``first``): a statement chosen from
    beyond the re-ranked candidates is traced and quoted with them."""
    if any(u is unit for u in top):
        return top
    return [unit, *top] if first else [*top, unit]


def _general_amount(intent: Intent, unit: Unit) -> bool:
    """The unit states an amount for everyone, in words of its own (no line pointing back)."""
    return (
        _states_amount(unit)
        and not _sub_population(intent, unit)
        and not _NEEDS_CONTEXT.match(unit.text)
    )


def _for_others(intent: Intent, unit: Unit) -> bool:
    """The unit states a sub-population's dose (a child's, the elderly's) where the
    question names no one, and does not name the indication the question does."""
    return bool(_sub_population(intent, unit)) and not _named(intent, unit)


_ASKS_CYCLE = re.compile(
    r"\b(?:cycles?|schedule|how long|duration|for how many (?:days|weeks|months))\b", re.I
)
"""A dose question that asks for the treatment's course, not only the amount."""
_CYCLE = re.compile(
    r"\b(?:cycles?|rest period|for \d+ (?:days|weeks|months)|(?:days|weeks) (?:without|off)|"
    r"on days? \d+)\b",
    re.I,
)
"""A statement of a treatment's course: its days on and off, its cycle."""


def _cycle_of(best: Unit, units: list[Unit], intent: Intent) -> Unit | None:
    """For a dose question asking for the course ("dose and cycle?"), the best statement of
    ``best``'s section of its monograph stating one (``_CYCLE``) when no sentence beside the amount
    does: a leaflet tells the days on and off in another paragraph. Not one with an amount
    of its own (another case's line) or about another case or indication."""
    for unit in sorted(units, key=lambda u: -u.score):
        here, there = unit.evidence.chunk, best.evidence.chunk
        if (here.doc, here.section) != (there.doc, there.section) or unit is best:
            continue
        if not _CYCLE.search(unit.text) or len(unit.text.split()) > ITEM_WORDS:
            continue
        if _AMOUNT.search(unit.text):
            continue
        if fit(intent, unit.text).conflicts or other_scope(
            intent, unit.text, (), best.text, best.context
        ):
            continue
        return unit
    return None


def _case_alone(intent: Intent, unit: Unit, prev: Unit) -> bool:
    """The unit, a later sentence of a list item, states the population the question names
    in its own words, and the sentence before it in the item states an amount for no
    population: everyone else's dose ("You continue with one capsule daily. If you have liver
    problems, your doctor may reduce it to one capsule every other day."), which read
    beside the case's own would be a second, wrong dose for it."""
    if not intent.qualifiers or _NEEDS_CONTEXT.match(unit.text) or not unit.item:
        return False
    own = fit(intent, unit.text)
    if not own.matched or own.missing_population or own.conflicts:
        return False
    return bool(_AMOUNT.search(prev.text)) and fit(intent, prev.text).missing_population


def _states_amount(unit: Unit) -> bool:
    """The unit states, in its own words (its list item's, its list's lead-in), the amount a dose
    question asks for, for someone the question names or for everyone: not a strength
    or pack content, not another drug's amount, not a line that leans on the amount of the
    sentence before it."""
    f = unit.fit
    # A list item's sentences are one statement ("Renal impairment: No dose adjustment is
    # required. Administer after hemodialysis."): its earlier sentence counts.
    before = unit.context[0] if unit.item and unit.context else ""
    said = f"{unit.lead} {before} {unit.text}"
    return bool(
        f is not None
        and f.targets
        and not f.missing_targets
        and not f.conflicts
        and not f.composition
        and not f.fragment
        and not unit.foreign
        and (_AMOUNT.search(said) or VERDICT.search(said))
    )


_CASE_WORDS = {
    "child": "children",
    "elderly": "elderly patients",
    "renal": "renal impairment",
    "hepatic": "hepatic impairment",
}


def _case(intent: Intent) -> str:
    """The case a question asks a dose for, in words ("severe renal impairment",
    "children"), or "" for the general (adult) dose."""
    values = {
        axis: sorted(intent.qualifiers.get(axis, frozenset()) & intent.case) for axis in CASE_AXES
    }
    organs = [_CASE_WORDS[v] for v in values["organ"]]
    if organs and values["severity"]:  # an organ's severity only (see ``CASE_AXES``)
        organs[0] = f"{' or '.join(values['severity'])} {organs[0]}"
    people = [_CASE_WORDS[v] for v in values["age"]]
    return " in ".join(p for p in (" and ".join(organs), " or ".join(people)) if p)


def _other_indication(indication: list[str], unit: Unit) -> bool:
    """The unit is scoped to another indication than the one asked (``scoped_elsewhere``)."""
    return scoped_elsewhere(indication, unit.text, unit.context)


_DOSE_WORD = re.compile(r"\b(?:dos\w*|regimen|how much|titrat\w*)\b", re.IGNORECASE)
"""A question's words for a dose (see ``ExtractiveAnswerer.select``)."""


OWNER_WORDS = 8
"""How far back (words, within its clause) an amount's drug is looked for."""


def _near(
    top: list[Unit], units: list[Unit], passage: Evidence, keep: Callable[[Unit], bool]
) -> list[Unit]:
    """The re-ranked units ``keep`` holds, else the units of ``passage`` (the best
    statement's) it holds: beyond the few re-ranked, the best one's passage may state it."""
    return [u for u in top if keep(u)] or [u for u in units if u.evidence is passage and keep(u)]


def _lasts(unit: Unit) -> bool:
    """The unit states a length of time in its own words."""
    return bool(LENGTH_OF_TIME.search(unit.text))


def _carries_asked(unit: Unit) -> bool:
    """The unit carries a number of the kind the question asks for (``Intent.asked``)."""
    return unit.fit is not None and not unit.fit.asked_missing


def _answers_case(unit: Unit) -> bool:
    """The unit states an amount (``_states_amount``) for the very case the question asks
    about: every value of it stated by the unit or what it is read under, none other."""
    return unit.fit is not None and not unit.fit.unstated and _states_amount(unit)


def _sub_population(intent: Intent, unit: Unit) -> frozenset[str]:
    return sub_population(intent, (unit.text, *unit.context))


def _named(intent: Intent, unit: Unit) -> bool:
    return names_asked_scope(intent, unit.text, unit.context)


def _leaf(unit: Unit) -> str:
    return unit.evidence.chunk.section.rsplit(SEP, 1)[-1]


def _matched(unit: Unit) -> int:
    return unit.fit.matched if unit.fit is not None else 0


def _conflicts(unit: Unit) -> int:
    return unit.fit.conflicts if unit.fit is not None else 0


def _quoted(unit: Unit) -> str:
    """The unit as quoted: a list item after its lead-in ("Do not take X: if you ...")."""
    if not unit.lead or unit.text.startswith(unit.lead):
        return unit.text
    joint = " " if unit.lead.rstrip().endswith(":") else ": "
    return f"{unit.lead.rstrip()}{joint}{unit.text}"


def _surroundings(
    ev: Evidence, layout: list[tuple[int, int, int]], index: int
) -> tuple[tuple[str, int], tuple[str, int], tuple[str, ...]]:
    """A unit's lead-in (for a list item) and, when that heads a group inside the list,
    the list's own lead-in, each with its position; and what the unit is read under for
    qualifiers."""
    text = ev.chunk.text

    def unit_text(i: int) -> str:
        s, e, _ = layout[i]
        return " ".join(text[s:e].split())

    def same_block(i: int, j: int) -> bool:
        return "\n\n" not in text[layout[i][1] : layout[j][0]]

    item = layout[index][2]
    context: list[str] = []
    if index > 0 and _joined(text, layout, index):
        context.append(unit_text(index - 1))  # the sentence before, in its item or paragraph
        first = index - 1
        while first > 0 and layout[first - 1][2] == item and item:
            first -= 1
        if item and first != index - 1:
            context.append(unit_text(first))  # the item's label sentence
    lead, at = "", -1
    outer, outer_at = "", -1
    if item:
        j = index - 1
        while j >= 0 and layout[j][2] == item:
            j -= 1
        lead, at = _lead_in(unit_text, layout, j, groups=True)
        if at >= 0 and layout[at][2] and not _lost_lead_in(unit_text, layout, at):
            # A group header inside the list: the list's own lead-in comes too.
            outer, outer_at = _lead_in(unit_text, layout, at - 1, groups=False)
        elif at > 0 and _NEEDS_CONTEXT.match(lead) and same_block(at - 1, at):
            # "They are:" says nothing without the sentence before it.
            outer, outer_at = unit_text(at - 1), at - 1
    elif index == 0 or not same_block(index - 1, index):
        # A paragraph of a list that lost its markers ("Do not take X with these
        # medicines:" / "Oestrogens." / "Any other SERM, such as ..."): the nearest
        # earlier paragraph ending in ":", over short one-line paragraphs only.
        j = index - 1
        while j >= 0 and j >= index - SHORT_RUN and not layout[j][2]:
            candidate = unit_text(j)
            whole = (j == 0 or not same_block(j - 1, j)) and not same_block(j, j + 1)
            if not whole:
                if j > 0 and not same_block(j, j + 1) and _FREQUENCY_LABEL.match(candidate):
                    # The group's label lost its line break into the end of the item
                    # before it ("... (haematocrit). Uncommon (may affect up to 1 in 100
                    # people)"): the items after it are read under it.
                    lead, at = candidate, j
                break
            if candidate.endswith(":"):
                if is_lead_in(candidate) and quotable(candidate):
                    lead, at = candidate, j
                    above = unit_text(j - 1) if j > 0 and not same_block(j - 1, j) else ""
                    if _CASE_HEADING.match(above) and (j == 1 or not same_block(j - 2, j - 1)):
                        outer, outer_at = above, j - 1  # the case the list is for
                break
            if j == index - 1 and _CASE_HEADING.match(candidate):
                # A case standing alone above what holds for it ("If you are between 9
                # and 14 years old" / "You will receive 2 injections:"): it is read under it.
                lead, at = candidate, j
                break
            if len(candidate.split()) > SHORT_ITEM:
                break
            j -= 1
    context.extend(t for t in (lead, outer) if t)
    context.append(_leaf_of(ev))
    return (lead, at), (outer, outer_at), tuple(context)


_CASE_HEADING = re.compile(r"^(?:if|for|in|when)\b[^.!?:;]{3,100}$", re.IGNORECASE)
"""A paragraph that names a case and nothing else, with no full stop ("If you are 15 years
old or above", "For children under 6 years"): the heading of what follows it."""


def _lead_in(
    unit_text: Callable[[int], str], layout: list[tuple[int, int, int]], j: int, *, groups: bool
) -> tuple[str, int]:
    """Back over a list from position ``j``: the nearest earlier item that ends in ":" (a
    group header such as "Rare side effects (may affect up to 1 in 1,000 people) are:",
    when ``groups``), or the sentence just before the list; ("", -1) when there is none."""
    while j >= 0:
        candidate = unit_text(j)
        if not layout[j][2]:
            if j > 0 and layout[j - 1][2] and _REFERS_BACK.match(candidate):
                # "If this applies to you, tell your doctor.": a note on the item before
                # it, inside the list, not the sentence that opens it.
                j -= 1
                continue
            ok = is_lead_in(candidate) and quotable(candidate)
            return (candidate, j) if ok else ("", -1)
        if groups and _lost_lead_in(unit_text, layout, j):
            return candidate, j
        if groups and _OPENS.search(candidate):
            if len(candidate.split()) <= LEAD_IN_WORDS and quotable(candidate):
                return candidate, j
            return "", -1
        j -= 1
    return "", -1


_FREQUENCY_LABEL = re.compile(r"^[^.()]{0,60}" + GROUP_HEADER.pattern, re.IGNORECASE)
"""A leaflet's frequency group label ("Uncommon (may affect up to 1 in 100 people)", "Not
known (frequency cannot be estimated from the available data)"): the items after it have
that frequency."""


def _lost_lead_in(
    unit_text: Callable[[int], str], layout: list[tuple[int, int, int]], j: int
) -> bool:
    """Whether unit ``j``, the last sentence of a list item, is the lost lead-in of the
    items after it (``monorag.text.lost_lead_in``) or their frequency group's label."""
    item = layout[j][2]
    if j + 1 < len(layout) and layout[j + 1][2] == item:
        return False
    if not (j > 0 and layout[j - 1][2] == item):
        return False
    glued = lost_lead_in([unit_text(j - 1), unit_text(j)]) or _FREQUENCY_LABEL.match(unit_text(j))
    return bool(glued) and quotable(unit_text(j))


def _reader_bonus(f: Fit) -> float:
    """The reader's part of a unit's score (see the weights above)."""
    return (
        W_TARGET * min(f.targets, 2)
        - W_NO_TARGET * min(f.missing_targets, 1)
        + W_MATCH * min(f.matched, 2)
        - W_MISSING * min(f.missing, 2)
        - W_CONFLICT * min(f.conflicts, 2)
        - (W_COMPOSITION if f.composition else 0.0)
        - (W_LIMIT if f.limit else 0.0)
        - (W_ADJUST if f.adjustment else 0.0)
        - (W_NO_UNIT if f.unit_missing else 0.0)
        - (W_NO_POPULATION if f.missing_population else 0.0)
        - (W_FRAGMENT if f.fragment else 0.0)
    )


def _other_names(
    evidence: list[Evidence],
    named: Mapping[str, str],
    codrugs: Sequence[str] = (),
    classed: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[re.Pattern[str]]]:
    """For each drug whose monograph is searched, the names of the other drugs the
    question names: the titles other words named (with their aliases and those words),
    ``codrugs``, and the classes standing for another drug in its monograph (``classed``)."""
    if len(set(named.values())) < 2 and not codrugs:
        return {}
    names: dict[str, set[str]] = {t: {t, *([said] if said else [])} for t, said in named.items()}
    own: dict[str, set[str]] = {}
    for ev in evidence:
        if ev.chunk.drug in names:
            names[ev.chunk.drug].update(a for a in ev.chunk.aliases if len(a) > 3)
        own.setdefault(ev.chunk.drug, {ev.chunk.drug.lower()}).update(
            a.lower() for a in ev.chunk.aliases
        )
    drugs = dict.fromkeys([*named, *(ev.chunk.drug for ev in evidence)])
    # A combination named by its substances ("canagliflozin/metformin") names itself:
    # a name among a monograph's own aliases is not another drug for it.
    return {
        t: [
            re.compile(rf"\b{re.escape(n)}\b", re.IGNORECASE)
            for n in dict.fromkeys(
                [
                    *(n for o, ns in names.items() if named[o] != named.get(t) for n in ns),
                    *codrugs,
                    *(classed or {}).get(t, ()),
                ]
            )
            if n.lower() not in own.get(t, ())
        ]
        for t in drugs
    }


def _codrug(unit: Unit, names: dict[str, list[re.Pattern[str]]]) -> float:
    """A statement of one named drug's monograph that names the other: the interaction."""
    others = names.get(unit.evidence.chunk.drug)
    if not others:
        return 0.0
    said = f"{unit.outer} {unit.lead} {unit.text}"
    return W_CODRUG if any(rx.search(said) for rx in others) else 0.0


def _covers_more(intent: Intent, unit: Unit, chosen: list[Unit], share: dict[str, float]) -> bool:
    """True when ``unit`` states a target, a named qualifier value or a good share of the
    question's rare words that the chosen statements lack."""

    def said(u: Unit) -> str:
        return f"{u.lead} {u.text}"

    mine = said(unit)
    have = " ".join(said(c) for c in chosen)
    for target in intent.targets - {"amount", "value"}:
        rx = TARGETS[target][1]
        if rx.search(mine) and not rx.search(have):
            return True
    for axis, values in intent.qualifiers.items():
        if len(values) < 2:
            continue
        for value in values:
            rx = AXES[axis][value]
            if rx.search(mine) and not rx.search(have):
                return True
    had = set(tokenize(have))
    new = sum(w for t, w in share.items() if t in set(tokenize(mine)) - had)
    return new >= COVER_TERMS


def _continuation(unit: Unit, layouts: dict[str, list[tuple[int, int, int]]]) -> Unit | None:
    """The next sentence of the unit's paragraph or item when it continues the unit's
    amount ("This is increased to 3 mg ..."): a schedule is one statement."""
    layout = layouts[unit.evidence.chunk.id]
    if unit.index + 1 >= len(layout) or not _joined(
        unit.evidence.chunk.text, layout, unit.index + 1
    ):
        return None
    nxt = _at(unit, layouts, unit.index + 1)
    steps = _NEEDS_CONTEXT.match(nxt.text) or _CONTINUES.match(nxt.text) or _STEP.match(nxt.text)
    if steps and _AMOUNT.search(nxt.text):
        return nxt
    return None


_STEP = re.compile(
    r"^(?:from (?:the )?(?:\w+ )?(?:week|day|month|cycle)s?(?: \d+)?|after (?:\w+ ){0,2}"
    r"(?:days?|weeks?|months?|cycles?)|(?:in|during) (?:the )?\w+ (?:week|day|month|cycle))\b",
    re.IGNORECASE,
)
"""A sentence that opens with the next step of a schedule ("From the fourth week on, ...",
"After 2 weeks, ..."): with an amount, it continues the dose sentence before it."""
STEPS = 6
"""A schedule continued step by step is quoted up to this many statements in all."""
SHORT_CASES = 3
"""A list of at most this many items, each of at most ``ITEM_WORDS`` words in its first
sentence, after a lead-in ending in ":", is a list of cases quoted whole."""


def _cases_after(lead: Unit, layouts: dict[str, list[tuple[int, int, int]]]) -> list[Unit]:
    """The unit after the lead-in ``lead``; when it opens a short list of cases, the first
    sentence of each item of that list."""
    layout = layouts[lead.evidence.chunk.id]
    first = _at(lead, layouts, lead.index + 1)
    if not first.item:
        return _steps_after(lead, layouts) or [first]
    starts: list[int] = []
    i = lead.index + 1
    while i < len(layout) and layout[i][2]:
        if not starts or layout[i][2] != layout[i - 1][2]:
            starts.append(i)
        i += 1
    cases = [_at(lead, layouts, j) for j in starts]
    if len(cases) > SHORT_CASES or any(len(c.text.split()) > ITEM_WORDS for c in cases):
        return [first]
    return cases


def _steps_after(lead: Unit, layouts: dict[str, list[tuple[int, int, int]]]) -> list[Unit]:
    """The steps a lead-in ending in ":" opens when the conversion lost their list markers
    ("you can mix it in water:" / "Put the tablet in a glass." / "Add 50 mL of still
    water." / ...): two to ``STEPS`` paragraphs of one short sentence each, all quoted; []
    when what follows is no such run."""
    layout = layouts[lead.evidence.chunk.id]
    text = lead.evidence.chunk.text
    steps: list[Unit] = []
    i = lead.index + 1
    while i < len(layout) and not layout[i][2] and not _joined(text, layout, i):
        if i + 1 < len(layout) and _joined(text, layout, i + 1):
            break  # a paragraph of several sentences: prose again
        step = _at(lead, layouts, i)
        if len(step.text.split()) > ITEM_WORDS or len(steps) == STEPS:
            return []
        steps.append(step)
        i += 1
    return steps if len(steps) > 1 else []


def _at(unit: Unit, layouts: dict[str, list[tuple[int, int, int]]], i: int) -> Unit:
    """The unit at position ``i`` of ``unit``'s passage, scored as ``unit`` (it is quoted
    because of it)."""
    s, e, item = layouts[unit.evidence.chunk.id][i]
    text = " ".join(unit.evidence.chunk.text[s:e].split())
    return Unit(unit.evidence, unit.rank, i, text, item, unit.late)


def quotable(text: str) -> bool:
    """False for a text that is no statement about the drug: an FAQ's question, or a line
    addressed to a chat model."""
    return not (_FAQ_QUESTION.match(text) or _TO_THE_MODEL.search(text))


def _joined(text: str, layout: list[tuple[int, int, int]], i: int) -> bool:
    """Unit ``i`` of a passage continues unit ``i - 1``'s list item or, outside lists, its
    paragraph."""
    item = layout[i][2]
    return item == layout[i - 1][2] and bool(
        item or "\n\n" not in text[layout[i - 1][1] : layout[i][0]]
    )


def _read_on(
    best: Unit, layouts: dict[str, list[tuple[int, int, int]]], intent: Intent, have: list[Unit]
) -> list[Unit]:
    """What ``best``'s item or paragraph goes on to say (``_following``, up to
    ``CODRUG_WORDS`` words) that ``have`` does not quote, about no other case."""
    return [
        u
        for u in _following(best, layouts, CODRUG_WORDS)
        if not _holds(have, u) and not fit(intent, u.text).conflicts
    ]


def _holds(chosen: list[Unit], unit: Unit) -> bool:
    """True when ``chosen`` already quotes the unit at ``unit``'s position."""
    return any(c.evidence is unit.evidence and c.index == unit.index for c in chosen)


_ADVICE = frozenset({"overdose", "missed"})
"""Targets a leaflet answers with a paragraph of steps (what to do, what to expect)."""
_ASK_IF_UNSURE = re.compile(
    r"^(?:if you have any (?:further |other |more )?questions\b|(?:check with|ask) your "
    r"(?:doctor|pharmacist|nurse)\b[^.]*\bnot sure\b)",
    re.IGNORECASE,
)
"""A leaflet's closing advice ("If you have any further questions on the use of this
medicine, ask your doctor"): no part of what a paragraph says of the question's target."""
_SUBHEADING = re.compile(r"^\s*(?:how|what|when|where|which|why)\b", re.IGNORECASE)
"""A leaflet's sub-heading run into the text ("How much to use", "What X contains"): as a
list's lead-in it says nothing the items do not, and it is not quoted."""


def _next_item(unit: Unit, layouts: dict[str, list[tuple[int, int, int]]]) -> list[Unit]:
    """The first sentence of the list item right after ``unit``'s ("* 2 pens for each dose."
    / "* Do this once every month for 12 months."), if ``unit`` is in a list."""
    layout = layouts[unit.evidence.chunk.id]
    if not unit.item:
        return []
    i = unit.index + 1
    while i < len(layout) and layout[i][2] == unit.item:
        i += 1
    if i < len(layout) and layout[i][2] == unit.item + 1:
        near = _at(unit, layouts, i)
        return [near] if quotable(near.text) else []
    return []


def _neighbours(unit: Unit, layouts: dict[str, list[tuple[int, int, int]]]) -> list[Unit]:
    """The units just before and after ``unit`` in its passage, in its list item (or,
    outside lists, in the paragraphs around it)."""
    layout = layouts[unit.evidence.chunk.id]
    near = [
        _at(unit, layouts, i)
        for i in (unit.index - 1, unit.index + 1)
        if 0 <= i < len(layout) and layout[i][2] == unit.item
    ]
    return [u for u in near if quotable(u.text)]


_CASE_LINE = re.compile(
    r"^\s*(?:if|when|for|in)\b[^.;]{0,80}?\b(?:less|more|fewer|greater|under|over|below|above|"
    r"within|after|before|up to|at least)\b[^.;\d]{0,12}(\d+(?:[.,]\d+)?\s*[a-z%/]+)",
    re.IGNORECASE,
)
"""A sentence stating a case by a bound ("If it is less than 12 hours since ..."): the
bound, with its unit."""


def _other_case(unit: Unit, near: Unit) -> bool:
    """``near`` states the other side of the bound ``unit`` states (the same number and
    unit: "less than 12 hours" and "more than 12 hours")."""
    mine, theirs = _CASE_LINE.match(unit.text), _CASE_LINE.match(near.text)
    return bool(mine and theirs and mine.group(1).lower() == theirs.group(1).lower())


def _preceding(unit: Unit, layouts: dict[str, list[tuple[int, int, int]]]) -> Unit | None:
    """The sentence before ``unit`` in its list item (or, outside lists, its paragraph)."""
    layout = layouts[unit.evidence.chunk.id]
    if unit.index == 0 or not _joined(unit.evidence.chunk.text, layout, unit.index):
        return None
    before = _at(unit, layouts, unit.index - 1)
    return before if quotable(before.text) else None


def _following(
    unit: Unit, layouts: dict[str, list[tuple[int, int, int]]], words: int
) -> list[Unit]:
    """The sentences after ``unit`` in its list item (or, outside lists, its paragraph),
    up to ``words`` words in all."""
    layout = layouts[unit.evidence.chunk.id]
    text = unit.evidence.chunk.text
    out: list[Unit] = []
    used = 0
    i = unit.index + 1
    while i < len(layout) and _joined(text, layout, i):
        later = _at(unit, layouts, i)
        used += len(later.text.split())
        if used > words or not quotable(later.text):
            break
        out.append(later)
        i += 1
    return out


def _leaf_of(ev: Evidence) -> str:
    return ev.chunk.section.rsplit(SEP, 1)[-1]
