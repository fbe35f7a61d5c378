"""The demo shop: The Corner Crumb, a town bakery-café in Hebden Bridge that sells in store and online.

The demo has to exercise every analysis the assistant offers, so the customers are built from rhythms
rather than drawn at random: weekly regulars, monthly and occasional buyers, one-time buyers, regulars
who drifted away months ago and customers who joined in the last weeks. Every RFM segment and lifecycle
stage therefore has members, and the lifecycle thresholds come out in weeks, as a bakery's should.

The output is what a generic shop export looks like (one row per order line, text ids with leading
zeros, a few refunds and guest walk-ins), so the demo also goes through the same import path as a
user's file. Everything is vectorised numpy with one seeded ``Generator``: the same arguments always give
the same frame, and ten million lines take a quarter of a minute, which the scale benchmarks need.
"""

from __future__ import annotations

import datetime
import gzip
import pathlib
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

COLUMNS = (
    "Order ID", "Customer ID", "Order Date", "Product", "Category", "Channel", "Quantity", "Unit Price",
    "Email", "First Name", "Last Name", "City", "Country", "Accepts Marketing",
)  # fmt: skip

CATEGORIES = (
    "Bread", "Pastries", "Cakes", "Coffee & Drinks", "Sandwiches & Lunch", "Gluten-Free",
    "Celebration Cakes", "Gift Boxes",
)  # fmt: skip
_ALL_YEAR, _SUMMER, _EASTER, _CHRISTMAS = range(4)  # also the day "periods" products are weighted by

# (product, category index, price in GBP at `end`, popularity, season it is sold in)
_CATALOGUE = (
    ("Sourdough loaf", 0, 4.80, 5, _ALL_YEAR), ("Seeded rye", 0, 4.50, 2, _ALL_YEAR),
    ("White bloomer", 0, 3.20, 3, _ALL_YEAR), ("Wholemeal tin", 0, 3.40, 2, _ALL_YEAR),
    ("Baguette", 0, 2.40, 2, _ALL_YEAR), ("Rosemary focaccia", 0, 4.20, 1.5, _ALL_YEAR),
    ("Croissant", 1, 2.10, 5, _ALL_YEAR), ("Pain au chocolat", 1, 2.40, 4, _ALL_YEAR),
    ("Almond croissant", 1, 3.10, 2, _ALL_YEAR), ("Cinnamon bun", 1, 3.20, 3, _ALL_YEAR),
    ("Cardamom bun", 1, 3.30, 2, _ALL_YEAR), ("Eccles cake", 1, 2.60, 1, _ALL_YEAR),
    ("Mince pies (box of 6)", 1, 7.50, 6, _CHRISTMAS), ("Hot cross buns (4)", 1, 4.50, 8, _EASTER),
    ("Lemon drizzle slice", 2, 3.20, 3, _ALL_YEAR), ("Carrot cake slice", 2, 3.60, 2, _ALL_YEAR),
    ("Chocolate brownie", 2, 2.90, 3, _ALL_YEAR), ("Bakewell tart", 2, 3.10, 1.5, _ALL_YEAR),
    ("Scone with jam & cream", 2, 3.80, 2, _ALL_YEAR), ("Victoria sponge (whole)", 2, 18.00, 0.5, _ALL_YEAR),
    ("Stollen", 2, 12.50, 3, _CHRISTMAS), ("Simnel cake", 2, 24.00, 2, _EASTER),
    ("Flat white", 3, 3.40, 5, _ALL_YEAR), ("Cappuccino", 3, 3.50, 4, _ALL_YEAR),
    ("Latte", 3, 3.60, 4, _ALL_YEAR), ("Americano", 3, 3.00, 3, _ALL_YEAR),
    ("Pot of tea", 3, 2.80, 3, _ALL_YEAR), ("Hot chocolate", 3, 3.70, 2, _ALL_YEAR),
    ("Iced latte", 3, 3.90, 5, _SUMMER), ("Homemade lemonade", 3, 3.20, 4, _SUMMER),
    ("Coffee beans 250g", 3, 8.50, 0.6, _ALL_YEAR),
    ("Ham & cheese toastie", 4, 6.20, 4, _ALL_YEAR), ("Cheese & pickle sandwich", 4, 5.40, 3, _ALL_YEAR),
    ("Soup of the day with bread", 4, 6.80, 3, _ALL_YEAR), ("Quiche slice & salad", 4, 7.50, 2, _ALL_YEAR),
    ("Sausage roll", 4, 3.00, 4, _ALL_YEAR),
    ("GF seeded loaf", 5, 5.50, 3, _ALL_YEAR), ("GF brownie", 5, 3.20, 3, _ALL_YEAR),
    ("GF lemon polenta slice", 5, 3.60, 2, _ALL_YEAR), ("GF oat cookies (pack)", 5, 4.50, 2, _ALL_YEAR),
    ("Birthday cake 8in", 6, 38.00, 3, _ALL_YEAR), ("Chocolate celebration cake 6in", 6, 32.00, 2, _ALL_YEAR),
    ("Custom tiered cake", 6, 95.00, 0.4, _ALL_YEAR), ("Cupcakes (box of 12)", 6, 24.00, 2, _ALL_YEAR),
    ("Yule log", 6, 28.00, 4, _CHRISTMAS),
    ("Afternoon tea box", 7, 32.00, 3, _ALL_YEAR), ("Brownie gift box", 7, 18.00, 3, _ALL_YEAR),
    ("Bread lover's box", 7, 22.00, 2, _ALL_YEAR), ("Christmas hamper", 7, 45.00, 8, _CHRISTMAS),
    ("Easter treat box", 7, 20.00, 6, _EASTER),
)  # fmt: skip
_HOT_DRINKS = ("Flat white", "Cappuccino", "Latte", "Americano", "Pot of tea", "Hot chocolate")

