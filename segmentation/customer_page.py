"""One customer's page: who they are, what they bought, where they stand and the groups they are in.

For the owner's own screens only (``segments customer ID`` and the app's Customers tab): the page holds the
customer's name, email and city, so no tool returns it and no summary is made from it (a model never sees it;
``tests/test_customer_page.py`` checks that nothing under ``tools/`` or ``agent/`` imports this module).

What it shows, at an as-of date D (the last order's day unless told):

- their orders on or before D, and the same summed by month;
- their row of the customer table (``segmentation.customers``): RFM scores and segment, lifecycle stage,
  predicted value, the chance they are still buying, and when their next order is due with its basis;
- their history: RFM segment and lifecycle stage at each of the last ``HISTORY_MONTHS`` (12) month ends before
  D at which they had bought, each scored against the whole shop as it stood that day (one scoring of the shop
  per month end, so a year, not the whole history: about 40 ms a month on the demo shop);
- the groups they are in (``customer_groups``), marketing consent, and the campaigns they were in, and on
  which side (messaged or held out as control).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from segmentation.lifecycle import Thresholds, lifecycle_stages, lifecycle_thresholds
from segmentation.rfm import customer_rfm
from segmentation.store import resolve_as_of
from segmentation.value.nextorder import next_order_words
from segmentation.vocabulary import AnalysisError, group_title

HISTORY_MONTHS = 12
CONTACT_FIELDS = ("first_name", "last_name", "email", "city", "country")
ORDER_COLUMNS = ["order_id", "order_date", "net_amount", "line_count", "channel", "is_purchase"]
MONTH_COLUMNS = ["month", "orders", "revenue"]
HISTORY_COLUMNS = ["month_end", "segment", "lifecycle"]
CAMPAIGN_COLUMNS = ["campaign_id", "created_at", "segment", "as_of", "goal", "channel", "arm"]


class CustomerNotFound(AnalysisError):
    """No customer by that id; the message names close ids where there are some."""


@dataclass(frozen=True)
class Group:
    """A group a customer is in: ``kind`` is 'segment' (RFM), 'stage' (lifecycle), 'cluster' or 'saved' (a
    saved segment, keyed by its name)."""

    kind: str
    key: str
    title: str


@dataclass
class CustomerPage:
    """Everything the page shows. ``contact`` is personal: for the owner's screens and downloads only."""

    customer_id: str
    as_of: str
    contact: dict
    marketing_consent: bool | None
    row: dict | None  # their customer-table row; None when they had no purchase on or before the as-of date
    table_attrs: dict
    next_order: str
    orders: pd.DataFrame
    monthly: pd.DataFrame
    history: pd.DataFrame
    groups: list[Group]
    campaigns: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " ".join(str(self.contact[k]) for k in ("first_name", "last_name") if self.contact.get(k)).strip()


