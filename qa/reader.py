"""The reader: what a question asks for, and whether a candidate statement says it.

The extractive answerer (``qa/answer.py``) finds candidate statements by meaning; the
reader weighs them by what a clinician's question states and asks:

- **qualifiers** the question states (a population: child, adult, elderly; an organ:
  renal, hepatic; a severity; pregnancy or breastfeeding; women or men) and **measures**
  it gives (a creatinine clearance, a body weight, an age). A statement that carries the
  same qualifier, or a range that holds the measure, is preferred; one that carries a
  *different* value of the same qualifier (the mild-to-moderate line for a severe
  question, the adult dose for a child) is penalised.
- the **target**: an amount (a dose), a frequency of an adverse effect, a missed dose,
  an overdose, storage, a half-life, metabolism, a mechanism, or a number of any kind
  ("how long", "at what level"). A statement that does not carry the target attribute is
  weak evidence, whatever its cosine: this is the second signal abstention uses.

Every word list below is general clinical English, kept in this one module (``AXES``,
``TARGETS``, ``VERDICT`` ...): none names a drug, a section title of a monograph or a
question of any evaluation set. Everything is regular expressions over a few candidate
statements: microseconds per question, no model call.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from monorag.text import unit_alternation, units_of

_I = re.IGNORECASE


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, _I)


# -- qualifiers -------------------------------------------------------------------------------
# One axis per kind of qualifier; a statement carrying another value of an axis the
# question states is about someone else. "child-pugh" is a liver score, not a child.
# A Child-Pugh class or score states the hepatic severity: A (5-6 points) mild, B (7-9)
# moderate, C (10-15) severe. "Child-Pugh score 7 to 9", "child pugh B", "Child-Pugh A or B".
_CHILD_PUGH = (
    r"child[- ]?pugh(?:[\s,-]+(?:class|grade|category|score|of|or|and|to|[abc]|\d{1,2}))*?[\s,-]+"
)
CHILD_PUGH = {
    "mild": _CHILD_PUGH + r"(?:a|5|6)\b",
    "moderate": _CHILD_PUGH + r"(?:b|7|8|9)\b",
    "severe": _CHILD_PUGH + r"(?:c|1[0-5])\b",
}
"""Patterns of the Child-Pugh classes and scores of each hepatic severity."""

AXES: dict[str, dict[str, re.Pattern[str]]] = {
    "age": {
        "child": _rx(
            r"\b(?:child(?![- ]?pugh)(?:ren)?|kids?|paediatric|pediatric|infants?|neonat\w*|"
            r"newborns?|(?<!try for a )(?<!ing for a )(?<!have a )(?<!having a )bab(?:y|ies)|"
            r"adolescents?|teens?|teenagers?|preterm|premature|"
            r"preemies?)\b"
        ),
        "adult": _rx(r"\badults?\b"),
        "elderly": _rx(r"\b(?:elderly|geriatric|older (?:adults|patients|people))\b"),
    },
    "organ": {
        "renal": _rx(
            r"\b(?:renal|kidneys?|ckd|dialysis|ha?emodialysis|on hd|crcl|creatinine clearance|"
            r"e?gfr|glomerular)\b"
        ),
        "hepatic": _rx(r"\b(?:hepatic|liver|child[- ]?pugh|cirrho\w*)\b"),
    },
    "severity": {
        "mild": _rx(rf"\bmild(?:ly)?\b|\b{CHILD_PUGH['mild']}"),
        "moderate": _rx(rf"\bmoderate(?:ly)?\b|\b{CHILD_PUGH['moderate']}"),
        "severe": _rx(rf"\bsevere(?:ly)?\b|\b{CHILD_PUGH['severe']}"),
    },
    "sex": {
        "female": _rx(r"\b(?:women|woman|females?|girls?)\b"),
        "male": _rx(r"\b(?:men|man|males?|boys?)\b"),
    },
    "reproduction": {
        "pregnancy": _rx(
            r"\b(?:pregnan\w*|trimester|conceiv\w*|(?:try\w*|tries|plan\w*) (?:for|to have) a baby|"
            r"(?:have|having) a baby)\b"
        ),
        "breastfeeding": _rx(r"\b(?:breast[- ]?fe\w*|lactat\w*|nursing|breast milk)\b"),
    },
}
POPULATION_AXES = ("age", "organ")
"""Axes that make a dose question about a sub-population: a statement that carries none of
the population the question names does not answer it."""
PURPOSES = {
    "prevention": _rx(r"\b(?:prevent\w*|prophyla\w*)\b"),
    "treatment": _rx(r"\b(?:treat(?:s|ed|ing|ment)?|acute|on[- ]demand)\b|\bat the first sign\b"),
}
"""What a dose is for: to prevent (attacks, bleeds, a recurrence) or to treat one. A dose
question naming one is not answered by a statement stating only the other ("1000 IU every
3 or 4 days for routine prevention" for "dose for an acute attack")."""
CASE_AXES = ("age", "organ", "severity")
"""Axes of the case a dose question asks about (see ``Fit.unstated``): a severity only as
an organ's (a severe infection is an indication, not a case)."""
SEVERE_CLEARANCE = 30.0
"""A creatinine clearance (mL/min) at or under which renal impairment is severe."""
MODERATE_CLEARANCE = 60.0
"""The top of moderate renal impairment (FDA 30-59, EMA 30-50 mL/min)."""
MILD_CLEARANCE = (50.0, 90.0)
"""Where mild renal impairment lies (FDA 60-89, EMA 50-80 mL/min)."""

# Measures: a number the question gives and the ranges statements state for it.
_MEASURE_UNITS = {
    "clearance": r"m[lL]\s*/\s*min(?:ute)?(?:\s*/\s*1[.,]73\s*m2)?",
    "weight": r"(?<![/\w])kg\b(?!\s*/)",
    "age": r"(?:years?|yrs?)(?:\s+(?:of age|old))?",
}
_IMPAIRED = _rx(
    r"\b(?:impair\w*|insufficien\w*|failure|dysfunction|function|disease|ckd|esrd|hd|"
    r"dialys\w*|ha?emodialys\w*|dialyz\w*|cirrho\w*|child[- ]?pugh)\b"
)
"""A question's words for an organ's impairment (see ``Intent.case``)."""
_Q_CLEARANCE = _rx(
    r"\b(?:crcl|e?gfr|creatinine clearance|clearance)\s*(?:of|is|=|:|at)?\s*"
    r"(?:~|about|approx\w*|around|roughly)?\s*"
    r"(<|>|≤|≥|below|under|less than|over|above|more than)?\s*(\d+(?:\.\d+)?)"
)
_Q_WEIGHT = _rx(r"(?<![/\w.])(\d+(?:\.\d+)?)\s*-?\s*kgs?\b(?!\s*/)(?!\s+of\b)")
_Q_AGE = _rx(r"\b(\d{1,3})\s*-?\s*(?:yo|y/o|yrs? old|years? old|-year-old|year old|y\.o\.)")
_Q_AGE_MONTHS = _rx(r"\b(\d{1,2})\s*-?\s*(?:months?|mo) old")
_Q_OVER_AGE = _rx(r"(?:^|\s)(?:>|over|older than)\s*(\d{2})\b(?!\s*(?:mg|kg|ml|%|mcg|units?))")
_LOWER = r"(?:less than|below|under|lower than|younger than|<|≤|up to)"
_UPPER = r"(?:more than|greater than|above|over|at least|older than|>|≥|from)"


def _range_patterns(unit: str) -> list[tuple[re.Pattern[str], str]]:
    num = r"(\d+(?:[.,]\d+)?)"
    return [
        # "at least 20 kg and less than 25 kg" is one band; read first, and its text is then
        # hidden from the one-sided patterns (which would read "20 kg and less" as <= 20).
        (
            _rx(
                rf"{_UPPER}\s*{num}\s*(?:{unit})?\s*,?\s*(?:and|but|to)\s*{_LOWER}\s*{num}\s*{unit}"
            ),
            "band",
        ),
        # "20 kg - < 80 kg", "20 kg to less than 80 kg": a table's band, flattened.
        (_rx(rf"{num}\s*(?:{unit})?\s*(?:to|-|–)\s*{_LOWER}\s*{num}\s*{unit}"), "band"),
        (_rx(rf"{num}\s*(?:to|-|–|and)\s*{num}\s*{unit}"), "between"),
        (_rx(rf"{_LOWER}\s*{num}\s*{unit}"), "below"),
        (_rx(rf"{_UPPER}\s*{num}\s*{unit}"), "above"),
        (_rx(rf"{num}\s*{unit}\s*(?:or|and)\s*(?:more|over|above|older|greater)"), "above"),
        (_rx(rf"{num}\s*{unit}\s*(?:or|and)\s*(?:less|under|below|younger)(?!\s+than)"), "below"),
    ]


_RANGES = {m: _range_patterns(u) for m, u in _MEASURE_UNITS.items()}
_CLEARANCE_NAMED = r"\b(?:crcl|clcr|creatinine clearance|e?gfr)\s*(?:of\s*)?"
_RANGES["clearance"] += [
    # A label's table flattened: "(CrCl 30 to 50)", "(CrCl less than 30)", no unit after.
    (_rx(rf"{_CLEARANCE_NAMED}(\d+)\s*(?:to|-|–)\s*(\d+)"), "between"),
    (_rx(rf"{_CLEARANCE_NAMED}{_LOWER}\s*(\d+)"), "below"),
    (_rx(rf"{_CLEARANCE_NAMED}{_UPPER}\s*(\d+)"), "above"),
]
_HOURS = r"(?:hours?|hrs?|h)\b"
_RANGES["delay"] = [
    *_range_patterns(_HOURS),
    (_rx(rf"\bwithin\s*(\d+(?:[.,]\d+)?)\s*{_HOURS}"), "below"),
]
"""How long after a dose was due: the hours a missed-dose case is stated for."""
_Q_DELAY = _rx(r"\b(\d+(?:\.\d+)?)\s*-?\s*(?:h|hrs?|hours?)\b")
# Infants' ages are stated in months ("3 to 6 months, 8 to 10 mcg/kg/day").
_AGE_MONTHS = _range_patterns(r"months?(?:\s+(?:of age|old))?(?!\s+(?:after|before|of treatment))")

# -- targets ----------------------------------------------------------------------------------
# name -> (how a question asks for it, how a statement carries it).
# An amount: a number in a dose unit or a dosage form (the units, and spellings such as
# "millilitres", from the one table in ``monorag.text``), not a concentration per dl or l;
# or a few of a form in words ("one vial" is left out: it is what a pack holds). No ng, kg or
# %: a level, a body weight or a share is no amount (the old "%\b" only matched "20 %w").
_WORD_FORMS = [u for u in units_of("form") if u not in ("vial", "syringe")]
_AMOUNT = (
    rf"\d\s*(?:{unit_alternation(units_of('dose', 'form'))})\b(?!\s*/\s*(?:dl|l)\b)"
    r"|\b(?:one|two|three|four|five|six|half an?|a half)\s+(?:\w+\s+)?"
    rf"(?:{unit_alternation(_WORD_FORMS)})\b"
)
_RELATIVE = (
    r"\b(?:reduc\w*|decreas\w*|increas\w*|lower\w*|cut)\s+(?:\w+\s+){0,2}?by\s+"
    r"(?:approximately\s+|about\s+|up to\s+)?\d+\s*%|\b\d+\s*% of the (?:usual|normal|adult|"
    r"recommended) dose\b|\bhalf (?:of )?the (?:usual|normal|adult|recommended) dose\b"
)
"""A dose stated relative to the usual one ("reduced by approximately 50%", "half the
usual dose"): the amount a question about a population's dose asks for."""
SCHEDULE = _rx(
    r"\b(?:cycles?|every (?:day|week|month|other|\d+|\w+ (?:days|weeks|months|hours))|"
    r"each (?:day|week|month|cycle)|once|twice|three times|four times|daily|weekly|monthly|"
    r"(?:a|per) (?:day|week|month)|for \d+ (?:days|weeks|months)|days? \d+|interval|"
    r"\d+-(?:day|week)|(?:weeks|days) (?:without|off|apart|later|after))\b"
)
"""How often and for how long a dose is given: a dose statement's neighbour stating it
belongs to the answer."""
VERDICT = _rx(
    r"\bno (?:dose |dosage )?adjust\w*|\bnot (?:be )?(?:recommended|necessary|required|needed)|"
    r"\bshould not be (?:used|taken|given)|\bmust not\b|\bsame dose\b|\bdo not (?:take|use)\b|"
    r"\bcontraindicated\b|\bnot (?:been )?(?:studied|established)\b"
)
"""A statement that settles a sub-population's dose question without an amount ("no dose
adjustment", "should not be used")."""
COMPOSITION = _rx(
    r"\beach\b[^.;]{0,80}\bcontains?\b|\bcontains? \d|\bequivalent to \d|"
    r"\bpack(?:s|\s+size)\b|\bsupplied (?:in|as)\b[^.;]{0,60}\bcontaining \d"
)
"""What a tablet or vial contains (its strength, a pack size): never a dose or a level."""
LIMIT = _rx(
    r"\b(?:do not|don't|never|must not|should not|not)\b[^.;]{0,50}?\b(?:more than|exceed\w*)\b|"
    r"\bmaximum\b"
)
"""A statement that caps a dose ("Do not take more than once a day", "should not exceed
20 mg"): the limit, not the dose, unless the question asks for the limit."""
ADJUSTS = _rx(
    r"\b(?:may|might|can|could|will)\s+(?:\w+\s+){0,3}?(?:adjust|reduce|increase|decrease|lower|"
    r"raise|change)\w*\b[^.;]{0,30}\bdose|\bdose (?:may|might|can|could) be (?:adjusted|reduced|"
    r"increased|decreased|lowered|changed)\b"
)
"""A statement that the dose may be changed ("Your doctor may adjust the dose to 2.5 mg",
"The dose may be adjusted in the range of 25 to 65 IU/kg"): not the dose to start with,
unless the question asks about changing it."""
_ASKS_CHANGE = _rx(
    r"\b(?:adjust\w*|reduc\w*|increas\w*|decreas\w*|lower\w*|rais\w*|chang\w*|titrat\w*|"
    r"uptitrat\w*|cut|drop|double|halve|modif\w*|missed|forgot\w*|impair\w*|toxicit\w*|"
    r"side effects?|intoleran\w*)\b"
)
_ASKS_LIMIT = frozenset("max maximum limit limits exceed most highest upper ceiling cap".split())
_ASKED_UNIT = _rx(
    # Not a unit the question gives a number in ("EF 35%", "the 270 mcg/kg bolus"): that
    # number is stated, not asked for.
    r"(?<![\d.])(?<![\d.]\s)"
    r"(?:\b(?:mg|mcg|µg|micrograms?|iu|units?|ml|mmol|g)\s*/\s*(?:kg|m2|m²|l|dl|h|hr|hour|day|min)"
    r"(?:\s*/\s*(?:h|hr|hour|day|min))?\b|\bper m2\b|\bmsv\b|\bmmol\b|\bin ms\b|%|\bpercent\w*)"
)
"""A unit the question asks the number in ("in mcg/kg/h", "what %"): the statement must
state a number in it, or it answers something else."""
_UNIT_FORMS = {
    "per m2": r"/\s*m2|/\s*m²|per m2|per square met",
    "%": r"%|per ?cent",
    "in ms": r"\d\s*ms\b|millisec",
    "percent": r"%|per ?cent",
}
_SPANS = {
    "minutes": "minutes?|mins?",
    "hours": "hours?|hrs?",
    "days": "days?",
    "weeks": "weeks?|wks?",
    "months": "months?|mths?|mos?",
    "years": "years?|yrs?",
}
"""Lengths of time as a question names them, whole or as clinicians shorten them."""
_HOW_MANY = _rx(r"\bhow many (" + "|".join(_SPANS.values()) + r")\b")
_LAB = (
    r"\b(?:levels?|values?|concentrations?|e?gfr|crcl|creatinine clearance|serum|plasma|"
    r"trough|counts?|inr|hba1c|ha?emoglobin|hb|platelets?|neutrophils?|anc|potassium|"
    r"sodium|glucose|bilirubin|alt|ast|calcium|magnesium)\b"
)
_THRESHOLD_CUE = (
    r"\bat what\b|\btoo (?:high|low)\b|\btargets?\b|\baim\b|\bcut-?offs?\b|"
    r"\bthresholds?\b|\b(?:below|above|under|over) what\b|\bhow (?:high|low)\b|"
    r"\bwhat (?:\w+ ){0,2}(?<!dose )(?:level|value|concentration)\b"
)
LEVEL = "a level or threshold value"
TEMPERATURE = "a storage temperature"
_ASKS_TEMPERATURE = _rx(
    r"\b(?:storage|store|storing|stored|max(?:imum)?|min(?:imum)?|what|which)\s+"
    r"temp(?:erature)?s?\b|\btemp(?:erature)?\s+range\b"
)
"""A question that asks for a storage temperature ("storage temp?", "max temp"), not one
that names a condition ("how long at room temp?": a duration)."""
TEMPERATURE_STATED = _rx(
    r"\d\s*°?\s*[CF]\b|\d\s*degrees|\bspecial temperature\b|\broom temperature\b"
)
"""A statement of a storage temperature: a figure in °C ("2 C 8 C" once the sign is lost),
room temperature, or "no special temperature storage conditions"; read in the statement
itself (the sentence before it is about something else: "Do not freeze." / "Keep it in
the carton")."""
_LEVEL_STATED = _rx(
    r"\d(?:[.,]\d+)?\s*(?:mmol|µmol|micromol|mg\s*/\s*d?l|g\s*/\s*d?l|ml\s*/\s*min|%|"
    r"(?:mcg|µg|ng|micrograms?|milligrams?)\s*(?:/|per)\s*(?:ml|l|litre|liter)|meq|"
    r"(?:iu|units?)\s*/\s*(?:ml|l)|[x×]\s*10|/\s*(?:mm3|µl|microlit\w*))|"
    r"\b(?:below|above|less than|more than|under|over|greater than|lower than|higher than|"
    r"exceeds?|exceeding|at least|between)\s+\d(?![\d,.]*\s+in\s+\d)|[<>≤≥]\s*\d"
)
"""A level stated as one: a number in a laboratory unit, or a number a comparison bounds."""
_ANALYTES = {
    r"e?gfr|crcl|creatinine clearance|kidney function|renal function": (
        r"e?gfr|crcl|creatinine clearance|kidney function|renal function|glomerular|"
        r"kidney (?:problems|impairment|disease)|renal impairment"
    ),
    r"hb|ha?emoglobin": r"\bhb\b|ha?emoglobin",
    r"potassium": r"potassium|hyperkal",
    r"anc|neutrophils?": r"\banc\b|neutrophil",
    r"platelets?": r"platelet",
    r"alt|ast|transaminases?": r"\balt\b|\bast\b|transaminase|liver enzymes?",
    r"glucose|sugar": r"glucose|sugar",
    r"hba1c": r"hba1c|glycated",
}
_NAMED_LEVEL = _rx(
    r"\b(?:serum|plasma|trough|blood)\s+([a-z][a-z0-9]+)\b(?<!\blevel)|"
    r"\b([a-z][a-z0-9]+)\s+(?:levels?|concentrations?|trough)\b"
)
_NOT_ANALYTE = frozenset({"what", "the", "a", "serum", "plasma", "blood", "dose", "target", "its"})


def _analytes(question: str) -> tuple[re.Pattern[str], ...]:
    """What the level a threshold question asks about measures ("serum potassium", "at
    what eGFR"): the statement must name it, else its number is of something else."""
    for said, stated in _ANALYTES.items():
        if re.search(rf"\b(?:{said})\b", question, _I):
            return (_rx(stated),)
    for m in _NAMED_LEVEL.finditer(question):
        word = (m.group(1) or m.group(2)).lower()
        if word not in _NOT_ANALYTE and not re.fullmatch(_LAB, word, _I):
            return (_rx(rf"\b{re.escape(word)}"),)
    return ()


_DURATION = {
    "minutes": r"minutes?|hours?",
    "hours": r"hours?|minutes?|days?",
    "days": r"days?|weeks?|hours?",
    "weeks": r"weeks?|days?|months?",
    "months": r"months?|weeks?|years?",
    "years": r"years?|months?",
}
_NUMBER = (
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|half|"
    r"a (?:day|week|month|year))\b"
)

HOW_LONG = _rx(r"\bhow long\b")
"""A question asking for a length of time ("how long is it good for once opened?")."""
LENGTH_OF_TIME = _rx(
    rf"(?:\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve))\s*-?\s*"
    rf"(?:{_DURATION['months']}|{_DURATION['days']}|minutes?)\b(?!\s+(?:of age|old))"
)
"""A length of time stated as a number of minutes, hours, days, weeks, months or years
("for up to 6 weeks", "within 24 hours"); "50 years of age" is an age."""

TARGETS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "missed": (
        _rx(
            r"\b(?:miss\w*|forg[eo]t\w*|skipp?ed|remembered)\b|\b(?:was|were) due\b|"
            r"\bnow or (?:skip|wait)\b|"
            # "14 hrs late", "how late can she take it": not "late in pregnancy"
            r"\b(?:\d+\s*(?:h|hrs?|hours?|days?|d|wks?|weeks?)|how|too|was|is|ran)\s+late\b"
        ),
        _rx(r"\b(?:miss\w*|forg[eo]t\w*|skip\w*|remember\w*)\b"),
    ),
    "overdose": (
        _rx(
            r"\b(?:overdos\w*|too much|too many|antidote|instead of|by mistake|accident(?:al)?ly "
            r"(?:took|taken|swallow\w*|ingest\w*|given|gave|injected|used|put|applied|"
            r"instilled|inhaled)|a handful|"
            # a child who found the tube: "got into mom's tube and ate some"
            r"(?:ate|eaten|drank|swallowed|licked) some|got into)\b"
        ),
        _rx(
            r"\b(?:overdos\w*|antidote|rescue)\b|"
            # "If you have taken too many tablets", not "losing too much fluid"
            r"\b(?:take|takes|taken|took|taking|use|used|using|given|had|swallow\w*|inject\w*)"
            r"\s+(?:\w+\s+)?too (?:much|many)\b|"
            r"\bmore [\w/ -]{1,40}? than (?:you|the|recommended|prescribed|your)\b|"
            r"\baccidental(?:ly)? (?:swallow|ingest)\w*"
        ),
    ),
    "antidote": (
        _rx(
            r"\b(?:antidotes?|reversal|revers(?:e|ing) (?:the |its |an? )?(?:effects?|"
            r"anticoagula\w*|bleed\w*|overdose|toxicity)|rescue (?:therapy|treatment|agent))\b"
        ),
        _rx(
            r"\b(?:antidotes?|revers\w*|rescue|counteract\w*|diminish\w* the toxicity|"
            r"neutrali[sz]\w*)\b"
        ),
    ),
    "frequency": (
        _rx(
            r"\bhow (?:common|rare|likely|frequent\w*)\b|\bfrequency of\b|\bincidence\b|"
            r"\bhow often (?:does|do|is|are|will) .{0,60}\b"
            r"(?:cause|get|happen|occur|seen|report\w*)"
        ),
        _rx(
            r"\b(?:very common|common|uncommon|rare(?:ly)?|very rare|not known|frequency|"
            r"may affect)\b|\b1 in [\d ,.]+|\d\s*%"
        ),
    ),
    "regimen": (
        _rx(
            r"\bhow often\b(?!\s+(?:does|do|is|are|will)\b[^?]{0,60}\b(?:cause|get|happen|occur|"
            r"seen|report))|\bhow many times\b|\btimes (?:a|per) (?:day|week)\b|"
            r"\bhow frequently (?:to|should|do|is|are)\b|\bdosing interval\b|\btime of day\b"
        ),
        _rx(
            r"\b(?:once|twice|three times|four times|\d+ times|daily|weekly|monthly|"
            r"every (?:\d+|day|morning|evening|night|other day|week|month|\w+ (?:hours|days|"
            r"weeks|months))|(?:a|per) (?:day|week|month)|morning|evening|at night|bedtime|"
            r"time of day)\b"
        ),
    ),
    "food": (
        _rx(r"\b(?:food|meals?|empty stomach|with milk|breakfast|eating)\b"),
        _rx(
            r"\b(?:food|meals?|empty stomach|eat\w*|fasting|breakfast|dinner|fed)\b|"
            # not the milk a drug passes into ("breast milk", "human milk")
            r"(?<!breast )(?<!breast-)(?<!human )(?<!mother's )(?<!maternal )\bmilk\b"
        ),
    ),
    "storage": (
        _rx(
            r"\b(?:stor\w*|fridge|refrigerat\w*|room temp\w*|shelf[- ]?life|opening|opened|"
            r"use[- ]by|expir\w*|thaw\w*|made up|reconstitut\w*|dilut\w*|bin)\b"
        ),
        _rx(
            r"°\s*C|\b\d+\s*C\b|\b(?:refrigerat\w*|fridge|freez\w*|room temperature|stor\w*|"
            r"discard\w*|throw \w+ away|within \d|opening|opened|shelf|reconstitut\w*|"
            r"dilut\w*|thaw\w*)\b"
        ),
    ),
    "half_life": (_rx(r"\bhalf[- ]?li[fv]e"), _rx(r"\bhalf[- ]?li[fv]e")),
    "metabolism": (
        _rx(
            r"\b(?:metaboli[sz]\w*|cyp\w*|enzymes?|broken down|breaks? \w* ?down|excret\w*|"
            r"eliminat\w*|ugt\w*)\b"
        ),
        _rx(
            r"\b(?:metaboli[sz]\w*|cyp\w*|enzymes?|broken down|breaks? \w* ?down|excret\w*|"
            r"eliminat\w*|ugt\w*)\b"
        ),
    ),
    "mechanism": (
        _rx(
            r"\bmechan\w*|\bhow does .{0,40}\bwork|\bhow .{0,30}\bworks?\b|\btargets?\b|"
            r"\bwhat (?:kind|type|class|group) of\b|\bdrug class\b|\bmoa\b"
        ),
        _rx(
            r"\b(?:works?|block\w*|inhibit\w*|binds?|binding|target\w*|belongs?|class|"
            r"group of medicines|antibod\w*|receptors?|agonist|antagonist|enzymes?|"
            r"attach\w*|reduc\w* the (?:production|activity)|acts? (?:by|on)|activated by)\b"
        ),
    ),
    "amount": (
        _rx(
            r"\b(?:(?<!last )(?<!final )(?<!previous )doses?|dosage|dosing|dosed|how much|"
            r"(?<!before )(?<!after )starting|max|maximum|titrat\w*|regimen|loading|maintenance|"
            r"activity|schedule|"
            r"how many (?:mg|tablets?|capsules?|units?|pens?|puffs?|drops?|injections?|cells?)|"
            r"mg|mcg|iu|units?/kg|mg/kg|/m2|per m2)\b|"
            # "2.5 or 5 bid?": which amount of a schedule
            r"\d(?:\.\d+)?\s*(?:mg\s*)?(?:bid|tid|qid|qd|od|b\.i\.d|twice|once|three times)\b"
        ),
        _rx(rf"{_AMOUNT}|{_RELATIVE}"),
    ),
    "value": (
        _rx(
            r"\b(?:at what|what (?:level|value|serum|percentage)|how many (?:"
            + "|".join(_SPANS.values())
            + r")|how long|how fast|how far apart|how soon|"
            r"cut-?off|percent|msv|mmol|in ms)\b|%|\bwhat (?:\w+ )?(?:level|%|temp\w*)"
        ),
        _rx(_NUMBER),
    ),
}
STATED_ONLY_AS_ITSELF = {
    "missed": "what to do about a missed dose",
    "overdose": "what to do after an overdose",
    "half_life": "a half-life",
    "antidote": "an antidote or reversal agent",
    "storage": "how to store it",
    "mechanism": "how it works",
    "food": "what to do about food",
}
"""Targets that a statement answers only by speaking of them (a missed dose, an overdose, a
half-life, how to store it, how it works), with how a refusal names what is not stated:
when no candidate statement nor what it is read under speaks of one, the nearest dose
line would be passed off as it; when one does, it answers whatever its support ("how shd
X tabs be stored" is far in meaning from "Store at 25°C")."""


