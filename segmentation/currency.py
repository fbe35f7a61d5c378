"""The shop's currency: found in its file, or set once by the owner, then shown beside every amount.

An orders export rarely says its currency outright. It is found, in this order, from:

1. a currency column (Shopify's and Stripe's "Currency", WooCommerce's "Order Currency"): its most common
   value that is a currency code;
2. the signs written in the amount cells ("£12.50", "12,50 €", "USD 12.50");
3. the export's known currency (the UCI Online Retail file is a UK shop's, in pounds).

What is found is kept in the store's ``meta`` table with where it came from. A currency the owner set
(``segments currency EUR``, the app's sidebar) is never overwritten by a later import; one that was found
is replaced when a later file says otherwise, and the import report says so. Amounts are never
converted: a file in another currency is added as it is, and the report warns.

Formatting reads the currency through a context variable (``using``), set where a tool runs and where
the app or the command line draws: the dozens of sentences that state an amount (``persona.amount``)
then carry it without every function taking it as an argument.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from segmentation.vocabulary import SegmentsError

__all__ = [
    "CURRENCIES",
    "Currency",
    "CurrencyError",
    "Found",
    "active",
    "currency_of",
    "detect_currency",
    "parse_code",
    "prefix",
    "record_found",
    "set_currency",
    "using",
]


@dataclass(frozen=True)
class Currency:
    code: str  # ISO 4217
    symbol: str  # written before the amount: "£", "$", "CHF "
    name: str
    decimals: int = 2


CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("GBP", "£", "pound sterling"),
        Currency("EUR", "€", "euro"),
        Currency("USD", "$", "US dollar"),
        Currency("CAD", "CA$", "Canadian dollar"),
        Currency("AUD", "A$", "Australian dollar"),
        Currency("NZD", "NZ$", "New Zealand dollar"),
        Currency("JPY", "¥", "Japanese yen", 0),
        Currency("INR", "₹", "Indian rupee"),
        Currency("CHF", "CHF ", "Swiss franc"),
        Currency("SEK", "SEK ", "Swedish krona"),
        Currency("NOK", "NOK ", "Norwegian krone"),
        Currency("DKK", "DKK ", "Danish krone"),
        Currency("PLN", "PLN ", "Polish zloty"),
        Currency("ZAR", "R", "South African rand"),
        Currency("SGD", "S$", "Singapore dollar"),
        Currency("HKD", "HK$", "Hong Kong dollar"),
        Currency("MXN", "MX$", "Mexican peso"),
        Currency("BRL", "R$", "Brazilian real"),
    )
}

# A sign in an amount cell, and the currency it most likely means. "$" alone is read as US dollars: the
# report says so, and an owner in Canada or Australia sets theirs once.
SIGNS = {"£": "GBP", "€": "EUR", "$": "USD", "¥": "JPY", "₹": "INR"}
CURRENCY_COLUMNS = ("currency", "order currency", "currency code", "presentment currency", "transaction currency")
# Exports whose currency is known though the file never writes it.
LAYOUT_CURRENCY = {"uci_online_retail": "GBP"}
DETECT_SHARE = 0.5  # a sign or code on at least this share of the sampled non-blank amount cells

_ACTIVE: contextvars.ContextVar[Currency | None] = contextvars.ContextVar("shop_currency", default=None)


class CurrencyError(SegmentsError, ValueError):
    """A currency code that is not one we know; the message names the choices."""


@dataclass(frozen=True)
class Found:
    code: str
    source: str  # where it came from, in words: "the 'Currency' column", "the £ signs in 'Unit Price'"


def parse_code(text: str) -> Currency:
    """'gbp' -> GBP; '£' -> GBP; anything else: CurrencyError naming the codes we know."""
    key = str(text).strip().upper()
    code = SIGNS.get(key, key)
    if code not in CURRENCIES:
        raise CurrencyError(
            f"'{str(text).strip()[:20]}' is not a currency we know: use one of {', '.join(CURRENCIES)}."
        )
    return CURRENCIES[code]


# ---------------------------------------------------------------- formatting


def active() -> Currency | None:
    """The currency amounts are written in here (None: not known, amounts stay bare numbers)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def using(code: str | Currency | None) -> Iterator[Currency | None]:
    """Amounts formatted inside carry ``code``'s sign (None: bare numbers)."""
    currency = code if isinstance(code, Currency) or code is None else CURRENCIES.get(code)
    token = _ACTIVE.set(currency)
    try:
        yield currency
    finally:
        _ACTIVE.reset(token)


def prefix() -> str:
    """The active currency's sign, for a label or a table's format ("£"), or "" when none is known."""
    currency = active()
    return currency.symbol if currency else ""


