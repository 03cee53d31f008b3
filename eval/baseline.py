"""The plain LangChain RAG pipeline that monorag is measured against.

What a tutorial would build, kept plain on purpose:

- load each file with python-frontmatter and keep its ``content`` (the markdown body,
  FAQ section included; the YAML front matter is dropped, as a markdown loader that
  understands front matter would do);
- split with ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``: no
  section awareness, no heading path in the chunks;
- embed with ``HuggingFaceEmbeddings`` (the same local all-MiniLM-L6-v2 folder monorag
  uses, normalised, at the same precision: bfloat16 weights where monorag computes in
  bfloat16, so that comparisons measure the pipelines and not the arithmetic)
  into ``langchain_chroma.Chroma`` on an explicit chromadb client with a cosine index;
- retrieve the top 4 by ``similarity_search_with_relevance_scores``;
- answer with a "stuff" prompt when a LangChain chat model is given, otherwise with the
  first three sentences of the top chunk. It never abstains unless nothing is indexed
  (or, with a chat model, the model says it does not know).

``drop_faq_sections=True`` removes the body's FAQ section before splitting: evaluating on
FAQ questions while the verbatim answers sit in the index measures lookup, not QA (the
harness excludes the asked FAQ from monorag for the same reason).

``sections_of`` maps a baseline chunk back to the monograph sections its text comes
from, so retrieval metrics can be computed for chunks that carry no headings.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import frontmatter

from monorag.embed import default_model_path
from monorag.types import Monograph

if TYPE_CHECKING:
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4
ANSWER_SENTENCES = 3
DEFAULT_COLLECTION = "langchain-baseline"

STUFF_SYSTEM_PROMPT = (
    "Use the following pieces of context to answer the question at the end. "
    "If you don't know the answer, just say that you don't know, don't try to make up "
    "an answer.\n\n{context}"
)
"""LangChain's classic "stuff" QA prompt."""