def find_customer(con: duckdb.DuckDBPyConnection, typed: str) -> str:
    """The stored id for ``typed`` (spaces around it ignored; any case, where only one id matches that way), else
    ``CustomerNotFound`` in one sentence naming up to three close ids."""
    text = str(typed).strip()
    known = (
        "SELECT customer_id FROM customers UNION SELECT DISTINCT customer_id FROM orders WHERE customer_id IS NOT NULL"
    )
    exact = con.execute(f"SELECT customer_id FROM ({known}) WHERE customer_id = $id", {"id": text}).fetchall()
    if exact:
        return exact[0][0]
    folded = con.execute(
        f"SELECT customer_id FROM ({known}) WHERE lower(customer_id) = lower($id)", {"id": text}
    ).fetchall()
    if len(folded) == 1:
        return folded[0][0]
    close = [
        r[0]
        for r in con.execute(
            f"SELECT customer_id FROM ({known}) WHERE levenshtein(lower(customer_id), lower($id)) <= $most "
            "ORDER BY levenshtein(lower(customer_id), lower($id)), customer_id LIMIT 3",
            {"id": text, "most": max(2, len(text) // 3)},
        ).fetchall()
    ]
    said = text if len(text) <= 40 else text[:40] + "..."
    hint = f"; did you mean {', '.join(close)}?" if close else ": check the id in `segments customers`."
    raise CustomerNotFound(f"There is no customer '{said}' in this shop{hint}")


def customer_groups(
    con: duckdb.DuckDBPyConnection,
    customer_id: str,
    *,
    as_of: dt.date | str | None = None,
    k: int | None = None,
    row: dict | None = None,
) -> list[Group]:
    """The groups ``customer_id`` is in at ``as_of``: the single place that says so (the page, the command line
    and the app read it). RFM segment and lifecycle stage from the
    customer table (``row``: their row, when the caller has it), and the cluster of the clustering with ``k``
    groups (None: the automatic one), where the shop can be clustered, then each saved segment whose condition
    holds for them on that day. None for a customer without a purchase."""
    from segmentation.clustering import cluster_customers
    from segmentation.customers import customer_table

    if row is None:
        table = customer_table(con, as_of=as_of)
        found = table[table["customer_id"] == customer_id]
        if found.empty:
            return []
        row = found.iloc[0].to_dict()
    groups = [
        Group("segment", row["segment"], group_title(row["segment"])),
        Group("stage", row["lifecycle"], group_title(row["lifecycle"])),
    ]
    try:
        clusters = cluster_customers(con, as_of=as_of, k=k)
    except AnalysisError:  # too few customers, or too alike, to split: no cluster to be in
        clusters = None
    if clusters is not None:
        mine = clusters.assignments.loc[clusters.assignments["customer_id"] == customer_id, "cluster"]
        if len(mine):
            key = str(mine.iloc[0])
            name = dict(zip(clusters.clusters["key"], clusters.clusters["name"], strict=True)).get(key, "")
            groups.append(Group("cluster", key, f"{group_title(key)}: {name}" if name else group_title(key)))
    return groups + _saved_groups(con, customer_id, as_of)


def _saved_groups(con: duckdb.DuckDBPyConnection, customer_id: str, as_of: dt.date | str | None) -> list[Group]:
    """The saved segments the customer is in on ``as_of``, evaluated afresh (not the last import's record, so
    an earlier as-of date reads that day). A segment the data can no longer evaluate is left out."""
    from segmentation.custom.saved import matching_ids, saved_segments

    found = []
    for segment in saved_segments(con):
        try:
            members = matching_ids(con, segment.condition, as_of=as_of)
        except AnalysisError:  # e.g. a field this shop's data lost: the import's notes already said so
            continue
        if customer_id in members:
            found.append(Group("saved", segment.name, segment.name))
    return found


def customer_page(
    con: duckdb.DuckDBPyConnection,
    customer_id: str,
    *,
    as_of: dt.date | str | None = None,
    k: int | None = None,
    margin: float | None = None,
) -> CustomerPage:
    """The page of the customer ``customer_id`` names (``find_customer``), at ``as_of``; ``k``: the clustering
    whose cluster to name; ``margin``: as in the customer table."""
    from segmentation.customers import customer_table

    found = find_customer(con, customer_id)
    day = resolve_as_of(con, as_of)
    table = customer_table(con, as_of=day, margin=margin)
    mine = table[table["customer_id"] == found]
    row = mine.iloc[0].to_dict() if len(mine) else None
    details = con.execute(
        f"SELECT {', '.join(CONTACT_FIELDS)}, marketing_consent FROM customers WHERE customer_id = $id", {"id": found}
    ).fetchall()
    values = details[0] if details else (None,) * (len(CONTACT_FIELDS) + 1)
    contact = dict(zip(CONTACT_FIELDS, values[:-1], strict=True))
    orders = con.execute(
        f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE customer_id = $id AND order_date <= $as_of "
        "ORDER BY order_date, order_id",
        {"id": found, "as_of": day},
    ).df()
    thresholds = table.attrs["thresholds"]
    notes = list(table.attrs.get("warnings", []))
    if row is None:
        words = f"No purchase on or before {day.isoformat()}, so no scores, stage or next order."
    else:
        words = next_order_words(row, day, thresholds.get("typical_gap_days"))
    return CustomerPage(
        customer_id=found,
        as_of=day.isoformat(),
        contact=contact,
        marketing_consent=None if values[-1] is None else bool(values[-1]),
        row=row,
        table_attrs=dict(table.attrs),
        next_order=words,
        orders=orders,
        monthly=_monthly(orders),
        history=_history(con, found, day) if row is not None else pd.DataFrame(columns=HISTORY_COLUMNS),
        groups=customer_groups(con, found, as_of=day, k=k, row=row) if row is not None else [],
        campaigns=_campaigns(con, found),
        notes=notes,
    )


def _monthly(orders: pd.DataFrame) -> pd.DataFrame:
    """Purchases (orders with net > 0) and net revenue per calendar month, months without orders left out."""
    bought = orders[orders["is_purchase"]]
    if bought.empty:
        return pd.DataFrame(columns=MONTH_COLUMNS)
    month = pd.to_datetime(bought["order_date"]).dt.strftime("%Y-%m")
    frame = bought.groupby(month).agg(orders=("order_id", "size"), revenue=("net_amount", "sum"))
    frame = frame.rename_axis("month").reset_index()
    frame["revenue"] = frame["revenue"].round(2)
    return frame[MONTH_COLUMNS]


def month_ends(first: dt.date, day: dt.date, most: int = HISTORY_MONTHS) -> list[dt.date]:
    """The last ``most`` month ends on or after ``first`` and before ``day``, oldest first."""
    ends: list[dt.date] = []
    end = day.replace(day=1) - dt.timedelta(days=1)
    while end >= first and len(ends) < most:
        ends.append(end)
        end = end.replace(day=1) - dt.timedelta(days=1)
    return ends[::-1]


def _history(con: duckdb.DuckDBPyConnection, customer_id: str, day: dt.date) -> pd.DataFrame:
    """Their segment and stage at each month end (``month_ends``), the shop scored as it stood then."""
    first = con.execute(
        "SELECT min(order_date) FROM orders WHERE customer_id = $id AND is_purchase", {"id": customer_id}
    ).fetchall()[0][0]
    rows = []
    for end in month_ends(first, day):
        rfm = customer_rfm(con, as_of=end)
        mine = rfm[rfm["customer_id"] == customer_id]
        limits: Thresholds = lifecycle_thresholds(con, as_of=end)
        stage = lifecycle_stages(mine["recency_days"], mine["frequency"], limits).iloc[0]
        rows.append((end.isoformat(), mine["segment"].iloc[0], stage))
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def _campaigns(con: duckdb.DuckDBPyConnection, customer_id: str) -> pd.DataFrame:
    return con.execute(
        "SELECT c.campaign_id, c.created_at, c.segment, c.as_of, c.goal, c.channel, m.arm FROM campaign_members m "
        "JOIN campaigns c USING (campaign_id) WHERE m.customer_id = $id ORDER BY c.created_at, c.campaign_id",
        {"id": customer_id},
    ).df()[CAMPAIGN_COLUMNS]
