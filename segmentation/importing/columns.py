"""Which column is which: the fields we import, the names real exports give them, and known layouts.

Everything here is data. A column is matched to a field by its normalised header (lower case, letters
and digits only) against the field's synonyms, in the order listed; a known layout (Shopify, Square, ...)
is recognised by a set of headers it always has and then fixes the fields that synonyms would get
wrong (Shopify's ``Name`` is the order number, not a person). Content checks in ``ingest`` confirm or
fill in what names cannot (a date column called ``When``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# field -> what it means, for the import report and `--map` help.
FIELDS: dict[str, str] = {
    "customer_id": "who bought: a customer or account number",
    "order_id": "the order, invoice or receipt number",
    "order_date": "when the order was placed",
    "amount": "the value of the row (a line, or the whole order)",
    "quantity": "how many units",
    "unit_price": "the price of one unit",
    "product": "what was bought",
    "category": "the product's category or type",
    "channel": "where it was sold (in store, online, ...)",
    "email": "the customer's email address",
    "first_name": "the customer's first name",
    "last_name": "the customer's last name",
    "full_name": "the customer's full name, when not split",
    "country": "the customer's country",
    "city": "the customer's town or city",
    "marketing_consent": "whether the customer agreed to marketing",
    "refund": "money refunded on the order",
    "status": "the order's status (paid, cancelled, refunded, ...)",
    "cancelled_at": "when the order was cancelled, if it was",
}

# Line-level value columns: trusted over quantity x unit price. Order-level or vague ones ("Total")
# lose to quantity x unit price, because exports repeat the order total on every line.
LINE_AMOUNT_NAMES = (
    "line total",
    "line amount",
    "lineitem total",
    "line item total",
    "item total",
    "net sales",
    "line net",
    "total price",
    "extended price",
    "line value",
    "sales amount",
    "net amount",
    "row total",
    "item subtotal",
    "line subtotal",
)

# Refunds recorded per line (summed) rather than per order (counted once, however often repeated).
LINE_REFUND_NAMES = ("item refunded", "line refunded", "lineitem refunded", "item refund", "line refund")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customer id",
        "customerid",
        "customer number",
        "customer no",
        "customer user id",
        "customer user",
        "client id",
        "customer code",
        "account id",
        "account number",
        "member id",
        "buyer id",
        "cust id",
        "user id",
        "customer",
    ),
    "order_id": (
        "order id",
        "orderid",
        "order number",
        "order no",
        "invoiceno",
        "invoice no",
        "invoice number",
        "invoice id",
        "invoice",
        "transaction id",
        "receipt number",
        "receipt no",
        "receipt id",
        "receipt",
        "sale id",
        "ticket number",
        "order reference",
        "order ref",
        "order",
    ),
    "order_date": (
        "order date",
        "invoicedate",
        "invoice date",
        "created at",
        "date created",
        "order created",
        "created utc",
        "created date utc",
        "created",
        "paid at",
        "date paid",
        "transaction date",
        "purchase date",
        "sale date",
        "order datetime",
        "order date time",
        "date time",
        "datetime",
        "timestamp",
        "date",
        "completed date",
    ),
    "amount": (
        *LINE_AMOUNT_NAMES,
        "amount",
        "total",
        "order total",
        "order total amount",
        "total amount",
        "sales",
        "revenue",
        "value",
        "gross sales",
        "subtotal",
        "grand total",
        "sale amount",
        "net total",
        "price total",
    ),
    "quantity": (
        "quantity",
        "qty",
        "lineitem quantity",
        "item quantity",
        "quantity ordered",
        "units",
        "unit count",
        "number of items",
        "count",
    ),
    "unit_price": (
        "unit price",
        "unitprice",
        "lineitem price",
        "item price",
        "item cost",
        "price each",
        "unit cost",
        "price per unit",
        "selling price",
        "sale price",
        "product price",
        "price",
    ),
    "product": (
        "product",
        "product name",
        "lineitem name",
        "item name",
        "item",
        "product title",
        "description",
        "product description",
        "item description",
        "title",
        "article",
    ),
    "category": (
        "category",
        "product category",
        "item category",
        "product type",
        "department",
        "collection",
    ),
    "channel": ("channel", "sales channel", "source", "order source", "source name", "platform"),
    "email": (
        "email",
        "e mail",
        "email address",
        "customer email",
        "billing email",
        "billing email address",
        "buyer email",
        "contact email",
        "customer email address",
    ),
    "first_name": (
        "first name",
        "firstname",
        "given name",
        "forename",
        "billing first name",
        "customer first name",
    ),
    "last_name": (
        "last name",
        "lastname",
        "surname",
        "family name",
        "billing last name",
        "customer last name",
    ),
    "full_name": ("customer name", "billing name", "full name", "buyer name", "client name"),
    "country": (
        "country",
        "billing country",
        "customer country",
        "shipping country",
        "country code",
        "card address country",
    ),
    "city": ("city", "billing city", "town", "customer city", "shipping city", "card address city"),
    "marketing_consent": (
        "accepts marketing",
        "accepts email marketing",
        "marketing consent",
        "email marketing consent",
        "marketing opt in",
        "email opt in",
        "opt in",
        "optin",
        "newsletter",
        "subscribed",
        "consent",
    ),
    "refund": (
        *LINE_REFUND_NAMES,
        "refunded amount",
        "refund amount",
        "amount refunded",
        "order refund amount",
        "total refunded",
        "refund",
        "refunds",
    ),
    "status": ("order status", "financial status", "payment status", "status"),
    "cancelled_at": ("cancelled at", "canceled at", "cancelled date", "cancellation date", "date cancelled"),
}

# Order of assignment: a column goes to the first field that claims it, so identity and money come
# before descriptive fields that share vague names ("Description", "Name").
FIELD_ORDER = (
    "order_date",
    "customer_id",
    "order_id",
    "quantity",
    "unit_price",
    "refund",
    "amount",
    "email",
    "first_name",
    "last_name",
    "full_name",
    "product",
    "category",
    "channel",
    "country",
    "city",
    "marketing_consent",
    "status",
    "cancelled_at",
)


@dataclass(frozen=True)
class Layout:
    """A known export: recognised when all ``signature`` headers are present."""

    key: str
    label: str
    signature: frozenset[str]
    # field -> normalised header (or alternatives, first present wins), or None to keep a field
    # unmapped that synonyms would grab wrongly
    fields: dict[str, str | tuple[str, ...] | None] = field(default_factory=dict)


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "shopify",
        "Shopify orders export",
        frozenset({"name", "created at", "lineitem quantity", "lineitem price", "lineitem name"}),
        {
            "order_id": "name",
            "order_date": "created at",
            "quantity": "lineitem quantity",
            "unit_price": "lineitem price",
            "product": "lineitem name",
            "amount": None,
            "email": "email",
            "customer_id": None,
            "full_name": "billing name",
            "city": "billing city",
            "country": "billing country",
            "marketing_consent": "accepts marketing",
            "refund": "refunded amount",
            "status": "financial status",
            "cancelled_at": "cancelled at",
            "channel": "source",
            "category": None,
        },
    ),
    Layout(
        "uci_online_retail",
        "UCI Online Retail",
        frozenset({"invoiceno", "stockcode", "description", "quantity", "invoicedate", "unitprice", "customerid"}),
        {
            "order_id": "invoiceno",
            "order_date": "invoicedate",
            "quantity": "quantity",
            "unit_price": "unitprice",
            "product": "description",
            "customer_id": "customerid",
            "country": "country",
        },
    ),
    Layout(
        "square",
        "Square item sales export",
        frozenset({"transaction id", "net sales", "gross sales", "item", "qty"}),
        {
            "order_id": "transaction id",
            "order_date": "date",
            "amount": "net sales",
            "quantity": "qty",
            "unit_price": None,
            "product": "item",
            "category": "category",
            "customer_id": "customer id",
            "full_name": "customer name",
            "channel": "channel",
            "status": None,
        },
    ),
    Layout(
        "stripe",
        "Stripe payments export",
        frozenset({"id", "amount", "amount refunded", "captured", "status"}),
        {
            "order_id": "id",
            "order_date": ("created date utc", "created utc"),
            "amount": "amount",
            "refund": "amount refunded",
            "status": "status",
            "customer_id": "customer id",
            "email": "customer email",
            "full_name": ("card name", "customer description"),
            "product": "description",
            "country": "card address country",
            "city": "card address city",
            "quantity": None,
            "unit_price": None,
        },
    ),
    # SkyVerge "Customer/Order/Coupon Export", default one-row-per-item format; the other common Woo
    # exports ("Order Status", "Billing Email Address", ...) are covered by the synonyms.
    Layout(
        "woocommerce",
        "WooCommerce orders export",
        frozenset({"order id", "status", "billing email", "item name", "item quantity"}),
        {
            "order_id": "order id",
            "order_date": "date",
            "status": "status",
            "customer_id": "customer id",
            "email": "billing email",
            "first_name": "billing first name",
            "last_name": "billing last name",
            "city": "billing city",
            "country": "billing country",
            "amount": "item total",
            "quantity": "item quantity",
            "unit_price": "item price",
            "product": "item name",
            "refund": "item refunded",
        },
    ),
)


def normalise(header: str) -> str:
    """'Lineitem price' -> 'lineitem price'; 'Created (UTC)' -> 'created utc'; 'E-mail' -> 'e mail'."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", header.lower()).split())


