"""How customers engage with the shop's emails, from the activity exports, and the groups that follow.

Per customer at an as-of date D (events after D do not count yet): campaigns sent, opened and clicked
(each campaign once, however often it was opened), the open and click rates over those sent, the last open
and click, and whether they unsubscribed or bounced: in an activity export, or in a list's own columns
(Mailchimp's unsubscribed and cleaned members, an 'Unsubscribed' column).

Behavioural groups, over the last ``days`` (90 by default) before D:
- ``engaged_not_buying``: opened an email in the window, but bought nothing in it (they bought before);
- ``buying_not_opening``: bought in the window, were sent email in it and opened none;
- ``unreachable``: bounced or unsubscribed, so email cannot reach them.
The first two leave out the unreachable. Customers only: people who never bought are not in these groups.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from segmentation.attributes import contact_links_sql, has_table
from segmentation.store import resolve_as_of
from segmentation.vocabulary import AnalysisError

DEFAULT_DAYS = 90
BEHAVIOUR_GROUPS: dict[str, str] = {
    "engaged_not_buying": "opened an email in the last {days} days but bought nothing in them",
    "buying_not_opening": "bought in the last {days} days but opened none of the emails sent to them in that time",
    "unreachable": "unsubscribed or their address bounced: email cannot reach them",
}
FEATURE_COLUMNS = [
    "customer_id",
    "emails_sent",
    "emails_opened",
    "emails_clicked",
    "open_rate",
    "click_rate",
    "last_open",
    "last_click",
    "unsubscribed",
    "bounced",
]


def has_activity(con: duckdb.DuckDBPyConnection) -> bool:
    return has_table(con, "email_events") and bool(
        con.execute("SELECT count(*) FROM (SELECT 1 FROM email_events LIMIT 1)").fetchall()[0][0]
    )


def engagement_features(con: duckdb.DuckDBPyConnection, *, as_of: dt.date | str | None = None) -> pd.DataFrame:
    """One row per customer with any email activity or unsubscribe on record (``FEATURE_COLUMNS``)."""
    day = resolve_as_of(con, as_of)
    if not has_table(con, "email_events"):  # a store from before the lists came in
        return pd.DataFrame(columns=FEATURE_COLUMNS)
    flags = "SELECT NULL::VARCHAR AS customer_id, false AS unsubscribed, false AS bounced WHERE false"
    if has_table(con, "contact_attributes"):
        flags = f"""
            SELECT l.customer_id, bool_or(a.name = 'unsubscribed' AND a.value = 'yes') AS unsubscribed,
                   bool_or(a.name = 'cleaned' AND a.value = 'yes') AS bounced
            FROM contact_attributes a JOIN ({contact_links_sql("contact_attributes")}) l USING (contact)
            WHERE a.name IN ('unsubscribed', 'cleaned') GROUP BY l.customer_id
        """
    frame = con.execute(
        f"""
        WITH ev AS (
            SELECT l.customer_id, coalesce(e.campaign, '') AS campaign, e.event, e.occurred_at
            FROM email_events e JOIN ({contact_links_sql("email_events")}) l USING (contact)
            WHERE e.occurred_at IS NULL OR e.occurred_at::DATE <= $day
        ),
        per AS (
            SELECT customer_id,
                   count(DISTINCT campaign) FILTER (event IN ('sent', 'open', 'click')) AS emails_sent,
                   count(DISTINCT campaign) FILTER (event = 'open') AS emails_opened,
                   count(DISTINCT campaign) FILTER (event = 'click') AS emails_clicked,
                   max(occurred_at) FILTER (event = 'open') AS last_open,
                   max(occurred_at) FILTER (event = 'click') AS last_click,
                   bool_or(event = 'unsubscribe') AS unsubscribed, bool_or(event = 'bounce') AS bounced
            FROM ev GROUP BY customer_id
        ),
        flags AS ({flags})
        SELECT customer_id, coalesce(p.emails_sent, 0) AS emails_sent, coalesce(p.emails_opened, 0) AS emails_opened,
               coalesce(p.emails_clicked, 0) AS emails_clicked,
               round(p.emails_opened / nullif(p.emails_sent, 0), 4) AS open_rate,
               round(p.emails_clicked / nullif(p.emails_sent, 0), 4) AS click_rate,
               p.last_open, p.last_click,
               coalesce(p.unsubscribed, false) OR coalesce(f.unsubscribed, false) AS unsubscribed,
               coalesce(p.bounced, false) OR coalesce(f.bounced, false) AS bounced
        FROM per p FULL OUTER JOIN flags f USING (customer_id)
        ORDER BY customer_id
        """,
        {"day": day},
    ).df()
    return frame[FEATURE_COLUMNS]


def unreachable_ids(con: duckdb.DuckDBPyConnection, *, as_of: dt.date | str | None = None) -> set[str]:
    """Customers who unsubscribed or bounced: campaign audiences leave them out."""
    try:
        frame = engagement_features(con, as_of=as_of)
    except AnalysisError:
        return set()
    return set(frame.loc[frame["unsubscribed"] | frame["bounced"], "customer_id"].astype(str))


def behaviour_groups(
    con: duckdb.DuckDBPyConnection, *, as_of: dt.date | str | None = None, days: int = DEFAULT_DAYS
) -> pd.DataFrame:
    """customer_id, group (one of ``BEHAVIOUR_GROUPS``), last_purchase, last_open: the customers in each.
    ``attrs``: as_of, days, with_activity (customers with any email activity on record)."""
    if days < 1:
        raise AnalysisError(f"A window of {days} days holds nothing: give 1 day or more.")
    day = resolve_as_of(con, as_of)
    if not has_activity(con):
        raise AnalysisError(
            "This shop has no email activity yet: import a campaign activity export (Mailchimp or Klaviyo) "
            "to see who opens and who buys."
        )
    features = engagement_features(con, as_of=day)
    since = pd.Timestamp(day - dt.timedelta(days=days))
    purchases = con.execute(
        "SELECT customer_id, max(order_date) AS last_purchase FROM orders "
        "WHERE is_purchase AND order_date <= ? AND customer_id IS NOT NULL GROUP BY customer_id",
        [day],
    ).df()
    sent_in_window = _sent_since(con, day, since)
    f = features.merge(purchases, on="customer_id", how="inner")
    f["last_purchase"] = pd.to_datetime(f["last_purchase"])
    f["last_open"] = pd.to_datetime(f["last_open"])
    unreachable = f["unsubscribed"] | f["bounced"]
    bought = f["last_purchase"] > since
    opened = f["last_open"].notna() & (f["last_open"] > since)
    groups = {
        "engaged_not_buying": opened & ~bought & ~unreachable,
        "buying_not_opening": bought & ~opened & ~unreachable & f["customer_id"].isin(sent_in_window),
        "unreachable": unreachable,
    }
    out = pd.concat(
        [f.loc[mask, ["customer_id", "last_purchase", "last_open"]].assign(group=key) for key, mask in groups.items()],
        ignore_index=True,
    )[["customer_id", "group", "last_purchase", "last_open"]]
    out.attrs.update(as_of=day.isoformat(), days=int(days), with_activity=len(features))
    return out


def _sent_since(con: duckdb.DuckDBPyConnection, day: dt.date, since: pd.Timestamp) -> set[str]:
    """Customers sent a campaign in the window (a campaign without a date counts: the export is recent)."""
    rows = con.execute(
        f"""
        SELECT DISTINCT l.customer_id FROM email_events e JOIN ({contact_links_sql("email_events")}) l USING (contact)
        WHERE e.event IN ('sent', 'open', 'click')
          AND (e.occurred_at IS NULL OR (e.occurred_at::DATE > ? AND e.occurred_at::DATE <= ?))
        """,
        [since.date(), day],
    ).fetchall()
    return {r[0] for r in rows}


# How a group takes the emails, one state per customer, the furthest they went first: an unsubscribe or a bounce
# ends the story whatever came before; a click means they opened too.
ENGAGEMENT_STATES = ("clicked", "opened, never clicked", "sent, never opened", "unsubscribed or bounced")


def engagement_breakdown(
    con: duckdb.DuckDBPyConnection, customer_ids: list[str], *, as_of: dt.date | str | None = None
) -> pd.DataFrame:
    """value (one of ``ENGAGEMENT_STATES``), customers, share (of the group's customers with email activity on
    record), in that order, in the shape of ``attributes.attribute_breakdown``: a last row 'not in your data'
    counts those with none. ``attrs``: by ('email'), customers (the group's size), known, as_of."""
    from segmentation.attributes import NOT_IN_DATA

    day = resolve_as_of(con, as_of)
    group = pd.Index(pd.Series(list(customer_ids), dtype="object").astype(str).unique())
    features = engagement_features(con, as_of=day)
    f = features[features["customer_id"].astype(str).isin(group)]
    state = pd.Series("sent, never opened", index=f.index, dtype="object")
    state[f["emails_opened"] > 0] = "opened, never clicked"
    state[f["emails_clicked"] > 0] = "clicked"
    state[f["unsubscribed"].astype(bool) | f["bounced"].astype(bool)] = "unsubscribed or bounced"
    # A row with nothing sent and no unsubscribe is no activity (a list's flag that is 'no'): not known.
    known_rows = (f["emails_sent"] > 0) | (state == "unsubscribed or bounced")
    state = state[known_rows]
    counts = state.value_counts().reindex(list(ENGAGEMENT_STATES), fill_value=0)
    known = int(counts.sum())
    out = pd.DataFrame({"value": list(ENGAGEMENT_STATES), "customers": counts.to_numpy(dtype="int64")})
    out["share"] = (out["customers"] / known).round(4) if known else 0.0
    missing = len(group) - known
    if missing:
        out = pd.concat(
            [out, pd.DataFrame({"value": [NOT_IN_DATA], "customers": [missing], "share": [None]})], ignore_index=True
        )
    out.attrs.update(by="email", customers=len(group), known=known, as_of=day.isoformat())
    return out
