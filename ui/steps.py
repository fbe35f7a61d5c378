"""Words for the assistant's tool steps, as the status line shows them: "Finding lapsed customers... 421 found".

The agent reports a step by tool name and arguments when it starts and with the tool's summary when it
ends; each tool's spec holds its words (``ToolSpec.step`` and ``done``). The count comes from the summary's
first number, which every tool leads with, so a step reads the same live and when history is replayed.
The registry is imported on first use: the tools pull in the analytics (and pandas), which the first paint
does without.
"""

from __future__ import annotations

import re

_FIRST_NUMBER = re.compile(r"\b(\d[\d,]*)\b")


def _spec(name: str):
    from tools.registry import REGISTRY

    return REGISTRY.get(name)


def step_start(name: str, args: dict | None) -> str:
    """'Finding lapsed customers...'"""
    spec = _spec(name)
    try:
        words = spec.step_words(args or {}) if spec else ""
    except (KeyError, IndexError, TypeError):
        words = ""
    return f"{words or 'Running ' + name.replace('_', ' ')}..."


def step_end(name: str, args: dict | None, text: str, *, failed: bool = False) -> str:
    """'Finding lapsed customers... 421 found'; a failed step says so in a few words."""
    if failed:
        return f"{step_start(name, args)} could not finish"
    spec = _spec(name)
    if name == "list_customers" and (text or "").startswith("No "):
        return f"{step_start(name, args)} none found"
    match = _FIRST_NUMBER.search(text or "")
    if spec and spec.done and match:
        return f"{step_start(name, args)} {spec.done.format(n=match.group(1))}"
    return f"{step_start(name, args)} done"
