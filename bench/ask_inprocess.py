"""One conversation with the offline assistant, in one process, with the in-process memo on and off.

    python bench/ask_inprocess.py [--size 1M] [--db PATH] [--repeat 3] [--no-artifacts] [--json]

The shop is the demo generator's at ``--size`` order lines (bench/run.py's sizes), generated and imported
into the bench's work folder once and reused after (``--db`` names an existing store instead). One
``OfflineAgent`` over ``ToolContext(db_path=..., artifacts=True)`` (charts and downloads handed over as in the
app: made when drawn or clicked, ``tools.base.LazyChart`` and ``Download``; ``--no-artifacts``: none, as the
command line's ``ask``) answers ``QUESTIONS`` in order, follow-ups included; each answer is timed from question
to written answer.

What it measures: the app's steady state, a server process already running. One untimed conversation goes
first (modules imported, the file in the operating system's cache), with the memo off. Then ``--repeat``
passes, each a fresh conversation with the memo on and one with it off (order alternating per pass), every
memo emptied and the store's kept-open file closed (``store.release_kept``: DuckDB's own cache of the file's
blocks goes with it) before each conversation: its first question computes the customer table, later ones
reuse it. Within a conversation the file stays open between answers, as the questions follow each other at
once (in the app, saving each answer's chat history closes it between answers).
A question's time is its median over the passes; the headline is the median over the questions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

QUESTIONS = (
    "What's in my data?",
    "Who are my lapsed customers?",
    "And which countries are they in?",
    "Who are my champions?",
    "Tell me about them",
    "Tell me about my at-risk customers",
    "Draft them an email",
    "Break my customers down by country",
    "Show me my RFM segments",
    "How much will my customers spend in the next 90 days?",
    "And in the next 30 days?",
    "What about my loyal customers?",
)


def shop(size: str, work: Path) -> Path:
    """The store for ``size``: generated (bench/run.py's ``data_file``) and imported once, then reused."""
    from run import BIN, data_file

    db = work / f"shop_{size}.duckdb"
    if not db.exists():
        subprocess.run(
            [str(BIN / "segments"), "import", str(data_file(size, work)), "--db", str(db)],
            cwd=REPO,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return db


def conversation(db: Path, *, memo_on: bool, artifacts: bool = True) -> list[dict]:
    """Each question's tool, milliseconds and error (None), in one fresh conversation."""
    from agent.offline import OfflineAgent
    from segmentation import memo, store
    from tools.base import ToolContext

    memo.clear_all()
    store.release_kept()
    memo.set_enabled(memo_on)
    agent = OfflineAgent(ToolContext(db_path=db, artifacts=artifacts))
    answers = []
    for question in QUESTIONS:
        start = time.perf_counter()
        turn = agent.ask(question)
        ms = (time.perf_counter() - start) * 1000
        call = turn.tool_calls[0] if turn.tool_calls else None
        answers.append(
            {"question": question, "tool": call.name if call else None, "ms": ms, "error": call.error if call else None}
        )
    memo.set_enabled(None)
    return answers


def measure(db: Path, repeat: int, artifacts: bool = True) -> dict:
    conversation(db, memo_on=False, artifacts=artifacts)  # warm-up: imports, the file cache
    runs: dict[str, list[list[dict]]] = {"on": [], "off": []}
    for i in range(repeat):
        for mode in ("on", "off") if i % 2 == 0 else ("off", "on"):
            runs[mode].append(conversation(db, memo_on=mode == "on", artifacts=artifacts))
    failed = [a for r in runs.values() for c in r for a in c if a["error"] or a["tool"] is None]
    if failed:
        raise SystemExit(f"an answer did not come from a tool: {failed[0]}")
    rows = []
    for i, question in enumerate(QUESTIONS):
        on = statistics.median(c[i]["ms"] for c in runs["on"])
        off = statistics.median(c[i]["ms"] for c in runs["off"])
        rows.append({"question": question, "tool": runs["on"][0][i]["tool"], "on_ms": on, "off_ms": off})
    median_on = statistics.median(r["on_ms"] for r in rows)
    median_off = statistics.median(r["off_ms"] for r in rows)
    return {
        "questions": rows,
        "median_on_ms": median_on,
        "median_off_ms": median_off,
        "repeat": repeat,
        "artifacts": artifacts,
    }


def report(result: dict, db: Path) -> str:
    lines = [
        f"In-process answers over {db.name}, median of {result['repeat']} conversations each "
        f"(memo emptied before each{'' if result.get('artifacts', True) else '; no charts or files'}):",
        "",
        "| question | tool | memo on ms | memo off ms | off / on |",
        "|---|---|---|---|---|",
    ]
    for r in result["questions"]:
        lines.append(
            f"| {r['question']} | {r['tool']} | {r['on_ms']:.0f} | {r['off_ms']:.0f} | "
            f"{r['off_ms'] / r['on_ms']:.1f}x |"
        )
    on, off = result["median_on_ms"], result["median_off_ms"]
    lines.append(f"| **median** | | **{on:.0f}** | **{off:.0f}** | **{off / on:.1f}x** |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1M", help="bench/run.py's size label (10k, 100k, 1M, 10M, ...)")
    parser.add_argument("--db", type=Path, help="an existing store to use instead of the generated shop")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "segments-bench")
    parser.add_argument(
        "--no-artifacts", dest="artifacts", action="store_false", help="no charts or files, as the command line's `ask`"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON (bench/run.py reads it)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.db or shop(args.size, args.work)
    result = measure(db, args.repeat, args.artifacts)
    print(json.dumps(result) if args.json else report(result, db))


if __name__ == "__main__":
    main()
