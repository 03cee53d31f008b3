"""Small text helpers shared by the parser and the chunker."""

from __future__ import annotations

import re

_HTML_NAMES = (
    "a|abbr|address|article|aside|audio|b|big|blockquote|body|br|button|canvas|caption|"
    "center|cite|code|col|colgroup|dd|del|details|dfn|div|dl|dt|em|embed|fieldset|"
    "figcaption|figure|font|footer|form|h[1-6]|head|header|hr|html|i|iframe|img|input|ins|"
    "kbd|label|legend|li|link|main|mark|meta|nav|noscript|object|ol|option|p|param|picture|"
    "pre|q|s|samp|script|section|select|small|source|span|strike|strong|style|sub|summary|"
    "sup|svg|table|tbody|td|template|textarea|tfoot|th|thead|title|tr|tt|u|ul|var|video|wbr"
)
# Only HTML element names count as tags: "ALT <ULN and >3 x baseline" is a clinical
# statement, not a tag. Lower case with attributes; any case when bare (<B>, </P>, <BR/>).
_TAG = re.compile(rf"</?(?:{_HTML_NAMES})(?:\s[^<>]*)?/?>|</?(?i:{_HTML_NAMES})\s*/?>")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BOLD = re.compile(r"\*\*|__")
_WS = re.compile(r"[ \t\u00a0]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_markup(text: str) -> tuple[str, bool]:
    """Remove HTML tags and comments (and script/style bodies) and bold markers.

    Returns the text and whether any HTML was found, so the parser can warn about it.
    Markdown lists and line structure are kept: the chunker needs them.
    """
    had_html = bool(_COMMENT.search(text) or _SCRIPT.search(text) or _TAG.search(text))
    text = _COMMENT.sub(" ", text)
    text = _SCRIPT.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _BOLD.sub("", text)
    text = _CONTROL.sub("", text)
    return text, had_html


def squash(text: str) -> str:
    """Collapse all whitespace (newlines too) into single spaces."""
    return " ".join(text.split())


def tidy_lines(text: str) -> str:
    """Collapse runs of spaces inside lines and runs of blank lines; trim the ends."""
    lines = [_WS.sub(" ", line).rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line)
    return "\n".join(out).strip()


def clean_heading(raw: str) -> str:
    """Heading text without markdown emphasis, trailing colons or closing hashes."""
    text, _ = strip_markup(raw)
    text = re.sub(r"\s#+\s*$", "", text)
    text = text.replace("*", "").replace("`", "")
    return squash(text).rstrip(":").strip()


def normalise_question(text: str) -> str:
    """A key under which two phrasings of the same FAQ question compare equal."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
