"""The Streamlit chat (app.py) under streamlit.testing.v1.AppTest, plus its pure helpers.

AppTest runs the script in this process with the real engine, Chroma and embedding model.
Most tests share one two-monograph store (the seed plus one EMA leaflet), which the first
app run indexes; ``st.cache_resource`` then keeps its engine for the rest of the module.
"""

from __future__ import annotations

import ast
import re
import shutil
import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from monorag.embed import Embedder
from monorag.settings import StoreSettings
from monorag.types import Answer, Citation
from monorag.ui import present
from tests.conftest import EMA, PROJECT, SEED

APP = str(PROJECT / "app.py")
TIMEOUT = 240.0
"""First run ingests and loads the model; on a loaded 2-core box that can take minutes."""
SECOND = "abiraterone.md"
DOSE = re.compile(r"\b\d+(?:\.\d+)?\s?(?:mg|microgram|g|ml|mL)\b")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def plain(markdown: str) -> str:
    """Markdown written by the app, back to the text a reader sees (escapes removed)."""
    return _UNESCAPE.sub(r"\1", markdown).replace(present.WORD_JOINER, "")


def texts(block: object) -> str:
    """All markdown-ish text under an AppTest block, unescaped."""
    parts = [m.value for m in block.markdown]  # type: ignore[attr-defined]
    parts += [m.value for m in block.caption]  # type: ignore[attr-defined]
    parts += [m.value for m in block.warning]  # type: ignore[attr-defined]
    parts += [m.value for m in block.error]  # type: ignore[attr-defined]
    parts += [m.value for m in block.info]  # type: ignore[attr-defined]
    return plain("\n".join(parts))


@pytest.fixture(scope="module")
def two_monographs(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[Path, Path]:
    """A corpus of the seed plus one EMA leaflet, and the (not yet built) store for it.

    The app embeds with the real model, the session's ``embedder`` (one shared instance
    per process): every test on this fixture is an integration test.
    """
    if not (EMA / SECOND).is_file():
        pytest.fail(f"{EMA / SECOND} is missing: the EMA corpus must sit in ../shared")
    work = tmp_path_factory.mktemp("app")
    corpus = work / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    shutil.copy(EMA / SECOND, corpus / SECOND)
    return corpus, work / "store"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, two_monographs: tuple[Path, Path]) -> AppTest:
    """The app on the shared two-monograph store, after its first run."""
    corpus, store = two_monographs
    monkeypatch.setenv("MONORAG_CORPUS", str(corpus))
    monkeypatch.setenv("MONORAG_DB", str(store))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def ask(at: AppTest, question: str) -> object:
    """Send ``question`` and return the answer's chat message."""
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    message = at.chat_message[-1]
    assert message.name == "assistant"
    return message


def last_answer(at: AppTest) -> Answer:
    exchange = at.session_state["history"][-1]
    assert exchange.answer is not None, exchange.error
    return exchange.answer


def assert_no_html(at: AppTest) -> None:
    every = [*at.markdown, *at.caption, *at.sidebar.markdown]
    assert every and not any(m.allow_html for m in every)


# -- the chat --------------------------------------------------------------------------------


def test_question_renders_answer_with_citations_and_sources(app: AppTest) -> None:
    message = ask(app, "What is the pomalidomide dose for multiple myeloma?")
    answer = last_answer(app)
    assert not answer.abstained and answer.citations
    shown = texts(message)
    assert DOSE.search(shown)
    for citation in answer.citations:
        # Readable label with its key badge, in the answer and in the Sources expander.
        assert f":blue-badge[{citation.key}] {citation.label}" in shown
        assert citation.label.startswith("Pomalidomide › ")
    [sources] = message.expander
    assert sources.label == f"Sources ({len(answer.citations)})"
    in_sources = texts(sources)
    for citation in answer.citations:
        assert citation.source in in_sources
        assert f"last modified {present.format_date(citation.last_modified)}" in in_sources
        assert citation.quote
        assert f":orange-background[**{citation.quote}**]" in in_sources
    assert re.search(r"Extractive answer.* · \d+\.\d s", shown)
    # The trace: how the answer was chosen, from the answer's own record of its path.
    trace = answer.trace
    assert trace is not None and trace.support is not None
    assert f"best support {trace.support:.2f} (answers from {trace.threshold:.2f})" in in_sources
    assert_no_html(app)


