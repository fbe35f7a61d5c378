"""One interface for both agents, and the factory that picks one from the settings.

An agent holds one conversation: ``ask`` takes the next question and returns a ``Turn`` with the
written answer, the tool calls it made (with their results, artifacts included, for the UI), and its
mode: ``llm``, ``offline``, or ``offline-fallback`` when the model failed and the offline agent answered.
``on_event`` receives progress as it happens, for a live status line and streamed tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from tools.base import ToolContext, ToolResult

Mode = Literal["llm", "offline", "offline-fallback"]


@dataclass
class ToolCall:
    name: str
    args: dict
    result: ToolResult | None = None
    error: str | None = None  # the plain sentence when the tool failed

    def as_dict(self) -> dict:
        return {"name": self.name, "args": self.args}


@dataclass
class Turn:
    question: str
    answer: str
    mode: Mode
    tool_calls: list[ToolCall] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"question": self.question, "answer": self.answer, "mode": self.mode,
                "tool_calls": [c.as_dict() for c in self.tool_calls]}


@dataclass(frozen=True)
class Event:
    """Progress: kind 'tool_start' (name, args), 'tool_end' (name, text = summary or error), 'token' (text)."""

    kind: Literal["tool_start", "tool_end", "token"]
    name: str = ""
    args: dict | None = None
    text: str = ""


OnEvent = Callable[[Event], None]


class Agent(Protocol):
    mode: Mode

    def ask(self, question: str, *, on_event: OnEvent | None = None) -> Turn: ...


def make_agent(ctx: ToolContext, settings: dict[str, str] | None = None) -> Agent:
    """The LLM agent when a key is configured, else the offline agent (LangChain is not even imported)."""
    from agent.settings import load_settings

    settings = settings if settings is not None else load_settings()
    if settings.get("OPENAI_API_KEY"):
        from agent.llm import LLMAgent

        return LLMAgent(ctx, settings)
    from agent.offline import OfflineAgent

    return OfflineAgent(ctx)
