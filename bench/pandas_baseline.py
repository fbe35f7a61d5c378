"""The notebook way, as a baseline: read the export with pandas, groupby, score with qcut.

This is what an analyst would write for the same RFM (net of returns, purchases = orders with net > 0).
Run as a script so its process start is timed like ours: python bench/pandas_baseline.py FILE
"""

from __future__ import annotations

import sys

import pandas as pd

# The demo shop's column names, and UCI Online Retail's (the real file in the benchmark).
DEMO = {"customer": "Customer ID", "order": "Order ID", "date": "Order Date", "qty": "Quantity", "price": "Unit Price"}
UCI = {"customer": "CustomerID", "order": "InvoiceNo", "date": "InvoiceDate", "qty": "Quantity", "price": "UnitPrice"}


def main(path: str) -> None:
    header = pd.read_csv(path, nrows=0).columns
    c = UCI if "InvoiceNo" in header else DEMO
    lines = pd.read_csv(path, dtype={c["customer"]: "string", c["order"]: "string"}, parse_dates=[c["date"]])
    lines = lines.dropna(subset=[c["customer"]])
    lines["value"] = lines[c["qty"]] * lines[c["price"]]
    lines["day"] = lines[c["date"]].dt.normalize()
    orders = lines.groupby([c["customer"], c["order"]], observed=True).agg(net=("value", "sum"), day=("day", "min"))
    orders = orders.reset_index().rename(columns={c["customer"]: "Customer ID"})
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
