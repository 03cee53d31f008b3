"""`monorag ingest` as a user runs it: a real subprocess, real model, real Chroma folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monorag.embed import default_model_path

SEED = Path(__file__).resolve().parent.parent / "corpus" / "pomalidomide.md"
MONORAG = Path(sys.executable).with_name("monorag")

pytestmark = pytest.mark.slow


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``monorag`` console script."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONORAG_")}
    return subprocess.run(
        [str(MONORAG), *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**base, **(env or {})},
        check=False,
    )


def summary(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.stdout.strip(), proc.stderr
    return json.loads(proc.stdout)


def test_ingest_twice_second_run_is_all_unchanged(tmp_path: Path, corpus_dir: Path) -> None:
    db = tmp_path / "db"
    first = run("--db", str(db), "ingest", str(corpus_dir), "--json")
    assert first.returncode == 0, first.stderr
    one = summary(first)
    assert one["files_indexed"] == 1 and one["files_failed"] == 0
    assert one["chunks_added"] == one["chunks_total"] > 10
    assert one["store"] == str(db) and one["monographs_total"] == 1

    second = run("--db", str(db), "ingest", str(corpus_dir), "--json")
    assert second.returncode == 0, second.stderr
    two = summary(second)
    assert two["files_unchanged"] == 1 and two["files_indexed"] == 0
    assert two["chunks_added"] == 0 and two["chunks_removed"] == 0
    assert two["chunks_total"] == one["chunks_total"]

    status = run("--db", str(db), "status", "--json")
    assert status.returncode == 0, status.stderr
    data = summary(status)
    assert data["monographs"] == 1 and data["chunks"] == one["chunks_total"]
    assert data["files"][0]["title"] == "Pomalidomide"


def test_malformed_files_fail_alone(tmp_path: Path, corpus_dir: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    (corpus_dir / "testamide.md").write_text(
        text.replace("title: Pomalidomide", "title: Testamide", 1), encoding="utf-8"
    )
    broken = corpus_dir / "broken.md"
    broken.write_text("---\ntitle: Broken: yes\n---\n## A\n\ntext\n", encoding="utf-8")
    binary = corpus_dir / "image.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    db = tmp_path / "db"

    proc = run("--db", str(db), "ingest", str(corpus_dir), "--json")
    assert proc.returncode == 1, proc.stderr
    data = summary(proc)
    assert data["files_indexed"] == 2 and data["files_failed"] == 2
    assert data["chunks_total"] == data["chunks_added"] > 20
    failed = {Path(f["path"]).name: f["reason"] for f in data["failed"]}
    assert "not valid YAML" in failed["broken.md"] and "line 2" in failed["broken.md"]
    assert "binary" in failed["image.md"]
    for name, reason in failed.items():
        line = next(x for x in proc.stderr.splitlines() if name in x)
        assert reason in line, proc.stderr

    # Without --json: the same failures on stderr, a one-line summary on stdout.
    again = run("--db", str(db), "ingest", str(corpus_dir))
    assert again.returncode == 1
    assert "0 indexed, 2 unchanged, 0 removed, 2 failed" in again.stdout
    assert str(broken.resolve()) in again.stderr and "not valid YAML" in again.stderr
    assert str(binary.resolve()) in again.stderr


def test_model_switch_needs_rebuild(tmp_path: Path, corpus_dir: Path) -> None:
    db = tmp_path / "db"
    assert run("--db", str(db), "ingest", str(corpus_dir), "--json").returncode == 0
    # The same weights in another folder: a different model as far as the store can tell.
    other = tmp_path / "models" / "other-minilm"
    other.mkdir(parents=True)
    for item in default_model_path().iterdir():
        (other / item.name).symlink_to(item)
    env = {"MONORAG_EMBED_MODEL": str(other)}

    refused = run("--db", str(db), "ingest", str(corpus_dir), "--json", env=env)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert "other-minilm" in refused.stderr and "--rebuild" in refused.stderr
    assert "Traceback" not in refused.stderr

    rebuilt = run("--db", str(db), "ingest", str(corpus_dir), "--rebuild", "--json", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert summary(rebuilt)["files_indexed"] == 1
    status = summary(run("--db", str(db), "status", "--json"))
    assert "other-minilm" in status["embedding_model"]
    shutil.rmtree(other)