SPOKEN_OF = {
    "missed": _rx(
        r"\b(?:forg[eo]t\w*|miss(?:ed|es)? (?:a |an |your |the |one )?(?:\w+ )?(?:doses?|"
        r"tablets?|capsules?|injections?|days?))\b"
    ),
    "overdose": _rx(
        r"\boverdos\w*|\bmore [\w/ -]{1,40}? than (?:you|the|recommended|prescribed|your)\b"
    ),
    "half_life": TARGETS["half_life"][1],
    "antidote": TARGETS["antidote"][1],
    "storage": _rx(
        r"\bstor(?:e|ed|age|ing)\b|\brefrigerat\w*|\bfridge\b|\bfreez\w*|°\s*C\b|"
        r"\b(?:after (?:first )?opening|once opened|use within|discard\w*|shelf[- ]?life|"
        r"expir\w*|thaw\w*|reconstitut\w*|room temperature)\b"
    ),
    "mechanism": _rx(
        r"\bworks? by\b|\bmechanism of action\b|\b(?:blocks?|blocking|inhibits?|inhibiting|"
        r"binds?|binding|attach(?:es)? to)\b|\bacts? (?:by|on)\b|\b(?:is|are) activated by\b"
    ),
    "food": _rx(
        r"\b(?:with or without|with|without|after|before|regardless of) (?:a |your |any )?"
        r"(?:food|meals?|eating|breakfast)\b|\bempty stomach\b|\b(?:food|a meal) (?:does not|"
        r"may|can|will) (?:affect|change|reduce|increase)\b"
    ),
}
"""How a passage speaks of a ``STATED_ONLY_AS_ITSELF`` target, stricter than a
statement's pattern (where "too much" may say it): the passage that speaks of it most is
searched for a question that asks it in other words."""


