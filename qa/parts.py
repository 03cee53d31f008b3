"""The parts of a question that asks several things at once.

"Spikevax vials - storage temp, and how long to thaw in the fridge?", "how is X
metabolised + half life", "ok in pregnancy? and if breastfeeding?": each part has its own
answer, often in another section, and one search for the whole finds the passage of one
part only. A question is cut where a new question plainly starts:

- after a question mark followed by more text;
- at "+", "&" or ";";
- at "and", "or" or a comma followed by a question word ("how", "what", "when", "can",
  "is", "any", "if", "for how long" ...): "dose and duration for CAP" stays whole (one
  question with two targets, both about CAP), "with food or not, and what time of day?"
  is cut.

Only a piece that asks something is a part: it opens with a question word or asks for a
target the reader knows (a dose, a half-life, storage; ``monorag.qa.reader.TARGETS``).
The other pieces are context that every part is asked with: a topic before " - "
("doxycycline for malaria ppx in an adult - dose, and when to start"), a clause that sets
the scene ("pt on haemodialysis, does it need a dose change? when to give it"). A question
with one part is asked whole, and so is one whose parts do not each state whom it is
about (a population, an organ, a measure the whole states). The word lists are general
English question words: nothing names a drug, a section or a question of any evaluation
set.
"""

from __future__ import annotations

import re

from monorag.qa.reader import intent_of

MIN_WORDS = 2
"""A part this short ("dose", "ok?") leans on its neighbour: it is not cut off."""
MAX_PARTS = 3
"""More parts than this is a list, not several questions: the question stays whole."""

_CUE = (
    r"(?:how|what|whats|what's|when|which|who|where|why|can|could|is|are|does|do|did|"
    r"should|would|will|any|anything|if|ok|okay|for how long|how long|and if|or if)\b"
)
_CUT = re.compile(
    r"\?\s+(?=\S)"  # "...pregnant woman? and if breastfeeding?"
    r"|\s*[&;]\s*|\s+\+\s*"  # "metabolised + half life"; not "alk+ nsclc", "her2+"
    rf"|,?\s+(?:and|or)\s+(?={_CUE})"  # "... and how long to thaw"
    rf"|,\s*(?={_CUE})",  # "storage temp, how long ..."
    re.IGNORECASE,
)
_JOIN = re.compile(r",?\s+(?:and|or)\s+|,\s*", re.IGNORECASE)
"""Where two requests may be joined without a question word ("how often and timing with
meals", "how many times a day, with food")."""
_TOPIC = re.compile(r"^(?P<topic>[^?]{3,80}?)\s+[-–—]\s+(?P<rest>.+)$")
_ASKS = re.compile(rf"^(?:(?:and|or|but|so|also)\s+)?{_CUE}", re.IGNORECASE)


def _asks(piece: str) -> bool:
    """Whether ``piece`` asks something (rather than setting the scene)."""
    return bool(_ASKS.match(piece) or intent_of(piece).targets)


def _requests(piece: str) -> list[str]:
    """``piece`` cut where "and" or a comma joins two requests for different targets
    ("how often" and "timing with meals": a schedule and food); a piece whose halves do
    not each ask for a target of their own ("dose and duration for CAP") stays whole."""
    halves = _JOIN.split(piece)
    if len(halves) != 2:
        return [piece]
    first, second = (intent_of(h).targets for h in halves)
    if first and second and not first & second:
        return halves
    return [piece]


def parts_of(question: str) -> list[str]:
    """The questions ``question`` asks, each whole (with the topic they share); a
    question that asks one thing is its own only part."""
    topic, rest = "", question.strip()
    m = _TOPIC.match(rest)
    if m:
        topic, rest = m.group("topic").strip(), m.group("rest").strip()
    context = [topic] if topic else []
    parts: list[str] = []
    for piece in (p.strip(" ,?") for c in _CUT.split(rest) for p in _requests(c)):
        if not piece:
            continue
        if len(piece.split()) < MIN_WORDS and parts:
            parts[-1] = f"{parts[-1]} {piece}"
        elif len(piece.split()) >= MIN_WORDS and _asks(piece):
            parts.append(piece)
        else:
            context.append(piece)
    if len(parts) < 2 or len(parts) > MAX_PARTS:
        return [question]
    scene = " ".join(context)
    out = [f"{scene} {p}".strip() for p in parts]
    # Whom the question is about holds for every part: a part that lost it ("what dose"
    # of "in a 78 yo with CAD, what dose and how fast to titrate") would be answered for
    # the general patient. Such a question is asked whole.
    whole = intent_of(question)
    for part in out:
        mine = intent_of(part)
        if set(whole.qualifiers) - set(mine.qualifiers) or set(whole.measures) - set(mine.measures):
            return [question]
    return out
