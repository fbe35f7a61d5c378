"""Two teammates on one link (issue 17), in Debian's chromium against a real `streamlit run serve.py`.

One page asks; the other, open all along, shows the new message without a reload (and keeps what its person was
typing), then its follow-up is about the first page's group; after a reload it still is.

Port 8804; Playwright drives /usr/bin/chromium (never downloads a browser); kills only its own server.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from segmentation.customers import customer_table
from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from tests.support.browser import launch_chromium, needs_chromium, streamlit_server

REPO = Path(__file__).resolve().parent.parent
PORT = 8804
URL = f"http://127.0.0.1:{PORT}/?ws=team"
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("team")
    db = folder / "shop.duckdb"
    import_file(db, write_demo_csv(folder / "demo.csv", customers=600, seed=3))
    env = {**os.environ, "SEGMENTS_DB": str(db), "OPENAI_API_KEY": "", "SEGMENTS_PASSWORD": "", "PYTHONPATH": str(REPO)}
    with streamlit_server("serve.py", PORT, env):
        yield db


def _lapsed_in_leeds(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        lapsed = set(customer_table(con, group="lapsed")["customer_id"])
        rows = con.execute("SELECT customer_id FROM customers WHERE city = 'Leeds'").fetchall()
    return sum(1 for (customer,) in rows if customer in lapsed)


def _chat_box(page):
    return page.get_by_placeholder("Ask", exact=False).first


def _open(page) -> None:
    page.goto(URL, wait_until="domcontentloaded")
    _chat_box(page).wait_for(timeout=60_000)


def _ask(page, question: str) -> None:
    _chat_box(page).fill(question)
    _chat_box(page).press("Enter")


def test_a_teammates_message_appears_and_the_follow_up_means_their_group(server):
    from playwright.sync_api import sync_playwright

    expected = _lapsed_in_leeds(server)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            mine, theirs = browser.new_page(), browser.new_page()
            _open(mine)
            _open(theirs)
            _chat_box(mine).fill("how many of th")  # half typed when the teammate's message comes in

            _ask(theirs, "who are my lapsed customers?")
            theirs.get_by_text("customers are lapsed", exact=False).first.wait_for(timeout=90_000)
            # No reload: the open page shows it by itself (it looks every few seconds).
            mine.get_by_text("customers are lapsed", exact=False).first.wait_for(timeout=60_000)
            assert _chat_box(mine).input_value() == "how many of th", "what was being typed survives"

            _chat_box(mine).fill("how many of them live in Leeds?")
            _chat_box(mine).press("Enter")
            said = f"{expected} of your lapsed customers are in Leeds"
            mine.get_by_text(said, exact=False).first.wait_for(timeout=90_000)
            theirs.get_by_text(said, exact=False).first.wait_for(timeout=60_000)  # and the other way round

            # After a reload the follow-up still means the lapsed customers.
            _open(theirs)
            theirs.get_by_text(said, exact=False).first.wait_for(timeout=90_000)
            _ask(theirs, "and how many of them live in London?")
            theirs.get_by_text("of your lapsed customers are in London", exact=False).first.wait_for(timeout=90_000)
            assert mine.locator("[data-testid='stException']").count() == 0
            assert theirs.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()
