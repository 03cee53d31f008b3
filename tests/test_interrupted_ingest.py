"""A `monorag ingest` killed with SIGKILL at any point leaves a store that readers can trust
and that the next ingest repairs (issue 7).

Deterministic kill points: the subprocess runs the real CLI (``monorag.ui.cli.main``) through a
small driver written by this test. The driver wraps Chroma's ``Collection`` writes, the
model's ``encode`` and the BM25 build, and at the chosen event (say, "the 5th file's
manifest switch") writes a marker file and sleeps; the test then SIGKILLs it. The product
code has no hook for this. A second test kills the installed ``monorag`` script after
delays, as a user would with Ctrl-\\ or the OOM killer.

After each kill the test reads the store as a reader would, then runs ingest again and
checks that the store, the manifest and the files on disk agree.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from monorag.embed import Embedder
from monorag.index import cache
from monorag.index.store import Store, current_chunks, lexical_dir
from monorag.index.vectors import UNITS_FIELD, decode_units
from monorag.ingest.pipeline import ingest
from monorag.settings import Settings
from monorag.text import unit_spans

pytestmark = pytest.mark.slow

FILES = 30
MONORAG = Path(sys.executable).with_name("monorag")

DRIVER = r'''
"""Run `monorag` and freeze at one event so that the test can SIGKILL it there."""
import json
import os
import sys
import time
from pathlib import Path

import monorag  # noqa: F401  (offline environment first)

target = os.environ["PAUSE_EVENT"]
nth = int(os.environ["PAUSE_NTH"])
marker = Path(os.environ["PAUSE_MARKER"])
seen = {}


def event(name):
    seen[name] = seen.get(name, 0) + 1
    if name == target and seen[name] == nth:
        marker.write_text(name)
        while True:
            time.sleep(60)


from chromadb.api.models.Collection import Collection  # noqa: E402


def kind(collection, method, kwargs):
    name = collection.name
    if name.endswith("-manifest"):
        if method == "delete":
            return "unlist"
        ids = kwargs.get("ids") or []
        if ids == ["__store__"]:
            pending = json.loads((kwargs.get("metadatas") or [{}])[0].get("pending", "[]"))
            return "pending" if pending else "meta"
        return "switch"
    return "chunks" if method in ("add", "upsert") else "chunks-delete"


def wrap(method):
    real = getattr(Collection, method)

    def wrapped(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        event(kind(self, method, kwargs))
        return out

    setattr(Collection, method, wrapped)


for method in ("add", "upsert", "delete", "update"):
    wrap(method)

from sentence_transformers import SentenceTransformer  # noqa: E402

real_forward = SentenceTransformer.forward


def forward(self, *args, **kwargs):
    event("encode")
    return real_forward(self, *args, **kwargs)


SentenceTransformer.forward = forward

from monorag.index.lexical import LexicalIndex  # noqa: E402

real_build = LexicalIndex.build.__func__


def build(cls, *args, **kwargs):
    event("lexical")
    return real_build(cls, *args, **kwargs)


LexicalIndex.build = classmethod(build)

import monorag.ingest.pipeline  # noqa: E402

# One file per commit group by default, so that kill points can fall between files.
monorag.ingest.pipeline.GROUP_CHUNKS = int(os.environ.get("GROUP_CHUNKS", "1"))

from monorag.ui.cli import main  # noqa: E402

sys.argv = ["monorag", *sys.argv[1:]]
main()
'''


# -- corpus --------------------------------------------------------------------------------


def monograph(i: int, version: int = 1) -> str:
    """A short monograph (a few chunks): the test's cost is process start, not embedding."""
    dose = 5 * (i + 1) + (version - 1)
    return (
        f"---\ntitle: Drug{i:02d}amide\nlastModified: '2025-0{version}-01'\n"
        f"faqs:\n  - q: What is the dose of Drug{i:02d}amide?\n    a: {dose} mg once daily.\n---\n"
        f"## **Usage**\n\nDrug{i:02d}amide treats condition number {i}. "
        f"It is taken by mouth (version {version}).\n\n"
        f"## **Dosage**\n\n### **Adults**\n\n* {dose} mg once daily.\n* Halve it in hepatic "
        f"impairment.\n\n## **Side Effects**\n\nNausea and rash in {i + 3}% of patients.\n"
    )


