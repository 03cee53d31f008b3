"""Citation parsing of generated answers: styles, invented keys, statements."""

from __future__ import annotations

import pytest

from monorag.qa.citations import clean_citations, parse_citations, split_statements, strip_citations

VALID = {"S1", "S2", "S3"}


@pytest.mark.parametrize(
    ("raw", "text", "keys", "dropped"),
    [
        ("", "", [], []),
        ("   \n ", "", [], []),
        ("No citations at all.", "No citations at all.", [], []),
        ("Dose is 4 mg [S1].", "Dose is 4 mg [S1].", ["S1"], []),
        ("Dose is 4 mg [S1, S2].", "Dose is 4 mg [S1][S2].", ["S1", "S2"], []),
        ("Dose is 4 mg [S1; S2].", "Dose is 4 mg [S1][S2].", ["S1", "S2"], []),
        ("Dose is 4 mg [S1 and S3].", "Dose is 4 mg [S1][S3].", ["S1", "S3"], []),
        ("Dose is 4 mg [S1][S2].", "Dose is 4 mg [S1][S2].", ["S1", "S2"], []),
        ("Dose is 4 mg [S1] [S2].", "Dose is 4 mg [S1][S2].", ["S1", "S2"], []),
        ("Dose is 4 mg (S1).", "Dose is 4 mg [S1].", ["S1"], []),
        ("Dose is 4 mg (S1, S2).", "Dose is 4 mg [S1][S2].", ["S1", "S2"], []),
        ("Dose is 4 mg 【S1】.", "Dose is 4 mg [S1].", ["S1"], []),
        ("Dose is 4 mg 【S1】【S2】.", "Dose is 4 mg [S1][S2].", ["S1", "S2"], []),
        ("Dose is 4 mg ［S2］.", "Dose is 4 mg [S2].", ["S2"], []),
        ("Dose is 4 mg [s1].", "Dose is 4 mg [S1].", ["S1"], []),
        ("Dose is 4 mg [S 1].", "Dose is 4 mg [S1].", ["S1"], []),
        ("Dose is 4 mg [S01].", "Dose is 4 mg [S1].", ["S1"], []),
        ("Dose is 4 mg [S1-S3].", "Dose is 4 mg [S1][S2][S3].", ["S1", "S2", "S3"], []),
        ("Dose is 4 mg [S1–S2].", "Dose is 4 mg [S1][S2].", ["S1", "S2"], []),
        ("Dose is 4 mg [S2, S1].", "Dose is 4 mg [S2][S1].", ["S2", "S1"], []),
        # Invented keys are removed, with the space they leave behind.
        ("Dose is 100 mg [S9].", "Dose is 100 mg.", [], ["S9"]),
        ("Dose is 4 mg [S1, S9].", "Dose is 4 mg [S1].", ["S1"], ["S9"]),
        ("Dose is 4 mg [S9][S1].", "Dose is 4 mg [S1].", ["S1"], ["S9"]),
        ("A [S7]. B [S8]. C [S7].", "A. B. C.", [], ["S7", "S8"]),
        ("Dose is 4 mg [S4-S5].", "Dose is 4 mg.", [], ["S4", "S5"]),
        ("Dose is 4 mg [S0].", "Dose is 4 mg.", [], ["S0"]),
        # Duplicates are reported once and collapsed inside one citation.
        ("A [S1]. B [S1].", "A [S1]. B [S1].", ["S1"], []),
        ("A [S1][S1].", "A [S1].", ["S1"], []),
        ("A [S1, S1, S2].", "A [S1][S2].", ["S1", "S2"], []),
        ("A [S2]. B [S1]. C [S2].", "A [S2]. B [S1]. C [S2].", ["S2", "S1"], []),
        # Things that only look like citations stay as they are.
        ("Stage [II] disease.", "Stage [II] disease.", [], []),
        ("See section 5 (Warnings).", "See section 5 (Warnings).", [], []),
        ("Grade S1 is not a key.", "Grade S1 is not a key.", [], []),
        ("Dose (4 mg) daily [S1].", "Dose (4 mg) daily [S1].", ["S1"], []),
    ],
)
def test_parse_citations(raw: str, text: str, keys: list[str], dropped: list[str]) -> None:
    cited = parse_citations(raw, VALID)
    assert cited.text == text
    assert cited.keys == keys
    assert cited.dropped == dropped


