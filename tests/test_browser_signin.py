"""Staying signed in (issue 17), against a real `streamlit run serve.py` with a password and Debian's chromium.

A reload keeps the browser in; an altered or expired cookie does not; Sign out ends it; a restart with the same
password keeps it and a new password ends it. The cookie's rules one by one are in tests/test_signin.py.

Ports 8801-8803; Playwright drives /usr/bin/chromium (never downloads a browser); kills only its own servers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ui.signin
from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from tests.support.browser import launch_chromium, needs_chromium, streamlit_server

REPO = Path(__file__).resolve().parent.parent
PORT = 8801
PASSWORD = "four crumbs on a tray"
pytestmark = needs_chromium


def _env(folder: Path, password: str) -> dict[str, str]:
    return {
        **os.environ,
        "SEGMENTS_DB": str(folder / "shop.duckdb"),
        "OPENAI_API_KEY": "",
        "SEGMENTS_PASSWORD": password,
        "SEGMENTS_SIGNIN_KEY": "",
        "PYTHONPATH": str(REPO),
    }


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("signin")
    import_file(folder / "shop.duckdb", write_demo_csv(folder / "demo.csv", customers=200, seed=5))
    return folder


@pytest.fixture(scope="module")
def server(folder):
    with streamlit_server("serve.py", PORT, _env(folder, PASSWORD)) as proc:
        yield proc


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch_chromium(p)
        try:
            yield chromium
        finally:
            chromium.close()


def _url(port: int = PORT) -> str:
    return f"http://127.0.0.1:{port}/"


def _shows(page, port: int = PORT) -> str:
    """Opens the app; "form" when it asks for the password, "in" when it shows the chat."""
    page.goto(_url(port), wait_until="domcontentloaded")
    page.locator("input[type='password'], textarea[placeholder^='Ask']").first.wait_for(timeout=60_000)
    return "form" if page.locator("input[type='password']").count() else "in"


def _sign_in(page, port: int = PORT) -> None:
    assert _shows(page, port) == "form"
    page.locator("input[type='password']").fill(PASSWORD)
    page.get_by_role("button", name="Enter").click()
    page.get_by_placeholder("Ask", exact=False).first.wait_for(timeout=60_000)


def _signin_cookie(context) -> dict | None:
    found = [c for c in context.cookies() if c["name"] == ui.signin.COOKIE]
    return found[0] if found else None


def _with_cookie(browser, value: str):
    context = browser.new_context()
    context.add_cookies([{"name": ui.signin.COOKIE, "value": value, "url": _url()}])
    return context


def test_a_reload_keeps_the_browser_signed_in_and_sign_out_ends_it(server, browser):
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page)
    assert _shows(page) == "in", "a reload asked for the password again"
    cookie = _signin_cookie(context)
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert PASSWORD not in cookie["value"]
    second_tab = context.new_page()
    assert _shows(second_tab) == "in"

    page.locator("[data-testid='stSidebar']").get_by_role("button", name="Sign out").click()
    page.locator("input[type='password']").wait_for(timeout=60_000)
    _wait_until_cleared(context)
    assert _shows(page) == "form", "signed out, a reload must ask again"
    # The other tab's next run finds its browser signed out.
    second_tab.get_by_placeholder("Ask", exact=False).first.fill("who are my lapsed customers?")
    second_tab.get_by_placeholder("Ask", exact=False).first.press("Enter")
    second_tab.locator("input[type='password']").wait_for(timeout=60_000)
    # Replaying the old cookie by hand does not get in either: the server revoked it.
    assert _shows(_with_cookie(browser, cookie["value"]).new_page()) == "form"
    # Typing the password again (the page is at its form) keeps the browser in across a reload once more.
    page.locator("input[type='password']").fill(PASSWORD)
    page.get_by_role("button", name="Enter").click()
    page.get_by_placeholder("Ask", exact=False).first.wait_for(timeout=60_000)
    assert _shows(page) == "in"


def _wait_until_cleared(context) -> None:
    """The page clears the cookie with a request of its own after the rerun: wait for it (30 s at most)."""
    import time

    deadline = time.monotonic() + 30
    while _signin_cookie(context) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _signin_cookie(context) is None, "Sign out left the sign-in cookie in the browser"


def test_an_altered_or_expired_cookie_asks_for_the_password(server, browser, folder, monkeypatch):
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page)
    _shows(page)  # the reload that brings the cookie
    good = _signin_cookie(context)["value"]
    altered = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert _shows(_with_cookie(browser, altered).new_page()) == "form"

    # A token the server's own key signed, for this password, that ran out an hour ago.
    key = ui.signin.server_key({"SEGMENTS_DB": str(folder / "shop.duckdb")})
    monkeypatch.setattr(ui.signin, "_clock", lambda: ui.signin.time.time() - ui.signin.LIFETIME_S - 3600)
    expired = ui.signin.Signer(key, PASSWORD).issue()
    monkeypatch.undo()
    assert _shows(_with_cookie(browser, expired).new_page()) == "form"
    # The same key and password a minute ago: still good (so it was the expiry that refused the other).
    assert _shows(_with_cookie(browser, ui.signin.Signer(key, PASSWORD).issue()).new_page()) == "in"


def test_a_restart_keeps_the_cookie_and_a_new_password_ends_it(folder, browser):
    context = browser.new_context()
    page = context.new_page()
    with streamlit_server("serve.py", PORT + 1, _env(folder, PASSWORD)):
        _sign_in(page, PORT + 1)
        assert _shows(page, PORT + 1) == "in"
    # Cookies are per host, not per port: the same browser meets the restarted server.
    with streamlit_server("serve.py", PORT + 2, _env(folder, PASSWORD)):
        assert _shows(page, PORT + 2) == "in", "the key beside the database lets a restart keep the browser in"
    with streamlit_server("serve.py", PORT + 1, _env(folder, PASSWORD + " and a new one")):
        assert _shows(page, PORT + 1) == "form", "a new password signs everyone out"
        assert _signin_cookie(context) is None, "the stale cookie was cleared"
