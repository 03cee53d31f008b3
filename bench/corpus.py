"""Benchmark corpora: copies of real monographs and larger synthetic ones made from them.

A synthetic corpus is generated at benchmark time (into a temporary folder, never into
the project) from real monographs: the originals first, then variants in which every
name of the drug (title and aliases, as the parser finds them) is replaced by an invented
one and the top-level sections are shuffled. Variants keep real text, real structure and
real lengths, so ingest and retrieval costs scale as they would with real monographs.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from monorag.errors import ParseError
from monorag.ingest.parse import is_monograph_file, parse_bytes


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Syllables of invented drug names (names already in the corpus are skipped).
_ONSET = _words(
    "ab ad al am an ar av az bel bor cal cor dex dor el en fal fen gal hal il im jor kal lam "
    "lev lor mar mel mir nal nor ob ol pal per quin ral rem sal sel tal tor ul val ven vor "
    "xel zan zor"
)
_MIDDLE = _words("a e i o u ara eri ino ola ume ab ec id ov ux")
_LINK = ("", "l", "n", "r", "t", "v", "z", "st", "dr")
_BRAND_END = _words("ix ex ora yn ax ia on ta ra is el ena ovo ant ect")
_INN_END = _words(
    "mab tinib pril olol vir stat parin sartan azole cillin dronate gliptin lukast oxacin "
    "prazole setron tecan triptan vastatin zumab"
)
_MIN_NAME = 4
"""Shorter names are left alone: replacing them would rewrite ordinary words."""


def monograph_files(sources: Iterable[Path]) -> list[Path]:
    """Monograph files under ``sources`` (folders searched recursively, files taken as is)."""
    out: list[Path] = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            out += sorted(p for p in source.rglob("*.md") if p.is_file() and is_monograph_file(p))
        elif source.is_file():
            out.append(source)
    return out


def assemble(sources: Iterable[Path], dest: Path) -> list[Path]:
    """Copy the monographs under ``sources`` into ``dest`` (flat; clashing names numbered).

    The benchmark edits files to measure incremental re-ingest, so it works on copies.
    """
    dest.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for file in monograph_files(sources):
        out.append(_unique(dest, file.stem, file.read_bytes()))
    return out


def synthesize(sources: Iterable[Path], n: int, dest: Path, seed: int = 0) -> list[Path]:
    """Write ``n`` monographs into ``dest``: the originals, then renamed, shuffled variants.

    Deterministic for a given ``seed`` and source set.
    """
    originals = monograph_files(sources)
    if not originals:
        raise ValueError("no monograph files to synthesize a corpus from")
    dest.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    templates: list[tuple[bytes, list[str]]] = []
    taken: set[str] = set()
    for file in originals:
        data = file.read_bytes()
        try:
            mono = parse_bytes(data, path=file)
            # The title first: it gets a brand-like name, the other names INN-like ones.
            names = []
            for name in (mono.title, *mono.aliases):
                if name.lower() not in {n.lower() for n in names}:
                    names.append(name)
        except ParseError:
            names = []
        taken.update(name.lower() for name in names)
        templates.append((data, names))
    out = [_unique(dest, f.stem, data) for f, (data, _) in zip(originals, templates, strict=True)]
    out = out[:n]
    for i in range(len(out), n):
        data, names = templates[i % len(templates)]
        text = data.decode("utf-8", errors="replace")
        renames = {
            name.lower(): _new_name(rng, taken, brand=j == 0) for j, name in enumerate(names)
        }
        text = shuffle_sections(rename(text, renames), rng)
        stem = next(iter(renames.values()), f"variant-{i}").lower()
        out.append(_unique(dest, stem, text.encode("utf-8")))
    return out


def rename(text: str, renames: dict[str, str]) -> str:
    """Replace whole-word, case-insensitive occurrences of each key by its value.

    Longer names win (``abiraterone acetate`` before ``abiraterone``), and the case
    pattern of each occurrence is kept (``ABECMA``, ``Abecma``, ``abecma``).
    """
    names = sorted((k for k in renames if len(k) >= _MIN_NAME), key=len, reverse=True)
    if not names:
        return text
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.IGNORECASE
    )

    def repl(match: re.Match[str]) -> str:
        found = match.group(0)
        new = renames[found.lower()]
        if found.isupper() and len(found) > 1:
            return new.upper()
        if found[0].isupper():
            return new[0].upper() + new[1:]
        return new.lower()

    return pattern.sub(repl, text)


def shuffle_sections(text: str, rng: random.Random) -> str:
    """Shuffle the top-level sections of the body (front matter and preface stay first)."""
    match = re.match(r"\A(\s*---\n.*?\n---[ \t]*\n)(.*)\Z", text, re.DOTALL)
    if match is None:
        return text
    head, body = match.groups()
    levels = [len(m.group(1)) for m in re.finditer(r"(?m)^(#{1,6})[ \t]+\S", body)]
    if not levels:
        return text
    top = min(levels)
    parts = re.split(rf"(?m)^(?=#{{{top}}}[ \t]+\S)", body)
    preface, sections = parts[0], [p if p.endswith("\n") else p + "\n" for p in parts[1:]]
    rng.shuffle(sections)
    return head + preface + "".join(sections)


def touch(files: Sequence[Path], fraction: float, tag: str) -> list[Path]:
    """Edit ``fraction`` of ``files`` (at least one, spread evenly): their content changes.

    Returns the edited files. A changed modification time alone would not count: ingest
    recognises unchanged files by content hash.
    """
    if not files:
        return []
    count = max(1, math.ceil(len(files) * fraction))
    step = len(files) / count
    chosen = [files[int(i * step)] for i in range(count)]
    for file in chosen:
        with file.open("a", encoding="utf-8") as out:
            out.write(f"\n\nReviewed again for benchmark run {tag}.\n")
    return chosen


def _new_name(rng: random.Random, taken: set[str], *, brand: bool) -> str:
    ends = _BRAND_END if brand else _INN_END
    while True:
        name = rng.choice(_ONSET) + rng.choice(_MIDDLE) + rng.choice(_LINK) + rng.choice(ends)
        if name not in taken:
            taken.add(name)
            return name.capitalize() if brand else name


def _unique(dest: Path, stem: str, data: bytes) -> Path:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "monograph"
    path = dest / f"{stem}.md"
    n = 1
    while path.exists():
        n += 1
        path = dest / f"{stem}-{n}.md"
    path.write_bytes(data)
    return path
