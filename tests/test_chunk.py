"""Chunking against the real tokenizer: chunks fit the window and split on boundaries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monorag.embed import Embedder
from monorag.ingest.chunk import chunk_monograph, chunk_rev, split_text
from monorag.ingest.parse import is_monograph_file, parse_bytes, parse_file
from monorag.text import blocks, sentences
from monorag.types import FAQ_SECTION, SEP, Chunk, Monograph

SEED = Path(__file__).resolve().parent.parent / "corpus" / "pomalidomide.md"
WINDOW = 256


def parse(body: str, title: str = "Testamab") -> Monograph:
    data = f"---\ntitle: {title}\nlastModified: '2024-05-01'\n---\n{body}".encode()
    return parse_bytes(data, path=Path("/corpus/testamab.md"))


def chunk(embedder: Embedder, mono: Monograph, max_tokens: int = WINDOW) -> list[Chunk]:
    return chunk_monograph(mono, embedder.count_tokens_many, max_tokens)


def assert_fits(embedder: Embedder, chunks: list[Chunk], max_tokens: int = WINDOW) -> None:
    for c in chunks:
        n = embedder.count_tokens(c.embed_text)
        assert n <= max_tokens, f"{c.name}: {n} word pieces"
        assert c.text.strip(), f"{c.name}: empty chunk"


def words_of(chunks: list[Chunk], section: str, source: str | None = None) -> list[str]:
    """The section's words as its chunks hold them; with the section's ``source`` text,
    without the list lead-in a chunk repeats when it starts inside that list (dropped
    only where the chunk's words follow on from the ones before without it)."""
    out: list[str] = []
    expected = source.split() if source is not None else None
    for c in (c for c in chunks if c.section == section):
        words = c.text.split()
        rest = c.text.partition("\n\n")[2]
        if expected is not None and rest and expected[len(out) : len(out) + len(words)] != words:
            words = rest.split()
        out.extend(words)
    return out


def test_window_is_the_models(embedder: Embedder) -> None:
    assert embedder.max_tokens == WINDOW


def test_seed_chunks(embedder: Embedder) -> None:
    mono = parse_file(SEED, SEED.parent)
    chunks = chunk(embedder, mono)
    assert_fits(embedder, chunks)
    leaves = [s for s in mono.all_sections() if s.text]
    sections = [c for c in chunks if c.kind == "section"]
    faqs = [c for c in chunks if c.kind == "faq"]
    # Every section with text, in order, its words all there; one chunk per FAQ pair.
    order = list(dict.fromkeys(c.section for c in sections))
    assert order == [s.heading for s in leaves]
    for leaf in leaves:
        assert words_of(chunks, leaf.heading, leaf.text) == leaf.text.split()
    short = [
        s
        for s in leaves
        if embedder.count_tokens(f"{mono.title}{SEP}{s.heading}\n{s.text}") <= WINDOW
    ]
    assert len(short) > len(leaves) / 2
    for leaf in short:
        assert [c.text for c in sections if c.section == leaf.heading] == [leaf.text]
    assert len(faqs) == len(mono.faqs) == 10
    for c, faq in zip(faqs, mono.faqs, strict=True):
        assert c.section == f"{FAQ_SECTION}{SEP}{faq.question}"
        assert c.text == f"Q: {faq.question}\nA: {faq.answer}"
    assert chunks.index(faqs[0]) == len(sections), "FAQ pairs come last"
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)
    rev = chunk_rev(mono.sha256)
    for c in chunks:
        assert c.rev == rev and f"-{rev}-" in c.id
        assert c.doc == mono.key and c.source == "pomalidomide.md"
        assert c.drug == mono.title and c.aliases == tuple(mono.aliases)
        assert c.embed_text.startswith(f"{mono.title}{SEP}{c.section}\n")
    adults = next(c for c in chunks if c.section.endswith(f"Standard Dosage{SEP}Adults"))
    assert adults.name == f"Pomalidomide{SEP}Dosage{SEP}Standard Dosage{SEP}Adults"


