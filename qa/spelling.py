"""Typos of ordinary words, corrected against the corpus's own vocabulary.

Clinicians type fast: "mechansim", "asthamtic", "titraton". The embedding model splits a
misspelt word into word pieces that mean little, and the lexical side finds no term, so a
question whose answer is plainly stated scores as if it were about nothing. A word is
respelt only when all of these hold:

- it is a word of letters, at least ``MIN_LENGTH`` long (short words and abbreviations
  are too ambiguous to correct);
- neither the corpus (its folded BM25 tokens) nor ordinary English knows it, and the drug
  vocabulary does not name it (a correctly spelt drug the corpus lacks is reported as
  absent, never turned into another word). Ordinary English is the embedding model's
  whole words and the 160,000-word English frequency list that ships inside the PyPI
  package ``pyspellchecker`` (MIT; built from OpenSubtitles): it knows "lipase" and
  "spacing", which a small corpus may lack while holding "ligase" and "pacing";
- the corpus knows a word one edit away (an insertion, deletion, substitution or a swap
  of two neighbours: optimal string alignment distance 1) that begins with the same
  letter, the most frequent one winning. Typists rarely get a word's first letter wrong,
  and an edit there is how one word becomes another ("keflex", a brand the drug
  vocabulary lacks, is one edit from "reflex"; "spacing" from "pacing");
- that word is no drug name: misspelt drug names are the drug lookup's to resolve
  (``monorag.qa.drugs``), which knows the monographs in play and what they mention.

This is the classic noisy-channel corrector with the corpus as its language model; it
knows no question, drug or section title, and it changes only words that could match
nothing as they were typed.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping

from monorag.text import fold

MIN_LENGTH = 6
"""Shorter words are left alone: at one edit, "rash" is also "rush" and "cash"."""
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_ENGLISH: frozenset[str] | None = None
_ENGLISH_LOCK = threading.Lock()


def english_words() -> frozenset[str]:
    """The English word list of ``pyspellchecker`` (read from its wheel once per process)."""
    global _ENGLISH
    with _ENGLISH_LOCK:
        if _ENGLISH is None:
            from spellchecker import SpellChecker

            _ENGLISH = frozenset(SpellChecker(language="en").word_frequency.dictionary)
        return _ENGLISH


class Speller:
    """Respells the words of a question that the corpus and English do not know."""

    def __init__(
        self,
        vocabulary: Mapping[str, int] | Collection[str],
        english: Collection[str] = (),
        is_drug: Callable[[str], bool] = lambda _word: False,
    ) -> None:
        """``vocabulary``: the corpus's folded tokens (with their document frequency when
        a mapping); ``english``: ordinary words; ``is_drug``: the drug vocabulary."""
        counts = vocabulary if isinstance(vocabulary, Mapping) else dict.fromkeys(vocabulary, 1)
        self._known = frozenset(counts)
        self._english = frozenset(english)
        self._is_drug = is_drug
        self._count = counts
        # Candidates by (length, first letter): a correction keeps the first letter and
        # changes the length by one at most, so a few hundred words are compared, not all.
        self._by_key: dict[tuple[int, str], list[str]] = defaultdict(list)
        for token in counts:
            if token.isalpha() and len(token) >= MIN_LENGTH - 1:
                self._by_key[(len(token), token[0])].append(token)
        self._cache: dict[str, str | None] = {}

    @staticmethod
    def warm_up() -> None:
        """Import the matcher now, not on the first misspelt word."""
        from rapidfuzz import process  # noqa: F401
        from rapidfuzz.distance import OSA  # noqa: F401

    def correct(self, word: str) -> str | None:
        """The corpus word ``word`` is a typo of, or None (see the module docstring)."""
        low = word.lower()
        if low in self._cache:
            return self._cache[low]
        best = self._correct(low)
        self._cache[low] = best
        return best

    def _correct(self, low: str) -> str | None:
        if (
            len(low) < MIN_LENGTH
            or not low.isalpha()
            or low in self._known
            or fold(low) in self._known
            or low in self._english
            or self._is_drug(low)
        ):
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        candidates = [
            t
            for n in (len(low) - 1, len(low), len(low) + 1)
            for t in self._by_key.get((n, low[0]), ())
        ]
        hits = process.extract(low, candidates, scorer=OSA.distance, score_cutoff=1, limit=None)
        if not hits:
            return None
        # The most frequent corpus word wins; ties go to the alphabetically first, so the
        # verdict does not depend on the vocabulary's order.
        best = min((-self._count.get(t, 1), t) for t, _d, _i in hits)[1]
        # A misspelt drug name is the drug lookup's to resolve: it knows which monographs
        # are in play and which of them mention the drug.
        return None if self._is_drug(best) else best

    def respell(self, text: str) -> str:
        """``text`` with every correctable word replaced by its correction."""

        def put(m: re.Match[str]) -> str:
            fixed = self.correct(m.group(0))
            return fixed if fixed is not None else m.group(0)

        return _WORD.sub(put, text)
