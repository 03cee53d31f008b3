"""Statements added beside the chosen one (issue 12: a dose for the wrong population).

When the answerer adds a runner-up, a second part or a neighbouring sentence to the
statement it chose, that statement must not state an amount for another population
(the children's dose beside the adults') or another indication (the psoriasis dose beside
the arthritis one) than the question and the chosen statement are about; a question that
names nobody in particular keeps the general (adult) statement. The monographs are written
here, in three styles: US prescribing information (long sentences), a patient leaflet's
list, and an organ-impairment section. Fast tier: hash embedder, in-memory index.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monorag.embed import HashEmbedder
from monorag.qa.abstention import AbstentionPolicy
from monorag.qa.answer import ExtractiveAnswerer
from monorag.qa.engine import Engine
from monorag.qa.reader import (
    clause_for,
    fit,
    intent_of,
    names_scope,
    other_scope,
    scope_words,
    sub_population,
)
from monorag.settings import AnswerSettings
from monorag.text import unit_layout
from monorag.types import Chunk, Evidence
from tests.conftest import engine_over

USPI = """---
title: Examplomab
description: >-
  Examplomab is a test medicine for arthritis and skin disease written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 2 DOSAGE AND ADMINISTRATION

### 2.2 Recommended Dosage for Arthritis and Skin Disease

For adults with rheumatoid arthritis, the recommended starting dosage of examplomab tablets is 5 mg orally once weekly, and the dosage may be increased to achieve optimal response, but doses greater than 15 mg once weekly are associated with more serious adverse reactions. For pediatric patients with polyarticular juvenile idiopathic arthritis, the recommended starting dosage of examplomab is 8 mg/m² orally once weekly, and for adults with severe plaque psoriasis, the recommended starting dosage is 12 mg to 20 mg orally once weekly.

### 2.3 Recommended Dosage for Gout

For adults with gout, the recommended dosage of examplomab is 40 mg orally once daily. For adults with recurrent uric acid stones, examplomab tablets are given at 60 mg orally twice daily with plenty of fluids after meals.
"""  # noqa: E501 - a monograph's lines are as long as its paragraphs

LEAFLET = """---
title: Examplodol
description: >-
  Examplodol is a test medicine for high blood pressure written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How to take Examplodol

The recommended dose of Examplodol is:

* Adults: one 20 mg tablet of examplodol once a day, in the morning.
* Children aged 6 to 11 years should be given a 10 mg tablet of the children's strength twice daily.

### Patients with kidney problems

