"""The Streamlit front door (minimal for now): the shop's data at a glance and its RFM segments.

It renders what `segmentation` returns and computes nothing itself. The chat assistant is its own issue.
"""

from __future__ import annotations

import streamlit as st

from segmentation.rfm import SCORE_RULE, AnalysisError, customer_rfm
from segmentation.store import StoreError, connect, default_db_path

st.set_page_config(page_title="Customer segments", page_icon="🧁", layout="wide")
st.title("Customer segments")

db_path = default_db_path()
try:
    con = connect(db_path, read_only=True)
except StoreError as exc:
    st.info(f"{exc}  \nRun `make run` (it builds the demo shop) or `segments import YOUR_FILE`.")
    st.stop()

try:
    overview = con.execute(
        """
        SELECT count(DISTINCT customer_id), count(*) FILTER (is_purchase), round(sum(net_amount), 2),
               min(order_date), max(order_date)
        FROM orders
        """
    ).fetchall()[0]
    rfm = customer_rfm(con)
except AnalysisError as exc:
    st.info(str(exc))
    st.stop()
finally:
    con.close()

customers, purchases, revenue, first, last = overview
cols = st.columns(4)
cols[0].metric("Customers", f"{customers:,}")
cols[1].metric("Purchases", f"{purchases:,}")
cols[2].metric("Revenue", f"{revenue:,.2f}")
cols[3].metric("Orders from", f"{first} to {last}")

st.subheader("RFM segments")
summary = (
    rfm.groupby("segment")
    .agg(
        customers=("customer_id", "count"),
        revenue=("monetary", "sum"),
        median_recency_days=("recency_days", "median"),
    )
    .sort_values("revenue", ascending=False)
    .reset_index()
)
summary["share"] = (summary["customers"] / summary["customers"].sum()).round(3)
st.dataframe(summary, hide_index=True, width="stretch")
st.caption(f"As of {rfm.attrs['as_of']}; {SCORE_RULE}. Database: {db_path}")

with st.expander("Every customer"):
    st.dataframe(rfm, hide_index=True, width="stretch")