def test_each_citation_under_the_answer_shows_its_monograph_date(app: AppTest) -> None:
    message = ask(app, "What is the pomalidomide dose for multiple myeloma?")
    answer = last_answer(app)
    lines = plain(message.markdown[1].value).split("\n")
    assert len(lines) == len(answer.citations)
    for line, citation in zip(lines, answer.citations, strict=True):
        assert line.strip() == (
            f":blue-badge[{citation.key}] {citation.label} :gray[· 22 Sep 2025]"
        ), line


def shape(node: object) -> object:
    """The element types of an AppTest node and its descendants, in order."""
    children = getattr(node, "children", {})
    return (type(node).__name__, [shape(children[i]) for i in sorted(children)])


def test_the_previous_answer_keeps_its_layout_while_the_next_is_asked(app: AppTest) -> None:
    """A new answer is laid out as history will lay it out: nothing shifts on the rerun.

    A shifted element is what Streamlit shows as a faded stale copy (the previous answer's
    caption) while the next answer is computed.
    """
    ask(app, "What is the pomalidomide dose for multiple myeloma?")
    before = len(app.chat_message)
    fresh = shape(app.chat_message[-1])
    ask(app, "What are the side effects of abiraterone?")
    assert shape(app.chat_message[before - 1]) == fresh


def test_out_of_corpus_question_renders_an_abstention(app: AppTest) -> None:
    message = ask(app, "What is the recommended dose of aspirin for a headache?")
    answer = last_answer(app)
    assert answer.abstained and not answer.citations
    [warning] = message.warning
    assert "aspirin" in plain(warning.value).lower()
    assert not message.expander
    assert ":blue-badge[" not in texts(message)
    # Aspirin has no monograph: nothing was searched but the index, and that is said.
    assert answer.drugs == []
    assert "all 2 monographs" in texts(message)


def test_follow_up_keeps_the_drug_and_the_topic(app: AppTest) -> None:
    ask(app, "What is the pomalidomide dose for multiple myeloma?")
    first = last_answer(app)
    assert not first.abstained
    message = ask(app, "and for Kaposi sarcoma?")
    answer = last_answer(app)
    assert not answer.abstained, answer.text
    assert any("Dosage" in c.section for c in answer.citations), [c.label for c in answer.citations]
    assert {c.drug for c in answer.citations} == {"Pomalidomide"}
    assert DOSE.search(plain(message.markdown[0].value)), message.markdown[0].value
    assert len(app.session_state["conversation"].turns) == 2


def test_drug_filter_restricts_answers(app: AppTest) -> None:
    question = "What are the side effects?"
    for drug, other in (("Abiraterone", "Pomalidomide"), ("Pomalidomide", "Abiraterone")):
        app.sidebar.selectbox(key="drug").set_value(drug).run()
        message = ask(app, question)
        answer = last_answer(app)
        assert not answer.abstained, answer.text
        assert answer.citations
        assert {c.drug for c in answer.citations} == {drug}
        shown = texts(message)
        assert other not in shown
        assert f"drug filter: {drug}" in shown


def test_sidebar_lists_the_monographs_and_clears_the_conversation(app: AppTest) -> None:
    assert "**2** monographs" in app.sidebar.markdown[0].value
    options = app.sidebar.selectbox(key="drug").options
    assert options[1:] == ["Abiraterone", "Pomalidomide"]
    [table] = app.sidebar.dataframe
    assert list(table.value["Monograph"]) == ["Abiraterone", "Pomalidomide"]
    ask(app, "What is the pomalidomide dose for multiple myeloma?")
    assert len(app.chat_message) == 2
    app.sidebar.button[0].click().run()
    assert not app.chat_message
    assert app.session_state["history"] == []
    assert app.session_state["conversation"].turns == []


def test_k_limits_the_passages_used(app: AppTest) -> None:
    app.sidebar.slider(key="k").set_value(1).run()
    ask(app, "What are the side effects of pomalidomide?")
    answer = last_answer(app)
    assert not answer.abstained, answer.note
    assert len(answer.evidence) == 1
    assert len({c.chunk_id for c in answer.citations}) == 1


# -- LLM mode --------------------------------------------------------------------------------