_DONT_KNOW = re.compile(r"\b(?:i\s+)?(?:don't|do not|cannot|can't)\s+(?:know|answer)\b", re.I)
_FAQ_HEADING = re.compile(r"^#{1,6}\s*\**\s*(?:faqs?\b|frequently asked questions)", re.I)
_HEADING = re.compile(r"^(#{1,6})\s")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[*]?[A-Z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")


class RetrievedChunk(NamedTuple):
    """One retrieved baseline chunk: its text, source file name and relevance (0-1)."""

    text: str
    source: str
    score: float


@dataclass(slots=True)
class BaselineAnswer:
    """What the baseline answers: text, the source files it drew on, and abstention."""

    text: str
    sources: list[str]
    abstained: bool = False
    chunks: list[RetrievedChunk] = field(default_factory=list)
    """The retrieved chunks the answer was made from."""


def load_text(path: Path, drop_faq_sections: bool = False) -> str:
    """A file's markdown body as a plain pipeline loads it (front matter removed)."""
    content = frontmatter.loads(path.read_text(encoding="utf-8")).content
    return drop_faq(content) if drop_faq_sections else content


def drop_faq(markdown: str) -> str:
    """``markdown`` without its FAQ sections (a FAQ heading up to the next heading of its level)."""
    out: list[str] = []
    skipping_level: int | None = None
    for line in markdown.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            if skipping_level is not None and level <= skipping_level:
                skipping_level = None
            if skipping_level is None and _FAQ_HEADING.match(line):
                skipping_level = level
        if skipping_level is None:
            out.append(line)
    return "\n".join(out)


def first_sentences(text: str, n: int = ANSWER_SENTENCES) -> str:
    """The first ``n`` sentences of a chunk: heading lines skipped, markup removed.

    A list item or a line without end punctuation counts as a sentence.
    """
    sentences: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or _HEADING.match(line):
            continue
        line = _BULLET.sub("", line).replace("**", "").replace("__", "")
        line = " ".join(line.split())
        sentences += [s for s in _SENTENCE_END.split(line) if s]
        if len(sentences) >= n:
            break
    return " ".join(sentences[:n])


class LangChainBaseline:
    """Plain LangChain RAG over whole monograph files (see the module docstring).

    ``persist_dir`` holds a chromadb ``PersistentClient`` (telemetry off); ``None`` uses an
    in-memory ``EphemeralClient`` (ephemeral clients of one process share their
    collections, so give each baseline its own ``collection``). ``root`` makes sources
    relative paths like monorag's; without it a source is the file name.
    """

    def __init__(
        self,
        files: Sequence[Path],
        persist_dir: Path | None,
        *,
        chat_model: BaseChatModel | None = None,
        embeddings: Embeddings | None = None,
        collection: str = DEFAULT_COLLECTION,
        root: Path | None = None,
        drop_faq_sections: bool = False,
        chunk_size: int = CHUNK_SIZE,
        chunk_overlap: int = CHUNK_OVERLAP,
        precision: str = "float32",
    ) -> None:
        self.files = [Path(f) for f in files]
        self.persist_dir = Path(persist_dir) if persist_dir is not None else None
        self.chat_model = chat_model
        self.collection = collection
        self.root = root
        self.drop_faq_sections = drop_faq_sections
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.precision = precision
        self._embeddings = embeddings
        self._store: Chroma | None = None

    @property
    def embeddings(self) -> Embeddings:
        """The LangChain embeddings (the local all-MiniLM-L6-v2 folder, loaded on first use)."""
        if self._embeddings is None:
            from langchain_huggingface import HuggingFaceEmbeddings

            model_kwargs: dict[str, Any] = {"device": "cpu", "local_files_only": True}
            if self.precision == "bfloat16":
                model_kwargs["model_kwargs"] = {"dtype": "bfloat16"}
            self._embeddings = HuggingFaceEmbeddings(
                model_name=str(default_model_path()),
                model_kwargs=model_kwargs,
                encode_kwargs={"normalize_embeddings": True},
            )
        return self._embeddings

    @property
    def store(self) -> Chroma:
        """The LangChain Chroma vector store (opened, or created empty, on first use)."""
        if self._store is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings
            from langchain_chroma import Chroma

            chroma_settings = ChromaSettings(anonymized_telemetry=False)
            if self.persist_dir is not None:
                self.persist_dir.mkdir(parents=True, exist_ok=True)
                client: Any = chromadb.PersistentClient(
                    path=str(self.persist_dir), settings=chroma_settings
                )
            else:
                client = chromadb.EphemeralClient(settings=chroma_settings)
            self._store = Chroma(
                client=client,
                collection_name=self.collection,
                embedding_function=self.embeddings,
                collection_configuration={"hnsw": {"space": "cosine"}},
            )
        return self._store

    def source_of(self, path: Path) -> str:
        """How a file is named in ``sources``: relative to ``root`` when given, else its name."""
        if self.root is not None:
            try:
                return path.resolve().relative_to(Path(self.root).resolve()).as_posix()
            except ValueError:
                pass
        return path.name

    def split(self) -> list[tuple[str, dict[str, Any]]]:
        """Every chunk of every file with its metadata (``source``, ``start_index``)."""
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap, add_start_index=True
        )
        out: list[tuple[str, dict[str, Any]]] = []
        for path in self.files:
            text = load_text(path, self.drop_faq_sections)
            docs = splitter.create_documents([text], metadatas=[{"source": self.source_of(path)}])
            out += [(d.page_content, dict(d.metadata)) for d in docs]
        return out

    def build(self, progress: Callable[[int, int], None] | None = None, batch: int = 64) -> int:
        """(Re)build the index from ``files``; returns the number of chunks.

        ``progress(done, total)`` is called after each batch of chunks is embedded and added.
        """
        chunks = self.split()
        store = self.store
        store.reset_collection()
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            store.add_texts(
                texts=[text for text, _ in part],
                metadatas=[meta for _, meta in part],
                ids=[f"{meta['source']}:{meta['start_index']}" for _, meta in part],
            )
            if progress is not None:
                progress(start + len(part), len(chunks))
        return len(chunks)

    def retrieve(self, question: str, k: int = TOP_K) -> list[RetrievedChunk]:
        """The ``k`` chunks most similar to ``question``, best first, with 0-1 relevance."""
        with warnings.catch_warnings():
            # Cosine relevance is 1 - distance, slightly below 0 for an opposed vector;
            # LangChain warns about it but the ranking is still right.
            warnings.filterwarnings("ignore", message="Relevance scores must be between")
            hits = self.store.similarity_search_with_relevance_scores(question, k=k)
        return [
            RetrievedChunk(doc.page_content, str(doc.metadata.get("source", "")), float(score))
            for doc, score in hits
        ]

    def answer(
        self,
        question: str,
        k: int = TOP_K,
        retrieved: Sequence[RetrievedChunk] | None = None,
    ) -> BaselineAnswer:
        """Answer from the top ``k`` chunks: "stuff" prompt with a chat model, else extractive.

        Without a chat model the answer is the first three sentences of the top chunk and
        its source; with one, the model's reply over all ``k`` chunks and their sources,
        counted as an abstention when it says it does not know. ``retrieved`` passes the
        result of an earlier ``retrieve`` of the same question (at least ``k`` deep) so
        that the question is not embedded twice.
        """
        chunks = list(retrieved[:k]) if retrieved is not None else self.retrieve(question, k=k)
        if not chunks:
            return BaselineAnswer(text="", sources=[], abstained=True, chunks=[])
        if self.chat_model is None:
            top = chunks[0]
            return BaselineAnswer(
                text=first_sentences(top.text), sources=[top.source], chunks=chunks[:1]
            )
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [("system", STUFF_SYSTEM_PROMPT), ("human", "{question}")]
        )
        chain = prompt | self.chat_model | StrOutputParser()
        context = "\n\n".join(c.text for c in chunks)
        text = chain.invoke({"context": context, "question": question}).strip()
        sources = list(dict.fromkeys(c.source for c in chunks))
        return BaselineAnswer(
            text=text, sources=sources, abstained=bool(_DONT_KNOW.search(text)), chunks=chunks
        )


