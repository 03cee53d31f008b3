"""Parse a monograph file (YAML front matter + markdown body) into a ``Monograph``.

Real files are parsed as they are: the seed's front-matter FAQs carry the answer inside the
question (``question?**\\n\\n**A:** answer``) and answers that start with ``A:**``; the
body repeats the same pairs under a FAQ heading. Both yield one clean list of pairs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from monorag.errors import ParseError
from monorag.ingest.acronyms import defined_in
from monorag.text import clean_heading, normalise_question, squash, strip_markup, tidy_lines
from monorag.types import FAQ, Monograph, Section

MAX_FILE_BYTES = 5_000_000

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$")
_EMPTY_HEADING = re.compile(r"^(#{1,6})[ \t]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_FAQ_TITLE = re.compile(r"^(faqs?\b|frequently asked questions)", re.IGNORECASE)
_QUESTION_PREFIX = re.compile(r"^\s*(?:Q\s*\d*\s*[:.)-]|Question\s*\d*\s*[:.)-])\s*", re.IGNORECASE)
_ANSWER_PREFIX = re.compile(r"^\s*(?:\*\*)?\s*A(?:nswer)?\s*:\s*(?:\*\*)?\s*", re.IGNORECASE)
_INLINE_ANSWER = re.compile(r"\**\s*\n\s*\n?\s*\**\s*A\s*:\s*\**", re.IGNORECASE)
_ALIAS_TITLE = re.compile(
    r"alternate names?|alternative names?|other names?|brand names?|trade names?|"
    r"also known|synonyms?|proprietary names?",
    re.IGNORECASE,
)
_MARKED_NAME = re.compile(r"([A-Z][\w-]*(?:[ -][A-Z][\w-]*)?)\s*[®™]")
_NAME_LIST = re.compile(
    r"(?:brand names?|trade names?|marketed as|sold as|known as)\s*"
    r"(?:include|includes|are|is|:)?\s*([^.;\n]+)",
    re.IGNORECASE,
)
_INN = re.compile(r"\(INN\)\s*([a-z][a-z0-9 -]{2,40}?)(?=[.,;\n]|$)", re.IGNORECASE)
_ACTIVE_LIST = re.compile(
    r"(?i:\bthe)\s+active\s+substances?\s+"
    r"(?:(?:of|in)\s+(?:your\s+medicine|this\s+medicine|[A-Z][\w-]*(?:\s+[A-Z][\w-]*)?)\s+)?"
    r"(?:is|are)\s+(?:called\s+|an?\s+[a-z]+\s+called\s+)?([^.;\n()]{3,160})"
    r"|(?:contains?|made\s+up\s+of)\s+"
    r"(?:(?:\w+\s+)?active\s+substances?|(?:two|three|four)\s+substances)\s*(?::|called)\s*"
    r"([^.;\n()]{3,160})"
)
_ACTIVE_ONE = re.compile(
    r"contains?\s+(?:the|an)\s+active\s+substances?,?\s+(?:called\s+)?"
    r"((?:\d+-)?[a-z][^.;\n(),]{2,100})"
)
_ACTIVE_NAMED = re.compile(
    r"active\s+substances?\s+(?:(?:is|are)\s+[^.;\n()]{0,80})?\(([a-z][a-z0-9 -]{3,60})\)"
)
"""The INN in brackets after a description: "The active substance is recombinant
coagulation factor VIIa (activated eptacog alfa)", "allergic to the active substance
(ertapenem)"."""
_PARTICIPLE = re.compile(r"^(?:[a-z]+ed\s+)+")
_ACTIVE_STOP = re.compile(
    r"\b(?:which|that|belongs?|is|are|in|as|to|for|with|of|by|from|used|works|a|an|the|"
    r"each|per|contained|this|these|it|called|other|or|present|also|not|only)\b.*",
)
_KIND = {list: "a list", str: "plain text", int: "a number", float: "a number", bool: "a boolean"}
MAX_TITLE_CHARS = 200
"""A longer title is not a drug name (and would crowd the text out of every chunk)."""
MAX_HEADING_CHARS = 120
"""A longer heading is usually a paragraph marked as a heading by mistake."""
_SKIP_NAMES = {"README", "NOTICE", "LICENSE", "CHANGELOG", "CONTRIBUTING", "AUTHORS"}


def is_monograph_file(path: Path) -> bool:
    """Whether ``path`` looks like a monograph: a ``.md`` file that is not a repo document."""
    return path.suffix.lower() == ".md" and path.stem not in _SKIP_NAMES


def file_sha256(data: bytes) -> str:
    """Hex sha256 of a file's bytes: its identity for incremental re-ingest."""
    return hashlib.sha256(data).hexdigest()


