"""The model server, asked directly: which models it offers, and whether the configured one can answer.

For the app's settings (a model picker, a "Test the connection" button): the server is asked with one short
request through the ``openai`` client with a bounded timeout and no retry, and every failure becomes one plain
sentence naming the server (never the key). Where the shop has data, the test then asks the model one real
question through the assistant (``agent.llm``) and says whether it called a tool, how long it took, and whether
its answer passed the grounding check: what decides if its answers will be shown. LangChain is imported only
then: listing the models for the sidebar must not wait for it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai

from tools.base import ToolContext

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"  # as agent.llm.chat_model
LIST_SECONDS = 5.0  # one small GET, once per session for the sidebar: a server that takes longer will not chat
TEST_SECONDS = 30.0  # the most one test answer may take, whatever SEGMENTS_MODEL_TIMEOUT says
OFFERED_SHOWN = 12  # models named in a sentence; a server with hundreds lists the first ones
PROBE = "How many customers do I have?"  # a question only the data answers: the model must call a tool
PROBE_SECONDS = 60.0  # the most the test question may take, whatever SEGMENTS_ANSWER_DEADLINE says


@dataclass(frozen=True)
class ConnectionReport:
    ok: bool
    sentence: str


class ConnectionProblem(Exception):
    """The server could not be asked; ``sentence`` says why, in words."""

    def __init__(self, sentence: str, status: int | None = None) -> None:
        super().__init__(sentence)
        self.sentence, self.status = sentence, status


def base_url(settings: dict[str, str]) -> str:
    """The address the client asks: OPENAI_BASE_URL, else the openai library's own default (as agent.llm's model
    has it), so the address shown is the one used. Making a client opens no connection."""
    return str(_client(settings, LIST_SECONDS).base_url).rstrip("/")


def model_name(settings: dict[str, str]) -> str:
    return settings.get("SEGMENTS_MODEL") or DEFAULT_MODEL


def list_models(settings: dict[str, str]) -> list[str]:
    """The ids of the models the server offers (GET {base}/models), sorted. ConnectionProblem when it cannot
    say: unreachable, the key refused, no such endpoint (some local servers have none)."""
    try:
        page = _client(settings, LIST_SECONDS).models.list()
        return sorted({m.id for m in page})
    except Exception as exc:  # any failure is a sentence: this feeds a settings panel
        raise _problem(exc, base_url(settings)) from exc


def test_connection(settings: dict[str, str], ctx: ToolContext | None = None) -> ConnectionReport:
    """Ask the configured model one question about the shop (``ctx``'s store; a two-letter reply where there is no
    data yet) and say in one sentence what happened. Never raises."""
    base, model = base_url(settings), model_name(settings)
    try:
        offered = list_models(settings)
    except ConnectionProblem as problem:
        if problem.status is None or problem.status in (401, 403):  # nothing there, or the key: a chat won't do better
            return ConnectionReport(False, problem.sentence)
        offered = []  # a server without a model list can still answer
    if offered and model not in offered:
        return ConnectionReport(False, unknown_model(model, offered))
    if ctx is not None and Path(ctx.db_path).exists():
        return _ask_about_the_shop(settings, ctx, base, model)
    try:
        reply = _client(settings, _seconds(settings)).chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Reply with OK"}],
            max_tokens=5,
            temperature=0,
        )
    except Exception as exc:  # never raises: the button shows the sentence
        failure = _problem(exc, base)
        if failure.status == 404:
            return ConnectionReport(False, f"The server at {base} has no model named {model}.")
        return ConnectionReport(False, failure.sentence)
    if not getattr(reply, "choices", None):
        return ConnectionReport(False, f"The server at {base} answered, but with no reply from model {model}.")
    return ConnectionReport(
        True, f"Connected to {base}: model {model} answered (load your data to test whether it calls tools)."
    )


def _ask_about_the_shop(settings: dict[str, str], ctx: ToolContext, base: str, model: str) -> ConnectionReport:
    """``PROBE`` through the assistant, as a person's question would go: the verdict says if answers will show."""
    from agent.base import CHECKED
    from agent.grounding import NO_LOOK
    from agent.llm import NO_TOOLS, LLMAgent, _number

    deadline = min(_number(settings.get("SEGMENTS_ANSWER_DEADLINE"), PROBE_SECONDS, float), PROBE_SECONDS)
    started = time.monotonic()
    try:
        turn = LLMAgent(ctx, {**settings, "SEGMENTS_ANSWER_DEADLINE": str(deadline)}).ask(PROBE)
    except Exception:  # a bug, not the server: logged; the button still says something
        log.exception("the connection test's question failed")
        return ConnectionReport(
            False, f"Model {model} at {base} answered, but the test question failed; the error was logged."
        )
    took = f"{time.monotonic() - started:.1f} s"
    if turn.grounded == CHECKED:
        tools = ", ".join(dict.fromkeys(c.name for c in turn.tool_calls))
        return ConnectionReport(
            True,
            f"Connected to {base}: model {model} called a tool ({tools}) to answer "
            f'"{PROBE}" and its answer passed the check, in {took}.',
        )
    if turn.grounded == NO_TOOLS:
        return ConnectionReport(
            False,
            f"Model {model} does not call tools, so it cannot read your shop's data; the "
            "offline assistant will answer.",
        )
    if turn.grounded == NO_LOOK:
        return ConnectionReport(
            False,
            f'Model {model} answered "{PROBE}" without calling a tool, even when asked '
            f"again ({took}), so its answers will not be shown; the offline assistant will "
            "answer. Try a model that supports tool calling.",
        )
    return ConnectionReport(
        False,
        f'Model {model} was asked "{PROBE}" and its answer was not shown '
        f"({turn.grounded}; {took}); the offline assistant answered instead.",
    )


