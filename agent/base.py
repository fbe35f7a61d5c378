"""One interface for both agents, and the factory that picks one from the settings.

An agent holds one conversation: ``ask`` takes the next question and returns a ``Turn`` with the
written answer, the tool calls it made (with their results, artifacts included, for the UI), and its
mode: ``llm``, ``offline``, or ``offline-fallback`` when the model failed and the offline agent answered.
``on_event`` receives progress as it happens, for a live status line and streamed tokens.

Every turn carries a ``grounded`` verdict: ``CHECKED`` when a model's answer passed the grounding check
(``agent.grounding``: it looked at the data, and every number it wrote is in this turn's tool results or the
question), ``OFFLINE`` when the offline assistant wrote it from the tools' results itself, or the reason in
words why a model's answer was not shown and the offline assistant answered instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from tools.base import ToolContext, ToolResult

Mode = Literal["llm", "offline", "offline-fallback"]
CHECKED = "checked"  # a model's answer that passed the grounding check
OFFLINE = "offline"  # the offline assistant's own answer: written from the tool results, nothing to check


@dataclass
class ToolCall:
    name: str
    args: dict
    result: ToolResult | None = None
    error: str | None = None  # the plain sentence when the tool failed

    def as_dict(self) -> dict:
        """Name and arguments, and what the model read of the result: its summary, or the error sentence."""
        return {
            "name": self.name,
            "args": self.args,
            "summary": self.result.summary if self.result is not None else None,
            "error": self.error,
        }


@dataclass
class Turn:
    question: str
    answer: str
    mode: Mode
    tool_calls: list[ToolCall] = field(default_factory=list)
    grounded: str = OFFLINE  # CHECKED, OFFLINE, or why the model's answer fell back (see the module's doc)

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "mode": self.mode,
            "grounded": self.grounded,
            "tool_calls": [c.as_dict() for c in self.tool_calls],
        }


@dataclass(frozen=True)
class Event:
    """Progress: kind 'tool_start' (name, args), 'tool_end' (name, text = summary or error), 'token' (text), and
    'retract': the text streamed so far for this answer is withdrawn (a tool call written as text, or an answer
    that failed the grounding check), so a live view clears it; tokens after it start the answer afresh."""

    kind: Literal["tool_start", "tool_end", "token", "retract"]
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
