"""The wheel as a user gets it: built, installed into a fresh virtualenv, run elsewhere.

Isolation, and why it is honest: the fresh venv is made *without* ``--system-site-packages``
and the wheel is installed into it with ``--no-deps``, so the only copy of monorag it can
import is the wheel's (``site-packages/monorag`` of the fresh venv, checked below). Its
dependencies (torch, Chroma, Streamlit ... 2 GB) are not installed again: a ``.pth`` file
appends the project venv's site-packages to ``sys.path``. A ``.pth`` path line does not run
the ``.pth`` files of the folder it adds, so the checkout's editable-install hook stays off
and the checkout is never on the path; the venv's monorag metadata is there, but behind the
wheel's. Every command runs from a folder outside the checkout with ``XDG_DATA_HOME``
pointing into the test's own folder, so the defaults (store, reports) are the wheel's.

The wheel is built from a copy of the files git would commit (tracked and untracked, not
ignored), with the venv's own setuptools (``--no-build-isolation``: no download).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import servers
from tests.conftest import PROJECT, SEED

pytestmark = pytest.mark.slow

VENV_SITE = Path(sysconfig.get_paths()["purelib"])
"""The project venv's site-packages: where the dependencies are installed."""
HEALTH_TIMEOUT = 300.0
"""`monorag serve` loads the model before it binds: minutes on a busy 2-core machine."""


def _source_files() -> list[str]:
    """Paths git would commit: tracked files and untracked ones that are not ignored."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [p for p in out.split("\0") if p and (PROJECT / p).is_file()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel built from a clean copy of the sources, and the build's output."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    for rel in _source_files():
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT / rel, target)
    dist = work / "dist"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-v",
            str(src),
            "-w",
            str(dist),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    [wheel] = dist.glob("monorag-*.whl")
    return wheel, proc.stdout + proc.stderr


def test_the_wheel_builds_without_warnings(built: tuple[Path, str]) -> None:
    _, output = built
    # Not the project's: pip's note about this machine's configuration, and distutils'
    # note that byte-compiling is off (PYTHONDONTWRITEBYTECODE in the environment).
    benign = ("is ignored", "byte-compiling is disabled")
    lines = [line for line in output.splitlines() if not any(b in line for b in benign)]
    warnings = [line for line in lines if "warning" in line.lower()]
    assert not warnings, "\n".join(warnings)


def test_the_wheel_holds_every_data_file_under_one_name(built: tuple[Path, str]) -> None:
    wheel, _ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {n.split("/")[0] for n in names}
    assert tops == {"monorag", "monorag-0.1.0.dist-info"}, tops
    top_level = zipfile.ZipFile(wheel).read("monorag-0.1.0.dist-info/top_level.txt")
    assert top_level.decode().split() == ["monorag"]
    for folder, package in (("qa/data", "monorag/qa/data"), ("eval/data", "monorag/eval/data")):
        data = [p for p in _source_files() if p.startswith(folder + "/")]
        assert data, folder
        for rel in data:
            assert package + rel.removeprefix(folder) in names, rel
    for module in ("monorag/ui/app.py", "monorag/ui/server.py", "monorag/ui/cli.py"):
        assert module in names


@pytest.fixture(scope="module")
def installed(built: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel (its dependencies come from the project venv)."""
    wheel, _ = built
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # The wheel goes in before the dependencies' path is added: pip must not see the
    # project venv (it would take its editable monorag for the installed one).
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
        timeout=300,
    )
    site = next((venv / "lib").glob("python3.*/site-packages"))
    (site / "zz-monorag-dependencies.pth").write_text(f"{VENV_SITE}\n", encoding="utf-8")
    return venv


