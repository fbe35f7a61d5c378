"""App cold start to first paint, in a real browser: Debian's chromium driven by Playwright.

    python bench/first_paint.py DB [--repeat N]

What the number includes: from the ``Popen`` of ``streamlit run app.py`` (a cold server process: on
127.0.0.1, headless, a free port, the repository's ``.streamlit/config.toml`` as with ``make run``;
``SEGMENTS_DB`` the given store, no model key, no password) until the page in chromium shows the chat input
and Streamlit reports the script run finished (``stApp``'s ``data-test-script-state`` is ``notRunning``):
the moment an owner can type. That covers the server's start, serving the page and its JavaScript, the websocket, and
the whole first run of ``app.py`` (its imports, the sidebar, the store's queries, the Chat tab, a saved
conversation replayed). The browser is launched, with a blank page open, before the clock starts, as an
owner's browser is already open: chromium's own start is not in the number. The page is opened as soon
as the server accepts TCP connections (polled with bare connects, not navigations: see
``_wait_until_listening``), so the wait for the server to listen is in.

Milestones are stamped inside the page (``Date.now()`` on every animation frame, same clock as the
``time.time()`` taken at the ``Popen``), so the waits' round trips to Python are not counted.
Kills only the server and the browser it started.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import time
from pathlib import Path

from serving import start_app, stop_app  # bench/ is not a package: run as a script, its folder is on the path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_S = 120
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Stamps each milestone once, on the first animation frame where it holds; "ready" ends the loop, and so does
# "failed" (the script finished with an exception on the page).
_STAMPS = """
(() => {
  const marks = window.__paint = {};
  const holds = {
    title: () => [...document.querySelectorAll('h1')].some(h => h.textContent.includes('Customer segments')),
    chat_input: () => !!document.querySelector('[data-testid="stChatInput"] textarea'),
    ready: () => {
      const app = document.querySelector('[data-testid="stApp"]');
      const box = document.querySelector('[data-testid="stChatInput"] textarea');
      return !!(app && box && app.dataset.testScriptState === 'notRunning' && box.offsetParent !== null);
    },
  };
  const failed = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!(app && app.dataset.testScriptState === 'notRunning'
              && document.querySelector('[data-testid="stException"]'));
  };
  const tick = () => {
    for (const [name, holdsNow] of Object.entries(holds)) {
      if (!(name in marks) && holdsNow()) marks[name] = Date.now();
    }
    if (failed()) marks.failed = Date.now();
    if (!('ready' in marks) && !('failed' in marks)) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_listening(server: subprocess.Popen, port: int, start: float) -> None:
    """Poll with bare TCP connects: a browser navigation per poll costs enough CPU to slow the server's own
    start on two cores (measured: it listened after about 2.2 s instead of 0.7 s)."""
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {server.returncode}") from None
            if time.time() - start > TIMEOUT_S:
                raise TimeoutError(f"streamlit did not listen within {TIMEOUT_S} s") from None
            time.sleep(0.02)


def paint_milestones(db: Path) -> dict[str, float]:
    """Seconds from the server's ``Popen`` to each milestone: server_answers, title, chat_input, ready."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    if not Path(db).exists():
        raise FileNotFoundError(f"no store at {db}: the app would open empty")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "SEGMENTS_DB": str(Path(db).resolve()), "OPENAI_API_KEY": "", "SEGMENTS_PASSWORD": ""}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto("about:blank")
            page.add_init_script(_STAMPS)
            start = time.time()
            server = start_app("app.py", port, env)
            try:
                _wait_until_listening(server, port, start)
                while True:
                    try:
                        page.goto(url, wait_until="commit", timeout=TIMEOUT_S * 1000)
                        break
                    except PlaywrightError as exc:  # listening is not yet serving: rare, try again
                        if "ERR_CONNECTION_REFUSED" not in str(exc) or time.time() - start > TIMEOUT_S:
                            raise
                        time.sleep(0.02)
                left_ms = max(1.0, (start + TIMEOUT_S - time.time()) * 1000)
                try:
                    page.wait_for_function(
                        "() => window.__paint && ('ready' in window.__paint || 'failed' in window.__paint)",
                        polling="raf",
                        timeout=left_ms,
                    )
                except PlaywrightTimeoutError:
                    reached = list(page.evaluate("() => window.__paint || {}"))
                    raise TimeoutError(
                        f"no first paint within {TIMEOUT_S} s (reached: {reached or 'nothing'}); "
                        "a password or sign-in page never shows the chat input"
                    ) from None
                marks = page.evaluate(
                    "() => ({...window.__paint, server_answers: performance.timeOrigin"
                    " + performance.getEntriesByType('navigation')[0].responseStart})"
                )
                if "failed" in marks:
                    raise RuntimeError("the app showed an exception on its first page")
            finally:
                stop_app(server)
        finally:
            browser.close()
    order = ("server_answers", "title", "chat_input", "ready")
    return {name: marks[name] / 1000 - start for name in order if name in marks}


def browser_first_paint(db: Path) -> float:
    """Seconds from ``streamlit run`` to the page idle with the chat input shown (module docstring)."""
    return paint_milestones(db)["ready"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        marks = paint_milestones(args.db)
        runs.append(marks["ready"])
        print("  ".join(f"{name} {s:.2f}" for name, s in marks.items()), flush=True)
    if args.repeat > 1:
        print(
            f"first paint: median {statistics.median(runs):.2f} s, min {min(runs):.2f}, max {max(runs):.2f} "
            f"({args.repeat} runs)"
        )
    else:
        print(f"{runs[0]:.2f}")


if __name__ == "__main__":
    main()
