"""Tools over RFM segments and lifecycle stages: the segment table, who is in a group, what it is like."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from segmentation.customers import customer_table
from segmentation.lifecycle import Thresholds, lifecycle_thresholds
from segmentation.outreach.persona import days
from segmentation.profile import Group
from segmentation.rfm import SCORE_RULE
from segmentation.vocabulary import SEGMENT_KEYS, STAGES
from tools.base import (
    Later,
    ToolArgs,
    ToolArgsError,
    ToolContext,
    ToolResult,
    assert_no_email,
    csv_download,
    draw,
    tool,
)
from tools.fairness import narrowed_words, narrowing
from tools.members import K, group_of
from tools.wording import (
    GROUP_KEYS,
    GroupOrSavedKey,
    cluster_rule,
    cluster_title,
    file_stem,
    group_rule,
    group_words,
    label,
    money,
    pct,
    plural,
    saved_words,
    upper_first,
)

AS_OF = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the day of the last order.")
PERSON_COLUMNS = ["first_name", "last_name", "email", "city", "marketing_consent"]


class AsOfArgs(ToolArgs):
    as_of: str | None = AS_OF


class ListArgs(ToolArgs):
    group: GroupOrSavedKey | None = Field(
        None,
        description="An RFM segment or lifecycle stage, e.g. 'lapsed' or 'champions', a cluster key (cluster_1...), "
        "or the name of a segment the owner saved; empty: every customer who has bought (narrowed by where, e.g. "
        "everyone in two towns who spent over 100).",
    )
    sort_by: Literal["value", "recency", "clv"] = Field(
        "value", description="Order of the list: most spent, most recent, or highest predicted value."
    )
    limit: int = Field(50, ge=1, le=1000, description="How many customers to show in the table.")
    where: str | None = Field(
        None,
        max_length=1000,
        description="Only the group's customers for whom this condition holds, in the condition language (the "
        "one save_segment takes), e.g. 'tag = vegan', 'open_rate > 0', 'interest in (vegan, gluten-free)', "
        "'engagement = engaged_not_buying'. Narrow by age, gender or income only when the owner asks for it.",
    )
    as_of: str | None = AS_OF
    k: int | None = K


class GroupArgs(ToolArgs):
    group: GroupOrSavedKey = Field(
        description="An RFM segment, a lifecycle stage, a cluster key (cluster_1...), or the name of a segment the "
        "owner saved."
    )
    as_of: str | None = AS_OF
    k: int | None = K


def group_summary_table(frame: pd.DataFrame, column: str, order: tuple[str, ...]) -> pd.DataFrame:
    """Customers, shares and revenue per segment or stage, in a fixed order."""
    table = frame.groupby(column).agg(
        customers=("customer_id", "count"),
        revenue=("monetary", "sum"),
        median_recency_days=("recency_days", "median"),
        median_frequency=("frequency", "median"),
    )
    table = table.reindex(list(order)).fillna({"customers": 0, "revenue": 0.0}).reset_index()
    table["customers"] = table["customers"].astype(int)
    table["share"] = (table["customers"] / max(len(frame), 1)).round(4)
    total = frame["monetary"].sum()
    table["revenue_share"] = (table["revenue"] / total).round(4) if total else 0.0
    table["revenue"] = table["revenue"].round(2)
    return table


def shop_thresholds(con, as_of: str | None) -> dict:
    """The shop's lifecycle thresholds at ``as_of`` (``Thresholds.as_dict()``): the memoised customer table
    carries them; without one they are learned from the orders (one pass)."""
    from segmentation.customers import known_table

    table = known_table(con, as_of, [])  # no columns: the attrs are what is wanted
    return table.attrs["thresholds"] if table is not None else lifecycle_thresholds(con, as_of=as_of).as_dict()


@tool(
    "compute_rfm",
    AsOfArgs,
    step="Scoring customers on recency, frequency and spend",
    done="{n} customers scored",
    chart="segment_bars",
    examples=("Show me my RFM segments",),
    cues=(r"rfm|segments|segmentation",),
    next_step=('Ask about any segment, e.g. "who are my at-risk customers?" or "tell me about my champions".', None),
)
def compute_rfm(ctx: ToolContext, args: AsOfArgs) -> ToolResult:
    """Score every customer on recency, frequency and monetary value (1-5) and group them into the ten
    RFM segments (champions, loyal, at_risk, hibernating, ...). Returns the size and revenue of each
    segment. Use it for 'split my customers into groups' or 'show me my segments'."""
    with ctx.read() as con:
        frame = customer_table(con, as_of=args.as_of)
    table = group_summary_table(frame, "segment", SEGMENT_KEYS)
    top = table.sort_values("revenue", ascending=False).iloc[0]
    biggest = table.sort_values("customers", ascending=False).iloc[0]
    summary = (
        f"{len(frame):,} customers scored as of {frame.attrs['as_of']} ({SCORE_RULE}). "
        f"Largest segment: {label(biggest['segment'])} ({biggest['customers']:,}, {pct(biggest['share'])}). "
        f"Most revenue: {label(top['segment'])} ({pct(top['revenue_share'])} of revenue). "
        + "; ".join(f"{label(r.segment)} {r.customers:,}" for r in table.itertuples())
        + "."
    )
    return ToolResult(
        summary=assert_no_email(summary),
        table=table,
        chart=draw(ctx, "segment_bars", table),
        facts={"customers": len(frame), "as_of": frame.attrs["as_of"], "segments": table.to_dict("records")},
    )


@tool(
    "list_customers",
    ListArgs,
    step=lambda a: f"Finding {group_words(a.get('group'))}",
    done="{n} found",
    chart="segment_bars",
    examples=("Who are my lapsed customers?", "Which customers are slipping away?", "Who are my best customers?"),
    cues=(r"who|list|show|how many|export|download",),
    next_step=("Want an email draft for them?", "draft them an email"),
)
def list_customers(ctx: ToolContext, args: ListArgs) -> ToolResult:
    """List the customers in one RFM segment, lifecycle stage or cluster (e.g. lapsed, at_risk, champions,
    cluster_2), with how many there are, the revenue at stake and the rule that defines the group; with
    ``where``, only those of them a condition holds for ("lapsed customers tagged vegan": group lapsed, where
    'tag = vegan'). Without a group, every customer who has bought, narrowed by ``where`` ("everyone in Halifax
    or Todmorden who spent over 100": where 'city in (Halifax, Todmorden) and monetary > 100'). The list itself
    goes to the person as a table and a CSV download; you get the counts."""
    where, sensitive = narrowing(ctx, "list_customers", args.where) if args.where else (None, [])
    with ctx.read() as con:
        frame = customer_table(con, as_of=args.as_of)
        group = (
            group_of(con, "list_customers", args.group, as_of=frame.attrs["as_of"], k=args.k, table=frame)
            if args.group
            else Group("customers", [])  # everyone who bought: the whole table, narrowed below by where
        )
        members = frame[group.selects(frame["customer_id"])] if args.group else frame
        if where:
            members = members[members["customer_id"].isin(_matching(con, where, frame))]
        people = _people(con, members[["customer_id"]])
        consent_recorded = con.execute("SELECT count(marketing_consent) FROM customers").fetchall()[0][0] > 0
    thresholds = Thresholds(**frame.attrs["thresholds"])
    order = {"value": ("monetary", False), "recency": ("recency_days", True), "clv": ("clv", False)}[args.sort_by]
    listed = _listed(members, people, *order)
    members = listed  # from here on the group in the list's order (sums add up in the same order every time)
    n, spent, total = len(members), members["monetary"].sum(), frame["monetary"].sum()
    choices = listed["marketing_consent"].dropna().astype(bool)
    # None, not 0, when the file records no consent at all: "0 agreed" would be a fact the data does not hold.
    consented = int(choices.sum()) if consent_recorded else None
    rule = (
        cluster_rule(group.k)
        if group.is_cluster and group.k is not None  # a cluster always has its k
        else f"your saved condition: {group.condition}"
        if group.is_saved
        else group_rule(args.group, thresholds)
        if args.group
        else None  # everyone who has bought: the condition is the whole rule
    )
    are = (
        f"are in {cluster_title(group.key, group.name)}"
        if group.is_cluster
        else f"are in {saved_words(group.key)}"
        if group.is_saved
        else _are(args.group)
        if args.group
        else "have bought"
    )
    if where:
        are += f" and match {where}"
    if n:
        summary = (
            f"{n:,} customers {are} as of {frame.attrs['as_of']}{f' ({rule})' if rule else ''}. "
            f"Together they have spent {money(spent)} ({pct(spent / total if total else 0)} of revenue); "
            f"median last order {members['recency_days'].median():.0f} days ago, median "
            f"{plural(int(members['frequency'].median()), 'order')}. {_consent_words(consented, len(choices), n)}"
        )
        clv = members["clv"].sum()
        if members["clv"].notna().any():
            summary += f" Predicted value over the next 90 days: {money(clv)}."
    else:
        summary = f"No customers {are} as of {frame.attrs['as_of']}{f' ({rule})' if rule else ''}."
    if sensitive:
        summary += " " + narrowed_words(sensitive)
    # The chart's table is work too: made with the chart, when it is drawn (never, on the command line).
    if args.group in STAGES:
        chart = draw(
            ctx, "lifecycle_bars", Later(group_summary_table, frame, "lifecycle", STAGES), frame.attrs["thresholds"]
        )
    elif group.is_cluster or group.is_saved or where:  # the group's own mix of RFM segments
        chart = draw(ctx, "segment_bars", Later(group_summary_table, members, "segment", SEGMENT_KEYS))
    else:
        chart = draw(ctx, "segment_bars", Later(group_summary_table, frame, "segment", SEGMENT_KEYS))
    return ToolResult(
        summary=assert_no_email(summary),
        table=listed.head(args.limit),
        chart=chart,
        downloads=csv_download(ctx, f"{file_stem(group.key)}_customers.csv" if args.group else "customers.csv", listed),
        facts={
            "group": group.key if args.group else None,
            "count": n,
            "revenue": round(float(spent), 2),
            "rule": rule,
            "consented": consented,
            "as_of": frame.attrs["as_of"],
            **_cluster_facts(group),
            **({"condition": group.condition} if group.is_saved else {}),
            **({"where": where, "narrowed_by": sensitive} if where else {}),
        },
    )


def _matching(con, where: str, frame: pd.DataFrame) -> list[str]:
    """The customers the condition holds for at the table's date; one the data cannot evaluate (an attribute the
    lists do not have) is a ToolArgsError naming the choices."""
    from segmentation.custom.conditions import ConditionError
    from segmentation.custom.saved import matching_ids

    try:
        return matching_ids(con, where, as_of=frame.attrs["as_of"], table=frame)
    except ConditionError as exc:
        raise ToolArgsError(f"list_customers: {exc}") from exc


LISTED_COLUMNS = [
    "customer_id",
    *PERSON_COLUMNS[:4],
    "segment",
    "lifecycle",
    "recency_days",
    "frequency",
    "monetary",
    "clv",
    "p_alive",
    "next_order_date",
    "marketing_consent",
]


def _people(con, ids: pd.DataFrame) -> pd.DataFrame:
    """``customer_id`` and ``PERSON_COLUMNS`` of the customers in ``ids``, in customer_id order.

    Only the group's own details: every customer's would be 800,000 rows of text in a big shop. Read through
    Arrow, a third of the time ``.df()`` takes on 50,000 rows of names and emails, with ``.df()``'s types: a
    consent column with gaps is pandas' nullable boolean, a column without a single value holds None objects
    (an empty answer is read with ``.df()`` itself).
    """
    sql = (
        f"SELECT customer_id, {', '.join(PERSON_COLUMNS)} FROM customers "
        "WHERE customer_id IN (SELECT customer_id FROM members) ORDER BY customer_id"
    )
    con.register("members", ids)
    try:
        table = con.sql(sql).to_arrow_table()
        if not table.num_rows:
            return con.execute(sql).df()
    finally:
        con.unregister("members")
    people = table.to_pandas()
    for column in people.columns:
        nulls = table.column(column).null_count
        if column == "marketing_consent" and nulls:
            people[column] = people[column].astype("boolean")
        elif nulls == len(people):  # a column with no value at all (a file without names): .df() gives objects
            people[column] = pd.Series([None] * len(people), index=people.index, dtype=object)
    return people


def _listed(members: pd.DataFrame, people: pd.DataFrame, column: str, ascending: bool) -> pd.DataFrame:
    """The group's list: ``members`` (rows of the customer table) with their details, sorted by ``column``,
    then customer_id.

    The customer table and ``people`` both come in customer_id order, so where they list the same customers
    they are put side by side by position and sorted stably on ``column`` alone (ties keep the customer_id
    order); 40-80 ms less than sorting on both and merging on the ids of 50,000 customers. Else: both.
    """
    ordered = members.reset_index(drop=True)
    ids = ordered["customer_id"]
    if (
        len(ids) == len(people)
        and ids.is_monotonic_increasing
        and bool((ids.array == people["customer_id"].array).all())
    ):
        joined = pd.concat([ordered, people.drop(columns="customer_id")], axis=1)
        joined = joined.sort_values(column, ascending=ascending, kind="stable")
    else:
        joined = members.sort_values([column, "customer_id"], ascending=[ascending, True])
        joined = joined.merge(people, on="customer_id", how="left")
    return joined[LISTED_COLUMNS].reset_index(drop=True)


def _top_items(facts: dict) -> str:
    """'Top categories (share buying, lift): ...'; products, saying so, where the data has no categories."""

    def listed(items: list[dict]) -> str:
        return ", ".join(f"{i['name']} ({pct(i['share_of_group'])}, {i['lift']:.1f}x)" for i in items[:3])

    if facts["top_categories"]:
        return f"Top categories (share buying, lift): {listed(facts['top_categories'])}."
    if facts["top_products"]:
        return (
            f"No categories are recorded for their purchases, so top products instead (share buying, lift): "
            f"{listed(facts['top_products'])}."
        )
    return "Your data records no categories or products for them."


def _consent_words(consented: int | None, recorded: int, n: int) -> str:
    """What the data says about the group's marketing consent, and nothing it does not say."""
    if consented is None:
        return "Marketing consent is not recorded in your file, so it is not known who agreed to marketing."
    if not recorded:
        return "None of them has a marketing choice recorded in your data."
    said = f"{consented:,} of them agreed to marketing"
    return said + (f" ({recorded:,} of the {n:,} have a choice recorded)." if recorded < n else ".")


