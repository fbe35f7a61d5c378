"""The LLM agent: LangChain's ``create_agent`` over ``ChatOpenAI``, so any OpenAI-compatible server works.

One LangChain tool per registry entry, all made by ``make_tool``: the arguments are the tool's pydantic
model, the description its docstring, and the result ``(content, artifact)``: the content is the PII-free
summary (quoted as JSON, so text from the data stays data), the artifact the ``ToolResult`` the person
sees and the model never does. The store reaches tools as the run's context (``context_schema``).

Bounded: at most ``SEGMENTS_MAX_TOOL_CALLS`` tool calls per question, then two more model calls to
answer before the run is stopped, and one deadline over the whole turn (``SEGMENTS_ANSWER_DEADLINE``). When
the model fails after the client's one retry (timeout, 429, 5xx, a malformed tool call twice, a reply that
cannot be read, no answer at all), the offline agent answers instead and says so.

Grounded: no answer is shown that the data does not support. A question about the shop's data answered
without a tool is asked once more, requiring one; an answer that still did not look, or that writes a number
found in none of this turn's tool results nor the question, gives way to the offline assistant, with the
reason in ``Turn.grounded`` (``agent.grounding``). A model the server says cannot use tools is said so once;
the offline assistant answers the rest of the conversation. What wraps each model call (the privacy guard,
the deadline, servers that refuse streaming or ``tool_choice``) is in ``agent.middleware``.

The model reads; it never changes the shop. Only read-only tools (``ToolSpec.read_only``) are offered to it:
``load_data`` (the one tool that writes, and can replace every customer) is not, so a model that answers "who
are my champions?" with ``load_data {"source": "demo", "replace": true}`` gets "not a valid tool", the store is
untouched, and the answer says so (``WRITE_REFUSED``). Loading data is the person's own act: the sidebar's
import or demo button, or ``segments import``; the offline agent still loads when the person's own words ask.

Everything the model reads passes one guard at the one point where a request is made (``GuardPersonalData``,
around every model call): the system prompt, the person's questions, the history replayed, tool summaries and
tool errors. Emails, phone numbers, postcodes, street addresses and the shop's own customers' names are
replaced by labels and counted (``segmentation.safety.privacy``); the values are never sent.

Only this module imports LangChain: the factory imports it when a key is configured, so the command
line starts fast offline.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import httpx
import openai
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ModelCallLimitMiddleware, ToolCallLimitMiddleware
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.runtime import get_runtime
from pydantic import SecretStr

from agent.base import CHECKED, Event, Mode, OnEvent, ToolCall, Turn
from agent.dialogue import State
from agent.grounding import NO_LOOK, about_the_data, check_answer
from agent.middleware import (
    CLOCK,
    MODEL_ERRORS,
    EmptyAnswer,
    GuardPersonalData,
    MalformedToolCall,
    ModelTransport,
    NoToolSupport,
    PastDeadline,
    RetryMalformedToolCalls,
    StreamingRefused,
    ToolCallsFromText,
    TurnClock,
    UnreadableReply,
    check_clock,
    for_model,
)
from segmentation.safety.privacy import Guard, Names, shop_names
from tools.base import ToolArgsError, ToolContext, ToolFailure, ToolResult, ToolSpec, explain_validation, run_tool
from tools.registry import REGISTRY

if TYPE_CHECKING:  # loaded when the model first fails, not before
    from agent.offline import OfflineAgent

log = logging.getLogger(__name__)

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
FALLBACK_NOTE = "The language model could not be reached ({why}), so this is the offline assistant's answer."
NOT_SHOWN_NOTE = "The model's answer was not shown ({why}), so this is the offline assistant's answer."
NO_TOOLS_NOTE = (
    "This model does not call tools, so it cannot read your shop's data; the offline assistant answers in this "
    "conversation."
)
NO_TOOLS = "this model does not call tools"
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
                check_clock()  # a turn past its deadline runs no more tools
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


# -- the agent ---------------------------------------------------------------------------------------------


def chat_model(settings: dict[str, str], *, streaming: bool = True) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.get("SEGMENTS_MODEL") or "gpt-4o-mini",
        api_key=SecretStr(settings.get("OPENAI_API_KEY") or "none"),  # local servers (Ollama, vLLM) take any key
        base_url=settings.get("OPENAI_BASE_URL") or None,
        timeout=_number(settings.get("SEGMENTS_MODEL_TIMEOUT"), 30.0, float),
        max_retries=1,
        streaming=streaming,
        use_responses_api=False,  # chat completions: what every OpenAI-compatible server speaks
    )


@functools.cache
def _own_words() -> frozenset[str]:
    """Words of the app's own text for the model (prompt, tool descriptions and examples) and of the offline
    agent's phrase tables (the words owners ask with, country names among them): a customer named "Data",
    "Group" or "Little" must not turn the instructions or "the little spenders" into "[name]"."""
    from agent import intents

    tables = [value for name, value in vars(intents).items() if name.isupper()]
    text = " ".join(
        [
            load_prompt("system"),
            *(f"{s.name} {s.description} {' '.join(s.examples)}" for s in REGISTRY.values()),
            *_strings(tables),
        ]
    )
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


@dataclass
class _Run:
    """One run of the graph for a question: its messages, the tool calls made, and whether it was stopped."""

    messages: list[BaseMessage]
    calls: list[ToolCall]
    stopped: bool

    @property
    def answer(self) -> str:
        last = self.messages[-1] if self.messages else None
        return last.text if isinstance(last, AIMessage) else ""

    def results(self) -> list[str]:
        """This turn's tool results as the model read them (the JSON strings), for the grounding check."""
        turn_start = max((i for i, m in enumerate(self.messages) if isinstance(m, HumanMessage)), default=-1)
        return [m.text for m in self.messages[turn_start + 1 :] if isinstance(m, ToolMessage)]

    def drafts(self) -> list[dict]:
        """The facts of this turn's drafts, with their offer, so a draft the model rewrites keeps them."""
        return [
            {**c.result.facts, "offer": (c.result.draft or {}).get("offer", "")}
            for c in self.calls
            if c.name == "draft_campaign" and c.result is not None
        ]


