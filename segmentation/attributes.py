"""Who customers are, from the lists and surveys imported beside the orders: read per customer, broken down.

A person in a list (``contact_attributes``) is matched to a customer when read: by the list's customer id,
else by email (the customers' email, or a customer id that is an email, as shops identified by email have).
Rows that match nobody stay in the store and count nowhere.

Age is worked out at the as-of date from a birth date (or taken as given), then put in bands
(``AGE_BANDS``). Age, gender and income are sensitive (``contact_columns.SENSITIVE``): a group of fewer than
``MIN_GROUP_FOR_SENSITIVE`` customers is not broken down by them, and the counts here are the only thing
about them that leaves this module: never a row.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from segmentation.importing.contact_columns import SENSITIVE
from segmentation.store import resolve_as_of
from segmentation.vocabulary import AnalysisError

MIN_GROUP_FOR_SENSITIVE = 5
NOT_IN_DATA = "not in your data"
# (label, lowest age, highest age): the bands surveys and ad platforms use, split at 30 so that
# "under 30" is whole bands.
AGE_BANDS = (
    ("under 18", 0, 17),
    ("18-24", 18, 24),
    ("25-29", 25, 29),
    ("30-34", 30, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65+", 65, 200),
)
# Attributes a breakdown can name, besides the list's own columns.
KNOWN = (
    "age_band",
    "gender",
    "income_band",
    "city",
    "region",
    "country",
    "tag",
    "interest",
    "email_consent",
    "member_rating",
)
_MULTI = ("tag", "interest")  # several per customer


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Stores made before the lists came in have no such table (and a reader cannot make it)."""
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = current_database()", [name]
        ).fetchall()[0][0]
    )


def contact_links_sql(people: str) -> str:
    """SELECT contact, customer_id: each person of ``people`` (contact, customer_ref, email) matched to a
    customer, by id first, then by email; people matching nobody are left out."""
    return f"""
        SELECT p.contact, coalesce(by_id.customer_id, by_email_id.customer_id, by_email.customer_id) AS customer_id
        FROM (SELECT DISTINCT contact, customer_ref, email FROM {people}) p
        LEFT JOIN customers by_id ON by_id.customer_id = p.customer_ref
        LEFT JOIN customers by_email_id ON by_email_id.customer_id = p.email
        LEFT JOIN (SELECT lower(email) AS email, min(customer_id) AS customer_id FROM customers
                   WHERE email IS NOT NULL GROUP BY 1) by_email ON by_email.email = p.email
        WHERE coalesce(by_id.customer_id, by_email_id.customer_id, by_email.customer_id) IS NOT NULL
    """


def customer_attributes(con: duckdb.DuckDBPyConnection, *, as_of: dt.date | str | None = None) -> pd.DataFrame:
    """Long form: customer_id, name, value, number. Age bands are added from birth dates or ages at
    ``as_of``; a customer matched from two rows of the lists keeps each value once."""
    if not has_table(con, "contact_attributes"):
        return pd.DataFrame(columns=["customer_id", "name", "value", "number"])
    day = resolve_as_of(con, as_of)
    bands = " ".join(f"WHEN age BETWEEN {lo} AND {hi} THEN '{label}'" for label, lo, hi in AGE_BANDS)
    return con.execute(
        f"""
        WITH linked AS (
            SELECT l.customer_id, a.name, a.value, a.number
            FROM contact_attributes a JOIN ({contact_links_sql("contact_attributes")}) l USING (contact)
        ),
        ages AS (
            SELECT customer_id, max(CASE WHEN name = 'birth_date' THEN date_sub('year', value::DATE, $day::DATE)
                                         ELSE number END) AS age
            FROM linked WHERE name IN ('birth_date', 'age') GROUP BY customer_id
        )
        SELECT DISTINCT customer_id, name, value, number FROM linked
        UNION ALL
        SELECT customer_id, 'age_band', CASE {bands} END, age FROM ages WHERE age BETWEEN 0 AND 200
        ORDER BY customer_id, name, value
        """,
        {"day": day},
    ).df()


