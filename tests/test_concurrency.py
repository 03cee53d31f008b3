"""Concurrency: one engine serving many threads, and a reader process during re-ingests.

An engine shared by the threads of an app server must answer each question exactly as it
answers it alone. A reader process asking while another process re-ingests a monograph
(through a Chroma server, as replicas share a store) must never fail and never serve an
answer mixing passages of two revisions of the monograph.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from monorag.embed import Embedder
from monorag.qa.conversation import Conversation
from monorag.qa.engine import Engine
from monorag.settings import Settings
from monorag.types import Answer
from tests import servers
from tests.conftest import SEED, make_settings

PROJECT = Path(__file__).resolve().parent.parent
THREADS = 8

SIBLING = """---
title: Zentramide
lastModified: 2024-03-14
---
## **Usage**

Zentramide is prescribed with dexamethasone for relapsed multiple myeloma.

## **Dosage**

### **Adults:**
For multiple myeloma: 10 mg orally once daily on days 1-14 of a repeated 21-day cycle.

### **Hepatic Impairment:**
For moderate impairment, the dose is reduced to 5 mg/day.

## **Side Effects**

Neutropenia, rash, diarrhoea, dizziness, insomnia and oedema.
"""

ANSWERABLE = [
    "What is the pomalidomide dose for multiple myeloma?",
    "Pomalidomide dose for Kaposi sarcoma?",
    "How is the pomalidomide dose adjusted in hepatic impairment?",
    "Which drugs interact with pomalidomide?",
    "Can pomalidomide be used in pregnancy?",
    "What are the side effects of zentramide?",
    "What is the zentramide dose in hepatic impairment?",
    "What is the dose of pomalidomide and zentramide for multiple myeloma?",
]
UNANSWERABLE = [
    "How much does pomalidomide cost?",
    "At what temperature should zentramide be stored?",
    "Which company manufactures pomalidomide?",
    "Who won the football world cup in 1998?",
    "What is the dose in hepatic impairment?",
]
MISSPELT = [
    "pomalidamide dose in hepatic impairment?",
    "Pomalydomide and pregnancy?",
    "zentramid side effects?",
    "Imnovid dose for multiple myelom?",
    "zentramyde dose for multiple myeloma?",
]
OUT_OF_CORPUS = [
    "What is the dose of metformin?",
    "What is the usual dose of rituximab?",
    "Does warfarin interact with aspirin?",
    "Atorvastatin side effects?",
]
QUESTIONS = ANSWERABLE + UNANSWERABLE + MISSPELT + OUT_OF_CORPUS
# A conversation: the follow-up's answer depends on the turn before it.
FOLLOW_UP = ("What is the pomalidomide dose for multiple myeloma?", "and for Kaposi sarcoma?")


def signature(answer: Answer) -> tuple[Any, ...]:
    """Everything a user sees of an answer."""
    return (
        answer.question,
        answer.text,
        answer.abstained,
        answer.mode,
        tuple(answer.drugs),
        answer.note,
        tuple(answer.citations),
    )


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """A store with the seed and a generated second monograph."""
    from monorag.ingest.pipeline import ingest

    root = tmp_path_factory.mktemp("concurrency")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus)
    (corpus / "zentramide.md").write_text(SIBLING, encoding="utf-8")
    settings = make_settings(root / "store")
    assert ingest([corpus], settings, embedder).ok
    return settings


def run_threads(tasks: list[Any], work: Any) -> tuple[list[Any], list[BaseException]]:
    """Run ``work`` over ``tasks`` on THREADS threads released together."""
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def guarded(task: Any) -> Any:
        try:
            return work(task)
        except BaseException as exc:  # collected and reported, never swallowed
            errors.append(exc)
            return None

    def first(task: Any) -> Any:
        start.wait(timeout=120)
        return guarded(task)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        heads = [pool.submit(first, t) for t in tasks[:THREADS]]
        rest = [pool.submit(guarded, t) for t in tasks[THREADS:]]
        results = [f.result() for f in heads + rest]
    return results, errors


@pytest.mark.slow
def test_one_engine_answers_eight_threads_as_it_answers_one(
    pair: Settings, embedder: Embedder
) -> None:
    engine = Engine(pair, embedder)
    alone = {q: signature(engine.ask(q)) for q in QUESTIONS}
    conversation = Conversation()
    alone_follow = [signature(engine.ask(q, conversation=conversation)) for q in FOLLOW_UP]
    # Each list is what its name says, alone; then the threads must give the same.
    assert [q for q in ANSWERABLE + MISSPELT if alone[q][2]] == []
    assert [q for q in UNANSWERABLE + OUT_OF_CORPUS if not alone[q][2]] == []

    rng = random.Random(7)
    asked = [rng.choice(QUESTIONS) for _ in range(192)]
    tasks: list[tuple[str, Any]] = [
        ("ask", q) if i % 2 else ("stream", q) for i, q in enumerate(asked)
    ]
    tasks += [("conversation", FOLLOW_UP)] * 8
    rng.shuffle(tasks)
    assert len(tasks) == 200

    def work(task: tuple[str, Any]) -> Any:
        how, what = task
        if how == "ask":
            return signature(engine.ask(what))
        if how == "stream":
            stream = engine.stream(what)
            shown = "".join(stream)
            assert stream.answer is not None and shown == stream.answer.text
            return signature(stream.answer)
        conv = Conversation()
        return [signature(engine.ask(q, conversation=conv)) for q in what]

    results, errors = run_threads(tasks, work)
    assert not errors, errors[:3]
    for (how, what), result in zip(tasks, results, strict=True):
        expected = alone_follow if how == "conversation" else alone[what]
        assert result == expected, (how, what)


@pytest.mark.slow
def test_llm_answers_from_eight_threads_match_sequential(
    pair: Settings, embedder: Embedder
) -> None:
    """The generative path (a fake model quoting its first passage) is per-question too."""
    engine = Engine(make_settings(pair.store.path, **{"llm.backend": "fake"}), embedder)
    questions = ANSWERABLE + MISSPELT[:2] + OUT_OF_CORPUS[:1]
    alone = {q: signature(engine.ask(q)) for q in questions}
    assert any(sig[3] == "llm:fake" for sig in alone.values())
    tasks = [("ask" if i % 2 else "stream", q) for i, q in enumerate(questions * 4)]

    def work(task: tuple[str, str]) -> Any:
        how, question = task
        if how == "ask":
            return signature(engine.ask(question))
        stream = engine.stream(question)
        "".join(stream)
        assert stream.answer is not None
        return signature(stream.answer)

    results, errors = run_threads(tasks, work)
    assert not errors, errors[:3]
    for (_, question), result in zip(tasks, results, strict=True):
        assert result == alone[question], question


# -- a reader process while another process re-ingests -------------------------------------

DRUG = "Versadine"

VERSION = """---
title: Versadine
lastModified: '{date}'
---
## **Usage**

