"""One real browser: Debian's chromium, driven by Playwright, against `streamlit run app.py`.

Asks the demo shop "who are my lapsed customers?" and waits for the answer's chart. Never downloads a
browser (executable_path points at /usr/bin/chromium); kills only the server it started.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from segmentation.ingest import import_file
from segmentation.sample import write_demo_csv

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


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
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start within 60 s")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def test_ask_about_lapsed_customers_and_see_the_chart(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
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