def test_ids_change_with_content_only(embedder: Embedder) -> None:
    a = chunk(embedder, parse("## A\n\nOne.\n\n## B\n\nTwo.\n"))
    b = chunk(embedder, parse("## A\n\nOne.\n\n## B\n\nTwo.\n"))
    c = chunk(embedder, parse("## A\n\nOne.\n\n## B\n\nTwo!\n"))
    assert [x.id for x in a] == [x.id for x in b]
    assert {x.id for x in a}.isdisjoint({x.id for x in c})
    assert a[0].content_hash == c[0].content_hash
    assert a[1].content_hash != c[1].content_hash


def test_long_section_splits_on_paragraphs(embedder: Embedder) -> None:
    paragraphs = [
        f"Paragraph {i} says the dose for group {i} is {i} mg once daily with food. "
        f"It is reduced to {i / 2} mg in hepatic impairment and stopped in pregnancy."
        for i in range(40)
    ]
    mono = parse("## Dosage\n\n" + "\n\n".join(paragraphs) + "\n")
    chunks = chunk(embedder, mono)
    assert len(chunks) > 3
    assert_fits(embedder, chunks)
    assert all(c.section == "Dosage" for c in chunks)
    # Every chunk is a run of whole paragraphs, in order, nothing lost or repeated.
    rebuilt = [p for c in chunks for p in c.text.split("\n\n")]
    assert rebuilt == paragraphs


def test_long_paragraph_splits_on_sentences(embedder: Embedder) -> None:
    sents = [
        f"Sentence {i} mentions e.g. CYP3A4 inhibitors and dose number {i} for adults."
        for i in range(60)
    ]
    mono = parse("## Interactions\n\n" + " ".join(sents) + "\n")
    chunks = chunk(embedder, mono)
    assert len(chunks) > 2
    assert_fits(embedder, chunks)
    for c in chunks:
        assert re.match(r"Sentence \d+ ", c.text) and c.text.endswith("adults.")
    assert words_of(chunks, "Interactions") == " ".join(sents).split()


def test_endless_sentence_splits_on_words(embedder: Embedder) -> None:
    words = [f"term{i}" for i in range(1500)]
    mono = parse("## Composition\n\n" + " ".join(words) + "\n")
    chunks = chunk(embedder, mono)
    assert len(chunks) > 5
    assert_fits(embedder, chunks)
    assert words_of(chunks, "Composition") == words


def test_long_list_splits_on_items(embedder: Embedder) -> None:
    items = [
        f"* **Item {i}:** avoid combining with drug number {i}; monitor the INR weekly."
        for i in range(120)
    ]
    mono = parse("## Interactions\n\nIntro line.\n\n" + "\n".join(items) + "\n")
    chunks = chunk(embedder, mono)
    assert len(chunks) > 3
    assert_fits(embedder, chunks)
    lines = [line for c in chunks for line in c.text.split("\n") if line]
    assert lines == ["Intro line.", *(i.replace("**", "") for i in items)]
    for c in chunks[1:]:
        assert c.text.startswith("* Item "), "a chunk starts at an item boundary"


def test_unbroken_punctuated_run_is_cut_without_loss(embedder: Embedder) -> None:
    # No spaces but a word piece per character: no sentence or word boundary to use.
    blob = ",".join(str(i) for i in range(1200))
    mono = parse(f"## Table\n\n{blob}\n")
    chunks = chunk(embedder, mono)
    assert len(chunks) > 5
    assert_fits(embedder, chunks)
    assert "".join("".join(c.text.split()) for c in chunks) == blob