# Category multipliers per channel: café drinks and lunches are not sold online; gifts mostly are.
_CHANNEL_MULT = np.array([[1, 1, 1, 1, 1, 1, 0.6, 0.3], [1.2, 0.6, 0.8, 0, 0.05, 1.2, 3, 3]])
# Category multipliers per taste: what a customer comes in for (same order as CATEGORIES).
_TASTE_MULT = np.array([
    [1, 1, 1, 1, 1, 0.4, 0.15, 0.15],  # a bit of everything
    [5, 1, 0.6, 0.6, 0.4, 0.2, 0.1, 0.15],  # bread
    [0.4, 3, 1, 4, 0.4, 0.2, 0.1, 0.1],  # coffee and a pastry
    [0.5, 0.5, 0.5, 2, 6, 0.2, 0.05, 0.05],  # lunch
    [0.1, 0.1, 0.1, 1, 0.2, 15, 0.3, 0.3],  # gluten-free
    [0.6, 0.6, 2, 0.5, 0.2, 0.4, 5, 0.8],  # celebration cakes
    [0.6, 0.6, 1, 0.4, 0.2, 0.4, 1, 6],  # gifts
])  # fmt: skip
# Quantity in a line is Geometric(p) per category: a cake is nearly always one, pastries go in twos and fours.
_QUANTITY_P = np.array([0.8, 0.55, 0.7, 0.7, 0.75, 0.7, 0.97, 0.9])

# Rhythms: share of customers, orders a day while a customer, how long (in years) one stays a customer,
# and tastes (same order as _TASTE_MULT). "drifting" regulars buy often but only for a few months.
_RHYTHMS = ("weekly", "monthly", "occasional", "one_time", "drifting")
_RHYTHM_SHARE = np.array([0.04, 0.12, 0.40, 0.36, 0.08])
_RHYTHM_RATE = np.array([1 / 8, 1 / 35, 1 / 150, 0.0, 1 / 10])
_RHYTHM_YEARS = np.array([[1, 6], [0.5, 4], [0.5, 5], [0, 0], [0.3, 1.1]])
_RHYTHM_TASTE = np.array([
    [0.30, 0.25, 0.25, 0.12, 0.08, 0.00, 0.00],  # weekly: nobody orders a birthday cake every week
    [0.35, 0.18, 0.18, 0.10, 0.08, 0.06, 0.05],  # monthly
    [0.35, 0.12, 0.15, 0.08, 0.05, 0.13, 0.12],  # occasional
    [0.40, 0.08, 0.15, 0.07, 0.03, 0.14, 0.13],  # one-time
    [0.32, 0.22, 0.22, 0.12, 0.07, 0.03, 0.02],  # drifting
])  # fmt: skip