Versadine is used for chronic plaque psoriasis in adults.

## **Dosage**

### **Adults:**
The recommended dose of versadine is {dose} mg orally once daily.

### **Hepatic Impairment:**
In hepatic impairment, give versadine {dose} mg every other day.

### **Renal Impairment:**
In renal impairment, give versadine {dose} mg twice weekly.

### **Elderly Patients:**
Elderly patients start versadine at {dose} mg once daily and are reviewed after 4 weeks.

## **Side Effects**

Headache, nausea and upper respiratory tract infections; with {dose} mg, diarrhoea.
"""
VERSIONS = {"A": ("4", "2024-01-01"), "B": ("6", "2024-02-02")}
REINGESTS = 12

READER = """
import json, sys, time, traceback
from pathlib import Path
import monorag
from monorag.settings import Settings
from monorag.qa.engine import Engine

url, db, out, stop = sys.argv[1:5]
questions = json.loads(sys.argv[5])
settings = Settings.from_env({}, **{"store.chroma_url": url, "store.path": db})
engine = Engine(settings)
engine.warm_up()
with open(out, "w", encoding="utf-8") as lines:
    ready = False
    while not Path(stop).exists():
        for question in questions:
            row = {"question": question}
            try:
                engine.refresh(every=0)
                answer = engine.ask(question)
                row.update(
                    abstained=answer.abstained,
                    text=answer.text,
                    note=answer.note,
                    citations=[[c.chunk_id, c.last_modified, c.text] for c in answer.citations],
                )
            except Exception:
                row["error"] = traceback.format_exc()
            lines.write(json.dumps(row) + "\\n")
            lines.flush()
        if not ready:
            Path(out + ".ready").write_text("ready")
            ready = True
"""
READER_QUESTIONS = [
    "What is the recommended dose of versadine?",
    "Versadine dose in hepatic impairment?",
    "What is the versadine dose for elderly patients and in renal impairment?",
    "What are the side effects of versadine?",
]


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A `chroma run` server on a free local port, stopped with SIGTERM."""
    with servers.chroma_server(tmp_path / "chroma") as url:
        yield url


