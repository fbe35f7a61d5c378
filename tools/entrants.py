"""Who joined a group between two dates ("who went lapsed in the last 3 months?"), and from where."""

from __future__ import annotations

from pydantic import Field

from segmentation.lifecycle import lifecycle_thresholds
from segmentation.migration import NEW_ARRIVALS
from segmentation.vocabulary import STAGES
from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, csv_download, draw, tool
from tools.wording import GroupKey, group_rule, label, money, pct

PERSON_COLUMNS = ["first_name", "last_name", "email", "city"]
TABLE_ROWS = 200  # on screen; the download holds everyone


class EntrantsArgs(ToolArgs):
    group: GroupKey = Field(description="The RFM segment or lifecycle stage they joined, e.g. 'lapsed' or 'at_risk'.")
    start: str = Field(description="The earlier date, YYYY-MM-DD: who was not in the group then (e.g. 3 months ago).")
    end: str | None = Field(
        None, description="The later date, YYYY-MM-DD: who is in the group then; default: the day of the last order."
    )


def _origin(key: str) -> str:
    return "not yet customers" if key == NEW_ARRIVALS else label(key)


def _joined(group: str) -> str:
    """'became lapsed' for a stage; 'joined the at-risk segment' for an RFM segment."""
    return f"became {group}" if group in STAGES else f"joined the {label(group)} segment"


def _are(group: str) -> str:
    return f"are {group}" if group in STAGES else f"are in the {label(group)} segment"


@tool(
    "group_entrants",
    EntrantsArgs,
    done="{n} found",
    chart="entrant_origins",
    step=lambda a: f"Finding who became {label(str(a.get('group') or 'part of the group'))}",
    examples=(
        "Who went lapsed in the last 3 months?",
        "Which customers became at risk since 2026-06-01?",
        "Who joined my champions since the start of September?",
        "Who has newly become lapsing this month?",
        "Which customers slipped into hibernating since last quarter?",
    ),
    cues=(
        r"\b(went|gone|become|became|turned|fell|slipped|dropped|joined|entered) (into |in |to )?(the |my )?"
        r"(lapsed|lapsing|at risk|hibernating|champions|loyal|about to sleep|need attention|cant lose them)",
        r"\bnewly\b",
        r"(who|which customers) (is|are) new (to|in) (the |my )?\w+",
    ),
    next_step=("Want to know what the whole group is like?", "tell me about them"),
)
def group_entrants(ctx: ToolContext, args: EntrantsArgs) -> ToolResult:
    """Customers who are in a segment or stage at the end date and were not in it at the start date ('who
    went lapsed in the last 3 months?', 'who became at risk since June?'), with the group each came from.
    The list with names goes to the person as a table and CSV; you get the counts and the top origins."""
    from segmentation import entrants

    with ctx.read() as con:
        result = entrants.group_entrants(con, args.group, start=args.start, end=args.end)
        thresholds = lifecycle_thresholds(con, as_of=result.end)
        con.register("entrant_ids", result.entrants[["customer_id"]])
        people = con.execute(
            f"SELECT customer_id, {', '.join(PERSON_COLUMNS)}, marketing_consent FROM customers "
            "WHERE customer_id IN (SELECT customer_id FROM entrant_ids)"
        ).df()
        con.unregister("entrant_ids")
        first_orders = _first_orders(con, result.start, result.end) if args.group == "new" else None
    listed = result.entrants.merge(people, on="customer_id", how="left")
    listed = listed.rename(columns={"from_group": "came_from"})[
        [
            "customer_id",
            *PERSON_COLUMNS,
            "came_from",
            "recency_days",
            "frequency",
            "monetary",
            "spent_last_year",
            "marketing_consent",
        ]
    ]
    n, rule = len(listed), group_rule(args.group, thresholds)
    when = f"between {result.start} and {result.end}"
    if n:
        origins = "; ".join(
            f"{r.customers:,} from {_origin(r.from_group)} ({pct(r.share)})"
            for r in result.origins.head(3).itertuples()
        )
        summary = (
            f"{n:,} customers {_joined(args.group)} {when} ({rule}): {origins}. Together they spent "
            f"{money(float(listed['spent_last_year'].sum()))} in the year before {result.end}."
        )
    else:
        summary = f"0 customers {_joined(args.group)} {when} ({rule})."  # a number first: the status line counts it
    if first_orders is not None:  # "how many new customers did I get in October?": first orders, then the stage
        summary = f"{first_orders:,} customers placed their first order {when}. As a lifecycle stage: " + summary
    summary += (
        f" On {result.end} {result.in_group_at_end:,} {_are(args.group)} ({result.stayed:,} already were on "
        f"{result.start}); {result.left:,} who were on {result.start} no longer are."
    )
    return ToolResult(
        summary=assert_no_email(summary),
        table=listed.head(TABLE_ROWS),
        chart=draw(ctx, "entrant_origins", result.origins, args.group) if n else None,
        downloads=csv_download(ctx, f"new_{args.group}_customers.csv", listed),
        facts={
            **result.as_dict(),
            "count": n,
            "rule": rule,
            **({"first_orders": first_orders} if first_orders is not None else {}),
        },
    )


def _first_orders(con, start: object, end: object) -> int:
    """Customers whose first purchase falls in [start, end]: the shop's new customers in that period (the stage
    "new" holds only those with one order still; one who ordered again within the period has left it)."""
    return con.execute(
        "SELECT count(*) FROM (SELECT min(order_date) AS first FROM orders WHERE is_purchase AND customer_id IS NOT "
        "NULL GROUP BY customer_id) WHERE first BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)",
        [str(start), str(end)],
    ).fetchall()[0][0]