def test_fake_llm_backend_streams_a_checked_answer(
    monkeypatch: pytest.MonkeyPatch, two_monographs: tuple[Path, Path]
) -> None:
    corpus, store = two_monographs
    monkeypatch.setenv("MONORAG_CORPUS", str(corpus))
    monkeypatch.setenv("MONORAG_DB", str(store))
    monkeypatch.setenv("MONORAG_LLM", "fake")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    mode = at.sidebar.radio(key="mode")
    assert mode.value == "llm"
    assert any("fake" in o for o in mode.options)
    message = ask(at, "What is the pomalidomide dose for multiple myeloma?")
    answer = last_answer(at)
    assert answer.mode == "llm:fake" and answer.citations
    assert at.session_state["history"][-1].streamed
    assert "LLM answer (fake)" in texts(message)
    at.sidebar.radio(key="mode").set_value("extractive").run()
    message = ask(at, "What is the pomalidomide dose for multiple myeloma?")
    assert last_answer(at).mode == "extractive"
    assert "Extractive answer" in texts(message)


def test_unreachable_llm_backend_shows_an_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, two_monographs: tuple[Path, Path]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    corpus, store = two_monographs
    monkeypatch.setenv("MONORAG_CORPUS", str(corpus))
    monkeypatch.setenv("MONORAG_DB", str(store))
    monkeypatch.setenv("MONORAG_LLM", "openai")
    monkeypatch.setenv("MONORAG_LLM_MODEL", "x")
    monkeypatch.setenv("MONORAG_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert any(f"127.0.0.1:{port}" in o for o in at.sidebar.radio(key="mode").options)
    message = ask(at, "What is the pomalidomide dose for multiple myeloma?")
    assert not at.exception
    [error] = message.error
    shown = plain(error.value)
    assert "unreachable" in shown and f"127.0.0.1:{port}" in shown
    assert "Traceback" not in texts(message)
    # The session goes on: the next question gets the same clear message.
    message = ask(at, "What are the side effects of pomalidomide?")
    assert message.error and not at.exception


# -- setup errors and first start ------------------------------------------------------------


def test_bad_settings_show_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONORAG_K", "0")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    [error] = at.error
    assert "retrieve.k" in plain(error.value)
    assert not at.chat_input


def test_missing_store_and_empty_corpus_show_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("MONORAG_CORPUS", str(tmp_path / "empty"))
    monkeypatch.setenv("MONORAG_DB", str(tmp_path / "nothing"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    [error] = at.error
    assert "no monograph index" in plain(error.value)
    assert not at.chat_input


@pytest.mark.integration
def test_first_start_ingests_with_progress_and_catches_up_with_the_corpus(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    monkeypatch.setenv("MONORAG_CORPUS", str(corpus))
    monkeypatch.setenv("MONORAG_DB", str(tmp_path / "store"))

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    [status] = at.status
    assert status.label.startswith("Indexed 1 monograph file in")
    assert status.label.endswith("the index holds 1 monograph")
    assert "**1** monograph · " in at.sidebar.markdown[0].value

    again = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not again.status, "an up-to-date index is not ingested again"

    shutil.copy(EMA / SECOND, corpus / SECOND)
    newer = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not newer.exception
    [status] = newer.status
    assert status.label.startswith("Indexed 1 monograph file in")
    assert status.label.endswith("the index holds 2 monographs")
    assert "**2** monographs" in newer.sidebar.markdown[0].value
    answer = ask(newer, "What is abiraterone used for?")
    assert "Abiraterone" in texts(answer)


# -- safety, statically ----------------------------------------------------------------------


def test_app_never_renders_html_nor_imports_provider_sdks() -> None:
    source = Path(APP).read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert "unsafe_allow_html" not in source
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"html", "components"}
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    providers = ("langchain_openai", "langchain_ollama", "langchain_anthropic", "openai", "ollama")
    assert not [m for m in imported if m.split(".")[0] in providers]


def test_streamlit_config_binds_loopback_and_disables_usage_stats() -> None:
    import tomllib

    config = tomllib.loads((PROJECT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False


# -- monorag.ui ------------------------------------------------------------------------------


def test_escape_markdown_neutralises_every_construct() -> None:
    hostile = (
        "# Heading\n    code\n> quote\n1. item\n* bullet\n"
        "![img](http://x.test/a.png) [link](javascript:alert(1)) <b>bold</b> &amp; "
        ":red[red] :material/home: :smile: $x^2$ `code` **strong** _em_ ~~del~~ | a | b |\n"
        "===\nmail me@x.test or www.x.test"
    )
    escaped = present.escape_markdown(hostile)
    # Every ASCII punctuation character is escaped; nothing else is added but word joiners.
    unescaped = re.sub(r"\\(.)", r"\1", escaped).replace(present.WORD_JOINER, "")
    assert unescaped == "\n".join(line.lstrip() for line in hostile.split("\n"))
    assert not re.search(r"[!-/:-@\[-`{-~]", re.sub(r"\\[!-/:-@\[-`{-~]", "", escaped))
    assert "http" + present.WORD_JOINER in escaped and "www" + present.WORD_JOINER in escaped
    assert "@" + present.WORD_JOINER in escaped
    assert "\n    " not in escaped
    assert present.escape_markdown("  a\n  b", keep_leading=True) == "  a\nb"


def test_passage_markdown_highlights_the_quote_across_line_breaks() -> None:
    text = (
        "Take it with food.\nThe dose is 4 mg\nonce daily.\n* Elderly: no change.\n* Renal: 3 mg."
    )
    out = present.passage_markdown(text, "The dose is 4 mg once daily. Renal: 3 mg.")
    assert ":orange-background[**The dose is 4 mg**]" in out
    assert ":orange-background[**once daily\\.**]" in out
    assert "- :orange-background[**Renal\\: 3 mg\\.**]" in out
    assert "Take it with food\\." in out and "orange-background[Take" not in out
    assert "- Elderly\\: no change\\.\n- :orange" in out
    # Highlights next to letters and punctuation keep their neighbours' spacing.
    inline = present.passage_markdown("Dose(s):2 mg daily, then stop.", "2 mg daily,")
    assert inline == "Dose\\(s\\)\\::orange-background[**2 mg daily\\,**] then stop\\."
    assert present.passage_markdown("<script>x</script>", "") == "\\<script\\>x\\<\\/script\\>"
    assert present.highlight_spans("abc", "not there") == []


def test_highlight_splits_a_quote_of_lower_case_list_items() -> None:
    """A quote joins its units with spaces: items that start lower case still light up."""
    text = "Do not take it if:\n- you are allergic to it.\n- you are pregnant.\nTell your doctor."
    spans = present.highlight_spans(text, "you are allergic to it. you are pregnant.")
    assert [text[s:e] for s, e in spans] == ["you are allergic to it.", "you are pregnant."]


def test_answer_markdown_badges_known_keys_only() -> None:
    citations = [Citation("S1", "Drug", "Dosage", "drug.md", "2025-01-02")]
    out = present.answer_markdown("Take 4 mg [S1]. Also [S7] *x*\n- one [S1]\n- two", citations)
    assert out.startswith("Take 4 mg :blue-badge[S1]\\. Also")
    assert "\\[S7\\]" in out and "\\*x\\*" in out
    assert out.endswith("- one :blue-badge[S1]\n- two")
    assert present.citation_markdown(citations[0]) == ":blue-badge[S1] Drug › Dosage"


def test_format_date() -> None:
    assert present.format_date("2025-09-22T17:21:53.946Z") == "22 Sep 2025"
    assert present.format_date("2022-02-16") == "16 Feb 2022"
    assert present.format_date("") == "unknown"
    assert present.format_date("spring 2020") == "spring 2020"


def test_corpus_state_sees_new_changed_and_removed_files(tmp_path: Path, embedder: object) -> None:
    from monorag.ingest.pipeline import ingest
    from tests.conftest import make_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = corpus / SEED.name
    shutil.copy(SEED, seed)
    settings = make_settings(tmp_path / "store")
    store: StoreSettings = settings.store
    assert present.corpus_state(corpus, store).reason == "the index does not exist yet"
    ingest([corpus], settings, embedder)  # type: ignore[arg-type]
    assert not present.corpus_state(corpus, store).stale
    seed.touch()  # newer but identical: nothing to do
    assert not present.corpus_state(corpus, store).stale
    second = corpus / SECOND
    shutil.copy(EMA / SECOND, second)
    assert present.corpus_state(corpus, store).reason.startswith("1 new")
    ingest([corpus], settings, embedder)  # type: ignore[arg-type]
    assert not present.corpus_state(corpus, store).stale
    second.unlink()
    seed.write_text(SEED.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    state = present.corpus_state(corpus, store)
    assert state.stale and state.reason.startswith("1 changed, 1 removed")
    # A corpus folder without monographs leaves the index alone (no accidental wipe).
    seed.unlink()
    assert not present.corpus_state(corpus, store).stale
