"""The one registry: importing this module registers every tool (see tools.base.tool)."""

from __future__ import annotations

# One line per tool module: a new tool is its module plus its line here.
from tools import (  # noqa: F401  (they register)
    campaign,
    clusters,
    customer,
    data,
    entrants,
    groups,
    movement,
    people,
    rhythm,
    sales,
    saved,
    segments,
    top,
    value,
)
from tools.base import REGISTRY, ToolContext, ToolResult, ToolSpec, run_tool

TOOL_NAMES: tuple[str, ...] = tuple(sorted(REGISTRY))

__all__ = ["REGISTRY", "TOOL_NAMES", "ToolContext", "ToolResult", "ToolSpec", "run_tool"]