def test_valid_keys_are_normalised_too() -> None:
    cited = parse_citations("Dose [S1] and [S2].", ["s1", " S2 "])
    assert cited.keys == ["S1", "S2"]
    assert cited.dropped == []


def test_no_valid_keys_drops_every_citation() -> None:
    cited = parse_citations("Dose [S1], [S2].", [])
    assert cited.keys == []
    assert cited.dropped == ["S1", "S2"]
    assert "[" not in cited.text


@pytest.mark.parametrize(
    ("raw", "statements"),
    [
        ("", []),
        ("One sentence [S1].", [("One sentence.", ["S1"])]),
        ("No keys here.", [("No keys here.", [])]),
        ("A is 4 mg [S1]. B is 3 mg [S2].", [("A is 4 mg.", ["S1"]), ("B is 3 mg.", ["S2"])]),
        # A citation after the full stop belongs to the sentence before it.
        ("A is 4 mg. [S1] B is 3 mg. [S2]", [("A is 4 mg.", ["S1"]), ("B is 3 mg.", ["S2"])]),
        ("A [S1][S2]. B.", [("A.", ["S1", "S2"]), ("B.", [])]),
        ("Use 1.5 mg [S1]. Then stop [S2].", [("Use 1.5 mg.", ["S1"]), ("Then stop.", ["S2"])]),
        # Lists: one statement per item, bullets and numbers removed.
        (
            "Doses:\n- 4 mg daily [S1]\n- 3 mg if needed [S2]",
            [("Doses:", []), ("4 mg daily", ["S1"]), ("3 mg if needed", ["S2"])],
        ),
        (
            "1. Take 4 mg [S1].\n2. Reduce to 3 mg [S2].",
            [("Take 4 mg.", ["S1"]), ("Reduce to 3 mg.", ["S2"])],
        ),
        ("* first [S1]\n* second [S3]", [("first", ["S1"]), ("second", ["S3"])]),
        ("• first [S1]", [("first", ["S1"])]),
        # A citation on a line of its own supports the line before.
        ("Take 4 mg daily.\n[S1]", [("Take 4 mg daily.", ["S1"])]),
        ("[S1]", []),
        ("A sentence without an end [S2]", [("A sentence without an end", ["S2"])]),
        ("Question? Answer [S1]! Done.", [("Question?", []), ("Answer!", ["S1"]), ("Done.", [])]),
    ],
)
def test_statements(raw: str, statements: list[tuple[str, list[str]]]) -> None:
    cited = parse_citations(raw, VALID)
    assert [(s.text, s.keys) for s in cited.statements] == statements


def test_statements_keep_only_valid_keys() -> None:
    cited = parse_citations("A is 4 mg [S1, S9]. B [S9].", VALID)
    assert [(s.text, s.keys) for s in cited.statements] == [("A is 4 mg.", ["S1"]), ("B.", [])]


def test_every_statement_key_is_a_used_key() -> None:
    raw = "A [S2]. B (S1, S3).\n- c 【S3】\n- d [S5]"
    cited = parse_citations(raw, VALID)
    used = {key for s in cited.statements for key in s.keys}
    assert used == set(cited.keys) == {"S1", "S2", "S3"}


def test_clean_citations_keeps_surrounding_whitespace() -> None:
    text, used, dropped = clean_citations(" Take 4 mg (S1). ", VALID)
    assert text.startswith(" Take 4 mg [S1].")
    assert (used, dropped) == (["S1"], [])


def test_cleaning_pieces_matches_cleaning_the_whole() -> None:
    pieces = ["Take 4 mg daily [S1, S9].", " Reduce to 3 mg (S2).", "\n- stop [S3]"]
    whole = parse_citations("".join(pieces), VALID).text
    joined = "".join(clean_citations(p, VALID)[0] for p in pieces).strip()
    assert joined == whole


def test_split_statements_on_normalised_text() -> None:
    statements = split_statements("A [S1]. B [S2][S3].")
    assert [(s.text, s.keys) for s in statements] == [("A.", ["S1"]), ("B.", ["S2", "S3"])]


@pytest.mark.parametrize(
    ("raw", "bare"),
    [
        ("Take 4 mg [S1].", "Take 4 mg."),
        ("Take (S1, S2) it", "Take it"),
        ("none", "none"),
    ],
)
def test_strip_citations(raw: str, bare: str) -> None:
    assert strip_citations(raw) == bare
