"""`segments`: the terminal front door. Same analytics as the app, for scripts and cron.

Exit codes: 0 success; 2 bad input (one plain line on stderr, the database untouched); 1 a bug.
Heavy libraries are imported inside the commands that need them, so `segments --help` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from segmentation.safety.cellsafety import printable

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
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="say which column holds a field, e.g. --map customer_id='Client No'; FIELD= ignores it",
    )
    imp.add_argument("--replace", action="store_true", help="start the shop's data afresh with this file")
    imp.add_argument("--json", action="store_true", help="print the import report as JSON")
    imp.add_argument(
        "--currency",
        metavar="CODE",
        help="the shop's currency, e.g. GBP (default: found in the file "
        "where it can be; kept until changed with `segments currency`)",
    )

    cur = sub.add_parser("currency", parents=[db], help="show or set the shop's currency (GBP, EUR, USD, ...)")
    cur.add_argument("code", nargs="?", help="the currency code to set; none: show the one in use")

    from segmentation.vocabulary import SEGMENT_KEYS, STAGES

    as_of = _Parser(add_help=False)
    as_of.add_argument("--as-of", help="count only orders on or before this date (YYYY-MM-DD; default: the last order)")

    cust = sub.add_parser("customers", parents=[db, as_of], help="each customer's RFM, lifecycle and predicted value")
    cust.add_argument("--segment", choices=SEGMENT_KEYS + STAGES, help="only this RFM segment or lifecycle stage")
    cust.add_argument(
        "--horizon-days",
        type=int,
        default=90,
        help="days ahead for expected purchases and CLV (default 90, at most 1095: three years)",
    )
    cust.add_argument(
        "--margin",
        type=float,
        help="share of revenue that is profit, e.g. 0.4: CLV becomes profit (default: CLV is revenue)",
    )
    cust.add_argument(
        "--discount-rate",
        type=float,
        default=0.10,
        help="yearly rate future value is discounted at (default 0.10: 10%%)",
    )
    cust.add_argument(
        "--where",
        metavar="CONDITION",
        help="only customers this condition holds for, e.g. "
        '"lifecycle = lapsed and city = Leeds", or a saved segment\'s name',
    )
    cust.add_argument("--format", choices=FORMATS, default="table")

    one = sub.add_parser(
        "customer",
        parents=[db, as_of],
        help="one customer's page: orders, scores, stage and its "
        "history, value, next order, groups, consent and campaigns",
    )
    one.add_argument("id", help="the customer's id, as in `segments customers`")
    one.add_argument(
        "--k",
        type=int,
        help="name their group in a clustering into this many groups (default: the "
        "automatic one, as `segments clusters` without --k)",
    )
    one.add_argument("--json", action="store_true", help="the page as JSON")

    model = sub.add_parser("model", parents=[db, as_of], help="fitted value models and lifecycle thresholds")
    model.add_argument("--json", action="store_true")

    clusters = sub.add_parser("clusters", parents=[db, as_of], help="machine-found groups of customers (k-means)")
    clusters.add_argument("--k", type=int, help="number of clusters (default: chosen from 2-8)")
    clusters.add_argument(
        "--with",
        dest="attributes",
        metavar="ATTRS",
        help="also cluster on these attributes of the customer lists and email activity, comma "
        "separated: age, member_rating, open_rate, click_rate, email_consent, unsubscribed, "
        "bounced, tag:NAME, interest:NAME (e.g. --with age,open_rate,tag:vegan)",
    )
    clusters.add_argument("--json", action="store_true")

    prof = sub.add_parser(
        "profile", parents=[db, as_of], help="describe a segment, lifecycle stage or cluster: facts and a persona"
    )
    prof.add_argument("group", help=f"one of {', '.join(SEGMENT_KEYS + STAGES)}, or a cluster key (cluster_1, ...)")
    prof.add_argument(
        "--k",
        type=int,
        help="for a cluster key: how many groups the clustering made (default: "
        "chosen automatically, as `segments clusters` without --k)",
    )
    prof.add_argument("--json", action="store_true", help="the facts as JSON")

    mig = sub.add_parser("migration", parents=[db], help="who moved between segments since a date")
    mig.add_argument("--from", dest="start", required=True, help="the earlier date (YYYY-MM-DD)")
    mig.add_argument("--to", dest="end", help="the later date (default: the last order)")
    mig.add_argument("--scheme", choices=("rfm", "lifecycle"), default="rfm")
    mig.add_argument("--json", action="store_true")

    from segmentation.vocabulary import BREAKDOWN_ATTRIBUTES

    brk = sub.add_parser("breakdown", parents=[db, as_of], help="customers and revenue by country, channel, ...")
    brk.add_argument("by", choices=BREAKDOWN_ATTRIBUTES)
    brk.add_argument("--group", help="only this segment, stage, cluster key or saved segment's name")
    brk.add_argument("--format", choices=FORMATS, default="table")

    camp = sub.add_parser("campaign", help="campaigns with a control group: create, measure, list")
    camp_sub = camp.add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = camp_sub.add_parser("create", parents=[db, as_of], help="split a segment into audience and control")
    create.add_argument("segment", help="an RFM segment, lifecycle stage or cluster key (cluster_1, ...)")
    create.add_argument("--holdout", type=float, default=0.1, help="share held out as control (default 0.1)")
    create.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same split")
    create.add_argument(
        "--k",
        type=int,
        help="for a cluster key: how many groups the clustering made (default: "
        "chosen automatically, as `segments clusters` without --k)",
    )
    create.add_argument(
        "--out",
        type=Path,
        help="folder for audience.csv and control.csv (default: beside the "
        "database, in SHOP-campaigns/ID, so two shops' campaigns never share a folder)",
    )
    create.add_argument("--json", action="store_true")
    measure = camp_sub.add_parser("measure", parents=[db], help="did it work? audience against control")
    measure.add_argument("id")
    measure.add_argument("--window-days", type=int, default=30, help="days after the as-of date to count")
    measure.add_argument("--json", action="store_true")
    camp_sub.add_parser("list", parents=[db], help="every campaign so far")

    seg = sub.add_parser("segment", help="your own segments: saved by a condition, kept up to date after imports")
    seg_sub = seg.add_subparsers(dest="action", required=True, parser_class=_Parser)
    save = seg_sub.add_parser(
        "save",
        parents=[db],
        help='save a segment by name, e.g. save "Leeds win-back" '
        '--where "lifecycle = lapsed and city = Leeds and monetary > 100"',
    )
    save.add_argument("name")
    save.add_argument(
        "--where",
        required=True,
        metavar="CONDITION",
        help="who is in it (see the README's 'Conditions' for the fields and operators)",
    )
    save.add_argument(
        "--replace", action="store_true", help="redefine a segment of that name (its history starts afresh)"
    )
    seg_sub.add_parser("list", parents=[db], help="every saved segment, its condition and size")
    show = seg_sub.add_parser(
        "show",
        parents=[db],
        help="a saved segment: its condition, size, and who joined and left with the latest import",
    )
    show.add_argument("name")
    show.add_argument("--joined", type=Path, metavar="FILE", help="write who joined with the latest import as CSV")
    show.add_argument("--left", type=Path, metavar="FILE", help="write who left with the latest import as CSV")
    show.add_argument("--json", action="store_true")
    moves = seg_sub.add_parser(
        "moves", parents=[db], help="who joined or left a saved segment, e.g. since the first of the month"
    )
    moves.add_argument("name")
    moves.add_argument("--move", choices=("joined", "left"), help="only those who joined, or only those who left")
    moves.add_argument("--since", help="only changes with data from this day on (YYYY-MM-DD)")
    moves.add_argument("--format", choices=FORMATS, default="table")
    delete = seg_sub.add_parser("delete", parents=[db], help="delete a saved segment and its history")
    delete.add_argument("name")

    back = sub.add_parser("backtest", parents=[db], help="predicted purchases against what happened after a date")
    back.add_argument("--as-of", required=True, help="the past date to predict from (YYYY-MM-DD)")
    back.add_argument("--horizon-days", type=int, default=90)
    back.add_argument("--format", choices=FORMATS, default="table")
    back.add_argument(
        "--stages",
        action="store_true",
        help="back-test the lifecycle stages instead: each stage's share that bought again after the date",
    )

    ask = sub.add_parser("ask", parents=[db], help="ask the assistant in plain words (one conversation)")
    ask.add_argument("questions", nargs="+", metavar="QUESTION")
    ask.add_argument("--json", action="store_true", help="one JSON object per question, one per line")
    return parser


FORMATS = ("table", "csv", "json")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from segmentation.store import default_db_path
    from segmentation.vocabulary import SegmentsError

    args.db = args.db or default_db_path()
    handler = {
        "demo": _demo,
        "import": _import,
        "customers": _customers,
        "customer": _customer,
        "model": _model,
        "clusters": _clusters,
        "profile": _profile,
        "migration": _migration,
        "breakdown": _breakdown,
        "ask": _ask,
        "campaign": _campaign,
        "backtest": _backtest,
        "currency": _currency,
        "segment": _segment,
    }[args.command]
    try:
        with _shop_currency(args.db):
            return handler(args)
    except SegmentsError as exc:  # an import, an analysis, a currency or the store refused: one sentence
        _say(f"segments {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return 0


@contextlib.contextmanager
def _shop_currency(db: Path) -> Iterator[None]:
    """Amounts in sentences carry the store's currency (``segmentation.currency``); none before there is a store."""
    from segmentation import currency
    from segmentation.store import StoreError, connect_sandboxed

    code = None
    if Path(db).is_file():
        try:
            with connect_sandboxed(db) as con:
                code = currency.currency_of(con)[0]
        except StoreError:
            pass  # the command itself says what is wrong with the store
    with currency.using(code):
        yield