class LLMAgent:
    """One conversation with a language model that answers through the registry's tools.

    Every answer is checked before the person sees it (``agent.grounding``): a question about the shop's data
    answered without a tool is asked once more, requiring one; an answer that still did not look, or that
    holds a number found in none of the turn's tool results (nor in the question), is replaced by the offline
    assistant's, with the reason (``Turn.grounded``). The turn has one deadline over every call of it.
    """

    mode: Mode = "llm"

    def __init__(self, ctx: ToolContext, settings: dict[str, str], *, model: BaseChatModel | None = None) -> None:
        self.ctx = ctx
        self.max_tool_calls = max(_number(settings.get("SEGMENTS_MAX_TOOL_CALLS"), 6, int), 1)
        self.timeout = _number(settings.get("SEGMENTS_MODEL_TIMEOUT"), 30.0, float)
        self.turn_seconds = _number(settings.get("SEGMENTS_ANSWER_DEADLINE"), 120.0, float)
        self._names_of: tuple[Names | None, Names] = (None, NO_NAMES)
        self.guard = Guard(names=self._names)
        # A given model (tests) is used as it is; the configured one has a twin that does not stream.
        self.transport = ModelTransport(None if model is not None else chat_model(settings, streaming=False))
        self.graph = create_agent(
            model or chat_model(settings),
            tools=[make_tool(spec) for spec in model_tools()],
            system_prompt=load_prompt("system"),
            context_schema=ToolContext,
            # Each middleware keeps its own state (create_agent merges their schemas), which the library's
            # Sequence[AgentMiddleware[StateT, ...]] cannot say of a mixed list: typed as the list it is.
            middleware=cast(
                "list[AgentMiddleware[Any, ToolContext]]",
                [
                    # Personal data the person types or a tool result quotes is masked in every request.
                    GuardPersonalData(self.guard),
                    # The deadline, streaming refused, tool_choice refused, no tools, unreadable replies.
                    self.transport,
                    RetryMalformedToolCalls(),
                    # Tool calls a server left as text, arguments with text after the JSON: proper calls, repaired
                    # inside the model call, so the retry above and the limits below judge the repaired message.
                    # Every registry name counts, so a write tool "called" in text is refused like a real call.
                    ToolCallsFromText(also_known=REGISTRY),
                    # Past the limit, calls are refused with a message and the model may still answer;
                    # one that keeps calling is stopped two model calls later.
                    ToolCallLimitMiddleware(run_limit=self.max_tool_calls, exit_behavior="continue"),
                    ModelCallLimitMiddleware(run_limit=self.max_tool_calls + 2, exit_behavior="end"),
                ],
            ),
        )
        self.history: list[BaseMessage] = []
        self.calls_tools = True  # False once the server says this model cannot: the offline assistant answers
        self._offline: OfflineAgent | None = None  # the offline agent, made when the model first fails
        # Every call of the conversation that worked, (tool, args, facts), oldest first: the offline agent that
        # answers a turn in the model's place resumes from them, so "them" still means the model's last group.
        self._said: list[tuple[str, dict, dict | None]] = []
        self._start = State()  # what the conversation was about before ``_said`` (a restored saved turn's context)

    def resume(self, calls: list[tuple[str, dict, dict | None]]) -> None:
        """Carry on a saved conversation (a page refresh): a fallback's "them" is the saved turns' group."""
        self._start, self._said = State(), list(calls)

    def context(self) -> dict[str, Any]:
        """What the conversation is about now (the offline rules' view of it), kept with the turn just answered."""
        return self._state().to_dict()

    def restore(self, context: dict[str, Any] | None, recent: list[tuple[str, str]] | None = None) -> None:
        """Carry on from a saved turn (a teammate's, or this session's before a refresh): a fallback starts from
        its ``context``, and the model is shown ``recent`` (questions and the answers given, oldest first) as the
        conversation so far, so "them" means to it what it meant to whoever asked last."""
        self._start, self._said = State.from_dict(context), []
        self.history = [
            m
            for question, answer in (recent or [])[-HISTORY_QUESTIONS:]
            for m in (HumanMessage(question), AIMessage(answer))
        ]

    def saw(self, tool: str, args: dict[str, Any], facts: dict[str, Any] | None) -> None:
        """A result the person saw outside the chat (the Segments tab's groups): the offline rules that answer in
        the model's place take it as the last call. The model itself is not told: it names k in its calls."""
        self._said.append((tool, dict(args), facts))

    def _state(self) -> State:
        state = self._start
        for tool, args, facts in self._said:
            state = state.after(tool, args, facts)
        return state

    def ask(self, question: str, *, on_event: OnEvent | None = None) -> Turn:
        emit = on_event or (lambda event: None)
        if not self.calls_tools:  # said once, on the turn that found out; from then on the offline assistant
            return self._fallback(question, NO_TOOLS, emit, note=None)
        clock = TurnClock(deadline=time.monotonic() + self.turn_seconds)
        try:
            run = self._run([*self._recent(), HumanMessage(question)], emit, clock)
            if not run.calls and not run.stopped and about_the_data(question):
                # It answered a data question from nowhere: once more, requiring a tool.
                emit(Event("retract"))
                self.transport.require_tool = True
                try:
                    run = self._run([*self._recent(), HumanMessage(question)], emit, clock)
                finally:
                    self.transport.require_tool = False
                if not run.calls:
                    return self._fallback(question, NO_LOOK, emit, note=NOT_SHOWN_NOTE)
        except NoToolSupport:
            self.calls_tools = False
            return self._fallback(question, NO_TOOLS, emit, note=NO_TOOLS_NOTE)
        except MODEL_ERRORS as exc:
            return self._fallback(question, self._why(exc), emit)
        if run.stopped:
            answer = STOPPED_NOTE.format(n=self.max_tool_calls)
            run.messages[-1] = AIMessage(answer)
        else:
            answer = run.answer
            if not answer.strip():
                return self._fallback(question, self._why(EmptyAnswer()), emit)
            verdict = check_answer(
                answer,
                question=question,
                results=run.results(),
                called_tools=bool(run.calls),
                drafts=run.drafts(),
                names=self.guard.names(),
                asked=[c.args for c in run.calls],
            )
            if not verdict.ok:
                log.info("a model answer failed the grounding check: %s", verdict.reason)
                emit(Event("retract"))
                return self._fallback(question, verdict.reason, emit, note=NOT_SHOWN_NOTE, kept=run.calls)
        refused = sorted({c.name for c in run.calls if c.name in REGISTRY and not REGISTRY[c.name].read_only})
        if refused:  # whatever the model wrote, the person learns that it tried and that nothing changed
            answer = f"{answer}\n\n{WRITE_REFUSED.format(tools=', '.join(refused))}"
        if self.guard.counts:
            log.info("personal data masked before the model in this conversation: %s", self.guard.said())
        self.history = run.messages
        self._remember(run.calls)
        return Turn(question=question, answer=answer, mode="llm", tool_calls=run.calls, grounded=CHECKED)

    def _remember(self, calls: list[ToolCall]) -> None:
        self._said += [(c.name, c.args, c.result.facts) for c in calls if c.result is not None]

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

    def _run(self, messages: list[BaseMessage], emit: OnEvent, clock: TurnClock) -> _Run:
        """Stream one run in a worker thread, reporting tool steps and tokens here as they come, until the turn's
        deadline: a server that trickles a token every 20 s never trips the client's per-read timeout."""
        steps = _Steps(emit)
        state: dict[str, Any] = {"messages": messages}
        stopped, streamed = False, False
        for kind, chunk in _until(clock, self._stream, messages, clock):
            if kind == "messages":
                token, meta = chunk
                if isinstance(token, AIMessageChunk) and meta.get("langgraph_node") == "model" and token.text:
                    emit(Event("token", text=token.text))
                    streamed = True
            elif kind == "custom" and isinstance(chunk, dict) and "tool_start" in chunk:
                steps.start(chunk["tool_start"])
            elif kind == "values":
                state = chunk
            elif kind == "updates":
                for node, update in chunk.items():
                    for message in (update or {}).get("messages", []) if isinstance(update, dict) else []:
                        if isinstance(message, AIMessage) and node == "model":
                            steps.asked(message)
                            if streamed and message.tool_calls:  # words before a tool call, or the call as text
                                emit(Event("retract"))
                                streamed = False
                        elif isinstance(message, ToolMessage):
                            steps.answered(message, ran=node == "tools")
                        elif isinstance(message, AIMessage) and node.startswith("ModelCallLimitMiddleware"):
                            stopped = True
        return _Run(list(state["messages"]), steps.calls(), stopped)

    def _stream(self, messages: list[BaseMessage], clock: TurnClock):
        CLOCK.set(clock)  # this worker thread's turn: its model calls and tools stop when the clock says
        # The owner's own words in this conversation go with the tools' context: a list or draft the model narrows
        # by age, gender or income is refused unless they ask for it (tools.fairness).
        asked = "\n".join(m.text for m in messages if isinstance(m, HumanMessage))
        yield from self.graph.stream(  # type: ignore[call-overload]  # its input names AnyMessage; any BaseMessage works
            {"messages": messages},
            context=dataclasses.replace(self.ctx, asked=asked),
            stream_mode=["messages", "updates", "custom", "values"],
        )

    def _fallback(
        self,
        question: str,
        why: str,
        emit: OnEvent,
        *,
        note: str | None = FALLBACK_NOTE,
        kept: list[ToolCall] | None = None,
    ) -> Turn:
        """The offline agent's answer, said to be one; the model will see what happened on the next turn.
        ``kept``: the model's own tool calls, whose tables and charts are still shown beside the offline ones."""
        from agent.offline import OfflineAgent

        log.warning("the offline assistant answers instead of the model (%s)", why)
        emit(Event("retract"))  # whatever the model streamed before it failed is not the answer
        if self._offline is None:
            self._offline = OfflineAgent(self.ctx, mode="offline-fallback")
        self._offline.state = self._state()
        said = note.format(why=why) if note else ""
        if said:
            emit(Event("token", text=said + "\n\n"))
        turn = self._offline.ask(question, on_event=emit)
        self._remember(turn.tool_calls)
        # Memory for the model: the tools' PII-free summaries, not the offline agent's prose or error texts.
        found = "; ".join(
            f"{c.name}({json.dumps(c.args)}): {c.result.summary if c.result else 'failed'}" for c in turn.tool_calls
        )
        self.history += [
            HumanMessage(question),
            AIMessage(
                f"(The model's answer was not used; the offline assistant answered. Tool results: {found or 'none'}.)"
            ),
        ]
        own = {(c.name, json.dumps(c.args, sort_keys=True, default=str)) for c in turn.tool_calls}
        extra = [c for c in kept or [] if (c.name, json.dumps(c.args, sort_keys=True, default=str)) not in own]
        answer = f"{said}\n\n{turn.answer}" if said else turn.answer
        return Turn(
            question=question,
            answer=answer,
            mode="offline-fallback",
            tool_calls=[*turn.tool_calls, *extra],
            grounded=why,
        )

    def _why(self, exc: Exception) -> str:
        if isinstance(exc, PastDeadline):
            return f"no complete answer within {self.turn_seconds:g} seconds"
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return f"no answer within {self.timeout:g} seconds"
        if isinstance(exc, openai.APIStatusError):
            code = exc.status_code
            if code == 429:
                return "it is rate-limited, HTTP 429"
            if code >= 500:
                return f"server error, HTTP {code}"
            if code in (401, 403):  # OpenAI, vLLM --api-key, LM Studio: the one cause the person can fix at once
                return f"the server did not accept the API key, HTTP {code}: check OPENAI_API_KEY"
            return f"HTTP {code}: check OPENAI_API_KEY, OPENAI_BASE_URL and SEGMENTS_MODEL"
        if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            return "the connection failed"
        if isinstance(exc, MalformedToolCall | OutputParserException):
            return "it sent a malformed tool call twice"
        if isinstance(exc, EmptyAnswer):
            return "it gave an empty answer"
        if isinstance(exc, UnreadableReply | StreamingRefused):
            return "the server sent a reply that could not be read"
        return type(exc).__name__