# A function of the app, not a test, for pytest that collects a module importing it (pytest reads __test__).
test_connection.__test__ = False  # type: ignore[attr-defined]


def unknown_model(model: str, offered: list[str]) -> str:
    named = ", ".join(offered[:OFFERED_SHOWN]) + (
        f" and {len(offered) - OFFERED_SHOWN} more" if len(offered) > OFFERED_SHOWN else ""
    )
    return f"The server has no model named {model}; it offers: {named}."


def _client(settings: dict[str, str], seconds: float) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=settings.get("OPENAI_BASE_URL") or None,  # None: the library's own default address
        api_key=settings.get("OPENAI_API_KEY") or "none",  # local servers (Ollama, vLLM) take any key
        timeout=seconds,
        max_retries=0,  # a person pressed a button: say what happened now, not after a backoff
    )


def _seconds(settings: dict[str, str]) -> float:
    try:
        seconds = float(settings.get("SEGMENTS_MODEL_TIMEOUT") or TEST_SECONDS)
    except ValueError:
        seconds = TEST_SECONDS
    return min(max(seconds, 1.0), TEST_SECONDS)


def _problem(exc: Exception, base: str) -> ConnectionProblem:
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return ConnectionProblem(f"The server at {base} did not answer in time: it may be busy or loading the model.")
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return ConnectionProblem(f"Nothing answered at {base}: is the server running?")
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        code: int = exc.status_code
        return ConnectionProblem(f"The server at {base} refused the key (HTTP {code}): check OPENAI_API_KEY.", code)
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        if code == 404:
            return ConnectionProblem(
                f"The server at {base} has no such endpoint (HTTP 404): check OPENAI_BASE_URL "
                "(it usually ends in /v1).",
                code,
            )
        if code == 429:
            return ConnectionProblem(
                f"The server at {base} is rate-limiting requests (HTTP 429): try again soon.", code
            )
        return ConnectionProblem(f"The server at {base} answered with an error (HTTP {code}).", code)
    return ConnectionProblem(f"The server at {base} sent something that is not an OpenAI-compatible answer.", 0)
