"""Ingest a set of monograph files into the store, incrementally.

An unchanged file (same sha256 as in the manifest, read by the same version of the parser
and chunker: ``ingest.chunk.chunk_rev``) is skipped before it is even parsed;
a changed file's chunks are replaced; a file that disappeared from an ingested folder
has its chunks removed. A file that cannot be parsed is reported and everything else
is still indexed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monorag.embed import Embedder, bound_allocator, release_memory
from monorag.errors import MonoragError, ParseError
from monorag.index import Index, open_index
from monorag.index.cache import build as build_cache
from monorag.index.cache import is_saved
from monorag.index.cache import load as load_cache
from monorag.index.store import FileEntry, lexical_dir, now
from monorag.ingest.chunk import chunk_monograph, chunk_rev
from monorag.ingest.parse import is_monograph_file, parse_file
from monorag.settings import Settings
from monorag.text import embedded_unit_spans
from monorag.types import Chunk, Monograph


@dataclass
class Failure:
    """A file that could not be ingested, and why."""

    path: str
    reason: str


@dataclass
class IngestReport:
    """What an ingest did. ``to_json`` is the shape of ``monorag ingest --json``."""

    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    monographs_total: int = 0
    seconds: float = 0.0
    store: str = ""

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        """Counts plus the lists of files, for scripts."""
        return {
            "store": self.store,
            "files_indexed": len(self.indexed),
            "files_unchanged": len(self.unchanged),
            "files_removed": len(self.removed),
            "files_failed": len(self.failed),
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "chunks_total": self.chunks_total,
            "monographs_total": self.monographs_total,
            "seconds": round(self.seconds, 3),
            "indexed": self.indexed,
            "removed": self.removed,
            "failed": [{"path": f.path, "reason": f.reason} for f in self.failed],
            "repaired": self.repaired,
            "warnings": self.warnings,
        }


@dataclass
class Progress:
    """A progress event: ``stage`` is ``scan`` (files), ``embed`` (files embedded and
    committed; ``detail`` counts chunks) or ``index`` (the reader's cache)."""

    stage: str
    done: int
    total: int
    detail: str = ""


ProgressFn = Callable[[Progress], None]


def discover(paths: Iterable[Path]) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Monograph files under ``paths`` as (file, root) pairs, and the folder roots given.

    Folders are searched recursively for ``*.md``; repository documents (README, NOTICE,
    LICENSE ...) are not monographs. A named file is taken as it is; a path that does
    not exist is left out (``ingest`` reports it once).
    """
    files: dict[Path, Path] = {}
    roots: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            continue
        if path.is_dir():
            roots.append(path.resolve())
            for file in sorted(path.rglob("*.md")):
                if file.is_file() and is_monograph_file(file):
                    files.setdefault(file.resolve(), path)
        else:
            files.setdefault(path.resolve(), path.parent)
    return sorted(files.items()), roots


ONLY_MONOGRAPHS = "only .md files with YAML front matter are read"
"""Said wherever a file or folder yields nothing: a PDF or text file is not a monograph."""


def no_monographs(path: Path) -> str | None:
    """Why ``path`` gives ``ingest`` no monograph file, or None when it gives some.

    Checked before anything is opened or loaded, so that a typo or the wrong folder is a
    one-line error instead of a silent, empty ingest.
    """
    path = Path(path)
    if not path.exists():
        return f"no such file or folder: {path}"
    if path.is_file():
        return (
            None if path.suffix.lower() == ".md" else f"{path}: not a monograph ({ONLY_MONOGRAPHS})"
        )
    found, _ = discover([path])
    return None if found else f"no monographs found in {path} ({ONLY_MONOGRAPHS})"


GROUP_CHUNKS = 1024
"""Chunks embedded together (sorted by length within a group, so batches pad little) and
committed together (one round of store writes); a killed ingest loses at most one group."""


def ingest(
    paths: Sequence[Path],
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Bring the store in line with the monograph files under ``paths``."""
    started = time.perf_counter()
    bound_allocator()
    report = IngestReport(store=settings.store.where)
    say = progress or (lambda _event: None)
    store = open_index(settings.store, create=True)
    if rebuild:
        store = store.rebuild()
    store.check_model(embedder.name, lambda: embedder.dimension)
    report.repaired = store.repair()

    found, roots = discover(paths)
    for path in (Path(p) for p in paths):
        if not path.exists():
            report.failed.append(Failure(str(path), "no such file or folder"))
    known = store.files()

    # 1. Decide per file: unchanged (by hash, without parsing) or to (re)index.
    todo: list[tuple[Path, Path, str]] = []
    for done, (file, root) in enumerate(found, start=1):
        say(Progress("scan", done, len(found), file.name))
        key = str(file)
        if file.suffix.lower() != ".md":
            # Only a file named on its own gets here (folders are searched for *.md).
            report.failed.append(Failure(str(file), f"not a monograph ({ONLY_MONOGRAPHS})"))
            continue
        try:
            data_sha = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError as exc:
            report.failed.append(Failure(str(file), f"cannot read file: {exc.strerror or exc}"))
            continue
        entry = known.get(key)
        if entry is not None and entry.sha256 == data_sha and entry.rev == chunk_rev(data_sha):
            report.unchanged.append(str(file))
            continue
        todo.append((file, root, data_sha))

    # 2. Files gone from an ingested folder, or from disk altogether.
    present = {str(f) for f, _ in found}
    for key in known:
        under_root = any(Path(key).is_relative_to(root) for root in roots)
        if key not in present and (under_root or not Path(key).exists()):
            report.chunks_removed += store.remove_file(key)
            report.removed.append(key)

    # A renamed file is removed above and indexed below: its old path is no duplicate.
    titles = {e.title.lower(): k for k, e in known.items() if k not in report.removed}

    # 3. Parse, chunk, embed and commit group by group: memory holds one group (and the
    # one being written), whatever the number of files.
    max_tokens = min(settings.ingest.max_tokens, embedder.max_tokens) if todo else 0
    embedded = 0
    files_done = 0
    say(Progress("embed", 0, len(todo)))

    def tick(n: int) -> None:
        nonlocal embedded
        embedded += n
        say(Progress("embed", files_done, len(todo), f"{embedded:,} chunks"))

    def groups() -> Iterator[list[tuple[Monograph, list[Chunk]]]]:
        group: list[tuple[Monograph, list[Chunk]]] = []
        size = 0
        for file, root, _sha in todo:
            mono = _parse(file, root, settings, report)
            if mono is None:
                continue
            _warn_duplicate_title(mono, titles, report)
            try:
                chunks = chunk_monograph(mono, embedder.count_tokens_many, max_tokens)
            except (ValueError, MonoragError) as exc:
                report.failed.append(Failure(mono.key, f"cannot chunk: {exc}"))
                continue
            group.append((mono, chunks))
            size += len(chunks)
            if size >= GROUP_CHUNKS:
                yield group
                group, size = [], 0
        if group:
            yield group

    # The model keeps both cores busy but for its gaps; the store writes of one group run
    # in one writer thread while the next group is embedded. Commits stay in order, one
    # at a time, so crash safety is that of a sequential ingest.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="monorag-commit") as writer:
        committing: Future[None] | None = None
        for group in groups():
            vectors, units = _embed_group(group, embedder, tick)
            # What the forward passes freed goes back to the OS: peak RSS stays that of
            # one group's batches, not of every batch shape seen so far.
            release_memory()
            if committing is not None:
                committing.result()
            committing = writer.submit(
                _commit_group, group, vectors, units, store, settings, report
            )
            files_done += len(group)
            say(Progress("embed", files_done, len(todo), f"{embedded:,} chunks"))
            del vectors, units, group
        if committing is not None:
            committing.result()

    # 4. Totals, and the reader's cache (BM25 and vectors) for the new revision.
    files = store.files()
    report.monographs_total = len(files)
    folder = lexical_dir(settings.store)
    revision = store.revision()
    if report.indexed or report.removed or report.repaired or not is_saved(folder, revision):
        say(Progress("index", 0, 1, "lexical index and vectors"))
        # The cache the folder holds (the previous revision's) gives the unchanged files'
        # rows: only the files this ingest wrote are read back from the store.
        previous = load_cache(folder, None)
        cache = build_cache(store, folder, revision, files, previous)
        say(Progress("index", 1, 1, "lexical index and vectors"))
        report.chunks_total = len(cache.lexical.chunks)
    else:
        report.chunks_total = sum(f.chunks for f in files.values())
    report.seconds = time.perf_counter() - started
    return report


def _parse(file: Path, root: Path, settings: Settings, report: IngestReport) -> Monograph | None:
    """The parsed monograph, or None with the failure recorded."""
    try:
        mono = parse_file(file, root, settings.ingest.max_file_bytes)
    except ParseError as exc:
        report.failed.append(Failure(exc.path, exc.reason))
        return None
    report.warnings += [f"{file}: {w}" for w in mono.warnings]
    return mono


def _embed_group(
    group: list[tuple[Monograph, list[Chunk]]],
    embedder: Embedder,
    tick: Callable[[int], None],
) -> tuple[Any, list[Any]]:
    """Chunk vectors and unit vectors of every chunk of ``group``, in order."""
    flat = [c for _, chunks in group for c in chunks]
    texts = [c.embed_text for c in flat]
    spans = [embedded_unit_spans(c) for c in flat]
    return embedder.embed_with_units(texts, spans, progress=tick)


def _commit_group(
    group: list[tuple[Monograph, list[Chunk]]],
    vectors: Any,
    unit_vectors: list[Any],
    store: Index,
    settings: Settings,
    report: IngestReport,
) -> None:
    """Make every file of ``group`` current in the store, in one round of writes."""
    files = []
    offset = 0
    for mono, chunks in group:
        entry = FileEntry(
            key=mono.key,
            source=mono.source,
            title=mono.title,
            aliases="|".join(mono.aliases),
            sha256=mono.sha256,
            rev=chunk_rev(mono.sha256),
            chunks=len(chunks),
            last_modified=mono.last_modified,
            indexed_at=now(),
            acronyms=json.dumps(mono.acronyms, sort_keys=True),
        )
        end = offset + len(chunks)
        files.append((entry, chunks, vectors[offset:end], unit_vectors[offset:end]))
        offset = end
    report.chunks_removed += store.commit_files(files, settings.ingest.add_batch)
    for mono, chunks in group:
        report.chunks_added += len(chunks)
        report.indexed.append(mono.key)


def _warn_duplicate_title(mono: Monograph, titles: dict[str, str], report: IngestReport) -> None:
    """Warn when ``mono``'s title is another file's; ``titles`` maps titles seen to keys."""
    other = titles.get(mono.title.lower())
    if other is not None and other != mono.key:
        report.warnings.append(
            f"{mono.key}: title {mono.title!r} is also the title of {other}; "
            "questions naming it will search both"
        )
    titles[mono.title.lower()] = mono.key