SEARCHED_AS = {
    "mechanism": "mechanism of action: how it works",
}
"""How monographs speak of a target, searched for beside the question's own words: "how
does X actually work" shares no word with the "Mechanism of Action" section that answers
it (compare ``BARRED``). Only targets a question asks for in other words than the
monographs use: a missed dose, an overdose, storage or a half-life is asked for by name
(adding their phrasing changed nothing on the dev split, or cost an answer)."""


def states_target(target: str, layers: tuple[str, ...]) -> bool:
    """Whether any of ``layers`` (a statement, its lead-in, its heading) carries ``target``."""
    return bool(TARGETS[target][1].search(" ".join(layers)))


_BARE_OFTEN = _rx(r"\bhow often\b")
_EFFECT_CONTEXT = _rx(
    r"\b(?:gets?|getting|happens?|happening|occurs?|occurring|develops?|side effects?|adverse|"
    r"reactions?|risk|incidence|cases?)\b"
)
"""Words that make a bare "how often" ask about an effect's frequency, not a schedule."""

# A target another one implies away: "missed dose" asks about missing, not an amount.
_SUPERSEDES = {
    "missed": ("amount", "regimen"),
    # "overdose ... what can come on late": late symptoms, not a late dose.
    "overdose": ("amount", "regimen", "missed"),
    # An antidote is the overdose question's target: the overdose's description is not it.
    "antidote": ("overdose", "amount", "regimen"),
    "frequency": ("value",),
    # A dose answer states its schedule anyway (``SCHEDULE`` neighbours join it).
    "amount": ("regimen",),
}