def parse_file(path: Path, root: Path | None = None, max_bytes: int = MAX_FILE_BYTES) -> Monograph:
    """Read and parse one monograph file.

    ``root`` is the folder the file was found under; the monograph's ``source`` is the path
    relative to it. Raises ``ParseError`` naming the file for anything that is not a
    usable monograph; recoverable oddities become ``Monograph.warnings``.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ParseError(
                path, f"file is {size:,} bytes, over the {max_bytes:,}-byte limit for a monograph"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(path, f"cannot read file: {exc.strerror or exc}") from exc
    source = _source_name(path, root)
    return parse_bytes(data, path=path, source=source)


def parse_bytes(data: bytes, *, path: Path | str, source: str | None = None) -> Monograph:
    """Parse a monograph from its bytes; ``path`` names it in errors and is its store key."""
    path = Path(path)
    if not data.strip():
        raise ParseError(path, "file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError(path, "file is UTF-16 encoded: save it as UTF-8")
    if b"\x00" in data[:8192]:
        raise ParseError(path, "file is binary (contains NUL bytes), not a markdown monograph")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ParseError(
            path,
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}, "
            f"offset {exc.start}): save it as UTF-8",
        ) from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta, body = _split_front_matter(text, path)
    warnings: list[str] = []

    title, title_html = strip_markup(_scalar(meta.get("title")))
    title = squash(title)
    if not title.strip("\u200b\u200c\u200d\u2060\ufeff"):
        # Absent, or nothing left once its markup is gone ("<b></b>"): a monograph is
        # still named, by its file.
        title = squash(path.stem.replace("_", " ").replace("-", " ")).title() or path.name
        warnings.append(f"no title in front matter: using {title!r} from the file name")
    if len(title) > MAX_TITLE_CHARS:
        raise ParseError(path, f"title is {len(title):,} characters long: it should name the drug")
    description, description_html = strip_markup(_scalar(meta.get("description")))
    description = squash(description)
    if title_html or description_html:
        warnings.append("HTML tags removed from the title or description")
    last_modified = _date(meta.get("lastModified", meta.get("last_modified")))
    if not last_modified:
        warnings.append("no lastModified in front matter")

    body, had_html = strip_markup(body)
    if had_html:
        warnings.append("HTML tags removed from the text")
    sections, faq_sections = _sections(body, warnings)

    faqs = _front_matter_faqs(meta.get("faqs"), warnings)
    seen = {normalise_question(f.question) for f in faqs}
    for faq in (pair for s in faq_sections for pair in _body_faqs(s, warnings)):
        if normalise_question(faq.question) not in seen:
            seen.add(normalise_question(faq.question))
            faqs.append(faq)

    if not any(s.text for top in sections for s in top.walk()) and not faqs:
        raise ParseError(path, "no section text and no FAQ pairs: nothing to index")
    aliases = _aliases(title, description, sections)
    acronyms = defined_in(
        "\n".join([description, *(s.text for top in sections for s in top.walk())])
    )
    key = str(path.resolve()) if path.exists() else str(path)
    return Monograph(
        title=title,
        source=source or path.name,
        key=key,
        description=description,
        last_modified=last_modified,
        aliases=aliases,
        faqs=faqs,
        sections=sections,
        sha256=file_sha256(data),
        warnings=warnings,
        acronyms=acronyms,
    )


def _source_name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    # python-frontmatter's own ``loads`` silently drops front matter that is not a
    # mapping and treats an unclosed block as body text; split and load here to report both.
    handler = frontmatter.YAMLHandler()
    skipped = text[: len(text) - len(text.lstrip())].count("\n")
    text = text.strip()
    if not handler.detect(text):
        raise ParseError(path, "missing YAML front matter (the file must start with a '---' line)")
    try:
        raw, body = handler.split(text)
    except ValueError:
        raise ParseError(path, "front matter block is not closed by a '---' line") from None
    try:
        meta = handler.load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1 + skipped}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ParseError(path, f"front matter is not valid YAML{where}: {problem}") from exc
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise ParseError(path, f"front matter cannot be read: {exc}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ParseError(
            path,
            f"front matter is {_KIND.get(type(meta), 'a value')}, not a mapping of fields "
            "(title: ..., description: ..., faqs: ...)",
        )
    return meta, body.strip()


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value).strip()
    return ""


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return _scalar(value)


@dataclass
class _Open:
    section: Section
    lines: list[str]
    found: bool = False
    """A heading the conversion left at the end of a paragraph (``_lost_heading``)."""


# A converted leaflet often keeps a sub-heading as the last words of the paragraph before
# it: "... while you are using Abseamed. People with kidney disease". Those words head
# the paragraphs after them (whose doses are for those people), so they become a
# sub-heading. Only a short, sentence-case phrase with no number and no end punctuation,
# after a full stop, followed by a paragraph that opens as a sentence or a list: not a
# sentence that runs on into the next paragraph, not a company's name and address.
_TRAILING = re.compile(r"(?<=[.!?)])\s+([A-Z][^.!?:;,\d]*[^.!?:;,\d\s])$")
_RUNS_ON = re.compile(
    r"\b(?:a|an|the|to|of|and|or|with|for|in|on|by|at|from|your|you|is|are|be|may|will|than|"
    r"can|include|includes|including|that|when|if|as|such|kept|following)$",
    re.IGNORECASE,
)
_OPENS = re.compile(r"^\s*(?:[A-Z\d]|[*+-]\s|\*\*)")
MAX_FOUND_WORDS = 8


def _next_text(lines: list[str]) -> list[str]:
    """For each line, the next line after it that is not blank ("" at the end)."""
    out = [""] * len(lines)
    nxt = ""
    for i in range(len(lines) - 1, -1, -1):
        out[i] = nxt
        if lines[i].strip():
            nxt = lines[i]
    return out


def _lost_heading(line: str, following: str) -> str:
    """The heading left at the end of paragraph ``line`` (see ``_TRAILING``), or ""."""
    if (
        line.lstrip().startswith(("*", "-", "+", "|", ">"))
        or not _OPENS.match(following)
        or _HEADING.match(following)
    ):
        return ""
    match = _TRAILING.search(line.rstrip())
    if match is None:
        return ""
    words = match.group(1).split()
    if len(words) > MAX_FOUND_WORDS or _RUNS_ON.search(match.group(1)):
        return ""
    # Sentence case: a name ("Salomone Pharma Ltd") capitalises its later words.
    if any(w[0].isupper() and not (w.isupper() and len(w) <= 4) for w in words[1:]):
        return ""
    return match.group(1)


def _sections(body: str, warnings: list[str]) -> tuple[list[Section], list[Section]]:
    """Build the section tree; FAQ sections are returned separately."""
    roots: list[Section] = []
    stack: list[_Open] = []
    preface: list[str] = []
    in_fence = False

    def close_to(level: int) -> None:
        while stack and stack[-1].section.level >= level:
            done = stack.pop()
            done.section.text = tidy_lines("\n".join(done.lines))

    lines_in = body.split("\n")
    following = _next_text(lines_in)
    for i, line in enumerate(lines_in):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else (_HEADING.match(line) or _EMPTY_HEADING.match(line))
        if match is None:
            parent = (stack[-2] if stack[-1].found else stack[-1]) if stack else None
            if stack and _FAQ_TITLE.match(stack[0].section.title):
                parent = None  # an FAQ's sub-headings are its questions
            found = "" if in_fence or parent is None else _lost_heading(line, following[i])
            if (
                not found
                or parent is None
                or parent.section.level >= 6
                # one citation, one section: a repeated phrase stays text
                or any(c.title == found for c in parent.section.children)
            ):
                (stack[-1].lines if stack else preface).append(line)
                continue
            stack[-1].lines.append(line.rstrip()[: -len(found)].rstrip())
            level = parent.section.level + 1
            close_to(level)
            section = Section(title=found, level=level, path=(*parent.section.path, found))
            stack[-1].section.children.append(section)
            stack.append(_Open(section, [], found=True))
            continue
        level = len(match.group(1))
        title = clean_heading(match.group(2)) if match.lastindex and match.lastindex >= 2 else ""
        if not title:
            warnings.append(
                f"a level-{level} heading has no text: its content joins the section above"
            )
            (stack[-1].lines if stack else preface).append("")
            continue
        close_to(level)
        lines: list[str] = []
        in_faq = bool(stack) and _FAQ_TITLE.match(stack[0].section.title) is not None
        if len(title) > MAX_HEADING_CHARS and not in_faq:
            # Keep the words as text so nothing is lost; the heading path stays short
            # enough to be a citation label and to leave room for text in every chunk.
            # (FAQ sub-headings are questions: they are kept whole.)
            warnings.append(f"a level-{level} heading is {len(title)} characters long: shortened")
            lines.append(title)
            title = title[:MAX_HEADING_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:.") + " …"
        parent_path = stack[-1].section.path if stack else ()
        section = Section(title=title, level=level, path=(*parent_path, title))
        if stack:
            stack[-1].section.children.append(section)
        else:
            roots.append(section)
        stack.append(_Open(section, lines))
    close_to(0)

    intro = tidy_lines("\n".join(preface))
    if intro:
        roots.insert(0, Section(title="Overview", level=1, path=("Overview",), text=intro))
    faq_sections = [s for s in roots if _FAQ_TITLE.match(s.title)]
    return [s for s in roots if s not in faq_sections], faq_sections


def _clean_question(text: str) -> tuple[str, str]:
    """Split a raw question into (question, inline answer) and clean both."""
    parts = _INLINE_ANSWER.split(text, maxsplit=1)
    question = squash(strip_markup(parts[0])[0])
    question = _QUESTION_PREFIX.sub("", question).strip()
    answer = _clean_answer(parts[1]) if len(parts) > 1 else ""
    return question, answer


def _clean_answer(text: str) -> str:
    text = _ANSWER_PREFIX.sub("", text.strip())
    return squash(strip_markup(text)[0])


def _front_matter_faqs(raw: Any, warnings: list[str]) -> list[FAQ]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        warnings.append("front matter field 'faqs' is not a list: ignored")
        return []
    out: list[FAQ] = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            warnings.append(f"faqs[{i}] is not a mapping with 'q' and 'a': skipped")
            continue
        raw_q, raw_a = _scalar(item.get("q")), _scalar(item.get("a"))
        question, inline = _clean_question(raw_q)
        answer = _clean_answer(raw_a) or inline
        if not question or not answer:
            missing = "q" if not question else "a"
            warnings.append(f"faqs[{i}] has no '{missing}': skipped")
            continue
        if strip_markup(raw_q)[1] or strip_markup(raw_a)[1]:
            warnings.append(f"faqs[{i}]: HTML tags removed")
        out.append(FAQ(question=question, answer=answer))
    return out


def _body_faqs(section: Section, warnings: list[str]) -> list[FAQ]:
    """Pairs of a FAQ section: sub-headings as questions, or ``Q:``/``A:`` paragraphs."""
    out: list[FAQ] = []
    for child in section.children:
        question, _ = _clean_question(child.title)
        answer = _clean_answer(child.text)
        if question and answer:
            out.append(FAQ(question, answer))
        elif question:
            warnings.append(f"FAQ question {question!r} has no answer: skipped")
    if not section.children and section.text:
        blocks = re.split(r"\n(?=\s*(?:\*\*)?\s*Q(?:uestion)?\s*\d*\s*[:.)])", "\n" + section.text)
        for block in blocks:
            q, _, a = block.strip().partition("\n")
            m = re.search(r"(?:\*\*)?\s*A(?:nswer)?\s*:", block)
            if m and not a:
                q, a = block[: m.start()], block[m.start() :]
            question, _ = _clean_question(q)
            answer = _clean_answer(a)
            if question and answer:
                out.append(FAQ(question, answer))
            elif question:
                warnings.append(f"FAQ question {question!r} has no answer: skipped")
    if not out and (section.text or section.children):
        warnings.append(
            f"section {section.title!r} has no question/answer pairs: its text is not indexed"
        )
    return out


def _aliases(title: str, description: str, sections: list[Section]) -> list[str]:
    """The title, the INN and brand names: from alias sections and 'active substance' phrases."""
    found: list[str] = [title]
    for section in (s for top in sections for s in top.walk()):
        if not _ALIAS_TITLE.search(section.title):
            continue
        text = section.text
        found += [m.group(1) for m in _MARKED_NAME.finditer(text)]
        found += [m.group(1) for m in _INN.finditer(text)]
        for m in _NAME_LIST.finditer(text):
            for name in re.split(r",|\band\b|\bor\b|/", m.group(1)):
                name = name.strip(" .®™*")
                if name and len(name.split()) <= 3 and name[0].isalpha():
                    found.append(name)
    for text in [description] + [sub.text for top in sections for sub in top.walk()]:
        found += _active_substances(text)
    out: list[str] = []
    seen: set[str] = set()
    for name in found:
        name = squash(name.replace("®", "").replace("™", "")).strip(" .,:;")
        if len(name) < 3 or name.lower() in seen:
            continue
        seen.add(name.lower())
        out.append(name)
    return out


def _active_substances(text: str) -> list[str]:
    """Names after 'the active substance(s) is/are ...' (the INN in EU leaflets)."""
    phrases = [m.group(1) or m.group(2) for m in _ACTIVE_LIST.finditer(text)]
    phrases += [m.group(1) for m in _ACTIVE_ONE.finditer(text)]
    # "activated eptacog alfa" is eptacog alfa: a leading participle is no part of the name.
    phrases += [_PARTICIPLE.sub("", m.group(1)) for m in _ACTIVE_NAMED.finditer(text)]
    names: list[str] = []
    for phrase in phrases:
        for part in re.split(r",\s*(?:and\s+)?|\s+and\s+", phrase):
            part = _ACTIVE_STOP.sub("", part.strip()).strip(" :*-")
            words = part.split()
            if (
                1 <= len(words) <= 4
                and re.fullmatch(r"(?:\d+-)?[a-z][a-z0-9 -]+", part)
                and len(part) >= 4
                and not re.search(r"(?:ed|ing|ly)$", words[-1])
            ):
                names.append(part)
    return names
