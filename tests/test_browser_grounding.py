"""Issue 15 in a real browser: what a model wrote reaches the page only when it passed the check, and never
as an image or a link. Debian's chromium (Playwright) against `streamlit run app.py`, with the model served by the
scripted fake server (tests/fake_openai.py) and a beacon server that records every request it gets.

Ports 8621-8629 only: 8621 the app, 8622 the fake model server, 8623 the beacon. Kills only what it started.
"""

from __future__ import annotations

import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from tests.fake_openai import FakeOpenAI, text, tool_calls
from tests.support.browser import launch_chromium, needs_chromium, streamlit_server
from tools.base import ToolContext
from tools.registry import run_tool
from ui.chat import CHECKED_NOTE, NOT_SHOWN

pytestmark = needs_chromium

APP_PORT, MODEL_PORT, BEACON_PORT = 8621, 8622, 8623
BEACON = f"http://127.0.0.1:{BEACON_PORT}/beacon"
INVENTED = "You have 276,000 champions."


class Beacon:
    """An HTTP server that answers every request with a 1x1 GIF and records its path."""

    def __init__(self, port: int) -> None:
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                gif = (
                    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
                    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
                )
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Content-Length", str(len(gif)))
                self.end_headers()
                self.wfile.write(gif)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-grounding")
    db = folder / "shop.duckdb"
    import_file(db, write_demo_csv(folder / "demo.csv", customers=600, seed=3))
    return db


@pytest.fixture(scope="module")
def served(shop):
    """(app URL, fake model server, beacon), all running until the module's tests are done."""
    beacon = Beacon(BEACON_PORT)
    with FakeOpenAI(port=MODEL_PORT) as fake:
        env = {
            **os.environ,
            "SEGMENTS_DB": str(shop),
            "SEGMENTS_PASSWORD": "",
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": fake.base_url,
            "SEGMENTS_MODEL": "fake-model",
            "SEGMENTS_MODEL_TIMEOUT": "20",
        }
        try:
            with streamlit_server("app.py", APP_PORT, env):
                yield f"http://127.0.0.1:{APP_PORT}", fake, beacon
        finally:
            beacon.close()


def ask_in_browser(url: str, question: str, done_text: str):
    """Open the app, ask ``question``, wait until ``done_text`` is on the page; the page's main text, and the
    HTML of the assistant's messages."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            page.goto(url, wait_until="domcontentloaded")
            box = page.get_by_placeholder("Ask", exact=False).first
            box.wait_for(timeout=60_000)
            box.fill(question)
            box.press("Enter")
            page.get_by_text(done_text, exact=False).first.wait_for(timeout=90_000)
            # The text may be the start of an answer still streaming (its cursor shows): wait for the end.
            page.wait_for_function(
                "() => !document.querySelector(\"[data-testid='stMainBlockContainer']\").innerText.includes('\u258c')",
                timeout=90_000,
            )
            page.wait_for_load_state("networkidle")
            assert page.locator("[data-testid='stException']").count() == 0
            answers = page.locator("[data-testid='stChatMessage']").filter(
                has=page.locator("[data-testid='stChatMessageAvatarAssistant']")
            )
            answers_html = "".join(answers.nth(i).inner_html() for i in range(answers.count()))
            return page.locator("[data-testid='stMainBlockContainer']").inner_text(), answers_html
        finally:
            browser.close()


def test_an_invented_number_is_withdrawn_and_the_reason_shown(served):
    url, fake, _ = served
    fake.queue(text(INVENTED), text(INVENTED))  # a data question answered without looking, twice
    from agent.grounding import NO_LOOK
    from agent.llm import NOT_SHOWN_NOTE

    reason = NOT_SHOWN_NOTE.format(why=NO_LOOK)  # the answer's first sentence says why, once
    shown, _ = ask_in_browser(url, "how many champions do I have?", reason)
    assert reason in shown and NOT_SHOWN.format(why=NO_LOOK) not in shown
    assert "276,000" not in shown and "276000" not in shown
    assert "champions" in shown.split(reason)[1]  # the offline assistant's answer follows it


def test_an_image_in_a_checked_answer_is_never_fetched(served, shop):
    url, fake, beacon = served
    summary = run_tool("list_customers", {"group": "champions"}, ToolContext(shop)).summary
    count = re.search(r"\d[\d,]*", summary)[0]
    fake.queue(
        tool_calls(("list_customers", {"group": "champions"})),
        text(f"You have {count} champions. ![logo]({BEACON}?q=champions) [the list]({BEACON}?q=list)"),
    )
    # The address is in the question, so the answer's numbers all pass the check: the image is what is tested.
    shown, answers_html = ask_in_browser(url, f"who are my champions? (our logo is {BEACON})", CHECKED_NOTE)
    time.sleep(1)  # not a timing assertion: a fetch the page started would have landed by now
    assert beacon.hits == []
    assert "<img" not in answers_html and "beacon" not in answers_html
    assert not re.search(r"<a\b[^>]*beacon", answers_html)
    assert f"You have {count} champions. logo the list" in shown  # the words stay