def _parse_map(pairs: list[str]) -> dict[str, str]:
    from segmentation.importing.readers import IngestError

    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip():
            raise IngestError(f"--map {pair}: write it as FIELD=COLUMN, e.g. --map order_date='Paid at'.")
        mapping[field.strip()] = column.strip()
    return mapping


def _import(args: argparse.Namespace) -> int:
    report = _import_isolated(
        args.db, args.file, overrides=_parse_map(args.map), replace=args.replace, currency=args.currency
    )
    _say(json.dumps(report.as_dict(), indent=2) if args.json else report.as_text())
    return 0


def _import_isolated(db: str | Path, file: str | Path, **options: Any):
    """``ingest.import_file`` in a child under an address-space cap (segmentation.importing.isolation), as the app does:
    a file too big for the machine ends in one sentence and exit 2, not in a C++ abort from a DuckDB thread."""
    from segmentation.importing.isolation import run_isolated

    return run_isolated(
        "segmentation.importing.ingest:import_file", str(db), str(file), name=Path(file).name, **options
    )


def _currency(args: argparse.Namespace) -> int:
    from segmentation import currency
    from segmentation.importing.readers import IngestError
    from segmentation.store import STORE_LOCK, connect

    if args.code is None:
        with _read(args) as con:
            code, source = currency.currency_of(con)
        if code is None:
            _say(
                "No currency is recorded for this shop: amounts are shown without one. Set it with "
                "`segments currency CODE` (one of " + ", ".join(currency.CURRENCIES) + ")."
            )
        else:
            said = "set by you" if source == "set" else f"found in {source}"
            _say(f"{code} ({currency.CURRENCIES[code].name}), {said}.")
        return 0
    try:
        chosen = currency.parse_code(args.code)
    except currency.CurrencyError as exc:
        raise IngestError(str(exc)) from None
    _read(args).close()  # a store that is not there, or not a shop's, is refused as for every command
    with STORE_LOCK.exclusive(), connect(args.db) as con:
        currency.set_currency(con, chosen.code)
    _say(f"Amounts are now shown in {chosen.code} ({chosen.name}); later imports keep it.")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from segmentation.demo.contacts import write_demo_contacts
    from segmentation.demo.shop import write_demo_csv
    from segmentation.importing.readers import IngestError

    if not 10 <= args.customers <= 5_000_000:
        raise IngestError("--customers must be between 10 and 5,000,000.")
    with tempfile.TemporaryDirectory(prefix="segments-demo-") as tmp:
        path = write_demo_csv(Path(tmp) / "corner_crumb_orders.csv", customers=args.customers, seed=args.seed)
        report = _import_isolated(
            args.db, path, replace=True, display_name="demo shop: The Corner Crumb", currency="GBP"
        )  # a bakery-café in Yorkshire
        _say(report.as_text())
        # Its customer list and newsletter activity, imported as an owner's would be (issue 19).
        for extra in write_demo_contacts(args.db, tmp, seed=args.seed):
            _say(_import_isolated(args.db, extra, display_name=f"demo shop: {extra.name}").as_text())
    _say(f"Demo shop written to {args.db}")
    return 0


