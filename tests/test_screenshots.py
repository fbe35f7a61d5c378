"""The README's screenshots, taken in a real browser on the demo shop: the first page, a chat answer, the Segments
tab and the Campaigns tab.

In the test run they go to a temporary folder and are checked (real pictures of the page, not blank ones);
`make screenshots` runs this same test with SEGMENTS_SCREENSHOTS=docs/screenshots to refresh the README's.
Debian's chromium, never a downloaded browser; only the server this test started is stopped.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from tests.support.browser import launch_chromium, needs_chromium, streamlit_server

PORT = 8641
SHOTS = ("first_page", "chat_answer", "segments_tab", "campaigns_tab")
WIDTH, HEIGHT = 1280, 900
pytestmark = needs_chromium


def test_screenshots_of_the_four_views(tmp_path):
    out = Path(os.environ.get("SEGMENTS_SCREENSHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "shop.duckdb"
    # The shop `make run` opens: The Corner Crumb, 2,000 customers.
    import_file(
        db,
        write_demo_csv(tmp_path / "demo.csv", customers=2000, seed=7),
        display_name="demo shop: The Corner Crumb",
        currency="GBP",
    )  # as `segments demo` sets it
    env = {**os.environ, "SEGMENTS_DB": str(db), "OPENAI_API_KEY": "", "SEGMENTS_PASSWORD": ""}
    with streamlit_server("app.py", PORT, env):
        _take(f"http://127.0.0.1:{PORT}", out)
    for name in SHOTS:
        with Image.open(out / f"{name}.png") as shot:
            assert shot.format == "PNG" and shot.width == WIDTH and shot.height >= HEIGHT
            # A page, not a blank or a spinner: thousands of colours from text, charts and tables.
            assert len(shot.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 500, name


def _take(url: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.goto(url, wait_until="domcontentloaded")
            box = page.get_by_placeholder("Ask", exact=False).first
            box.wait_for(timeout=60_000)
            page.get_by_text("The Corner Crumb, the demo shop", exact=False).first.wait_for(timeout=30_000)
            page.screenshot(path=out / "first_page.png")
            box.fill("who are my lapsed customers?")
            box.press("Enter")
            page.get_by_text("customers are lapsed", exact=False).first.wait_for(timeout=90_000)
            page.locator(".vega-embed").first.wait_for(timeout=60_000)
            # The chat keeps itself scrolled to its end (the table): a taller window holds the question, the
            # answer's words, its chart and the start of its table in one picture.
            page.set_viewport_size({"width": WIDTH, "height": 1500})
            page.wait_for_timeout(1000)
            page.screenshot(path=out / "chat_answer.png")
            page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
            for tab, name, ready in (
                ("Segments", "segments_tab", "RFM segments"),
                ("Campaigns", "campaigns_tab", "to message and"),
            ):
                page.goto(f"{url}/?tab={tab}", wait_until="domcontentloaded")
                page.get_by_text(ready, exact=False).first.wait_for(timeout=90_000)
                page.wait_for_timeout(1500)  # charts draw after their data arrives
                page.screenshot(path=out / f"{name}.png")
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()