def compact_money(value: float, code: str | None = None, *, exact_below: float = 100_000) -> str:
    """An amount that fits a narrow metric: £35.00, £99,999.99, then £178k and £9.74m (say the exact sum beside
    it, as a help); ``code`` None: the active currency's sign, "" for none. ``exact_below``: where the pence
    stop fitting (a sidebar half fits £99,999.99; a Segments tab quarter, with its larger figures, £9,999.99)."""
    known = active() if code is None else CURRENCIES.get(code)
    sign = known.symbol if known else ""
    minus = "-" if value < 0 else ""
    value = abs(value)
    if value < exact_below:
        return f"{minus}{sign}{value:,.2f}"
    if value < 1_000_000:
        return f"{minus}{sign}{value / 1_000:,.0f}k"
    return f"{minus}{sign}{value / 1_000_000:,.2f}m"


# ---------------------------------------------------------------- the store


def currency_of(con: duckdb.DuckDBPyConnection) -> tuple[str | None, str | None]:
    """(code, source) recorded in the store, or (None, None). ``source`` "set" means the owner chose it."""
    try:
        rows = con.execute("SELECT key, value FROM meta WHERE key IN ('currency', 'currency_source')").fetchall()
    except duckdb.CatalogException:  # a store from before meta: no currency
        return None, None
    recorded = dict(rows)
    return recorded.get("currency"), recorded.get("currency_source")


def set_currency(con: duckdb.DuckDBPyConnection, code: str) -> Currency:
    """The owner's choice, kept until they change it: later imports never replace it."""
    currency = parse_code(code)
    _record(con, currency.code, "set")
    return currency


def record_found(con: duckdb.DuckDBPyConnection, found: Found | None, replace: bool) -> str | None:
    """Keep what an import found (inside its transaction); a sentence for its report when it matters.

    The owner's own choice stays; what an earlier file showed is replaced only by what this file shows, and
    a replace starts afresh. A file whose currency differs from the shop's is added as it is: the report
    says so, since its amounts are summed with the others unconverted.
    """
    code, source = currency_of(con)
    if replace and source != "set":
        code = source = None
        con.execute("DELETE FROM meta WHERE key IN ('currency', 'currency_source')")
    if found is None:
        if code is None:
            return (
                "no currency found in the file: amounts are shown without one (set it with `segments "
                "currency CODE` or in the app's sidebar)"
            )
        return None
    if code is None:
        _record(con, found.code, found.source)
        return f"currency {found.code} ({CURRENCIES[found.code].name}), from {found.source}"
    if found.code != code:
        if source != "set":
            _record(con, found.code, found.source)
        return (
            f"this file's amounts look like {found.code} (from {found.source}) but the shop's currency is "
            f"{code}: amounts are added as they are, not converted"
        )
    return None


def _record(con: duckdb.DuckDBPyConnection, code: str, source: str) -> None:
    con.executemany(
        "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [("currency", code), ("currency_source", source)],
    )


# ---------------------------------------------------------------- finding it in a file


def detect_currency(
    con: duckdb.DuckDBPyConnection,
    columns: list[str],
    mapping: dict[str, str],
    layout: str | None,
    table: str = "sample",
) -> Found | None:
    """The currency ``table`` (the file's sampled rows, as text) shows, or None when it shows none."""
    from segmentation.importing.columns import normalise

    for column in columns:
        if normalise(column) in CURRENCY_COLUMNS:
            code = _most_common_code(con, column, table)
            if code:
                return Found(code, f"the '{column}' column")
    for field in ("amount", "unit_price", "refund"):
        mapped = mapping.get(field)
        if mapped:
            found = _signs_in(con, mapped, table)
            if found:
                return found
    if layout in LAYOUT_CURRENCY:
        return Found(LAYOUT_CURRENCY[layout], "the export's known currency")
    return None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _most_common_code(con: duckdb.DuckDBPyConnection, column: str, table: str) -> str | None:
    rows = con.execute(
        f"SELECT upper(trim({_quoted(column)}::VARCHAR)) AS v, count(*) AS n FROM {table} "
        f"WHERE v IN ({', '.join('?' * len(CURRENCIES))}) GROUP BY v ORDER BY n DESC, v LIMIT 1",
        list(CURRENCIES),
    ).fetchall()
    return rows[0][0] if rows else None


def _signs_in(con: duckdb.DuckDBPyConnection, column: str, table: str) -> Found | None:
    """The sign or code most amount cells carry, when at least ``DETECT_SHARE`` of them carry one."""
    signs = "".join(SIGNS)
    codes = "|".join(CURRENCIES)
    cell = f"trim({_quoted(column)}::VARCHAR)"
    rows = con.execute(
        f"SELECT upper(coalesce(nullif(regexp_extract({cell}, '[{signs}]'), ''), "
        f"regexp_extract(upper({cell}), '(^|[^A-Z])({codes})([^A-Z]|$)', 2))) AS mark, count(*) AS n "
        f"FROM {table} WHERE {cell} <> '' GROUP BY mark ORDER BY n DESC"
    ).fetchall()
    total = sum(n for _, n in rows)
    marked = [(mark, n) for mark, n in rows if mark]
    if not total or not marked or marked[0][1] < DETECT_SHARE * total:
        return None
    mark = marked[0][0]
    code = SIGNS.get(mark, mark)
    said = f"the {mark} signs" if mark in SIGNS else f"the {mark} codes"
    return Found(code, f"{said} in '{column}'")