# Busy Saturdays, quiet Sundays and Mondays; a December peak, a late-summer dip.
_WEEKDAY_W = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.5, 0.75])
_MONTH_W = np.array([0.85, 0.88, 0.95, 1.0, 1.0, 0.95, 0.9, 0.88, 1.0, 1.0, 1.05, 1.25])
# Opening hours in seconds after midnight: Mon-Sat 07:30-17:30, Sunday 09:00-15:00.
_OPEN = np.array([27000] * 6 + [32400])
_CLOSE = np.array([63000] * 6 + [54000])

# Name pools as words: as list literals, ruff format would put each name on its own line.
_FIRST = (  # noqa: SIM905
    "Olivia Amelia Isla Ava Mia Sophie Grace Lily Freya Emily Ella Poppy Charlotte Evie Ruby Chloe Hannah "
    "Priya Aisha Zara Fatima Niamh Siobhan Megan Rhiannon Eilidh Joanne Sarah Helen Claire Margaret Susan "
    "Anna Maria Julia Oliver George Harry Noah Jack Leo Arthur Oscar Charlie Thomas James William Alfie "
    "Mohammed Ali Arjun Rohan Tom Daniel Matthew Ben Sam Liam Connor Callum Owen Rhys Dylan Peter David "
    "Paul Mark Ian Andrew Stephen Gareth Tomasz Piotr Luca Marco Kwame Tunde"
).split()
_LAST = (  # noqa: SIM905
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson Evans Walker "
    "White Roberts Green Hall Thomas Clarke Jackson Wood Harris Edwards Turner Martin Cooper Hill Ward "
    "Hughes Moore Clark King Harrison Lewis Baker Lee Allen Morris Khan Scott Watson Davis Parker James "
    "Bennett Young Phillips Richardson Mitchell Bailey Carter Cook Singh Shaw Bell Collins Morgan Kelly "
    "Begum Miller Cox Hussain Marshall Simpson Price Anderson Adams Wilkinson Ali Ahmed Foster Ellis "
    "Murphy Chapman Mason Gray Richards Webb Griffiths Hunt Palmer Campbell Holmes Mills Rogers Barnes "
    "Knight Matthews Barker Powell Stevens Kaur Dawson Nowak Kowalski Okafor Mensah Rossi O'Brien "
    "McDonald Fletcher Sutcliffe Greenwood Crabtree Ackroyd Horsfall"
).split()
# (city, country, weight among local shoppers, weight among online shoppers)
_CITIES = (
    ("Hebden Bridge", "United Kingdom", 40, 8), ("Todmorden", "United Kingdom", 14, 3),
    ("Mytholmroyd", "United Kingdom", 10, 2), ("Halifax", "United Kingdom", 12, 5),
    ("Sowerby Bridge", "United Kingdom", 6, 2), ("Heptonstall", "United Kingdom", 4, 1),
    ("Burnley", "United Kingdom", 4, 3), ("Huddersfield", "United Kingdom", 3, 4),
    ("Leeds", "United Kingdom", 3, 10), ("Manchester", "United Kingdom", 3, 12),
    ("Bradford", "United Kingdom", 1, 4), ("York", "United Kingdom", 0, 4),
    ("London", "United Kingdom", 0, 14),
    ("Sheffield", "United Kingdom", 0, 4), ("Liverpool", "United Kingdom", 0, 3),
    ("Birmingham", "United Kingdom", 0, 4), ("Bristol", "United Kingdom", 0, 3),
    ("Edinburgh", "United Kingdom", 0, 3), ("Glasgow", "United Kingdom", 0, 2),
    ("Cardiff", "United Kingdom", 0, 2), ("Belfast", "United Kingdom", 0, 1), ("Dublin", "Ireland", 0, 1),
)  # fmt: skip
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "post.example")

