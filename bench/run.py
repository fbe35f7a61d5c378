"""Benchmarks (not tests): each step of the product at several sizes, beside the pandas notebook way.

    python bench/run.py [--sizes demo,10k,100k,1M,10M,1M-customers,retail] [--repeat 3] [--out bench/RESULTS.md]
                        [--no-browser-answers]

Sizes are order lines from the demo generator; ``demo`` is the demo shop (`segments demo`: 2,000 customers,
seed 7), ``1M-customers`` a demo shop with a million customers (the clustering target) and ``retail`` the real
UCI Online Retail export from ../shared/data.

Every step runs as its own process, as a user would run it, so process start is included; wall time is
the median of ``--repeat`` runs and peak memory is the child's own maximum resident set (os.wait4).
Ratios compare with the pandas baseline measured in the same run on the same machine. The one exception is
"ask in-process": a dozen questions answered by one running assistant (bench/ask_inprocess.py, in a child
of its own), the median answer with the in-process memo on and, in brackets, off; ``--repeat`` conversations
each up to 2M lines, one above (at 10M lines a conversation takes a minute). And "answer in browser":
bench/answer_time.py's eight questions asked in Debian's chromium of the app served as `make run` does, median
and 95th percentile seconds from Enter to the answer shown, with memos on and, in brackets, off (the uncached
path), in the same run; two conversations per mode up to 2M lines, one above. It takes about a minute a size
(skip it with ``--no-browser-answers``; without /usr/bin/chromium it is left empty, and the table says so).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}
# Besides sizes in lines: a shop with a million customers (a short, busy history: about 3.9M lines, most
# customers new), for the clustering target, and the real UCI Online Retail export.
MILLION_CUSTOMERS = "1M-customers"
DEMO = "demo"  # `segments demo`'s shop: its default 2,000 customers and seed
ONLINE_RETAIL = "retail"
ONLINE_RETAIL_FILE = REPO.parent / "shared" / "data" / "online_retail.csv.gz"


def measure(cmd: list[str], *, env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process; raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_maxrss / 1024


def median_of(cmd: list[str], repeat: int, **kwargs) -> tuple[float, float]:
    runs = [measure(cmd, **kwargs) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def app_first_paint(db: Path, repeat: int = 1) -> tuple[float, str]:
    """(seconds, how): from `streamlit run` to the page drawn in chromium, chat input shown and the script
    run finished (bench/first_paint.py), the median of ``repeat`` cold starts, how "browser"; without
    /usr/bin/chromium, only until the server answers HTTP, how "server only", which the results say.

    Each start is a new server process; one untimed start goes first, so the operating system's file cache
    holds the program's files as on a machine that has run it before (with the cache dropped, the first
    start took 3.2 s and the next ones 2.4-2.6 s; the steps before it, at 10M lines, fill that cache with
    gigabytes of data).
    """
    from first_paint import CHROMIUM, browser_first_paint
    from serving import start_app, stop_app

    if CHROMIUM.exists():
        browser_first_paint(db)
        return statistics.median(browser_first_paint(db) for _ in range(repeat)), "browser"
    port = 8600 + os.getpid() % 300
    env = {**os.environ, "SEGMENTS_DB": str(db), "OPENAI_API_KEY": ""}
    start = time.perf_counter()
    server = start_app("app.py", port, env)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
                return time.perf_counter() - start, "server only"
            except OSError:
                if time.perf_counter() - start > 60:
                    return float("nan"), "server only"
                time.sleep(0.05)
    finally:
        stop_app(server)


def data_file(label: str, work: Path) -> Path:
    """The orders file for a size label, generated once into ``work``."""
    if label == ONLINE_RETAIL:
        return ONLINE_RETAIL_FILE
    csv_path = work / f"orders_{label}.csv"
    if label == MILLION_CUSTOMERS:
        kwargs = "customers=1_000_000, years=0.25, seed=1"
    elif label == DEMO:
        kwargs = "customers=2000, seed=7"
    else:
        kwargs = f"customers=customers_for_lines({SIZES[label]}), seed=1"
    if not csv_path.exists():
        # In a child: a parent that grew to hold 10M rows would hand its peak memory on to every child it
        # starts (Linux keeps the high-water mark across exec), and the memory column would lie.
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from segmentation.demo.shop import customers_for_lines, write_demo_csv; "
                f"write_demo_csv(sys.argv[1], {kwargs})",
                str(csv_path),
            ],
            cwd=REPO,
            check=True,
        )
    return csv_path


def count_lines(path: Path) -> int:
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as fh:
        return sum(1 for _ in fh) - 1


def run_size(label: str, repeat: int, work: Path, browser_answers: bool = True) -> dict:
    csv_path = data_file(label, work)
    db = work / f"shop_{label}.duckdb"
    seg = str(BIN / "segments")
    row = {"size": label, "lines": count_lines(csv_path)}

    def fresh_import() -> tuple[float, float]:
        db.unlink(missing_ok=True)
        return measure([seg, "import", str(csv_path), "--db", str(db)])

    imports = [fresh_import() for _ in range(repeat)]
    row["import_s"], row["import_mb"] = statistics.median(i[0] for i in imports), max(i[1] for i in imports)
    row["customers_s"], row["customers_mb"] = median_of([seg, "customers", "--db", str(db), "--format", "csv"], repeat)
    row["pandas_s"], row["pandas_mb"] = median_of([sys.executable, "bench/pandas_baseline.py", str(csv_path)], repeat)
    row["clusters_s"], row["clusters_mb"] = median_of([seg, "clusters", "--db", str(db), "--json"], repeat)
    row["customers"] = customer_count(db)
    row["profile_s"], _ = median_of([seg, "profile", "at_risk", "--db", str(db), "--json"], repeat)
    row["ask_s"], _ = median_of([seg, "ask", "who are my lapsed customers?", "--db", str(db)], repeat)
    row["ask_on_ms"], row["ask_off_ms"] = ask_in_process(label, db, repeat if row["lines"] <= 2_000_000 else 1)
    row["paint_s"], row["paint_how"] = app_first_paint(db, repeat)
    row["answers"] = answers_in_browser(label, db, 2 if row["lines"] <= 2_000_000 else 1) if browser_answers else None
    return row


def answers_in_browser(label: str, db: Path, passes: int) -> dict | None:
    """bench/answer_time.py's result over ``db`` (medians and 95th percentiles, memos on and off), or None: no
    chromium, or it failed (said on stderr; the rest of the table is still worth having)."""
    from first_paint import CHROMIUM

    if not CHROMIUM.exists():
        return None
    out = subprocess.run(
        [sys.executable, "bench/answer_time.py", "--db", str(db), "--passes", str(passes), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        print(f"answers in the browser failed at {label}: {out.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def ask_in_process(label: str, db: Path, repeat: int) -> tuple[float, float]:
    """(median answer ms with the memo on, with it off): bench/ask_inprocess.py's conversation over ``db``;
    NaN, said on stderr, when it fails (the rest of the table is still worth having)."""
    out = subprocess.run(
        [sys.executable, "bench/ask_inprocess.py", "--size", label, "--db", str(db), "--repeat", str(repeat), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        print(f"ask in-process failed at {label}: {out.stderr.strip()[-500:]}", file=sys.stderr)
        return float("nan"), float("nan")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["median_on_ms"], result["median_off_ms"]


def customer_count(db: Path) -> int:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; print(duckdb.connect(sys.argv[1], read_only=True).execute("
            "'SELECT count(*) FROM customers').fetchall()[0][0])",
            str(db),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout)


def write_results(rows: list[dict], out: Path) -> None:
    head = (
        "| size | lines | customers | import s (MB) | customers s (MB) | pandas s (MB) | customers / pandas | "
        "import / pandas | clusters s (MB) | profile s | ask s | ask in-process median ms (memo off) | "
        "app first paint s | answer in browser median s (memos off) | answer in browser p95 s (memos off) |"
    )
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}; run {time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        "Wall time is the median of the runs, process start included; memory is the peak resident set.",
        "",
        head,
        "|---" * (head.count("|") - 1) + "|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['lines']:,} | {r['customers']:,} | {r['import_s']:.2f} ({r['import_mb']:.0f}) | "
            f"{r['customers_s']:.2f} ({r['customers_mb']:.0f}) | {r['pandas_s']:.2f} ({r['pandas_mb']:.0f}) | "
            f"{r['customers_s'] / r['pandas_s']:.2f}x | {r['import_s'] / r['pandas_s']:.2f}x | "
            f"{r['clusters_s']:.2f} ({r['clusters_mb']:.0f}) | {r['profile_s']:.2f} | {r['ask_s']:.2f} | "
            f"{r['ask_on_ms']:.0f} ({r['ask_off_ms']:.0f}) | "
            f"{r['paint_s']:.2f}{' (server answers only: no chromium)' if r['paint_how'] != 'browser' else ''} | "
            f"{_answers(r.get('answers'))} |"
        )
    analysis = REPO / "bench" / "ANALYSIS.md"  # the reading of the numbers, kept apart from the numbers
    if analysis.exists():
        lines += ["", analysis.read_text().rstrip()]
    out.write_text("\n".join(lines) + "\n")


def _answers(result: dict | None) -> str:
    """ "0.88 (1.20) | 1.18 (1.53)": the two in-browser columns, memos on (off); "not run" without a result."""
    if not result:
        return "not run | not run"
    on, off = result["memo"], result["baseline"]
    return f"{on['median_s']:.2f} ({off['median_s']:.2f}) | {on['p95_s']:.2f} ({off['p95_s']:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10k,100k,1M,retail")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "segments-bench")
    parser.add_argument(
        "--no-browser-answers",
        dest="browser_answers",
        action="store_false",
        help="skip the in-browser answer times (about a minute a size)",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for label in args.sizes.split(","):
        rows.append(run_size(label, args.repeat, args.work, args.browser_answers))
        print({k: v for k, v in rows[-1].items() if k != "answers"}, _answers(rows[-1].get("answers")), flush=True)
        write_results(rows, args.out)


if __name__ == "__main__":
    main()
