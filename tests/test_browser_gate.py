"""The gate on the server's own endpoints, against a real `streamlit run serve.py` with a password (issue 14).

- (17) A websocket session that never signed in cannot upload: its PUT to ``/_stcore/upload_file`` is
  refused and the server does not take the file in; a signed-in browser still imports through the sidebar.
- (11) A customer list downloaded by a signed-in browser is not served to a plain HTTP client without
  the browser's cookie, and its URL stops working once it has been downloaded.

Port 8611; Debian's chromium driven by Playwright (never downloads a browser); kills only its own server.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from tests.support.browser import launch_chromium, needs_chromium, streamlit_server

REPO = Path(__file__).resolve().parent.parent
PORT = 8611
URL = f"http://127.0.0.1:{PORT}"
PASSWORD = "four crumbs on a tray"
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate")
    db = folder / "shop.duckdb"
    import_file(db, write_demo_csv(folder / "demo.csv", customers=300, seed=5))
    env = {
        **os.environ,
        "SEGMENTS_DB": str(db),
        "OPENAI_API_KEY": "",
        "SEGMENTS_PASSWORD": PASSWORD,
        "PYTHONPATH": str(REPO),
    }
    with streamlit_server("serve.py", PORT, env) as proc:
        yield proc, folder


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _open_session_without_signing_in(client: httpx.Client) -> str:
    """What an attacker's script does: open the app's websocket, never send a password, read the session id."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    ws = await websockets.connect(
        f"ws://127.0.0.1:{PORT}/_stcore/stream", subprotocols=["streamlit"], additional_headers={"Cookie": cookie}
    )
    msg = BackMsg()
    msg.rerun_script.query_string = ""
    await ws.send(msg.SerializeToString())
    while True:
        fm = ForwardMsg()
        fm.ParseFromString(await asyncio.wait_for(ws.recv(), 30))
        if fm.WhichOneof("type") == "new_session":
            # Left open on purpose: the session must still be alive when the upload arrives.
            _open_sockets.append(ws)
            return fm.new_session.initialize.session_id


_open_sockets: list = []


def test_a_session_that_never_signed_in_cannot_upload(server):
    proc, _folder = server
    with httpx.Client(base_url=URL, timeout=60) as client:
        client.get("/")  # the page, and its gate cookie
        client.get("/_stcore/health")  # Streamlit's XSRF cookie, which an upload must echo
        loop = asyncio.new_event_loop()
        try:
            session_id = loop.run_until_complete(_open_session_without_signing_in(client))
            xsrf = client.cookies.get("_streamlit_xsrf", "")
            body = b"customer,date,amount\n" + b"x" * (64 * 1024 * 1024)
            before = _rss_kb(proc.pid)
            answer = client.put(
                f"/_stcore/upload_file/{session_id}/f1",
                headers={"X-Xsrftoken": xsrf},
                files={"UploadedFile": ("orders.csv", body, "text/csv")},
            )
            after = _rss_kb(proc.pid)
        finally:
            for ws in _open_sockets:
                loop.run_until_complete(ws.close())
            _open_sockets.clear()
            loop.close()
    assert answer.status_code == 403, answer.text
    assert answer.text == "Sign in to the app before uploading a file."
    # A 64 MB upload that was taken in would add at least 64 MB: refused before the body is read. The page's first
    # run goes on beside the upload and grew the server by 25 MB once on a busy machine: 40 MB keeps both apart.
    assert after - before < 40 * 1024, f"server grew by {(after - before) // 1024} MB"


DEVELOPER_ONLY = "[data-testid='stAppDeployButton']"


def _sign_in(page) -> None:
    page.goto(URL, wait_until="domcontentloaded")
    box = page.locator("input[type='password']")
    box.wait_for(timeout=60_000)
    # Visitors see no Deploy button or developer menu (toolbarMode = "viewer"), before the gate or after it.
    assert page.locator(DEVELOPER_ONLY).count() == 0
    box.fill(PASSWORD)
    page.get_by_role("button", name="Enter").click()
    page.get_by_placeholder("Ask", exact=False).first.wait_for(timeout=60_000)
    assert page.locator(DEVELOPER_ONLY).count() == 0


def test_a_downloaded_list_is_not_served_without_the_signed_in_browser(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(accept_downloads=True)
            _sign_in(page)
            box = page.get_by_placeholder("Ask", exact=False).first
            box.fill("who are my lapsed customers?")
            box.press("Enter")
            button = page.locator("[data-testid='stDownloadButton'] button").first
            button.wait_for(timeout=90_000)
            with page.expect_download(timeout=60_000) as info:
                button.evaluate("b => b.click()")  # the pinned chat input may cover it on a small window
            download = info.value
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
            media_url = download.url
            signed_in_cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        finally:
            browser.close()

    assert saved.suffix == ".csv" and "customer" in saved.read_text().splitlines()[0].lower()
    assert len(saved.read_text().splitlines()) > 2, "the signed-in download carried the list"
    assert "/media/" in media_url
    stranger = httpx.get(media_url, timeout=30)  # no cookie: a URL from a log, history or a forwarded link
    assert stranger.status_code == 403
    assert "customer" not in stranger.text.lower() and "@" not in stranger.text
    # Removed after use: even the browser that asked for it cannot fetch the same URL again.
    again = httpx.get(media_url, cookies=signed_in_cookies, timeout=30)
    assert again.status_code == 404


def test_a_signed_in_browser_still_imports_from_the_sidebar(server, tmp_path):
    from playwright.sync_api import sync_playwright

    orders = write_demo_csv(tmp_path / "more_orders.csv", customers=40, seed=11)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            _sign_in(page)
            page.locator("[data-testid='stSidebar'] input[type='file']").set_input_files(str(orders))
            page.get_by_role("button", name="Import").wait_for(timeout=60_000)
            page.get_by_role("button", name="Import").click()
            page.get_by_text("Imported more_orders.csv", exact=False).first.wait_for(timeout=120_000)
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()
