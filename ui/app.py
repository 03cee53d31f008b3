"""The clinicians' chat: questions in, short cited answers from the monographs out.

Run with ``streamlit run app.py`` (or ``make run``). Settings come from ``MONORAG_*``
environment variables, read once per run in ``read_config``; ``MONORAG_CORPUS`` names the
folder of monographs to index on first start (default: ``corpus/``).

Nothing from a monograph or an LLM is rendered as HTML: all of it is escaped markdown
(see ``monorag.ui``). Provider SDKs are reached only through ``qa.llm``/``qa.generate``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

import monorag  # noqa: F401  - sets the offline switches before heavy libraries load
from monorag.errors import MonoragError
from monorag.qa.conversation import Conversation
from monorag.qa.engine import MAX_QUESTION_CHARS, Engine, MonographInfo
from monorag.settings import DEFAULT_CORPUS, Settings
from monorag.ui import present

if TYPE_CHECKING:
    from monorag.ingest.pipeline import Progress

log = logging.getLogger("monorag.app")

ALL_MONOGRAPHS = "All monographs"
DISCLAIMER = (
    "Answers come only from the drug monographs in the index and cite the sections they "
    "are taken from. They are not a substitute for clinical judgement."
)
USER_AVATAR = ":material/person:"
ASSISTANT_AVATAR = ":material/medical_information:"
STAGES = {"scan": "Checking files", "embed": "Embedding passages", "index": "Building the index"}
# Seconds between progress-bar updates (each is a message to the browser). No bare strings
# at module level in this file: Streamlit's "magic" would print them on the page.
PROGRESS_EVERY = 0.2
# A cited passage longer than this scrolls within a box of this height (pixels).
LONG_PASSAGE_CHARS = 600
PASSAGE_HEIGHT = 280
SEARCHING = ":material/progress_activity: Searching the monographs…"


@dataclass(frozen=True)
class AppConfig:
    """What the app reads from its environment."""

    settings: Settings
    corpus: Path
    """Folder of monographs indexed on first start."""


@dataclass(frozen=True)
class Choices:
    """The sidebar's choices for the next question."""

    drug: str | None
    use_llm: bool
    k: int


def read_config(env: Mapping[str, str]) -> AppConfig:
    """Settings from ``MONORAG_*`` variables, plus the app-only ``MONORAG_CORPUS`` folder."""
    corpus = (env.get("MONORAG_CORPUS") or "").strip()
    return AppConfig(
        settings=Settings.from_env(env),
        corpus=Path(corpus).expanduser() if corpus else DEFAULT_CORPUS,
    )


# -- process-wide resources ------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _locks() -> dict[str, threading.Lock]:
    # One ingest at a time per process: an embedded Chroma store has one writer.
    return {"ingest": threading.Lock()}


@st.cache_resource(show_spinner="Loading the monograph index and the embedding model…")
def _load_engine(key: str, _settings: Settings) -> Engine:
    """One engine per distinct settings (``key``) per process; the model loads once."""
    engine = Engine(_settings)
    engine.warm_up()
    return engine


def engine_for(settings: Settings) -> Engine:
    """The engine of these settings (extractive or LLM mode is chosen per question)."""
    return _load_engine(settings.model_dump_json(), settings)


# -- first start: index the corpus -------------------------------------------------------------


def ensure_index(config: AppConfig) -> bool:
    """Once per session: ingest the corpus if the store is missing or older than it.

    Returns True when it ingested.
    """
    if st.session_state.get("index_checked"):
        return False
    with _locks()["ingest"]:
        state = present.corpus_state(config.corpus, config.settings.store)
        if state.stale:
            run_ingest(config, state.reason)
    st.session_state.index_checked = True
    return state.stale


def run_ingest(config: AppConfig, reason: str) -> None:
    """Ingest ``config.corpus`` with a visible progress bar."""
    from monorag.embed import get_embedder
    from monorag.ingest.pipeline import ingest

    settings = config.settings
    where = present.escape_markdown(config.corpus.name or str(config.corpus))
    with st.status(f"Indexing the monographs in {where}/ ({reason})…", expanded=True) as status:
        bar = st.progress(0.0, text="Loading the embedding model…")
        shown = [0.0]

        def update(event: Progress) -> None:
            now = time.monotonic()
            if 0 < event.done < event.total and now - shown[0] < PROGRESS_EVERY:
                return
            shown[0] = now
            fraction = min(event.done / event.total, 1.0) if event.total else 1.0
            stage = STAGES.get(event.stage, event.stage)
            bar.progress(fraction, text=f"{stage}: {event.done:,} of {event.total:,}")

        try:
            report = ingest(
                [config.corpus], settings, get_embedder(settings.embedding), progress=update
            )
        except MonoragError:
            status.update(label="Indexing failed", state="error", expanded=True)
            raise
        for failure in report.failed[:20]:
            st.warning(
                present.escape_markdown(f"{failure.path}: {failure.reason}"),
                icon=":material/warning:",
            )
        status.update(
            label=f"Indexed {present.plural(len(report.indexed), 'monograph file')} in "
            f"{report.seconds:.0f} s; the index holds "
            f"{present.plural(report.monographs_total, 'monograph')}",
            state="complete" if report.ok else "error",
            expanded=not report.ok,
        )


