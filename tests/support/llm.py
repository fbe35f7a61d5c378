"""Asking the model agent in tests: its settings against the fake server (tests/fake_openai.py; the ``fake``
fixture in tests/conftest.py), a scripted chat model for tests with no server, and what a turn showed."""

from __future__ import annotations

import json
import re
from itertools import count

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field

from agent.llm import LLMAgent

from ..fake_openai import FakeOpenAI


def settings_for(fake: FakeOpenAI, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake.base_url,
        "SEGMENTS_MODEL": "fake-model",
        "SEGMENTS_MODEL_TIMEOUT": "10",
        "SEGMENTS_MAX_TOOL_CALLS": "6",
        **extra,
    }


def first_number(summary: str) -> str:
    """The first count a tool's summary states, as it writes it (e.g. '586')."""
    return re.search(r"\d[\d,]*", summary).group(0)


def ask(agent: LLMAgent, question: str):
    events = []
    turn = agent.ask(question, on_event=events.append)
    return turn, events


def shown_at_the_end(events) -> str:
    """What a live view shows once the turn is over: the tokens after the last retraction."""
    kinds = [e.kind for e in events]
    last = max((i for i, k in enumerate(kinds) if k == "retract"), default=-1)
    return "".join(e.text for e in events[last + 1 :] if e.kind == "token")


# -- a scripted chat model ---------------------------------------------------------------------------------


class ScriptedModel(GenericFakeChatModel):
    """GenericFakeChatModel that create_agent can use: bind_tools, and tool calls kept when streamed.

    ``seen`` holds the messages of every call, so a test can check what the model was told.
    """

    seen: list = Field(default_factory=list)

    def bind_tools(self, tools, **kwargs):
        return self

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        step = next(self.messages)
        step = AIMessage(step) if isinstance(step, str) else step
        chunks = [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(step.tool_calls)
        ]
        yield ChatGenerationChunk(message=AIMessageChunk(content=step.content, tool_call_chunks=chunks))

    def unused(self) -> list:
        return list(self.messages)


_ids = count()


def call(name: str, **args) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"scripted_{next(_ids)}"}])


def scripted(*steps) -> ScriptedModel:
    return ScriptedModel(messages=iter(steps))


SETTINGS = {"SEGMENTS_MAX_TOOL_CALLS": "6", "SEGMENTS_MODEL_TIMEOUT": "10"}