# Order lines per customer by years of history, measured on the default mix (100,000 customers); not
# proportional to years because relationships end. customers_for_lines interpolates it.
_LINES_PER_CUSTOMER = ((0.1, 2.6), (0.25, 3.9), (0.5, 5.8), (1, 8.7), (1.5, 10.8), (2, 12.4), (3, 14.9),
                       (5, 18.0), (8, 20.5))  # fmt: skip


def generate_orders(
    *,
    customers: int = 2000,
    years: float = 2.0,
    end: datetime.date = datetime.date(2026, 11, 20),
    seed: int = 7,
) -> pd.DataFrame:
    """Order lines of the demo shop: ``customers`` customers over the ``years`` up to ``end`` (inclusive).

    One row per product line of an order, with the columns in ``COLUMNS``; ids, dates and names are
    text as in a real export. Returns are separate orders ("CC-000500-R") with negative quantities;
    guest walk-ins have no customer id, email or name. Deterministic for given arguments.
    """
    if customers < 1 or years < 0.1:
        raise ValueError("generate_orders needs at least 1 customer and 0.1 years of history")
    rng = np.random.default_rng(seed)
    n_days = int(years * 365.25)
    days = np.arange(np.datetime64(end, "D") - (n_days - 1), np.datetime64(end, "D") + 1)
    cal = _calendar(days)
    cust = _customers(rng, customers, n_days)
    orders = _orders(rng, cust, cal)
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    lines = _lines(rng, orders, cal, price_mult=1.045 ** (year - end.year))  # prices rise each January
    return _frame(cust, orders, lines, start=days[0].astype("datetime64[s]"))


def customers_for_lines(lines: int, *, years: float = 2.0) -> int:
    """How many customers make about ``lines`` order lines, so benchmarks can ask for a size in lines."""
    known_years, known_lines = zip(*_LINES_PER_CUSTOMER, strict=True)
    per_customer = np.interp(years, known_years, known_lines)
    return max(1, round(lines / per_customer))


def write_demo_csv(path: str | pathlib.Path, **kwargs: Any) -> pathlib.Path:
    """Write ``generate_orders(**kwargs)`` as a UTF-8 CSV (gzip when the name ends in .gz); return the path.

    Arrow's writer is used because it is about ten times faster than ``DataFrame.to_csv``, which matters
    for the 10-million line benchmark files. Nothing is quoted, as in most shop exports: no demo
    value holds a comma, quote or line break (Arrow would refuse to write one rather than corrupt it).
    The gzip header carries no time or name, so the same arguments give the same bytes.
    """
    path = pathlib.Path(path)
    table = pa.Table.from_pandas(generate_orders(**kwargs), preserve_index=False)
    options = pa_csv.WriteOptions(quoting_style="none", include_header=False)  # Arrow quotes headers
    gz = path.suffix == ".gz"
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) if gz else raw as sink,
    ):
        sink.write((",".join(COLUMNS) + "\n").encode())
        pa_csv.write_csv(table, sink, options)
    return path


