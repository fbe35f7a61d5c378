"""Answer time in a real browser: Debian's chromium, driven by Playwright, asking the app a fixed conversation.

    python bench/answer_time.py [--size retail] [--db PATH] [--passes 3] [--port 8701] [--repo DIR] [--json]

What the number is: for each question, from the Enter key in the chat box (stamped inside the page) until the
answer is on the page: both new chat messages (the question and the answer) are shown and Streamlit reports
the script run finished (``stApp``'s ``data-test-script-state`` is ``notRunning``). That covers the websocket
round trip, the offline agent, the tools, saving the turn to the history, and drawing the whole page again (the
conversation so far included, as the app does on every question). Charts draw in the browser after that, as
the owner watches; they are not waited for.

How: ``streamlit run serve.py`` (the gate in front, no password, no model key) over a copy of the store, one
server per mode, one after the other (two processes cannot share the file's writes):

- ``baseline``: ``SEGMENTS_MEMO=off``, so every answer computes afresh, the customer table and the clustering
  included: the uncached path, and what a question costs the first time;
- ``memo``: the app as shipped. Its first pass starts with the server (every memo empty: the first questions
  after an import or a restart), later passes are warm.

Each pass is a fresh workspace (``?ws=bench-N``: no history) in a fresh browser page. The first question
comes ``THINK_S`` after the page is ready (an owner reads the page and types; the app uses that time to load
scikit-learn, ui/warm.py), each next one as soon as the answer is shown. A mode's median and 95th percentile
are over every answer of every pass (``--passes`` x ``QUESTIONS``); the first pass of the memo server is also
reported on its own ("cold"). ``--repo`` serves another checkout of the app (the commit before a change,
say) with this environment, for a before/after. Kills only the servers and the browser it started.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from first_paint import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (bench/ is not a package)
from serving import start_app, stop_app  # noqa: E402

TIMEOUT_S = 180
THINK_S = 3.0  # from the page ready to the first question: reading the page and typing take longer
QUESTIONS = (
    "Who are my lapsed customers?",
    "Split my customers into groups",
    "Tell me about cluster 1",
    "Who are my champions?",
    "Split my customers into 4 groups",
    "Tell me about cluster 2",
    "Show me my RFM segments",
    "How much will my customers spend in the next 90 days?",
)
# The Enter key stamps the question's start; the answer is in when both new messages are shown and the run is
# over. Stamped with performance.now() inside the page, so Playwright's round trips are not counted.
_WATCH = """
(() => {
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target.closest('[data-testid="stChatInput"]')) window.__t0 = performance.now();
  }, true);
})();
"""
_ANSWERED = """
(base) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const shown = document.querySelectorAll('[data-testid="stChatMessage"]').length;
  if (window.__t0 != null && app && app.dataset.testScriptState === 'notRunning' && shown >= base + 2) {
    window.__t1 = window.__t1 ?? performance.now();
    return true;
  }
  return false;
}
"""
_READY = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const box = document.querySelector('[data-testid="stChatInput"] textarea');
  return !!(app && box && app.dataset.testScriptState === 'notRunning' && box.offsetParent !== null);
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_health(server: subprocess.Popen, port: int) -> None:
    import urllib.request

    deadline = time.time() + TIMEOUT_S
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not answer within {TIMEOUT_S} s")


def _ask_all(browser, url: str) -> list[dict]:
    """One conversation in a fresh page: each question's seconds and the first words of its answer."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.add_init_script(_WATCH)
        page.goto(url, wait_until="domcontentloaded", timeout=TIMEOUT_S * 1000)
        page.wait_for_function(_READY, polling="raf", timeout=TIMEOUT_S * 1000)
        box = page.locator('[data-testid="stChatInput"] textarea')
        page.wait_for_timeout(THINK_S * 1000)
        answers = []
        for question in QUESTIONS:
            base = page.locator('[data-testid="stChatMessage"]').count()
            page.evaluate("() => { window.__t0 = null; window.__t1 = null; }")
            box.fill(question)
            box.press("Enter")
            page.wait_for_function(_ANSWERED, arg=base, polling="raf", timeout=TIMEOUT_S * 1000)
            seconds = page.evaluate("() => (window.__t1 - window.__t0) / 1000")
            if page.locator('[data-testid="stException"]').count():
                raise RuntimeError(f"the app showed an exception answering {question!r}")
            said = page.locator('[data-testid="stChatMessage"]').last.inner_text()
            answers.append({"question": question, "s": seconds, "said": " ".join(said.split())[:100]})
        return answers
    finally:
        page.close()


