"""Split a monograph into chunks: one per leaf section, one per FAQ pair.

Long sections are split on paragraph, list-item and sentence boundaries (words only as
a last resort) so that a chunk's embedded text (heading path + text) fits the embedding
model's window, measured with the model's own tokenizer.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from monorag import text as _text
from monorag.ingest import acronyms as _acronyms
from monorag.ingest import parse as _parse
from monorag.text import blocks, is_lead_in, is_list_item, lost_lead_in, sentences
from monorag.types import FAQ_SECTION, SEP, Chunk, ChunkKind, Monograph, chunk_id


def _reading() -> str:
    """A stamp of the code that reads a file into sections, chunks and units.

    A file is re-indexed when its bytes change and also when this code does: a store
    built by an older parser would otherwise keep the old sections of every unchanged
    file (a heading it missed, a list it split) for as long as the file is not edited.
    """
    digest = hashlib.sha256()
    for module in (_parse, _acronyms, sys.modules[__name__], _text):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


READING = _reading()
"""Stamp of this version's reading of a monograph (see ``chunk_rev``)."""


def chunk_rev(sha256: str) -> str:
    """The revision of a file's chunks: its bytes as read by this version's code."""
    return hashlib.sha256(f"{READING}:{sha256}".encode()).hexdigest()[:12]


TokenCounter = Callable[[Sequence[str]], list[int]]
"""Counts word pieces (special tokens included) of each text; see ``Embedder.count_tokens_many``."""


def _pack(
    pieces: list[str], costs: list[int], budget: int, joiner: str | Sequence[str]
) -> list[str]:
    """Greedily join consecutive pieces while their summed cost stays within budget.

    ``joiner`` is one separator, or the separator to put before each piece (a list item
    or paragraph after a blank line, a sentence of the same paragraph after a newline)."""
    seps = [joiner] * len(pieces) if isinstance(joiner, str) else list(joiner)
    out: list[str] = []
    current: list[str] = []
    used = 0
    for piece, cost, sep in zip(pieces, costs, seps, strict=True):
        if current and used + cost > budget:
            out.append("".join(current))
            current, used = [], 0
        current.append(f"{sep}{piece}" if current else piece)
        used += cost
    if current:
        out.append("".join(current))
    return out


def split_text(
    header: str, text: str, count: TokenCounter, max_tokens: int, total: int | None = None
) -> list[str]:
    """Split ``text`` into parts whose ``header + "\\n" + part`` fits ``max_tokens`` pieces.

    ``total`` is the count of ``header + "\\n" + text`` when the caller already has it.
    Pieces are counted in a few batched tokenizer calls per section, not one per piece:
    a call costs far more than the text it counts.
    """
    if total is None:
        total = count([f"{header}\n{text}"])[0]
    if total <= max_tokens:
        return [text]
    pieces = blocks(text)
    header_count, *block_counts = count([header, *pieces])
    # Word-piece counts of separate pieces add up to (at most) the count of their join,
    # minus the two special tokens each separate count includes.
    budget = max_tokens - (header_count - 2) - 2 - 1
    if budget < 8:
        shown = header if len(header) <= 80 else header[:77] + "..."
        raise ValueError(f"heading {shown!r} alone nearly fills the {max_tokens}-token window")
    split = {i: sentences(b) for i, b in enumerate(pieces) if block_counts[i] - 2 > budget}
    flat = [s for i in sorted(split) for s in split[i]]
    sentence_counts = iter(count(flat) if flat else [])
    units: list[str] = []
    known: list[int | None] = []
    # Blocks stay apart as the section has them (a blank line), pieces of one block on
    # lines of their own: a list item or paragraph is still one when read back.
    seps: list[str] = []
    for i, block in enumerate(pieces):
        if i not in split:
            units.append(block)
            known.append(block_counts[i])
            seps.append("\n\n")
            continue
        for j, sentence in enumerate(split[i]):
            cost = next(sentence_counts)
            if cost - 2 <= budget:
                units.append(sentence)
                known.append(cost)
                seps.append("\n" if j else "\n\n")
            else:
                words = _split_words(sentence, count, budget)
                units.extend(words)
                known.extend([None] * len(words))
                seps.extend(["\n" if j or k else "\n\n" for k in range(len(words))])
    missing = [u for u, k in zip(units, known, strict=True) if k is None]
    counted = iter(count(missing) if missing else [])
    costs = [(k if k is not None else next(counted)) - 2 + 1 for k in known]
    plain = _pack(units, costs, budget, seps)
    # Verify with the real tokenizer: joins can merge pieces differently at the seams. A
    # part opened by its list's lead-in keeps it only where it still fits (the part
    # without it is counted again only then).
    parts = _with_lead_ins(plain)
    totals = count([f"{header}\n{p}" for p in parts])
    back = [i for i, n in enumerate(totals) if n > max_tokens and parts[i] != plain[i]]
    recounted = count([f"{header}\n{plain[i]}" for i in back]) if back else []
    for i, n in zip(back, recounted, strict=True):
        parts[i], totals[i] = plain[i], n
    out: list[str] = []
    for part, total in zip(parts, totals, strict=True):
        if total <= max_tokens or "\n" not in part:
            out.append(part if total <= max_tokens else _trim(header, part, count, max_tokens))
        else:
            out.extend(split_text(header, part, count, max_tokens - 4))
    return out