# -- list and broad questions -----------------------------------------------------------------
_WHO_NOT = r"\bwho (?:(?:should|must|could)(?:n'?t\b|not\b| not\b)|can(?:not\b| not\b|'t\b|t\b))"
"""Who should not, shouldn't (or "shouldnt", as typed), must not, can't, cannot ..."""
BROAD = _rx(
    rf"{_WHO_NOT}|\bwhat (?:are|were) the (?:\w+ )?"
    r"(?:warnings|risks|precautions|contraindications)\b|\bsafety risks\b"
)
"""A question whose answer is a list: who should not take it, what the warnings are."""

WHO_NOT = _rx(rf"{_WHO_NOT}|\bcontraindicat\w*")
"""A question asking who must not take a drug: its contraindications."""
BARRED = "contraindications: do not take or use it, must not be given"
"""How monographs introduce their contraindications (a label's "CONTRAINDICATIONS", a
leaflet's "Do not take X" and "You must not be given X"): searched for beside a question
whose own words, once the drug is left out, say almost nothing ("who shouldn't be on X")."""
WARNED = _rx(
    r"\b(?:warnings?|precautions?|cautions?|careful)\b|\bwho needs? (?:\w+ )?(?:care|monitoring)\b"
)
"""A question asking what to watch for before a drug is given: its warnings and
precautions (not who must not take it: ``WHO_NOT``)."""
WARNS = _rx(
    r"\bwarnings? and precautions\b|\btake special care\b|\b(?:talk|speak|check) (?:to|with) "
    r"your (?:doctor|pharmacist|nurse)\b[^.:]{0,80}\bbefore\b"
)
"""A lead-in that introduces a monograph's warnings ("Warnings and precautions Talk to your
doctor before using X if you have:", "Take special care with X")."""
BARS = _rx(
    r"\b(?:must not|do not|don't|should not|never|cannot|can't)\b|\bnot (?:be )?(?:given|used|"
    r"taken|take|use|receive)\b|\bcontraindicated\b"
)
"""A lead-in that bars a list's cases ("Do not take X if:", "You must not be given X:")."""

