"""The demo shop's generator: deterministic, shaped like a shop export, with every customer rhythm."""

import datetime
import gzip

import pandas as pd
import pytest

from segmentation.demo.shop import customers_for_lines, generate_orders, write_demo_csv

END = datetime.date(2026, 11, 20)  # the default end
EXPECTED_COLUMNS = [
    "Order ID", "Customer ID", "Order Date", "Product", "Category", "Channel", "Quantity", "Unit Price",
    "Email", "First Name", "Last Name", "City", "Country", "Accepts Marketing",
]  # fmt: skip


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return generate_orders(customers=1000)


@pytest.fixture(scope="module")
def per_customer(shop: pd.DataFrame) -> pd.DataFrame:
    """Distinct purchase days, first and last purchase day per customer (returns and guests left out)."""
    bought = shop[(shop["Quantity"] > 0) & shop["Customer ID"].notna()]
    day = pd.to_datetime(bought["Order Date"], format="%Y-%m-%d %H:%M:%S").dt.normalize()
    return day.groupby(bought["Customer ID"]).agg(days="nunique", first="min", last="max")


def test_same_arguments_give_the_same_frame_and_another_seed_another():
    first = generate_orders(customers=300, seed=3)
    pd.testing.assert_frame_equal(first, generate_orders(customers=300, seed=3))
    assert not first.equals(generate_orders(customers=300, seed=4))


def test_columns_are_exactly_the_export_columns(shop):
    assert list(shop.columns) == EXPECTED_COLUMNS
    assert pd.api.types.is_integer_dtype(shop["Quantity"])
    assert pd.api.types.is_float_dtype(shop["Unit Price"])
    assert (shop["Unit Price"] == shop["Unit Price"].round(2)).all()
    assert set(shop["Channel"]) == {"In store", "Online"}
    assert set(shop["Accepts Marketing"]) == {"yes", "no"}


def test_ids_are_text_with_leading_zeros(shop):
    customer_ids = shop["Customer ID"].dropna()
    assert pd.api.types.is_string_dtype(customer_ids)
    assert customer_ids.str.fullmatch(r"C\d{5}").all()
    assert "C00042" in set(customer_ids)
    assert shop["Order ID"].str.fullmatch(r"CC-\d{6}(-R)?").all()
    assert "CC-000001" in set(shop["Order ID"])
    # An order id is one order: one customer (or guest), one moment.
    per_order = shop.groupby("Order ID").agg(
        customers=("Customer ID", lambda s: s.fillna("guest").nunique()), moments=("Order Date", "nunique")
    )
    assert (per_order == 1).all().all()


@pytest.mark.parametrize(
    ("years", "end"), [(2.0, END), (0.5, datetime.date(2025, 3, 31))], ids=["default", "half-year"]
)
def test_order_dates_lie_in_the_window_and_opening_hours(years, end):
    frame = generate_orders(customers=300, years=years, end=end)
    when = pd.to_datetime(frame["Order Date"], format="%Y-%m-%d %H:%M:%S")
    assert when.min() >= pd.Timestamp(end) - pd.Timedelta(days=365.25 * years)
    assert when.max() < pd.Timestamp(end) + pd.Timedelta(days=1)
    assert when.dt.hour.between(7, 17).all()


def test_guest_walk_ins_have_no_customer_id_email_or_name(shop):
    guests = shop[shop["Customer ID"].isna()]
    assert len(guests) > 0
    assert guests[["Email", "First Name", "Last Name"]].isna().all().all()
    assert (guests["Channel"] == "In store").all()
    assert shop.loc[shop["Customer ID"].notna(), ["Email", "First Name", "Last Name"]].notna().all().all()


def test_returns_are_negative_lines_of_a_later_order(shop):
    returns = shop[shop["Quantity"] < 0]
    assert len(returns) > 0
    assert returns["Order ID"].str.endswith("-R").all()
    assert (shop.loc[shop["Quantity"] >= 0, "Quantity"] > 0).all()
    original = shop[shop["Order ID"].isin(returns["Order ID"].str.removesuffix("-R"))]
    sold = original.groupby("Order ID").agg(customer=("Customer ID", "first"), when=("Order Date", "first"))
    back = returns.assign(sold_as=returns["Order ID"].str.removesuffix("-R")).join(sold, on="sold_as")
    assert (back["customer"] == back["Customer ID"]).all()
    assert (back["when"] < back["Order Date"]).all()


def test_about_seven_in_ten_customers_accept_marketing(shop):
    customers = shop.dropna(subset=["Customer ID"]).drop_duplicates("Customer ID")
    assert len(customers) == 1000
    assert 0.6 <= (customers["Accepts Marketing"] == "yes").mean() <= 0.8


def test_emails_are_unique_per_customer_and_on_example_domains(shop):
    customers = shop.dropna(subset=["Customer ID"]).drop_duplicates("Customer ID")
    assert customers["Email"].is_unique
    domain = customers["Email"].str.split("@").str[1]
    assert (domain.isin(["example.com", "example.org", "example.net"]) | domain.str.endswith(".example")).all()


def test_every_rhythm_has_customers(per_customer):
    end = pd.Timestamp(END)
    assert (per_customer["days"] == 1).sum() > 0, "one-time buyers"
    assert (per_customer["days"] >= 20).sum() > 0, "frequent buyers"
    drifted = (per_customer["days"] >= 5) & (per_customer["last"] < end - pd.Timedelta(days=180))
    assert drifted.sum() > 0, "regulars who drifted away"
    assert (per_customer["first"] > end - pd.Timedelta(days=30)).sum() > 0, "new customers"


def test_customers_for_lines_gives_about_that_many_lines():
    lines = len(generate_orders(customers=customers_for_lines(100_000)))
    assert 70_000 <= lines <= 130_000


@pytest.mark.parametrize("name", ["orders.csv", "orders.csv.gz"])
def test_demo_csv_reads_back_as_the_same_frame(tmp_path, name):
    path = write_demo_csv(tmp_path / name, customers=200, seed=5)
    if name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            assert f.readline().rstrip("\n") == ",".join(EXPECTED_COLUMNS)
    pd.testing.assert_frame_equal(pd.read_csv(path), generate_orders(customers=200, seed=5))


def test_nonsense_sizes_are_refused():
    with pytest.raises(ValueError, match="at least 1 customer"):
        generate_orders(customers=0)
