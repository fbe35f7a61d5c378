"""The owner's saved segments in a question: "save these as Leeds win-back", "how is Leeds win-back doing?",
"who left my VIPs this month?", and a saved name wherever a group is named ("tell me about Leeds win-back").

A saved name is recognised from the shop's own list of names (``Shop.segments``), or in quotes after
"segment"; it never chooses a tool by itself. Saving "these" writes the conversation's last group as a
condition (``segment = at_risk``, ``lifecycle = lapsed``) in the condition language, never SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.understand.filters import attribute_condition
from agent.understand.text import normalise

if TYPE_CHECKING:
    from agent.understand.slots import Slots

_SAVE = re.compile(r"\b(?:save|keep|store)\b(?P<what>.*?)\b(?:as|called|named)\s+(?P<name>.+?)\s*[.!?]*$", re.I)
_BACK = r"\b(these|them|this|those|it|that|the list|this list|this group|that group)\b"
_QUOTED = re.compile(
    r"""segment\s+["“'‘](?P<name>[^"”'’]{1,60})["”'’]"""
    r"""|["“'‘](?P<alone>[^"”'’]{1,60})["”'’]\s+segment""",
    re.I,
)


def _said(what: str, saved: dict[str, str], shop, slots_of: Callable[[str], Slots]) -> list[str]:
    """'save my lapsed customers in Leeds who spent over 100 as ...': the group named and the conditions said
    (who they are, as in agent.understand.filters; what they did, as in agent.understand.behaviour)."""
    from agent.understand.behaviour import behaviour_conditions, time_is_the_rule
    from agent.understand.text import clean

    text = clean(what, shop.words())
    did = behaviour_conditions(what, text, shop.last_order(), shop.names())  # "in Leeds", "who bought gluten free"
    group = slots_of(what).group
    parts = [c for c in (None if time_is_the_rule(group, text, did) else condition_for(group, saved),) if c]
    who, _ = attribute_condition(what, shop.attributes())  # "in the vegan tag", "under 30"
    return [*parts, *([who] if who else []), *did]


def _on_screen(state, saved: dict[str, str]) -> str | None:
    """The condition for "save these": the conversation's group, and what its list was narrowed by."""
    condition = condition_for(state.group, saved, state.cluster_k)
    narrowed = state.args.get("where") if state.tool == "list_customers" else None
    if condition is not None and narrowed:
        return f"{condition} and {narrowed}"  # "save these" after "only the ones in Leeds": those
    if narrowed and not state.args.get("group"):
        return narrowed  # everyone narrowed by a condition ("everyone in Halifax who spent over 100")
    return condition


def condition_for(group: str | None, saved: dict[str, str], cluster_k: int | None = None) -> str | None:
    """A group key as a condition; None for a group a condition cannot name (a cluster of a chosen k)."""
    from segmentation.vocabulary import SEGMENT_KEYS, STAGES

    if group in SEGMENT_KEYS:
        return f"segment = {group}"
    if group in STAGES:
        return f"lifecycle = {group}"
    if group and group.startswith("cluster_") and cluster_k is None:
        return f"cluster = {group}"
    for name, condition in saved.items():
        if group and name.lower() == group.lower():
            return condition
    return None


def find_saved(raw: str, saved: dict[str, str]) -> str | None:
    """The saved segment a question names (the longest name found), or one named in quotes after 'segment'."""
    plain = f" {normalise(raw)} "
    named = [n for n in saved if normalise(n) and f" {normalise(n)} " in plain]
    if named:
        return max(named, key=len)
    quoted = _QUOTED.search(raw)
    return (quoted.group("name") or quoted.group("alone")).strip() if quoted else None


def without(raw: str, name: str) -> str:
    """The question with the saved name (and a "segment" before it) replaced by "them", so its words are not read
    as a place or a built-in group ("Leeds" in "Leeds win-back")."""
    words = [re.escape(w) for w in re.split(r"[\s\-]+", name.strip()) if w]
    pattern = r"(?:\b(?:the|my)\s+)?(?:\bsegment\s+)?[\"“'‘]?\b" + r"[\s\-]+".join(words) + r"\b[\"”'’]?"
    return re.sub(pattern, "them", raw, flags=re.I)


