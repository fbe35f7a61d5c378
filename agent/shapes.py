"""Tool calls in the shapes real servers send them, read back into LangChain's.

A server without a tool parser for its model (vLLM without ``--tool-call-parser``, llama.cpp without
``--jinja``, many Ollama and LM Studio models) passes the model's tool call through as text in the content:

- Hermes and Qwen: ``<tool_call>{"name": "list_customers", "arguments": {"group": "lapsed"}}</tool_call>``;
- Llama 3 and others: a bare ``{"name": .., "parameters": {..}}`` (or ``arguments``), or a list of them;
- in a fenced ```json block;
- Mistral: ``[TOOL_CALLS] [{"name": .., "arguments": {..}}]`` (or ``[TOOL_CALLS]name[ARGS]{..}``).

And arguments that are JSON with something after it (``{"group": "lapsed"} </s>``, ``{"group":"lapsed"}}``),
which the client cannot parse. Only names of known tools count: a JSON example in an answer is no call.
Pure functions, no LangChain: ``agent.middleware.ToolCallsFromText`` applies them to a model's message.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

_DECODER = json.JSONDecoder()
_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCED = re.compile(r"```[ \t]*(?:json|tool_call|tool_code)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_MISTRAL = re.compile(r"\[TOOL_CALLS\]\s*")
_MISTRAL_NAMED = re.compile(r"\[TOOL_CALLS\]\s*([A-Za-z_][\w.-]*)\s*\[ARGS\]\s*")


def repair_arguments(text: str) -> dict | None:
    """The first complete JSON object in ``text``, whatever follows it; None when there is none.

    ``{"group": "lapsed"} </s>`` and ``{"group":"lapsed"}}`` give ``{"group": "lapsed"}``; arguments sent as a
    JSON string holding the object (``"{\\"group\\": ..}"``) are read through the string."""
    text = text.strip()
    if text.startswith('"'):
        try:
            inner, _ = _DECODER.raw_decode(text)
        except ValueError:
            return None
        return repair_arguments(inner) if isinstance(inner, str) else None
    start = text.find("{")
    if start == -1 or text[:start].strip():  # something before the object: not arguments
        return None
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def tool_calls_in_text(content: str, tool_names: Iterable[str]) -> list[dict]:
    """The tool calls written as text in ``content``, as LangChain tool-call dicts (name, args, id, type)."""
    return split_tool_calls(content, tool_names)[0]


def split_tool_calls(content: str, tool_names: Iterable[str]) -> tuple[list[dict], str]:
    """(the tool calls written in ``content``, the text left once they are taken out). Text that holds no call
    of a known tool is left as it is."""
    names = frozenset(tool_names)
    found: list[tuple[int, int, list[dict]]] = []  # (start, end, calls) of each written call
    for match in _TAGGED.finditer(content):
        found.append((match.start(), match.end(), _calls(_values(match.group(1)), names)))
    for match in _FENCED.finditer(content):
        found.append((match.start(), match.end(), _calls(_values(match.group(1)), names)))
    for match in _MISTRAL.finditer(content):
        named = _MISTRAL_NAMED.match(content, match.start())
        if named:  # [TOOL_CALLS]name[ARGS]{...}
            args, end = _value_at(content, named.end())
            value = {"name": named.group(1), "arguments": args} if args is not None else None
        else:
            value, end = _value_at(content, match.end())
        values = value if isinstance(value, list) else [value] if value is not None else []
        found.append((match.start(), end, _calls(values, names)))
    found = [(start, end, calls) for start, end, calls in found if calls]
    if not found:
        stripped = content.strip()
        if stripped[:1] in ("{", "["):  # the whole message a bare call (or several): nothing else is read
            calls = _calls(_values(stripped), names)
            return (calls, "") if calls else ([], content)
        return [], content
    calls, rest, last = [], [], 0
    for start, end, some in sorted(found, key=lambda f: f[0]):
        if start < last:  # inside one already taken (a fenced block inside a <tool_call>)
            continue
        calls += some
        rest.append(content[last:start])
        last = end
    rest.append(content[last:])
    return calls, "".join(rest).strip()


def _value_at(text: str, start: int) -> tuple[Any, int]:
    """The JSON value that starts at ``start`` (after spaces) and where it ends; (None, start) when none."""
    while start < len(text) and text[start].isspace():
        start += 1
    try:
        return _DECODER.raw_decode(text, start)
    except ValueError:
        return None, start


def _values(text: str) -> list[Any]:
    """Every JSON value in ``text``, one after another (separated by spaces, commas or semicolons);
    a list's items count one by one. Stops at the first thing that is not JSON."""
    values: list[Any] = []
    at = 0
    while True:
        while at < len(text) and (text[at].isspace() or text[at] in ",;"):
            at += 1
        if at >= len(text):
            return values
        value, end = _value_at(text, at)
        if value is None or end == at:
            return values
        values += value if isinstance(value, list) else [value]
        at = end


def _calls(values: list[Any], names: frozenset[str]) -> list[dict]:
    """LangChain tool calls for the values that name a known tool; arguments read as ``repair_arguments``."""
    calls = []
    for value in values:
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("function"), dict):  # OpenAI's own shape, written out: {"function": {...}}
            value = value["function"]
        name = value.get("name")
        args = value.get("arguments", value.get("parameters"))
        if args is None or args == "":
            args = {}
        elif isinstance(args, str):  # OpenAI's wire shape: the arguments as a JSON string
            args = repair_arguments(args)
        if name in names and isinstance(args, dict):
            calls.append({"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:24]}", "type": "tool_call"})
    return calls