def available(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Attribute -> customers who have it, for what the shop's lists hold (empty without any)."""
    frame = customer_attributes(con)
    if frame.empty:
        return {}
    frame = frame[~frame["name"].isin(("birth_date", "age"))]
    counts = frame.groupby("name")["customer_id"].nunique().sort_values(ascending=False)
    return {str(k): int(v) for k, v in counts.items()}


def attribute_breakdown(
    con: duckdb.DuckDBPyConnection,
    by: str,
    *,
    customer_ids: list[str] | None = None,
    as_of: dt.date | str | None = None,
    top: int = 12,
) -> pd.DataFrame:
    """value, customers, share (of the customers whose value is known) for the group (all customers when
    ``customer_ids`` is None), largest first; a last row ``not in your data`` counts the group's customers
    without one. Tags and interests count a customer under each of theirs. ``attrs``: by, customers (the
    group's size), known (with a value).

    Refused (AnalysisError) for a sensitive attribute when the group has fewer than
    ``MIN_GROUP_FOR_SENSITIVE`` customers with a value: counts that small point at people.
    """
    day = resolve_as_of(con, as_of)
    frame = customer_attributes(con, as_of=day)
    names = set(frame["name"])
    if by not in names:
        have = ", ".join(sorted(n for n in names if n not in ("birth_date", "age"))) or "none"
        raise AnalysisError(
            f"This shop's data has no {by.replace('_', ' ')}: import a customer list with that column "
            f"(the lists imported give: {have})."
        )
    if customer_ids is None:
        base = con.execute(
            "SELECT DISTINCT customer_id FROM orders WHERE is_purchase AND order_date <= ? AND customer_id IS NOT NULL",
            [day],
        ).df()["customer_id"]
    else:
        base = pd.Series(list(customer_ids), dtype="object")
    base = pd.Index(base.astype(str).unique())
    rows = frame[(frame["name"] == by) & frame["customer_id"].isin(base)]
    known = rows["customer_id"].nunique()
    if by in SENSITIVE and known < MIN_GROUP_FOR_SENSITIVE:
        raise AnalysisError(
            f"Too few customers ({known}) in this group have a {by.replace('_', ' ')} in your data to break them "
            f"down by it: with fewer than {MIN_GROUP_FOR_SENSITIVE}, the counts would point at people."
        )
    counts = rows.groupby("value")["customer_id"].nunique().sort_values(ascending=False, kind="stable")
    if by == "age_band":
        order = [label for label, _, _ in AGE_BANDS]
        counts = counts.reindex([b for b in order if b in counts.index])
    out = pd.DataFrame({"value": counts.index.astype(str), "customers": counts.to_numpy(dtype="int64")})
    out = out.head(top)
    out["share"] = (out["customers"] / known).round(4) if known else 0.0
    missing = len(base) - known
    if missing:
        out = pd.concat(
            [out, pd.DataFrame({"value": [NOT_IN_DATA], "customers": [missing], "share": [None]})], ignore_index=True
        )
    out.attrs.update(by=by, customers=len(base), known=int(known), as_of=day.isoformat())
    return out


def ages(con: duckdb.DuckDBPyConnection, customer_ids: list[str], *, as_of: dt.date | str | None = None) -> pd.Series:
    """Each of ``customer_ids``' age in years at ``as_of``, where the lists give it (index customer_id)."""
    frame = customer_attributes(con, as_of=as_of)
    band = frame[(frame["name"] == "age_band") & frame["customer_id"].isin(set(map(str, customer_ids)))]
    return band.set_index("customer_id")["number"].astype(float)


def count_under(
    con: duckdb.DuckDBPyConnection, customer_ids: list[str], age: int, *, as_of: dt.date | str | None = None
) -> tuple[int, int, int]:
    """(group size, customers with a known age, of them younger than ``age``) at ``as_of``. Refused for a group
    with fewer than ``MIN_GROUP_FOR_SENSITIVE`` known ages, as every sensitive breakdown is."""
    known = ages(con, customer_ids, as_of=as_of)
    if len(known) < MIN_GROUP_FOR_SENSITIVE:
        raise AnalysisError(
            f"Too few customers ({len(known)}) in this group have an age in your data to break them down by it: "
            f"with fewer than {MIN_GROUP_FOR_SENSITIVE}, the counts would point at people."
        )
    return len(set(map(str, customer_ids))), len(known), int((known < age).sum())


def group_profile(
    con: duckdb.DuckDBPyConnection, customer_ids: list[str], *, as_of: dt.date | str | None = None, top: int = 3
) -> dict[str, str]:
    """For a persona: per attribute (age band, gender, interests, tags, place), the group's top values with
    their shares, e.g. {'age_band': '25-29 (34%), 30-34 (22%)'}, or 'not in your data'. Sensitive ones are
    left as 'not in your data' for a group too small to break down."""
    out: dict[str, str] = {}
    names = {"age_band", "gender", "interest", "tag", "city", "country", "income_band"}
    present = set(customer_attributes(con, as_of=as_of)["name"]) if has_table(con, "contact_attributes") else set()
    for name in ("age_band", "gender", "income_band", "interest", "tag", "city", "country"):
        if name not in present or name not in names:
            out[name] = NOT_IN_DATA
            continue
        try:
            frame = attribute_breakdown(con, name, customer_ids=customer_ids, as_of=as_of, top=len(AGE_BANDS))
        except AnalysisError:
            out[name] = NOT_IN_DATA
            continue
        shown = frame[frame["value"] != NOT_IN_DATA].sort_values("customers", ascending=False, kind="stable").head(top)
        pairs = zip(shown["value"], shown["share"], strict=True)
        out[name] = ", ".join(f"{v} ({s:.0%})" for v, s in pairs) or NOT_IN_DATA
    return out
