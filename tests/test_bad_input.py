"""Bad monograph files (issue 7): a clear error or warning naming the file; nothing else lost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from monorag.embed import Embedder
from monorag.errors import ParseError
from monorag.index.store import Store, current_chunks
from monorag.ingest.chunk import chunk_monograph
from monorag.ingest.parse import parse_file
from monorag.ingest.pipeline import ingest
from monorag.settings import Settings

SEED = Path(__file__).resolve().parent.parent / "corpus" / "pomalidomide.md"
GOOD_BODY = "## Usage\n\nUsed for testing.\n"


def fm(front: str, body: str = GOOD_BODY) -> bytes:
    return f"---\n{front}\n---\n{body}".encode()


@dataclass(frozen=True)
class Bad:
    """A file that must be refused, and words its reason must contain."""

    name: str
    data: bytes
    reason: tuple[str, ...]


BAD = [
    Bad("no-front-matter.md", b"# Drug\n\nSome text.\n", ("missing YAML front matter",)),
    Bad("bad-yaml.md", fm("title: Drug: X\ndescription: y"), ("not valid YAML", "line 2")),
    Bad("tab-yaml.md", fm("title: X\n\tdescription: y"), ("not valid YAML", "line 3", "tab")),
    Bad("unclosed.md", b"---\ntitle: X\n## Usage\n\ntext\n", ("not closed",)),
    Bad("list-front.md", fm("- title\n- X"), ("front matter is a list", "not a mapping")),
    Bad("scalar-front.md", fm("just some words"), ("front matter is plain text",)),
    Bad("number-front.md", fm("42"), ("front matter is a number",)),
    Bad("python-tag.md", fm("title: !!python/object/apply:os.system [ls]"), ("not valid YAML",)),
    Bad("empty.md", b"", ("file is empty",)),
    Bad("blank.md", b"  \n\n\t\n", ("file is empty",)),
    Bad("front-only.md", fm("title: X", ""), ("nothing to index",)),
    Bad("headings-only.md", fm("title: X", "## A\n\n## B\n"), ("nothing to index",)),
    Bad("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01", ("binary",)),
    Bad("utf16.md", fm("title: X").decode().encode("utf-16"), ("UTF-16", "UTF-8")),
    Bad(
        "latin1.md",
        fm("title: Caf\u00e9", "## Usage\n\nna\u00efve\n").decode().encode("latin-1"),
        ("not valid UTF-8", "0xe9", "line 2"),
    ),
    Bad("long-title.md", fm("title: " + "Name " * 100), ("title is", "characters long")),
]


@dataclass(frozen=True)
class Odd:
    """A file that is indexed, with a warning containing ``warning``."""

    name: str
    data: bytes
    warning: str


ODD = [
    Odd(
        "no-title-drug.md", fm("description: d"), "no title in front matter: using 'No Title Drug'"
    ),
    Odd("empty-front.md", b"---\n---\n" + GOOD_BODY.encode(), "no title in front matter"),
    Odd("title-list.md", fm("title: [a, b]"), "no title in front matter"),
    Odd(
        "empty-heading.md",
        fm("title: Emptyhead", "## Usage\n\nfirst\n\n## **  **\n\nsecond\n\n###\n\nthird\n"),
        "heading has no text",
    ),
    Odd(
        "faq-missing.md",
        fm("title: Faqmissing\nfaqs:\n  - q: Only a question?\n  - a: Only an answer.\n"),
        "faqs[1] has no 'a': skipped",
    ),
    Odd("faq-not-list.md", fm("title: Faqdict\nfaqs: {q: a}"), "'faqs' is not a list"),
    Odd(
        "faq-body-missing.md",
        fm("title: Faqbody", GOOD_BODY + "\n## FAQs\n\n### Is it safe?\n\n### Dose?\n5 mg.\n"),
        "FAQ question 'Is it safe?' has no answer",
    ),
    Odd(
        "html.md",
        fm(
            "title: Htmldrug",
            "## Usage\n\n<p>Take <b>one</b> tablet.</p><script>alert('x')</script>\n"
            "<!-- reviewer note -->\n<style>p {color: red}</style>\n",
        ),
        "HTML tags removed",
    ),
    Odd(
        "long-heading.md",
        fm("title: Longhead", "## " + "A paragraph typed as a heading " * 10 + "\n\nText.\n"),
        "characters long: shortened",
    ),
]


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_bad_file_is_refused_with_its_name_and_reason(tmp_path: Path, bad: Bad) -> None:
    path = write(tmp_path, bad.name, bad.data)
    with pytest.raises(ParseError) as info:
        parse_file(path, tmp_path)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: ")
    for word in bad.reason:
        assert word in info.value.reason, info.value.reason


@pytest.mark.parametrize("odd", ODD, ids=[o.name for o in ODD])
def test_odd_file_is_indexed_with_a_warning(tmp_path: Path, odd: Odd) -> None:
    mono = parse_file(write(tmp_path, odd.name, odd.data), tmp_path)
    assert any(odd.warning in w for w in mono.warnings), mono.warnings
    assert any(s.text for s in mono.all_sections())


def test_html_is_stripped_with_its_script(tmp_path: Path) -> None:
    odd = next(o for o in ODD if o.name == "html.md")
    mono = parse_file(write(tmp_path, odd.name, odd.data), tmp_path)
    text = mono.sections[0].text
    assert "Take one tablet." in text
    for gone in ("<", ">", "alert", "reviewer note", "color"):
        assert gone not in text


def test_comparisons_are_not_mistaken_for_tags(tmp_path: Path) -> None:
    body = (
        "## Monitoring\n\nStop if ALT <ULN and >3 x baseline, or platelets <LLN or >ULN.\n"
        "Grade <I or >IV. Dose <5 mg and >2 mg.\n\n## Notes\n\n<B>Bold</B> and <br/> gone.\n"
    )
    mono = parse_file(write(tmp_path, "cmp.md", fm("title: Cmp", body)), tmp_path)
    monitoring, notes = (s.text for s in mono.sections)
    assert "ALT <ULN and >3 x baseline" in monitoring and "<LLN or >ULN" in monitoring
    assert "Grade <I or >IV." in monitoring and "<5 mg and >2 mg" in monitoring
    assert notes.split() == ["Bold", "and", "gone."]
    assert "HTML tags removed from the text" in mono.warnings


def test_empty_headings_keep_their_text(tmp_path: Path) -> None:
    odd = next(o for o in ODD if o.name == "empty-heading.md")
    mono = parse_file(write(tmp_path, odd.name, odd.data), tmp_path)
    assert [s.title for s in mono.all_sections()] == ["Usage"]
    assert mono.sections[0].text.split() == ["first", "second", "third"]
    assert sum("heading has no text" in w for w in mono.warnings) == 2


def test_faq_entries_without_q_or_a_are_skipped(tmp_path: Path) -> None:
    front = (
        "title: Faqs\nfaqs:\n  - q: Good one?\n    a: Yes.\n  - q: No answer?\n"
        "  - a: No question.\n  - just text\n  - q: ''\n    a: ''\n"
    )
    mono = parse_file(write(tmp_path, "faqs.md", fm(front)), tmp_path)
    assert [(f.question, f.answer) for f in mono.faqs] == [("Good one?", "Yes.")]
    assert "faqs[2] has no 'a': skipped" in mono.warnings
    assert "faqs[3] has no 'q': skipped" in mono.warnings
    assert "faqs[4] is not a mapping with 'q' and 'a': skipped" in mono.warnings


def test_twenty_megabyte_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    with path.open("wb") as out:
        out.write(b"---\ntitle: Huge\n---\n## Usage\n\n")
        line = b"All work and no play makes a very long monograph indeed. " * 16 + b"\n"
        while out.tell() < 20_000_000:
            out.write(line)
    with pytest.raises(ParseError) as info:
        parse_file(path, tmp_path)
    assert info.value.path == str(path)
    assert "over the 5,000,000-byte limit" in info.value.reason
    assert f"{path.stat().st_size:,} bytes" in info.value.reason


def test_mixed_corpus_ingests_the_good_files_completely(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    corpus = tmp_path / "mixed"
    corpus.mkdir()
    seed = SEED.read_text(encoding="utf-8")
    good: list[Path] = []
    for i in range(3):
        text = seed.replace("title: Pomalidomide", f"title: Goodamide {i}", 1)
        good.append(write(corpus, f"good-{i}.md", text.encode()))
    # Two files with one title: both indexed, with a warning.
    good.append(write(corpus, "twin-a.md", fm("title: Twinamide", "## Usage\n\nA.\n")))
    good.append(write(corpus, "twin-b.md", fm("title: Twinamide", "## Usage\n\nB.\n")))
    bad = {write(corpus, b.name, b.data): b for b in BAD}
    odd = {write(corpus, o.name, o.data): o for o in ODD}
    huge = corpus / "huge.md"
    huge.write_bytes(b"---\ntitle: Huge\n---\n## A\n\n" + b"x " * 10_000_000)

    report = ingest([corpus], settings, embedder)

    failed = {f.path: f.reason for f in report.failed}
    assert set(failed) == {str(p.resolve()) for p in [*bad, huge]}
    for path, b in bad.items():
        assert all(word in failed[str(path.resolve())] for word in b.reason)
    assert "byte limit" in failed[str(huge.resolve())]

    indexed = [*good, *odd]
    assert sorted(report.indexed) == sorted(str(p.resolve()) for p in indexed)
    for path, o in odd.items():
        assert any(w.startswith(f"{path.resolve()}: ") and o.warning in w for w in report.warnings)
    twins = [w for w in report.warnings if "also the title of" in w]
    assert len(twins) == 1 and "twin-" in twins[0]

    store = Store.open(settings.store)
    files = store.files()
    chunks = current_chunks(store, files)
    assert len(chunks) == store.count() == report.chunks_total
    for path in indexed:
        mono = parse_file(path, corpus)
        expected = chunk_monograph(mono, embedder.count_tokens_many, 256)
        got = [c for c in chunks if c.doc == mono.key]
        assert [c.id for c in got] == [c.id for c in expected], path
        assert [c.text for c in got] == [c.text for c in expected], path
        assert files[mono.key].chunks == len(expected)
    seeds = [c for c in chunks if c.drug.startswith("Goodamide")]
    assert sum(c.kind == "faq" for c in seeds) == 30
