"""Tools over the owner's saved segments (segmentation.custom.saved): save one by a condition, list them, show how one
is doing (its size, who joined and who left with the latest imports).

A condition a model writes is parsed by the same parser as the command line's (``segmentation.custom.conditions``): a
typed tree compiled to SQL with bound values, never SQL of the model's. A condition or name it cannot use is a
ToolArgsError naming the field, value or choices, so the model can correct it. The offline agent plans these
three itself (``agent.understand.saved``: a saved name is recognised from the shop's own list), so they carry
no cues: "how is the shop doing?" is not a segment's question.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tools.base import ToolArgs, ToolArgsError, ToolContext, ToolResult, assert_no_email, csv_download, tool
from tools.wording import file_stem, plural


class SaveArgs(ToolArgs):
    name: str = Field(
        min_length=1, max_length=60, description="The segment's name, as the owner said it, e.g. 'Leeds win-back'."
    )
    condition: str = Field(
        min_length=1,
        max_length=1000,
        description="Who is in it, in the condition language: fields recency, frequency, monetary, r_score, "
        "f_score, m_score, segment, lifecycle, cluster, p_alive, expected_purchases, value, aov, first_order, "
        "last_order, product, category, channel, city, country, consent; from the customer lists age, age_band, "
        'gender, income_band, region, tag, interest, member_rating, email_consent, attribute "column"; from email '
        "activity unsubscribed, bounced, last_open, open_rate, click_rate, engagement; operators = != < <= > >= "
        'in (a, b) between A and B contains; bought "Product" [in last N days]; and, or, not, parentheses. E.g. '
        "'lifecycle = lapsed and city = Leeds and monetary > 100'.",
    )


class ShowArgs(ToolArgs):
    name: str = Field(min_length=1, max_length=60, description="The saved segment's name.")
    move: Literal["joined", "left"] | None = Field(
        None, description="Only the customers who joined, or only those who left; empty: both."
    )
    since: str | None = Field(
        None,
        description="Only changes with data from this day on, YYYY-MM-DD (e.g. the "
        "first of the month for 'who left this month?'); empty: the latest import's changes.",
    )


class NoArgs(ToolArgs):
    pass


@tool(
    # Saving the same name and condition again changes nothing (segmentation.custom.saved.save_segment), so it counts as
    # read-only here: a replayed conversation may run it, and a model may be offered it. It writes only the
    # owner's segment definitions, never orders or customers, and its condition goes through the parser.
    "save_segment",
    SaveArgs,
    step=lambda a: f"Saving the segment '{a.get('name') or ''}'",
    examples=("Save my lapsed customers in Leeds as Leeds win-back",),
    next_step=('After your next import, ask "how is it doing?" to see who joined and who left.', None),
)
def save_segment(ctx: ToolContext, args: SaveArgs) -> ToolResult:
    """Save a segment by name, defined by a condition over what the shop knows of each customer, so the owner
    can reuse it by name (list, describe, draft, campaign) and see who joins and leaves after every import."""
    from segmentation.custom import saved
    from segmentation.custom.conditions import ConditionError
    from segmentation.custom.saved import SegmentError
    from segmentation.store import STORE_LOCK, connect
    from tools.fairness import narrowed_words, narrowing

    _, sensitive = narrowing(ctx, "save_segment", args.condition)
    try:
        with STORE_LOCK.exclusive(), connect(ctx.db_path) as con:
            result = saved.save_segment(con, args.name, args.condition)
    except (ConditionError, SegmentError) as exc:
        raise ToolArgsError(f"save_segment: {exc}") from exc
    if result["already"]:
        summary = (
            f"The segment '{result['name']}' is already saved with this condition ({result['condition']}): "
            f"{plural(result['size'], 'customer')} now."
        )
        return ToolResult(summary=assert_no_email(summary), facts={**result, "group": result["name"]})
    summary = (
        f"Saved the segment '{result['name']}' ({result['condition']}): {plural(result['size'], 'customer')} "
        "now. It is brought up to date after every import, with who joined and who left."
    )
    if sensitive:
        summary += " " + narrowed_words(sensitive, "segment")
    return ToolResult(summary=assert_no_email(summary), facts={**result, "group": result["name"]})


@tool(
    "list_saved_segments",
    NoArgs,
    step="Reading your saved segments",
    examples=("Which segments have I saved?", "Show my saved segments"),
)
def list_saved_segments(ctx: ToolContext, args: NoArgs) -> ToolResult:
    """List the segments the owner saved: each one's name, condition, size now, and who joined and left with the
    latest import."""
    import pandas as pd

    from segmentation.custom.saved import saved_segments, segment_history

    rows = []
    with ctx.read() as con:
        for segment in saved_segments(con):
            history = segment_history(con, segment.name)
            last = history.iloc[-1]
            rows.append(
                {
                    "name": segment.name,
                    "condition": segment.condition,
                    "customers": int(last["size"]),
                    "joined": int(last["joined"]),
                    "left": int(last["left"]),
                }
            )
    if not rows:
        return ToolResult(
            summary='No segments are saved yet. Save one with e.g. "save my lapsed customers in Leeds '
            'as Leeds win-back".',
            facts={"segments": []},
        )
    said = "; ".join(f"'{r['name']}' ({r['condition']}): {r['customers']:,} now" for r in rows)
    return ToolResult(
        summary=assert_no_email(f"{plural(len(rows), 'saved segment')}: {said}."),
        table=pd.DataFrame(rows),
        facts={"segments": rows},
    )


@tool(
    "show_segment",
    ShowArgs,
    step=lambda a: f"Looking at how '{a.get('name') or ''}' is doing",
    examples=('How is the segment "VIPs" doing?', 'Who left the segment "VIPs" since 2026-11-01?'),
)
def show_segment(ctx: ToolContext, args: ShowArgs) -> ToolResult:
    """How a saved segment is doing: its condition, its size now, and who joined and who left since the import
    before (or since a date: 'who left my VIPs this month?'); the lists go to the person as files."""
    from segmentation.custom.saved import SegmentError, change_words, require_segment, segment_history, segment_moves

    with ctx.read() as con:
        try:
            found = require_segment(con, args.name)
        except SegmentError as exc:
            raise ToolArgsError(f"show_segment: {exc}") from exc
        history = segment_history(con, found.name)
        moves = segment_moves(con, found.name, move=args.move, since=args.since, last_only=args.since is None)
    joined = moves.loc[moves["move"] == "joined", ["customer_id"]].reset_index(drop=True)
    left = moves.loc[moves["move"] == "left", ["customer_id"]].reset_index(drop=True)
    words = change_words(history)
    if args.since is not None:
        parts = [
            f"{len(frame):,} {what}"
            for what, frame in (("joined", joined), ("left", left))
            if args.move in (None, what)
        ]
        size = plural(int(history.iloc[-1]["size"]), "customer")
        words = f"{' and '.join(parts)} with data from {args.since} on; {size} now."
    summary = f"'{found.name}' ({found.condition}): {words}"
    stem = file_stem(found.name)
    downloads = []
    if args.move in (None, "joined"):
        downloads += csv_download(ctx, f"{stem}_joined.csv", joined)
    if args.move in (None, "left"):
        downloads += csv_download(ctx, f"{stem}_left.csv", left)
    return ToolResult(
        summary=assert_no_email(summary),
        table=moves.drop(columns=["recorded_at"]),
        downloads=downloads,
        facts={
            "group": found.name,
            "condition": found.condition,
            "size": int(history.iloc[-1]["size"]),
            "joined": len(joined),
            "left": len(left),
            "since": args.since,
        },
    )
