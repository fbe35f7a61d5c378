"""The notebook way, as a baseline: read the export with pandas, groupby, score with qcut.

This is what an analyst would write for the same RFM (net of returns, purchases = orders with net > 0).
Run as a script so its process start is timed like ours: python bench/pandas_baseline.py FILE
"""

from __future__ import annotations

import sys

import pandas as pd


def main(path: str) -> None:
    lines = pd.read_csv(path, dtype={"Customer ID": "string", "Order ID": "string"}, parse_dates=["Order Date"])
    lines = lines.dropna(subset=["Customer ID"])
    lines["value"] = lines["Quantity"] * lines["Unit Price"]
    lines["day"] = lines["Order Date"].dt.normalize()
    orders = lines.groupby(["Customer ID", "Order ID"], observed=True).agg(net=("value", "sum"), day=("day", "min"))
    orders = orders.reset_index()
    as_of = orders["day"].max()
    purchases = orders[orders["net"] > 0]
    rfm = purchases.groupby("Customer ID").agg(last=("day", "max"), frequency=("net", "size"))
    rfm["monetary"] = orders.groupby("Customer ID")["net"].sum()
    rfm["recency_days"] = (as_of - rfm["last"]).dt.days
    for column, ascending in (("recency_days", False), ("frequency", True), ("monetary", True)):
        ranked = rfm[column].rank(method="first", ascending=ascending)
        rfm[column[0] + "_score"] = pd.qcut(ranked, 5, labels=[1, 2, 3, 4, 5]).astype(int)
    rfm.to_csv(sys.stdout if len(sys.argv) > 2 else "/dev/null")


if __name__ == "__main__":
    main(sys.argv[1])
