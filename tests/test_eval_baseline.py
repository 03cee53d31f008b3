from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from pydantic import Field

from monorag.eval.baseline import (
    CHUNK_SIZE,
    LangChainBaseline,
    drop_faq,
    first_sentences,
    load_text,
    sections_of,
)
from monorag.ingest.parse import parse_file
from monorag.types import Monograph, Section

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

SECOND = """---
title: Zorbanib
description: A made-up kinase inhibitor used only in tests.
lastModified: '2025-01-01T00:00:00Z'
faqs: []
---
## **Usage**

Zorbanib treats chronic plaque psoriasis of the scalp in adults who failed topical therapy.

## **Dosage**

Take one 15 mg tablet every morning with breakfast. Reduce to 10 mg in moderate hepatic impairment.
"""


class RecordingChat(FakeListChatModel):
    """A LangChain fake chat model that keeps the messages it was sent."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        self.seen.append(list(messages))
        return super()._call(messages, *args, **kwargs)


# ---------------------------------------------------------------------------
# Plain helpers (no model)
# ---------------------------------------------------------------------------


def test_load_text_drops_front_matter_only(tmp_path: Path) -> None:
    path = tmp_path / "zorbanib.md"
    path.write_text(SECOND, encoding="utf-8")
    text = load_text(path)
    assert text.startswith("## **Usage**")
    assert "lastModified" not in text
    assert "15 mg tablet" in text


def test_drop_faq_removes_faq_sections_up_to_the_next_heading() -> None:
    md = (
        "## **Dosage**\nTake 4 mg.\n\n## **FAQs (Frequently Asked Questions)**\n"
        "### **Q1: Dose?**\n**A:** 4 mg.\n\n## **Storage**\nKeep dry.\n"
        "## Frequently asked questions\nQ: x\n"
    )
    out = drop_faq(md)
    assert "Take 4 mg." in out and "Keep dry." in out
    assert "Q1" not in out and "FAQs" not in out and "Q: x" not in out
    assert drop_faq("## **Dosage**\nTake 4 mg.") == "## **Dosage**\nTake 4 mg."


def test_first_sentences() -> None:
    chunk = (
        "## **Dosage**\n\n#### **Adults:**\nFor MM: 4 mg daily. For KS: 5 mg daily.\n"
        "* **Renal:** No adjustment.\n* Fourth item."
    )
    assert first_sentences(chunk) == "For MM: 4 mg daily. For KS: 5 mg daily. Renal: No adjustment."
    assert first_sentences(chunk, 1) == "For MM: 4 mg daily."
    assert first_sentences("## **Heading only**") == ""


def _mono(*sections: Section) -> Monograph:
    return Monograph(
        title="Zorbanib",
        source="zorbanib.md",
        key="zorbanib.md",
        description="",
        last_modified="",
        aliases=["Zorbanib"],
        faqs=[],
        sections=list(sections),
        sha256="",
    )


def test_sections_of_maps_text_to_sections_by_containment() -> None:
    adults = Section("Adults", 2, ("Dosage", "Adults"), "Take one 15 mg tablet every morning.")
    renal = Section(
        "Renal", 2, ("Dosage", "Renal"), "* No adjustment is needed in renal impairment."
    )
    dosage = Section("Dosage", 1, ("Dosage",), "", [adults, renal])
    usage = Section("Usage", 1, ("Usage",), "Zorbanib treats chronic plaque psoriasis in adults.")
    mono = _mono(usage, dosage)

    chunk = (
        "## **Dosage**\n### **Adults**\nTake one **15 mg** tablet every morning.\n"
        "### **Renal**\n* No adjustment is needed in renal impairment."
    )
    assert sections_of(chunk, mono) == ["Dosage › Adults", "Dosage › Renal"]
    # A chunk cut mid-sentence still maps by the part it holds, if that part is not tiny.
    assert sections_of("treats chronic plaque psoriasis in adults.", mono) == ["Usage"]
    assert sections_of("psoriasis in adults.", mono) == []
    # Headings alone or unrelated text map nowhere.
    assert sections_of("## **Dosage**\n### **Adults**", mono) == []
    assert sections_of("Store below 25 degrees in the original package.", mono) == []


def test_split_uses_recursive_character_chunks_with_overlap() -> None:
    baseline = LangChainBaseline([CORPUS / "pomalidomide.md"], None)
    chunks = baseline.split()
    assert len(chunks) > 5
    assert all(len(text) <= CHUNK_SIZE for text, _ in chunks)
    assert all(meta["source"] == "pomalidomide.md" for _, meta in chunks)
    body = load_text(CORPUS / "pomalidomide.md")
    for text, meta in chunks:
        assert body[meta["start_index"] : meta["start_index"] + len(text)] == text
    # Neighbouring chunks share text (chunk_overlap=200) somewhere in the file.
    starts = [meta["start_index"] for _, meta in chunks]
    ends = [meta["start_index"] + len(text) for text, meta in chunks]
    assert any(ends[i] > starts[i + 1] for i in range(len(chunks) - 1))
    # The body's FAQ section is indexed unless dropped.
    assert any("Frequently Asked Questions" in text for text, _ in chunks)
    dropped = LangChainBaseline([CORPUS / "pomalidomide.md"], None, drop_faq_sections=True)
    assert not any("Frequently Asked Questions" in text for text, _ in dropped.split())


# ---------------------------------------------------------------------------
# The real pipeline: real embedding model, real Chroma on disk
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("baseline-corpus")
    shutil.copy(CORPUS / "pomalidomide.md", folder / "pomalidomide.md")
    (folder / "zorbanib.md").write_text(SECOND, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def built(
    corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LangChainBaseline, int, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []
    baseline = LangChainBaseline(
        sorted(corpus_dir.glob("*.md")), tmp_path_factory.mktemp("baseline-db"), root=corpus_dir
    )
    count = baseline.build(progress=lambda done, total: calls.append((done, total)), batch=8)
    return baseline, count, calls


@pytest.mark.slow
def test_build_indexes_every_chunk(built: tuple[LangChainBaseline, int, list]) -> None:
    baseline, count, calls = built
    assert count == len(baseline.split())
    assert calls[-1] == (count, count)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert baseline.store._collection.count() == count


@pytest.mark.slow
def test_retrieve_top4_with_relevance_scores(built: tuple[LangChainBaseline, int, list]) -> None:
    baseline = built[0]
    hits = baseline.retrieve("What dose of zorbanib is used for scalp psoriasis?")
    assert len(hits) == 4
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert hits[0].source == "zorbanib.md"
    assert {h.source for h in hits} <= {"zorbanib.md", "pomalidomide.md"}
    assert len(baseline.retrieve("renal impairment", k=2)) == 2


@pytest.mark.slow
def test_retrieved_chunks_map_to_sections(built: tuple[LangChainBaseline, int, list]) -> None:
    baseline = built[0]
    mono = parse_file(CORPUS / "pomalidomide.md")
    hits = baseline.retrieve("pomalidomide dose in patients with renal impairment on dialysis")
    pomalidomide = [h for h in hits if h.source == "pomalidomide.md"]
    assert pomalidomide
    renal = [
        s.heading for s in mono.all_sections() if "hemodialysis" in s.text and "Renal" in s.text
    ]
    assert any(set(renal) & set(sections_of(h.text, mono)) for h in pomalidomide)
    # Every mapped section really contains text of the chunk.
    for hit in pomalidomide:
        for heading in sections_of(hit.text, mono):
            section = next(s for s in mono.all_sections() if s.heading == heading)
            assert section.text


@pytest.mark.slow
def test_answer_without_llm_is_top_chunk_sentences(
    built: tuple[LangChainBaseline, int, list],
) -> None:
    baseline = built[0]
    answer = baseline.answer("How should zorbanib be dosed in hepatic impairment?")
    assert not answer.abstained
    assert answer.sources == ["zorbanib.md"]
    assert "15 mg" in answer.text
    assert answer.text == first_sentences(answer.chunks[0].text)
    flat_chunk = " ".join(answer.chunks[0].text.replace("**", "").split())
    assert answer.text.split(". ")[0] in flat_chunk


@pytest.mark.slow
def test_answer_with_chat_model_stuffs_the_context(
    built: tuple[LangChainBaseline, int, list],
) -> None:
    chat = RecordingChat(responses=["Take 15 mg each morning.", "I don't know."])
    baseline = LangChainBaseline(
        built[0].files, built[0].persist_dir, chat_model=chat, root=built[0].root
    )
    baseline._embeddings = built[0].embeddings  # reuse the loaded model
    answer = baseline.answer("Zorbanib dose?")
    assert answer.text == "Take 15 mg each morning."
    assert not answer.abstained
    assert len(answer.chunks) == 4
    assert answer.sources == list(dict.fromkeys(c.source for c in answer.chunks))
    system, human = chat.seen[0]
    assert human.content == "Zorbanib dose?"
    assert all(c.text in str(system.content) for c in answer.chunks)
    assert "don't know" in str(system.content)

    unknown = baseline.answer("How much does zorbanib cost?")
    assert unknown.abstained


@pytest.mark.slow
def test_index_persists_and_rebuild_does_not_duplicate(
    built: tuple[LangChainBaseline, int, list],
) -> None:
    first, count, _ = built
    reopened = LangChainBaseline(first.files, first.persist_dir, root=first.root)
    reopened._embeddings = first.embeddings
    question = "pomalidomide drug interactions with warfarin"
    assert [h.text for h in reopened.retrieve(question)] == [
        h.text for h in first.retrieve(question)
    ]
    assert reopened.build() == count
    assert reopened.store._collection.count() == count


@pytest.mark.slow
def test_empty_index_abstains(built: tuple[LangChainBaseline, int, list]) -> None:
    empty = LangChainBaseline([], None, collection="baseline-empty-test")
    empty._embeddings = built[0].embeddings
    assert empty.build() == 0
    assert empty.retrieve("anything") == []
    answer = empty.answer("anything")
    assert answer.abstained and answer.text == "" and answer.sources == []