def version_text(name: str) -> str:
    dose, date = VERSIONS[name]
    return VERSION.format(dose=dose, date=date)


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("cache", ["own", "shared"])
def test_reader_process_never_sees_a_half_replaced_monograph(
    chroma_server: str, tmp_path: Path, embedder: Embedder, cache: str
) -> None:
    """Re-ingest a monograph alternating between two versions while another process asks.

    ``cache``: the reader has its own data folder (BM25 cache), or shares the writer's, as
    two processes started with the same MONORAG_DB do.
    """
    from monorag.ingest.chunk import chunk_rev
    from monorag.ingest.pipeline import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    monograph = corpus / "versadine.md"
    writer_db = tmp_path / "writer"
    reader_db = writer_db if cache == "shared" else tmp_path / "reader"
    settings = make_settings(writer_db, **{"store.chroma_url": chroma_server})
    revs = {chunk_rev(hashlib.sha256(version_text(v).encode()).hexdigest()): v for v in VERSIONS}

    monograph.write_text(version_text("A"), encoding="utf-8")
    assert ingest([corpus], settings, embedder).ok

    out, stop = tmp_path / "answers.jsonl", tmp_path / "stop"
    script = tmp_path / "reader.py"
    script.write_text(READER, encoding="utf-8")
    args = [chroma_server, str(reader_db), str(out), str(stop), json.dumps(READER_QUESTIONS)]
    log = (tmp_path / "reader.log").open("wb")
    reader = subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=PROJECT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    reports = []
    try:
        deadline = time.monotonic() + 180
        while not Path(f"{out}.ready").exists():
            assert reader.poll() is None, (tmp_path / "reader.log").read_text()
            assert time.monotonic() < deadline, "the reader did not start"
            time.sleep(0.2)
        for i in range(REINGESTS):
            monograph.write_text(version_text("BA"[i % 2]), encoding="utf-8")
            reports.append(ingest([corpus], settings, embedder))
    finally:
        stop.write_text("stop")
        servers.stop(reader, timeout=120, terminate=False)
        log.close()

    assert reader.returncode == 0, (tmp_path / "reader.log").read_text()[-3000:]
    for report in reports:
        assert report.ok and report.indexed == [str(monograph.resolve())], report.to_json()
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    errors = [row["error"] for row in rows if "error" in row]
    assert not errors, errors[0]

    seen: dict[str, int] = {"A": 0, "B": 0}
    for row in rows:
        if row["abstained"]:
            continue
        versions = {revs[chunk_id.rsplit("-", 2)[1]] for chunk_id, _, _ in row["citations"]}
        assert len(versions) == 1, row  # never passages of two revisions in one answer
        (version,) = versions
        dose, date = VERSIONS[version]
        assert all(modified == date for _, modified, _ in row["citations"]), row
        doses = set(re.findall(r"(\d+) mg", row["text"]))
        assert doses <= {dose}, row  # the text too is wholly of that version
        seen[version] += 1
    answered = seen["A"] + seen["B"]
    abstained = len(rows) - answered
    # The reader really raced the writer: it answered from both versions.
    assert seen["A"] and seen["B"], seen
    summary = f"{len(rows)} answers during {REINGESTS} re-ingests: {seen}, {abstained} abstained"
    print(f"\n[{cache} cache] {summary}")


def test_an_engine_that_has_not_noticed_a_reingest_answers_wholly_from_the_old_version(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within its refresh interval an engine answers from the revision it loaded, whole:
    its snapshot maps that revision's reader cache, which a re-ingest replaces but cannot
    change under it (issue 15). The next refresh answers from the new version."""
    from monorag.ingest.pipeline import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    monograph = corpus / "versadine.md"
    monograph.write_text(version_text("A"), encoding="utf-8")
    settings = make_settings(tmp_path / "store")
    assert ingest([corpus], settings, embedder).ok
    engine = Engine(settings, embedder)
    question = READER_QUESTIONS[0]
    assert "4 mg" in engine.ask(question).text

    monograph.write_text(version_text("B"), encoding="utf-8")
    assert ingest([corpus], settings, embedder).ok
    real_refresh = engine.refresh
    # As if the question arrived within the engine's refresh interval: no reload up front.
    monkeypatch.setattr(engine, "refresh", lambda **_: False)
    old = engine.ask(question)
    assert not old.abstained, old.note
    assert "4 mg" in old.text and "6 mg" not in old.text
    assert {c.last_modified for c in old.citations} == {VERSIONS["A"][1]}

    monkeypatch.setattr(engine, "refresh", real_refresh)
    assert engine.refresh(every=0.0)
    answer = engine.ask(question)
    assert not answer.abstained, answer.note
    assert "6 mg" in answer.text and "4 mg" not in answer.text
    assert {c.last_modified for c in answer.citations} == {VERSIONS["B"][1]}