FRAGMENT_WORDS = 3
"""A unit of fewer words than this ("Breastfeeding.", "Dose") never answers alone."""
_ENDS = re.compile(r"[.!?:;)]\s*$")


@dataclass(frozen=True, slots=True)
class Intent:
    """What a question asks for and about whom (see the module docstring)."""

    targets: frozenset[str] = frozenset()
    qualifiers: dict[str, frozenset[str]] = field(default_factory=dict)
    measures: dict[str, tuple[float, float]] = field(default_factory=dict)
    """measure -> the interval the question gives (a point is (v, v))."""
    broad: bool = False
    duration: str = ""
    """The unit of a "how many weeks" question: the number must be of that kind."""
    units: tuple[re.Pattern[str], ...] = ()
    """Units the question asks its number in (see ``_ASKED_UNIT``)."""
    words: frozenset[str] = frozenset()
    """The question's content words and their initials: what indication it names."""
    asked: str = ""
    """What number the question asks for, in words, when it names its unit or its kind
    ("a percentage", "a number of weeks", "a figure in mmol/L"): a statement without a
    number of that kind does not answer it."""
    case: frozenset[str] = frozenset()
    """The qualifier values that make a dose question about a case (``CASE_AXES``): a
    child, the elderly, an organ's impairment and its severity. An organ is a case only
    where the question speaks of its impairment ("renal impairment", "on HD", "CrCl 20"),
    not in "kidney transplant" or "renal anaemia"."""
    analytes: tuple[re.Pattern[str], ...] = ()
    """What the level a threshold question asks for measures (``LEVEL``): the statement
    that states the level names it."""
    purpose: frozenset[str] = frozenset()
    """What the dose a dose question asks for is for, when it names one (``PURPOSES``)."""

    @property
    def population(self) -> bool:
        """True when the question names a sub-population (age or organ)."""
        return any(a in self.qualifiers for a in POPULATION_AXES)


def intent_of(question: str) -> Intent:
    """Parse a clinician's question: its targets, qualifiers and measures."""
    targets = {name for name, (asks, _) in TARGETS.items() if asks.search(question)}
    if "regimen" in targets and _EFFECT_CONTEXT.search(question) and _BARE_OFTEN.search(question):
        # "Myocarditis after X - how often and who gets it": how often it happens.
        targets = (targets - {"regimen"}) | {"frequency"}
    for name, gone in _SUPERSEDES.items():
        if name in targets:
            targets -= set(gone)
    measures = _question_measures(question)
    if "missed" in targets and (late := _Q_DELAY.search(question)):
        # "Noticed 20 hrs later": the case of a missed-dose passage that covers it
        # ("less than 12 hours" / "more than 12 hours since you should have taken it").
        measures["delay"] = (float(late.group(1)),) * 2
    qualifiers = _axes(question)
    if "clearance" in measures:
        qualifiers.setdefault("organ", frozenset({"renal"}))
        if measures["clearance"][1] <= SEVERE_CLEARANCE:
            # Under 30 mL/min is severe renal impairment in every grading (KDIGO, the
            # EMA and FDA renal guidances): "CrCl < 30" asks about the severe case.
            qualifiers.setdefault("severity", frozenset({"severe"}))
    if "age" in measures and "age" not in qualifiers:
        lo, hi = measures["age"]
        age = "child" if hi < 18 else "elderly" if lo >= 65 else "adult"
        qualifiers["age"] = frozenset({age})
    how_many = _HOW_MANY.search(question)
    duration = _span(how_many.group(1)) if how_many else ""
    asked = _asked(question, duration)
    temperature = asked == TEMPERATURE
    case = set(qualifiers.get("age", frozenset()) - {"adult"})
    if "organ" in qualifiers and ("clearance" in measures or _IMPAIRED.search(question)):
        case |= qualifiers["organ"] | qualifiers.get("severity", frozenset())
    return Intent(
        frozenset(targets),
        qualifiers,
        measures,
        bool(BROAD.search(question)),
        duration,
        tuple(_unit_pattern(m.group(0)) for m in _ASKED_UNIT.finditer(question))
        + ((TEMPERATURE_STATED,) if temperature else ()),
        question_words(question),
        asked,
        frozenset(case),
        _analytes(question) if asked == LEVEL else (),
        _purpose(question, targets),
    )


def _purpose(question: str, targets: set[str]) -> frozenset[str]:
    """``Intent.purpose``: read only for a dose question that names one purpose ("during
    treatment" or "prevent and treat" ask for none)."""
    if not targets & {"amount", "regimen"}:
        return frozenset()
    named = _purposes(question)
    return named if len(named) == 1 else frozenset()


def _purposes(text: str) -> frozenset[str]:
    """The purposes (``PURPOSES``) ``text`` states."""
    return frozenset(p for p, rx in PURPOSES.items() if rx.search(text))


def _span(said: str) -> str:
    """The length of time ``said`` names ("mins" -> "minutes")."""
    return next(k for k, forms in _SPANS.items() if re.fullmatch(forms, said, _I))


def _asked(question: str, duration: str) -> str:
    """``Intent.asked`` for ``question``."""
    if duration:
        return f"a number of {duration}"
    unit = _ASKED_UNIT.search(question)
    if unit is None:
        # "At what eGFR do I stop it?", "what serum potassium is too high?": a threshold
        # of a measurement, which only a stated level answers (a sentence naming the
        # measurement without one is not an answer).
        if re.search(_LAB, question, _I) and re.search(_THRESHOLD_CUE, question, _I):
            return LEVEL
        return TEMPERATURE if _ASKS_TEMPERATURE.search(question) else ""
    said = unit.group(0)
    if said == "%" or said.lower().startswith("percent"):
        return "a percentage"
    return f"a figure {said}" if said.lower().startswith("per ") else f"a figure in {said}"


def _unit_pattern(asked: str) -> re.Pattern[str]:
    key = " ".join(asked.lower().split())
    if key.startswith("percent"):
        key = "percent"
    if key in _UNIT_FORMS:
        return _rx(_UNIT_FORMS[key])
    # "mcg/kg/h" is stated as "mcg/kg/h", "micrograms/kg/hour" or "mcg per kg per hour".
    parts = [re.escape(p.strip()) for p in key.split("/")]
    head = {
        "mcg": "(?:mcg|µg|micrograms?)",
        "iu": "(?:iu|international units)",
        "units": "units?",
        "unit": "units?",
    }.get(key.split("/")[0].strip(), parts[0])
    tail = "".join(rf"\s*(?:/|per|for each|a)\s*{p}\w*" for p in parts[1:])
    return _rx(head + tail)


def _axes(text: str) -> dict[str, frozenset[str]]:
    out = {}
    for axis, values in AXES.items():
        found = frozenset(v for v, rx in values.items() if rx.search(text))
        if found:
            out[axis] = found
    return out


def _question_measures(question: str) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    m = _Q_CLEARANCE.search(question)
    if m:
        value = float(m.group(2))
        op = (m.group(1) or "").lower()
        if op in ("<", "≤", "below", "under", "less than"):
            out["clearance"] = (0.0, value - 1e-6)
        elif op in (">", "≥", "over", "above", "more than"):
            out["clearance"] = (value + 1e-6, math.inf)
        else:
            out["clearance"] = (value, value)
    m = _Q_WEIGHT.search(question)
    if m:
        out["weight"] = (float(m.group(1)),) * 2
    m = _Q_AGE.search(question)
    if m:
        out["age"] = (float(m.group(1)),) * 2
    elif m := _Q_AGE_MONTHS.search(question):
        out["age"] = (float(m.group(1)) / 12,) * 2
    elif m := _Q_OVER_AGE.search(question):
        out["age"] = (float(m.group(1)) + 1e-6, math.inf)
    return out


def _stated_ranges(text: str, measure: str) -> list[tuple[float, float]]:
    out = []
    scales = [(_RANGES[measure], 1.0)] + ([(_AGE_MONTHS, 1 / 12)] if measure == "age" else [])
    for patterns, scale in scales:
        rest = text
        for rx, kind in patterns:
            for m in rx.finditer(rest):
                a = float(m.group(1).replace(",", ".")) * scale
                if kind in ("band", "between"):
                    out.append((a, float(m.group(2).replace(",", ".")) * scale))
                elif kind == "below":
                    out.append((0.0, a))
                else:
                    out.append((a, math.inf))
            if kind == "band":
                rest = rx.sub(lambda m: " " * len(m.group(0)), rest)
    return out


