"""Drug recognition in questions: titles, brand aliases, misspellings, absent drugs."""

from __future__ import annotations

import json

import pytest

from monorag.embed import default_model_path
from monorag.index.store import FileEntry
from monorag.lexicon import DrugLexicon, shared_lexicon
from monorag.qa.drugs import DrugIndex, words

# The embedding model's whole words: what tells an ordinary word from a drug name.
ENGLISH = frozenset(
    w
    for w in json.loads((default_model_path() / "tokenizer.json").read_text())["model"]["vocab"]
    if w.isalpha()
)


def entry(key: str, title: str, aliases: list[str]) -> FileEntry:
    return FileEntry(
        key=key,
        source=f"{key}.md",
        title=title,
        aliases="|".join([title, *aliases]),
        sha256="0" * 64,
        rev="0" * 12,
        chunks=1,
        last_modified="2025-01-01",
        indexed_at=0.0,
    )


@pytest.fixture
def index() -> DrugIndex:
    files = [
        entry("a", "Pomalidomide", ["Pomalyst", "Imnovid"]),
        entry("b", "Abilify", ["aripiprazole"]),
        entry("c", "Avastin", ["bevacizumab"]),
        entry("d", "Zirabev", ["bevacizumab"]),
        entry("e", "Trixeo", ["formoterol fumarate dihydrate", "budesonide"]),
    ]
    return DrugIndex(
        files,
        common_words={"dose", "dialysis", "warfarin", "patient"},
        lexicon=shared_lexicon(ENGLISH),
    )


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("Pomalyst dose for a dialysis patient?", "Pomalidomide"),
        ("IMNOVID side effects", "Pomalidomide"),
        ("pomalidomide in pregnancy", "Pomalidomide"),
        ("pomalidamide hepatic dose", "Pomalidomide"),  # misspelt INN
        ("Pomalist dosing", "Pomalidomide"),  # misspelt brand
        ("What is aripiprazole used for?", "Abilify"),
        ("abilify and alcohol", "Abilify"),
        ("Is formoterol fumarate dihydrate safe?", "Trixeo"),
        ("Pomalyst® dose", "Pomalidomide"),
    ],
)
def test_recognises_titles_aliases_and_misspellings(
    index: DrugIndex, question: str, title: str
) -> None:
    lookup = index.find(question)
    assert lookup.titles == [title]
    assert not lookup.unknown


def test_shared_inn_matches_every_brand(index: DrugIndex) -> None:
    lookup = index.find("bevacizumab infusion reactions")
    assert sorted(lookup.titles) == ["Avastin", "Zirabev"]
    assert sorted(lookup.docs) == ["c", "d"]


def test_two_drugs_in_one_question(index: DrugIndex) -> None:
    assert sorted(index.find("Can Abilify be taken with Pomalyst?").titles) == [
        "Abilify",
        "Pomalidomide",
    ]


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("What is the dose of metformin?", "metformin"),
        ("rituximab infusion rate", "rituximab"),
        ("Does zanubrutinib cause bleeding?", "zanubrutinib"),
    ],
)
def test_absent_drugs_are_reported(index: DrugIndex, question: str, missing: str) -> None:
    lookup = index.find(question)
    assert lookup.matches == []
    assert lookup.unknown == [missing]


def test_corpus_words_are_not_fuzzy_matched(index: DrugIndex) -> None:
    # "dialysis" is a word of the corpus, not a misspelt alias; nothing is named here.
    lookup = index.find("dose in dialysis")
    assert lookup.matches == [] and lookup.unknown == []


def test_interacting_drug_named_beside_a_monograph(index: DrugIndex) -> None:
    lookup = index.find("Does pomalidomide interact with warfarin?")
    assert lookup.titles == ["Pomalidomide"]


def test_resolve_unknown_filter(index: DrugIndex) -> None:
    assert index.resolve("Nonexistamab").unknown
    assert index.resolve("imnovid").titles == ["Pomalidomide"]


def test_words() -> None:
    assert words("Pomalyst® 4-mg CYP1A2") == ["pomalyst", "4-mg", "cyp1a2"]


def test_absent_drugs_come_from_the_vocabulary_not_from_endings() -> None:
    files = [entry("a", "Pomalidomide", ["Pomalyst"])]
    index = DrugIndex(files, common_words={"dose"}, lexicon=DrugLexicon(ENGLISH))
    assert index.find("mechanism of action of amiloride?").unknown == ["amiloride"]
    assert index.find("valproic acid with pomalyst?").unknown == ["valproic acid"]
    # Ordinary and clinical words, whatever their ending, never become drugs.
    for question in (
        "dose of pomalyst except in dialysis",
        "creatinine clearance under 30, what dose?",
        "low albumin or haemoglobin: any change?",
        "can I accept this concept in April?",
    ):
        assert index.find(question).unknown == [], question
    assert index.find("Pomalyst dose for someone elderly").titles == ["Pomalidomide"]


def test_a_substance_inside_a_longer_alias_names_its_monographs() -> None:
    files = [
        entry("e", "Ebixa", ["memantine hydrochloride"]),
        entry("t", "Tovanor", ["glycopyrronium bromide"]),
        entry("r", "Riarify", ["beclometasone", "formoterol", "glycopyrronium bromide"]),
    ]
    index = DrugIndex(files, lexicon=shared_lexicon(ENGLISH))
    assert index.find("memantine titration schedule").titles == ["Ebixa"]
    assert sorted(index.find("glycopyrronium missed dose").titles) == ["Riarify", "Tovanor"]
    assert index.find("bromide levels?").titles == []  # a salt is not a substance


def test_a_brand_the_vocabulary_knows_names_the_substance_monograph() -> None:
    files = [entry("s", "Sertraline", []), entry("t", "Trodelvy", ["sacituzumab govitecan"])]
    index = DrugIndex(files, lexicon=shared_lexicon(ENGLISH))
    assert index.find("zoloft dose for ocd in a 10 year old").titles == ["Sertraline"]
    lookup = index.find("sacituzumab + ketoconazole?")
    assert lookup.titles == ["Trodelvy"] and lookup.unknown == ["ketoconazole"]
    assert index.spellings("colestyramine") == ["colestyramine", "cholestyramine"]


def test_the_parts_of_a_combination_name_the_monographs_holding_both() -> None:
    files = [
        entry("e", "Entresto", ["sacubitril", "valsartan"]),
        entry("d", "Diovan", ["valsartan"]),
        entry("p", "Pomalidomide", ["Pomalyst"]),
    ]
    index = DrugIndex(files, lexicon=shared_lexicon(ENGLISH))
    assert index.find("sacubitril/valsartan target dose").titles == ["Entresto"]
    # Two separate drugs share no monograph: both are kept, every valsartan one included.
    assert sorted(index.find("valsartan with pomalyst").titles) == [
        "Diovan",
        "Entresto",
        "Pomalidomide",
    ]