def detect_layout(columns: list[str]) -> Layout | None:
    present = {normalise(c) for c in columns}
    for layout in LAYOUTS:
        if layout.signature <= present:
            return layout
    return None


def map_by_name(columns: list[str], layout: Layout | None) -> dict[str, str]:
    """field -> column, from the layout where known, then synonyms; each column used at most once."""
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise(col), col)
    mapping: dict[str, str] = {}
    blocked: set[str] = set()
    if layout:
        for fld, names in layout.fields.items():
            if names is None:
                blocked.add(fld)
                continue
            for norm in (names,) if isinstance(names, str) else names:
                if norm in by_norm:
                    mapping[fld] = by_norm[norm]
                    break
    used = set(mapping.values())
    for fld in FIELD_ORDER:
        if fld in mapping or fld in blocked:
            continue
        for synonym in SYNONYMS[fld]:
            named = by_norm.get(synonym)
            if named is not None and named not in used:
                mapping[fld] = named
                used.add(named)
                break
    return mapping


def is_line_refund(column: str) -> bool:
    """True for refund columns kept per line (summed), not per order (counted once)."""
    return normalise(column) in LINE_REFUND_NAMES


def is_line_amount(column: str) -> bool:
    """True for columns that hold a line's own value (``Line Total``), not an order total."""
    return normalise(column) in LINE_AMOUNT_NAMES
