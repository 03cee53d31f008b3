"""A question that asks for a target in other words than the monographs use.

"How does X actually work" shares no word with the "Mechanism of Action" section that
answers it: once the drug's name (which every chunk of its monograph matches) is left
out, nothing ranked that section, and the question was refused. The target is searched
for as monographs word it (``SEARCHED_AS``). Fast tier: hash embedder, in-memory index.
"""

from __future__ import annotations

from pathlib import Path

from monorag.embed import HashEmbedder
from monorag.qa.reader import SEARCHED_AS, intent_of
from tests.conftest import engine_over

LABEL = """---
title: Quenvorin
description: >-
  Quenvorin is a test medicine for gout written for monorag's tests, in the style of US prescribing information.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## **2 DOSAGE AND ADMINISTRATION**

### **2.1 Recommended Dosage**

The recommended starting dosage of quenvorin is 100 mg orally once daily, increased by 100 mg weekly until the serum urate is 6 mg/dL or less, to a maximum of 800 mg daily.

## **4 CONTRAINDICATIONS**

Quenvorin is contraindicated in patients who have developed a severe reaction to quenvorin.

## **5 WARNINGS AND PRECAUTIONS**

Discontinue quenvorin at the first appearance of skin rash or other signs which may indicate an allergic reaction, because in some instances a skin rash may be followed by more severe hypersensitivity reactions.

## **7 DRUG INTERACTIONS**

In patients receiving mercaptopurine, the concomitant administration of quenvorin will require a reduction in dose of mercaptopurine to one-third of the usual dose.

## **10 OVERDOSAGE**

Ingestion of up to 20 g of quenvorin has been reported without serious effects; forced diuresis may help to eliminate it.

## **6 ADVERSE REACTIONS**

The most frequent adverse reaction to quenvorin therapy is skin rash; nausea, diarrhea and drowsiness were also reported in clinical trials.

## **8 USE IN SPECIFIC POPULATIONS**

### **8.1 Pregnancy**

Available data from case reports in pregnant women have not identified a drug-associated risk of major birth defects with quenvorin.

### **8.2 Lactation**

Quenvorin and its metabolite have been found in human milk; advise women to consider the benefits of breastfeeding along with the need for quenvorin.

### **8.4 Pediatric Use**

Quenvorin is rarely indicated for use in children, with the exception of those with hyperuricemia secondary to malignancy.

### **8.5 Geriatric Use**

Clinical studies of quenvorin did not include sufficient numbers of patients aged 65 and over to determine whether they respond differently from younger patients.

## **12 CLINICAL PHARMACOLOGY**

### **12.1 Mechanism of Action**

Quenvorin is a structural analogue of hypoxanthine and inhibits xanthine oxidase, the enzyme that converts hypoxanthine to xanthine and xanthine to uric acid.

### **12.2 Pharmacodynamics**

Serum urate falls within two to three days of starting quenvorin, and the effect on uric acid production persists while therapy continues.

### **12.3 Pharmacokinetics**

Quenvorin is about 90% absorbed from the gastrointestinal tract, and peak plasma levels occur 1.5 hours after an oral dose.
"""  # noqa: E501 - a label's lines are as long as its paragraphs


def test_how_does_it_work_is_a_mechanism_question() -> None:
    for question in ("how does quenvorin actually work", "quenvorin moa?", "how it works"):
        assert "mechanism" in intent_of(question).targets, question
    assert "mechanism" in SEARCHED_AS


def test_how_does_it_work_is_answered_from_the_mechanism_section(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    engine = engine_over(tmp_path, {"quenvorin.md": LABEL}, hash_embedder)
    answer = engine.ask("how does quenvorin actually work")
    assert not answer.abstained
    assert [c.section for c in answer.citations][:1] == [
        "12 CLINICAL PHARMACOLOGY › 12.1 Mechanism of Action"
    ], answer.citations
    assert "xanthine oxidase" in answer.text


def test_a_compound_spelt_closed_matches_its_hyphenated_spelling() -> None:
    """ "breastfeeding" in the question, "breast-feeding" in the leaflet: both are indexed
    as one closed word, so the lexical side finds the passage either way."""
    from monorag.text import tokenize

    assert "breastfeed" in tokenize("Tell your doctor if you are breast-feeding.")
    assert tokenize("breastfeeding?") == ["breastfeed"]
    assert tokenize("days 1-21") == ["day", "1-21", "1", "21"]  # numbers keep their hyphen
