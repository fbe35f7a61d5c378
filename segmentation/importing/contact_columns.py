"""Which column is which in a file of customers (a CRM or email tool's list, a survey) or of email activity.

Everything here is data, in the shape of ``columns`` for orders: a column goes to an attribute by its
normalised header against the attribute's names; a known export (Shopify's customers export, Mailchimp's
audience export, Klaviyo's profiles export, HubSpot's contacts export, WooCommerce's customers report) is
recognised by headers it always has. A file is an orders file when it names an order,
an amount, a price or a quantity, or a date that is an order's; otherwise, with a customer id or an email,
it is a list of customers, or of email activity when it names what each recipient did.

Columns that hold who a person is (names, phone, street address, postcode, IP address, free notes) are
never kept as attributes: the orders already hold the names the lists need, and nothing else needs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from segmentation.importing import columns as cols
from segmentation.importing.columns import normalise

# attribute -> what it means, for the import report and --map help.
CONTACT_FIELDS: dict[str, str] = {
    "customer_id": "the customer's id in the shop (joins the list to the orders)",
    "email": "the customer's email address (joins the list to the orders when there is no id)",
    "birth_date": "date of birth (an age band is worked out from it)",
    "age": "age in years, or an age band such as 25-34",
    "gender": "gender",
    "income": "income, or an income band",
    "city": "town or city",
    "region": "region, state, province or county",
    "country": "country",
    "tags": "tags, several to a cell ('vip, wholesale')",
    "interests": "interests or preferences, several to a cell ('vegan, gluten-free')",
    "email_consent": "whether the customer agreed to marketing emails",
    "unsubscribed": "whether (or when) the customer unsubscribed",
    "cleaned": "whether (or when) the address was removed for bouncing",
    "member_rating": "the email tool's rating of the contact (Mailchimp: 1-5 stars)",
    "subscribed_on": "when the customer subscribed",
}

SENSITIVE = ("age_band", "gender", "income_band")  # never narrow a list by these; no breakdown of a tiny group

CONTACT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (*cols.SYNONYMS["customer_id"][:-1], "id", "contact id", "profile id"),
    "email": (*cols.SYNONYMS["email"], "email address", "e mail address", "mail"),
    # A full date first: Mailchimp's own 'Birthday' is month and day only, and gives no age.
    "birth_date": ("date of birth", "dob", "birth date", "birthdate", "date of birth dd mm yyyy", "birthday"),
    "age": ("age", "age band", "age group", "age range", "your age", "how old are you", "age bracket"),
    "gender": ("gender", "sex", "your gender", "what is your gender"),
    "income": (
        "income",
        "income band",
        "income range",
        "household income",
        "annual income",
        "income bracket",
        "annual household income",
    ),
    "city": ("city", "town", "default address city", "address city", "billing city", "customer city"),
    # Klaviyo writes 'State / Region', HubSpot 'State/Region', WooCommerce 'Region' and 'Country / Region'.
    "region": (
        "region",
        "state",
        "province",
        "county",
        "province code",
        "default address province code",
        "state province",
        "address region",
        "state region",
    ),
    "country": ("country", "country code", "default address country code", "cc", "billing country", "country region"),
    # Klaviyo's Shopify integration syncs a customer's Shopify tags to the profile as 'Shopify Tags'.
    "tags": ("tags", "tag", "labels", "segments", "groups", "shopify tags"),
    "interests": (
        "interests",
        "interest",
        "hobbies",
        "preferences",
        "dietary preferences",
        "dietary requirements",
        "what are you interested in",
        "favourite products",
        "favorite products",
        "what do you like",
    ),
    "email_consent": (
        "accepts email marketing",
        "accepts marketing",
        "marketing consent",
        "email marketing consent",
        "email opt in",
        "opt in",
        "optin",
        "newsletter",
        "subscribed",
        "consent",
        "email consent",
        "email marketing status",
        "email subscription status",
        "subscription status",
    ),
    # HubSpot's 'Unsubscribed from all email' (true/false); Klaviyo's 'Email Suppressions' (a reason where
    # email cannot reach the profile: unsubscribed, bounced, marked as spam).
    "unsubscribed": (
        "unsubscribed",
        "unsub time",
        "unsubscribed at",
        "unsubscribe date",
        "unsubscribed on",
        "unsubscribed from all email",
        "email suppressions",
    ),
    "cleaned": ("clean time", "cleaned", "cleaned at"),
    "member_rating": ("member rating", "rating", "contact rating", "star rating", "engagement rating"),
    "subscribed_on": ("confirm time", "optin time", "subscribed on", "subscribed at", "signup date", "date subscribed"),
}

# Who a person is, or the email tool's internals: never kept (see the module docstring).
PERSONAL = (
    "first name",
    "last name",
    "full name",
    "name",
    "customer name",
    "phone",
    "phone number",
    "mobile",
    "address",
    "address1",
    "address2",
    "street",
    "zip",
    "postcode",
    "post code",
    "postal code",
    "company",
    "note",
    "notes",
    "optin ip",
    "confirm ip",
    "ip",
    "ip address",
    "latitude",
    "longitude",
    "leid",
    "euid",
    "gmtoff",
    "dstoff",
    "timezone",
    "birthday",
    "last changed",
    "unsub campaign title",
    "unsub campaign id",
    "unsub reason",
    "unsub reason other",
    "clean campaign title",
    "clean campaign id",
    "default address company",
    "default address address1",
    "default address address2",
    "default address zip",
    "default address phone",
    "default address province",
    "default address country",
    "tax exempt",
    "marketing ip",
    "optin time",
    # Klaviyo's profiles export: its own profile id, work details, the second address line.
    "klaviyo id",
    "organization",
    "title",
    "address 2",
    "zip code",
    # HubSpot's contacts export: its record id, the salesperson who owns the contact (their email), work details.
    "record id",
    "contact owner",
    "hubspot owner",
    "job title",
    "company name",
    "associated company",
    "mobile phone number",
    "street address",
    # WooCommerce's customers report: the customer's login name.
    "username",
)

# Activity files: what each recipient did.
ACTIVITY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": CONTACT_SYNONYMS["email"],
    "customer_id": CONTACT_SYNONYMS["customer_id"],
    "campaign": ("campaign", "campaign title", "campaign name", "subject", "email subject", "message", "flow"),
    # one row per event: its kind and time
    "action": ("action", "activity", "event", "metric", "event name", "metric name", "activity type"),
    "at": ("timestamp", "datetime", "date", "time", "event time", "activity date", "event date", "occurred at"),
    # one row per recipient and campaign
    "sent_at": ("send time", "sent", "sent at", "send date", "delivered at", "date sent"),
    "opens": ("opens", "open count", "times opened", "total opens", "opened"),
    "clicks": ("clicks", "click count", "times clicked", "total clicks", "clicked"),
    "last_open": ("last open", "last opened", "open date", "first open", "last open date"),
    "last_click": ("last click", "last clicked", "click date", "last click date"),
    "bounced": ("bounced", "bounce", "bounce type", "bounces"),
    "unsubscribed": ("unsubscribed", "unsubscribe", "unsubscribed at", "unsub time"),
}

# field -> what it means, for the sidebar's mapping and --map help (the keys of ACTIVITY_SYNONYMS).
ACTIVITY_FIELDS: dict[str, str] = {
    "email": "the recipient's email address (joins the activity to the orders)",
    "customer_id": "the customer's id in the shop, when the export has it",
    "campaign": "the campaign or email sent",
    "action": "what happened, one row per event (sent, opened, clicked, bounced, unsubscribed)",
    "at": "when the event happened",
    "sent_at": "when the campaign was sent (one row per recipient)",
    "opens": "how many times the recipient opened it",
    "clicks": "how many times the recipient clicked",
    "last_open": "when the recipient last opened it",
    "last_click": "when the recipient last clicked",
    "bounced": "whether the email bounced",
    "unsubscribed": "whether (or when) the recipient unsubscribed",
}

# Words in an action cell -> the event it records (lower case, compared whole).
ACTIONS: dict[str, str] = {
    **dict.fromkeys(("sent", "send", "received", "received email", "delivered", "delivery"), "sent"),
    **dict.fromkeys(("open", "opened", "opened email", "email opened", "view", "viewed"), "open"),
    **dict.fromkeys(("click", "clicked", "clicked email", "email clicked", "clicked link"), "click"),
    **dict.fromkeys(
        (
            "bounce",
            "bounced",
            "bounced email",
            "hard bounce",
            "soft bounce",
            "hard",
            "soft",
            "dropped email",
            "marked email as spam",
            "spam complaint",
            "abuse",
        ),
        "bounce",
    ),
    **dict.fromkeys(
        (
            "unsubscribe",
            "unsubscribed",
            "unsubscribed from email marketing",
            "unsubscribed from list",
            "opt out",
            "opted out",
        ),
        "unsubscribe",
    ),
}
EVENTS = ("sent", "open", "click", "bounce", "unsubscribe")

# Names that make a file an orders file: an order, money per row, or a date that is an order's.
_ORDER_FIELDS = ("order_id", "amount", "unit_price", "quantity", "refund")
_ORDER_DATE_WORDS = ("order", "invoice", "purchase", "sale", "transaction", "paid")


@dataclass(frozen=True)
class ContactLayout:
    key: str
    label: str
    kind: str  # 'profiles' or 'activity'
    signature: frozenset[str]


CONTACT_LAYOUTS: tuple[ContactLayout, ...] = (
    ContactLayout(
        "shopify_customers",
        "Shopify customers export",
        "profiles",
        frozenset({"first name", "last name", "email", "total spent", "total orders"}),
    ),
    ContactLayout(
        "mailchimp_audience",
        "Mailchimp audience export",
        "profiles",
        frozenset({"email address", "member rating", "optin time"}),
    ),
    ContactLayout(
        "mailchimp_activity",
        "Mailchimp campaign activity export",
        "activity",
        frozenset({"email address", "opens", "clicks"}),
    ),
    ContactLayout("klaviyo_events", "Klaviyo events export", "activity", frozenset({"email", "metric", "timestamp"})),
    # Lists and segments > Export to CSV: 'Email' first, 'Klaviyo ID' always (tests/fixtures/contacts/README.md).
    ContactLayout("klaviyo_profiles", "Klaviyo profiles export", "profiles", frozenset({"email", "klaviyo id"})),
    # Contacts > Export: HubSpot always adds 'Record ID'; 'Create Date' is in the default view.
    ContactLayout(
        "hubspot_contacts", "HubSpot contacts export", "profiles", frozenset({"record id", "email", "create date"})
    ),
    # Analytics > Customers > Download: the report table's column labels.
    ContactLayout(
        "woocommerce_customers",
        "WooCommerce customers export",
        "profiles",
        frozenset({"username", "last active", "email", "total spend", "aov"}),
    ),
)


def file_kind(columns: list[str], overrides: dict[str, str] | None = None) -> str:
    """'orders', 'profiles' or 'activity'. Anything with an order's columns, or a --map of order fields,
    stays an orders file, so every orders export imports exactly as before."""
    overrides = overrides or {}
    if any(f in cols.FIELDS and f not in CONTACT_FIELDS for f in overrides):
        return "orders"
    present = {normalise(c) for c in columns}
    for layout in CONTACT_LAYOUTS:
        if layout.signature <= present:
            return layout.kind
    named = cols.map_by_name(columns, cols.detect_layout(columns))
    if any(f in named for f in _ORDER_FIELDS):
        return "orders"
    if any(word in name for name in present for word in _ORDER_DATE_WORDS if "date" in name or "at" in name.split()):
        return "orders"
    mapped = map_contact_columns(columns, {}, "activity")
    if ("email" in mapped or "customer_id" in mapped) and (
        "action" in mapped or "opens" in mapped or "clicks" in mapped
    ):
        return "activity"
    mapped = map_contact_columns(columns, {}, "profiles")
    attributes = [
        c for c in columns if normalise(c) not in PERSONAL and c not in (mapped.get("email"), mapped.get("customer_id"))
    ]
    if ("email" in mapped or "customer_id" in mapped) and attributes:
        return "profiles"
    return "orders"  # the orders importer says what is missing


def contact_layout(columns: list[str]) -> ContactLayout | None:
    present = {normalise(c) for c in columns}
    return next((layout for layout in CONTACT_LAYOUTS if layout.signature <= present), None)


def map_contact_columns(columns: list[str], overrides: dict[str, str], kind: str) -> dict[str, str]:
    """field -> column by name (``CONTACT_SYNONYMS`` or ``ACTIVITY_SYNONYMS``), each column used once;
    ``overrides`` (field -> column, '' to leave a field out) win."""
    synonyms = ACTIVITY_SYNONYMS if kind == "activity" else CONTACT_SYNONYMS
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise(col), col)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for fld, names in synonyms.items():
        for name in names:
            named = by_norm.get(name)
            if named is not None and named not in used:
                mapping[fld] = named
                used.add(named)
                break
    for fld, column in overrides.items():
        mapping.pop(fld, None)
        if column:
            for other in [f for f, c in mapping.items() if c == column]:
                del mapping[other]
            mapping[fld] = column
    return mapping


def is_personal(column: str) -> bool:
    return normalise(column) in PERSONAL


def attribute_name(column: str) -> str:
    """Any other column's attribute name: 'Favourite bread?' -> 'favourite_bread'."""
    return normalise(column).replace(" ", "_")[:60] or "column"
