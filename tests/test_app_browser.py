"""The chat app in a real browser: `streamlit run app.py` driven through headless Chromium.

Chromium is Debian's (`make browser` installs it); Playwright only drives it, so nothing is
downloaded. Every host name except 127.0.0.1 resolves to nothing, so the page cannot reach
the internet even if it tried. Desktop (1280 px) and phone (390 px) screenshots land in
out/browser/ (git-ignored) for people to look at.
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
ARTIFACTS = Path(__file__).resolve().parent.parent / "out" / "browser"
"""Where the screenshots go for people to look at: out/ is the git-ignored artifact folder
(the one place tests write inside the checkout)."""
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

## **Monitoring**

{LONG_MONITORING}
"""


LONG_MONITORING = " ".join(
    f"Zelbrotinib monitoring step {n}: check the full blood count, liver enzymes and kidney "
    f"function before cycle {n} and record the results in the patient's chart."
    for n in range(1, 8)
)
"""A passage well over the app's LONG_PASSAGE_CHARS: it must scroll in its own box."""


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
        page.screenshot(
            path=str(ARTIFACTS / "desktop-answer.png"), full_page=True, animations="disabled"
        )

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
        page.screenshot(
            path=str(ARTIFACTS / "desktop-escaped.png"), full_page=True, animations="disabled"
        )
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
            path=str(ARTIFACTS / "desktop-abstention.png"), full_page=True, animations="disabled"
        )
        off_host = [r for r in requests if not r.startswith((url, "data:", "blob:"))]
        assert not off_host, f"the page made requests off the app's host: {off_host}"
    finally:
        page.close()
    assert "Traceback" not in log_path.read_text(encoding="utf-8", errors="replace")


PHONE = {"width": 390, "height": 844}

# Points across the chat input (its corners, inset, and centre): the element the browser
# finds on top at each must belong to the chat input, i.e. nothing is drawn over it.
COVERED_POINTS = """
(input) => {
  const box = input.getBoundingClientRect();
  const xs = [box.left + 4, box.left + box.width / 2, box.right - 4];
  const ys = [box.top + 4, box.top + box.height / 2, box.bottom - 4];
  const bad = [];
  for (const x of xs) for (const y of ys) {
    const top = document.elementFromPoint(x, y);
    if (!top || !input.contains(top) && !top.contains(input)) {
      bad.push(`${Math.round(x)},${Math.round(y)}: ${top ? top.outerHTML.slice(0, 120) : null}`);
    }
  }
  return bad;
}
"""


# Every box in the Sources that scrolls (overflow auto or scroll, content taller than the
# box): scrolled by 100 px, its new scrollTop.
SCROLL_BOXES = """
(details) => [...details.querySelectorAll('*')]
  .filter((e) => ['auto', 'scroll'].includes(getComputedStyle(e).overflowY)
                 && e.scrollHeight > e.clientHeight + 20)
  .map((e) => { e.scrollTop = 100; return e.scrollTop; })
"""


def assert_nothing_covers(page: object) -> None:
    chat = page.get_by_test_id("stChatInput")  # type: ignore[attr-defined]
    covered = chat.evaluate(COVERED_POINTS)
    assert covered == [], f"something lies over the chat input: {covered}"


def test_phone_width_chat_sidebar_sources_and_input(
    server: tuple[str, str, Path], browser: object
) -> None:
    from playwright.sync_api import expect

    url, _, log_path = server
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = context.new_page()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        expect.set_options(timeout=FIRST_ANSWER_TIMEOUT_MS)
        page.goto(url)
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible()
        expect.set_options(timeout=60_000)
        # The sidebar starts closed on a phone: it would cover the chat and catch every tap.
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_have_attribute("data-collapsed", "true")
        box = sidebar.bounding_box()
        assert box is None or box["x"] + box["width"] <= 1, box
        assert_nothing_covers(page)

        answer = ask(page, "Pomalyst dose for a dialysis patient?", 0)
        expect(answer).to_contain_text("hemodialysis")
        expect(answer).to_contain_text("22 Sep 2025")  # the date beside each citation
        page.screenshot(path=str(ARTIFACTS / "phone-answer.png"), animations="disabled")
        # Its cited passage is long: it must scroll in its own box.
        answer = ask(page, "What monitoring does zelbrotinib need before each cycle?", 2)
        expect(answer).to_contain_text("Zelbrotinib › Monitoring")
        expander = answer.get_by_test_id("stExpander")
        expander.locator("summary").tap()
        details = expander.get_by_test_id("stExpanderDetails")
        expect(details).not_to_have_attribute("inert", "")
        expect(details).to_contain_text("monitoring step 7")
        details.scroll_into_view_if_needed()
        # Nothing is wider than the phone (no sideways scrolling), and the chat input is
        # still on top of everything.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide on a 390 px phone"
        # The long passage scrolls inside its own box (and really moves when scrolled).
        scrolled = details.evaluate(SCROLL_BOXES)
        assert scrolled and all(top > 0 for top in scrolled), scrolled
        assert_nothing_covers(page)
        page.screenshot(path=str(ARTIFACTS / "phone-sources.png"), animations="disabled")
    finally:
        context.close()
    assert "Traceback" not in log_path.read_text(encoding="utf-8", errors="replace")