# -- sidebar ---------------------------------------------------------------------------------


def clear_conversation() -> None:
    """Forget the chat and the follow-up context."""
    st.session_state.history = []
    st.session_state.conversation = Conversation()


def sidebar(config: AppConfig, monographs: list[MonographInfo]) -> Choices:
    """Index contents and the question options."""
    settings = config.settings
    with st.sidebar:
        st.header("Monographs", divider="gray")
        passages = sum(m.chunks for m in monographs)
        st.markdown(
            f"**{len(monographs):,}** {'monograph' if len(monographs) == 1 else 'monographs'}"
            f" · **{passages:,}** {'passage' if passages == 1 else 'passages'} indexed"
        )
        with st.expander("Browse the index", expanded=len(monographs) <= 8):
            st.dataframe(
                [
                    {"Monograph": m.title, "Last modified": present.format_date(m.last_modified)}
                    for m in monographs
                ],
                hide_index=True,
                width="stretch",
                height=min(36 + 35 * max(len(monographs), 1), 300),
            )
        titles = list(dict.fromkeys(m.title for m in monographs))
        drug = st.selectbox(
            "Drug filter",
            [ALL_MONOGRAPHS, *titles],
            key="drug",
            help="Answer only from this monograph.",
        )

        st.header("Answers", divider="gray")
        use_llm = False
        if settings.llm.enabled:
            from monorag.qa.llm import describe

            mode = st.radio(
                "Answer mode",
                ["llm", "extractive"],
                format_func=lambda m: (
                    f"LLM: {describe(settings.llm)}"
                    if m == "llm"
                    else "Extractive: quoted sentences only"
                ),
                key="mode",
            )
            use_llm = mode == "llm"
        else:
            st.markdown("**Answer mode:** extractive (quoted sentences only)")
            st.caption("Set MONORAG_LLM and MONORAG_LLM_MODEL to add an LLM answer mode.")
        default_k = settings.retrieve.k
        k = st.slider(
            "Passages per answer (k)",
            min_value=1,
            max_value=max(20, default_k),
            value=default_k,
            key="k",
            help="How many retrieved monograph passages the answer may draw on.",
        )
        st.button(
            "Clear conversation",
            icon=":material/delete_sweep:",
            on_click=clear_conversation,
            width="stretch",
        )
    return Choices(drug=None if drug == ALL_MONOGRAPHS else drug, use_llm=use_llm, k=int(k))


# -- chat ------------------------------------------------------------------------------------


def show_exchange(exchange: present.Exchange, monographs: int) -> None:
    """The assistant's side of one exchange: answer, abstention or error."""
    if exchange.error:
        st.error(
            present.escape_markdown(exchange.error),
            title="No answer could be produced",
            icon=":material/error:",
        )
        return
    answer = exchange.answer
    if answer is None:
        return
    filtered = f" · drug filter: {present.escape_markdown(exchange.drug)}" if exchange.drug else ""
    if answer.abstained:
        st.warning(
            present.escape_markdown(answer.text),
            title="Not answered from the monographs",
            icon=":material/search_off:",
        )
        note = f" · {present.escape_markdown(answer.note)}" if answer.note else ""
        st.caption(
            f"{present.searched_markdown(answer, monographs)}{note}"
            f" · {exchange.seconds:.1f} s{filtered}"
        )
        return
    st.markdown(present.answer_markdown(answer.text, answer.citations))
    if answer.mode == "extractive-fallback":
        st.info(present.escape_markdown(answer.note), icon=":material/info:")
    elif answer.note:
        st.caption(present.escape_markdown(answer.note))
    if answer.citations:
        st.markdown("  \n".join(present.citation_line(c) for c in answer.citations))
        with st.expander(f"Sources ({len(answer.citations)})", icon=":material/menu_book:"):
            for i, citation in enumerate(answer.citations):
                if i:
                    st.divider()
                st.markdown(f"**{present.citation_markdown(citation)}**")
                st.caption(present.citation_caption(citation))
                # A long passage scrolls inside its own box: on a phone it would otherwise
                # push the next source, and the chat input, several screens away.
                long = len(citation.text) > LONG_PASSAGE_CHARS
                with st.container(height=PASSAGE_HEIGHT if long else "content"):
                    st.markdown(present.passage_markdown(citation.text, citation.quote))
            if answer.trace is not None:
                st.divider()
                st.caption(present.trace_markdown(answer.trace))
    st.caption(f"{present.mode_label(answer.mode)} · {exchange.seconds:.1f} s{filtered}")


