"""docs/monograph-format.md tells the truth: its example ingests, its messages are the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monorag.embed import Embedder
from monorag.errors import ParseError
from monorag.ingest.parse import parse_bytes
from monorag.ui.present import format_date
from tests.conftest import PROJECT, make_settings

DOC = PROJECT / "docs" / "monograph-format.md"


def example() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"## A minimal valid monograph\n\n```markdown\n(.*?)\n```", text, re.S)
    assert match, "the example block is missing from docs/monograph-format.md"
    return match.group(1) + "\n"


def test_the_minimal_example_parses_as_documented() -> None:
    mono = parse_bytes(example().encode(), path="/docs/examplamide.md")
    assert mono.warnings == []
    assert mono.title == "Examplamide"
    assert mono.aliases == ["Examplamide", "Exampla", "Examplex"]
    assert [s.heading for s in mono.all_sections() if s.text] == [
        "Alternate Names",
        "Dosage › Adults",
        "Side Effects",
    ]
    assert [f.question for f in mono.faqs] == ["What is the usual adult dose of Examplamide?"]
    assert format_date(mono.last_modified) == "15 Jan 2025"


@pytest.mark.slow
def test_the_minimal_example_ingests_and_answers(tmp_path: Path, embedder: Embedder) -> None:
    from monorag.ingest.pipeline import ingest
    from monorag.qa.engine import Engine

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "examplamide.md").write_text(example(), encoding="utf-8")
    settings = make_settings(tmp_path / "store")
    report = ingest([corpus], settings, embedder)
    assert report.ok and report.warnings == [], (report.failed, report.warnings)
    assert report.monographs_total == 1 and report.chunks_total == 4
    answer = Engine(settings, embedder).ask("What is the adult dose of Exampla?")
    assert not answer.abstained, answer.note
    assert "10 mg" in answer.text
    assert {c.drug for c in answer.citations} == {"Examplamide"}


def documented_reasons() -> list[str]:
    """The backticked reasons of the rejection table (``…`` marks a variable part)."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## What is rejected, and why", 1)[1].split("\n\n", 3)[2]
    reasons = re.findall(r"^\|[^|]+\| `(.+)` \|$", table, re.M)
    assert len(reasons) >= 10, table
    return reasons


BROKEN = {
    "empty.md": b"",
    "utf16.md": b"\xff\xfe-\x00-\x00-\x00",
    "binary.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "latin1.md": b"---\ntitle: Caf\xe9\n---\n## D\n\nt\n",
    "plain.md": b"## Dosage\n\n10 mg\n",
    "unclosed.md": b"---\ntitle: X\n## Dosage\n",
    "yaml.md": b"---\ntitle: A: B\n---\n## D\n\nt\n",
    "list.md": b"---\n- a\n- b\n---\n## D\n\nt\n",
    "title.md": b"---\ntitle: " + b"very long " * 30 + b"\n---\n## D\n\nt\n",
    "nothing.md": b"---\ntitle: X\n---\n",
    "large.md": b"---\ntitle: X\n---\n## D\n\n" + b"word " * 400,
    "leaflet.pdf": b"%PDF-1.7\n",
}


def test_every_documented_rejection_is_what_ingest_says(tmp_path: Path) -> None:
    from monorag.ingest.parse import parse_file
    from monorag.ingest.pipeline import ONLY_MONOGRAPHS

    reasons = []
    for name, data in BROKEN.items():
        (tmp_path / name).write_bytes(data)
        try:
            parse_file(tmp_path / name, max_bytes=1_000 if name == "large.md" else 5_000_000)
        except ParseError as exc:
            reasons.append(exc.reason)
    reasons.append(f"not a monograph ({ONLY_MONOGRAPHS})")  # what ingest says of leaflet.pdf
    for documented in documented_reasons():
        pattern = ".+".join(re.escape(part) for part in documented.split("…"))
        assert any(re.fullmatch(pattern, r) for r in reasons), (documented, reasons)
