"""Issue 12, class 4: a drug the monograph does not name, whose class it names.

"Pt on zorvanta just started bisoprolol" where the Zorvanta monograph warns about
beta-blockers: "the monograph does not mention bisoprolol" would hide an interaction it
states. No vocabulary of drug classes ships in the registries; the corpus says which drugs
a class holds wherever a monograph gives examples of one ("beta-blockers (e.g. atenolol,
bisoprolol)"), and ``monorag.qa.classes`` reads it there, or the WHO's INN stem of the
name gives it ("-olol"). The monographs are written here.
"""

from __future__ import annotations

import numpy as np
import pytest

from monorag.embed import Embedder
from monorag.qa.classes import KINDS, DrugClasses, class_pattern
from monorag.qa.engine import Engine
from monorag.text import tokenize
from tests.conftest import engine_over

ZORVANTA = """---
title: Zorvanta
lastModified: '2025-05-01'
---
## Dosage

The usual zorvanta dose is 10 units once daily before breakfast.

## Other Medicines

Beta-blockers (used to treat high blood pressure) may weaken or hide the first warning
symptoms of low blood sugar while you take zorvanta.

Do not take zorvanta with nefazodone (an antidepressant): it raises zorvanta levels.

## Side Effects

Bacterial infections of the skin at the injection site are uncommon.
"""

QUELLIX = """---
title: Quellix
lastModified: '2025-02-01'
---
## Other Medicines

Tell your doctor if you take beta-blockers (e.g. atenolol, bisoprolol), antidepressants
such as fluoxetine, or medicines for bacterial infections (e.g. clarithromycin).

## Dosage

The usual quellix dose is 5 mg once daily.
"""

NEVER = 0.99
"""A support threshold no answer reaches: only the co-drug rule can answer."""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    folder = tmp_path_factory.mktemp("classes")
    monographs = {"zorvanta.md": ZORVANTA, "quellix.md": QUELLIX}
    return engine_over(folder, monographs, embedder, abstain_below=NEVER)  # type: ignore[arg-type]


def test_a_drug_the_monograph_names_only_by_its_class_is_answered_from_the_class(
    engine: Engine,
) -> None:
    answer = engine.ask("pt on zorvanta just started bisoprolol, anything to warn her?")
    assert not answer.abstained, answer.text
    assert "Beta-blockers (used to treat high blood pressure)" in answer.text
    assert {c.drug for c in answer.citations} == {"Zorvanta"}
    # The answer says the drug itself is not named, and which class is quoted.
    assert "does not name bisoprolol" in answer.note and "Beta-blockers" in answer.note


def test_a_class_word_describing_another_listed_drug_does_not_answer(engine: Engine) -> None:
    """Zorvanta names one antidepressant ("nefazodone (an antidepressant)"): what it says
    of nefazodone is not said of fluoxetine, which it does not name."""
    answer = engine.ask("zorvanta with fluoxetine?")
    assert answer.abstained
    assert "does not mention fluoxetine" in answer.text


def test_a_condition_before_examples_is_no_class(engine: Engine) -> None:
    """Quellix lists clarithromycin under "medicines for bacterial infections": a
    condition, which Zorvanta names as a side effect; no class links them."""
    answer = engine.ask("zorvanta with clarithromycin?")
    assert answer.abstained
    assert "does not mention clarithromycin" in answer.text


def test_a_drug_no_monograph_lists_under_a_class_is_still_not_mentioned(engine: Engine) -> None:
    answer = engine.ask("zorvanta with tacrolimus?")
    assert answer.abstained
    assert "does not mention tacrolimus" in answer.text


