"""Who the customers of the group being viewed are (issue 19): age band, gender, interests, tags and how they
take the emails, from the customer lists and email activity imported beside the orders.

Only counts and shares are shown, never a person's attribute. The fairness rule is the analytics' own
(``segmentation.attributes.attribute_breakdown``): a group with fewer than five customers whose age, gender
or income the data has is not broken down by it, and the sentence saying so is shown in its place.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from segmentation.safety.markup import escape_markdown
from tools import charts
from ui.data import Version
from ui.render import show_chart
from ui.tables import show_table

# The attributes shown, in this order, with their titles; those the shop's lists lack are left out.
ATTRIBUTES = (
    ("age_band", "Age band"),
    ("gender", "Gender"),
    ("income_band", "Income"),
    ("interest", "Interests"),
    ("tag", "Tags"),
)
EMAIL_TITLE = "Email engagement"
NO_LISTS = (
    "Import a customer list (a Shopify or Mailchimp export, a survey with your customers' ids or emails) or "
    "your email tool's campaign activity in the sidebar to see each group's ages, genders, interests, tags "
    "and who opens your emails."
)


def render_breakdowns(
    db_path: str, version: Version, as_of: str | None, key: str, *, k: int | None = None, condition: str | None = None
) -> None:
    """The group's breakdowns (a chart and a table), or one line saying how to get them."""
    st.markdown("**Who they are, from your customer lists and email activity**")
    found = group_breakdowns(db_path, version, as_of, key, k, condition)
    if found is None:
        st.caption(NO_LISTS)
        return
    table, refused = found
    for sentence in refused:
        st.caption(f":material/lock: {escape_markdown(sentence)}")
    if table.empty:
        return
    if table["share"].notna().any():
        show_chart(charts.attribute_shares(table), "dash-group-attributes-chart")
    show_table(table, "dash-group-attributes")


@st.cache_data(show_spinner=False, max_entries=16)
def group_breakdowns(
    db_path: str,
    version: Version,
    as_of: str | None,
    key: str,
    k: int | None,
    condition: str | None,
) -> tuple[pd.DataFrame, list[str]] | None:
    """(attribute, value, customers, share rows for every attribute shown; the sentences of those refused), or
    None when the shop has no customer list and no email activity. ``condition``: a saved segment's, so that
    a segment saved again under its name with another condition is read afresh (the data version is the same)."""
    from segmentation.attributes import attribute_breakdown, available
    from segmentation.engagement import engagement_breakdown, has_activity
    from segmentation.profile import find_group
    from segmentation.store import connect_sandboxed
    from segmentation.vocabulary import AnalysisError

    with connect_sandboxed(db_path) as con:
        present = available(con)
        email = has_activity(con)
        if not email and not any(name in present for name, _ in ATTRIBUTES):
            return None
        members = find_group(con, key, as_of=as_of, k=k).members
        frames, refused = [], []
        for name, title in ATTRIBUTES:
            if name not in present:
                continue
            try:
                frames.append(attribute_breakdown(con, name, customer_ids=members, as_of=as_of).assign(attribute=title))
            except AnalysisError as exc:  # too few to break down by a sensitive attribute: said, not shown
                refused.append(str(exc))
        if email:
            frames.append(engagement_breakdown(con, members, as_of=as_of).assign(attribute=EMAIL_TITLE))
    columns = ["attribute", "value", "customers", "share"]
    table = pd.concat([f[columns] for f in frames], ignore_index=True) if frames else pd.DataFrame(columns=columns)
    table["share"] = pd.to_numeric(table["share"], errors="coerce")  # 'not in your data' has none: NaN, shown blank
    return table, refused
