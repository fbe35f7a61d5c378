"""The facts a condition reads about who customers are and how they take the emails, one row per customer.

``segmentation.custom.saved.matching_ids`` joins these to the customer table only when a condition asks about them
(``Compiled.needs``): reading the lists and the activity costs a pass over each. The definitions are the ones
the breakdowns use, not copies: ages and age bands are ``attributes.customer_attributes``'s (worked out at the
as-of date), the rates, last open, unsubscribes and bounces ``engagement.engagement_features``', and the email
groups ``engagement.behaviour_groups``' (over its default window).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from segmentation.attributes import customer_attributes
from segmentation.engagement import behaviour_groups, engagement_features, has_activity

LIST_COLUMNS = ["customer_id", "age", "age_band", "gender", "income_band", "region", "member_rating", "email_consent"]
EMAIL_COLUMNS = ["customer_id", "unsubscribed", "bounced", "last_open", "open_rate", "click_rate", "email_group"]


def list_facts(con: duckdb.DuckDBPyConnection, day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(wide, long): one row per customer the lists name (``LIST_COLUMNS``), and every attribute in long form
    (customer_id, name, value, number) for tags, interests and the lists' other columns.

    A customer matched from two rows of the lists (by id and by email) may have two values of one attribute:
    the wide row keeps the smallest, and a "no" to email consent anywhere wins over a "yes"."""
    long = customer_attributes(con, as_of=day)
    con.register("people_long", long)
    try:
        wide = con.execute(
            """
            SELECT customer_id,
                   max(number) FILTER (name = 'age_band') AS age,
                   min(value) FILTER (name = 'age_band') AS age_band,
                   min(value) FILTER (name = 'gender') AS gender,
                   min(value) FILTER (name = 'income_band') AS income_band,
                   min(value) FILTER (name = 'region') AS region,
                   max(number) FILTER (name = 'member_rating') AS member_rating,
                   CASE WHEN bool_or(value = 'no') FILTER (name = 'email_consent') THEN false
                        WHEN bool_or(value = 'yes') FILTER (name = 'email_consent') THEN true END AS email_consent
            FROM people_long GROUP BY customer_id ORDER BY customer_id
            """
        ).df()
    finally:
        con.unregister("people_long")
    return wide[LIST_COLUMNS], long[["customer_id", "name", "value", "number"]]


def email_facts(con: duckdb.DuckDBPyConnection, day: dt.date) -> pd.DataFrame:
    """One row per customer with email activity or an unsubscribe on record (``EMAIL_COLUMNS``); ``last_open`` a
    date, ``email_group`` the behaviour group they are in (None for most)."""
    features = engagement_features(con, as_of=day)
    frame = features[["customer_id", "unsubscribed", "bounced", "last_open", "open_rate", "click_rate"]].copy()
    frame["last_open"] = pd.to_datetime(frame["last_open"]).dt.date
    if has_activity(con):
        groups = behaviour_groups(con, as_of=day)[["customer_id", "group"]].drop_duplicates("customer_id")
        frame = frame.merge(groups.rename(columns={"group": "email_group"}), on="customer_id", how="left")
    else:
        frame["email_group"] = None
    frame["email_group"] = frame["email_group"].astype(object)
    return frame[EMAIL_COLUMNS]
