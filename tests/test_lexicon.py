"""The drug vocabulary (``monorag.lexicon``): real drug names in, ordinary words out."""

from __future__ import annotations

import json

import pytest

from monorag.embed import default_model_path
from monorag.lexicon import DrugLexicon, dictionary_path

# Words clinicians type that are not drug names, several with drug-like endings (-ine,
# -in, -ate, -ol, -ide) that an ending rule would have taken for one.
CLINICAL_WORDS = """
except accept concept april creatinine albumin haemoglobin hemoglobin bilirubin platelet
platelets neutrophil neutropenia thrombocytopenia anaemia anemia leukopenia lymphopenia
clearance dialysis haemodialysis hemodialysis peritoneal renal hepatic cirrhosis child pugh
elderly paediatric pediatric pregnancy breastfeeding lactation contraception trimester
nausea vomiting diarrhoea diarrhea constipation fatigue headache dizziness rash pruritus
insomnia somnolence oedema edema dyspnoea dyspnea bradycardia tachycardia hypertension
hypotension arrhythmia angina infarction stroke thrombosis embolism haemorrhage hemorrhage
urine urinate saline plasma serum troponin ferritin transferrin glucose cholesterol
triglyceride lipase amylase creatine urea electrolyte sodium potassium chloride bicarbonate
magnesium phosphate calcium protein enzyme cytochrome inhibitor inducer substrate
transporter glycoprotein kinase receptor antibody vaccine placebo tablet capsule injection
infusion syringe vial ampoule sachet solution suspension ointment patch inhaler
intravenous subcutaneous intramuscular oral topical daily weekly monthly twice once
dosage titrate taper overdose missed dose doses regimen cycle maintenance induction
adjuvant neoadjuvant metastatic refractory relapsed remission response survival
grapefruit alcohol caffeine coffee milk food meal fasting water juice smoking tobacco
""".split()

# International non-proprietary names from the EU leaflet corpus.
DRUG_NAMES = """
aripiprazole ciprofloxacin pomalidomide lenalidomide dexamethasone warfarin dabigatran
ritonavir darunavir tadalafil sildenafil tofacitinib sonidegib romosozumab epoetin
adalimumab etanercept abatacept ofatumumab sotorasib vandetanib polatuzumab-vedotin vildagliptin
pioglitazone irbesartan ertapenem ulipristal imatinib ibrutinib sacubitril valsartan
semaglutide metformin insulin-glargine carbamazepine fluoxetine lithium ketoconazole
clarithromycin rifampicin amiodarone digoxin simvastatin atorvastatin omeprazole
""".split()


@pytest.fixture(scope="module")
def english() -> frozenset[str]:
    """The embedding model's whole-word vocabulary (ordinary English words)."""
    vocab = json.loads((default_model_path() / "tokenizer.json").read_text())["model"]["vocab"]
    return frozenset(w for w in vocab if w.isalpha())


@pytest.fixture(scope="module")
def lexicon(english: frozenset[str]) -> DrugLexicon:
    return DrugLexicon(english)


def test_dictionary_ships_in_the_wheel_and_is_read_without_importing_it() -> None:
    import sys

    assert dictionary_path().is_file()
    assert "drug_named_entity_recognition" not in sys.modules


def test_clinical_words_are_not_drugs(lexicon: DrugLexicon) -> None:
    taken = [w for w in CLINICAL_WORDS if lexicon.is_drug(w)]
    assert taken == []


def test_thousands_of_ordinary_words_are_not_drugs(
    lexicon: DrugLexicon, english: frozenset[str]
) -> None:
    """Of the model's ~21,000 whole words, only drugs with their own DrugBank or
    MedlinePlus entry count (lithium, cocaine), never a reagent synonym like "caps"."""
    taken = sorted(w for w in english if len(w) > 2 and lexicon.is_drug(w))
    assert len(english) > 20_000
    assert {"caps", "sits", "indicators", "diamonds", "armour"}.isdisjoint(taken)
    assert {"lithium", "cocaine"} <= set(taken)
    assert len(taken) < 15, taken


def test_real_drug_names_are_drugs(lexicon: DrugLexicon) -> None:
    missing = [n for n in DRUG_NAMES if not lexicon.is_drug(n.replace("-", " "))]
    assert missing == []


def test_brand_names_resolve_to_their_substance(lexicon: DrugLexicon) -> None:
    found = lexicon.lookup("imnovid")
    assert found is not None and found.canonical == "pomalidomide"
    assert lexicon.lookup("ziagen").canonical == "abacavir"


def test_a_drug_has_its_other_names(lexicon: DrugLexicon) -> None:
    assert "acetylsalicylic acid" in lexicon.synonyms("aspirin")
    assert "paracetamol" in lexicon.synonyms("acetaminophen")
    names = [n for drug in ("aspirin", "warfarin", "omeprazole") for n in lexicon.synonyms(drug)]
    assert names and all(len(n) >= 4 and not lexicon.is_ordinary(n) for n in names)
