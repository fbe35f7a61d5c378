"""What a conversation is about, so a follow-up can refer back: "them", "the biggest one", "make it shorter".

The state is made only from the plans the agent ran (tools and arguments) and a few numbers of their
results (cluster and segment sizes, for "the biggest one"), never from text inside the data. It can be
rebuilt from a saved conversation (``State.replayed``), so in the app it survives a page refresh, and it is kept
with each saved turn as plain JSON (``State.to_dict``, ``State.from_dict``), so a teammate's follow-up on a shared
conversation means what it means to whoever asked the turn before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class State:
    tool: str | None = None  # the last tool run, and its arguments
    args: dict = field(default_factory=dict)
    group: str | None = None  # the group the conversation is about ("them")
    attribute: str | None = None
    channel: str | None = None
    offer: str | None = None  # the question a plain "yes" to the last next step stands for
    listing: tuple[tuple[str, int], ...] = ()  # the groups last shown with their sizes (clusters, segments)
    draft: dict = field(default_factory=dict)  # the last draft's arguments
    campaign: dict = field(default_factory=dict)  # the last measurement's arguments
    lists: dict = field(default_factory=dict)  # the last call that made a customer list (tool and args)
    period: tuple[str | None, str | None] = (None, None)  # the last (start, end) asked about
    cluster_k: int | None = None  # how many groups the last clustering made: "cluster 2" means one of those

    def after(self, tool: str, args: dict, facts: dict | None = None, offer: str | None = None) -> State:
        """The state once ``tool`` ran with ``args`` (and returned ``facts``)."""
        facts = facts or {}
        # The group a call is about: its argument, else the one its result singles out (a campaign's audience,
        # the group recommended first).
        second = args.get("group_b") if args.get("group_b") != "everyone_else" else args.get("group_a")
        group = args.get("group") or second or facts.get("group") or self.group
        if tool == "load_data" or (tool == "list_customers" and not args.get("group")):
            group = None  # a new shop; or everyone narrowed by a condition, which "them" finds in args["where"]
        listing, cluster_k = self.listing, self.cluster_k
        if tool == "cluster_customers" and facts.get("clusters"):
            listing = tuple((str(c["key"]), int(c["size"])) for c in facts["clusters"])
            cluster_k = len(listing)
        elif tool in ("compute_rfm", "recommend_focus") and facts.get("segments"):
            listing = tuple((str(s["segment"]), int(s["customers"])) for s in facts["segments"])
        elif tool == "rank_groups" and facts.get("groups"):
            listing = tuple((str(g["group"]), int(g["customers"])) for g in facts["groups"])
        if tool == "recommend_focus" and listing:
            group = listing[0][0]
        return replace(
            self,
            tool=tool,
            args=dict(args),
            group=group,
            attribute=args.get("attribute", self.attribute),
            channel=args.get("channel", self.channel),
            offer=offer,
            listing=listing,
            cluster_k=cluster_k,
            draft=dict(args) if tool == "draft_campaign" else self.draft,
            campaign=dict(args) if tool == "measure_campaign" else self.campaign,
            lists={"tool": tool, "args": dict(args)} if tool in LIST_TOOLS else self.lists,
            period=(args.get("start"), args.get("end")) if "start" in args else self.period,
        )

    def pick(self, which: str) -> str | None:
        """'biggest', 'smallest', 'last' or a position ('1', '2'...) in the last listing of groups."""
        shown = [(key, size) for key, size in self.listing if size > 0]
        if not shown:
            return None
        if which == "biggest":
            return max(shown, key=lambda item: item[1])[0]
        if which == "smallest":
            return min(shown, key=lambda item: item[1])[0]
        if which == "last":
            return shown[-1][0]
        index = int(which) - 1
        return shown[index][0] if 0 <= index < len(shown) else None

    def to_dict(self) -> dict[str, Any]:
        """The state as JSON-ready values (tuples become lists), to keep beside a saved turn."""
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: Mapping[str, Any] | None) -> State:
        """The state ``to_dict`` gave, read back. A value of the wrong shape (a row written by another version,
        a hand edit) is left at its default rather than trusted: a follow-up then means less, never something
        else."""
        if not isinstance(saved, Mapping):
            return cls()
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            value, default = saved.get(f.name), getattr(defaults, f.name)
            if f.name == "listing":
                try:
                    values[f.name] = tuple((str(key), int(size)) for key, size in value or ())
                except (TypeError, ValueError):
                    values[f.name] = default
            elif f.name == "period":
                ok = (
                    isinstance(value, list | tuple)
                    and len(value) == 2
                    and all(v is None or isinstance(v, str) for v in value)
                )
                values[f.name] = tuple(value) if ok and value is not None else default
            elif f.name == "cluster_k":
                values[f.name] = value if isinstance(value, int) and not isinstance(value, bool) else default
            elif isinstance(default, dict):
                values[f.name] = dict(value) if isinstance(value, Mapping) else default
            else:  # the optional strings
                values[f.name] = value if isinstance(value, str) else default
        return cls(**values)

    @classmethod
    def replayed(cls, calls: list[tuple[str, dict, dict | None]]) -> State:
        """The state after these (tool, args, facts) calls, oldest first: a saved conversation resumed."""
        state = cls()
        for tool, args, facts in calls:
            state = state.after(tool, args, facts)
        return state


# Tools whose answer is a list of customers with a download ("export that list" runs the last of them again).
LIST_TOOLS = ("list_customers", "top_customers", "group_entrants", "predict_value")


def merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` arguments with ``new`` ones on top, dropping the ones ``new`` sets to None."""
    out = {**old, **new}
    return {k: v for k, v in out.items() if v is not None}