def _read(args: argparse.Namespace):
    """A read-only connection to the shop; a --as-of before its first order is refused here, for every command."""
    from segmentation.store import connect, require_orders_by

    con = connect(args.db, read_only=True)
    try:
        require_orders_by(con, getattr(args, "as_of", None))
    except Exception:
        con.close()
        raise
    return con


def _say(text: object = "", *, file: TextIO | None = None, flush: bool = False) -> None:
    """``print``, for everything the command line shows: names, cities, products and answers come from the
    data, and an escape code among them (a window title, a clear-screen, a clipboard write) would be obeyed
    by the terminal, so such characters are shown as '?' (``cellsafety.printable``)."""
    print(printable(str(text)), file=file or sys.stdout, flush=flush)


def _print_frame(frame, fmt: str, footer: str = "") -> None:
    """The frame in ``fmt``: numbers rounded to what they support, so that the same shop prints the same
    bytes every time, and in CSV and tables no text cell that a spreadsheet would run as a formula
    (``export.for_export``); JSON keeps the text as it is, for programs."""
    from segmentation.safety.export import for_export

    frame = for_export(frame, defuse=fmt != "json")
    if fmt == "csv" and sys.stdout.isatty():  # a CSV on a screen is read, not saved: shown like any text
        _say(frame.to_csv(index=False).rstrip("\n"))
    elif fmt == "csv":
        _write_csv(frame)
    elif fmt == "json":
        _say(frame.to_json(orient="records", double_precision=4))
    else:
        _say(frame.to_string(index=False) if len(frame) else "Nothing matches.")
        if footer:
            _say(f"\n{footer}")


