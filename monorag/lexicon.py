"""A real drug vocabulary: is this word a drug name?

The dictionary is the one shipped inside the PyPI package ``drug-named-entity-recognition``
(MIT, Fast Data Science; names and synonyms of about 20,000 drugs linked to DrugBank,
MeSH and MedlinePlus ids, brand names marked). Only its data file is read, located with
``importlib.util.find_spec``: importing the package would open a cache in the home folder
and pull in its network helpers, none of which monorag needs.

A name is a drug when the dictionary resolves it to a substance with a DrugBank or
MedlinePlus entry (the dictionary also lists MeSH-only substances such as ferritins and
bicarbonates, which clinicians name as lab values); an ordinary English word (a whole word
of the embedding model's vocabulary, such as "caps", a reagent's synonym) counts only when
it is itself such a drug's name (lithium). Nothing here looks at word
endings or at the corpus, so a verdict does not change as the corpus grows.

The dictionary knows some clinical abbreviations of drug names ("hctz", "5-fu", "apap",
"6-mp", "ara-c") but not others clinicians type as often ("mtx", "asa"): those are in
``ABBREVIATIONS`` below, a small table of general clinical shorthand.
"""

from __future__ import annotations

import bz2
import importlib.util
import pickle
import threading
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from monorag.errors import MonoragError

PACKAGE = "drug-named-entity-recognition"
_MODULE = "drug_named_entity_recognition"
_DATA = "drug_ner_dictionary.pkl.bz2"

ABBREVIATIONS: dict[str, str] = {
    "mtx": "methotrexate",
    "asa": "aspirin",
    "azt": "zidovudine",
    "ptu": "propylthiouracil",
    "inh": "isoniazid",
    "nac": "acetylcysteine",
    "mmf": "mycophenolate mofetil",
    "ntg": "nitroglycerin",
    "gtn": "nitroglycerin",
    "hcq": "hydroxychloroquine",
    "txa": "tranexamic acid",
    "tpa": "alteplase",
    "tnk": "tenecteplase",
    "ufh": "heparin",
    "vpa": "valproic acid",
    "amio": "amiodarone",
    "vanc": "vancomycin",
    "vanco": "vancomycin",
    "doxy": "doxycycline",
    "cipro": "ciprofloxacin",
    "clinda": "clindamycin",
    "simva": "simvastatin",
    "atorva": "atorvastatin",
    "rosuva": "rosuvastatin",
    "kcl": "potassium chloride",
    "znso4": "zinc sulfate",
    "5fu": "fluorouracil",
    "6mp": "mercaptopurine",
    "tmp smx": "co-trimoxazole",
    "smx tmp": "co-trimoxazole",
    "tmp-smx": "co-trimoxazole",
    "smx-tmp": "co-trimoxazole",
}
"""Clinical shorthand for drug names that the dictionary lacks, lower case -> a name the
dictionary lists. General shorthand, written down from clinical usage and not chosen from
any question set: drug-name abbreviations of the kind lists of error-prone abbreviations
warn about (MTX, AZT, PTU, TNK, TXA, ZnSO4) and the shorthand of everyday prescribing and
ward notes (ASA, INH, NAC, MMF, NTG/GTN, HCQ, tPA, UFH, VPA, KCl, amio, vanc, doxy, cipro,
clinda, simva, atorva, rosuva, 5FU, 6MP, TMP-SMX). Abbreviations that stand for more than
one drug (MS, HCT, CPZ, CTX, pred, dex, levo) are left out: a guess would send the
question to the wrong monograph.
``tests/test_drugs.py`` checks that every expansion is a drug of the dictionary."""


def dictionary_path() -> Path:
    """The packaged dictionary file (never downloaded)."""
    spec = importlib.util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise MonoragError(f"the drug dictionary is missing: pip install {PACKAGE}==2.0.9")
    path = Path(next(iter(spec.submodule_search_locations))) / _DATA
    if not path.exists():
        raise MonoragError(f"{path} is missing: reinstall {PACKAGE}")
    return path


@dataclass(frozen=True, slots=True)
class DrugName:
    """What the dictionary says about a name."""

    canonical: str
    brand: bool


class DrugLexicon:
    """Drug names from the packaged dictionary, loaded on first use (about 1.5 s)."""

    def __init__(self, english: Collection[str] = (), path: Path | None = None) -> None:
        self._english = frozenset(english)
        self._path = path
        self._lock = threading.Lock()

    @cached_property
    def _tables(self) -> tuple[dict[str, list[str]], dict[str, dict], dict[str, dict]]:
        with self._lock, bz2.open(self._path or dictionary_path(), "rb") as f:
            # The dictionary is plain dicts of strings; it comes from a pinned wheel.
            data = pickle.load(f)
        return (
            data["drug_variant_to_canonical"],
            data["drug_canonical_to_data"],
            data["drug_variant_to_variant_data"],
        )

    def lookup(self, name: str) -> DrugName | None:
        """The drug ``name`` (lower case, one or more words) names, or None."""
        variants, canonical, variant_data = self._tables
        if name in ABBREVIATIONS and name not in variants:
            # Shorthand is read as shorthand even where it is also a word ("asa").
            found = self.lookup(ABBREVIATIONS[name])
            return DrugName(canonical=found.canonical, brand=False) if found else None
        listed = [c for c in variants.get(name) or () if self._is_listed_drug(c, canonical)]
        if not listed:
            return None
        if name in self._english and not self._is_listed_drug(name, canonical):
            return None
        brand = bool(variant_data.get(name, {}).get("is_brand"))
        return DrugName(canonical=listed[0], brand=brand)

    def synonyms(self, canonical: str) -> list[str]:
        """The dictionary's other names of the drug ``canonical`` ("aspirin" ->
        "acetylsalicylic acid", "ecotrin", ...): how a monograph may name the drug a question
        names. Names it marks as brands, words of ordinary English and names under four
        letters are left out."""
        return list(self._generic_names.get(canonical, ()))

    @cached_property
    def _generic_names(self) -> dict[str, tuple[str, ...]]:
        variants, _, variant_data = self._tables
        out: dict[str, list[str]] = {}
        for name, drugs in variants.items():
            if len(name) < 4 or name in self._english or variant_data.get(name, {}).get("is_brand"):
                continue
            for drug in drugs:
                if drug != name:
                    out.setdefault(drug, []).append(name)
        return {drug: tuple(names) for drug, names in out.items()}

    def is_ordinary(self, word: str) -> bool:
        """True for a word of the ordinary-English vocabulary."""
        return word in self._english

    def is_drug(self, name: str) -> bool:
        """True when ``name`` names a drug (see the module docstring)."""
        return self.lookup(name) is not None

    @staticmethod
    def _is_listed_drug(name: str, canonical: dict[str, dict]) -> bool:
        entry = canonical.get(name)
        return bool(entry and (entry.get("drugbank_id") or entry.get("medline_plus_id")))

    def warm_up(self) -> None:
        """Load the dictionary now rather than on the first unknown word."""
        _ = self._tables


_SHARED: dict[frozenset[str], DrugLexicon] = {}
_SHARED_LOCK = threading.Lock()


def shared_lexicon(english: frozenset[str] = frozenset()) -> DrugLexicon:
    """One lexicon per vocabulary of ordinary words, per process (it loads once)."""
    with _SHARED_LOCK:
        if english not in _SHARED:
            _SHARED[english] = DrugLexicon(english)
        return _SHARED[english]