Patients with moderate renal impairment take 5 mg of examplodol once a day. Patients with severe renal impairment take 2.5 mg of examplodol once a day.
"""  # noqa: E501


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hash_embedder: HashEmbedder) -> Engine:
    """An engine over the two monographs; abstention off so that every pick is visible."""
    folder = tmp_path_factory.mktemp("neighbours")
    monographs = {"examplomab.md": USPI, "examplodol.md": LEAFLET}
    return engine_over(folder, monographs, hash_embedder)


RA = (
    "For adults with rheumatoid arthritis, the recommended starting dosage is 5 mg orally "
    "once weekly."
)
OTHERS = (
    "For pediatric patients with polyarticular juvenile idiopathic arthritis, the "
    "recommended starting dosage is 8 mg/m² orally once weekly, and for adults with severe "
    "plaque psoriasis, the recommended starting dosage is 12 mg to 20 mg orally once weekly."
)
PSORIASIS = "For adults with plaque psoriasis, the recommended dosage is 12 mg once weekly."


# -- the reader: what a statement is scoped to ------------------------------------------------


def test_scope_phrases_are_read_without_a_list_of_diseases() -> None:
    assert scope_words(RA) == [["rheumatoid", "arthritis"]]
    assert scope_words(OTHERS) == [
        ["polyarticular", "juvenile", "idiopathic", "arthritis"],
        ["plaque", "psoriasis"],
    ]
    assert scope_words("The recommended dose for myeloma is 4 mg daily.") == [["myeloma"]]
    assert scope_words("Myeloma: take 4 mg daily.") == [["myeloma"]]
    # Who and how much are qualifiers or filler, not an indication.
    assert scope_words("Patients with severe renal impairment take 2 mg.") == []
    assert scope_words("Adults: 20 mg once a day.") == []
    assert scope_words("Take 20 mg with food.") == []


def test_an_indication_is_named_by_a_word_a_stem_or_its_initials() -> None:
    asked = intent_of("starting dose for RA?").words
    assert names_scope(asked, ["rheumatoid", "arthritis"])
    assert not names_scope(asked, ["plaque", "psoriasis"])
    assert names_scope(intent_of("pjia dose").words, scope_words(OTHERS)[0])
    assert names_scope(intent_of("dose for psoriatic skin").words, ["plaque", "psoriasis"])


def test_an_added_amount_for_another_population_or_indication_is_refused() -> None:
    ra = intent_of("starting dose for RA")
    # The children's and the psoriasis doses beside the adults' arthritis dose.
    assert other_scope(ra, OTHERS, (), RA, ()) == "population"
    assert other_scope(ra, PSORIASIS, (), RA, ()) == "indication"
    # A question that names both indications asks for both statements.
    both = intent_of("dose for RA and for psoriasis")
    assert other_scope(both, PSORIASIS, (), RA, ()) == ""
    # A statement with no scope of its own, or without an amount, may join.
    assert other_scope(ra, "The dosage may be increased to 15 mg once weekly.", (), RA, ()) == ""
    assert other_scope(ra, "For adults with plaque psoriasis, see 2.4.", (), RA, ()) == ""


def test_a_question_about_nobody_in_particular_keeps_the_adult_statement() -> None:
    general = intent_of("examplodol dose?")
    adults = "Adults: one 20 mg tablet once a day."
    children = "Children aged 6 to 11 years: one 10 mg tablet once a day."
    renal = "Patients with severe renal impairment take 2.5 mg once a day."
    assert sub_population(general, (adults,)) == frozenset()
    assert sub_population(general, (children,)) == {"child"}
    # Beside the adults' line, the children's and the kidney line are someone else's ...
    assert other_scope(general, children, (), adults, ()) == "population"
    assert other_scope(general, renal, (), adults, ()) == "population"
    # ... but the adults' line is never taken away from a general question.
    assert other_scope(general, adults, (), children, ()) == ""
    # A question that names the population reads it with ``fit`` instead.
    assert other_scope(intent_of("examplodol dose for children?"), children, (), adults, ()) == ""


def test_severity_of_an_impairment_the_question_names_is_fits_conflict() -> None:
    severe = intent_of("examplodol dose in severe renal impairment?")
    moderate = "Patients with moderate renal impairment take 5 mg once a day."
    assert other_scope(severe, moderate, (), "Patients with severe renal ...", ()) == ""
    assert fit(severe, moderate).conflicts == 1


# -- the answerer's choice, with the scores fixed -----------------------------------------------
# ``select`` over one passage whose sentences get the in-context similarities given (no
# re-rank, every term of the same weight): the near-tie the real model produces on a US-PI
# dosing paragraph, reproduced without it.


class _Vectors:
    def __init__(self, rows: dict[str, np.ndarray]) -> None:
        self.rows = rows

    def first(self, counts: dict[str, int]) -> dict[str, np.ndarray]:
        return {k: self.rows[k][:n] for k, n in counts.items() if k in self.rows}


class _Lexical:
    def idf(self, term: str) -> float:
        return 1.0


def _section(monograph: str, heading: str) -> str:
    return monograph.split(heading, 1)[1].split("\n#", 1)[0].strip()


def pick(question: str, text: str, similarities: list[float], section: str = "Dosage") -> str:
    """The answer ``select`` quotes from ``text`` (statements joined by " | ")."""
    chunk = Chunk(
        id="c1",
        drug="Examplomab",
        aliases=(),
        section=section,
        kind="section",
        text=text,
        source="examplomab.md",
        doc="examplomab",
        rev="r",
        last_modified="",
        content_hash="h",
        ordinal=0,
    )
    assert len(unit_layout(text)) == len(similarities)
    query = np.zeros(4, dtype=np.float32)
    query[0] = 1.0
    rows = np.zeros((len(similarities), 4), dtype=np.float32)
    rows[:, 0] = similarities
    answerer = ExtractiveAnswerer(
        _Vectors({"c1": rows}),
        None,  # type: ignore[arg-type] - no re-rank, no model call
        _Lexical(),  # type: ignore[arg-type]
        AnswerSettings(rerank=0),
        AbstentionPolicy(0.0),  # select never refuses
    )
    selection = answerer.select(question, question, query, [Evidence(chunk, 1.0)])
    return " | ".join(u.text for u in selection.units)


ARTHRITIS = _section(USPI, "Arthritis and Skin Disease")
GOUT = _section(USPI, "Recommended Dosage for Gout")
ADULTS_CHILDREN = _section(LEAFLET, "How to take Examplodol")
RENAL = _section(LEAFLET, "Patients with kidney problems")


def test_uspi_next_sentence_with_the_childrens_and_psoriasis_doses_stays_out() -> None:
    answer = pick("examplomab starting dose for RA", ARTHRITIS, [0.60, 0.58])
    assert "5 mg orally once weekly" in answer
    assert "8 mg/m" not in answer and "12 mg to 20 mg" not in answer


def test_uspi_the_named_indication_wins_a_near_tie() -> None:
    answer = pick("examplomab starting dose for pJIA", ARTHRITIS, [0.60, 0.59])
    assert "8 mg/m" in answer
    assert "5 mg orally once weekly" not in answer


def test_uspi_another_indications_sentence_stays_out() -> None:
    answer = pick("examplomab dose for gout", GOUT, [0.60, 0.72])
    assert "40 mg" in answer
    assert "60 mg" not in answer
    # Asked for both, neither is another indication's (the answerer's near-duplicate rule
    # may still quote one: the two sentences say nearly the same words).
    both = intent_of("examplomab dose for gout or uric acid stones")
    gout, stones = (s.strip() + "." for s in GOUT.split(".")[:2])
    assert other_scope(both, stones, (), gout, ()) == ""
    assert other_scope(intent_of("examplomab dose for gout"), stones, (), gout, ()) == "indication"


def test_leaflet_list_general_question_gets_the_adults_item_only() -> None:
    # The lead-in, the adults' item, the children's item.
    assert "20 mg tablet" in pick("examplodol dose", ADULTS_CHILDREN, [0.3, 0.60, 0.59])
    assert "10 mg tablet" not in pick("examplodol dose", ADULTS_CHILDREN, [0.3, 0.60, 0.59])
    # The children's item a little closer: the adults' one is still the answer.
    answer = pick("examplodol dose", ADULTS_CHILDREN, [0.3, 0.59, 0.60])
    assert "20 mg tablet" in answer and "10 mg tablet" not in answer


def test_leaflet_general_question_never_loses_the_adults_item() -> None:
    """The reverse case: the children's item ahead by a runner-up's margin; the adults'
    one is still the answer (a general question is about the general patient)."""
    answer = pick("examplodol dose", ADULTS_CHILDREN, [0.3, 0.56, 0.60])
    assert "20 mg tablet" in answer and "10 mg tablet" not in answer
    # Far behind, it is still the answer: the children's dose is a wrong-population
    # answer to a question that names no one (tests/test_dose_case.py).
    answer = pick("examplodol dose", ADULTS_CHILDREN, [0.3, 0.40, 0.60])
    assert "20 mg tablet" in answer and "10 mg tablet" not in answer


def test_leaflet_list_children_question_gets_the_childrens_item() -> None:
    answer = pick("examplodol dose for children", ADULTS_CHILDREN, [0.3, 0.60, 0.60])
    assert "10 mg tablet" in answer and "20 mg tablet" not in answer


def test_renal_severity_and_the_general_question() -> None:
    severe = pick("examplodol dose in severe renal impairment", RENAL, [0.60, 0.60])
    assert "2.5 mg" in severe and "take 5 mg" not in severe
    moderate = pick("examplodol dose in moderate renal impairment", RENAL, [0.60, 0.60])
    assert "take 5 mg" in moderate and "2.5 mg" not in moderate


# -- the engine, end to end (hash embedder) ---------------------------------------------------


def test_engine_leaflet_general_question_gets_the_adult_item(engine: Engine) -> None:
    answer = engine.ask("how much examplodol per day?")
    assert "20 mg tablet" in answer.text
    assert "10 mg tablet" not in answer.text
    assert "2.5 mg" not in answer.text


def test_engine_children_question_gets_the_childrens_item(engine: Engine) -> None:
    answer = engine.ask("examplodol dose for children?")
    assert "10 mg tablet" in answer.text
    assert "20 mg tablet" not in answer.text


def test_engine_uspi_named_indication(engine: Engine) -> None:
    answer = engine.ask("examplomab starting dose for rheumatoid arthritis")
    assert "5 mg orally once weekly" in answer.text
    assert "8 mg/m" not in answer.text and "12 mg to 20 mg" not in answer.text


TWO_CASES = """---
title: Examplofactor
description: >-
  Examplofactor is a test clotting factor written for monorag's tests.
