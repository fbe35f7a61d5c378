"""Campaign drafts grounded in a group's facts, with an audience that respects marketing consent."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from tools.base import Download, ToolArgs, ToolContext, ToolResult, assert_no_email, csv_download, draw, tool
from tools.wording import GroupKey, label

Goal = Literal["win_back", "thank_and_reward", "welcome_second_purchase", "upsell", "re_engage"]


class DraftArgs(ToolArgs):
    group: GroupKey = Field(description="The RFM segment or lifecycle stage to write to.")
    goal: Goal | None = Field(None, description="What the message is for; empty: chosen from the group.")
    channel: Literal["email", "sms"] = Field("email", description="email, or sms for a text message.")
    as_of: str | None = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the last order.")


def audience(con, customer_ids: list[str]) -> tuple[pd.DataFrame, int, bool]:
    """(who may be messaged, how many were left out for lack of consent, whether consent is recorded).

    Where the data records consent at all, only customers who gave it are in; where it records none,
    everyone with an address is, and the answer says consent was not in the file.
    """
    people = con.execute(
        "SELECT customer_id, email, first_name, last_name, marketing_consent FROM customers"
    ).df()
    recorded = bool(people["marketing_consent"].notna().any())
    group = people[people["customer_id"].isin(set(customer_ids))]
    allowed = group[group["marketing_consent"].fillna(False).astype(bool)] if recorded else group
    allowed = allowed.sort_values("customer_id")[["customer_id", "email", "first_name", "last_name"]]
    return allowed.reset_index(drop=True), len(group) - len(allowed), recorded


@tool("draft_campaign", DraftArgs)
def draft_campaign(ctx: ToolContext, args: DraftArgs) -> ToolResult:
    """Write a ready-to-send email (three subject lines to A/B test, preview, body with {{first_name}},
    call to action, offer) or an SMS of at most 160 characters for one group, from what those customers
    actually buy; with the consenting audience as a CSV for Mailchimp or Klaviyo."""
    from segmentation import drafts
    from segmentation.profile import describe_segment, group_members

    with ctx.read() as con:
        profile = describe_segment(con, args.group, as_of=args.as_of).as_dict()
        members = group_members(con, args.group, as_of=args.as_of)
        allowed, left_out, recorded = audience(con, members)
    draft = drafts.draft_campaign(profile, key=args.group, goal=args.goal, channel=args.channel,
                                  shop_name=ctx.shop_name)
    consent = (
        f"{len(allowed):,} of {len(members):,} may be contacted ({left_out:,} left out: no marketing consent)"
        if recorded else f"all {len(allowed):,} are in the audience: the data records no marketing consent"
    )
    subject = f" Subject lines: {' | '.join(draft['subject_lines'])}." if draft["subject_lines"] else ""
    message = "an email" if args.channel == "email" else "a text message"
    summary = (
        f"Drafted {message} to {label(args.group)} customers, goal {draft['goal'].replace('_', ' ')}; "
        f"{consent}.{subject} Offer: {draft['offer']}. To see later whether it worked, create it as a campaign "
        f"with a random control group held out (Campaigns tab, or `segments campaign create {args.group}`)."
    )
    downloads = csv_download(ctx, f"{args.group}_audience.csv", allowed)
    if downloads:
        downloads.insert(0, Download(f"{args.group}_{args.channel}.txt", drafts.draft_text(draft).encode("utf-8"),
                                     "text/plain"))
        if args.channel == "email":
            downloads.insert(1, Download(f"{args.group}_email.html", drafts.draft_html(draft).encode("utf-8"),
                                         "text/html"))
    return ToolResult(
        summary=assert_no_email(summary), draft=draft, table=allowed, downloads=downloads,
        facts={"group": args.group, "goal": draft["goal"], "channel": args.channel, "audience": len(allowed),
               "left_out_no_consent": left_out, "consent_recorded": recorded},
    )


class MeasureArgs(ToolArgs):
    campaign_id: str = Field(description="The campaign's id, e.g. 'cmp-0001'.")
    window_days: int = Field(30, ge=1, le=365, description="Days after the campaign's date to count orders.")


@tool("measure_campaign", MeasureArgs)
def measure_campaign(ctx: ToolContext, args: MeasureArgs) -> ToolResult:
    """Did a campaign work? Compare the customers who were messaged with the random control group held
    out: buyers, conversion and revenue per customer after the campaign, and the lift with its interval."""
    from segmentation.campaigns import list_campaigns
    from segmentation.campaigns import measure_campaign as measure
    from tools.base import ToolArgsError

    with ctx.read() as con:
        known = list_campaigns(con)["id"].tolist()
        if args.campaign_id not in known:
            choices = ", ".join(f"'{c}'" for c in known) or "none yet"
            raise ToolArgsError(f"measure_campaign: campaign_id must be one of {choices}.")
        result = measure(con, args.campaign_id, window_days=args.window_days)
    table = pd.DataFrame([{"group": "messaged", **result.treated}, {"group": "held out", **result.control}])
    return ToolResult(
        summary=assert_no_email(f"Campaign {args.campaign_id}: {result.verdict}"), table=table,
        chart=draw(ctx, "treated_vs_control", result.as_dict()), facts=result.as_dict(),
    )
