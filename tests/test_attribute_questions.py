"""The two questions of issue 19 on the demo shop, asked on the command line, against numbers worked out
here from the demo's own customer list and activity files with pandas alone (not the code that answers).
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

import cli
from segmentation.demo.contacts import write_demo_contacts
from segmentation.rfm import customer_rfm
from segmentation.store import connect


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attr")
    db = folder / "shop.duckdb"
    assert cli.main(["demo", "--db", str(db)]) == 0
    files = write_demo_contacts(db, folder)  # the same files `segments demo` imported: same store, same seed
    return db, files


def _ask(db, question: str, capsys) -> str:
    capsys.readouterr()
    assert cli.main(["ask", question, "--db", str(db)]) == 0
    return capsys.readouterr().out


def test_how_many_champions_are_under_30(demo, capsys):
    db, (listing, _) = demo
    con = connect(db, read_only=True)
    try:
        as_of = con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
        champions = set(customer_rfm(con).query("segment == 'champions'")["customer_id"])
    finally:
        con.close()
    people = pd.read_csv(listing, dtype=str, keep_default_na=False)
    people = people[people["Customer ID"].isin(champions) & (people["Date of Birth"] != "")]

    def age(born: str) -> int:
        b = dt.date.fromisoformat(born)
        return as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))

    ages = people["Date of Birth"].map(age)
    under = int((ages < 30).sum())
    answer = _ask(db, "how many of my champions are under 30?", capsys)
    assert f"Your champions ({len(champions):,} customers" in answer
    assert f"{len(people):,} have an age in your data; {under:,} of them" in answer
    assert "are under 30" in answer
    assert f"{len(champions) - len(people):,} have no age in your data" in answer


def test_who_opens_our_emails_but_has_not_bought_in_3_months(demo, capsys):
    db, (_, activity) = demo
    con = connect(db, read_only=True)
    try:
        as_of = con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
        buyers = con.execute(
            "SELECT c.email, max(o.order_date) AS last FROM orders o JOIN customers c USING (customer_id) "
            "WHERE o.is_purchase AND c.email IS NOT NULL GROUP BY c.email"
        ).df()
    finally:
        con.close()
    events = pd.read_csv(activity, dtype=str, keep_default_na=False)
    since = pd.Timestamp(as_of - dt.timedelta(days=90))
    gone = set(events.loc[(events["Bounced"] != "") | (events["Unsubscribed"] != ""), "Email Address"])
    opened = events[(events["Opens"] != "0") & (events["Last Open"] != "")]
    recent_openers = set(opened.loc[pd.to_datetime(opened["Last Open"]) > since, "Email Address"]) - gone
    not_buying = set(buyers.loc[pd.to_datetime(buyers["last"]) <= since, "email"])
    expected = len(recent_openers & not_buying)
    assert expected > 50  # the demo has plenty of them: the check means something
    answer = _ask(db, "who opens our emails but hasn't bought in 3 months?", capsys)
    found = re.search(r"([\d,]+) customers opened an email in the last 90 days but bought nothing in them", answer)
    assert found, answer
    assert int(found.group(1).replace(",", "")) == expected


def test_the_demo_lists_keep_the_orders_as_they_were(demo):
    db, _ = demo
    con = connect(db, read_only=True)
    try:
        customers, unmatched = con.execute(
            "SELECT (SELECT count(*) FROM customers), "
            "(SELECT count(DISTINCT contact) FROM contact_attributes WHERE contact LIKE 'S%')"
        ).fetchall()[0]
    finally:
        con.close()
    assert (customers, unmatched) == (2000, 12)  # twelve sign-ups who never bought: kept, not customers