lastModified: '2026-01-01T00:00:00Z'
faqs: []
---

## 3. How Examplofactor is given

For minor bleeding (for example nose bleed or oral bleeding), each initial dose is usually 40 to 50 IU/kg and for major bleeding (gastrointestinal bleeding, trauma or surgery), each initial dose is usually 50 to 80 IU/kg. Later doses are given every 8 to 24 hours.
"""  # noqa: E501 - a leaflet's lines are as long as its paragraphs


def test_one_sentence_with_two_cases_is_quoted_for_the_case_asked(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """The minor-bleed dose beside the major-bleed one, in one sentence, is the neighbouring
    statement within a sentence: the answer quotes the clause of the case asked."""
    engine = engine_over(tmp_path, {"examplofactor.md": TWO_CASES}, hash_embedder)
    major = engine.ask("examplofactor initial dose for a major bleed")
    assert "50 to 80 IU/kg" in major.text
    assert "40 to 50 IU/kg" not in major.text
    minor = engine.ask("examplofactor initial dose for a nose bleed")
    assert "40 to 50 IU/kg" in minor.text
    assert "50 to 80 IU/kg" not in minor.text
    # The citation still quotes the passage whole, and a question naming no case gets both.
    assert "40 to 50 IU/kg" in major.citations[0].text
    both = engine.ask("examplofactor initial dose?")
    assert "40 to 50 IU/kg" in both.text and "50 to 80 IU/kg" in both.text


def test_clause_for_needs_two_numbered_cases_and_one_named() -> None:
    sentence = (
        "twice a day between 5 and 14 days for skin infections and between 5 and 10 days "
        "for community-acquired pneumonia."
    )
    assert clause_for("duration for community acquired pneumonia?", sentence) == (
        "twice a day … between 5 and 10 days for community-acquired pneumonia."
    )
    assert clause_for("duration for a skin infection?", sentence) == (
        "twice a day between 5 and 14 days for skin infections …"
    )
    assert clause_for("how long?", sentence) is None
    assert clause_for("dose for gout?", "Take 40 mg daily with food and plenty of water.") is None


CASES_BY_ABSENCE = (
    "The dose should be lowered by about 30% in patients with mild and moderate renal "
    "impairment without proteinuria, and by about 60% in patients with moderate renal "
    "impairment with proteinuria, with later doses set by response."
)


def test_a_case_stated_by_what_it_lacks_is_the_other_case() -> None:
    """A case stated by what it lacks: "without proteinuria" and "with proteinuria" are two
    cases, not one word twice. A question about a patient with it gets the 60% clause, not
    the 30% beside it; one naming a severity only one clause states gets that clause; one
    naming what both state gets the sentence whole."""
    wth = clause_for("dose cut in ckd w proteinuria?", CASES_BY_ABSENCE, "Examplo")
    assert wth is not None and "60%" in wth and "30%" not in wth
    without = clause_for("dose in ckd, no proteinuria?", CASES_BY_ABSENCE, "Examplo")
    assert without is not None and "30%" in without and "60%" not in without
    mild = clause_for("mild renal impairment dose?", CASES_BY_ABSENCE, "Examplo")
    assert mild is not None and "30%" in mild and "60%" not in mild
    assert clause_for("moderate renal impairment dose?", CASES_BY_ABSENCE, "Examplo") is None
    # A qualifier stated in one clause only is no second case: "and for 2 weeks after"
    # continues the breastfeeding sentence, which is quoted whole.
    one_case = (
        "Because of the risk to a breastfed infant, advise women not to breastfeed during "
        "treatment and for 2 weeks after the final dose."
    )
    assert clause_for("what if she is breastfeeding?", one_case, "Examplo") is None


def test_clauses_split_where_each_states_a_number_of_its_own() -> None:
    """ "For X and for Y in adults, 750 mg ..., whereas in children 35 to 50 mg/kg" states two
    cases, adults and children, not three: the "and for Y" with no number of its own is part
    of the adults' case. "Reduced to a third with inhibitors (e.g. A) and increased up to
    4-fold with inducers (e.g. B)" states one case per co-drug."""
    ages = (
        "For bowel amebiasis (amebic dysentery) and for amebic liver abscess in adults, the "
        "dose is 750 mg three times daily for 5 to 10 days, whereas in pediatric patients "
        "the dose is 35 to 50 mg/kg/24 hours in three doses for 10 days."
    )
    kid = clause_for("and for a 20 kg kid?", ages, "Examplo")
    assert kid is not None and "35 to 50 mg/kg" in kid and "750 mg" not in kid
    adult = clause_for("dose for amebic liver abscess in an adult?", ages, "Examplo")
    assert adult is not None and "750 mg" in adult and "35 to 50" not in adult
    codrugs = (
        "The dose should be reduced to one third with strong CYP3A4 inhibitors (e.g., "
        "ketoconazole, clarithromycin) and increased up to 4-fold with CYP3A4 inducers "
        "(e.g., rifampin, carbamazepine)."
    )
    with_inhibitor = clause_for("pt starting clarithromycin, what dose?", codrugs, "Examplo")
    assert with_inhibitor is not None and "one third" in with_inhibitor
    assert "4-fold" not in with_inhibitor