@dataclass(frozen=True, slots=True)
class Fit:
    """How a statement (read with its context) fits an ``Intent``."""

    matched: int = 0
    """Qualifier axes and measures the statement carries as the question states them."""
    conflicts: int = 0
    """Axes or measures where it carries a different value (someone else's statement)."""
    missing_population: bool = False
    """The question names a sub-population and the statement carries none of it."""
    missing: int = 0
    """Other qualifiers or measures the question states that the statement does not."""
    composition: bool = False
    """A strength or pack statement read for a dose or a level."""
    limit: bool = False
    """A dose's cap (``LIMIT``) read for a question that asks for the dose, not its cap."""
    adjustment: bool = False
    """A change of the dose (``ADJUSTS``) read for a question that asks for the dose."""
    targets: int = 0
    """Targets of the question the statement carries."""
    missing_targets: int = 0
    fragment: bool = False
    unit_missing: bool = False
    """The question asks for a number in a unit the statement does not state."""
    asked_missing: bool = False
    """The statement carries no number of the kind the question asks for (``Intent.asked``):
    its unit, or for "how many weeks" a number of weeks (or days, months)."""
    unstated: tuple[str, ...] = ()
    """Values of the case the question asks about (a child, renal impairment, severe) that
    neither the statement nor what it is read under states. An adult is everyone's default
    and never unstated."""


_MEASURED = {
    "clearance": ("renal", "mild", "moderate", "severe"),
    "age": ("child", "elderly"),
    "weight": ("child",),
}
"""Case values a matching measure states (see ``Fit.unstated``): a weight band the child
falls in states the child's dose (a leaflet's "20 kg to < 80 kg: 40 mg"); a band stated for
adults only still conflicts on the age axis."""


_EXCEPTION = _rx(
    r"[,;]?\s*(?:\b(?:reduced|decreased|lowered|increased|adjusted)\s+to\b(?:[^.;]|\.\d)*?\bif\b|"
    r"\bunless\b|\bexcept (?:in|for|if|when)\b)(?:[^.;]|\.\d)*"
)
"""The clause of a dose statement naming whom it does not apply to ("reduced to 2.5 mg
if the patient is 80 years or older", "unless the weight is under 60 kg")."""


def fit(intent: Intent, text: str, context: tuple[str, ...] = ()) -> Fit:
    """Read ``text`` (with its ``context``: lead-in, previous sentence, heading, nearest
    first) against ``intent``.

    An axis is read from the nearest layer that states any value of it: a sentence that
    names its population decides, else its lead-in, else its heading.
    """
    layers = (text, *context)
    matched = conflicts = missing = 0
    population_seen = False
    organ_layer: str | None = None
    unstated: list[str] = []
    severity_missed = False
    for axis in sorted(intent.qualifiers, key=lambda a: a == "severity"):
        wanted = intent.qualifiers[axis]
        # A severity qualifies an organ's impairment: it is read from the sentence itself
        # or from where the organ is named, never from a neighbour about another case.
        search = layers
        if axis == "severity" and "organ" in intent.qualifiers:
            search = (text,) if organ_layer in (None, text) else (text, organ_layer)
        for layer in search:
            stated = _axes_one(layer, axis)
            if axis == "severity" and "renal" in intent.qualifiers.get("organ", ()):
                stated |= _clearance_grades(layer)
            if stated:
                if axis in POPULATION_AXES:
                    population_seen = True
                if axis == "organ":
                    organ_layer = layer
                if stated & wanted:
                    matched += 1
                elif not _compatible(axis, wanted, stated):
                    conflicts += 1
                    unstated.extend(sorted(wanted & intent.case))  # another case's
                break
        else:
            # Only a severity is missed: most statements name no sex or trimester.
            missing += axis == "severity"
            severity_missed = axis == "severity"
            unstated.extend(sorted(wanted & intent.case))
    for measure, (qlo, qhi) in intent.measures.items():
        for layer in layers:
            ranges = _stated_ranges(layer, measure)
            if ranges:
                inside = any(lo <= qhi and qlo <= hi for lo, hi in ranges)
                # Only an exception may state it ("5 mg, reduced to 2.5 mg if 80 years or
                # older") with the patient outside it: the main dose is then theirs.
                if inside or not _stated_ranges(_EXCEPTION.sub("", layer), measure):
                    matched += 1
                    population_seen = True
                    # "CrCl under 10 mL/min" states the case "CrCl 8" asks about,
                    # however it grades it.
                    unstated = [v for v in unstated if v not in _MEASURED.get(measure, ())]
                    if inside and measure == "clearance" and severity_missed:
                        missing -= 1  # the range grades it: it states the severity asked
                        matched += 1
                else:
                    conflicts += 1
                break
        else:
            missing += measure == "weight"
    for layer in layers if intent.purpose else ():
        stated = _purposes(layer)
        if stated:
            conflicts += not stated & intent.purpose
            break
    carried = absent = 0
    duration_ok = True
    whole = " ".join(layers[:2])
    for target in intent.targets:
        ok = bool(TARGETS[target][1].search(whole))
        if target == "amount" and not ok and intent.population:
            ok = _verdict_for(intent, whole)
        if target == "value" and ok and (m := intent.duration):
            ok = bool(
                re.search(
                    rf"(?:\d|\b(?:one|two|three|four|five|six|a|an))\s*-?\s*(?:{_DURATION[m]})\b"
                    r"(?!\s+(?:of age|old))",  # "50 years of age" is an age, not a duration
                    whole,
                    _I,
                )
            )
        if target == "value" and intent.duration:
            duration_ok = ok
        carried += ok
        absent += not ok
    unit_missing = any(
        not rx.search(text if rx is TEMPERATURE_STATED else whole) for rx in intent.units
    )
    if intent.asked == LEVEL:
        # The level and what it measures in one statement (or under its lead-in "Do not
        # take it if:"): a neighbour's number is of something else.
        own = f"{text} {context[0]}" if context and context[0].rstrip().endswith(":") else text
        unit_missing = unit_missing or not (
            _LEVEL_STATED.search(own) and all(rx.search(own) for rx in intent.analytes)
        )
    composition = bool(intent.targets & {"amount", "value"}) and bool(COMPOSITION.search(text))
    limit = (
        "amount" in intent.targets and not intent.words & _ASKS_LIMIT and bool(LIMIT.search(text))
    )
    # A case (a child, an organ's impairment) is often answered by a change of the dose.
    adjustment = (
        "amount" in intent.targets
        and not (intent.qualifiers or intent.measures)
        and not _ASKS_CHANGE.search(" ".join(sorted(intent.words)))
        and bool(ADJUSTS.search(text))
    )
    return Fit(
        matched=matched,
        conflicts=conflicts,
        missing_population=intent.population and "amount" in intent.targets and not population_seen,
        missing=missing,
        composition=composition,
        limit=limit,
        adjustment=adjustment,
        targets=carried,
        missing_targets=absent,
        fragment=is_fragment(text),
        unit_missing=unit_missing,
        asked_missing=unit_missing or not duration_ok,
        unstated=tuple(unstated),
    )


_ADULT_DOSE = _rx(
    r"\b(?:up to|to|exceed(?:ing)?|than|receive|be given|switch(?:ed)? to|as)\s+the\s+"
    r"(?:usual\s+|recommended\s+)?adult\s+(?:doses?|dosage|dosing)\b"
)
"""'The adult dose' named as a reference point ("children: 2 mg/kg up to the adult dose")."""


def _verdict_for(intent: Intent, text: str) -> bool:
    """Whether ``text`` settles the asked case's dose without an amount (``VERDICT``) in a
    clause that states no other value of the question's qualifiers: "a lower starting dose
    is recommended [in mild to moderate cirrhosis]; losartan has not been studied in
    patients with severe hepatic impairment" settles nothing for a moderate case."""
    for clause in re.split(r";|\.(?!\d)", text):
        if VERDICT.search(clause) and not any(
            (stated := _axes_one(clause, axis))
            and not stated & wanted
            and not _compatible(axis, wanted, stated)
            for axis, wanted in intent.qualifiers.items()
        ):
            return True
    return False


def _axes_one(text: str, axis: str) -> frozenset[str]:
    stated = frozenset(v for v, rx in AXES[axis].items() if rx.search(text))
    # A children's statement that names the adult dose as its cap or switch-over point
    # ("up to the adult dose", "should receive the adult dose") is about children only.
    cap = axis == "age" and {"child", "adult"} <= stated
    if cap and not AXES["age"]["adult"].search(_ADULT_DOSE.sub(" ", text)):
        stated -= {"adult"}
    return stated


