"""A question's acronyms, spelt out as the monographs define them.

"Dose in nsclc w carboplatin", "kesimpta loading schedule for RMS": the leaflet says
"non-small cell lung cancer" and "relapsing forms of multiple sclerosis", and neither the
embedding model nor the lexical index relates the two. Every monograph's own definitions
are read at ingest (``monorag.ingest.acronyms``); a question's acronym is followed by its
long form in brackets ("RMS (relapsing forms of multiple sclerosis)") when:

- a monograph the question is about defines it (its definition wins: "UC" is ulcerative
  colitis in one leaflet and urothelial carcinoma in another), else every monograph that
  defines it agrees on what it stands for (spellings aside);
- it is typed as defined ("RMS", "gMG"), or in other letters only when that spelling is
  no English word ("nsclc", never "all" for ALL or "ms" for MS) and the question is not
  typed all in capitals;
- the monographs asked about do not write it themselves (their text matches it as typed);
- it is no drug name and no word the planner or the reader reads itself (clinical
  shorthand, "HD" for haemodialysis, "CrCl").

The list of acronyms is the corpus's: nothing here names one.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping

from rapidfuzz import fuzz

from monorag.qa.shorthand import LAY, SHORTHAND

SAME_LONG_FORM = 90.0
"""Two long forms at least this similar (rapidfuzz ratio, 0-100) are one spelt two ways
("generalised" / "generalized myasthenia gravis"); below it, an acronym the corpus defines
both ways is ambiguous and is left as typed."""
READ_ELSEWHERE = frozenset({"hd", "crcl", "egfr", "gfr", *SHORTHAND, *LAY})
"""Words the planner spells out or the reader reads as a measure or population itself."""
_TOKEN = re.compile(r"(?<![\w/-])[A-Za-z][A-Za-z0-9-]{1,7}(?![\w/-])")


def _normal(long: str) -> str:
    return " ".join(long.lower().replace("-", " ").split())


class Acronyms:
    """The acronyms the monographs define, for spelling a question's out."""

    def __init__(
        self,
        defined: Mapping[str, Mapping[str, str]],
        english: Collection[str] = (),
        reserved: Callable[[str], bool] = lambda _word: False,
    ) -> None:
        """``defined``: store key -> the acronyms that monograph defines; ``english``:
        ordinary words (an acronym spelt as one must be typed as defined); ``reserved``:
        words never spelt out (drug names)."""
        self._by_doc = {doc: dict(pairs) for doc, pairs in defined.items() if pairs}
        self._english = english
        self._reserved = reserved
        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for pairs in self._by_doc.values():
            for short, long in pairs.items():
                forms[short][long] += 1
        self._corpus: dict[str, str] = {}
        for short, longs in forms.items():
            best = longs.most_common(1)[0][0]
            if all(fuzz.ratio(_normal(best), _normal(o)) >= SAME_LONG_FORM for o in longs):
                self._corpus[short] = best
        self._folded: dict[str, list[str]] = defaultdict(list)
        for short in {s for pairs in self._by_doc.values() for s in pairs}:
            self._folded[short.lower()].append(short)

    def __len__(self) -> int:
        return len(self._folded)

    def long_form(self, token: str, docs: Iterable[str] = ()) -> str | None:
        """What ``token`` stands for, read from ``docs`` first, else the corpus; or None."""
        low = token.lower()
        if low in READ_ELSEWHERE or self._reserved(low):
            return None
        shorts = self._shorts(token)
        for short in shorts:
            for doc in docs:
                if long := self._by_doc.get(doc, {}).get(short):
                    return self._plain(long)
        longs = {self._corpus[s] for s in shorts if s in self._corpus}
        return self._plain(longs.pop()) if len(longs) == 1 else None

    def _shorts(self, token: str) -> list[str]:
        """The acronyms as defined that ``token`` may be: as typed, else in other letters
        when that spelling is no English word."""
        low = token.lower()
        shorts = [token] if token in self._folded.get(low, ()) else []
        if not shorts and low not in self._english:
            shorts = self._folded.get(low, [])
        return shorts

    def _defines(self, token: str, docs: Iterable[str]) -> bool:
        """True when one of ``docs`` defines ``token`` itself."""
        shorts = self._shorts(token)
        return any(s in self._by_doc.get(doc, {}) for doc in docs for s in shorts)

    def _plain(self, long: str | None) -> str | None:
        # A long form naming a drug ("MTX" for methotrexate) would add a drug to the
        # question that the drug lookup has not read.
        if long is None or any(self._reserved(w) for w in re.findall(r"[a-z0-9]+", long.lower())):
            return None
        return long

    def spelt_out(
        self,
        text: str,
        docs: Iterable[str] = (),
        used: Callable[[str], bool] = lambda _token: False,
        written: Callable[[str], bool] = lambda _long: True,
    ) -> str:
        """``text`` with each acronym followed by its long form in brackets, unless the
        text already says it or ``used(token)``: the monographs asked about write the
        acronym themselves, so it matches their text as typed, and its long form would
        only add words (that other monographs match better).

        A long form the monographs asked about do not define is the corpus's, and is
        added only when ``written(long)``: those monographs write of it (the planner asks
        for its head noun, "pneumonia" of "community-acquired pneumonia"). "psa" in a
        question about a leaflet for psoriatic arthritis is not the prostate-specific
        antigen another leaflet defines."""
        if not self._folded:
            return text
        docs = list(docs)
        shouting = text.isupper()

        def put(m: re.Match[str]) -> str:
            token = m.group(0)
            if shouting and token.lower() in self._english:
                return token
            long = self.long_form(token, docs)
            if long is None or _normal(long) in _normal(text) or used(token):
                return token
            if not self._defines(token, docs) and not written(long):
                return token
            return f"{token} ({long})"

        return _TOKEN.sub(put, text)
