"""Acronyms a monograph defines, read from its own text.

A leaflet writes "non-small cell lung cancer (NSCLC)" once and may use either form after;
a clinician types "dose in nsclc". The pairs are found with the Schwartz-Hearst algorithm
(Schwartz & Hearst 2003, "A simple algorithm for identifying abbreviation definitions in
biomedical text": the short form in brackets, the long form the shortest run of words
before it whose letters spell it), as implemented by the PyPI package ``abbreviations``
(MIT). Nothing here lists an acronym: each monograph brings its own, and the corpus's
together are what questions are read with (``monorag.qa.acronyms``).
"""

from __future__ import annotations

import logging
import re
import warnings
from functools import cache
from types import ModuleType

_SHORT = re.compile(r"(?=(?:[^A-Z]*[A-Z]){2})[A-Za-z][A-Za-z0-9-]{1,7}")
"""A short form worth reading: 2 to 8 letters and digits, at least two of them capitals
("NSCLC", "gMG", "NETs"); not "(e.g.)" or "(see section 2)"."""
MIN_LONG_WORDS = 2
"""A long form of one word is a synonym or a spelling, not what an acronym stands for."""


@cache
def _extractor() -> ModuleType:
    # The package configures the root logger when imported (``logging.basicConfig`` at
    # INFO) and its source has escapes that newer Pythons warn about: both are undone
    # here, so that importing it changes nothing else in the process.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
        from abbreviations import schwartz_hearst
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger(schwartz_hearst.__name__).setLevel(logging.WARNING)
    return schwartz_hearst


def defined_in(text: str) -> dict[str, str]:
    """Short form -> long form for every acronym ``text`` defines in brackets (the most
    frequent long form where it defines one several times)."""
    pairs = _extractor().extract_abbreviation_definition_pairs(
        doc_text=text, most_common_definition=True
    )
    out: dict[str, str] = {}
    for short, long in pairs.items():
        short, long = str(short), " ".join(str(long).split())
        if _SHORT.fullmatch(short) and len(long.split()) >= MIN_LONG_WORDS:
            out[short] = long
    return out