# ---------------------------------------------------------------------------
# Mapping chunks to sections
# ---------------------------------------------------------------------------

_MIN_SEGMENT = 8
_MIN_OVERLAP = 40


def _flat(text: str) -> str:
    text = text.replace("**", "").replace("__", "")
    return " ".join(text.split()).casefold()


def _segments(chunk_text: str) -> list[str]:
    """Lines and sentences of a chunk (heading lines and list markers removed), flattened."""
    out: list[str] = []
    for raw in chunk_text.split("\n"):
        line = raw.strip()
        if not line or _HEADING.match(line):
            continue
        line = _BULLET.sub("", line)
        for sentence in _SENTENCE_END.split(line):
            flat = _flat(sentence)
            if len(flat) >= _MIN_SEGMENT:
                out.append(flat)
    return out


def sections_of(chunk_text: str, monograph: Monograph) -> list[str]:
    """Heading paths (``Dosage › Standard Dosage › Adults``) of the sections a chunk's text is from.

    The chunk is cut into lines and sentences; a section counts when the segments found
    verbatim in its text (ignoring case, whitespace and bold markers) add up to at least
    40 characters, or to all of the section's text when it is shorter. Sections come in
    document order. A chunk from the body's FAQ section maps to no section (the parsed
    monograph keeps FAQ pairs apart from its sections), so it gives ``[]``.
    """
    segments = _segments(chunk_text)
    out: list[str] = []
    for section in monograph.all_sections():
        text = _flat(section.text)
        if not text:
            continue
        covered = sum(len(s) for s in segments if s in text)
        if covered and covered >= min(_MIN_OVERLAP, len(text)):
            out.append(section.heading)
    return out