def _clearance_grades(text: str) -> frozenset[str]:
    """The renal severities the clearance ranges of ``text`` state: "CrCl below 30 mL/min"
    is severe, "30 to 50" moderate, "50 to 80" mild (the EMA and FDA renal gradings)."""
    grades = set()
    for lo, hi in _stated_ranges(text, "clearance"):
        if hi <= SEVERE_CLEARANCE:
            grades.add("severe")
        elif lo >= SEVERE_CLEARANCE and hi <= MODERATE_CLEARANCE:
            grades.add("moderate")
        elif lo >= MILD_CLEARANCE[0] and hi <= MILD_CLEARANCE[1]:
            grades.add("mild")
    return frozenset(grades)


def _compatible(axis: str, wanted: frozenset[str], stated: frozenset[str]) -> bool:
    """Different values that do not contradict: an elderly patient is an adult."""
    if axis == "age":
        return "elderly" in wanted and stated == {"adult"}
    return False


# -- scope: whom and what a dose statement is for ----------------------------------------------
# A statement added beside the chosen one (a runner-up, a second part, a neighbour) must be
# about the same patients: not an amount for another population (the children's line beside
# the adults' one) nor for another indication ("for patients with X" when the question and
# the chosen statement are about Y). The indication is not looked up in any list of diseases:
# it is the phrase a statement scopes itself by ("patients with ...", "treatment of ...",
# "dose for ...", a "Label:"), read against the question's own words and their initials.
_WHO = (
    r"(?:adults?|patients?|children|child|adolescents?|people|persons?|infants?|neonates?|"
    r"women|men|those|individuals|subjects)"
)
# No number ends a phrase inside a word: "for t2dm with nephropathy", "for her2+ cancer".
_PHRASE = r"([^,.;:()\d]+(?:(?<=[a-z])\d+(?=[a-z+])[^,.;:()\d]*)*)"
_SCOPES = (
    _rx(rf"\b{_WHO}\b[^,.;:()]{{0,40}}?\bwith\s+{_PHRASE}"),
    _rx(rf"\b(?:treatment|management|prevention|prophylaxis|control) of\s+{_PHRASE}"),
    _rx(rf"\b(?:to treat|treating|indicated (?:for|in))\s+{_PHRASE}"),
    _rx(rf"\b(?:doses?|dosage|dosing|regimen)\s+(?:\w+\s+){{0,2}}?(?:for|in)\s+{_PHRASE}"),
    re.compile(r"^\s*([A-Z][^:.\d]{2,50}):\s"),
)
_SCOPE_STOP = frozenset(
    """is are was were be been being should must may might can could will would take takes
    taking taken receive receives receiving given give start starts begin who whom which
    that whose when where whether if than as the this these those it its""".split()
)
_SCOPE_FILLER = frozenset(
    """a an the of and or to in on for at by with without their his her your any some all
    other known history new newly previously patients patient people persons aged age ages
    years year months old older younger weight weighing body impairment impaired function
    functions disease diseases insufficiency failure dysfunction condition conditions
    recommended usual starting initial maintenance maximum dose doses dosage dosing regimen
    treatment therapy use note important warning warnings how much daily weekly""".split()
)
_WORD = re.compile(r"[a-z][a-z0-9'-]*")


def _content(words: list[str]) -> list[str]:
    """The words of a phrase that say what it is about: no filler, no qualifier word."""
    return [
        w
        for w in words
        if w not in _SCOPE_FILLER
        and not any(rx.search(w) for values in AXES.values() for rx in values.values())
    ]


def scope_words(text: str) -> list[list[str]]:
    """The content words of each phrase ``text`` scopes itself by ("For adults with
    rheumatoid arthritis, ..." -> [["rheumatoid", "arthritis"]])."""
    out = []
    for rx in _SCOPES:
        for m in rx.finditer(text):
            words = []
            for w in _WORD.findall(m.group(1).lower()):
                if w in _SCOPE_STOP and words:
                    break
                if w not in _SCOPE_STOP:
                    words.append(w)
                if len(words) >= 6:
                    break
            content = _content(words)
            if content:
                out.append(content)
    return out


def _initials(words: list[str]) -> set[str]:
    """The initials of every run of two or more words ("juvenile idiopathic arthritis"
    -> "jia", ...): how an indication is abbreviated."""
    return {
        "".join(w[0] for w in words[i:j])
        for i in range(len(words))
        for j in range(i + 2, min(len(words), i + 6) + 1)
    }


def question_words(question: str) -> frozenset[str]:
    """The question's content words and their initials (see ``scope_words``)."""
    words = _content(_WORD.findall(question.lower()))
    return frozenset(words) | frozenset(_initials(words))


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    return min(len(a), len(b)) >= 5 and a[:5] == b[:5]


def names_scope(asked: frozenset[str], phrase: list[str]) -> bool:
    """True when the question's words name the scope ``phrase`` (a word, a stem, or its
    initials: "ra" for "rheumatoid arthritis")."""
    if any(_same_word(w, q) for w in phrase for q in asked):
        return True
    return bool(_initials(phrase) & asked)


def asked_scope(question: str) -> list[str]:
    """The indication a dose question names ("dose for generalized anxiety disorder" ->
    ["generalized", "anxiety", "disorder"]), or [] (see ``scope_words``). What the planner
    spelt out in brackets is part of the phrase ("for CAP (community-acquired pneumonia)")."""
    phrases = scope_words(question.replace("(", " ").replace(")", " "))
    return phrases[0] if phrases else []


def names_phrase(phrase: list[str], layers: tuple[str, ...]) -> bool:
    """True when ``layers`` (a statement, its lead-in or heading) name ``phrase``: one of
    its words (or a stem of one), or its initials ("GAD")."""
    words = {w for layer in layers for w in _WORD.findall(layer.lower())}
    if names_scope(frozenset(words), phrase):
        return True
    # The question's initials for the statement's words: "RA" for "rheumatoid arthritis".
    initials = {i for layer in layers for scope in scope_words(layer) for i in _initials(scope)}
    return bool(initials & set(phrase))


def scoped_elsewhere(phrase: list[str], text: str, context: tuple[str, ...] = ()) -> bool:
    """True when the statement scopes itself by an indication ("For ALL, ...") and
    nowhere names the indication ``phrase`` the question asks about."""
    layers = (text, *context[:1])
    return any(scope_words(layer) for layer in layers) and not names_phrase(phrase, layers)


def _stated(axis: str, layers: tuple[str, ...]) -> frozenset[str]:
    """An axis read from the nearest layer that states any value of it."""
    for layer in layers:
        if stated := _axes_one(layer, axis):
            return stated
    return frozenset()


def sub_population(intent: Intent, layers: tuple[str, ...]) -> frozenset[str]:
    """The population values a statement is about that the question does not name (a
    child, an organ's impairment, for a question about nobody in particular)."""
    out: set[str] = set()
    for axis in POPULATION_AXES:
        if axis not in intent.qualifiers:
            if axis == "age" and any(_for_everyone(layer) for layer in layers[:2]):
                continue  # "in infants, children, adolescents and adults": everyone's dose
            out |= _stated(axis, layers) - {"adult"}
    return frozenset(out)


_AGES = r"(?:adults?|children|infants|adolescents|neonates|elderly)"
_EVERYONE = _rx(rf"\b{_AGES}(?:\s*,\s*{_AGES}){{0,3}},?\s+and\s+{_AGES}\b")
"""Ages named together in one phrase ("children and adults")."""


def _for_everyone(text: str) -> bool:
    """``text`` names adults together with younger ages in one phrase ("in infants,
    children, adolescents and adults"): its dose is for everyone."""
    return any("adult" in m.group(0).lower() for m in _EVERYONE.finditer(text))


def names_asked_scope(intent: Intent, text: str, context: tuple[str, ...] = ()) -> bool:
    """True when the statement scopes itself ("for patients with ...") by an indication the
    question names."""
    layers = (text, *context[:1])
    return any(names_scope(intent.words, s) for layer in layers for s in scope_words(layer))


