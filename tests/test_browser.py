"""One real browser: Debian's chromium, driven by Playwright, against `streamlit run app.py`.

Asks the demo shop "who are my lapsed customers?" and waits for the answer's chart. Never downloads a
browser (executable_path points at /usr/bin/chromium); kills only the server it started.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from tests.support.browser import launch_chromium, needs_chromium, streamlit_server

REPO = Path(__file__).resolve().parent.parent
pytestmark = needs_chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "shop.duckdb"
    import_file(db, write_demo_csv(folder / "demo.csv", customers=600, seed=3))
    port = _free_port()
    env = {**os.environ, "SEGMENTS_DB": str(db), "OPENAI_API_KEY": "", "SEGMENTS_PASSWORD": ""}
    with streamlit_server("app.py", port, env):
        yield f"http://127.0.0.1:{port}"


def test_ask_about_lapsed_customers_and_see_the_chart(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            page.goto(app_url, wait_until="domcontentloaded")
            box = page.get_by_placeholder("Ask", exact=False).first
            box.wait_for(timeout=60_000)
            box.fill("who are my lapsed customers?")
            box.press("Enter")
            answer = page.get_by_text("customers are lapsed", exact=False).first
            answer.wait_for(timeout=90_000)
            page.locator(".vega-embed").first.wait_for(timeout=60_000)
            assert "no order in the last" in page.content()
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()
