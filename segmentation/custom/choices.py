"""The values a condition's field takes in this shop: the lists a segment builder offers to pick from.

A condition (``segmentation.custom.conditions``) may name any city or product, but an owner building one by pointing
wants the shop's own: the cities its customers live in, the products and categories they bought, the channels
they bought through. Each list is ordered by how many customers have the value, most first, so the values that
matter are at the top of a long menu; a menu holds at most ``limit`` of them (a shop with thousands of products
can still write any other one, or use ``contains``).
"""

from __future__ import annotations

import duckdb

from segmentation.custom.conditions import FIELDS

MENU_LIMIT = 1000
# field -> (table, column): where the shop's own values of a categorical field are.
_SOURCES = {
    "product": ("order_lines", "product"),
    "category": ("order_lines", "category"),
    "channel": ("order_lines", "channel"),
    "city": ("customers", "city"),
    "country": ("customers", "country"),
}


# Fields from the imported customer lists: their values are the lists' own (as segmentation.importing.contact_ingest
# names them).
_LIST_SOURCES = ("age_band", "gender", "income_band", "region", "tag", "interest")


def available_fields(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The condition fields this shop's data can answer: the orders' always, the customer lists' once a list is
    imported, the email activity's once an activity export is."""
    has = {
        "orders": True,
        "lists": bool(con.execute("SELECT count(*) FROM contact_attributes").fetchall()[0][0]),
        "email": bool(con.execute("SELECT count(*) FROM email_events").fetchall()[0][0]),
    }
    return tuple(name for name, spec in FIELDS.items() if has.get(spec.source, False))


def picked_fields() -> tuple[str, ...]:
    """The fields whose values come from the shop's data (the rest have fixed choices, or are typed)."""
    return tuple(_SOURCES)


def shop_values(con: duckdb.DuckDBPyConnection, field: str, *, limit: int = MENU_LIMIT) -> list[str]:
    """The values ``field`` takes in this shop, most customers first (ties alphabetically); for a field with
    fixed choices (segment, lifecycle, cluster, consent) those choices. Purchases only for what was bought: a
    fully returned product is no purchase (``conditions`` counts lines with net > 0)."""
    spec = FIELDS[field]
    if spec.kind == "consent":
        return ["yes", "no", "unknown"]
    if field in _LIST_SOURCES:
        rows = con.execute(
            "SELECT value, count(DISTINCT contact) AS people FROM contact_attributes "
            "WHERE name = ? AND trim(value) <> '' GROUP BY 1 ORDER BY people DESC, value LIMIT ?",
            [field, int(limit)],
        ).fetchall()
        return [str(r[0]) for r in rows]
    if field not in _SOURCES:
        return list(spec.choices)
    table, column = _SOURCES[field]
    # ``table`` and ``column`` are this module's own names, never text from outside; the limit is bound.
    purchases = " AND net_amount > 0" if table == "order_lines" else ""
    rows = con.execute(
        f"""
        SELECT {column} AS value, count(DISTINCT customer_id) AS customers FROM {table}
        WHERE {column} IS NOT NULL AND trim({column}) <> '' AND customer_id IS NOT NULL{purchases}
        GROUP BY 1 ORDER BY customers DESC, value LIMIT ?
        """,
        [int(limit)],
    ).fetchall()
    return [str(r[0]) for r in rows]
