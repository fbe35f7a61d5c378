"""The demo shop's customer list and email activity export, written from its imported orders.

The Corner Crumb keeps a customer list (ids, emails, birthdays, gender, tags, interests, marketing consent)
and sends a monthly newsletter from Mailchimp. Both files are written in the layouts owners export
(a customers spreadsheet; a Mailchimp campaign activity export) and imported the way an owner's would be,
so every attribute question works on the demo. A few rows match nobody (people who signed up in the shop
but never bought), as in a real list. Deterministic for a given store and seed; the orders are untouched.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from segmentation.store import connect

MAX_CUSTOMERS = 50_000  # the scale benchmarks' demos (millions of customers) get no lists: orders only
_INTERESTS = ("sourdough", "vegan", "gluten-free", "coffee", "cakes", "local produce", "baking classes")
_TAGS = ("newsletter", "loyalty card", "wholesale", "events")
_GENDERS = ("female", "male", "non-binary")
_NEWSLETTERS = ("Spring bakes", "Summer menu", "Back to school", "Autumn loaves", "Festive orders", "New year")
_NOBODY = 12  # signed up in the shop, never bought


def write_demo_contacts(db_path: str | Path, folder: str | Path, *, seed: int = 7) -> list[Path]:
    """The customer list and the activity export for the demo store at ``db_path``, in ``folder``; none for a
    store larger than ``MAX_CUSTOMERS``."""
    con = connect(db_path, read_only=True)  # the store's own way: a file the app keeps open is let go first
    try:
        people = con.execute(
            "SELECT c.customer_id, c.email, c.marketing_consent, max(o.order_date) AS last_purchase "
            "FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id AND o.is_purchase "
            "GROUP BY ALL ORDER BY c.customer_id"
        ).df()
        last_day = con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
    finally:
        con.close()
    if len(people) > MAX_CUSTOMERS or last_day is None:
        return []
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    listing = _customer_list(rng, people, last_day)
    activity = _activity(rng, people, last_day)
    paths = [folder / "corner_crumb_customers.csv", folder / "corner_crumb_newsletter_activity.csv"]
    listing.to_csv(paths[0], index=False)
    activity.to_csv(paths[1], index=False)
    return paths


def _customer_list(rng: np.random.Generator, people: pd.DataFrame, last_day: dt.date) -> pd.DataFrame:
    n = len(people)
    # Ages 18-80, most between 25 and 55; one in seven left their birthday out.
    age_days = (rng.normal(40, 13, n).clip(18, 80) * 365.25).astype(int) + rng.integers(0, 365, n)
    born = pd.to_datetime(last_day) - pd.to_timedelta(age_days, unit="D")
    birthday = pd.Series(born.strftime("%Y-%m-%d")).where(rng.random(n) > 0.14, "")
    gender = pd.Series(rng.choice(_GENDERS, n, p=[0.58, 0.38, 0.04])).where(rng.random(n) > 0.1, "")
    frame = pd.DataFrame(
        {
            "Customer ID": people["customer_id"],
            "Email": people["email"].fillna(""),
            "Date of Birth": birthday,
            "Gender": gender,
            "Tags": [_pick(rng, _TAGS, 0.35) for _ in range(n)],
            "Interests": [_pick(rng, _INTERESTS, 0.6) for _ in range(n)],
            "Accepts Email Marketing": np.where(people["marketing_consent"].fillna(False).astype(bool), "yes", "no"),
        }
    )
    nobody = pd.DataFrame(
        {
            "Customer ID": [f"S{i:04d}" for i in range(1, _NOBODY + 1)],
            "Email": [f"signup{i}@example.org" for i in range(1, _NOBODY + 1)],
            "Date of Birth": "",
            "Gender": "",
            "Tags": "newsletter",
            "Interests": [_pick(rng, _INTERESTS, 0.9) for _ in range(_NOBODY)],
            "Accepts Email Marketing": "yes",
        }
    )
    return pd.concat([frame, nobody], ignore_index=True)


def _pick(rng: np.random.Generator, choices: tuple[str, ...], chance: float) -> str:
    """A few of ``choices`` as one cell ('vegan, coffee'), or nothing."""
    if rng.random() > chance:
        return ""
    k = int(rng.integers(1, 4))
    return ", ".join(sorted(rng.choice(choices, size=min(k, len(choices)), replace=False)))


def _activity(rng: np.random.Generator, people: pd.DataFrame, last_day: dt.date) -> pd.DataFrame:
    """One row per recipient and newsletter, as Mailchimp exports a campaign's activity: the consenting
    customers with an address, each with their own habit of opening."""
    reachable = people[people["marketing_consent"].fillna(False).astype(bool) & people["email"].notna()]
    habit = rng.beta(1.2, 1.8, len(reachable))  # how often each one opens
    bounced = rng.random(len(reachable)) < 0.02
    leaves = rng.random(len(reachable)) < 0.04  # unsubscribes from one of the newsletters
    rows = []
    for i, title in enumerate(_NEWSLETTERS):
        sent = pd.Timestamp(last_day) - pd.Timedelta(days=15 + 30 * (len(_NEWSLETTERS) - 1 - i)) + pd.Timedelta(hours=9)
        opens = (rng.random(len(reachable)) < habit) & ~bounced
        clicks = opens & (rng.random(len(reachable)) < 0.3)
        open_at = sent + pd.to_timedelta(rng.integers(10, 72 * 60, len(reachable)), unit="min")
        unsub = leaves & (rng.integers(0, len(_NEWSLETTERS), len(reachable)) == i)
        rows.append(
            pd.DataFrame(
                {
                    "Email Address": reachable["email"].to_numpy(),
                    "Campaign Title": title,
                    "Send Time": sent.strftime("%Y-%m-%d %H:%M:%S"),
                    "Opens": np.where(opens, rng.integers(1, 4, len(reachable)), 0),
                    "Last Open": np.where(opens, open_at.strftime("%Y-%m-%d %H:%M:%S"), ""),
                    "Clicks": clicks.astype(int),
                    "Bounced": np.where(bounced, "hard", ""),
                    "Unsubscribed": np.where(unsub, sent.strftime("%Y-%m-%d %H:%M:%S"), ""),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