def plan_saved(raw: str, state, shop, slots_of: Callable[[str], Slots]) -> tuple[str | None, dict, str] | None:
    """(tool, args, reply) for a question about saved segments, or None when it is not one.

    ``slots_of(text)``: the slots of a piece of the question (for "save my lapsed customers in Leeds as ...").
    """
    saved = shop.segments()
    text = normalise(raw)
    save = _SAVE.search(raw)
    if save and re.search(r"\bsave|keep|store\b", text):
        name = save.group("name").strip()
        quoted = re.match(r"[\"“'‘]([^\"”'’]{1,60})[\"”'’]", name)
        # 'as "leeds winback" so i can keep an eye on them': the name is what the quotes hold
        name = quoted.group(1).strip() if quoted else name.strip("\"“”'‘’").strip()
        name = re.sub(r"^(?:my|our|the)\s+(?=\S)", "", name, flags=re.I)  # "as my VIP list" names it "VIP list"
        what = normalise(save.group("what"))
        if re.search(_BACK, what) or not what.strip():
            condition = _on_screen(state, saved)
            if condition is None:
                return (
                    None,
                    {},
                    (
                        "There is no group in our conversation I can save as a condition yet: ask for one "
                        'first (e.g. "who are my lapsed customers?"), then say "save these as ...".'
                    ),
                )
        else:
            parts = _said(save.group("what"), saved, shop, slots_of)
            if not parts:
                return (
                    None,
                    {},
                    (
                        "I could not tell who to save. Say it as a condition, e.g. `segments segment save "
                        f'"{name}" --where "lifecycle = lapsed and city = Leeds"`.'
                    ),
                )
            condition = " and ".join(parts)
        return "save_segment", {"name": name, "condition": condition}, ""
    if re.search(r"\bsaved segments?\b|\bsegments (have )?i (have )?saved\b|\bmy own segments\b", text):
        return "list_saved_segments", {}, ""
    name = find_saved(raw, saved)
    if name is None:
        return _unknown_list(raw, saved)
    moved = re.search(r"\bwho (left|joined)\b|\b(left|joined)\b", text)
    if moved or re.search(
        r"\bhow(?: is| s| are)\b.*\b(doing|looking|going|getting on)\b|\bchanged?\b|\bmoved?\b"
        r"|\bcome back\b|\bcame back\b|\breturned\b",
        text,
    ):
        args: dict = {"name": name}
        if moved:
            args["move"] = moved.group(1) or moved.group(2)
        since = re.search(r"\d{4}-\d{2}-\d{2}", raw)
        if since:
            args["since"] = since.group()
        elif re.search(r"\bthis month\b", text):
            last = shop.last_order()
            args["since"] = dt.date(last.year, last.month, 1).isoformat()
        return "show_segment", args, ""
    return name, {}, "group"  # a saved name where a group goes: planned as any group is


def _unknown_list(raw: str, saved: dict[str, str]) -> tuple[None, dict, str] | None:
    """ "How is my VIP list doing?" where no segment of that name is saved: say so, never answer for another group."""
    asked = re.search(
        r"\bhow(?: is|'s| s| are)\s+(?:my|our|the)\s+(?P<name>[\w' -]{1,40}?\s+(?:list|segment))\b.*"
        r"\bdoing\b",
        raw,
        re.I,
    )
    if asked is None:
        return None
    have = "; ".join(f"'{n}'" for n in sorted(saved, key=str.lower)) if saved else ""
    return (
        None,
        {},
        (
            f"You have no saved segment called '{asked.group('name')}'. "
            + (
                f"The saved ones are: {have}."
                if have
                else "None is saved yet: say, for example, "
                '"save my champions as VIP list" and ask again after your next import.'
            )
        ),
    )
