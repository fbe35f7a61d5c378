"""The LLM agent: LangChain's ``create_agent`` over ``ChatOpenAI``, so any OpenAI-compatible server works.

One LangChain tool per registry entry, all made by ``make_tool``: the arguments are the tool's pydantic
model, the description its docstring, and the result ``(content, artifact)``: the content is the PII-free
summary (quoted as JSON, so text from the data stays data), the artifact the ``ToolResult`` the person
sees and the model never does. The store reaches tools as the run's context (``context_schema``).

Bounded: at most ``SEGMENTS_MAX_TOOL_CALLS`` tool calls per question, then two more model calls to
answer before the run is stopped. When the model fails after the client's one retry (timeout, 429, 5xx,
a malformed tool call twice, no answer at all), the offline agent answers instead and says so.

The model reads; it never changes the shop. Only read-only tools (``ToolSpec.read_only``) are offered to it:
``load_data`` (the one tool that writes, and can replace every customer) is not, so a model that answers "who
are my champions?" with ``load_data {"source": "demo", "replace": true}`` gets "not a valid tool", the store is
untouched, and the answer says so (``WRITE_REFUSED``). Loading data is the person's own act: the sidebar's
import or demo button, or ``segments import``; the offline agent still loads when the person's own words ask.

Everything the model reads passes one guard at the one point where a request is made (``GuardPersonalData``,
around every model call): the system prompt, the person's questions, the history replayed, tool summaries and
tool errors. Emails, phone numbers, postcodes, street addresses and the shop's own customers' names are
replaced by labels and counted (``segmentation.privacy``); the values are never sent.

Only this module imports LangChain: the factory imports it when a key is configured, so the command
line starts fast offline.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import re
import threading
from pathlib import Path
from typing import Annotated, Any, NotRequired

import httpx
import openai
from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    AgentState,
    ModelCallLimitMiddleware,
    ModelRequest,
    ToolCallLimitMiddleware,
    hook_config,
)
from langchain.agents.middleware.types import PrivateStateAttr
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.channels.untracked_value import UntrackedValue
from langgraph.runtime import get_runtime

from agent.base import Event, Mode, OnEvent, ToolCall, Turn
from segmentation.privacy import Guard, Names, shop_names
from tools.base import ToolArgsError, ToolContext, ToolFailure, ToolResult, ToolSpec, explain_validation, run_tool
from tools.registry import REGISTRY

log = logging.getLogger(__name__)

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
FALLBACK_NOTE = "The language model could not be reached ({why}), so this is the offline assistant's answer."
HISTORY_QUESTIONS = 12  # earlier questions (with their tool results) the model is shown again
STOPPED_NOTE = (
    "I stopped after {n} tool calls, the most I make for one question, before the model wrote an answer; "
    "the results so far are below. Try a narrower question."
)
NO_NAMES = Names()  # no store yet: nothing of the shop's to mask, one object (the guard remembers by it)
WRITE_REFUSED = (
    "(The language model asked to run {tools}, which would change your shop's data; the assistant never lets a "
    "model do that, so nothing was changed. To load or replace data, use Import or the demo button in the "
    "sidebar, or `segments import FILE`.)"
)


# LangChain runs parallel tool calls in threads, but the store's sandboxed connections cannot overlap in
# one process (DuckDB shares one instance per file, and the first connection locks its configuration).
_ONE_TOOL_AT_A_TIME = threading.Lock()


def load_prompt(name: str) -> str:
    return (PROMPTS / f"{name}.md").read_text(encoding="utf-8").strip()


# -- tools -------------------------------------------------------------------------------------------------


def for_model(name: str, *, summary: str | None = None, error: str | None = None) -> str:
    """What the model reads from a tool: JSON, so quotes or instructions inside the data cannot break out."""
    body = {"tool": name, "error": error} if error is not None else {"tool": name, "result": summary}
    return json.dumps(body, ensure_ascii=False)


def model_tools() -> list[ToolSpec]:
    """The tools a model may call: the read-only ones. A tool that loads, replaces or deletes data is the
    person's to run (in the app or the command line), never a model's."""
    return [spec for spec in REGISTRY.values() if spec.read_only]


def make_tool(spec: ToolSpec) -> StructuredTool:
    """The one adapter from a registry entry to a LangChain tool (content and artifact)."""

    if not spec.read_only:  # a second lock on the door: see model_tools
        raise ValueError(f"{spec.name} changes the shop's data and is never offered to a model")

    def call(**args: Any) -> tuple[str, ToolResult | str | None]:
        # The run's context is read with get_runtime, not a ``runtime: ToolRuntime`` parameter: LangChain
        # 1.x cannot inject one into a tool whose schema has no fields or forbids extra ones, as ours do.
        runtime = get_runtime(ToolContext)
        try:
            with _ONE_TOOL_AT_A_TIME:
                # Written to the run's stream, so the caller's thread reports it (Streamlit needs that).
                runtime.stream_writer({"tool_start": spec.name})
                result = run_tool(spec.name, args, runtime.context)
        except ToolArgsError as exc:  # the model can fix it: the message names the valid choices
            return for_model(spec.name, error=str(exc)), None
        except ToolFailure as exc:  # one plain sentence, for the model and the person alike
            return for_model(spec.name, error=str(exc)), str(exc)
        except Exception:  # a bug: logged here; its text (which may quote data) goes to neither
            log.exception("tool %s failed", spec.name)
            sentence = f"The {spec.name} step failed unexpectedly; the error was logged."
            return for_model(spec.name, error=sentence), sentence
        return for_model(spec.name, summary=result.summary), result

    return StructuredTool.from_function(
        func=call,
        name=spec.name,
        description=inspect.cleandoc(spec.description),
        args_schema=spec.args_model,
        response_format="content_and_artifact",
        # LangChain validates against args_schema before ``call``: say it as run_tool's ToolArgsError would.
        handle_validation_error=lambda exc: for_model(spec.name, error=explain_validation(spec.name, exc)),
    )


# -- middleware --------------------------------------------------------------------------------------------


class MalformedToolCall(Exception):
    """The model sent tool-call arguments that are not JSON, twice in one question."""


class _MalformedState(AgentState):
    malformed_retries: NotRequired[Annotated[int, UntrackedValue, PrivateStateAttr]]


class RetryMalformedToolCalls(AgentMiddleware):
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
        if not last.tool_calls:  # nothing else to run: straight back to the model
            update["jump_to"] = "model"
        return update


class GuardPersonalData(AgentMiddleware):
    """Around every model call: each text in the request (system prompt, questions, history, tool results and
    errors) passes the personal-data guard, so no tool, prompt or replayed turn can forget it. The state keeps
    the original text (it never leaves this process); only the request is masked."""

    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self.guard = guard

    def wrap_model_call(self, request: ModelRequest, handler: Any) -> Any:
        names = self.guard.names()  # the shop's names: looked up once per request, not per message
        system = request.system_message
        return handler(request.override(
            messages=[self._masked(m, names) for m in request.messages],
            system_message=self._masked(system, names) if system is not None else None,
        ))

    def _masked(self, message: BaseMessage, names: Names) -> BaseMessage:
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


# -- the agent ---------------------------------------------------------------------------------------------


class EmptyAnswer(Exception):
    """The model ended its turn without a word."""


MODEL_ERRORS = (
    openai.APIError,
    httpx.TimeoutException,
    httpx.TransportError,
    OutputParserException,
    MalformedToolCall,
    EmptyAnswer,
)


def chat_model(settings: dict[str, str]) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.get("SEGMENTS_MODEL") or "gpt-4o-mini",
        api_key=settings.get("OPENAI_API_KEY") or "none",  # local servers (Ollama, vLLM) take any key
        base_url=settings.get("OPENAI_BASE_URL") or None,
        timeout=_number(settings.get("SEGMENTS_MODEL_TIMEOUT"), 30.0, float),
        max_retries=1,
        streaming=True,
        use_responses_api=False,  # chat completions: what every OpenAI-compatible server speaks
    )


@functools.cache
def _own_words() -> frozenset[str]:
    """Words of the app's own text for the model (prompt, tool descriptions and examples) and of the offline
    agent's phrase tables (the words owners ask with, country names among them): a customer named "Data",
    "Group" or "Little" must not turn the instructions or "the little spenders" into "[name]"."""
    from agent import intents

    tables = [value for name, value in vars(intents).items() if name.isupper()]
    text = " ".join([load_prompt("system"), *(f"{s.name} {s.description} {' '.join(s.examples)}"
                                               for s in REGISTRY.values()), *_strings(tables)])
    return frozenset(w.lower() for w in re.findall(r"[^\W\d_]+", text))


def _strings(value: Any) -> list[str]:
    """Every string inside nested tables (tuples, lists, sets, dicts' keys and values)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _strings(list(value.keys())) + _strings(list(value.values()))
    if isinstance(value, list | tuple | set | frozenset):
        return [s for item in value for s in _strings(item)]
    return []


class LLMAgent:
    """One conversation with a language model that answers through the registry's tools."""

    mode: Mode = "llm"

    def __init__(self, ctx: ToolContext, settings: dict[str, str], *, model: BaseChatModel | None = None) -> None:
        self.ctx = ctx
        self.max_tool_calls = max(_number(settings.get("SEGMENTS_MAX_TOOL_CALLS"), 6, int), 1)
        self.timeout = _number(settings.get("SEGMENTS_MODEL_TIMEOUT"), 30.0, float)
        self._names_of: tuple[Names | None, Names] = (None, NO_NAMES)
        self.guard = Guard(names=self._names)
        self.graph = create_agent(
            model or chat_model(settings),
            tools=[make_tool(spec) for spec in model_tools()],
            system_prompt=load_prompt("system"),
            context_schema=ToolContext,
            middleware=[
                # Personal data the person types or a tool result quotes is masked in every request.
                GuardPersonalData(self.guard),
                RetryMalformedToolCalls(),
                # Past the limit, calls are refused with a message and the model may still answer;
                # one that keeps calling is stopped two model calls later.
                ToolCallLimitMiddleware(run_limit=self.max_tool_calls, exit_behavior="continue"),
                ModelCallLimitMiddleware(run_limit=self.max_tool_calls + 2, exit_behavior="end"),
            ],
        )
        self.history: list[BaseMessage] = []
        self._offline = None  # the offline agent, made when the model first fails; it keeps its own context

    def ask(self, question: str, *, on_event: OnEvent | None = None) -> Turn:
        emit = on_event or (lambda event: None)
        try:
            messages, calls, stopped = self._run([*self._recent(), HumanMessage(question)], emit)
        except MODEL_ERRORS as exc:
            return self._fallback(question, exc, emit)
        if stopped:
            answer = STOPPED_NOTE.format(n=self.max_tool_calls)
            messages[-1] = AIMessage(answer)
        else:
            answer = messages[-1].text if isinstance(messages[-1], AIMessage) else ""
            if not answer.strip():
                return self._fallback(question, EmptyAnswer(), emit)
        refused = sorted({c.name for c in calls if c.name in REGISTRY and not REGISTRY[c.name].read_only})
        if refused:  # whatever the model wrote, the person learns that it tried and that nothing changed
            answer = f"{answer}\n\n{WRITE_REFUSED.format(tools=', '.join(refused))}"
        if self.guard.counts:
            log.info("personal data masked before the model in this conversation: %s", self.guard.said())
        self.history = messages
        return Turn(question=question, answer=answer, mode="llm", tool_calls=calls)

    def _names(self) -> Names:
        """The shop's customers' names for the guard, read once per store version; none where there is no store."""
        import duckdb

        from segmentation.store import StoreError

        if not Path(self.ctx.db_path).exists():
            return NO_NAMES
        try:
            with self.ctx.read() as con:
                names = shop_names(con)
        except (StoreError, duckdb.Error, OSError):
            return NO_NAMES
        if self._names_of[0] is not names:  # one object per store version, so the guard's memory holds
            self._names_of = (names, names.with_words(_own_words()))
        return self._names_of[1]

    def _recent(self) -> list[BaseMessage]:
        """The last questions' messages, cut where a question starts so every tool call keeps its result."""
        starts = [i for i, m in enumerate(self.history) if isinstance(m, HumanMessage)]
        return self.history[starts[-HISTORY_QUESTIONS] :] if len(starts) > HISTORY_QUESTIONS else self.history

    def _run(self, messages: list[BaseMessage], emit: OnEvent) -> tuple[list[BaseMessage], list[ToolCall], bool]:
        """Stream one run: report tool steps and tokens as they come; return the messages and the tool calls."""
        steps = _Steps(emit)
        state: dict[str, Any] = {"messages": messages}
        stopped = False
        stream = self.graph.stream(
            {"messages": messages}, context=self.ctx, stream_mode=["messages", "updates", "custom", "values"]
        )
        for kind, chunk in stream:
            if kind == "messages":
                token, meta = chunk
                if isinstance(token, AIMessageChunk) and meta.get("langgraph_node") == "model" and token.text:
                    emit(Event("token", text=token.text))
            elif kind == "custom" and isinstance(chunk, dict) and "tool_start" in chunk:
                steps.start(chunk["tool_start"])
            elif kind == "values":
                state = chunk
            elif kind == "updates":
                for node, update in chunk.items():
                    for message in (update or {}).get("messages", []) if isinstance(update, dict) else []:
                        if isinstance(message, AIMessage) and node == "model":
                            steps.asked(message)
                        elif isinstance(message, ToolMessage):
                            steps.answered(message, ran=node == "tools")
                        elif isinstance(message, AIMessage) and node.startswith("ModelCallLimitMiddleware"):
                            stopped = True
        return list(state["messages"]), steps.calls(), stopped

    def _fallback(self, question: str, exc: Exception, emit: OnEvent) -> Turn:
        """The offline agent's answer, said to be one; the model will see what happened on the next turn."""
        from agent.offline import OfflineAgent

        log.warning("the model failed (%s); the offline assistant answers", type(exc).__name__)
        if self._offline is None:
            self._offline = OfflineAgent(self.ctx, mode="offline-fallback")
        note = FALLBACK_NOTE.format(why=self._why(exc))
        emit(Event("token", text=note + "\n\n"))
        turn = self._offline.ask(question, on_event=emit)
        # Memory for the model: the tools' PII-free summaries, not the offline agent's prose or error texts.
        found = "; ".join(
            f"{c.name}({json.dumps(c.args)}): {c.result.summary if c.result else 'failed'}" for c in turn.tool_calls
        )
        self.history += [
            HumanMessage(question),
            AIMessage(f"(The model was unavailable; the offline assistant answered. Tool results: {found or 'none'}.)"),
        ]
        return Turn(
            question=question, answer=f"{note}\n\n{turn.answer}", mode="offline-fallback", tool_calls=turn.tool_calls
        )

    def _why(self, exc: Exception) -> str:
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return f"no answer within {self.timeout:g} seconds"
        if isinstance(exc, openai.APIStatusError):
            code = exc.status_code
            if code == 429:
                return "it is rate-limited, HTTP 429"
            if code >= 500:
                return f"server error, HTTP {code}"
            return f"HTTP {code}: check OPENAI_API_KEY, OPENAI_BASE_URL and SEGMENTS_MODEL"
        if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            return "the connection failed"
        if isinstance(exc, MalformedToolCall | OutputParserException):
            return "it sent a malformed tool call twice"
        if isinstance(exc, EmptyAnswer):
            return "it gave an empty answer"
        return type(exc).__name__


class _Steps:
    """The tool calls of one run: reported as they start and end, kept in the order the model asked."""

    def __init__(self, emit: OnEvent) -> None:
        self.emit = emit
        self.requested: dict[str, tuple[str, dict]] = {}  # tool call id -> (name, the model's arguments)
        self.started: set[str] = set()
        self.answered_ids: set[str] = set()
        self.done: dict[str, ToolCall] = {}

    def asked(self, message: AIMessage) -> None:
        self.requested |= {c["id"]: (c["name"], dict(c["args"])) for c in message.tool_calls}

    def start(self, name: str) -> None:
        # A tool knows its name, not its call's id: the earliest waiting call of that name is the one.
        waiting = (i for i, (n, _) in self.requested.items() if n == name and i not in self.started | self.answered_ids)
        call_id = next(waiting, None)
        if call_id is not None:
            self.started.add(call_id)
        self.emit(Event("tool_start", name=name, args=dict(self.requested.get(call_id, (name, {}))[1])))

    def answered(self, message: ToolMessage, *, ran: bool) -> None:
        """A tool's reply; ``ran`` is False for calls refused over the limit, which are no step of the turn."""
        self.answered_ids.add(message.tool_call_id)
        if not ran:
            return
        name, args = self.requested.get(message.tool_call_id, (message.name or "", {}))
        if message.tool_call_id not in self.started:  # refused before it ran (bad arguments): still a step
            self.emit(Event("tool_start", name=name, args=dict(args)))
        call = ToolCall(name=name, args=dict(args))
        if isinstance(message.artifact, ToolResult):
            call.result = message.artifact
        else:  # our adapter's sentence, or LangChain's own (bad arguments, no such tool)
            call.error = message.artifact if isinstance(message.artifact, str) else _error_of(message)
        self.done[message.tool_call_id] = call
        self.emit(Event("tool_end", name=name, text=call.error or call.result.summary))

    def calls(self) -> list[ToolCall]:
        return [self.done[i] for i in self.requested if i in self.done]


def _error_of(message: ToolMessage) -> str:
    try:
        return str(json.loads(message.content)["error"])
    except (TypeError, ValueError, KeyError):
        return str(message.content)


def _number(text: str | None, default, kind):
    try:
        return kind(text) if text not in (None, "") else default
    except ValueError:
        return default
