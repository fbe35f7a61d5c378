"""A tiny OpenAI-compatible server for tests: ``POST /v1/chat/completions`` on 127.0.0.1, scripted.

Each request takes the next scripted reply: text, tool calls (arguments given as JSON text, so they
can be malformed on purpose), an HTTP error status, or a hang past the client's timeout. Streaming
requests get server-sent events the way OpenAI sends them: text in several pieces, each tool call's
arguments split across several chunks, then ``[DONE]``. Every request body is recorded, so a test can
search everything that was sent to "the model".

    with FakeOpenAI() as fake:
        fake.queue(tool_calls(("list_customers", {"group": "lapsed"})), text("You have 12 lapsed customers."))
        ... ChatOpenAI(base_url=fake.base_url, api_key="test") ...
        fake.requests  # the JSON bodies, in order

What real servers do besides, as scripted replies or as the server's attributes:

- ``text_calls``: tool calls written as text in the content (Hermes/Qwen ``<tool_call>``, a bare JSON
  object with ``arguments`` or ``parameters``, a fenced ```json block, Mistral's ``[TOOL_CALLS]``);
- ``malformed_stream``: an event that is not JSON (``data: {not json``); ``drip``: one piece every N seconds;
- ``refuse_tool_choice``: 400 to any request with ``tool_choice``, in vLLM's words;
- ``refuse_stream``: 400 to ``"stream": true``; ``ignore_stream``: a plain JSON body to a stream request;
- ``no_tools`` (with ``no_tools_status``): the model cannot take ``tools`` (Ollama's, llama.cpp's words);
- ``models`` (``GET /v1/models``) and ``require_key`` (401 unless the bearer token is that key).

A request refused by an attribute is recorded but takes no scripted reply.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# What real servers answer, word for word.
VLLM_AUTO_TOOL_CHOICE = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
VLLM_REQUIRED_TOOL_CHOICE = "The tool_choice option required is not yet supported but on the roadmap."
OLLAMA_NO_TOOLS = "registry.ollama.ai/library/gemma:2b does not support tools"
LLAMA_CPP_NO_TOOLS = "tools param requires --jinja flag"
NO_STREAMING = "streaming is not supported"
WRONG_KEY = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."


@dataclass(frozen=True)
class Reply:
    text: str = ""
    calls: tuple[tuple[str, str], ...] = ()  # (tool name, arguments as JSON text)
    status: int = 200
    hang: float = 0.0  # seconds to wait before answering at all
    malformed: bool = False  # a stream event (or a plain body) that is not JSON
    drip: float = 0.0  # seconds between the stream's pieces (a plain reply waits for all of them)


def text(content: str) -> Reply:
    return Reply(text=content)


def tool_calls(*calls: tuple[str, dict | str]) -> Reply:
    """One assistant message calling these tools; a ``str`` argument is sent as is (malformed on purpose)."""
    return Reply(calls=tuple((name, args if isinstance(args, str) else json.dumps(args)) for name, args in calls))


def error(status: int) -> Reply:
    return Reply(status=status)


def hang(seconds: float) -> Reply:
    return Reply(hang=seconds)


def malformed_stream(content: str = "You have") -> Reply:
    """A reply that starts well (``content``'s first words, if any) and then sends ``data: {not json`` (a plain
    request gets ``{not json``)."""
    return Reply(text=content, malformed=True)


def drip(content: str, every: float) -> Reply:
    """Text streamed one piece every ``every`` seconds: a slow local model on a small machine."""
    return Reply(text=content, drip=every)


TEXT_CALL_STYLES = ("hermes", "json", "parameters", "fenced", "mistral")


def text_calls(*calls: tuple[str, dict], style: str = "hermes", before: str = "") -> Reply:
    """Tool calls written as text in the message's content, as models do whose server has no tool parser:

    - ``hermes``: ``<tool_call>{"name": .., "arguments": {..}}</tool_call>``, one block per call (Hermes, Qwen);
    - ``json``: a bare ``{"name": .., "arguments": {..}}`` (several: a JSON list);
    - ``parameters``: the same with ``parameters`` (Llama 3's own format);
    - ``fenced``: the JSON in a ```json block;
    - ``mistral``: ``[TOOL_CALLS] [{..}, {..}]``.
    """
    key = "parameters" if style == "parameters" else "arguments"
    objects = [{"name": name, key: args} for name, args in calls]
    one_or_list = json.dumps(objects[0] if len(objects) == 1 else objects)
    written = {
        "hermes": "\n".join(f"<tool_call>\n{json.dumps(o)}\n</tool_call>" for o in objects),
        "json": one_or_list,
        "parameters": one_or_list,
        "fenced": f"```json\n{one_or_list}\n```",
        "mistral": f"[TOOL_CALLS] {json.dumps(objects)}",
    }[style]
    return Reply(text=f"{before}{written}")


@dataclass
class FakeOpenAI:
    script: deque[Reply] = field(default_factory=deque)
    bodies: list[bytes] = field(default_factory=list)
    unscripted: int = 0  # requests that found the script empty (answered with a 500)
    refuse_tool_choice: bool = False  # 400 to any request carrying tool_choice (vLLM without auto tool choice)
    refuse_stream: bool = False  # 400 to "stream": true
    ignore_stream: bool = False  # a plain JSON body to "stream": true
    no_tools: str | None = None  # the server's words when a request carries tools (OLLAMA_NO_TOOLS, ...)
    no_tools_status: int = 400
    models: list[str] = field(default_factory=lambda: ["fake-model"])  # GET /v1/models
    require_key: str | None = None  # 401 unless "Authorization: Bearer <require_key>"
    port: int = 0  # 0: any free port; a browser test names one of its own

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- the test's side ---------------------------------------------------------------------------------

    def queue(self, *replies: Reply) -> FakeOpenAI:
        self.script.extend(replies)
        return self

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first (use it as a context manager)"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def requests(self) -> list[dict]:
        return [json.loads(body) for body in self.bodies]

    def sent_texts(self) -> list[str]:
        """Every body as sent and as read (JSON escapes undone), for searching what reached the model."""
        return [t for body in self.bodies for t in (body.decode(), json.dumps(json.loads(body), ensure_ascii=False))]

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # wakes hanging handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- the server's side -------------------------------------------------------------------------------

    def _record(self, body: bytes) -> None:
        with self._lock:
            self.bodies.append(body)

    def _take(self, body: bytes) -> tuple[int, Reply | None]:
        with self._lock:
            self.bodies.append(body)
            number = len(self.bodies)
            if not self.script:
                self.unscripted += 1
                return number, None
            return number, self.script.popleft()

    def _wrong_key(self, authorization: str) -> tuple[int, dict] | None:
        """A 401 as OpenAI sends it when the server wants a key and the bearer token is not it."""
        if self.require_key is None or authorization == f"Bearer {self.require_key}":
            return None
        return 401, {
            "error": {"message": WRONG_KEY, "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
        }

    def _refusal(self, request: dict, authorization: str) -> tuple[int, dict] | None:
        """What the server says before any model runs, (status, body), or None to answer."""
        wrong_key = self._wrong_key(authorization)
        if wrong_key is not None:
            return wrong_key
        words = None
        choice = request.get("tool_choice")
        if request.get("tools") and self.no_tools is not None:
            status, words = self.no_tools_status, self.no_tools
        elif choice is not None and self.refuse_tool_choice:
            status, words = 400, VLLM_AUTO_TOOL_CHOICE if choice == "auto" else VLLM_REQUIRED_TOOL_CHOICE
        elif request.get("stream") and self.refuse_stream:
            status, words = 400, NO_STREAMING
        if words is None:
            return None
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return status, {"error": {"message": words, "type": kind, "param": None, "code": status}}


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeOpenAI

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if not self.path.rstrip("/").endswith("/models"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        wrong_key = self.server_state._wrong_key(self.headers.get("Authorization", ""))
        if wrong_key is not None:
            self._json(*wrong_key)
            return
        models = [
            {"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in self.server_state.models
        ]
        self._json(200, {"object": "list", "data": models})

    def do_POST(self) -> None:
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        refusal = self.server_state._refusal(json.loads(body), self.headers.get("Authorization", ""))
        if refusal is not None:  # recorded, but no scripted reply is spent on it
            self.server_state._record(body)
            self._json(*refusal)
            return
        number, reply = self.server_state._take(body)
        if reply is None:
            self._json(500, {"error": {"message": "the fake's script has no reply left", "type": "server_error"}})
            return
        if reply.hang:
            self.server_state._stop.wait(reply.hang)  # the client has given up by now
        if reply.status != 200:
            self._json(reply.status, {"error": {"message": f"scripted {reply.status}", "type": "server_error"}})
            return
        request = json.loads(body)
        model = request.get("model", "fake")
        if request.get("stream") and not self.server_state.ignore_stream:
            self._stream(number, model, reply)
        elif reply.malformed:
            self._raw(200, b"{not json")
        else:
            if reply.drip:  # a plain reply comes when the last piece would have
                self.server_state._stop.wait(reply.drip * sum(1 for _ in _deltas(number, reply)))
            self._json(200, _completion(number, model, reply))

    def _json(self, status: int, payload: dict) -> None:
        self._raw(status, json.dumps(payload).encode())

    def _raw(self, status: int, data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # a client that timed out
            pass

    def _stream(self, number: int, model: str, reply: Reply) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for delta, finish in _deltas(number, reply):
                chunk = {
                    "id": f"chatcmpl-fake-{number}",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                if reply.malformed and (delta.get("content") or not reply.text):  # a good piece, then a broken one
                    self.wfile.write(b"data: {not json\n\n")
                    self.wfile.flush()
                    return
                if reply.drip and self.server_state._stop.wait(reply.drip):
                    return  # the test is over
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


def _call_id(number: int, index: int) -> str:
    return f"call_{number}_{index}"


def _deltas(number: int, reply: Reply):
    """(delta, finish_reason) pairs: role, text in pieces, tool calls with arguments in fragments, finish."""
    yield {"role": "assistant", "content": ""}, None
    words = reply.text.split(" ") if reply.text else []
    for start in range(0, len(words), 3):
        piece = " ".join(words[start : start + 3])
        yield {"content": piece if start == 0 else " " + piece}, None
    for index, (name, arguments) in enumerate(reply.calls):
        head = {
            "index": index,
            "id": _call_id(number, index),
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        yield {"tool_calls": [head]}, None
        step = max(len(arguments) // 3, 1)
        for start in range(0, len(arguments), step):
            yield {"tool_calls": [{"index": index, "function": {"arguments": arguments[start : start + step]}}]}, None
    yield {}, "tool_calls" if reply.calls else "stop"


def _completion(number: int, model: str, reply: Reply) -> dict:
    message: dict = {"role": "assistant", "content": reply.text or None}
    if reply.calls:
        message["tool_calls"] = [
            {"id": _call_id(number, i), "type": "function", "function": {"name": name, "arguments": arguments}}
            for i, (name, arguments) in enumerate(reply.calls)
        ]
    return {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if reply.calls else "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
