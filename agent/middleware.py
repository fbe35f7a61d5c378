"""What wraps every model call of the LLM agent: the personal-data guard, the transport's quirks, the deadline.

Each class is one LangChain ``AgentMiddleware`` with one job. Order matters; ``agent.llm`` lists them:

- ``GuardPersonalData``: every text of a request passes the privacy guard (outermost, so nothing added later
  escapes it; what the other middleware add is the app's own text);
- ``ModelTransport``: the turn's deadline before each call, and what servers really do with a request: a
  stream they cannot send (switch to plain replies), ``tool_choice`` they refuse (say it in words instead),
  tools they do not support, a reply no client can read; each becomes one exception ``agent.llm`` explains;
- ``RetryMalformedToolCalls``: one retry for tool-call arguments that are not JSON;
- ``ToolCallsFromText``: tool calls a server passed through as text (``<tool_call>..``, ``[TOOL_CALLS]``, bare
  JSON) and arguments with text after the JSON become proper tool calls (``agent.shapes``), inside the model
  call, so every ``after_model`` hook (the malformed-call retry, the tool-call limit) and the run's stream see
  the calls the model meant.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired, TypeVar

import httpx
import openai
from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse, hook_config
from langchain.agents.middleware.types import PrivateStateAttr
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.channels.untracked_value import UntrackedValue

from agent.shapes import repair_arguments, split_tool_calls
from segmentation.safety.privacy import Guard, Names

# Said to a model that answered a data question without a tool, where the server will not take tool_choice.
USE_A_TOOL = (
    "This question is about the shop's data. Answer it by calling one of the tools first; an answer "
    "written without a tool result will not be shown."
)


def for_model(name: str, *, summary: str | None = None, error: str | None = None) -> str:
    """What the model reads from a tool: JSON, so quotes or instructions inside the data cannot break out."""
    body = {"tool": name, "error": error} if error is not None else {"tool": name, "result": summary}
    return json.dumps(body, ensure_ascii=False)


@dataclass
class TurnClock:
    """One turn's overall deadline, and whether the agent has already given up on it. The turn's worker thread
    sets it in ``CLOCK``; LangGraph copies the context into the threads it runs nodes in, so every model call and
    tool of that turn (and none of the next turn's) sees it."""

    deadline: float  # time.monotonic() by which the turn must end
    cancelled: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        if self.cancelled.is_set() or time.monotonic() > self.deadline:
            raise PastDeadline()


CLOCK: ContextVar[TurnClock | None] = ContextVar("segments_turn_clock", default=None)


def check_clock() -> None:
    """Stop the turn here if its time is up (before a model call, before a tool)."""
    clock = CLOCK.get()
    if clock is not None:
        clock.check()


# -- what a model call can end in, besides an answer -------------------------------------------------------


class MalformedToolCall(Exception):
    """The model sent tool-call arguments that are not JSON, twice in one question."""


class EmptyAnswer(Exception):
    """The model ended its turn without a word."""


class PastDeadline(Exception):
    """The turn ran past its overall deadline (a server can trickle a token every 20 s forever)."""


class NoToolSupport(Exception):
    """The server says this model cannot use tools (Ollama: "does not support tools"; llama.cpp: "tools param
    requires --jinja flag")."""


class StreamingRefused(Exception):
    """The server will not stream: a 400 naming ``stream``, or a reply with no chunks at all."""


class UnreadableReply(Exception):
    """The server's reply could not be read (a malformed stream, a chunk of the wrong shape)."""


MODEL_ERRORS = (
    openai.APIError,
    httpx.TimeoutException,
    httpx.TransportError,
    OutputParserException,
    MalformedToolCall,
    EmptyAnswer,
    PastDeadline,
    NoToolSupport,
    StreamingRefused,
    UnreadableReply,
)


def _server_words(exc: openai.APIStatusError) -> str:
    """The server's own message (its error body's, else the exception's), lower-case, for matching."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message:
            return str(message).lower()
    return str(exc).lower()


def _about_tool_choice(words: str) -> bool:
    return "tool_choice" in words or "tool choice" in words


def _about_tools(words: str) -> bool:
    return ("tool" in words or "function" in words) and not _about_tool_choice(words)


def _about_streaming(words: str) -> bool:
    return "stream" in words


# -- the middleware ----------------------------------------------------------------------------------------


class _MalformedState(AgentState[Any]):
    malformed_retries: NotRequired[Annotated[int, UntrackedValue, PrivateStateAttr]]


class RetryMalformedToolCalls(AgentMiddleware[_MalformedState, Any]):
    """One retry for tool calls whose arguments do not parse: tell the model, let it try again."""

    state_schema = _MalformedState

    @hook_config(can_jump_to=["model"])
    def after_model(self, state: _MalformedState, runtime: Any) -> dict[str, Any] | None:
        last = state["messages"][-1]
        bad = last.invalid_tool_calls if isinstance(last, AIMessage) else []
        if not bad:
            return None
        if state.get("malformed_retries", 0) >= 1 or any(not call.get("id") for call in bad):
            raise MalformedToolCall(f"{len(bad)} malformed tool call(s)")
        replies = [
            ToolMessage(
                for_model(call.get("name") or "unknown", error="The arguments were not valid JSON; call again."),
                tool_call_id=call["id"],
                name=call.get("name") or "unknown",
                status="error",
            )
            for call in bad
        ]
        update: dict[str, Any] = {"malformed_retries": 1, "messages": replies}
        if isinstance(last, AIMessage) and not last.tool_calls:  # nothing else to run: straight back to the model
            update["jump_to"] = "model"
        return update


class ToolCallsFromText(AgentMiddleware[AgentState[Any], Any]):
    """Around the model call: the message the model sent, with its tool calls where the server left them as text
    or their arguments as JSON with text after it. Done here rather than in ``after_model`` because after_model
    hooks run last-listed first: the tool-call limit would count, and the run's stream would report, the message
    before the repair. ``also_known``: names that count besides the request's tools (the write tools a model is
    never offered, so a call of one written as text is refused and said, as a proper call would be)."""

    def __init__(self, also_known: Iterable[str] = ()) -> None:
        super().__init__()
        self.also_known = frozenset(also_known)

    def wrap_model_call(self, request: ModelRequest, handler: Any) -> Any:
        response = handler(request)
        names = self.also_known | {_tool_name(tool) for tool in request.tools}
        if isinstance(response, AIMessage):
            return with_tool_calls(response, names)
        if isinstance(response, ModelResponse):
            result = [with_tool_calls(m, names) if isinstance(m, AIMessage) else m for m in response.result]
            return ModelResponse(result=result, structured_response=response.structured_response)
        return response


def with_tool_calls(message: AIMessage, names: frozenset[str]) -> AIMessage:
    """``message`` with repaired arguments and the tool calls written in its text; itself when there are none."""
    # ToolCall dicts: the message's own, its repaired invalid ones, or those written in its text (agent.shapes).
    calls: list[Any] = list(message.tool_calls)
    invalid = []
    for bad in message.invalid_tool_calls:
        args = repair_arguments(bad.get("args") or "")
        if args is not None and bad.get("name") and bad.get("id"):
            calls.append({"name": bad["name"], "args": args, "id": bad["id"], "type": "tool_call"})
        else:
            invalid.append(bad)
    content: Any = message.content
    if not calls and not invalid:
        written, rest = split_tool_calls(message.text, names)
        if written:
            calls, content = written, rest
    if len(calls) == len(message.tool_calls) and content is message.content:
        return message
    # A new message with the same id: the stream already showed its text, and _run retracts it on tool calls.
    return AIMessage(
        content=content,
        tool_calls=calls,
        invalid_tool_calls=invalid,
        id=message.id,
        name=message.name,
        response_metadata=message.response_metadata,
        usage_metadata=message.usage_metadata,
        additional_kwargs={k: v for k, v in message.additional_kwargs.items() if k != "tool_calls"},
    )


def _tool_name(tool: Any) -> str:
    if isinstance(tool, dict):  # a provider's tool dict: {"type": "function", "function": {"name": ...}}
        return str(tool.get("name") or tool.get("function", {}).get("name", ""))
    return str(getattr(tool, "name", ""))


_Message = TypeVar("_Message", bound=BaseMessage)  # a masked message keeps its class (a system message stays one)


class GuardPersonalData(AgentMiddleware[AgentState[Any], Any]):
    """Around every model call: each text in the request (system prompt, questions, history, tool results and
    errors) passes the personal-data guard, so no tool, prompt or replayed turn can forget it. The state keeps
    the original text (it never leaves this process); only the request is masked."""

    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self.guard = guard

    def wrap_model_call(self, request: ModelRequest, handler: Any) -> Any:
        names = self.guard.names()  # the shop's names: looked up once per request, not per message
        system = request.system_message
        return handler(
            request.override(
                messages=[self._masked(m, names) for m in request.messages],
                system_message=self._masked(system, names) if system is not None else None,
            )
        )

    def _masked(self, message: _Message, names: Names) -> _Message:
        content = message.content
        if isinstance(content, str):
            masked: Any = self.guard.mask(content, names)
        else:
            masked = [self._block(b, names) for b in content]
        return message if masked == content else message.model_copy(update={"content": masked})

    def _block(self, block: Any, names: Names) -> Any:
        if isinstance(block, str):
            return self.guard.mask(block, names)
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            return {**block, "text": self.guard.mask(block["text"], names)}
        return block


class ModelTransport(AgentMiddleware[AgentState[Any], Any]):
    """The conversation's knowledge of its server, and the turn's deadline, applied to every model call.

    ``require_tool`` (set by the agent for a second try at a data question) asks for a tool on the turn's first
    model call: with ``tool_choice="required"``, or, where the server refuses that (vLLM without
    ``--enable-auto-tool-choice`` answers 400), with ``USE_A_TOOL`` added to the system prompt; the refusal is
    remembered, so the next time goes straight to words. A server that will not stream is asked again without
    streaming (``plain_model``), and remembered too.
    """

    def __init__(self, plain_model: BaseChatModel | None) -> None:
        super().__init__()
        self.plain_model = plain_model  # the same model without streaming; None: the model given never streams
        self.streams = plain_model is not None
        self.takes_tool_choice = True
        self.require_tool = False

    def wrap_model_call(self, request: ModelRequest, handler: Any) -> Any:
        check_clock()
        if self.require_tool and _first_call_of_turn(request.messages):
            request = self._requiring_a_tool(request)
        if not self.streams and self.plain_model is not None:
            request = request.override(model=self.plain_model)
        try:
            return self._call(request, handler)
        except StreamingRefused:
            if not self.streams or self.plain_model is None:
                raise
            self.streams = False  # this server does not stream: plain replies from now on
            return self._call(request.override(model=self.plain_model), handler)

    def _requiring_a_tool(self, request: ModelRequest) -> ModelRequest:
        if self.takes_tool_choice:
            return request.override(tool_choice="required")
        return _with_instruction(request)

    def _call(self, request: ModelRequest, handler: Any) -> Any:
        try:
            return handler(request)
        except openai.APIStatusError as exc:
            words = _server_words(exc)
            if request.tool_choice is not None and _about_tool_choice(words) and exc.status_code < 500:
                self.takes_tool_choice = False  # said in words from now on
                return self._call(_with_instruction(request.override(tool_choice=None)), handler)
            if self.streams and exc.status_code in (400, 415, 422, 501) and _about_streaming(words):
                raise StreamingRefused(words) from exc
            if _about_tools(words) and exc.status_code in (400, 404, 422, 500, 501):
                raise NoToolSupport(words) from exc
            raise
        except MODEL_ERRORS:
            raise
        except ValueError as exc:  # LangChain's "No generations found in stream": a JSON body to a stream request
            if self.streams and "generation" in str(exc).lower():
                raise StreamingRefused(str(exc)) from exc
            raise UnreadableReply(type(exc).__name__) from exc
        except Exception as exc:  # anything else a reply of the wrong shape makes the client raise
            check_clock()  # a call the agent abandoned may fail any way on the way out: that is the deadline
            raise UnreadableReply(type(exc).__name__) from exc


def _first_call_of_turn(messages: Sequence[BaseMessage]) -> bool:
    """No tool has answered since the person's last question: the turn's first model call."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return True
        if isinstance(message, ToolMessage):
            return False
    return True


def _with_instruction(request: ModelRequest) -> ModelRequest:
    # In the system prompt, not a second system message: many local chat templates allow only one, first.
    system = request.system_message
    text = f"{system.text}\n\n{USE_A_TOOL}" if system is not None else USE_A_TOOL
    return request.override(system_message=SystemMessage(text))
