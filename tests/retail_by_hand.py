"""Online Retail's orders netted of their cancellations, written independently of the importer's SQL.

The rule of DESIGN.md (Revenue) as an analyst would write it: one cancellation line at a time, in time
order (file order at equal times), a plain loop over Python lists. A cancellation undoes, for the same
customer and product, the latest earlier line with exactly its units still to undo; failing that, the
latest earlier lines with units left, latest first, never more than a line has; what is left over stays
on the cancellation's own invoice.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd


def read_lines(path: Path) -> pd.DataFrame:
    """The customers' lines, with their value and their position in the file."""
    lines = pd.read_csv(path, dtype={"CustomerID": str, "InvoiceNo": str}, parse_dates=["InvoiceDate"])
    lines["position"] = np.arange(len(lines))
    lines = lines.dropna(subset=["CustomerID"]).copy()
    lines["value"] = lines["Quantity"] * lines["UnitPrice"]
    lines["Description"] = lines["Description"].str.strip()  # the importer trims cells
    return lines


def netted_orders(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per (CustomerID, InvoiceNo): day (its first line's), gross (its own lines) and net (after
    cancellations moved onto the orders they undo)."""
    is_cancel = lines["InvoiceNo"].str.startswith("C")
    in_time = ["InvoiceDate", "position"]
    buys = lines[~is_cancel & (lines["Quantity"] > 0)].sort_values(in_time)
    cancels = lines[is_cancel].sort_values(in_time)
    bought: dict[tuple, list[list]] = defaultdict(list)  # (customer, product) -> [when, invoice, units left]
    for customer, product, when, invoice, units in zip(
        buys["CustomerID"],
        buys["Description"],
        buys["InvoiceDate"],
        buys["InvoiceNo"],
        buys["Quantity"],
        strict=True,
    ):
        bought[(customer, product)].append([when, invoice, float(units)])
    moved: list[tuple[str, str, float]] = []
    for customer, product, when, invoice, quantity, value in zip(
        cancels["CustomerID"],
        cancels["Description"],
        cancels["InvoiceDate"],
        cancels["InvoiceNo"],
        cancels["Quantity"],
        cancels["value"],
        strict=True,
    ):
        need = -float(quantity)
        earlier = [line for line in reversed(bought.get((customer, product), [])) if line[0] <= when]
        exact = next((line for line in earlier if line[2] == need), None)
        takes = []
        if exact is not None:
            takes, exact[2] = [(exact, need)], 0.0
        else:
            left = need
            for line in earlier:
                if left <= 0:
                    break
                take = min(line[2], left)
                if take > 0:
                    line[2] -= take
                    left -= take
                    takes.append((line, take))
        for line, units in takes:
            share = value * units / need
            moved += [(customer, line[1], share), (customer, invoice, -share)]
    orders = lines.groupby(["CustomerID", "InvoiceNo"]).agg(
        day=("InvoiceDate", lambda s: s.min().normalize()), gross=("value", "sum")
    )
    delta = pd.DataFrame(moved, columns=["CustomerID", "InvoiceNo", "delta"]).groupby(["CustomerID", "InvoiceNo"])
    orders["net"] = orders["gross"].add(delta["delta"].sum(), fill_value=0.0)
    return orders.reset_index()