RENAL_TABLE = (
    "Patients with normal renal function (CrCl greater than 80) may receive 400 to 1200 mg "
    "every 12 hours; patients with mild renal impairment (CrCl 50 to 80) should receive 400 "
    "to 800 mg every 12 hours; patients with moderate renal impairment (CrCl 30 to 50) "
    "should receive 200 to 600 mg every 12 hours; and patients with severe renal impairment "
    "(CrCl less than 30) should receive 200 to 400 mg every 12 hours."
)


@pytest.mark.parametrize(
    ("question", "quoted"),
    [
        ("dose for an adult w crcl ~40?", "200 to 600 mg"),
        ("crcl 40 - what dose range q12?", "200 to 600 mg"),
        ("crcl 20 dose", "200 to 400 mg"),
        ("crcl 95, usual dose?", "400 to 1200 mg"),
    ],
)
def test_a_clearance_picks_the_case_of_a_flattened_renal_table(question: str, quoted: str) -> None:
    """A label's renal table written as one sentence, its cases cut by semicolons and
    graded by CrCl without a unit: the clearance asked lies in one band, and only that
    band's dose is quoted (the mild band's 400 to 800 mg for CrCl 40 is the wrong dose)."""
    clause = clause_for(question, RENAL_TABLE, "Velotrexin")
    assert clause is not None and quoted in clause
    others = {"400 to 1200 mg", "400 to 800 mg", "200 to 600 mg", "200 to 400 mg"} - {quoted}
    assert not any(o in clause for o in others), clause


def test_a_value_on_a_bands_boundary_or_no_value_quotes_the_whole_table() -> None:
    assert clause_for("crcl 50 dose?", RENAL_TABLE) is None  # in two bands
    assert clause_for("dose in renal impairment?", RENAL_TABLE) is None


def test_an_age_band_keeps_the_lists_lead_in() -> None:
    sentence = (
        "Pediatric dosage is based on age: 0 to 3 months, 10 to 15 mcg/kg/day; 3 to 6 "
        "months, 8 to 10 mcg/kg/day; 6 to 12 months, 6 to 8 mcg/kg/day."
    )
    assert clause_for("dose for a 4 month old?", sentence) == (
        "Pediatric dosage is based on age: … 3 to 6 months, 8 to 10 mcg/kg/day."
    )


def test_a_semicolon_joining_a_dose_to_its_schedule_is_not_cut_by_words() -> None:
    """Only a value in a range cuts at a semicolon: words alone do not ("repeat" is what
    the second half says, but both halves are one case)."""
    sentence = "The usual dose is 90 mg per kg; repeat it every 2 to 3 hours until controlled."
    assert clause_for("how often can we repeat it?", sentence) is None