def _with_lead_ins(parts: list[str]) -> list[str]:
    """``parts`` with a part that starts inside a list opened by its list's lead-in line
    ("Do not take X:"), repeated from the part before: an item cut from it ("if you are
    taking Y.") no longer says what it is a case of."""
    out: list[str] = []
    lead = ""
    for part in parts:
        lines = [line for line in part.split("\n") if line.strip()]
        if out and lead and lines and is_list_item(lines[0]):
            part = f"{lead}\n\n{part}"
        for line in lines:
            if not is_list_item(line):
                lead = line if is_lead_in(line) else ""
            elif lost := lost_lead_in(sentences(line)):
                lead = lost  # the items after this one are another list's
        out.append(part)
    return out


def _split_words(sentence: str, count: TokenCounter, budget: int) -> list[str]:
    words: list[str] = []
    costs: list[int] = []
    for word, cost in zip(sentence.split(), count(sentence.split()), strict=True):
        if cost - 2 + 1 <= budget:
            words.append(word)
            costs.append(cost - 2 + 1)
            continue
        # A "word" over the whole budget (digits and punctuation without spaces, such as
        # a long table row) is cut by characters: a word piece covers at least one
        # character, so slices of ``budget - 1`` characters always fit.
        size = max(1, budget - 1)
        slices = [word[i : i + size] for i in range(0, len(word), size)]
        words.extend(slices)
        costs.extend(c - 2 + 1 for c in count(slices))
    return _pack(words, costs, budget, " ")


def _trim(header: str, part: str, count: TokenCounter, max_tokens: int) -> str:
    words = part.split()
    while words and count([f"{header}\n{' '.join(words)}"])[0] > max_tokens:
        words = words[: max(1, len(words) - 4)] if len(words) > 4 else words[:-1]
    return " ".join(words)


def chunk_monograph(mono: Monograph, count: TokenCounter, max_tokens: int) -> list[Chunk]:
    """All chunks of a monograph, in document order, FAQ pairs last."""
    rev = chunk_rev(mono.sha256)
    items: list[tuple[str, str, ChunkKind]] = []
    for section in mono.all_sections():
        if section.text:
            items.append((section.heading, section.text, "section"))
    for faq in mono.faqs:
        items.append(
            (f"{FAQ_SECTION}{SEP}{faq.question}", f"Q: {faq.question}\nA: {faq.answer}", "faq")
        )

    chunks: list[Chunk] = []
    aliases = tuple(mono.aliases)
    headers = [f"{mono.title}{SEP}{heading}" for heading, _, _ in items]
    totals = count([f"{h}\n{text}" for h, (_, text, _) in zip(headers, items, strict=True)])
    for (heading, text, kind), header, total in zip(items, headers, totals, strict=True):
        for part in split_text(header, text, count, max_tokens, total):
            ordinal = len(chunks)
            chunks.append(
                Chunk(
                    id=chunk_id(mono.key, rev, ordinal),
                    drug=mono.title,
                    aliases=aliases,
                    section=heading,
                    kind=kind,
                    text=part,
                    source=mono.source,
                    doc=mono.key,
                    rev=rev,
                    last_modified=mono.last_modified,
                    content_hash=hashlib.sha256(f"{header}\n{part}".encode()).hexdigest()[:16],
                    ordinal=ordinal,
                )
            )
    return chunks