def other_scope(
    intent: Intent,
    text: str,
    context: tuple[str, ...],
    chosen: str,
    chosen_context: tuple[str, ...],
) -> str:
    """Why the statement ``text``, added beside the ``chosen`` one, is about someone or
    something else: "population" (it states an amount for a population the question does
    not name and the chosen statement is not about), "indication" (an amount for another
    indication than the one the question and the chosen statement name), or "".

    Axes the question states are ``fit``'s conflicts; this reads the ones it leaves open.
    """
    if not TARGETS["amount"][1].search(text):
        return ""
    mine = (text, *context)
    if sub_population(intent, mine) - sub_population(intent, (chosen, *chosen_context)):
        return "population"
    asked = intent.words
    if not asked:
        return ""
    scopes = scope_words(text) or [s for layer in context[:1] for s in scope_words(layer)]
    if not scopes or any(names_scope(asked, s) for s in scopes):
        return ""
    chosen_scopes = [s for layer in (chosen, *chosen_context[:1]) for s in scope_words(layer)]
    if any(names_scope(asked, s) for s in chosen_scopes):
        return "indication"
    return ""


def is_fragment(text: str) -> bool:
    """A heading line or a bare list entry: too little to be a statement on its own."""
    words = text.split()
    if len(words) < FRAGMENT_WORDS or text.rstrip().endswith("?"):
        return True  # a label, or a question line (a table's header, a leaflet's heading)
    return len(words) <= 6 and not _ENDS.search(text)


# -- one clause of a sentence that states two cases --------------------------------------------
_COORDINATED = _rx(
    r",?\s+(?:and|whereas|while)\s+(?=(?:for|between|in|with|from|up to|by|increased|"
    r"reduced|decreased|lowered|doubled|halved)\b)"
)
_LISTED = _rx(r";\s+(?:and\s+)?")
"""Where a sentence lists parallel cases ("CrCl 50 to 80, 500 to 1000 mg; CrCl 30 to 50,
250 to 750 mg"): cut there only to find the range a question's value lies in (a semicolon
also joins a dose to its schedule, one case)."""
_NEGATION = _rx(r"\b(?:without|w/o|no|not|non)\b[-\s]*((?:[a-z][a-z0-9'-]*\s*){1,3})")
"""A case stated by what it lacks ("without ascites", "w/o dialysis"): the words it
negates, up to three, until a word that says nothing of the case."""


def _case_words(text: str, titled: list[str]) -> set[str]:
    """The content words of a clause or question that name a case, those it states by their
    absence marked "-" ("without ascites" -> "-ascites"): "with ascites" is the other case,
    not the same. A word of ``titled`` (the drug's name) names no case."""
    lowered = text.lower().replace("w/o", "without")
    negated: set[str] = set()
    for m in _NEGATION.finditer(lowered):
        for w in _WORD.findall(m.group(1)):
            if w in _SCOPE_FILLER or w in _SCOPE_STOP:
                break
            negated.add(w)
    words = [w for w in _WORD.findall(lowered) if not any(_same_word(w, t) for t in titled)]
    # A qualifier word is no content word (``_content``); the case it states is one
    # ("@severity:moderate"):
    # "25% in moderate and severe impairment, and 50% in severe" states moderate once.
    stated = {f"@{axis}:{v}" for axis in AXES for v in _axes_one(text, axis)}
    return {f"-{w}" if w in negated else w for w in _content(words)} | stated


def clause_for(question: str, text: str, drug: str = "") -> str | None:
    """The part of ``text`` about the case the question names, when ``text`` coordinates
    clauses about different cases, each with its own number: "For minor bleeding, each
    initial dose is usually 40 to 50 IU/kg and for major bleeding, 50 to 80 IU/kg" read for
    "initial dose for a major bleed" gives "… for major bleeding, 50 to 80 IU/kg"; "twice a
    day between 5 and 14 days for skin infections and between 5 and 10 days for CAP" read
    for "duration for CAP" keeps the shared start ("... twice a day … between 5 and 10 days
    for community-acquired pneumonia"). None when the sentence states one case, or the
    question names none of its cases or more than one: then the whole sentence is quoted.
    The other case's number beside the asked one is the wrong-population answer. The
    words of ``drug`` (the monograph's title) name no case."""
    listed = _numbered_clauses(text, _LISTED)
    measured = _measured_clause(question, listed) if len(listed) > 1 else None
    if measured is not None:
        return _quoted_clause(listed, measured, shared=_lead(listed[0]))
    clauses = _numbered_clauses(text)
    if len(clauses) < 2:
        return None
    titled = _WORD.findall(drug.lower())
    # The words typed, not their initials: "major bleed" is no abbreviation of "minor
    # bleeding", though both are "mb".
    asked = _case_words(question, titled)
    if not asked:
        return None
    contents = [_case_words(c, []) for c in clauses]
    matching = []
    for i, mine in enumerate(contents):
        others = set().union(*(c for j, c in enumerate(contents) if j != i))
        own = [w for w in mine if _own(w, others)]
        if not own:
            return None  # a clause with nothing of its own: not a case of its own
        if any(_names(q, w) for w in own for q in asked) or _initials_in(own, clauses[i], asked):
            matching.append(i)
    if len(matching) != 1:
        return None
    return _quoted_clause(clauses, matching[0])


def _measured_clause(question: str, clauses: list[str]) -> int | None:
    """The one clause whose own range of a measure the question gives ("crcl 40") holds
    its value, where two or more clauses state ranges of it ("CrCl 50 to 80 ...; CrCl 30
    to 50 ..."); None when none or several hold it (a value on a boundary)."""
    for measure, (qlo, qhi) in _question_measures(question).items():
        ranges = [_stated_ranges(c, measure) for c in clauses]
        if sum(bool(r) for r in ranges) < 2:
            continue
        holding = [i for i, r in enumerate(ranges) if any(lo <= qhi and qlo <= hi for lo, hi in r)]
        return holding[0] if len(holding) == 1 else None
    return None


def _lead(clause: str) -> str:
    """A list's lead-in: the first clause up to its colon ("Pediatric dosage is based on
    age:"), or nothing."""
    head, colon, _ = clause.rpartition(":")
    return f"{head.strip()}:" if colon else ""


def _quoted_clause(clauses: list[str], i: int, shared: str | None = None) -> str:
    """Clause ``i`` of a sentence, quoted with what the first clause shares with it
    (``shared``, when the caller knows it)."""
    chosen = clauses[i].strip().rstrip(".")
    if i == 0:
        return f"{chosen} …"
    if shared is None:
        # The clauses are parallel ("between 5 and 14 days for X and between 5 and 10 days
        # for Y"): what the first says before its own version of the chosen clause's
        # opening word is shared by both.
        first = clauses[0]
        opening = chosen.split()[0].lower()
        spots = [m.start() for m in re.finditer(rf"\b{re.escape(opening)}\b", first, _I)]
        shared = first[: spots[-1]].strip().rstrip(",") if spots else ""
    return f"{shared} … {chosen}." if shared else f"… {chosen}."


def _numbered_clauses(text: str, cuts: re.Pattern[str] = _COORDINATED) -> list[str]:
    """``text`` cut where it coordinates clauses (``cuts``), each with a number of its own:
    a cut that leaves no number before it joins what precedes it to the next clause ("For
    amebic dysentery and for amebic liver abscess in adults, 750 mg ..." is one case)."""
    clauses: list[str] = []
    start = 0
    for m in cuts.finditer(text):
        if re.search(r"\d", text[start : m.start()]):
            clauses.append(text[start : m.start()])
            start = m.end()
    rest = text[start:]
    if clauses and not re.search(r"\d", rest):
        return []  # the last clause states no number: no case of its own
    return [c for c in [*clauses, rest] if c.strip()]


def _own(word: str, others: set[str]) -> bool:
    """Whether a clause's ``word`` (see ``_case_words``) is its own, not the other
    clauses'. A qualifier is a clause's own case only where another clause states another
    value of it: "advise women not to breastfeed during treatment and for 1 week after the
    final dose" states one case, however its second clause begins."""
    if word.startswith("@"):
        axis = word.split(":")[0]
        return word not in others and any(o.split(":")[0] == axis for o in others)
    return not any(_same_word(word, o) for o in others)


def _names(asked: str, word: str) -> bool:
    """Whether the question's word ``asked`` names the clause's ``word``."""
    return asked == word if word.startswith("@") else _same_word(word, asked)


def _initials_in(own: list[str], clause: str, asked: set[str]) -> bool:
    """Whether the question abbreviates a phrase of the clause ("CAP" for
    "community-acquired pneumonia")."""
    words = [w for w in re.findall(r"[a-z]+", clause.lower()) if w not in _SCOPE_FILLER]
    return bool(_initials(words) & asked) and any(w in clause.lower() for w in own)