def _orders(rng: np.random.Generator, cust: dict, cal: dict) -> dict[str, np.ndarray]:
    """Orders in time order (their numbering), guests' with owner -1.

    A Poisson count per customer over its active window, placed by inverting the cumulative day weights
    inside that window, so seasonality and weekdays shape every customer alike.
    """
    cum_w, day_w = np.concatenate([[0.0], np.cumsum(cal["weight"])]), cal["weight"]
    w_start, w_stop = cum_w[cust["start"]], cum_w[cust["stop"] + 1]
    count = np.maximum(rng.poisson(cust["rate"] * (w_stop - w_start)), 1)  # one-time buyers have rate 0
    owner = np.repeat(np.arange(cust["rate"].size), count)
    target = w_start[owner] + rng.random(owner.size) * (w_stop - w_start)[owner]
    first, last = cust["start"][owner], cust["stop"][owner]
    # A window of closed days only (Christmas at the edge of the history) moves to the nearest open day.
    day = cal["open_day"][np.clip(np.searchsorted(cum_w, target, side="right") - 1, first, last)]
    # Regulars keep to a favourite weekday (the Saturday sourdough) most weeks.
    moved = day - cal["weekday"][day] + cust["weekday"][owner]
    ok = (moved >= first) & (moved <= last) & (rng.random(owner.size) < 0.6)
    ok &= np.isin(cust["rhythm"][owner], [_RHYTHMS.index(r) for r in ("weekly", "monthly", "drifting")])
    ok[ok] &= day_w[moved[ok]] > 0
    day = np.where(ok, moved, day)
    online = rng.random(owner.size) < cust["online"][owner]
    # A few guest walk-ins without an account, in store, any day.
    n_guest = max(3, owner.size // 200)
    guest_day = np.searchsorted(cum_w, rng.random(n_guest) * cum_w[-1], side="right") - 1
    owner = np.concatenate([owner, np.full(n_guest, -1)])
    day = np.concatenate([day, guest_day])
    online = np.concatenate([online, np.zeros(n_guest, bool)])
    stamp = day * 86400 + _time_of_day(rng, cal, day, online)
    order = np.argsort(stamp, kind="stable")  # order numbers follow time, as a till's do
    taste = np.append(cust["taste"], 0)[owner]  # guests buy like anyone
    return {
        "owner": owner[order],
        "day": day[order],
        "stamp": stamp[order],
        "online": online[order],
        "taste": taste[order],
    }


def _lines(rng: np.random.Generator, orders: dict, cal: dict, price_mult: np.ndarray) -> dict[str, np.ndarray]:
    """Order lines in time order, returns included; ``slot`` indexes orders, then return orders."""
    owner, day, online = orders["owner"], orders["day"], orders["online"]
    n_orders = owner.size
    # 1-4 products per order (online baskets run bigger), drawn by taste, channel and season.
    n_lines = 1 + (online & (rng.random(n_orders) < 0.5))
    n_lines += _choose(rng, np.array([[0.5, 0.3, 0.14, 0.06]]), np.zeros(n_orders))
    line_order = np.repeat(np.arange(n_orders), np.minimum(n_lines, 4))
    combo = (orders["taste"][line_order].astype(np.int64) * 2 + online[line_order]) * 4
    combo += cal["period"][day[line_order]]
    n_prod = len(_CATALOGUE)
    key = np.sort(line_order * n_prod + _choose(rng, _product_weights(), combo))
    key = key[np.r_[True, key[1:] != key[:-1]]]  # one line per product per order
    line_order, product = key // n_prod, key % n_prod
    category = np.array([c[1] for c in _CATALOGUE])[product]
    qty = np.minimum(rng.geometric(_QUANTITY_P[category]), 6)
    base_price = np.array([c[2] for c in _CATALOGUE])
    price = np.round(np.round(base_price[product] * price_mult[day[line_order]] * 20) / 20, 2)

    # Returns: about 1 line in 200 (never a drink drunk in the café) comes back within a week as its own
    # order; one return order per original order, on a day the shop is open.
    ret = np.isin(category, (0, 2, 5, 6, 7)) & (owner[line_order] >= 0)
    ret = np.flatnonzero(ret & (rng.random(line_order.size) < 0.005))
    ret_orders = np.unique(line_order[ret])
    ret_day = np.minimum(day[ret_orders] + rng.integers(1, 8, ret_orders.size), cal["weight"].size - 1)
    ret_day = np.where(cal["weight"][ret_day] > 0, ret_day, day[ret_orders])
    ret_stamp = ret_day * 86400 + _time_of_day(rng, cal, ret_day, online[ret_orders])
    ret_slot = np.searchsorted(ret_orders, line_order[ret])
    by_time = np.lexsort((ret_slot, ret_stamp[ret_slot]))
    ret, ret_slot = ret[by_time], ret_slot[by_time]
    # Insert each return line before the first order placed after it: no sort of all the lines.
    after = np.searchsorted(orders["stamp"], ret_stamp[ret_slot], side="right")
    at = np.searchsorted(line_order, after)
    return {
        "slot": np.insert(line_order, at, n_orders + ret_slot),
        "product": np.insert(product, at, product[ret]),
        "qty": np.insert(qty, at, -rng.integers(1, qty[ret] + 1)),
        "price": np.insert(price, at, price[ret]),
        "ret_orders": ret_orders,
        "ret_stamp": ret_stamp,
    }


def _frame(cust: dict, orders: dict, lines: dict, start: np.datetime64) -> pd.DataFrame:
    """The export itself: text gathered by Arrow from per-order and per-customer arrays."""
    owner, ret_orders, slot = orders["owner"], lines["ret_orders"], lines["slot"]
    n_orders, n_cust = owner.size, cust["start"].size
    first_seen = np.full(n_cust, n_orders)
    np.minimum.at(first_seen, owner[owner >= 0], np.flatnonzero(owner >= 0))  # everyone has an order
    rank = np.empty(n_cust, np.int64)
    rank[np.argsort(first_seen, kind="stable")] = np.arange(1, n_cust + 1)  # account numbers by sign-up
    customer_ids = pa.concat_arrays([_ids("C", rank, 5), pa.nulls(1, pa.string())])
    order_ids = _ids("CC-", np.arange(1, n_orders + 1), 6)
    order_ids = pa.concat_arrays([order_ids, pc.binary_join_element_wise(order_ids.take(ret_orders), "-R", "")])
    stamps = np.concatenate([orders["stamp"], lines["ret_stamp"]]) + start
    order_dates = pc.cast(pa.array(stamps), pa.string())  # 'YYYY-MM-DD HH:MM:SS'
    who = np.concatenate([owner, owner[ret_orders]])[slot]
    who[who < 0] = n_cust  # guests take the customers' extra last row
    online = np.concatenate([orders["online"], orders["online"][ret_orders]])[slot]
    home = cust["home"][who]
    columns = {
        "Order ID": _gather(order_ids, slot),
        "Customer ID": _gather(customer_ids, who),
        "Order Date": _gather(order_dates, slot),
        "Product": _gather([c[0] for c in _CATALOGUE], lines["product"]),
        "Category": _gather([CATEGORIES[c[1]] for c in _CATALOGUE], lines["product"]),
        "Channel": _gather(["In store", "Online"], online),
        "Quantity": pa.array(lines["qty"].astype(np.int64)),
        "Unit Price": pa.array(lines["price"]),
        "Email": _gather(cust["email"], who),
        "First Name": _gather([*_FIRST, None], cust["first"][who]),
        "Last Name": _gather([*_LAST, None], cust["last"][who]),
        "City": _gather([*(c[0] for c in _CITIES), None], home),
        "Country": _gather([*(c[1] for c in _CITIES), None], home),
        "Accepts Marketing": _gather(["no", "yes"], cust["consent"][who]),
    }
    return pa.table(columns).to_pandas()


def _calendar(days: np.ndarray) -> dict[str, np.ndarray]:
    """Per day: relative footfall (mean 1, 0 when closed), product period, weekday (Monday 0), open day."""
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    mday = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    weight = _WEEKDAY_W[weekday] * _MONTH_W[month]
    period = np.where((month >= 5) & (month <= 7), _SUMMER, _ALL_YEAR)
    period = np.where((month == 11) | ((month == 10) & (mday >= 15)), _CHRISTMAS, period)
    weight *= np.where((month == 11) & (mday >= 14) & (mday <= 24), 1.4, 1.0)
    for year in range(days[0].item().year, days[-1].item().year + 1):
        easter = np.datetime64(_easter(year))
        period = np.where((days >= easter - 28) & (days <= easter + 1), _EASTER, period)
        weight *= np.where((days >= easter - 13) & (days <= easter), 1.15, 1.0)  # the run-up to Easter
        weight *= np.where((days >= easter - 2) & (days <= easter - 1), 1.5, 1.0)  # Good Friday, Saturday
    weight *= ~((month == 11) & ((mday == 25) | (mday == 26)) | ((month == 0) & (mday == 1)))
    # For each day, itself if open, else the last open day before it (the first after, at the start).
    open_day = np.maximum.accumulate(np.where(weight > 0, np.arange(days.size), -1))
    open_day = np.where(open_day >= 0, open_day, np.argmax(weight > 0))
    return {"weight": weight / weight.mean(), "period": period, "weekday": weekday, "open_day": open_day}


def _easter(year: int) -> datetime.date:
    """Easter Sunday (anonymous Gregorian computus): the spring peak moves between March and April."""
    a, b, c = year % 19, year // 100, year % 100
    h = (19 * a + b - b // 4 - (b - (b + 8) // 25 + 1) // 3 + 15) % 30
    k = (32 + 2 * (b % 4) + 2 * (c // 4) - h - c % 4) % 7
    m = (a + 11 * h + 22 * k) // 451
    return datetime.date(year, (h + k - 7 * m + 114) // 31, (h + k - 7 * m + 114) % 31 + 1)


def _customers(rng: np.random.Generator, n: int, n_days: int) -> dict:
    """Per-customer rhythm, active window, rate, taste, channel mix and (as Arrow text) details."""
    rhythm = _choose(rng, _RHYTHM_SHARE[None, :], np.zeros(n))
    # A steady shop, not one opening on the first day of the history: each customer's relationship
    # lasts `span` days and began uniformly in (-span, n_days), so at every day the same share of each
    # rhythm is active. Some relationships began before the history (already regulars), some end well
    # before `end` (drifted away, lapsed), some begin in its last weeks (new), in the proportions a
    # shop with steady footfall would see.
    low, high = _RHYTHM_YEARS[rhythm].T * 365.25
    span = rng.uniform(low, high)
    began = rng.uniform(-span, n_days)
    start = np.maximum(began, 0).astype(np.int64)
    stop = np.minimum(began + span, n_days - 1).astype(np.int64)
    once = span == 0  # one-time buyers: their one day is drawn like anyone's, from the whole history
    start, stop = np.where(once, 0, start), np.where(once, n_days - 1, stop)
    taste = _choose(rng, _RHYTHM_TASTE, rhythm).astype(np.int8)
    mix = rng.random(n)  # most never order online, some split, a few order almost only online
    online = np.select([mix < 0.6, mix < 0.85], [np.full(n, 0.02), rng.uniform(0.25, 0.6, n)], 0.85)
    online = np.where(taste >= 5, np.maximum(online, 0.4), online)  # cakes and gifts are ordered online

    first, last = rng.integers(len(_FIRST), size=n), rng.integers(len(_LAST), size=n)
    fl = pc.utf8_lower(pa.array(_FIRST).take(first))
    sl = pc.replace_substring(pc.utf8_lower(pa.array(_LAST).take(last)), "'", "")
    nn = pc.cast(pa.array(rng.integers(10, 100, n)), pa.string())
    local = pc.choose(
        pa.array(rng.choice(6, n, p=[0.4, 0.15, 0.15, 0.15, 0.05, 0.1]).astype(np.int8)),
        pc.binary_join_element_wise(fl, sl, "."), pc.binary_join_element_wise(fl, sl, ""),
        pc.binary_join_element_wise(pc.utf8_slice_codeunits(fl, 0, 1), sl, "."),
        pc.binary_join_element_wise(fl, sl, nn, ""), pc.binary_join_element_wise(fl, sl, "_"),
        pc.binary_join_element_wise(sl, fl, "."),
    )  # fmt: skip
    domain = pa.array(_DOMAINS).take(rng.choice(len(_DOMAINS), n, p=[0.4, 0.25, 0.15, 0.1, 0.1]))
    email = pc.binary_join_element_wise(local, domain, "@")
    # Namesakes get ".<n>" (no other address ends its local part in a dot and digits): all unique.
    dup = pa.array(pd.Series(email).duplicated(keep="first").to_numpy())
    number = pc.cast(pa.array(np.arange(1, n + 1)), pa.string())
    email = pc.if_else(dup, pc.binary_join_element_wise(local, ".", number, "@", domain, ""), email)
    home = _choose(rng, np.array([[c[2] for c in _CITIES], [c[3] for c in _CITIES]], float), online > 0.1)
    consent = rng.random(n) < np.where(online > 0.1, 0.78, 0.64)
    return {  # text as codes into small tables, with an extra last row (missing, "no") for guests
        "rhythm": rhythm, "start": start, "stop": stop, "taste": taste, "online": online,
        "rate": _RHYTHM_RATE[rhythm] * rng.lognormal(0, 0.35, n),
        "weekday": _choose(rng, np.array([[0.1, 0.1, 0.12, 0.12, 0.16, 0.3, 0.1]]), np.zeros(n)),
        "first": np.append(first, len(_FIRST)), "last": np.append(last, len(_LAST)),
        "home": np.append(home, len(_CITIES)), "consent": np.append(consent, False),
        "email": pa.concat_arrays([email, pa.nulls(1, email.type)]),
    }  # fmt: skip


def _product_weights() -> np.ndarray:
    """Product weights, one row per (taste, channel, period) combination, in that nesting order."""
    cat = np.array([c[1] for c in _CATALOGUE])
    base = np.array([c[3] for c in _CATALOGUE], float)
    season = np.array([c[4] for c in _CATALOGUE])
    hot = np.isin([c[0] for c in _CATALOGUE], _HOT_DRINKS)
    channel = _CHANNEL_MULT[:, cat]
    channel[1, [c[0] for c in _CATALOGUE].index("Coffee beans 250g")] = 1.5
    periods = np.arange(4)[:, None]
    in_season = ((season == _ALL_YEAR) | (season == periods)) * np.where(hot & (periods == _SUMMER), 0.55, 1)
    w = _TASTE_MULT[:, None, None, cat] * channel[None, :, None, :] * (base * in_season)[None, None]
    w = w.reshape(-1, len(_CATALOGUE))
    return w / w.sum(axis=1, keepdims=True)


def _choose(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one category per element, element i from the distribution in row ``rows[i]`` of ``probs``.

    One searchsorted over all rows' cumulative sums (row r shifted to [r, r+1)), instead of a loop.
    """
    probs = probs / probs.sum(axis=1, keepdims=True)
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    rows = np.asarray(rows, np.int64)
    flat = (cdf + np.arange(len(probs))[:, None]).ravel()
    idx = np.searchsorted(flat, rows + rng.random(rows.size), side="right") - rows * probs.shape[1]
    return np.minimum(idx, probs.shape[1] - 1)


def _time_of_day(rng: np.random.Generator, cal: dict, day: np.ndarray, online: np.ndarray) -> np.ndarray:
    """Seconds after midnight within opening hours: in store peaks at breakfast and lunch."""
    weekday = cal["weekday"][day]
    opens, closes = _OPEN[weekday], _CLOSE[weekday]
    kind = np.where(online, 2, _choose(rng, np.array([[0.35, 0.25, 0.4]]), np.zeros(day.size)))
    breakfast = opens + np.abs(rng.normal(3600, 2200, day.size))
    peak = np.where(kind == 0, breakfast, rng.normal(45900, 2200, day.size))  # lunch at 12:45
    uniform = opens + rng.random(day.size) * (closes - opens)
    return np.clip(np.where(kind == 2, uniform, peak), opens, closes - 1).astype(np.int64)


def _gather(values: pa.Array | list[str | None], index: np.ndarray) -> pa.Array:
    """``values[index]`` as Arrow large strings: the storage of pandas' "str" dtype, so no conversion later.

    The index goes in as int32, with which Arrow's take is several times faster than with int64.
    """
    values = values if isinstance(values, pa.Array) else pa.array(values)
    return values.cast(pa.large_string()).take(pa.array(index.astype(np.int32)))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Text ids with leading zeros ("C00042"), wide enough for the largest number."""
    width = max(width, len(str(int(numbers.max()))) if numbers.size else width)
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")
