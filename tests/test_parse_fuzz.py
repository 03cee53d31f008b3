"""Property tests of the parser (and chunker) on random front matter and markdown (issue 7).

Whatever the bytes, ``parse_bytes`` returns a well-formed ``Monograph`` or raises a
``ParseError`` naming the file; never anything else.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monorag.errors import ParseError
from monorag.ingest.chunk import chunk_monograph
from monorag.ingest.parse import parse_bytes
from monorag.types import Monograph

PATH = Path("/fuzz/corpus/fuzzed-drug.md")
FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)

# -- strategies ----------------------------------------------------------------------------

words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=30
)
plain = st.text(alphabet="abcdefghij klmnop?.,:;*#-_<>/!0123456789®™\t", min_size=0, max_size=40)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    words,
    plain,
    st.dates(),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(plain, inner, max_size=4),
    max_leaves=12,
)
faq_items = st.one_of(
    st.fixed_dictionaries({}, optional={"q": values, "a": values}),
    st.fixed_dictionaries({"q": plain, "a": plain}),
    values,
)
meta = st.fixed_dictionaries(
    {},
    optional={
        "title": values,
        "description": values,
        "lastModified": values,
        "last_modified": values,
        "faqs": st.one_of(st.lists(faq_items, max_size=5), values),
        "is_banned": values,
    },
)


@st.composite
def front_matter(draw: st.DrawFn) -> str:
    """Valid YAML of a mapping, valid YAML of anything, or arbitrary text."""
    kind = draw(st.sampled_from(["mapping", "any", "text", "none"]))
    if kind == "mapping":
        return yaml.safe_dump(draw(meta), allow_unicode=draw(st.booleans()))
    if kind == "any":
        return yaml.safe_dump(draw(values))
    if kind == "text":
        return "\n".join(draw(st.lists(st.one_of(plain, words), max_size=6)))
    return ""


line = st.one_of(
    st.builds(lambda h, t: f"{'#' * h} {t}", st.integers(1, 7), plain),
    st.builds(lambda t: f"## **{t}**", plain),
    st.builds(lambda t: f"### **Q1: {t}?**", plain),
    st.builds(lambda t: f"**A:** {t}", plain),
    st.sampled_from(
        [
            "## FAQs",
            "## Frequently Asked Questions",
            "## Alternate Names",
            "Brand names include Foo® and Bar™.",
            "```",
            "~~~",
            "---",
            "",
            "* item",
            "1. first",
            "<script>x()</script>",
            "<b>bold</b>",
            "<!-- c -->",
            "Q: why?",
            "A: because.",
            "The active substance is examplumab.",
        ]
    ),
    plain,
    words,
)
markdown = st.lists(line, max_size=25).map("\n".join)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """Monograph-like bytes: mostly well-delimited, sometimes broken in every way."""
    shape = draw(st.sampled_from(["normal", "normal", "normal", "unclosed", "no-front", "bytes"]))
    if shape == "bytes":
        return draw(st.binary(max_size=300))
    body = draw(markdown)
    if shape == "no-front":
        text = body
    elif shape == "unclosed":
        text = f"---\n{draw(front_matter())}\n{body}"
    else:
        text = f"---\n{draw(front_matter())}\n---\n{body}"
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    data = text.replace("\n", newline).encode("utf-8")
    if draw(st.booleans()) and draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


# -- properties ------------------------------------------------------------------------------


def parsed_or_refused(data: bytes) -> Monograph | None:
    try:
        return parse_bytes(data, path=PATH)
    except ParseError as exc:
        assert exc.path == str(PATH)
        assert str(exc).startswith(f"{PATH}: ") and exc.reason.strip()
        return None


def _count(texts: list[str] | tuple[str, ...]) -> list[int]:
    # Like a BERT tokenizer's lower bound: each word and each punctuation mark is a piece.
    return [len(re.findall(r"\w+|[^\w\s]", t)) + 2 for t in texts]


@FUZZ
@given(documents())
@example(b"---\n- a\n---\n## A\n\ntext\n")
@example(b"---\n---\n---\n")
@example(b"---\ntitle: x\n")
@example("---\ntitle: é\n---\n## A\n\ntext\n".encode("latin-1"))
@example(b"---\ntitle: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n---\n## A\n\nx\n")
def test_parser_returns_a_monograph_or_a_parse_error(data: bytes) -> None:
    mono = parsed_or_refused(data)
    if mono is None:
        return
    assert mono.title and mono.title == " ".join(mono.title.split())
    for alias in mono.aliases:
        assert alias.strip() and "®" not in alias and "™" not in alias
    assert mono.source == PATH.name and len(mono.sha256) == 64
    assert isinstance(mono.last_modified, str) and isinstance(mono.description, str)
    assert any(s.text for s in mono.all_sections()) or mono.faqs
    for section in mono.all_sections():
        assert section.path and all(part.strip() for part in section.path)
        assert section.path[-1] == section.title and 1 <= section.level <= 6
    for faq in mono.faqs:
        assert faq.question.strip() and faq.answer.strip()
        assert "**" not in faq.question and "**" not in faq.answer
    for text in [s.text for s in mono.all_sections()] + [f.answer for f in mono.faqs]:
        assert "<script" not in text.lower()


@FUZZ
@given(documents(), st.sampled_from([24, 40, 256]))
def test_chunker_fits_every_parsed_monograph(data: bytes, max_tokens: int) -> None:
    mono = parsed_or_refused(data)
    if mono is None:
        return
    try:
        chunks = chunk_monograph(mono, _count, max_tokens)
    except ValueError as exc:
        # Only a heading path too long for the window is refused, and it says so.
        assert "alone nearly fills" in str(exc)
        return
    assert chunks
    for c in chunks:
        assert c.text.strip()
        assert _count([c.embed_text])[0] <= max_tokens
    for heading in {s.heading for s in mono.all_sections()}:
        # Nothing is lost or repeated (two sections may share a heading), but for the list
        # lead-in a chunk repeats when it starts inside that list.
        want = "".join("".join(s.text for s in mono.all_sections() if s.heading == heading).split())
        got = ""
        for c in (c for c in chunks if c.section == heading and c.kind == "section"):
            whole = "".join(c.text.split())
            if not want.startswith(got + whole):
                whole = "".join(c.text.partition("\n\n")[2].split())
            got += whole
        assert got == want, heading


def test_dates_and_numbers_in_front_matter() -> None:
    data = yaml.safe_dump({"title": 123, "lastModified": dt.date(2024, 1, 2)})
    mono = parse_bytes(f"---\n{data}---\n## A\n\nx\n".encode(), path=PATH)
    assert mono.title == "123" and mono.last_modified == "2024-01-02"
