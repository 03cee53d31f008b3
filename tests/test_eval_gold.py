"""Automatic gold-section labels (eval/gold.py): hand-made vectors for the scoring rule,
the real packaged model for labels on realistic text."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from monorag.embed import Embedder
from monorag.eval.gold import LabelParams, SectionMatch, SectionMatcher


class TableEmbed:
    """An embedding function over a fixed table of texts (exact similarities by design)."""

    def __init__(self, table: dict[str, Sequence[float]]) -> None:
        self.table = table

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray([self.table[t] for t in texts], dtype=np.float64)


def _unit(angle_cos: float) -> list[float]:
    """A 2-d unit vector whose cosine with (1, 0) is ``angle_cos``."""
    return [angle_cos, float(np.sqrt(1 - angle_cos**2))]


SENTENCE = "Take 4 mg on days 1-21."
TABLE = {
    SENTENCE: [1.0, 0.0],
    "The dose is 4 mg on days 1-21.": _unit(0.9),  # Dosage: states both facts
    "Monitor the blood count.": _unit(0.3),  # Monitoring: off topic
    "The dose is given in cycles.": _unit(0.9),  # Summary: similar wording, no facts
}


def test_score_is_similarity_scaled_by_the_share_of_key_facts() -> None:
    matcher = SectionMatcher(
        [
            ("Dosage", "The dose is 4 mg on days 1-21."),
            ("Monitoring", "Monitor the blood count."),
            ("Summary", "The dose is given in cycles."),
        ],
        TableEmbed(TABLE),
    )
    labels = matcher.label(SENTENCE)
    by_section = {m.section: m for m in labels.gold + labels.supporting}
    dosage = by_section["Dosage"]
    assert dosage.facts == 1.0 and dosage.score == pytest.approx(0.9)
    assert dosage.evidence == "The dose is 4 mg on days 1-21."
    assert dosage.sentence == SENTENCE
    assert [m.section for m in labels.gold] == ["Dosage"]
    # Same wording without the facts: half the similarity, below every threshold.
    assert "Summary" not in by_section
    assert "Monitoring" not in by_section


def test_sections_within_the_margin_are_all_gold() -> None:
    table = {
        "Stop if a rash appears.": [1.0, 0.0],
        "Stop treatment if a rash appears.": _unit(0.95),
        "Rash: stop treatment.": _unit(0.88),
        "Rashes are common.": _unit(0.7),
    }
    matcher = SectionMatcher(
        [
            ("Precautions", "Stop treatment if a rash appears."),
            ("Summary", "Rash: stop treatment."),
            ("Side Effects", "Rashes are common."),
        ],
        TableEmbed(table),
        params=LabelParams(gold_min=0.6, margin=0.1, support_min=0.6),
    )
    labels = matcher.label("Stop if a rash appears.")
    assert [m.section for m in labels.gold] == ["Precautions", "Summary"]
    # Above support_min but outside the margin: acceptable to cite, not gold.
    assert [m.section for m in labels.supporting] == ["Side Effects"]


def test_nothing_is_gold_when_no_section_states_the_answer() -> None:
    table = {"Swallow whole with water.": [1.0, 0.0], "Store below 25 C.": _unit(0.2)}
    matcher = SectionMatcher([("Storage", "Store below 25 C.")], TableEmbed(table))
    labels = matcher.label("Swallow whole with water.")
    assert labels.gold == [] and labels.supporting == []


def test_empty_reference_and_empty_sections() -> None:
    matcher = SectionMatcher([("Empty", "  "), ("Dots", "..")], TableEmbed({}))
    assert matcher.units == []
    assert matcher.label("Anything at all.").gold == []
    full = SectionMatcher([("Dosage", "The dose is 4 mg on days 1-21.")], TableEmbed(TABLE))
    assert full.label("").gold == []


def test_section_match_json_round_trip() -> None:
    match = SectionMatch("Dosage › Adults", 0.91234, 0.95, None, "A sentence.", "A unit.")
    data = match.to_json()
    assert data["score"] == 0.912 and data["facts"] is None
    assert SectionMatch.from_json(data).section == "Dosage › Adults"


def test_real_model_labels_the_section_that_states_the_answer(embedder: Embedder) -> None:
    sections = [
        ("Usage", "Zorbanib treats chronic plaque psoriasis of the scalp in adults."),
        ("Dosage › Adults", "Take one 15 mg tablet orally once daily, in the morning."),
        (
            "Dosage › Hepatic Impairment",
            "In moderate hepatic impairment reduce the dose to 10 mg once daily.",
        ),
        ("Side Effects", "Common side effects are headache, nausea and dry skin."),
        ("Pregnancy", "Zorbanib must not be used in pregnancy."),
    ]
    matcher = SectionMatcher(sections, embedder.embed, ignore=["Zorbanib"])
    labels = matcher.label(
        "The recommended dose is 15 mg orally once daily. In moderate hepatic impairment "
        "the dose is reduced to 10 mg once daily."
    )
    gold = {m.section for m in labels.gold}
    assert gold == {"Dosage › Adults", "Dosage › Hepatic Impairment"}
    assert all(m.score >= LabelParams().gold_min for m in labels.gold)
    assert not {"Side Effects", "Pregnancy", "Usage"} & {m.section for m in labels.supporting}

    unstated = matcher.label("Patients should avoid grapefruit juice during treatment.")
    assert unstated.gold == []