def run_server(db: Path, port: int, passes: int, *, memo: bool, repo: Path = REPO) -> list[list[dict]]:
    """``passes`` conversations against one ``streamlit run serve.py`` (``repo``'s) over ``db``, memos on or off."""
    from playwright.sync_api import sync_playwright

    env = {
        **os.environ,
        "SEGMENTS_DB": str(db),
        "OPENAI_API_KEY": "",
        "SEGMENTS_PASSWORD": "",
        "SEGMENTS_MEMO": "on" if memo else "off",
    }
    server = start_app("serve.py", port, env, cwd=repo, extra=["--browser.gatherUsageStats", "false"])
    try:
        _wait_for_health(server, port)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                tag = "memo" if memo else "base"
                return [_ask_all(browser, f"http://127.0.0.1:{port}/?ws=bench-{tag}-{i}") for i in range(passes)]
            finally:
                browser.close()
    finally:
        stop_app(server)


def p95(values: list[float]) -> float:
    """The 95th percentile, linear between the nearest ranks (numpy's default; few values: near the max)."""
    ordered = sorted(values)
    rank = 0.95 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _stats(runs: list[list[dict]]) -> dict:
    times = [a["s"] for run in runs for a in run]
    return {"median_s": statistics.median(times), "p95_s": p95(times), "answers": len(times)}


def measure(db: Path, passes: int, port: int | None = None, repo: Path = REPO) -> dict:
    """Both modes over a private copy of ``db`` (the app writes each turn to the store's history)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="answer-time-") as tmp:
        copy = Path(tmp) / "shop.duckdb"
        shutil.copy(db, copy)
        port = port or _free_port()
        base = run_server(copy, port, passes, memo=False, repo=repo)
        memo = run_server(copy, port, passes, memo=True, repo=repo)
    per_question = []
    for i, question in enumerate(QUESTIONS):
        per_question.append({
            "question": question,
            "baseline_s": statistics.median(run[i]["s"] for run in base),
            "cold_s": memo[0][i]["s"],
            "warm_s": statistics.median(run[i]["s"] for run in memo[1:]) if passes > 1 else float("nan"),
            "said": memo[0][i]["said"],
        })  # fmt: skip
    result = {
        "baseline": _stats(base),
        "memo": _stats(memo),
        "cold": _stats(memo[:1]),
        "passes": passes,
        "questions": per_question,
    }
    result["p95_ratio"] = result["baseline"]["p95_s"] / result["memo"]["p95_s"]
    result["median_ratio"] = result["baseline"]["median_s"] / result["memo"]["median_s"]
    return result


def report(result: dict, db: Path) -> str:
    lines = [
        f"In-browser answer times over {db.name}, {result['passes']} conversations per mode "
        "(seconds, from Enter to the answer shown):",
        "",
        "| question | baseline (memos off) | memo, cold (first pass) | memo, warm | said |",
        "|---|---|---|---|---|",
    ]
    for q in result["questions"]:
        lines.append(
            f"| {q['question']} | {q['baseline_s']:.2f} | {q['cold_s']:.2f} | {q['warm_s']:.2f} | {q['said'][:60]} |"
        )
    b, m, c = result["baseline"], result["memo"], result["cold"]
    lines += [
        "",
        f"baseline: median {b['median_s']:.2f} s, p95 {b['p95_s']:.2f} s; memo (every pass): median "
        f"{m['median_s']:.2f} s, p95 {m['p95_s']:.2f} s; memo's cold pass: median {c['median_s']:.2f} s, "
        f"p95 {c['p95_s']:.2f} s; baseline / memo: {result['median_ratio']:.1f}x at the median, "
        f"{result['p95_ratio']:.1f}x at p95",
    ]
    return "\n".join(lines)


def shop(size: str, work: Path) -> Path:
    """bench/run.py's shop for ``size`` (``demo``: `segments demo`'s), generated and imported once."""
    from ask_inprocess import shop as imported

    return imported(size, work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="retail", help="bench/run.py's size label (demo, 10k, 1M, retail...)")
    parser.add_argument("--db", type=Path, help="an existing store to use (copied) instead of the size's shop")
    parser.add_argument("--passes", type=int, default=3, help="conversations per mode")
    parser.add_argument("--port", type=int, help="the servers' port (default: a free one)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose serve.py to run")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "segments-bench")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (bench/run.py reads it)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.db or shop(args.size, args.work)
    result = measure(db, args.passes, args.port, args.repo.resolve())
    print(json.dumps(result) if args.json else report(result, db))


if __name__ == "__main__":
    main()
