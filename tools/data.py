"""Tools for the shop's data itself: load it, and say what is in it."""

from __future__ import annotations

from pydantic import Field

from segmentation.customers import customer_table
from segmentation.vocabulary import STAGES
from tools.base import ToolArgs, ToolArgsError, ToolContext, ToolResult, assert_no_email, draw, tool
from tools.segments import group_summary_table
from tools.wording import money, pct


class LoadArgs(ToolArgs):
    source: str = Field(
        description="'demo' for the demo bakery-café, or the name of a file the person uploaded this session."
    )
    replace: bool = Field(False, description="Start the shop's data afresh instead of adding to it.")


class NoArgs(ToolArgs):
    pass


@tool(
    "load_data",
    LoadArgs,
    read_only=False,
    step=lambda a: "Loading the demo shop" if a.get("source") == "demo" else f"Loading {a.get('source', 'your file')}",
    examples=("Load the demo shop",),
    cues=(r"demo (shop|data|bakery|cafe)|sample (data|shop)|example (data|shop)",),
    next_step=("Want an overview of what is in it?", "what's in my data?"),
)
def load_data(ctx: ToolContext, args: LoadArgs) -> ToolResult:
    """Load orders into the shop database: the demo shop, or a file the person uploaded (by its name).
    Only those sources exist; no other path can be read."""
    from segmentation.importing.contact_ingest import ContactImportReport
    from segmentation.importing.ingest import import_file

    if args.source == "demo":
        if not args.replace and _has_data(ctx):
            raise ToolArgsError(
                "load_data: the shop already has data and the demo would replace it; ask the person, and "
                "call again with replace=true only if they agree."
            )
        import tempfile
        from pathlib import Path

        from segmentation.demo.shop import write_demo_csv

        with tempfile.TemporaryDirectory(prefix="segments-demo-") as tmp:
            path = write_demo_csv(Path(tmp) / "demo.csv")
            report = import_file(ctx.db_path, path, replace=True, display_name="demo shop")
    elif args.source in ctx.uploads:
        report = import_file(ctx.db_path, ctx.uploads[args.source], replace=args.replace, display_name=args.source)
    else:
        choices = ", ".join(["'demo'", *(f"'{name}'" for name in ctx.uploads)])
        raise ToolArgsError(f"load_data: source must be one of {choices}.")
    if report.already_imported:
        summary = f"{report.file_name} was already loaded; nothing new was added."
    elif isinstance(report, ContactImportReport):  # a customer list or email activity, not orders
        summary = (
            f"Loaded {report.rows_loaded:,} of {report.rows_read:,} rows from {report.file_name}: "
            f"{report.people:,} people, {report.matched:,} of them customers of the shop. "
            f"{report.rows_rejected:,} rows rejected."
        )
    else:
        summary = (
            f"Loaded {report.rows_loaded:,} of {report.rows_read:,} rows from {report.file_name}: "
            f"{report.customers:,} customers, {report.orders:,} orders, revenue {money(report.revenue)}, "
            f"{report.first_date} to {report.last_date}. {report.rows_rejected:,} rows rejected, "
            f"{report.guest_rows:,} guest rows."
        )
    # The report names columns, never cell values: safe for the model.
    return ToolResult(summary=assert_no_email(summary), facts=report.as_dict())


def _has_data(ctx: ToolContext) -> bool:
    if not ctx.db_path.exists():
        return False
    with ctx.read() as con:
        return con.execute("SELECT count(*) FROM orders").fetchall()[0][0] > 0


@tool(
    "data_overview",
    NoArgs,
    step="Looking over your data",
    chart="lifecycle_bars",
    examples=("What's in my data?", "How is the shop doing overall?"),
    cues=(r"overview|summary|big picture|at a glance|whats in (my|the) data",),
    next_step=("Want to see who is lapsed?", "who are my lapsed customers?"),
)
def data_overview(ctx: ToolContext, args: NoArgs) -> ToolResult:
    """What the shop's data holds: customers, orders, revenue, date range, repeat rate, lapsed share, and
    the lifecycle thresholds learned from it. Use it first when the person asks what you can see."""
    with ctx.read() as con:
        frame = customer_table(con)
        first, last, guest_orders, guest_purchases, guest_revenue = con.execute(
            "SELECT min(order_date), max(order_date), count(*) FILTER (customer_id IS NULL), "
            "count(*) FILTER (customer_id IS NULL AND is_purchase), "
            "coalesce(sum(net_amount) FILTER (customer_id IS NULL), 0) FROM orders"
        ).fetchall()[0]
    n = len(frame)
    # The customers' purchases and revenue come from the same rows (the customer table), so they belong
    # together; guest orders have no customer and are counted on their own, never mixed in.
    purchases, revenue = int(frame["frequency"].sum()), float(frame["monetary"].sum())
    repeat = (frame["frequency"] > 1).mean() if n else 0.0
    lapsed = (frame["lifecycle"] == "lapsed").mean() if n else 0.0
    thresholds = frame.attrs["thresholds"]
    table = group_summary_table(frame, "lifecycle", STAGES)
    summary = (
        f"Orders from {first} to {last}: {n:,} customers made {purchases:,} purchases, revenue {money(revenue)}."
        + _guests(guest_orders, guest_purchases, guest_revenue)
        + f" {pct(repeat)} of customers bought more than once; {pct(lapsed)} are lapsed (no order in "
        f"{thresholds['lapsed_after_days']} days, {thresholds['basis']})."
    )
    return ToolResult(
        summary=assert_no_email(summary),
        table=table,
        chart=draw(ctx, "lifecycle_bars", table, thresholds),
        facts={
            "customers": n,
            "purchases": purchases,
            "revenue": round(revenue, 2),
            "guest_orders": int(guest_orders),
            "guest_purchases": int(guest_purchases),
            "guest_revenue": round(float(guest_revenue), 2),
            "repeat_rate": round(float(repeat), 4),
            "lapsed_share": round(float(lapsed), 4),
            "first_date": str(first),
            "last_date": str(last),
            "thresholds": thresholds,
        },
    )


def _guests(orders: int, purchases: int, revenue: float) -> str:
    """The guest orders (no customer id), said apart from the customers' figures."""
    if not orders:
        return ""
    counted = (
        f"{purchases:,} guest purchases"
        if purchases == orders
        else (
            f"{purchases:,} guest purchases ({orders:,} guest orders in all, {orders - purchases:,} of them netting "
            "zero or less)"
        )
    )
    return (
        f" Not included in those figures: {counted} with no customer attached, revenue {money(revenue)}; "
        "customer analytics leave them out."
    )