def _until(clock: TurnClock, stream: Any, *args: Any):
    """The items of ``stream(*args)``, made in a worker thread, handed over here until ``clock``'s deadline.

    At the deadline the worker is told to stop (it checks before each model call and each tool) and this raises
    ``PastDeadline``; a tool already running is let finish first, so the offline assistant that answers next
    never opens the store beside it. The abandoned worker's last HTTP read ends at the client's own timeout."""
    handover: queue.Queue = queue.Queue()
    done = object()

    def work() -> None:
        try:
            for item in stream(*args):
                if clock.cancelled.is_set():
                    return
                handover.put((item, None))
            handover.put((done, None))
        except BaseException as exc:
            handover.put((None, exc))

    threading.Thread(target=work, name="segments-model-turn", daemon=True).start()
    while True:
        try:
            item, exc = handover.get(timeout=max(clock.deadline - time.monotonic(), 0.0))
        except queue.Empty:
            clock.cancelled.set()
            with _ONE_TOOL_AT_A_TIME:  # a tool already running finishes; no new one starts (check_clock)
                pass
            raise PastDeadline() from None
        if exc is not None:
            raise exc
        if item is done:
            return
        yield item


class _Steps:
    """The tool calls of one run: reported as they start and end, kept in the order the model asked."""

    def __init__(self, emit: OnEvent) -> None:
        self.emit = emit
        self.requested: dict[str | None, tuple[str, dict]] = {}  # tool call id -> (name, the model's arguments)
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
        self.emit(Event("tool_end", name=name, text=call.error or (call.result.summary if call.result else "")))

    def calls(self) -> list[ToolCall]:
        return [self.done[i] for i in self.requested if i in self.done]


def _error_of(message: ToolMessage) -> str:
    if not isinstance(message.content, str):
        return str(message.content)
    try:
        return str(json.loads(message.content)["error"])
    except (TypeError, ValueError, KeyError):
        return str(message.content)


def _number(text: str | None, default, kind):
    try:
        return kind(text) if text not in (None, "") else default
    except ValueError:
        return default
