"""The number guard: numbers an answer states must be in the evidence it cites."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monorag.qa.guard import find_mentions, unsupported_numbers

EVIDENCE = [
    "The recommended starting dose is 4 mg once daily taken orally on Days 1 to 21 of "
    "repeated 28-day cycles. Reduce to 3 mg after grade 4 neutropenia. Take two capsules "
    "twice a day with water. The overall response rate was 73 %. Give 1.5 mg/m² by infusion "
    "over 30 minutes. Each vial contains 10,000 units; inject 0.5 ml. Patients over 75 years "
    "start at 2 mg. Dose adjustments for CYP3A4 inhibitors apply.",
]


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "No numbers in this answer [S1].",
        "Take 4 mg once daily [S1].",
        "Take 4mg once daily [S1].",
        "Take 4 milligrams once daily [S1].",
        "Take it on days 1-21 [S1].",
        "Take it on days 1–21 [S1].",  # en dash
        "Take it on days 1 to 21 [S1].",
        "Take it from day 1 to day 21 [S1].",
        "Take it on days 1 through 21 [S1].",
        "Each cycle lasts 28 days [S1].",
        "Cycles are 28-day cycles [S1].",
        "Stop after day 21 [S1].",
        "Reduce to 3 mg [S1].",
        "After grade 4 neutropenia [S1].",
        "Take 2 capsules [S1].",  # "two capsules" in the evidence
        "Take them 2 times a day [S1].",  # "twice a day" in the evidence
        "Take them twice daily [S1].",  # words are not numbers
        "The response rate was 73% [S1].",
        "The response rate was 73 percent [S1].",
        "Give 1.5 mg/m2 [S1].",
        "Give 1.5 mg/m² [S1].",
        "Give 1.5 mg per m2 [S1].",
        "Infuse over 30 minutes [S1].",
        "Infuse over 30 min [S1].",
        "Each vial has 10 000 IU [S1].",
        "Each vial has 10\u202f000 units [S1].",  # narrow no-break space
        "Each vial has 10000 units [S1].",
        "Inject 0,5 ml [S1].",
        "Inject 0.5 mL [S1].",
        "Over 75 years: 2 mg [S1].",
        "Avoid strong CYP3A4 inhibitors [S1].",
        "1. Take 4 mg [S1].\n2. Reduce to 3 mg [S1].\n3. Stop [S1].",
        "Citations [S12] and (S3) and 【S7】 are not numbers.",
    ],
)
def test_supported(answer: str) -> None:
    assert unsupported_numbers(answer, EVIDENCE) == []


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("Take 100 mg once daily [S1].", ["100 mg"]),
        ("Take 5 mg once daily [S1].", ["5 mg"]),
        ("Take 4 g once daily [S1].", ["4 g"]),  # unit changed
        ("Take 4 mg/kg once daily [S1].", ["4 mg/kg"]),
        ("Take 4 mcg once daily [S1].", ["4 mcg"]),
        ("Take it on days 1-28 [S1].", ["days 1-28"]),  # both numbers exist, the range not
        ("Take it on days 1-14 [S1].", ["days 1-14"]),
        ("Each cycle lasts 21-day [S1].", []),  # 21 appears with days in the evidence
        ("Each cycle lasts 35 days [S1].", ["35 days"]),
        ("Take 3 capsules [S1].", ["3 capsules"]),
        ("Take them 3 times a day [S1].", ["3 times"]),
        ("The response rate was 37% [S1].", ["37%"]),
        ("The response rate was 73 mg [S1].", ["73 mg"]),  # % is not mg
        ("Give 1.5 mg [S1].", ["1.5 mg"]),  # mg/m2 is not mg
        ("Give 15 mg/m2 [S1].", ["15 mg/m2"]),
        ("Each vial has 100 000 IU [S1].", ["100 000 IU"]),
        ("Inject 5 ml [S1].", ["5 ml"]),
        ("Inject 0,25 ml [S1].", ["0,25 ml"]),
        ("Infuse over 60 minutes [S1].", ["60 minutes"]),
        ("Wait 12 hours [S1].", ["12 hours"]),
        ("Patients over 65 years [S1].", ["65 years"]),
        ("Check after 6 weeks [S1].", ["6 weeks"]),
        ("A bare number 42 [S1].", ["42"]),
        ("From 4 mg to 8 mg [S1].", ["8 mg"]),
        ("Give 2-4 mg [S1].", ["2-4 mg"]),
        ("Take 4 mg, then 100 mg, then 100 mg again [S1].", ["100 mg"]),  # reported once
        ("Take 5 mg and 6 mg and 7 mg [S1].", ["5 mg", "6 mg", "7 mg"]),  # in answer order
        ("- 4 mg daily [S1]\n- 9 mg weekly [S1]", ["9 mg"]),
    ],
)
def test_fires(answer: str, flagged: list[str]) -> None:
    assert unsupported_numbers(answer, EVIDENCE) == flagged


def test_only_the_given_evidence_counts() -> None:
    answer = "Take 4 mg [S1] on days 1-21 [S2]."
    assert unsupported_numbers(answer, ["Dose: 4 mg.", "Days 1-21."]) == []
    assert unsupported_numbers(answer, ["Dose: 4 mg."]) == ["days 1-21"]
    assert unsupported_numbers(answer, []) == ["4 mg", "days 1-21"]


def test_reports_the_answer_spelling() -> None:
    flagged = unsupported_numbers("Take it on days 1–28 [S1].", EVIDENCE)
    assert flagged == ["days 1–28"]


@pytest.mark.parametrize(
    ("text", "values", "unit"),
    [
        ("4 mg", ("4",), "mg"),
        ("4 milligrams", ("4",), "mg"),
        ("250 micrograms", ("250",), "mcg"),
        ("250 µg", ("250",), "mcg"),
        ("days 1-21", ("1", "21"), "day"),
        ("1 to 21", ("1", "21"), None),
        ("28-day", ("28",), "day"),
        ("73%", ("73",), "%"),
        ("2 times", ("2",), "times"),
        ("2x", ("2",), "times"),
        ("1.5 mg/m2", ("1.5",), "mg/m2"),
        ("10 000 IU", ("10000",), "iu"),
        ("10,000 units", ("10000",), "iu"),
        ("0,5 ml", ("0.5",), "ml"),
        ("1.50 mg", ("1.5",), "mg"),
        ("2.0 mg", ("2",), "mg"),
        ("30 mL/min", ("30",), "ml/min"),
        ("10-20%", ("10", "20"), "%"),
        ("24 h", ("24",), "h"),
    ],
)
def test_mention_parsing(text: str, values: tuple[str, ...], unit: str | None) -> None:
    mentions = find_mentions(text)
    assert [(m.values, m.unit) for m in mentions] == [(values, unit)]
    assert mentions[0].surface == text


@pytest.mark.parametrize(
    "text",
    [
        "twice daily",
        "once a week",
        "see [S1] and [S2]",
        "(S3)",
        "CYP3A4",
        "COVID-19",
        "H2 blockers",
        "the 1st cycle",
        "1. First item\n2. Second item",
        "1) First item",
    ],
)
def test_not_numbers(text: str) -> None:
    assert find_mentions(text) == []


def test_comma_lists_are_separate_numbers() -> None:
    assert [m.values for m in find_mentions("days 1, 8, 15 and 22")] == [
        ("1",),
        ("8",),
        ("15",),
        ("22",),
    ]
    assert [m.values for m in find_mentions("days 1,8,15")] == [("1",), ("8",), ("15",)]


def _sections(text: str) -> list[str]:
    # Headed blocks cut at blank lines: about the size of a retrieved chunk.
    return [s for s in re.split(r"\n(?=#)|\n\s*\n", text) if s.strip()]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def test_real_leaflets_support_their_own_numbers_and_catch_changed_ones(ema_dir: Path) -> None:
    """On real EU leaflets: quoting a passage never fires; changing one number always does."""
    leaflets = sorted(p for p in ema_dir.glob("*.md") if p.name != "NOTICE.md")[::40]
    assert len(leaflets) >= 20, ema_dir
    quoted = changed = 0
    false_alarms: list[str] = []
    missed: list[str] = []
    for path in leaflets:
        for section in _sections(path.read_text(encoding="utf-8")):
            present = {v for m in find_mentions(section) for v in m.values}
            for sentence in _sentences(section):
                mentions = find_mentions(sentence)
                if not mentions:
                    continue
                quoted += 1
                if unsupported_numbers(sentence, [section]):
                    false_alarms.append(sentence)
                first = mentions[0]
                new = next(str(n) for n in range(97, 10_000) if str(n) not in present)
                span = sentence[first.start : first.end]
                altered = re.sub(r"\d+(?:[.,]\d+)?", new, span, count=1)
                changed += 1
                if not unsupported_numbers(
                    sentence[: first.start] + altered + sentence[first.end :], [section]
                ):
                    missed.append(sentence)
    assert quoted > 200 and changed == quoted
    assert false_alarms == []
    assert missed == []
