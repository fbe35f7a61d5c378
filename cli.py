"""`segments`: the terminal front door. Same analytics as the app, for scripts and cron.

Exit codes: 0 success; 2 bad input (one plain line on stderr, the database untouched); 1 a bug.
Heavy libraries are imported inside the commands that need them, so `segments --help` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="segments", description="Segment a shop's customers from its orders export.")
    db = _Parser(add_help=False)
    db.add_argument("--db", type=Path, help="shop database file (default: data/shop.duckdb, or $SEGMENTS_DB)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", parents=[db], help="create the demo shop's database (a bakery-café)")
    demo.add_argument("--customers", type=int, default=2000, help="number of demo customers (default 2000)")
    demo.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same shop")

    imp = sub.add_parser("import", parents=[db], help="import an orders export (CSV, TSV, XLSX, Parquet, .gz)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                     help="say which column holds a field, e.g. --map customer_id='Client No'; FIELD= ignores it")
    imp.add_argument("--replace", action="store_true", help="start the shop's data afresh with this file")
    imp.add_argument("--json", action="store_true", help="print the import report as JSON")

    from segmentation.rfm import SEGMENT_KEYS  # light: no pandas work at import time

    cust = sub.add_parser("customers", parents=[db], help="each customer's recency, frequency, value and segment")
    cust.add_argument("--as-of", help="count only orders on or before this date (YYYY-MM-DD)")
    cust.add_argument("--segment", choices=SEGMENT_KEYS, help="only this RFM segment")
    cust.add_argument("--format", choices=("table", "csv", "json"), default="table")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from segmentation.readers import IngestError
    from segmentation.rfm import AnalysisError
    from segmentation.store import StoreError, default_db_path

    args.db = args.db or default_db_path()
    handler = {"demo": _demo, "import": _import, "customers": _customers}[args.command]
    try:
        return handler(args)
    except (IngestError, StoreError, AnalysisError) as exc:
        print(f"segments {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return 0


def _parse_map(pairs: list[str]) -> dict[str, str]:
    from segmentation.readers import IngestError

    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip():
            raise IngestError(f"--map {pair}: write it as FIELD=COLUMN, e.g. --map order_date='Paid at'.")
        mapping[field.strip()] = column.strip()
    return mapping


def _import(args: argparse.Namespace) -> int:
    from segmentation.ingest import import_file

    report = import_file(args.db, args.file, overrides=_parse_map(args.map), replace=args.replace)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.as_text())
    return 0


def _demo(args: argparse.Namespace) -> int:
    from segmentation.ingest import import_file
    from segmentation.readers import IngestError
    from segmentation.sample import write_demo_csv

    if not 10 <= args.customers <= 5_000_000:
        raise IngestError("--customers must be between 10 and 5,000,000.")
    with tempfile.TemporaryDirectory(prefix="segments-demo-") as tmp:
        path = write_demo_csv(Path(tmp) / "corner_crumb_orders.csv", customers=args.customers, seed=args.seed)
        report = import_file(args.db, path, replace=True, display_name="demo shop: The Corner Crumb")
    print(report.as_text())
    print(f"Demo shop written to {args.db}")
    return 0


def _customers(args: argparse.Namespace) -> int:
    from segmentation.rfm import SCORE_RULE, customer_rfm
    from segmentation.store import connect

    con = connect(args.db, read_only=True)
    try:
        frame = customer_rfm(con, as_of=args.as_of)
    finally:
        con.close()
    as_of = frame.attrs["as_of"]
    if args.segment:
        frame = frame[frame["segment"] == args.segment]
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(frame.to_json(orient="records", double_precision=2))
    else:
        print(frame.to_string(index=False) if len(frame) else "No customers match.")
        print(f"\n{len(frame):,} customers as of {as_of}; {SCORE_RULE}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
