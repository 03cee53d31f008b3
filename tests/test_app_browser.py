"""The chat app in a real browser: `streamlit run app.py` driven through headless Chromium.

Chromium is Debian's (`make browser` installs it); Playwright only drives it, so nothing is
downloaded. Every host name except 127.0.0.1 resolves to nothing, so the page cannot reach
the internet even if it tried. The screenshot lands in out/browser/ for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers
from tests.conftest import PROJECT, SEED

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT / "out" / "browser"
STREAMLIT = PROJECT / ".venv" / "bin" / "streamlit"
START_TIMEOUT = 60.0
FIRST_ANSWER_TIMEOUT_MS = 240_000
"""First start ingests the corpus and loads the model in the server: minutes on a busy box."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hostile_monograph(trap: str) -> str:
    """A monograph whose text tries markdown/HTML injection pointing at ``trap``."""
    return f"""---
title: Zelbrotinib
description: Zelbrotinib is a made-up medicine used to check that text is shown literally.
lastModified: '2024-03-05T10:00:00Z'
faqs: []
---

## **Usage**

Zelbrotinib is used for chronic zelbro syndrome in adults.

## **Dosage**

The usual adult dose of zelbrotinib is 20 mg by mouth once daily ![pixel]({trap}/md.png) \
with :red[food] and [a link]({trap}/link) and &lt;img src="{trap}/entity.png"&gt; and $x^2$.
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """`streamlit run app.py` on a free loopback port, on a fresh store of a small corpus."""
    work = tmp_path_factory.mktemp("browser")
    corpus = work / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    trap = f"http://127.0.0.1:{free_port()}"  # nothing listens: any request there is a leak
    (corpus / "zelbrotinib.md").write_text(hostile_monograph(trap), encoding="utf-8")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MONORAG_")},
        "MONORAG_DB": str(work / "store"),
        "MONORAG_CORPUS": str(corpus),
    }
    log_path = work / "streamlit.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(STREAMLIT),
                "run",
                "app.py",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit not healthy in {START_TIMEOUT:.0f} s:\n{log_path.read_text()}"
                )
            time.sleep(0.3)
        yield url, trap, log_path
    finally:
        servers.stop(proc, timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium under Playwright, with every DNS lookup but 127.0.0.1 off."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def ask(page: object, question: str, messages_before: int) -> object:
    """Type ``question``, press Enter and return the locator of the answer message."""
    from playwright.sync_api import expect

    box = page.get_by_test_id("stChatInputTextArea")  # type: ignore[attr-defined]
    box.fill(question)
    box.press("Enter")
    messages = page.get_by_test_id("stChatMessage")  # type: ignore[attr-defined]
    expect(messages).to_have_count(messages_before + 2)
    answer = messages.nth(messages_before + 1)
    # The answer is complete when its footer (with the time taken) is shown.
    expect(answer.get_by_text(re.compile(r" · \d+\.\d s"))).to_be_visible()
    return answer


def test_chat_answers_with_citations_and_sources(
    server: tuple[str, str, Path], browser: object
) -> None:
    from playwright.sync_api import expect

    url, trap, log_path = server
    page = browser.new_page(viewport={"width": 1280, "height": 1400})  # type: ignore[attr-defined]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        expect.set_options(timeout=FIRST_ANSWER_TIMEOUT_MS)
        page.goto(url)
        # First start: the corpus is indexed, then the chat input appears.
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text(re.compile(r"^2 monographs"))).to_be_visible()
        expect.set_options(timeout=60_000)

        answer = ask(page, "What is the pomalidomide dose for multiple myeloma?", 0)
        expect(answer).to_contain_text("4 mg")
        expect(answer).to_contain_text("Pomalidomide › Dosage")
        expander = answer.get_by_test_id("stExpander")
        expect(expander).to_have_count(1)
        expander.locator("summary").click()
        details = expander.get_by_test_id("stExpanderDetails")
        expect(details).not_to_have_attribute("inert", "")
        expect(details).to_contain_text("last modified 22 Sep 2025")
        expect(details).to_contain_text("4 mg orally once daily")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True, animations="disabled")

        hostile = ask(page, "What is the usual adult dose of zelbrotinib?", 2)
        expect(hostile).to_contain_text("20 mg")
        hostile.get_by_test_id("stExpander").locator("summary").click()
        expect(hostile.get_by_test_id("stExpanderDetails")).to_contain_text("20 mg by mouth")
        # The injected markup is shown as text, not turned into images, links or colour
        # (URLs carry an invisible word joiner that keeps them from becoming links).
        shown = hostile.inner_text().replace("\u2060", "")
        assert f"![pixel]({trap}/md.png)" in shown
        assert ":red[food]" in shown
        assert "&lt;img" in shown
        assert "$x^2$" in shown
        page.screenshot(path=str(ARTIFACTS / "escaped.png"), full_page=True, animations="disabled")
        assert hostile.locator("img").count() == 0
        assert hostile.locator(f'a[href^="{trap}"]').count() == 0
        assert not [r for r in requests if r.startswith(trap)], requests
        abstention = ask(page, "What is the recommended dose of aspirin?", 4)
        expect(abstention.get_by_test_id("stAlertContainer")).to_contain_text(
            "Not answered from the monographs"
        )
        expect(abstention).to_contain_text("aspirin")
        expect(abstention.get_by_test_id("stExpander")).to_have_count(0)
        abstention.scroll_into_view_if_needed()
        page.screenshot(
            path=str(ARTIFACTS / "abstention.png"), full_page=True, animations="disabled"
        )
        off_host = [r for r in requests if not r.startswith((url, "data:", "blob:"))]
        assert not off_host, f"the page made requests off the app's host: {off_host}"
    finally:
        page.close()
    assert "Traceback" not in log_path.read_text(encoding="utf-8", errors="replace")
