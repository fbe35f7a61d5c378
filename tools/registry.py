"""The one registry: importing this module registers every tool (see tools.base.tool)."""

from __future__ import annotations

from tools import campaign, clusters, data, movement, segments, value  # noqa: F401  (they register)
from tools.base import REGISTRY, ToolContext, ToolResult, ToolSpec, run_tool

TOOL_NAMES: tuple[str, ...] = tuple(sorted(REGISTRY))

__all__ = ["REGISTRY", "TOOL_NAMES", "ToolContext", "ToolResult", "ToolSpec", "run_tool"]
