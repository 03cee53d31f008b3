"""Clinical shorthand for ordinary words, spelt out beside itself.

Clinicians write "sx", "afib", "ppx", "bid": the monographs write "symptoms", "atrial
fibrillation", "prophylaxis", "twice a day". Neither the embedding model nor the lexical
index relates the two, so "does X cause afib?" found nothing although the monograph lists
atrial fibrillation. Each shorthand word of a question is followed by what it stands for
("afib (atrial fibrillation)"): the words asked stay, the monographs' words join them.

``SHORTHAND`` is general clinical shorthand of notes and handovers, one meaning each. A
word with several common clinical meanings is left out ("od": once daily or overdose;
"cap": capsule or community-acquired pneumonia; "hr": hour or heart rate; "fn": function
or false negative; "tx": treatment or transplant; "pe", "ra", "ms", "mo"; "im", also
"I'm" typed without its apostrophe), as are drug-name abbreviations
(``monorag.lexicon.ABBREVIATIONS``) and the measures the reader reads itself (CrCl, eGFR,
HD: ``monorag.qa.reader``). Shorthand that every reader and the embedding model already
take for its meaning (pt, hrs, wks, yo, w/) is not spelt out: the brackets would only add
words to what a follow-up carries. Nothing here names a drug, a section title or a
question of any evaluation set.
"""

from __future__ import annotations

import re

SHORTHAND: dict[str, str] = {
    "sx": "symptoms",
    "hx": "history",
    "dx": "diagnosis",
    "ppx": "prophylaxis",
    "prophy": "prophylaxis",
    "abx": "antibiotics",
    "afib": "atrial fibrillation",
    "a-fib": "atrial fibrillation",
    "htn": "hypertension",
    "sob": "shortness of breath",
    "sjs": "stevens-johnson syndrome",
    "n/v": "nausea and vomiting",
    "mi": "myocardial infarction",
    "stemi": "ST-segment elevation myocardial infarction",
    "nstemi": "non-ST-segment elevation myocardial infarction",
    "acs": "acute coronary syndrome",
    "chf": "heart failure",
    "ckd": "chronic kidney disease",
    "esrd": "end-stage renal disease",
    "uti": "urinary tract infection",
    "dvt": "deep vein thrombosis",
    "vte": "venous thromboembolism",
    "lfts": "liver function tests",
    "lft": "liver function test",
    "fbc": "full blood count",
    "cbc": "complete blood count",
    "bp": "blood pressure",
    "bid": "twice a day",
    "tid": "three times a day",
    "qid": "four times a day",
    "qd": "once a day",
    "bd": "twice a day",
    "qhs": "at bedtime",
    "nocte": "at night",
    "mane": "in the morning",
    "prn": "as needed",
    "bf": "breastfeeding",
    "po": "by mouth",
    "iv": "intravenous",
    "sc": "subcutaneous",
    "subcut": "subcutaneous",
    "sq": "subcutaneous",
}
"""Shorthand (lower case) -> what it stands for, in the monographs' words."""

LAY: dict[str, str] = {
    "first trimester": "first 3 months of pregnancy",
    "second trimester": "more than 3 months pregnant",
    "third trimester": "last 3 months of pregnancy",
    "titration": "the dose is increased step by step",
    "titrate": "increase the dose step by step",
    "uptitrate": "increase the dose step by step",
    "up-titrate": "increase the dose step by step",
    "jab": "vaccine injection",
    "puff": "inhalation",
    "puffs": "inhalations",
    "asthmatic": "asthma",
    "diabetic": "diabetes",
    "epileptic": "epilepsy",
    "anaemic": "anaemia",
    "anemic": "anemia",
    "cirrhotic": "cirrhosis",
    "preemie": "baby born prematurely",
    "neonate": "newborn baby",
}
"""Clinicians' terms -> how patient leaflets say them (leaflets count pregnancy in months,
say "the dose is increased", count an inhaler's doses in inhalations, and name the
condition rather than the patient: "asthma" for "an asthmatic"): the leaflet's words join
the clinician's."""

_MEANING = {**SHORTHAND, **LAY}
TERMS = frozenset(k for k in _MEANING if k.isalpha())
"""The one-word terms spelt out here: words a typo may be respelt into ("asthamtic" ->
"asthmatic") even where the corpus, which says "asthma", lacks them."""
_WORD = re.compile(
    r"(?<![\w/-])("
    + "|".join(re.escape(k) for k in sorted(_MEANING, key=len, reverse=True))
    + r")(?![\w/-])",
    re.IGNORECASE,
)


def spelt_out(text: str) -> str:
    """``text`` with each shorthand word or clinician's term followed by its meaning in
    the monographs' words, in brackets."""

    def put(m: re.Match[str]) -> str:
        meaning = _MEANING[m.group(1).lower()]
        return f"{m.group(1)} ({meaning})"

    return _WORD.sub(put, text)