def write_corpus(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for i in range(FILES):
        path = folder / f"drug{i:02d}.md"
        path.write_text(monograph(i), encoding="utf-8")
        files.append(path)
    return files


def update_corpus(folder: Path) -> None:
    """Five files change, one disappears, one is new."""
    for i in range(5):
        (folder / f"drug{i:02d}.md").write_text(monograph(i, 2), encoding="utf-8")
    (folder / f"drug{FILES - 1:02d}.md").unlink()
    (folder / f"drug{FILES:02d}.md").write_text(monograph(FILES), encoding="utf-8")


def key(folder: Path, i: int) -> str:
    return str((folder / f"drug{i:02d}.md").resolve())


# -- processes -------------------------------------------------------------------------------


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MONORAG_")}


def run_cli(store: Path, corpus: Path) -> dict:
    """A complete ``monorag ingest --json`` run."""
    proc = subprocess.run(
        [str(MONORAG), "--db", str(store), "ingest", str(corpus), "--json"],
        capture_output=True,
        text=True,
        timeout=1200,
        env=environment(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def kill_at(
    tmp: Path, store: Path, corpus: Path, event: str, nth: int, group_chunks: int = 1
) -> None:
    """Run ingest until the ``nth`` ``event``, then SIGKILL it there.

    ``group_chunks`` is the ingest's commit group size (1: every file its own group).
    """
    driver = tmp / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    marker = tmp / f"paused-{event}-{nth}"
    env = {
        **environment(),
        "PAUSE_EVENT": event,
        "PAUSE_NTH": str(nth),
        "PAUSE_MARKER": str(marker),
        "GROUP_CHUNKS": str(group_chunks),
    }
    log = (tmp / f"driver-{event}-{nth}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(driver), "--db", str(store), "ingest", str(corpus), "--json"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 1200
        while not marker.exists():
            if proc.poll() is not None:
                log.flush()
                tail = Path(log.name).read_text(errors="replace")[-3000:]
                pytest.fail(f"ingest ended before {event} #{nth}:\n{tail}")
            assert time.monotonic() < deadline, f"no {event} #{nth} within 20 min"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        log.close()
    assert proc.returncode == -signal.SIGKILL


# -- what must hold ----------------------------------------------------------------------------


@dataclass
class Snapshot:
    """What a reader of a (possibly killed) store can see."""

    files: dict
    pending: list[str]
    chunks: list
    units: list[dict]


def snapshot(settings: Settings) -> Snapshot:
    store = Store.open(settings.store)
    got = store.chunks.get(include=["metadatas"])
    # A chunk's unit vectors travel in its own record: written and deleted with it.
    units = [
        {
            "doc": meta["doc"],
            "rev": meta["rev"],
            "chunk": id_,
            "rows": len(decode_units(meta[UNITS_FIELD])),
        }
        for id_, meta in zip(got["ids"], got["metadatas"], strict=True)
    ]
    return Snapshot(store.files(), store.pending(), list(store.iter_chunks()), units)


def assert_readers_see_whole_files(settings: Settings, snap: Snapshot) -> None:
    """Valid even right after a kill: a file is either wholly current or not there."""
    store = Store.open(settings.store)
    visible = current_chunks(store, snap.files)
    assert len({c.id for c in snap.chunks}) == len(snap.chunks)
    assert len({(c.doc, c.rev, c.ordinal) for c in snap.chunks}) == len(snap.chunks)
    by_doc: dict[str, list[int]] = {}
    for c in visible:
        assert c.rev == snap.files[c.doc].rev
        by_doc.setdefault(c.doc, []).append(c.ordinal)
    for doc, entry in snap.files.items():
        assert by_doc.get(doc) == list(range(entry.chunks)), f"{doc} is half visible"
    # Whatever is not current belongs to a file the next ingest will repair.
    for c in snap.chunks:
        entry = snap.files.get(c.doc)
        if entry is None or entry.rev != c.rev:
            assert c.doc in snap.pending, f"orphan chunk {c.id}"
    for u in snap.units:
        entry = snap.files.get(u["doc"])
        if entry is None or entry.rev != u["rev"]:
            assert u["doc"] in snap.pending, f"orphan unit of {u['chunk']}"


def assert_settled(settings: Settings, corpus: Path) -> None:
    """After a complete ingest: store, manifest and disk agree exactly."""
    snap = snapshot(settings)
    assert snap.pending == []
    on_disk = {str(p.resolve()): p for p in corpus.glob("*.md")}
    assert set(snap.files) == set(on_disk)
    for doc, entry in snap.files.items():
        assert entry.sha256 == hashlib.sha256(on_disk[doc].read_bytes()).hexdigest()
    assert len({(c.doc, c.ordinal) for c in snap.chunks}) == len(snap.chunks), "duplicates"
    for c in snap.chunks:
        assert c.doc in snap.files and c.rev == snap.files[c.doc].rev
    counts = Counter(c.doc for c in snap.chunks)
    assert counts == Counter({doc: e.chunks for doc, e in snap.files.items()})
    current_ids = {c.id for c in snap.chunks}
    for u in snap.units:
        assert u["chunk"] in current_ids and u["rev"] == snap.files[u["doc"]].rev
    units_per_chunk = {u["chunk"]: u["rows"] for u in snap.units}
    assert units_per_chunk == {c.id: len(unit_spans(c.text)) for c in snap.chunks}
    store = Store.open(settings.store)
    assert len(snap.chunks) == store.count() == len(current_chunks(store))
    saved = cache.load(lexical_dir(settings.store), store.revision())
    assert saved is not None, "the reader's cache matches the store's revision"
    assert {c.id for c in saved.lexical.chunks} == current_ids
    for c in snap.chunks:
        assert len(saved.unit_vectors.rows(c.id)) == units_per_chunk[c.id]


def settings_for(store: Path) -> Settings:
    return Settings.from_env({}, **{"store.path": store})


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("interrupted") / "corpus"
    write_corpus(folder)
    return folder


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A corpus fully ingested by a complete run (the base store), then edited."""
    root = tmp_path_factory.mktemp("updated")
    folder = root / "corpus"
    write_corpus(folder)
    base = root / "base-store"
    report = run_cli(base, folder)
    assert report["files_indexed"] == FILES
    update_corpus(folder)
    return folder, base


# -- tests ------------------------------------------------------------------------------------

FIRST_INGEST = [
    # (event, nth, what the kill interrupts)
    ("encode", 1, "embedding, before any file was committed"),
    ("chunks", 5, "file 5 marked pending and its chunks (with their units) written; manifest not"),
    ("switch", 5, "file 5's manifest entry written, pending not yet cleared"),
    ("lexical", 1, "every file committed, BM25 cache not rebuilt"),
]


@pytest.mark.parametrize(("event", "nth", "what"), FIRST_INGEST, ids=[f[0] for f in FIRST_INGEST])
def test_kill_during_first_ingest(
    tmp_path: Path, corpus: Path, embedder: Embedder, event: str, nth: int, what: str
) -> None:
    store = tmp_path / "store"
    kill_at(tmp_path, store, corpus, event, nth)
    settings = settings_for(store)
    snap = snapshot(settings)
    assert_readers_see_whole_files(settings, snap)
    # The kill landed where intended.
    expected_files = {"encode": 0, "chunks": 4, "switch": 5, "lexical": FILES}
    assert len(snap.files) == expected_files[event], what
    assert snap.pending == ([key(corpus, 4)] if event in ("chunks", "switch") else [])
    if event == "chunks":
        assert any(c.doc == key(corpus, 4) for c in snap.chunks), "partial file present"

    report = ingest([corpus], settings, embedder)
    assert report.ok
    assert report.repaired == snap.pending
    assert len(report.indexed) == FILES - len(snap.files)
    assert len(report.unchanged) == len(snap.files)
    assert_settled(settings, corpus)


GROUPED = [
    ("chunks", 1, 0, "every file pending, chunks (with their units) written; manifest not"),
    ("switch", 1, FILES, "every file switched in one manifest write, pending not cleared"),
]


@pytest.mark.parametrize(("event", "nth", "visible", "what"), GROUPED, ids=[g[0] for g in GROUPED])
def test_kill_during_a_group_commit(
    tmp_path: Path,
    corpus: Path,
    embedder: Embedder,
    event: str,
    nth: int,
    visible: int,
    what: str,
) -> None:
    """All files in one commit group (the default size): the group is repaired as a whole."""
    store = tmp_path / "store"
    kill_at(tmp_path, store, corpus, event, nth, group_chunks=1024)
    settings = settings_for(store)
    snap = snapshot(settings)
    assert_readers_see_whole_files(settings, snap)
    assert len(snap.files) == visible, what
    assert snap.pending == sorted(key(corpus, i) for i in range(FILES))
    assert snap.chunks, "the group's chunks were written before the kill"

    report = ingest([corpus], settings, embedder)
    assert report.ok and report.repaired == snap.pending
    assert len(report.indexed) == FILES - visible
    assert_settled(settings, corpus)


UPDATE = [
    ("unlist", 1, "removed file gone from the manifest, its chunks not yet deleted"),
    ("switch", 2, "changed file 2 switched to its new revision, old chunks still there"),
    ("lexical", 1, "every change committed, the reader's cache not rebuilt"),
]


@pytest.mark.parametrize(("event", "nth", "what"), UPDATE, ids=[u[0] for u in UPDATE])
def test_kill_during_update(
    tmp_path: Path,
    updated: tuple[Path, Path],
    embedder: Embedder,
    event: str,
    nth: int,
    what: str,
) -> None:
    corpus, base = updated
    store = tmp_path / "store"
    shutil.copytree(base, store)
    kill_at(tmp_path, store, corpus, event, nth)
    settings = settings_for(store)
    snap = snapshot(settings)
    assert_readers_see_whole_files(settings, snap)
    removed = key(corpus, FILES - 1)
    assert removed not in snap.files, what
    if event == "unlist":
        assert snap.pending == [removed]
        assert any(c.doc == removed for c in snap.chunks), "chunks not yet deleted"
    elif event == "lexical":
        assert snap.pending == []
        revision = Store.open(settings.store).revision()
        assert cache.load(lexical_dir(settings.store), revision) is None, "cache is stale"
    else:
        changed = key(corpus, 1)
        assert snap.pending == [changed]
        revs = {c.rev for c in snap.chunks if c.doc == changed}
        assert len(revs) == 2, "old and new revision side by side"
        assert (
            snap.files[changed].sha256
            == hashlib.sha256((corpus / "drug01.md").read_bytes()).hexdigest()
        ), "the manifest already names the new revision"
        visible = [c for c in current_chunks(Store.open(settings.store)) if c.doc == changed]
        assert visible and all("version 2" in c.text for c in visible if "Usage" in c.section)

    report = ingest([corpus], settings, embedder)
    assert report.ok and report.repaired == snap.pending
    assert_settled(settings, corpus)
    assert report.monographs_total == FILES


def test_kill_the_installed_script_after_delays(tmp_path: Path, corpus: Path) -> None:
    store = tmp_path / "store"
    started_after = 0.0
    for run, extra in enumerate((1.0, 2.5)):
        log = (tmp_path / f"kill-{run}.log").open("w")
        start = time.monotonic()
        proc = subprocess.Popen(
            [str(MONORAG), "--db", str(store), "ingest", str(corpus), "--json"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment(),
        )
        try:
            if run == 0:
                # Imports take seconds, and more under load: count from the store's creation.
                while not (store / "chroma.sqlite3").exists() and proc.poll() is None:
                    assert time.monotonic() - start < 1200
                    time.sleep(0.05)
                started_after = time.monotonic() - start
                time.sleep(extra)
            else:
                time.sleep(started_after + extra)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            log.close()
        # Read a copy: this process must not hold a client on the store the next run writes.
        copy = tmp_path / f"copy-{run}"
        shutil.copytree(store, copy)
        settings = settings_for(copy)
        assert_readers_see_whole_files(settings, snapshot(settings))

    report = run_cli(store, corpus)
    assert report["files_failed"] == 0
    assert report["files_indexed"] + report["files_unchanged"] == FILES
    assert_settled(settings_for(store), corpus)
