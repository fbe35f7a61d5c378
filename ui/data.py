"""Reading the store for the page: what data there is, and cached results keyed by the data's version.

Every read is a sandboxed, read-only connection inside the store's shared lock (``connect_sandboxed``),
so it can run beside other readers and never beside a write.

Caches are keyed by the data's version, not the file's modification time: saving a chat turn writes the
same file, and keying by mtime would throw every cached table away after each question. The version is
the ``imports`` table's fingerprint (count, last id, last time), which changes with every import, a
replace, or a database rebuilt by ``segments demo``; the path is part of it too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from segmentation.store import SUMMARY_KEY, SUMMARY_SQL, StoreError, connect_sandboxed
from tools.base import ToolContext, ToolResult, built_chart, run_tool

if TYPE_CHECKING:  # pandas, and the tools with their charts, load when first used, not before the first paint
    import pandas as pd

Version = tuple[str, int, int, str]


@dataclass(frozen=True)
class DataState:
    """``version`` is None when there is nothing to analyse; ``problem`` says why, when it is not just empty."""

    version: Version | None
    customers: int = 0
    first_date: str = ""
    last_date: str = ""
    problem: str | None = None
    files: tuple[str, ...] = ()  # the files imported since the store last started afresh, oldest first
    currency: str | None = None  # the shop's currency code, where known (``segmentation.currency``)

    @property
    def demo_only(self) -> bool:
        """True when what is loaded is the demo shop and nothing else."""
        return bool(self.files) and all(f.startswith(DEMO_NAME) for f in self.files)


DEMO_NAME = "demo shop"  # the demo's imports are recorded under this name (ui.importer)
# The imports since the last one that replaced the data: what the page is showing.
_CURRENT_FILES_SQL = (
    "SELECT file_name FROM imports WHERE import_id >= "
    "coalesce((SELECT max(import_id) FROM imports WHERE replaced), 0) ORDER BY import_id"
)


def shop_line(data: DataState) -> str:
    """One line under the title saying which shop is loaded: its name or files, customers and dates."""
    span = f"{_day(data.first_date)} to {_day(data.last_date)}"
    if data.currency:
        span += f", amounts in {data.currency}"
    if data.demo_only:
        return f"The Corner Crumb, the demo shop: {data.customers:,} customers, orders from {span}."
    latest = data.files[-1] if data.files else ""
    source = ""
    if latest:
        source = f" ({latest})" if len(data.files) == 1 else f" ({len(data.files)} files, the latest {latest})"
    return f"Your shop{source}: {data.customers:,} customers, orders from {span}."


def _day(value: str) -> str:
    """'2024-11-21' as '21 Nov 2024'; anything else as it is."""
    import datetime as dt

    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.day} {day:%b %Y}"


def data_state(db_path: Path) -> DataState:
    """What the store holds now: one cheap query, run on every page run (not cached: imports change it)."""
    if not Path(db_path).exists():
        return DataState(None)
    try:
        with connect_sandboxed(db_path) as con:
            imports, last_id, last_at, summary, currency = con.execute(
                "SELECT count(*), coalesce(max(import_id), 0), coalesce(max(imported_at)::VARCHAR, ''), "
                f"(SELECT value FROM meta WHERE key = '{SUMMARY_KEY}'), "
                "(SELECT value FROM meta WHERE key = 'currency') FROM imports"
            ).fetchall()[0]
            recorded = json.loads(summary) if summary else {}
            if recorded.get("import_id") == last_id:  # recorded by the last import: no scan of the orders
                customers, first, last = recorded["customers"], recorded["first"], recorded["last"]
            else:  # a store from before imports recorded it
                customers, first, last = con.execute(SUMMARY_SQL).fetchall()[0]
            files = tuple(str(row[0]) for row in con.execute(_CURRENT_FILES_SQL).fetchall())
    except StoreError as exc:
        return DataState(None, problem=str(exc))
    if not customers:
        return DataState(None)
    return DataState(
        (str(db_path), int(imports), int(last_id), str(last_at)),
        int(customers),
        str(first),
        str(last),
        files=files,
        currency=currency,
    )


@st.cache_data(show_spinner=False, max_entries=8)
def customer_frame(db_path: str, version: Version, as_of: str | None, margin: float | None = None) -> pd.DataFrame:
    """The one customer table (RFM, lifecycle, value) at ``as_of``; ``attrs`` hold thresholds and warnings;
    ``clv`` is profit at ``margin`` when the owner gave one, else revenue."""
    from segmentation.customers import customer_table

    with connect_sandboxed(db_path) as con:
        return customer_table(con, as_of=as_of, margin=margin)


def saved_sizes(db_path: str, as_of: str | None = None) -> dict[str, int]:
    """Each segment the owner saved (segmentation.custom.saved), with how many are in it at ``as_of``: for the pickers,
    beside the built-in groups. Not cached by data version: a segment is saved without an import. A segment
    the data cannot evaluate (a clustering a small shop cannot make) is left out."""
    from segmentation.custom.saved import matching_ids, saved_segments
    from segmentation.vocabulary import AnalysisError

    sizes = {}
    with connect_sandboxed(db_path) as con:
        for segment in saved_segments(con):
            try:
                sizes[segment.name] = len(matching_ids(con, segment.condition, as_of=as_of))
            except AnalysisError:
                continue
    return sizes


@st.cache_data(show_spinner=False, max_entries=4)
def people(db_path: str, version: Version) -> pd.DataFrame:
    """Names and contact details, for the lists the owner reads (never for a summary or a model)."""
    with connect_sandboxed(db_path) as con:
        return con.execute(
            "SELECT customer_id, first_name, last_name, email, city, marketing_consent FROM customers"
        ).df()


def tool_result(ctx: ToolContext, version: Version | None, name: str, args: dict) -> ToolResult:
    """``run_tool`` through a cache: the dashboard and replayed history ask the same questions again."""
    import tools.registry  # noqa: F401  (registers every tool)

    if version is None:  # nothing to key on: run it, uncached
        return run_tool(name, args, ctx)
    return _cached_tool(
        str(ctx.db_path),
        ctx.shop_name,
        version,
        name,
        json.dumps(args, sort_keys=True, default=str),
        ctx.margin,
        ctx.currency_code(),
    )


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_tool(
    db_path: str,
    shop_name: str,
    version: Version,
    name: str,
    args_json: str,
    margin: float | None = None,
    currency: str | None = None,
) -> ToolResult:
    context = ToolContext(db_path=Path(db_path), shop_name=shop_name, margin=margin, currency=currency or "")
    result = run_tool(name, json.loads(args_json), context)
    # A cached result is drawn on every run of the page: its chart is made once, here, and cached made (a
    # tool hands it over unmade, ``LazyChart``). Its files stay unmade until clicked.
    built_chart(result.chart)
    return result