def user_env(tmp: Path) -> dict[str, str]:
    """A user's environment: no MONORAG_* settings, data and home inside ``tmp``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONORAG_", "PYTHON", "VIRTUAL_ENV", "XDG_"))
    }
    env.update(XDG_DATA_HOME=str(tmp / "xdg"), HOME=str(tmp / "home"))
    (tmp / "home").mkdir(exist_ok=True)
    return env


def run(venv: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """The wheel's own ``monorag`` console script, from ``cwd``."""
    return subprocess.run(
        [str(venv / "bin" / "monorag"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_the_fresh_venv_imports_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import sys, monorag, monorag.ui.app as a; print(monorag.__file__); print(a.__file__);"
            "print('\\n'.join(sys.path))",
        ],
        cwd=tmp_path,
        env=user_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    monorag_file, app_file, *path = proc.stdout.splitlines()
    site = str(next((installed / "lib").glob("python3.*/site-packages")))
    assert monorag_file.startswith(site) and app_file.startswith(site), proc.stdout
    assert not any(p.startswith(str(PROJECT)) and p != str(VENV_SITE) for p in path if p), path


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, expect: str) -> str:
    """Poll ``url`` until it answers; the body. Fails with the log if the process dies."""
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read().decode()
                if expect in body:
                    return body
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} not healthy in {HEALTH_TIMEOUT:.0f} s:\n{log.read_text()}")
        time.sleep(0.3)


@contextmanager
def running(venv: Path, cwd: Path, env: dict[str, str], log: Path, *args: str) -> Iterator[None]:
    """The wheel's ``monorag ARGS`` as a background process, stopped by its PID."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(venv / "bin" / "monorag"), *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield proc
    finally:
        servers.stop(proc, timeout=20)


def test_the_installed_wheel_ingests_answers_and_serves_outside_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    corpus = elsewhere / "monographs"
    corpus.mkdir(parents=True)
    shutil.copy(SEED, corpus / SEED.name)
    env = user_env(tmp_path)
    store = tmp_path / "xdg" / "monorag" / "store"

    # No bundled corpus in a wheel: naming none is a usage error, not an empty ingest.
    bare = run(installed, elsewhere, env, "ingest")
    assert bare.returncode == 2, bare.stderr
    assert "no bundled corpus" in bare.stderr and "Traceback" not in bare.stderr

    ingested = run(installed, elsewhere, env, "ingest", "monographs", "--json")
    assert ingested.returncode == 0, ingested.stderr
    report = json.loads(ingested.stdout)
    assert report["store"] == str(store) and report["files_indexed"] == 1
    assert (store / "chroma.sqlite3").is_file()

    questions = elsewhere / "questions.txt"
    questions.write_text(
        "Pomalyst dose for a dialysis patient?\nWhat is the dose of warfarin?\n", encoding="utf-8"
    )
    asked = run(installed, elsewhere, env, "ask", "--file", "questions.txt", "--json")
    assert asked.returncode == 0, asked.stderr
    dialysis, warfarin = (json.loads(line) for line in asked.stdout.splitlines())
    assert not dialysis["abstained"], dialysis
    assert dialysis["citations"][0]["drug"] == "Pomalidomide"
    # A drug with no monograph is recognised as one (from installed data, not the checkout).
    assert warfarin["abstained"] and "warfarin" in warfarin["answer"].lower(), warfarin

    drug = run(installed, elsewhere, env, "ask", "dose on dialysis days?", "--drug", "pomalyst")
    assert drug.returncode == 0, drug.stderr
    assert "Pomalidomide" in drug.stdout and "22 Sep 2025" in drug.stdout, drug.stdout

    status = run(installed, elsewhere, env, "status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["store"] == str(store) and data["monographs"] == 1

    port = servers.free_port()
    with running(installed, elsewhere, env, tmp_path / "app.log", "app", "--port", str(port)) as p:
        url = f"http://127.0.0.1:{port}"
        assert wait_healthy(f"{url}/_stcore/health", p, tmp_path / "app.log", "ok") == "ok"
    port = servers.free_port()
    with running(
        installed, elsewhere, env, tmp_path / "api.log", "serve", "--port", str(port)
    ) as p:
        url = f"http://127.0.0.1:{port}"
        health = json.loads(wait_healthy(f"{url}/health", p, tmp_path / "api.log", '"ok"'))
        assert health["monographs"] == 1
        served = run(
            installed,
            elsewhere,
            env,
            "ask",
            "--server",
            url,
            "--json",
            "Pomalyst dose for a dialysis patient?",
        )
        assert served.returncode == 0, served.stderr
        assert json.loads(served.stdout) == dialysis
    log = (tmp_path / "app.log").read_text() + (tmp_path / "api.log").read_text()
    assert "Traceback" not in log, log
