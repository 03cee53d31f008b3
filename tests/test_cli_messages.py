"""What a new user reads from the command line: errors, counts, dates, help.

Every mistake is one line and exit code 2, found before torch or the embedding model is
imported (checked in a real subprocess: the module list at exit must not hold torch).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from monorag.errors import StoreUnavailableError
from monorag.settings import Settings, StoreSettings
from monorag.types import Answer, Citation
from monorag.ui import cli
from tests import servers

HEAVY = ("torch", "sentence_transformers", "transformers")
# Run the CLI in a fresh interpreter and report, at exit, which heavy modules it imported.
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nHEAVY=' + ','.join(sorted("
    f"m for m in {HEAVY!r} if m in sys.modules)) + '\\n'))\n"
    "from monorag.ui.cli import main\n"
    "sys.argv = ['monorag', *sys.argv[1:]]\n"
    "main()\n"
)


def monorag(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONORAG_")}
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )


def assert_fails_fast(proc: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 2, ``message`` on one ``error:`` line, no traceback, no model imported."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    line = next((x for x in proc.stderr.splitlines() if x.startswith("error:")), "")
    assert message in line, proc.stderr
    assert "HEAVY=\n" in proc.stderr, f"loaded before failing: {proc.stderr.splitlines()[-1]}"


@pytest.fixture
def empty_store(tmp_path: Path) -> Path:
    """A store that exists (so the store check passes) but holds nothing."""
    from monorag.index.store import Store, forget_client

    path = tmp_path / "store"
    Store.open(StoreSettings(path=path), create=True)
    forget_client(StoreSettings(path=path))
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a QUESTION, or --file FILE with one question per line"),
        (["dose?", "--file", "q.txt"], "give either a QUESTION or --file FILE, not both"),
        ([""], "the question is empty: type a question about a drug"),
        (["   "], "the question is empty"),
        (["x" * 2400], "the question is 2,400 characters long; the limit is 2,000"),
        (["--file", "missing.txt"], "--file missing.txt: no such file"),
        (["dose?", "--server", "http://127.0.0.1:9", "--llm", "openai"], "--llm: the LLM is"),
        (["dose?", "--server", "http://127.0.0.1:9", "--explain"], "cannot go with --server"),
        (["dose?", "--server", "127.0.0.1:9"], "expected a URL such as http://127.0.0.1:8765"),
        (["dose?", "--server", "http://127.0.0.1:9"], "cannot reach the monorag server"),
    ],
    ids=[
        "nothing",
        "both",
        "empty",
        "blank",
        "too-long",
        "missing-file",
        "server-llm",
        "server-explain",
        "server-url",
        "server-down",
    ],
)
def test_ask_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    assert_fails_fast(monorag("--db", str(tmp_path / "db"), "ask", *args, cwd=tmp_path), message)


def test_ask_file_without_questions(tmp_path: Path) -> None:
    (tmp_path / "q.txt").write_text("\n  \n", encoding="utf-8")
    proc = monorag("ask", "--file", "q.txt", cwd=tmp_path)
    assert_fails_fast(proc, "--file q.txt: no questions in it")


def test_ask_without_an_index_says_how_to_make_one(tmp_path: Path) -> None:
    proc = monorag("--db", str(tmp_path / "none"), "ask", "Pomalyst dose?")
    assert_fails_fast(proc, f"no monograph index at {tmp_path / 'none'}")
    assert "ingest FOLDER" in proc.stderr


def test_llm_backend_without_a_model_fails_before_the_model_loads(empty_store: Path) -> None:
    proc = monorag("--db", str(empty_store), "ask", "dose?", "--llm", "openai")
    assert_fails_fast(proc, "the openai backend needs a model name")


def test_ingest_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    proc = monorag("--db", str(tmp_path / "db"), "ingest", str(tmp_path / "nope"))
    assert_fails_fast(proc, f"no such file or folder: {tmp_path / 'nope'}")
    assert not (tmp_path / "db").exists(), "nothing is created for a failed command"


@pytest.mark.parametrize("contents", [[], ["leaflet.pdf", "notes.txt", "README.md"]])
def test_ingest_a_folder_without_monographs(tmp_path: Path, contents: list[str]) -> None:
    folder = tmp_path / "monographs"
    folder.mkdir()
    for name in contents:
        (folder / name).write_text("---\ntitle: X\n---\n## A\n\ntext\n", encoding="utf-8")
    proc = monorag("--db", str(tmp_path / "db"), "ingest", "monographs", cwd=tmp_path)
    assert_fails_fast(
        proc,
        "no monographs found in monographs (only .md files with YAML front matter are read)",
    )
    assert not (tmp_path / "db").exists()


def test_ingest_a_named_file_of_another_type(tmp_path: Path) -> None:
    (tmp_path / "leaflet.pdf").write_bytes(b"%PDF-1.7\n")
    proc = monorag("--db", str(tmp_path / "db"), "ingest", "leaflet.pdf", cwd=tmp_path)
    assert_fails_fast(
        proc, "leaflet.pdf: not a monograph (only .md files with YAML front matter are read)"
    )


def test_ingest_summary_and_status_use_singulars() -> None:
    one = SimpleNamespace(
        indexed=["a"], unchanged=[], removed=[], failed=[], chunks_added=1, chunks_removed=0,
        monographs_total=1, chunks_total=1, seconds=0.25,
    )  # fmt: skip
    assert cli.ingest_summary(one) == (
        "1 indexed, 0 unchanged, 0 removed, 0 failed; 1 chunk added, 0 removed; "
        "the index holds 1 monograph in 1 chunk (0.2 s)"
    )
    many = SimpleNamespace(**{**vars(one), "chunks_added": 2, "monographs_total": 2})
    many.chunks_total = 1_204
    assert "2 chunks added" in cli.ingest_summary(many)
    assert "2 monographs in 1,204 chunks" in cli.ingest_summary(many)
    data = {
        "store": "/s",
        "monographs": 1,
        "chunks": 1,
        "embedding_model": "m",
        "files": [
            {
                "title": "Pomalidomide",
                "source": "pomalidomide.md",
                "chunks": 1,
                "last_modified": "2025-09-22T17:21:53.946Z",
            }
        ],
    }
    assert cli.status_lines(data) == [
        "/s: 1 monograph, 1 chunk (model m)",
        "  Pomalidomide  pomalidomide.md · 1 chunk · last modified 22 Sep 2025",
    ]


def test_answers_show_human_dates(capsys: pytest.CaptureFixture[str]) -> None:
    cited = Citation("S1", "Pomalidomide", "Dosage", "pomalidomide.md", "2025-09-22T17:21:53.946Z")
    cli.print_answer(Answer("dose?", "4 mg daily. [S1]", False, [cited], "extractive"))
    shown = capsys.readouterr().out
    assert "pomalidomide.md, last modified 22 Sep 2025" in shown
    assert "2025-09-22T" not in shown


COMMANDS = [[], ["ingest"], ["ask"], ["status"], ["serve"], ["app"], ["eval"], ["bench"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "monorag")
def test_help_shows_defaults_without_artifacts(command: list[str]) -> None:
    result = CliRunner().invoke(cli.app, [*command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    text = result.output
    for artifact in ("<bool>", " ]", "[default: ]", "[default: (", "default: None"):
        assert artifact not in text, (artifact, text)
    # A space before a sentence's full stop is what a swallowed "[default: ...]" left.
    assert not re.search(r"\w \.(\s|$)", text), text


def test_help_names_the_real_defaults() -> None:
    def help_of(*command: str) -> str:
        return " ".join(CliRunner().invoke(cli.app, [*command, "--help"]).output.split())

    assert f"[default: {Settings.from_env({}).store.path}]" in help_of()
    assert "[default: 6]" in help_of("ask")
    assert "[default: 127.0.0.1]" in help_of("serve") and "[default: 8765;" in help_of("serve")
    assert "[default: 127.0.0.1]" in help_of("app") and "[default: 8501;" in help_of("app")


def test_default_store_is_in_the_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings.from_env({}).store.path == tmp_path / "xdg" / "monorag" / "store"
    assert Settings.from_env({"MONORAG_DB": "/x/db"}).store.path == Path("/x/db")


def test_chroma_server_message_reads_as_sentences() -> None:
    from monorag.index.store import open_client

    url = f"http://127.0.0.1:{servers.free_port()}"  # nothing listens there
    with pytest.raises(StoreUnavailableError) as caught:
        open_client(StoreSettings(chroma_url=url))
    message = str(caught.value)
    assert message.startswith(f"cannot open the Chroma store at {url}: ")
    assert "?." not in message and ".." not in message and message.endswith(".")
    assert "`chroma run --path DIR --port N`" in message
