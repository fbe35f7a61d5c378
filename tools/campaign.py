"""Campaign drafts grounded in a group's facts, with an audience that respects marketing consent."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from segmentation.engagement import unreachable_ids
from segmentation.outreach.persona import clean
from tools.base import (
    Download,
    ToolArgs,
    ToolArgsError,
    ToolContext,
    ToolResult,
    assert_no_email,
    csv_download,
    draw,
    tool,
)
from tools.fairness import condition_sensitive, narrowed_words
from tools.members import K, group_of
from tools.wording import CLUSTER_NAME_LIMIT, GroupOrSavedKey, file_stem, group_words, label, saved_words

Goal = Literal["win_back", "thank_and_reward", "welcome_second_purchase", "upsell", "re_engage"]


class DraftArgs(ToolArgs):
    group: GroupOrSavedKey = Field(
        description="The RFM segment, lifecycle stage, cluster (cluster_1...) or the "
        "name of a segment the owner saved, to write to."
    )
    goal: Goal | None = Field(None, description="What the message is for; empty: chosen from the group.")
    channel: Literal["email", "sms"] = Field("email", description="email, or sms for a text message.")
    length: Literal["standard", "short"] = Field(
        "standard", description="short: a noticeably shorter body and preview with the same facts."
    )
    tone: Literal["warm", "formal", "playful", "urgent"] = Field(
        "warm", description="The voice: greeting, sign-off and wording."
    )
    discount_percent: int | None = Field(
        None,
        ge=1,
        le=90,
        description="A percentage off (1-90) to offer instead of the offer sized to the group; "
        "the subject lines and body then mention it.",
    )
    as_of: str | None = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the last order.")
    k: int | None = K


def audience(con, customer_ids: list[str]) -> tuple[pd.DataFrame, int, bool]:
    """(who may be messaged, how many were left out for lack of consent, whether consent is recorded).

    Where the data records consent at all, only customers who gave it are in; where it records none,
    everyone with an address is, and the answer says consent was not in the file.
    """
    recorded = bool(con.execute("SELECT count(marketing_consent) > 0 FROM customers").fetchall()[0][0])
    # Only the group's rows leave the database: every customer's details would be 800,000 rows of text.
    con.register("audience_ids", pd.DataFrame({"customer_id": pd.Series(list(customer_ids), dtype="str")}))
    try:
        group = con.execute(
            "SELECT customer_id, email, first_name, last_name, marketing_consent FROM customers "
            "WHERE customer_id IN (SELECT customer_id FROM audience_ids)"
        ).df()
    finally:
        con.unregister("audience_ids")
    allowed = group[group["marketing_consent"].fillna(False).astype(bool)] if recorded else group
    # Whoever unsubscribed or bounced in the email tool's exports is out, consent or not (issue 19).
    unreachable = unreachable_ids(con)
    before = len(allowed)
    allowed = allowed[~allowed["customer_id"].astype(str).isin(unreachable)]
    allowed = allowed.sort_values("customer_id")[["customer_id", "email", "first_name", "last_name"]]
    allowed = allowed.reset_index(drop=True)
    allowed.attrs["unreachable"] = before - len(allowed)
    return allowed, len(group) - len(allowed), recorded


def _reachable(allowed: pd.DataFrame, channel: str, named: bool) -> str:
    """What the audience file can carry when the data lacks contact details, said before anyone plans a send."""
    said = ""
    if len(allowed) and channel == "email" and not allowed["email"].notna().any():
        said = (
            "; your data holds no email addresses, so the audience file lists customer ids only: match them to "
            "your contacts in your mail tool before sending"
        )
    if len(allowed) and not named:
        said += (
            "; it holds no first names either, so the draft greets them without one"
            if said
            else ("; your data holds no first names, so the draft greets them without one")
        )
    return said


@tool(
    "draft_campaign",
    DraftArgs,
    step=lambda a: (
        f"Drafting {'a text message' if a.get('channel') == 'sms' else 'an email'} to {group_words(a.get('group'))}"
    ),
    examples=(
        "Draft an email for my at-risk customers",
        "Write a text message to my new customers",
        "Write a formal email to cluster 2",
        "Draft a short, playful text for my champions",
        "Write an urgent email to my lapsing customers with 15% off",
    ),
    cues=(
        r"draft|write|compose|e ?mail|newsletter|text message|sms",
        r"\b(shorter|more (formal|playful|urgent|friendly))\b|\b\d+\s*(percent\s*)?off\b",
    ),
    next_step=("Want {other} version too?", "and {other} version"),
)
def draft_campaign(ctx: ToolContext, args: DraftArgs) -> ToolResult:
    """Write a ready-to-send email (three subject lines to A/B test, preview, body with {{first_name}},
    call to action, offer) or an SMS of at most 160 characters for one group (segment, stage or cluster),
    from what those customers actually buy; with the consenting audience as a CSV for Mailchimp or Klaviyo.
    Refine a draft with length (short), tone (warm, formal, playful, urgent) and discount_percent (e.g. 10
    for "add 10% off"), keeping the same group, goal and channel."""
    from segmentation.outreach import drafts
    from segmentation.profile import describe_group, describe_segment

    with ctx.read() as con:
        group = group_of(con, "draft_campaign", args.group, as_of=args.as_of, k=args.k)
        members = group.members
        if group.is_cluster or group.is_saved:
            profile = describe_group(con, members, as_of=args.as_of, label=group.name or args.group).as_dict()
        else:
            profile = describe_segment(con, args.group, as_of=args.as_of).as_dict()
        allowed, left_out, recorded = audience(con, members)
    has_names = bool(allowed["first_name"].notna().any())
    key = f"saved:{group.key}" if group.is_saved else args.group
    draft = drafts.draft_campaign(
        profile,
        key=key,
        goal=args.goal,
        channel=args.channel,
        shop_name=ctx.shop_name,
        length=args.length,
        tone=args.tone,
        discount_percent=args.discount_percent,
        first_names=has_names,
    )
    unsubscribed = allowed.attrs.get("unreachable", 0)
    why = "no marketing consent" + (f"; {unsubscribed:,} of them unsubscribed or bounced" if unsubscribed else "")
    consent = (
        f"{len(allowed):,} of {len(members):,} may be contacted ({left_out:,} left out: {why})"
        if recorded
        else f"all {len(allowed):,} are in the audience: the data records no marketing consent"
        if not unsubscribed
        else f"{len(allowed):,} of {len(members):,} may be contacted "
        f"({unsubscribed:,} left out: unsubscribed or bounced)"
    ) + _reachable(allowed, args.channel, has_names)
    subject = f" Subject lines: {' | '.join(draft['subject_lines'])}." if draft["subject_lines"] else ""
    kind = "email" if args.channel == "email" else "text message"
    style = [w for w, usual in ((args.length, "standard"), (args.tone, "warm")) if w != usual]
    message = " ".join([*style, kind])
    message = f"{'an' if message[0] in 'aeiou' else 'a'} {message}"
    who = (
        group_words(args.group)
        if group.is_cluster
        else f"the customers in {saved_words(group.key)}"
        if group.is_saved
        else f"{label(args.group)} customers"
    )
    named = f" (the group is '{clean(group.name, CLUSTER_NAME_LIMIT)}', one of {group.k})" if group.is_cluster else ""
    command = f"segments campaign create {args.group}" + (f" --k {args.k}" if group.is_cluster and args.k else "")
    if group.is_saved:
        command = f'segments campaign create "{group.key}"'
    summary = (
        f"Drafted {message} to {who}, goal {draft['goal'].replace('_', ' ')}{named}; "
        f"{consent}.{subject} Offer: {draft['offer']}. To see later whether it worked, create it as a campaign "
        f"with a random control group held out (Campaigns tab, or `{command}`)."
    )
    sensitive = condition_sensitive(group.condition)  # a saved segment the owner defined by age, gender, income
    if sensitive:
        summary += " " + narrowed_words(sensitive, "draft's audience")
    stem = file_stem(group.key)
    downloads = csv_download(ctx, f"{stem}_audience.csv", allowed)
    if downloads:
        downloads.insert(
            0, Download(f"{stem}_{args.channel}.txt", drafts.draft_text(draft).encode("utf-8"), "text/plain")
        )
        if args.channel == "email":
            downloads.insert(1, Download(f"{stem}_email.html", drafts.draft_html(draft).encode("utf-8"), "text/html"))
    return ToolResult(
        summary=assert_no_email(summary),
        draft=draft,
        table=allowed,
        downloads=downloads,
        facts={
            "group": group.key,
            "goal": draft["goal"],
            "channel": args.channel,
            "audience": len(allowed),
            "left_out_no_consent": left_out,
            "consent_recorded": recorded,
            "length": args.length,
            "tone": args.tone,
            "discount_percent": args.discount_percent,
            **({"group_name": group.name, "k": group.k} if group.is_cluster else {}),
            **({"condition": group.condition} if group.is_saved else {}),
        },
    )


class MeasureArgs(ToolArgs):
    campaign_id: str = Field(description="The campaign's id, e.g. 'cmp-0001'.")
    window_days: int = Field(30, ge=1, le=365, description="Days after the campaign's date to count orders.")


@tool(
    "measure_campaign",
    MeasureArgs,
    step="Measuring the campaign against its control group",
    chart="treated_vs_control",
    examples=("Did my last campaign work?",),
    cues=(r"did (\w+ ){0,4}(campaign|e ?mail) (\w+ )?work|control group|uplift|lift",),
    next_step=("The table sets the messaged customers beside the held-out control group.", None),
)
def measure_campaign(ctx: ToolContext, args: MeasureArgs) -> ToolResult:
    """Did a campaign work? Compare the customers who were messaged with the random control group held
    out: buyers, conversion and revenue per customer after the campaign, and the lift with its interval."""
    from segmentation.outreach import campaigns
    from segmentation.outreach.campaigns import list_campaigns

    with ctx.read() as con:
        known = list_campaigns(con)["id"].tolist()
        if args.campaign_id not in known:
            choices = ", ".join(f"'{c}'" for c in known) or "none yet"
            raise ToolArgsError(f"measure_campaign: campaign_id must be one of {choices}.")
        result = campaigns.measure_campaign(con, args.campaign_id, window_days=args.window_days)
    table = pd.DataFrame([{"group": "messaged", **result.treated}, {"group": "held out", **result.control}])
    return ToolResult(
        summary=assert_no_email(f"Campaign {args.campaign_id}: {result.verdict}"),
        table=table,
        chart=draw(ctx, "treated_vs_control", result.as_dict()),
        facts=result.as_dict(),
    )


class PlanArgs(ToolArgs):
    group: GroupOrSavedKey = Field(
        description="The RFM segment, lifecycle stage, cluster (cluster_1...) or the "
        "name of a segment the owner saved, to message."
    )
    holdout: float = Field(0.1, ge=0.05, le=0.5, description="Share held out as the control group (0.05 to 0.5).")
    lift_per_100: int = Field(
        5, ge=1, le=50, description="The smallest lift worth finding, in extra buyers per 100 messaged within 30 days."
    )
    as_of: str | None = Field(None, description="Date to plan as of, YYYY-MM-DD; default: the last order's day.")
    k: int | None = K


@tool(
    "plan_campaign",
    PlanArgs,
    step=lambda a: f"Planning a campaign to {group_words(a.get('group'))}",
    examples=(
        "Set up a win-back offer for my lapsed customers with a control group",
        "How many should I hold out to know if an email to my at-risk customers works?",
    ),
    next_step=("Want an email draft for them?", "draft them an email"),
)
def plan_campaign(ctx: ToolContext, args: PlanArgs) -> ToolResult:
    """Plan a campaign that can be measured, before it exists: who in the group may be contacted, how a random
    split with this control share falls, the smallest lift it could show (the power line), the share that would
    show the wanted lift, and how to create it. Creates nothing: the owner creates it in the Campaigns tab or
    with `segments campaign create`."""
    from segmentation.outreach.campaign_plan import campaign_plan, power_sentence, suggested_holdout
    from segmentation.outreach.campaigns import detectable_lift, split_sizes

    with ctx.read() as con:
        group = group_of(con, "plan_campaign", args.group, as_of=args.as_of, k=args.k)
        plan = campaign_plan(con, group.key, as_of=args.as_of, members=group.members)
    lift = args.lift_per_100 / 100
    messaged, held_out = split_sizes(plan.eligible, args.holdout)
    better = suggested_holdout(plan, lift)
    share = better if better is not None and better > args.holdout else args.holdout
    who = saved_words(group.key) if group.is_saved else group_words(args.group)
    named = f'"{group.key}"' if " " in group.key else group.key
    command = f"segments campaign create {named} --holdout {share:g}" + (f" --k {group.k}" if group.is_cluster else "")
    summary = (
        f"A campaign to {who} as of {plan.as_of} with {args.holdout:.0%} held out: "
        + power_sentence(plan, args.holdout, lift)
        + f" To create it with a random control group: the Campaigns tab, or `{command}`. The audience file leaves"
        " out whoever said no to marketing or cannot be reached; the control group gets nothing, and 30 days after,"
        ' "did it work?" compares who bought in each.'
    )
    least = detectable_lift(messaged, held_out, plan.baseline if plan.baseline is not None else 0.1)
    facts = {
        "group": args.group,
        "as_of": plan.as_of,
        "members": plan.members,
        "eligible": plan.eligible,
        "messaged": messaged,
        "held_out": held_out,
        "holdout": args.holdout,
        "baseline": None if plan.baseline is None else round(plan.baseline, 4),
        "detectable_per_100": round(least * 100, 1),
        "suggested_holdout": better,
    }
    return ToolResult(summary=assert_no_email(summary), facts=facts)