def test_a_drug_no_monograph_lists_is_found_by_the_class_its_inn_stem_names(
    engine: Engine,
) -> None:
    """No monograph here names propranolol; its stem "-olol" is the WHO's for beta-blockers,
    which Zorvanta warns about. The note says the class came from the drug's name, not from
    a monograph that lists it."""
    answer = engine.ask("zorvanta and propranolol together ok?")
    assert not answer.abstained, answer.text
    assert "Beta-blockers (used to treat high blood pressure)" in answer.text
    assert "does not name propranolol" in answer.note and "stem of its name" in answer.note


def test_a_narrower_class_is_matched_by_the_wider_one_a_monograph_names() -> None:
    """ "Potassium-sparing medicines" names every potassium-sparing diuretic; "beta-blockers"
    is no "beta-medicines"."""
    wide = class_pattern("potassium-sparing diuretics")
    assert wide.search("These include potassium supplements and potassium-sparing medicines.")
    assert wide.search("potassium sparing diuretics such as amiloride")
    assert not class_pattern("beta-blockers").search("beta medicines")


def test_inn_stems_give_a_class_only_to_a_name_longer_than_the_stem() -> None:
    from monorag.qa.classes import stem_classes

    assert "beta-blockers" in stem_classes("bisoprolol")
    assert "proton pump inhibitors" in stem_classes("Esomeprazole magnesium")
    assert stem_classes("metronidazole") == ["nitroimidazoles"]
    assert stem_classes("fluoxetine") == []  # "-oxetine" names no single class
    assert stem_classes("olol") == [] and stem_classes("pril") == []


# -- the reading of classes, on text ------------------------------------------------------------


def _classes(
    sources: list[str], target: tuple[str, ...] = (), conditions: frozenset[str] = frozenset()
) -> DrugClasses:
    """Classes read from ``sources`` (other monographs) and ``target`` (the monograph
    asked about); ``embed`` puts ``KINDS[0]`` and every phrase but ``conditions`` on one
    axis, the other kinds and ``conditions`` on others."""

    def embed(batch: list[str]) -> np.ndarray:
        rows = []
        for text in batch:
            axis = KINDS.index(text) if text in KINDS else 1 if text in conditions else 0
            rows.append(np.eye(3)[axis])
        return np.asarray(rows)

    def passages(words: str, docs: object, limit: int | None) -> list[str]:
        texts = list(target) if docs is not None else [*sources, *target]
        found = [t for t in texts if set(tokenize(words)) <= set(tokenize(t))]
        return found[:limit]

    return DrugClasses(passages, lambda w: w in {"atenolol", "bisoprolol", "nefazodone"}, embed)


def test_classes_are_read_from_examples_in_brackets_after_such_as_and_after_a_drug() -> None:
    classes = _classes(
        [
            "Tell your doctor if you take beta-blockers (e.g. atenolol, bisoprolol).",
            "NSAIDs such as bisoprolol may raise potassium.",
            "bisoprolol (a beta-blocker) may mask low blood sugar.",
        ]
    )
    assert classes.of("bisoprolol") == ["beta-blockers", "nsaids", "beta-blocker"]


def test_clauses_conditions_and_generic_words_are_no_classes() -> None:
    classes = _classes(
        [
            "Medicines for bacterial infections (e.g. bisoprolol).",
            "Medicines that lower blood pressure (e.g. bisoprolol).",
            "Other medicines (such as bisoprolol).",
            "Heart rhythm problems (e.g. bisoprolol).",
            "Pain and inflammation (bisoprolol).",
        ],
        conditions=frozenset({"heart rhythm problems"}),
    )
    assert classes.of("bisoprolol") == []


def test_a_class_is_matched_in_its_other_spellings() -> None:
    pattern = class_pattern("beta-blockers")
    for text in ("Beta-blockers may", "beta blockers may", "a beta-blocker"):
        assert pattern.search(text), text
    assert class_pattern("antipsychotics").search("antipsychotic medicines")
    assert not class_pattern("nitrates").search("nitrogen")
    # A prefix with or without its hyphen; a head noun for another one.
    nsaids = class_pattern("nonsteroidal anti-inflammatory agents")
    for text in (
        "non-steroidal anti-inflammatory medicines",
        "nonsteroidal antiinflammatory drugs",
    ):
        assert nsaids.search(text), text
    assert not nsaids.search("nonsteroidal anti-inflammatory creams")