def show_history(monographs: int) -> None:
    """Every exchange so far."""
    for exchange in st.session_state.history:
        with st.chat_message("user", avatar=USER_AVATAR):
            st.markdown(present.escape_markdown(exchange.question))
        with st.chat_message("assistant", avatar=ASSISTANT_AVATAR), st.empty().container():
            # The same layout as ``respond`` gives a new answer (one placeholder holding it):
            # elements keep their places across reruns, so Streamlit has no stale copy of
            # the previous answer's caption to show faded while the next one is computed.
            show_exchange(exchange, monographs)


def respond(question: str, config: AppConfig, choices: Choices, monographs: int) -> None:
    """Answer ``question`` (streamed in LLM mode), show it and add it to the history."""
    exchange = present.Exchange(
        question=question, drug=choices.drug or "", streamed=choices.use_llm
    )
    conversation: Conversation = st.session_state.conversation
    with st.chat_message("user", avatar=USER_AVATAR):
        st.markdown(present.escape_markdown(question))
    with st.chat_message("assistant", avatar=ASSISTANT_AVATAR):
        started = time.perf_counter()
        slot = st.empty()
        # Shown at once in the new bubble (a spinner appears only after a delay, leaving
        # the bubble empty meanwhile), then replaced in place by the answer.
        slot.caption(SEARCHING)
        try:
            engine = engine_for(config.settings)
            if choices.use_llm:
                stream = engine.stream(
                    question, conversation=conversation, drug=choices.drug, k=choices.k, llm=True
                )
                with slot.container():
                    st.write_stream(_escaped(iter(stream)))
                exchange.answer = stream.answer
            else:
                exchange.answer = engine.ask(
                    question,
                    conversation=conversation,
                    drug=choices.drug,
                    k=choices.k,
                    llm=False,
                )
        except MonoragError as exc:
            exchange.error = str(exc)
        except Exception as exc:
            # A clinician gets a message, the server log gets the traceback.
            log.exception("answering %r failed", question)
            exchange.error = (
                f"an unexpected error occurred ({type(exc).__name__}); "
                "the details are in the server log"
            )
        exchange.seconds = time.perf_counter() - started
        with slot.container():
            show_exchange(exchange, monographs)
    st.session_state.history.append(exchange)


def _escaped(pieces: Iterator[str]) -> Iterator[str]:
    # Streamed text is shown as it comes, so it is escaped as it comes.
    for piece in pieces:
        yield present.escape_markdown(piece, keep_leading=True)


def fail(title: str, exc: BaseException) -> None:
    """Show a setup error and stop the run."""
    st.error(present.escape_markdown(str(exc)), title=title, icon=":material/error:")
    st.stop()


def main() -> None:
    """Render the page."""
    st.set_page_config(
        page_title="Monograph assistant",
        page_icon="💊",  # a material icon would make the browser fetch it from Google
        layout="centered",
        # "auto": open on a desktop, closed on a phone, where an open sidebar covers the
        # chat and blocks every tap until it is dismissed.
        initial_sidebar_state="auto",
    )
    st.title("Monograph assistant", anchor=False)
    st.caption(DISCLAIMER)
    st.session_state.setdefault("history", [])
    st.session_state.setdefault("conversation", Conversation())
    try:
        config = read_config(os.environ)
    except MonoragError as exc:
        fail("The settings are invalid", exc)
        return
    try:
        ingested = ensure_index(config)
        engine = engine_for(config.settings)
        # A cached engine may predate this session's ingest: look at the store now.
        engine.refresh(every=0.0 if ingested else 1.0)
        monographs = engine.monographs()
    except MonoragError as exc:
        fail("The monograph index cannot be used", exc)
        return
    except Exception as exc:
        log.exception("opening the monograph index failed")
        fail(
            "The monograph index cannot be used",
            RuntimeError(f"unexpected {type(exc).__name__}; the details are in the server log"),
        )
        return
    choices = sidebar(config, monographs)
    intro = st.empty()
    if not st.session_state.history:
        intro.markdown(
            "Ask about a drug in the index: dosage, side effects, interactions, "
            "contraindications, pregnancy. Each answer names the monograph sections it "
            "comes from; when the monographs do not say, you are told so."
        )
    show_history(len(monographs))
    question = st.chat_input("Ask a question about a drug…", max_chars=MAX_QUESTION_CHARS)
    if question:
        intro.empty()
        respond(question, config, choices, len(monographs))


if __name__ == "__main__":  # `streamlit run` executes this file as __main__
    main()
