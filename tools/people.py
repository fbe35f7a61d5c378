"""Who customers are and how they take the shop's emails: breakdowns by the lists' attributes (age band,
gender, tags, interests, place) and the email behaviour groups (issue 19).

Only counts and shares reach a summary: never a customer's attribute. Age, gender and income are not
broken down for a group of fewer than five customers (``segmentation.attributes``); the email groups are
about behaviour only, never narrowed by a sensitive attribute.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, tool
from tools.members import K, group_of
from tools.wording import AnyGroupKey, group_words, pct, upper_first

PeopleAttribute = Literal[
    "age_band", "gender", "income_band", "interest", "tag", "city", "region", "country", "email_consent"
]
_WORDS = {
    "age_band": "age",
    "gender": "gender",
    "income_band": "income",
    "interest": "interests",
    "tag": "tags",
    "city": "town or city",
    "region": "region",
    "country": "country",
    "email_consent": "email consent",
}
_HOW_TO = (
    "import a customer list that has it (a Shopify customers export, a Mailchimp audience export, "
    "or a survey with the customers' ids or emails)"
)


class PeopleArgs(ToolArgs):
    attribute: PeopleAttribute = Field(
        "interest", description="What to break customers down by, from the imported customer lists."
    )
    group: AnyGroupKey | None = Field(
        None, description="Only customers in this segment, stage or cluster (cluster_1...); empty: all who bought."
    )
    under_age: int | None = Field(
        None, ge=1, le=120, description="For 'how many are under 30?': count those younger than this (age only)."
    )
    as_of: str | None = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the last order.")
    k: int | None = K


class EngagementArgs(ToolArgs):
    group: Literal["engaged_not_buying", "buying_not_opening", "unreachable"] = Field(
        description="engaged_not_buying: open emails but bought nothing lately; buying_not_opening: buy but "
        "open none; unreachable: unsubscribed or bounced."
    )
    days: int = Field(90, ge=7, le=730, description="The window, in days: 'in 3 months' is 90.")
    as_of: str | None = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the last order.")


@tool(
    "customers_by_attribute",
    PeopleArgs,
    step=lambda a: (
        f"Breaking {group_words(a.get('group'))} down by {_WORDS.get(str(a.get('attribute', 'interest')), 'attribute')}"
    ),
    examples=(
        "How many of my champions are under 30?",
        "What are my lapsed customers interested in?",
        "Break my loyal customers down by age",
    ),
    cues=(
        r"\b(under|younger than) \d{2}\b(?! ?(pounds|quid|dollars|euros|gbp|usd|eur|orders?|days|weeks|months))"
        r"|\bhow old\b|\bby (age|gender|interests?|tags?|income)\b|\bage (bands?|groups?|range)\b"
        r"|\binterest(s|ed)\b|\bcare about\b|\b(what|which) tags\b|\bgender\b",
    ),
    next_step=(
        "Want to know who opens your emails but has not bought lately?",
        "who opens our emails but hasn't bought in 3 months?",
    ),
)
def customers_by_attribute(ctx: ToolContext, args: PeopleArgs) -> ToolResult:
    """Break customers (or one segment, stage or cluster) down by what the imported customer lists say of
    them: age band, gender, income band, interests, tags, town, region, country or email consent; with
    ``under_age``, how many are younger than that age. Counts and shares only; 'not in your data' when the
    lists do not have it. Age, gender and income are not broken down for groups under five customers."""
    from segmentation.attributes import NOT_IN_DATA, attribute_breakdown, available, count_under

    with ctx.read() as con:
        group = group_of(con, "customers_by_attribute", args.group, as_of=args.as_of, k=args.k) if args.group else None
        ids = group.members if group else None
        attribute = "age_band" if args.under_age else args.attribute
        words = _WORDS[attribute]
        who = group_words(args.group)
        if attribute not in available(con):
            summary = f"{upper_first(who)}: {words} is not in your data; to see it, {_HOW_TO}."
            return ToolResult(summary=summary, facts={"attribute": attribute, "in_data": False})
        table = attribute_breakdown(con, attribute, customer_ids=ids, as_of=args.as_of)
        under = (
            count_under(con, ids if ids is not None else _buyers(table, con), args.under_age, as_of=args.as_of)
            if args.under_age
            else None
        )
    known, size = table.attrs["known"], table.attrs["customers"]
    shown = table[table["value"] != NOT_IN_DATA]
    parts = "; ".join(f"{r.value}: {r.customers:,} ({pct(r.share)})" for r in shown.itertuples())
    facts = {
        "attribute": attribute,
        "group": args.group,
        "customers": size,
        "known": known,
        "in_data": True,
        "rows": shown.to_dict("records"),
    }
    lead = f"{upper_first(who)} ({size:,} customers, as of {table.attrs['as_of']})"
    if under is not None:
        _, with_age, younger = under
        facts.update(under_age=args.under_age, younger=younger, with_age=with_age)
        summary = (
            f"{lead}: {with_age:,} have an age in your data; {younger:,} of them ({pct(younger / with_age)}) "
            f"are under {args.under_age}. By age band: {parts}."
        )
    else:
        summary = f"{lead} by {words}, shares of the {known:,} whose {words} your data has: {parts}."
    if size - known:
        summary += f" {size - known:,} have no {words} in your data."
    if attribute in ("tag", "interest"):
        summary += " A customer with several counts under each."
    return ToolResult(summary=assert_no_email(summary), table=table, facts=facts)


def _buyers(table: pd.DataFrame, con) -> list[str]:
    day = table.attrs["as_of"]
    rows = con.execute(
        "SELECT DISTINCT customer_id FROM orders WHERE is_purchase AND order_date <= ? AND customer_id IS NOT NULL",
        [day],
    ).fetchall()
    return [r[0] for r in rows]


@tool(
    "email_engagement",
    EngagementArgs,
    step="Matching email activity to orders",
    examples=(
        "Who opens our emails but hasn't bought in 3 months?",
        "Who buys but never opens our emails?",
        "Who has unsubscribed or bounced?",
    ),
    cues=(
        r"\bopen\w* (our |my |the |your )?(e ?mails?|newsletters?)|\b(e ?mails?|newsletters?) .{0,20}\bopen"
        r"|\bunsubscrib\w*|\bbounc\w*|\bunreachable\b",
    ),
    next_step=("Want to draft a win-back email for your lapsed customers?", "draft a win-back email for lapsed"),
)
def email_engagement(ctx: ToolContext, args: EngagementArgs) -> ToolResult:
    """Customers by how they take the shop's emails, from imported campaign activity (Mailchimp, Klaviyo):
    who opened an email in the last ``days`` but bought nothing in them, who bought but opened none, and
    who cannot be reached (unsubscribed or bounced; campaign audiences leave them out)."""
    from segmentation.engagement import BEHAVIOUR_GROUPS, behaviour_groups, engagement_features, has_activity

    with ctx.read() as con:
        if not has_activity(con):
            return ToolResult(
                summary="Email activity is not in your data: import a campaign activity export (Mailchimp's "
                "campaign report, Klaviyo's events) to see who opens and who buys.",
                facts={"in_data": False, "group": args.group},
            )
        groups = behaviour_groups(con, as_of=args.as_of, days=args.days)
        features = engagement_features(con, as_of=args.as_of)
    members = groups[groups["group"] == args.group].drop(columns="group")
    table = (
        members.merge(
            features[["customer_id", "emails_sent", "emails_opened", "open_rate"]], on="customer_id", how="left"
        )
        .sort_values("customer_id")
        .reset_index(drop=True)
    )
    with_activity = groups.attrs["with_activity"]
    meaning = BEHAVIOUR_GROUPS[args.group].format(days=args.days)
    as_of = groups.attrs["as_of"]
    summary = (
        f"{len(table):,} customers {meaning} (as of {as_of}; {with_activity:,} customers have email "
        f"activity on record)."
    )
    if len(table) and args.group != "unreachable":
        since = (pd.Timestamp(as_of) - pd.to_datetime(table["last_purchase"])).dt.days
        summary += f" Their last order was a median {int(since.median()):,} days before."
        summary += f" Median open rate: {pct(float(table['open_rate'].median()))}."
    return ToolResult(
        summary=assert_no_email(summary),
        table=table,
        facts={
            "group": args.group,
            "days": args.days,
            "customers": len(table),
            "with_activity": with_activity,
            "as_of": as_of,
            "in_data": True,
        },
    )
