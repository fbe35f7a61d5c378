"""Who is in a group, for every tool that takes one: an RFM segment, a lifecycle stage, or a cluster.

A cluster key (``cluster_3``) only means something within one clustering: the tools that take one also take
``k``, the number of groups ``cluster_customers`` was asked for (empty: its automatic choice), so "tell me
about group 3" after "split my customers into 7 groups" is group 3 of those 7. The clustering itself is
memoised (``segmentation.clustering``), so asking again costs a copy, not a fit.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pydantic import Field

from segmentation.profile import Group, UnknownGroup, find_group
from tools.base import ToolArgsError

K = Field(
    None, ge=2, le=8,
    description="For a cluster key: how many groups the clustering made (as cluster_customers was called); "
    "empty: chosen automatically.",
)  # fmt: skip


def group_of(
    con,
    tool: str,
    group: str,
    *,
    as_of: dt.date | str | None = None,
    k: int | None = None,
    table: pd.DataFrame | None = None,
    field: str = "group",
) -> Group:
    """``segmentation.profile.find_group`` (``table``: the customer table at ``as_of``, where the tool has it),
    with a key the data does not have (a cluster beyond the clustering's k) as a ToolArgsError naming
    ``field``'s valid range, so a model can correct itself."""
    try:
        return find_group(con, group, as_of=as_of, k=k, table=table)
    except UnknownGroup as exc:
        raise ToolArgsError(unknown_group(tool, exc, field)) from exc


def unknown_group(tool: str, exc: UnknownGroup, field: str | None = "group") -> str:
    """'list_customers: group must be one of cluster_1..cluster_3 (customers split into 3 groups); there is no
    cluster_4.' With ``field`` None the group's own words lead ('compare_groups: there is no cluster_9: ...')."""
    if exc.k is None and not exc.key.startswith("cluster_") and field is not None:
        from tools.wording import GROUP_KEYS

        saved = ", ".join(f"'{n}'" for n in exc.saved) if exc.saved else "none is saved yet"
        return (
            f"{tool}: {field} must be one of {', '.join(repr(k) for k in GROUP_KEYS)}, a cluster key "
            f"('cluster_1'...) or the name of a saved segment ({saved}); there is no '{exc.key}'."
        )
    if exc.k is None:
        return f"{tool}: {exc}"
    if field is None:
        said = f"{tool}: {exc}"
    else:
        made = "the automatic split found" if exc.asked_k is None else "customers split into"
        valid = f"cluster_1..cluster_{exc.k}"
        said = f"{tool}: {field} must be one of {valid} ({made} {exc.k} groups); there is no {exc.key}."
    if exc.asked_k is None:
        said += " If the customers were split into another number of groups, give that number as k."
    return said