def test_long_faq_answer_is_split(embedder: Embedder) -> None:
    answer = " ".join(f"Point {i} of a very long answer about renal dosing." for i in range(80))
    front = f"title: Testamab\nfaqs:\n  - q: 'What about kidneys?'\n    a: '{answer}'"
    data = f"---\n{front}\n---\n## Usage\n\nText.\n".encode()
    mono = parse_bytes(data, path="/corpus/testamab.md")
    chunks = chunk(embedder, mono)
    faqs = [c for c in chunks if c.kind == "faq"]
    assert len(faqs) > 1
    assert_fits(embedder, chunks)
    assert {c.section for c in faqs} == {f"{FAQ_SECTION}{SEP}What about kidneys?"}


@pytest.mark.parametrize("max_tokens", [48, 96])
def test_smaller_windows_are_respected(embedder: Embedder, max_tokens: int) -> None:
    chunks = chunk(embedder, parse_file(SEED, SEED.parent), max_tokens)
    assert_fits(embedder, chunks, max_tokens)
    mono = parse_file(SEED, SEED.parent)
    for section in (s for s in mono.all_sections() if s.text):
        assert words_of(chunks, section.heading, section.text) == section.text.split()


def test_heading_that_fills_the_window_is_refused(embedder: Embedder) -> None:
    with pytest.raises(ValueError, match="alone nearly fills the 48-token window"):
        split_text("Drug › " + "word " * 60, "text", embedder.count_tokens_many, 48)


def test_overlong_heading_is_shortened_and_kept_as_text(embedder: Embedder) -> None:
    heading = "This paragraph was marked as a heading by mistake " * 20
    mono = parse(f"## {heading}\n\nbody.\n")
    assert any("characters long: shortened" in w for w in mono.warnings)
    chunks = chunk(embedder, mono)
    assert_fits(embedder, chunks)
    assert len(chunks[0].section) < 130 and chunks[0].section.endswith("…")
    assert " ".join(c.text for c in chunks).split() == (heading + " body.").split()


def test_blocks_and_sentences() -> None:
    text = "First para\ncontinues.\n\n- item one\n- item two\n  wrapped\n1. numbered"
    assert blocks(text) == [
        "First para continues.",
        "- item one",
        "- item two wrapped",
        "1. numbered",
    ]
    assert sentences("Take it e.g. daily. Then stop! Why? 5 mg.") == [
        "Take it e.g. daily.",
        "Then stop!",
        "Why?",
        "5 mg.",
    ]


def test_ema_sample_fits_the_window(embedder: Embedder, ema_dir: Path) -> None:
    files = sorted(f for f in ema_dir.glob("*.md") if is_monograph_file(f))[::40]
    assert len(files) >= 20
    for file in files:
        mono = parse_file(file, ema_dir)
        chunks = chunk(embedder, mono)
        counts = embedder.count_tokens_many([c.embed_text for c in chunks])
        assert max(counts) <= WINDOW, file
        for section in (s for s in mono.all_sections() if s.text):
            assert words_of(chunks, section.heading, section.text) == section.text.split(), (
                file,
                section,
            )


def test_a_chunk_that_starts_inside_a_list_repeats_its_lead_in(embedder: Embedder) -> None:
    """An item cut from its list ("if you are taking drug 40.") keeps the line that makes
    it a contraindication; paragraphs and items stay apart as in the section."""
    items = [f"if you are taking drug number {i} for a condition of the heart." for i in range(60)]
    mono = parse("## Before You Take It\n\nDo not take Testamab\n\n" + "\n\n".join(items) + "\n")
    chunks = chunk(embedder, mono)
    assert len(chunks) > 2
    assert_fits(embedder, chunks)
    for c in chunks:
        assert c.text.startswith("Do not take Testamab\n\nif you are taking"), c.text[:60]
    text = mono.sections[0].text
    assert words_of(chunks, "Before You Take It", text) == text.split()


def test_a_marker_alone_on_its_line_makes_the_next_paragraph_an_item() -> None:
    assert blocks("Do not take it:\n\n*\n\nif you are allergic.\n\n*\n\nif pregnant.") == [
        "Do not take it:",
        "* if you are allergic.",
        "* if pregnant.",
    ]