def _write_csv(frame) -> None:
    """``frame.to_csv(sys.stdout, index=False)``, byte for byte, but written by DuckDB where that is the same.

    pandas formats 800,000 customers in about 4 s and DuckDB in a fraction of one. Both write floats as the
    shortest text that reads back exactly (1e-05, 35.0), ints and missing values alike, and quote the same
    strings, except that DuckDB also quotes an empty string and any text holding '#' or a carriage return:
    frames with such text, or with other kinds of column (bool, dates), stay with pandas. ``frame`` comes from
    ``_print_frame``, its formula-like cells already defused.
    """
    out = getattr(sys.stdout, "buffer", None)
    if out is None or (sys.stdout.encoding or "").lower().replace("-", "") != "utf8" or not _plain_csv(frame):
        frame.to_csv(sys.stdout, index=False)
        return
    import shutil

    import duckdb

    sys.stdout.flush()
    # Through a file of our own: DuckDB opening /dev/stdout would truncate a file the output is appended to.
    with tempfile.TemporaryDirectory(prefix="segments-csv-") as tmp:
        path = Path(tmp) / "out.csv"
        try:
            with duckdb.connect() as con:
                con.from_df(frame).write_csv(str(path), header=True)
        except (duckdb.Error, OSError):  # nothing is written yet: pandas can still write it all
            frame.to_csv(sys.stdout, index=False)
            return
        with path.open("rb") as written:
            shutil.copyfileobj(written, out)
    out.flush()


