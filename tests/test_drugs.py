"""Drug recognition in questions: titles, brand aliases, misspellings, absent drugs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monorag.embed import HashEmbedder, default_model_path
from monorag.lexicon import DrugLexicon, shared_lexicon
from monorag.qa.drugs import DrugIndex, words
from tests.conftest import file_entry as entry

# The embedding model's whole words: what tells an ordinary word from a drug name.
ENGLISH = frozenset(
    w
    for w in json.loads((default_model_path() / "tokenizer.json").read_text())["model"]["vocab"]
    if w.isalpha()
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
    # The substance alone is the product of that substance alone (see below).
    assert index.find("glycopyrronium missed dose").titles == ["Tovanor"]
    assert index.find("bromide levels?").titles == []  # a salt is not a substance


def test_an_inn_one_monograph_lists_alone_also_names_those_listing_it_with_its_salt() -> None:
    """Sialanar lists "glycopyrronium", Tovanor "glycopyrronium bromide": the word names
    both single products (the question's other words then pick the passages)."""
    files = [
        entry("s", "Sialanar", ["glycopyrronium"]),
        entry("t", "Tovanor", ["glycopyrronium bromide"]),
        entry("r", "Riarify", ["beclometasone", "formoterol", "glycopyrronium bromide"]),
    ]
    index = DrugIndex(files, lexicon=shared_lexicon(ENGLISH))
    assert sorted(index.find("glycopyrronium breezhaler missed dose").titles) == [
        "Sialanar",
        "Tovanor",
    ]


def test_one_substance_named_is_its_single_product_not_a_combination_holding_it() -> None:
    files = [
        entry("t", "Tovanor", ["glycopyrronium bromide"]),
        entry("r", "Riarify", ["beclometasone", "formoterol", "glycopyrronium bromide"]),
        entry("v", "Vipidia", ["alogliptin"]),
        entry("m", "Vipdomet", ["alogliptin", "metformin hydrochloride"]),
        entry("k", "Komboglyze", ["saxagliptin", "metformin hydrochloride"]),
        entry("a", "Tadalafil", []),
        entry("b", "Talmanco", ["tadalafil"]),
    ]
    index = DrugIndex(files, lexicon=shared_lexicon(ENGLISH))
    assert index.find("glycopyrronium breezhaler missed dose").titles == ["Tovanor"]
    assert index.find("bullous pemphigoid with alogliptin?").titles == ["Vipidia"]
    # Named by their brands, the combinations are what is asked about.
    assert index.find("riarify missed dose").titles == ["Riarify"]
    assert index.find("vipdomet dose").titles == ["Vipdomet"]
    # Every monograph holding metformin is a combination: all are kept.
    assert sorted(index.find("metformin and lactic acidosis").titles) == [
        "Komboglyze",
        "Vipdomet",
    ]
    # Two single products of one substance are both kept.
    assert sorted(index.find("tadalafil dose for ED").titles) == ["Tadalafil", "Talmanco"]


def test_a_brand_the_vocabulary_knows_names_the_substance_monograph() -> None:
    files = [entry("s", "Sertraline", []), entry("t", "Trodelvy", ["sacituzumab govitecan"])]
    index = DrugIndex(files, lexicon=shared_lexicon(ENGLISH))
    assert index.find("zoloft dose for ocd in a 10 year old").titles == ["Sertraline"]
    lookup = index.find("sacituzumab + ketoconazole?")
    assert lookup.titles == ["Trodelvy"] and lookup.unknown == ["ketoconazole"]
    assert index.spellings("colestyramine")[:2] == ["colestyramine", "cholestyramine"]
    assert index.canonical("colestyramine") == "cholestyramine"


def test_the_parts_of_a_combination_name_the_monographs_holding_both() -> None:
    files = [
        entry("e", "Entresto", ["sacubitril", "valsartan"]),
        entry("d", "Diovan", ["valsartan"]),
        entry("p", "Pomalidomide", ["Pomalyst"]),
    ]
    index = DrugIndex(files, lexicon=shared_lexicon(ENGLISH))
    assert index.find("sacubitril/valsartan target dose").titles == ["Entresto"]
    # The parts named are the two-part product, not a three-part one that also holds them;
    # a third part named is the three-part one.
    more = [
        *files,
        entry("x", "Amlovan", ["amlodipine", "valsartan"]),
        entry("t", "Amlovan HCT", ["amlodipine", "valsartan", "hydrochlorothiazide"]),
    ]
    combos = DrugIndex(more, lexicon=shared_lexicon(ENGLISH))
    assert combos.find("amlodipine valsartan in pregnancy").titles == ["Amlovan"]
    assert combos.find("amlodipine/valsartan/hctz pt on lithium").titles == ["Amlovan HCT"]
    # Drugs asked about together keep their own products, combinations included.
    assert sorted(combos.find("amlovan hct with pomalyst").titles) == [
        "Amlovan HCT",
        "Pomalidomide",
    ]
    # Two separate drugs share no monograph: both are kept, every valsartan one included.
    assert sorted(index.find("valsartan with pomalyst").titles) == [
        "Diovan",
        "Entresto",
        "Pomalidomide",
    ]


def test_a_combination_named_by_the_starts_of_its_substances_names_its_monographs() -> None:
    files = [
        entry("k", "Kaftrio", ["ivacaftor", "tezacaftor", "elexacaftor"]),
        entry("i", "Kalydeco", ["ivacaftor"]),
        entry("b", "Symbicort", ["budesonide", "formoterol fumarate dihydrate"]),
        entry("t", "Trixeo", ["formoterol fumarate dihydrate", "glycopyrronium", "budesonide"]),
        entry("p", "Pomalidomide", ["Pomalyst"]),
    ]
    index = DrugIndex(files, lexicon=shared_lexicon(ENGLISH))
    assert index.find("grapefruit juice ok w elexa/teza/iva?").titles == ["Kaftrio"]
    assert index.find("bud/form as maintenance and reliever, max puffs?").titles == ["Symbicort"]
    # A slash between ordinary words or units, or parts that are no one product's
    # substances, names nothing.
    assert index.find("dose in units/kg, and/or by weight").titles == []
    assert index.find("pom/dex in a pt over 75").titles == []


# -- issue 12: abbreviations and misspelt names ---------------------------------------------


def test_every_abbreviation_of_the_table_names_a_drug_of_the_dictionary() -> None:
    """The table only adds shorthand the dictionary lacks, each for a drug it lists."""
    from monorag.lexicon import ABBREVIATIONS

    lexicon = shared_lexicon(ENGLISH)
    for short, name in ABBREVIATIONS.items():
        found, expanded = lexicon.lookup(short), lexicon.lookup(name)
        assert found is not None and expanded is not None, short
        assert found.canonical == expanded.canonical, short
        assert short == short.lower() and words(short) == short.split(), short


def test_clinical_abbreviations_name_the_monograph_of_their_drug() -> None:
    """Shorthand from the table ("mtx", "asa") and from the dictionary itself ("hctz",
    "5-fu") names the monograph whose alias is the drug's name."""
    from monorag.lexicon import ABBREVIATIONS

    lexicon = shared_lexicon(ENGLISH)
    dictionary = {"hctz": "hydrochlorothiazide", "5-fu": "fluorouracil", "6-mp": "mercaptopurine"}
    pairs = {**ABBREVIATIONS, **dictionary}
    # One made-up brand per expansion, the expansion as its alias (as an EU leaflet's
    # "the active substance is ..." gives it).
    names = sorted(set(pairs.values()))
    files = [
        entry(f"m{i}", f"Brandex{chr(97 + i // 26)}{chr(97 + i % 26)}", [n])
        for i, n in enumerate(names)
    ]
    index = DrugIndex(files, common_words={"dose", "renal"}, lexicon=lexicon)
    title_of = {n: f.title for n, f in zip(names, files, strict=True)}
    for short, name in pairs.items():
        lookup = index.find(f"{short} dose in renal impairment?")
        assert lookup.titles == [title_of[name]], short
        assert not lookup.unknown, short


def test_an_abbreviation_finds_a_monograph_named_by_another_spelling_of_its_drug() -> None:
    """ "apap" is acetaminophen in the dictionary; the monograph says paracetamol."""
    files = [entry("p", "Panadolex", ["paracetamol"]), entry("a", "Abilify", ["aripiprazole"])]
    index = DrugIndex(files, lexicon=shared_lexicon(ENGLISH))
    assert index.find("max apap dose per day?").titles == ["Panadolex"]
    assert index.find("acetaminophen in liver disease").titles == ["Panadolex"]


def test_an_abbreviation_that_is_also_a_word_is_read_as_shorthand() -> None:
    files = [entry("s", "Salicorin", ["aspirin"])]
    index = DrugIndex(files, common_words={"dose"}, lexicon=shared_lexicon(ENGLISH))
    assert index.find("asa dose after a stent").titles == ["Salicorin"]
    # An abbreviation with no monograph here is an absent drug, under its own name.
    assert DrugIndex([entry("a", "Abilify", [])], lexicon=shared_lexicon(ENGLISH)).find(
        "asa with abilify?"
    ).unknown == ["asa"]


def test_a_misspelt_name_records_the_alias_it_matched(index: DrugIndex) -> None:
    (match,) = index.find("pomalidamide hepatic dose").matches
    assert not match.exact and match.said == "pomalidamide"
    assert match.alias == "pomalidomide" and match.name == "pomalidomide"
    (exact,) = index.find("pomalyst hepatic dose").matches
    assert exact.exact and exact.name == "pomalyst"


def test_carried_monographs_are_exactly_the_previous_turns(index: DrugIndex) -> None:
    """The avastin turn carries Avastin alone, not every bevacizumab brand."""
    assert index.carried(["c"]).titles == ["Avastin"]
    assert index.carried(["c"]).docs == ["c"]
    assert index.carried(["gone"]).matches == []


def test_a_misspelt_drug_of_the_corpus_text_is_corrected_to_its_spelling() -> None:
    """A word that is no corpus word, English word or drug, but close to a drug the
    monographs' text names, is that drug ("warfrin"); nothing else is corrected."""
    files = [entry("a", "Abilify", ["aripiprazole"])]
    index = DrugIndex(
        files,
        common_words={"warfarin", "ketoconazole", "dose", "breastfeeding"},
        lexicon=shared_lexicon(ENGLISH),
    )
    assert index.misspelt("can it be taken with warfrin?") == {"warfrin": "warfarin"}
    assert index.misspelt("abilify with ketoconzole and warfarin") == {
        "ketoconzole": "ketoconazole"
    }
    assert index.misspelt("while breastfeding or in pregnancy?") == {}
    assert index.misspelt("abilfy with warfrin", taken={"abilfy", "warfrin"}) == {}
    assert DrugIndex(files).misspelt("warfrin") == {}  # no vocabulary: no correction


def test_a_drug_inside_a_long_label_title_names_its_monograph() -> None:
    """A US label's title is its dosage forms ("Ondansetron Tablets, Orally Disintegrating
    Tablets and Oral Solution"): the drug in it, its brand and its misspellings name it, and
    it is never reported as a drug with no monograph."""
    files = [
        entry("o", "Ondansetron Tablets, Orally Disintegrating Tablets and Oral Solution", []),
        entry("d", "Doxycycline Hyclate", []),
    ]
    index = DrugIndex(files, common_words={"dose"}, lexicon=shared_lexicon(ENGLISH))
    for question in ("ondansetron dose for cisplatin?", "po zofran dose?", "ondansteron max dose"):
        lookup = index.find(question)
        assert lookup.titles == [files[0].title], question
        assert "ondansetron" not in lookup.unknown and "zofran" not in lookup.unknown
    assert index.find("doxycyline for malaria ppx").titles == ["Doxycycline Hyclate"]


def test_a_drug_named_as_a_class_is_no_absent_drug() -> None:
    index = DrugIndex([entry("o", "Ondansetron", [])], lexicon=shared_lexicon(ENGLISH))
    assert index.find("is ondansetron a dopamine blocker?").unknown == []
    assert index.find("on somatostatin analogues before the scan?").unknown == []
    assert index.find("ondansetron with dopamine?").unknown == ["dopamine"]


def test_a_brand_and_its_inn_said_together_are_both_words_of_the_drug() -> None:
    """ "sialanar glycopyrronium": the INN names every glycopyrronium product, the brand
    one; the match narrows to the brand, but the INN is still the drug's word, not what
    is asked about (it would pull every sentence that names the substance)."""
    from monorag.qa.plan import without_drugs

    files = [
        entry("s", "Sialanar", ["glycopyrronium"]),
        entry("g", "Glycopyrronium Teva", ["glycopyrronium"]),
    ]
    index = DrugIndex(files, lexicon=shared_lexicon(ENGLISH))
    lookup = index.find("sialanar glycopyrronium how often")
    assert lookup.titles == ["Sialanar"]
    assert set(lookup.said) == {"sialanar", "glycopyrronium"}
    assert without_drugs("sialanar glycopyrronium how often", lookup) == "how often"


CAPSULES = """---
title: Transgraf
description: >-
  Transgraf contains the active substance zelmocrolimus. It is used after an organ transplant.
lastModified: '2025-01-01'
---
## 3. How to take Transgraf

Take the capsules once a day in the morning. The usual dose is 0.2 mg/kg.
"""

OINTMENT = """---
title: Dermagraf
description: >-
  Dermagraf contains the active substance zelmocrolimus. It is used for eczema.
lastModified: '2025-01-01'
---
## 3. How to use Dermagraf

Apply a thin layer of the ointment twice a day to the affected skin.
"""


def test_an_inn_several_monographs_share_is_narrowed_by_the_dosage_form_named(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """ "Zelmocrolimus oint" is the ointment's monograph, not the capsules'; with no form
    named, or a form neither speaks of, both stay."""
    from tests.conftest import engine_over

    engine = engine_over(
        tmp_path, {"transgraf.md": CAPSULES, "dermagraf.md": OINTMENT}, hash_embedder
    )
    assert engine.plan("zelmocrolimus oint for a 6yo - how often?").titles == ["Dermagraf"]
    assert engine.plan("zelmocrolimus caps dose after transplant").titles == ["Transgraf"]
    assert sorted(engine.plan("zelmocrolimus dose?").titles) == ["Dermagraf", "Transgraf"]
    assert sorted(engine.plan("zelmocrolimus patch?").titles) == ["Dermagraf", "Transgraf"]
