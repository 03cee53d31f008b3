"""A small hand-made corpus with FAQs for the eval-harness tests (fictional drugs)."""

from __future__ import annotations

from pathlib import Path

ZORBANIB = """---
title: Zorbanib
description: A made-up kinase inhibitor used only in tests.
lastModified: '2025-01-01T00:00:00Z'
faqs:
  - q: What is the recommended dose of Zorbanib?
    a: >-
      The recommended dose is 15 mg orally once daily. In moderate hepatic impairment
      the dose is reduced to 10 mg once daily.
  - q: Which medicines interact with Zorbanib?
    a: >-
      Strong CYP3A4 inhibitors such as ketoconazole raise zorbanib levels. Zorbanib
      increases the effect of warfarin, so the INR should be checked weekly.
  - q: Should Zorbanib be taken with grapefruit juice?
    a: >-
      Patients should avoid grapefruit juice for the whole course of treatment.
---
## **Usage**

Zorbanib treats chronic plaque psoriasis of the scalp in adults who failed topical therapy.

## **Alternate Names**

Brand names include Zorbix®.

## **Dosage**

### **Adults**

Take one 15 mg tablet orally once daily, in the morning.

### **Hepatic Impairment**

In moderate hepatic impairment reduce the dose to 10 mg once daily. Avoid in severe impairment.

## **Side Effects**

Common side effects are headache, nausea and dry skin. Rarely, zorbanib causes liver injury.

## **Drug Interactions**

* **Strong CYP3A4 inhibitors (e.g., ketoconazole):** raise zorbanib exposure; avoid the combination.
* **Warfarin:** zorbanib increases the anticoagulant effect. Check the INR weekly.

## **Pregnancy**

Zorbanib must not be used in pregnancy; women must use effective contraception.

## **FAQs (Frequently Asked Questions)**

### **Q1: Which medicines interact with Zorbanib?**
**A:** Strong CYP3A4 inhibitors such as ketoconazole raise zorbanib levels. Zorbanib increases
the effect of warfarin, so the INR should be checked weekly.
"""

QUELLATRIN = """---
title: Quellatrin
description: A made-up antihypertensive used only in tests.
lastModified: '2025-02-01T00:00:00Z'
faqs:
  - q: How is Quellatrin dosed in kidney disease?
    a: >-
      In severe renal impairment the dose of quellatrin is halved to 5 mg once daily.
---
## **Usage**

Quellatrin lowers blood pressure in adults with essential hypertension.

## **Dosage**

The usual dose is 10 mg once daily. In severe renal impairment halve the dose to 5 mg once daily.

## **Side Effects**

Dizziness and ankle swelling are common; rarely, angioedema occurs.

## **Storage**

Store below 25 °C in the original package.
"""

NO_FAQ = """---
title: Plainomab
description: A made-up antibody without FAQs.
lastModified: '2025-03-01T00:00:00Z'
faqs: []
---
## **Usage**

Plainomab treats moderate asthma in adults.

## **Dosage**

Inject 100 mg under the skin every 4 weeks.
"""


def write_corpus(folder: Path, *, with_no_faq: bool = True) -> Path:
    """Write the hand-made monographs into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "zorbanib.md").write_text(ZORBANIB, encoding="utf-8")
    (folder / "quellatrin.md").write_text(QUELLATRIN, encoding="utf-8")
    if with_no_faq:
        (folder / "plainomab.md").write_text(NO_FAQ, encoding="utf-8")
    return folder
