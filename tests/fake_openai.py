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
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    text: str = ""
    calls: tuple[tuple[str, str], ...] = ()  # (tool name, arguments as JSON text)
    status: int = 200
    hang: float = 0.0  # seconds to wait before answering at all


def text(content: str) -> Reply:
    return Reply(text=content)


def tool_calls(*calls: tuple[str, dict | str]) -> Reply:
    """One assistant message calling these tools; a ``str`` argument is sent as is (malformed on purpose)."""
    return Reply(calls=tuple((name, args if isinstance(args, str) else json.dumps(args)) for name, args in calls))


def error(status: int) -> Reply:
    return Reply(status=status)


def hang(seconds: float) -> Reply:
    return Reply(hang=seconds)


@dataclass
class FakeOpenAI:
    script: deque[Reply] = field(default_factory=deque)
    bodies: list[bytes] = field(default_factory=list)
    unscripted: int = 0  # requests that found the script empty (answered with a 500)
    models: list[str] = field(default_factory=lambda: ["fake-model"])  # what GET /v1/models lists
    require_key: str | None = None  # when set, a request with another bearer key gets a 401
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

    def _take(self, body: bytes) -> tuple[int, Reply | None]:
        with self._lock:
            self.bodies.append(body)
            number = len(self.bodies)
            if not self.script:
                self.unscripted += 1
                return number, None
            return number, self.script.popleft()


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeOpenAI

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _refused(self) -> bool:
        """A 401 when the fake requires a key and the request's bearer is another one."""
        key = self.server_state.require_key
        if key is None or self.headers.get("Authorization", "") == f"Bearer {key}":
            return False
        self.rfile.read(int(self.headers.get("Content-Length", 0)))  # read, so the client sees the answer
        self._json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                   "code": "invalid_api_key"}})
        return True

    def do_GET(self) -> None:
        if not self.path.rstrip("/").endswith("/models"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        if not self._refused():
            self._json(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "fake"}
                                                        for m in self.server_state.models]})

    def do_POST(self) -> None:
        if self._refused():
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
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
        if request.get("stream"):
            self._stream(number, model, reply)
        else:
            self._json(200, _completion(number, model, reply))

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
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