def _plain_csv(frame) -> bool:
    """True when DuckDB writes ``frame`` exactly as pandas would (see ``_write_csv``)."""
    import re

    import numpy as np
    import pandas as pd

    if not all(isinstance(c, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", c) for c in frame.columns):
        return False
    for column in frame.columns:
        values = frame[column]
        if values.dtype in (np.int32, np.int64, np.float64):
            continue
        if not isinstance(values.dtype, pd.StringDtype):
            return False
        if (values == "").any() or any(values.str.contains(c, regex=False).any() for c in "#\r"):
            return False
    return True


def _warn(frame) -> None:
    for warning in frame.attrs.get("warnings", []):
        _say(f"Note: {warning}", file=sys.stderr)


def _customers(args: argparse.Namespace) -> int:
    from segmentation.customers import customer_table
    from segmentation.lifecycle import Thresholds
    from segmentation.rfm import SCORE_RULE
    from segmentation.value.discounting import value_basis

    with _read(args) as con:
        frame = customer_table(
            con,
            as_of=args.as_of,
            horizon_days=args.horizon_days,
            group=args.segment,
            margin=args.margin,
            discount_rate=args.discount_rate,
        )
        if args.where:
            frame = _where(con, frame, args.where, args.as_of)
    _warn(frame)
    rule = Thresholds(**frame.attrs["thresholds"]).rule()
    footer = f"{len(frame):,} customers as of {frame.attrs['as_of']}; {SCORE_RULE}; {rule}; {value_basis(frame.attrs)}."
    _print_frame(frame, args.format, footer)
    return 0


def _where(con, frame, where: str, as_of: str | None):
    """The rows of ``frame`` (the customer table) a condition, or a saved segment's, holds for."""
    from segmentation.custom.saved import matching_ids, saved_segment
    from segmentation.profile import in_ids

    found = saved_segment(con, where)
    condition = found.condition if found is not None else where
    ids = matching_ids(con, condition, as_of=as_of or frame.attrs.get("as_of"))
    attrs = frame.attrs
    frame = frame[in_ids(frame["customer_id"], ids)].reset_index(drop=True)
    frame.attrs = attrs
    return frame


def _segment(args: argparse.Namespace) -> int:
    """Saved segments: save, list, show, moves, delete. Writes hold the store's write lock; a bad name or
    condition is refused before anything is written."""
    from segmentation.custom import saved
    from segmentation.store import STORE_LOCK, connect

    if args.action in ("save", "delete"):
        _read(args).close()  # a store that is not there, or not a shop's, is refused as for every command
        with STORE_LOCK.exclusive(), connect(args.db) as con:
            if args.action == "delete":
                _say(f"Deleted the saved segment '{saved.delete_segment(con, args.name)}' and its history.")
                return 0
            result = saved.save_segment(con, args.name, args.where, replace=args.replace)
        if result["already"]:
            _say(f"'{result['name']}' is already saved with this condition ({result['size']:,} customers now).")
        else:
            _say(
                f"Saved '{result['name']}': {result['condition']} ({result['size']:,} customers now). It is brought "
                "up to date after every import."
            )
        return 0
    with _read(args) as con:
        if args.action == "list":
            rows = []
            for segment in saved.saved_segments(con):
                history = saved.segment_history(con, segment.name)
                last = history.iloc[-1] if len(history) else None
                rows.append(
                    {
                        "name": segment.name,
                        "condition": segment.condition,
                        "customers": None if last is None else int(last["size"]),
                        "joined": None if last is None else int(last["joined"]),
                        "left": None if last is None else int(last["left"]),
                    }
                )
            if not rows:
                _say('No saved segments yet: save one with segments segment save NAME --where "CONDITION".')
                return 0
            import pandas as pd

            _print_frame(pd.DataFrame(rows), "table")
            return 0
        found = saved.require_segment(con, args.name)
        if args.action == "moves":
            frame = saved.segment_moves(con, found.name, move=args.move, since=args.since)
            frame["as_of"] = frame["as_of"].astype("str")
            _print_frame(frame.drop(columns=["recorded_at"]), args.format, f"Changes in '{found.name}'.")
            return 0
        history = saved.segment_history(con, found.name)
        latest = saved.segment_moves(con, found.name, last_only=True)
    words = saved.change_words(history)
    joined = latest.loc[latest["move"] == "joined", ["customer_id"]]
    left = latest.loc[latest["move"] == "left", ["customer_id"]]
    for path, frame in ((args.joined, joined), (args.left, left)):
        if path is not None:
            from segmentation.safety.export import for_export

            for_export(frame.reset_index(drop=True)).to_csv(path, index=False)
    if args.json:
        _say(
            json.dumps(
                {
                    "name": found.name,
                    "condition": found.condition,
                    "change": words,
                    "history": json.loads(history.to_json(orient="records", date_format="iso")),
                    "joined": joined["customer_id"].tolist(),
                    "left": left["customer_id"].tolist(),
                },
                indent=2,
            )
        )
        return 0
    _say(f"{found.name}: {found.condition}")
    _say(words)
    written = [f"{what} to {path}" for what, path in (("joined", args.joined), ("left", args.left)) if path]
    if written:
        _say("Wrote who " + " and who ".join(written) + ".")
    return 0


def _customer(args: argparse.Namespace) -> int:
    """One customer's page, name and email included: the owner's own terminal, never a model's input."""
    from segmentation.customer_page import customer_page
    from segmentation.customer_text import page_facts, page_text

    with _read(args) as con:
        page = customer_page(con, args.id, as_of=args.as_of, k=args.k)
    _say(json.dumps(page_facts(page), indent=2, default=str) if args.json else page_text(page))
    return 0


def _model(args: argparse.Namespace) -> int:
    from segmentation.lifecycle import lifecycle_thresholds
    from segmentation.value.clv import fit_models

    with _read(args) as con:
        limits = lifecycle_thresholds(con, as_of=args.as_of)
        fits = fit_models(con, as_of=args.as_of)
    result = fits.as_dict() | {
        "lifecycle": {k: getattr(limits, k) for k in ("lapsing_after_days", "lapsed_after_days", "basis")}
    }
    if args.json:
        _say(json.dumps(result, indent=2))
    else:
        bg, gg = result["bgnbd"], result["gamma_gamma"]
        _say(f"BG/NBD (time in weeks): r={bg['r']:.3f} alpha={bg['alpha']:.3f} a={bg['a']:.3f} b={bg['b']:.3f}")
        if "paretonbd" in result:
            pn = result["paretonbd"]
            _say(
                f"Pareto/NBD (time in weeks): r={pn['r']:.3f} alpha={pn['alpha']:.3f} s={pn['s']:.3f} "
                f"beta={pn['beta']:.3f}"
            )
        _say(f"Gamma-Gamma: p={gg['p']:.3f} q={gg['q']:.3f} gamma={gg['gamma']:.3f}")
        if fits.choice is not None:
            _say(f"Predicting with {fits.choice.reason}")
        _say(f"Lifecycle: {limits.rule()}")
    return 0


def _clusters(args: argparse.Namespace) -> int:
    from segmentation.clustering import cluster_customers

    with _read(args) as con:
        result = cluster_customers(con, as_of=args.as_of, k=args.k, attributes=args.attributes)
    summary = result.as_dict()
    if args.json:
        _say(json.dumps(summary, indent=2))
        return 0
    chosen = [c.removeprefix("with_") for c in result.clusters.columns if c.startswith("with_")]
    _say(
        f"{summary['k']} clusters (silhouette {summary['silhouette']:.2f})"
        + (f", on behaviour and {', '.join(chosen)}:" if chosen else ":")
    )
    for c in summary["clusters"]:
        values = "".join(f", {name} {_attribute_value(name, c['profile'][name])}" for name in chosen)
        _say(
            f"  {c['key']}: {c['name']}: {c['size']:,} customers ({c['share']:.0%}), "
            f"{c['revenue_share']:.0%} of revenue{values}"
        )
    return 0


def _attribute_value(name: str, value: float | None) -> str:
    """A cluster's median (age 34, open_rate 50%) or share (tag:vegan 81%) of a chosen attribute."""
    if value is None:
        return "not in your data"
    if name in ("age", "member_rating"):
        return f"median {value:g}"
    return f"{'median ' if name in ('open_rate', 'click_rate') else ''}{value:.0%}"


def _profile(args: argparse.Namespace) -> int:
    """The chat's describe_segment, so a cluster key means what it means there; words and the persona, or JSON."""
    import tools.registry  # noqa: F401  (registers every tool)
    from segmentation.outreach.persona import persona_markdown
    from segmentation.safety.markup import unescape_markdown
    from tools.base import ToolArgsError, ToolContext, ToolFailure, run_tool
    from tools.wording import upper_first

    _read(args).close()  # refuses a --as-of before the first order, in the same words as every command
    ctx = ToolContext(db_path=args.db, artifacts=False)
    try:
        result = run_tool("describe_segment", {"group": args.group, "as_of": args.as_of, "k": args.k}, ctx)
    except (ToolArgsError, ToolFailure) as exc:
        _say(f"segments profile: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        _say(json.dumps(result.facts, indent=2, default=str))
        return 0
    _say(upper_first(result.summary))
    if result.persona:
        _say()
        _say(unescape_markdown(persona_markdown(result.persona)))
    return 0


def _migration(args: argparse.Namespace) -> int:
    from segmentation.migration import segment_migration

    with _read(args) as con:
        result = segment_migration(con, start=args.start, end=args.end, scheme=args.scheme)
    if args.json:
        _say(json.dumps(result.as_dict(), indent=2))
        return 0
    _say(f"From {result.start} (rows) to {result.end} (columns):")
    _say(result.matrix.to_string())
    for sentence in result.worsened["sentence"].head(5):
        _say(f"- {sentence}")
    return 0


def _breakdown(args: argparse.Namespace) -> int:
    from segmentation.breakdown import breakdown

    with _read(args) as con:
        ids = None
        if args.group:
            from segmentation.profile import find_group

            ids = find_group(con, args.group, as_of=args.as_of).members
        frame = breakdown(con, args.by, as_of=args.as_of, customer_ids=ids)
    _print_frame(frame, args.format, f"By {args.by}, as of {frame.attrs['as_of']}.")
    return 0


def _campaign(args: argparse.Namespace) -> int:
    from segmentation.outreach import campaigns
    from segmentation.profile import group_members
    from segmentation.store import STORE_LOCK, connect, resolve_as_of

    if args.action == "list":
        with _read(args) as con:
            _print_frame(campaigns.list_campaigns(con), "table")
        return 0
    if args.action == "measure":
        with _read(args) as con:
            result = campaigns.measure_campaign(con, args.id, window_days=args.window_days)
        _say(json.dumps(result.as_dict(), indent=2) if args.json else result.verdict)
        return 0
    with STORE_LOCK.exclusive(), connect(args.db) as con:
        day = resolve_as_of(con, args.as_of)
        members = group_members(con, args.segment, as_of=day, k=args.k)
        con.execute("BEGIN TRANSACTION")
        created = campaigns.create_campaign(
            con, args.segment, members=members, as_of=day, holdout=args.holdout, seed=args.seed
        )
        paths = campaigns.export_arms(con, created.id, args.out or campaigns.campaign_folder(Path(args.db), created.id))
        con.execute("COMMIT")
    created.audience_csv, created.control_csv = str(paths["audience"]), str(paths["control"])
    if args.json:
        _say(json.dumps(created.as_dict(), indent=2))
    else:
        _say(
            f"Campaign {created.id}: {created.audience:,} to message ({created.audience_csv}), "
            f"{created.control:,} held out ({created.control_csv}); "
            f"{created.excluded_no_consent:,} left out for lack of marketing consent."
        )
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from segmentation.value.backtest import backtest

    if args.stages:
        from segmentation.value.stage_backtest import stage_backtest, stage_backtest_words

        with _read(args) as con:
            table = stage_backtest(con, cut=args.as_of, horizon_days=args.horizon_days)
        _print_frame(table.round({"return_rate": 4, "lift": 3}), args.format, stage_backtest_words(table))
        return 0
    with _read(args) as con:
        table = backtest(con, as_of=args.as_of, horizon_days=args.horizon_days)
    from segmentation.value.modelchoice import MODEL_NAMES

    model = MODEL_NAMES.get(table.attrs.get("model") or "", "the value model")
    footer = (
        f"Predicted by {model} from {table.attrs['as_of']} for {args.horizon_days} days "
        f"({table.attrs['days_observed']} days observed so far); ratio = actual / predicted."
    )
    if table.attrs.get("busy_season"):
        footer += (
            f" The window covers the shop's busiest season ({table.attrs['season_index']:.2f} times its average "
            "revenue for a window this long): a model of steady buying will predict too little there."
        )
    _print_frame(table, args.format, footer)
    return 0


def _ask(args: argparse.Namespace) -> int:
    """One agent, one conversation: each question sees the ones before it."""
    from agent.base import make_agent
    from segmentation.store import connect
    from tools.base import ToolContext

    connect(args.db, read_only=True).close()  # a missing or foreign database is exit 2, said plainly
    agent = make_agent(ToolContext(db_path=args.db, artifacts=False))  # a terminal shows words, not charts
    for question in args.questions:
        turn = agent.ask(question)
        if args.json:
            _say(json.dumps(turn.as_dict()), flush=True)
        else:
            hint = _list_hint(turn)
            _say(f"> {question}\n{turn.answer}\n" + (f"{hint}\n" if hint else ""), flush=True)
    return 0


def _list_hint(turn) -> str:
    """Where a terminal answer found a group of customers, the command that prints (or saves) the whole list."""
    import shlex

    from segmentation.vocabulary import SEGMENT_KEYS, STAGES

    for call in turn.tool_calls:
        group, where = (call.args or {}).get("group"), (call.args or {}).get("where")
        if call.name != "list_customers" or call.error is not None or not (group or where):
            continue
        if not group:  # everyone narrowed by a condition
            command, group = f"segments customers --where {shlex.quote(str(where))}", "customers"
        elif group in (*SEGMENT_KEYS, *STAGES):
            command = f"segments customers --segment {group}" + (f" --where {shlex.quote(where)}" if where else "")
        elif not where and not group.startswith("cluster_"):  # a saved segment: --where takes its name
            command = f"segments customers --where {shlex.quote(group)}"
        else:
            continue
        return f"The whole list: {command} (add --format csv > {group.replace(' ', '_')}.csv for a spreadsheet)."
    return ""


if __name__ == "__main__":
    sys.exit(main())