def _cluster_facts(group) -> dict:
    """A cluster's name and its clustering's k, for the facts; nothing for a segment or stage."""
    return {"group_name": group.name, "k": group.k} if group is not None and group.is_cluster else {}


def _days(value: float | None) -> str:
    return "n/a" if value is None else days(value)


def _gap(value: float | None) -> str:
    """'typical gap 22 days', or that there is none (nobody in the group has bought twice in the last year)."""
    return "no typical gap between orders yet" if value is None else f"typical gap {days(value)} days"


def _are(group: str) -> str:
    """'are lapsed' for a stage; 'are in the can't-lose-them segment' for an RFM segment."""
    return f"are {group}" if group in STAGES else f"are in the {label(group)} segment"


def _stated(con, group, as_of: str | None) -> dict[str, str]:
    """The group's demographics and interests from the imported customer lists, as shares; empty without lists."""
    from segmentation.attributes import available, group_profile

    if not group.members or not available(con):
        return {}
    return group_profile(con, group.members, as_of=as_of)


@tool(
    "describe_segment",
    GroupArgs,
    step=lambda a: f"Describing {group_words(a.get('group'))}",
    examples=("Tell me about my champions",),
    cues=(r"tell me about|describe|persona|profile|what are (\w+ ){1,4}like",),
    next_step=("Want an email draft for them?", "draft them an email"),
)
def describe_segment(ctx: ToolContext, args: GroupArgs) -> ToolResult:
    """Describe one group (RFM segment, lifecycle stage or cluster) as facts and a persona: size, value,
    rhythm, favourite products and categories, channels, places, consent, and change over 90 days."""
    from segmentation import profile
    from segmentation.outreach.persona import build_persona

    with ctx.read() as con:
        saved = None
        if args.group.startswith("cluster_"):
            group = group_of(con, "describe_segment", args.group, as_of=args.as_of, k=args.k)
            group_profile = profile.describe_group(con, group.members, as_of=args.as_of, label=group.name or args.group)
        elif args.group not in GROUP_KEYS:  # a saved segment: its members now and 90 days before
            saved = group_of(con, "describe_segment", args.group, as_of=args.as_of)
            group_profile = profile.describe_group(
                con,
                saved.members,
                as_of=args.as_of,
                label=saved.key,
                earlier_size=_earlier_size(con, saved, args.as_of),
            )
            group = None
        else:
            group = None
            group_profile = profile.describe_segment(con, args.group, as_of=args.as_of)
        thresholds = shop_thresholds(con, args.as_of)
        stated = _stated(
            con, group or saved or group_of(con, "describe_segment", args.group, as_of=args.as_of), args.as_of
        )
    facts = group_profile.as_dict()
    if stated:
        facts["attributes"] = stated  # shares only: what the customer lists say of the group (issue 19)
    persona = build_persona(facts, key=f"saved:{saved.key}" if saved else args.group, thresholds=thresholds)
    top = _top_items(facts)
    change = "" if facts["size_change"] is None else f" ({facts['size_change']:+,} in 90 days)"
    title = f"'{saved.key}' ({saved.condition})" if saved else label(facts["label"])
    if group is not None:  # "Group 3 'Weekend regulars' (of 7)", the words the owner saw the clustering in
        title = f"{upper_first(cluster_title(group.key, group.name))} (of {group.k})"
        facts.update(_cluster_facts(group))
    summary = (
        f"{title}: {facts['customers']:,} customers{change}, {pct(facts['share_of_customers'])} of "
        f"customers and {pct(facts['revenue_share'])} of revenue. Median last order "
        f"{_days(facts['median_recency_days'])} days ago, median {_days(facts['median_frequency'])} orders, "
        f"typical order {money(facts['avg_order_value'])}, "
        f"{_gap(facts['typical_gap_days'])}. {top} "
        f"Persona: {persona['name']}."
    )
    if saved:
        facts.update(group=saved.key, condition=saved.condition)
    return ToolResult(summary=assert_no_email(summary), persona=persona, facts=facts)


def _earlier_size(con, group, as_of: str | None) -> int | None:
    """How many were in a saved segment 90 days before ``as_of`` (None before the shop's first order)."""
    import datetime as dt

    from segmentation.profile import CHANGE_WINDOW_DAYS, find_group
    from segmentation.store import resolve_as_of
    from segmentation.vocabulary import AnalysisError

    earlier = resolve_as_of(con, as_of) - dt.timedelta(days=CHANGE_WINDOW_DAYS)
    first = con.execute("SELECT min(order_date) FROM orders WHERE is_purchase").fetchall()[0][0]
    if first is None or earlier < first:
        return None
    try:
        return len(find_group(con, group.key, as_of=earlier).members)
    except AnalysisError:
        return None