def test_a_class_with_a_head_noun_is_the_class_without_it() -> None:
    """ "antipsychotic drugs" (one label's words) is the "antipsychotics" a leaflet warns
    about; the adjective alone ("an antipsychotic effect") is never the class."""
    sources = ["Patients treated with antipsychotic drugs such as bisoprolol may fall."]
    target = ("Do not take it with antipsychotics (used for serious mental illnesses).",)
    assert _classes(sources, target).named_in("bisoprolol", ["target"]) == ["antipsychotics"]
    adjective = ("It has an antipsychotic effect in trials.",)
    assert _classes(sources, adjective).named_in("bisoprolol", ["target"]) == []


def test_only_a_plural_class_outside_a_drugs_brackets_is_named() -> None:
    sources = ["beta-blockers (e.g. bisoprolol); antidepressants (bisoprolol)"]
    target = (
        "Do not take it with nefazodone (an antidepressant).",
        "Ketoconazole, atenolol (beta-blockers) raise its levels.",
    )
    classes = _classes(sources, target)
    assert classes.of("bisoprolol") == ["beta-blockers", "antidepressants"]
    assert classes.named_in("bisoprolol", ["target"]) == []
    named = _classes(sources, (*target, "Beta-blockers may hide low blood sugar."))
    assert named.named_in("bisoprolol", ["target"]) == ["Beta-blockers"]


def test_a_class_named_in_the_singular_among_examples_of_kinds_is_named() -> None:
    """ "(e.g. proton pump inhibitor, H2 antagonists)" names kinds, not one drug: the
    singular there names the class; outside such brackets it still does not."""
    sources = ["proton pump inhibitors (e.g. bisoprolol, esomeprazole) lower its uptake"]
    kinds = "Medicines that reduce stomach acid (e.g. proton pump inhibitor, H2 antagonists)."
    assert _classes(sources, (kinds,)).named_in("bisoprolol", ["target"]) == [
        "proton pump inhibitor"
    ]
    alone = "A proton pump inhibitor was given in the trial."
    assert _classes(sources, (alone,)).named_in("bisoprolol", ["target"]) == []


FENDRAX = """---
title: Fendrax
lastModified: '2025-04-01'
---
## Other Medicines

Fendrax is better absorbed in an acid stomach. Medicines that reduce stomach acid
(e.g. proton pump inhibitors, H2 antagonists) lower fendrax levels: take fendrax two hours
before them.

## Dosage

The usual fendrax dose is 800 mg once daily.
"""

ULCERIN = """---
title: Ulcerin
lastModified: '2025-04-01'
---
## What Ulcerin Is

Proton pump inhibitors (e.g. ulcerin, lansoprazole) reduce the acid made in the stomach.

## Dosage

The usual ulcerin dose is 20 mg once daily.
"""


def test_a_drug_with_its_own_monograph_is_found_by_its_class_in_the_other(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> None:
    """Both drugs have monographs, and Fendrax's names only the class Ulcerin belongs to:
    the interaction is Fendrax's statement on that class, and the answer says so."""
    folder = tmp_path_factory.mktemp("pair")
    engine = engine_over(
        folder,
        {"fendrax.md": FENDRAX, "ulcerin.md": ULCERIN},
        embedder,  # type: ignore[arg-type]
        abstain_below=NEVER,
    )
    answer = engine.ask("pt on fendrax, now on ulcerin 20 daily - a problem?")
    assert not answer.abstained, answer.text
    assert "take fendrax two hours" in answer.text
    assert "Fendrax" in {c.drug for c in answer.citations}
    assert "does not name ulcerin" in answer.note and "proton pump inhibitors" in answer.note
