"""The server side of the access gate: uploads and downloads only for browsers that passed ``ui.auth``.

``ui.auth`` runs inside the page's script, but two of Streamlit's HTTP endpoints are outside any script:
``PUT /_stcore/upload_file/<session>/<file>`` (any open websocket session may upload) and
``GET /media/<file>`` (anyone holding the URL gets the file, no cookie needed). ``GateMiddleware``
closes both, for the process started through ``serve.py`` (``streamlit run serve.py``):

- every page load gets a random ``segments_gate`` cookie (HttpOnly, SameSite=Lax) if it has none;
- when a session passes the gate, ``admit`` records its session id and that cookie (read from the
  websocket's handshake, ``st.context.cookies``); ``revoke`` forgets the session when it no longer passes;
- an upload is accepted only for an admitted session id, a media file only with an admitted cookie;
- a downloaded file (an attachment) is deleted from the server's memory once it has been saved, so its
  URL works once; the download buttons make their file only on the click (``ui.render.download_data``).

With no gate configured (a laptop) nothing is refused. State is per process: a restart signs out.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

__all__ = ["COOKIE", "GateMiddleware", "admit", "gate_installed", "is_admitted_cookie", "is_admitted_session",
           "mark_installed", "revoke"]

COOKIE = "segments_gate"
# How long a browser stays admitted after its last signed-in page run: an open tab re-admits on every
# click, a forgotten one stops working for downloads after this.
ADMITTED_FOR_S = 12 * 3600

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_lock = threading.Lock()
# Session id -> (last admitted, monotonic seconds; its browser's cookie). A browser is admitted while any
# of its sessions is: a second tab still at the password form does not shut the first tab's downloads.
_sessions: dict[str, tuple[float, str | None]] = {}
_installed = False
_clock: Callable[[], float] = time.monotonic


def mark_installed() -> None:
    """Called by the launcher (serve.py) as it puts ``GateMiddleware`` in front of the app."""
    global _installed
    _installed = True


def gate_installed() -> bool:
    """True when this process serves the app through ``GateMiddleware``."""
    return _installed


def admit(session_id: str | None, cookie: str | None) -> None:
    """Let this session upload, and its browser (``cookie``) download, from now on."""
    if not session_id:
        return
    now = _clock()
    with _lock:
        _prune(now)
        _sessions[session_id] = (now, cookie)


def revoke(session_id: str | None) -> None:
    """Forget a session that no longer passes the gate (signed out, the password changed)."""
    with _lock:
        _sessions.pop(session_id or "", None)


def is_admitted_session(session_id: str) -> bool:
    with _lock:
        entry = _sessions.get(session_id)
    return entry is not None and _clock() - entry[0] < ADMITTED_FOR_S


def is_admitted_cookie(cookie: str | None) -> bool:
    if not cookie:
        return False
    now = _clock()
    with _lock:
        return any(c == cookie and now - seen < ADMITTED_FOR_S for seen, c in _sessions.values())


def _prune(now: float) -> None:
    # Called under the lock on every admit, so the table holds at most ADMITTED_FOR_S worth of sessions.
    for key in [k for k, (seen, _c) in _sessions.items() if now - seen >= ADMITTED_FOR_S]:
        del _sessions[key]


def _gate_configured() -> bool:
    # The same settings the page reads (secrets, then environment); a gate is configured when either the
    # password or an OIDC section is there. Imported late: the middleware is built before any script runs.
    import streamlit as st

    from agent.settings import load_settings

    try:
        has_secrets = st.secrets.load_if_toml_exists()
    except Exception:  # an unreadable secrets file: ui.auth keeps the app closed; so do we
        return True
    settings = load_settings(st.secrets if has_secrets else None)
    if settings.get("SEGMENTS_PASSWORD"):
        return True
    return bool(has_secrets and st.secrets.get("auth"))


class GateMiddleware:
    """ASGI middleware: refuses uploads and media to visitors who have not passed the gate."""

    def __init__(self, app: ASGIApp, base_url_path: str | None = None) -> None:
        self.app = app
        self._base = base_url_path

    def _path(self, scope: Scope) -> str:
        base = self._base
        if base is None:
            from streamlit import config

            base = str(config.get_option("server.baseUrlPath") or "")
        path = str(scope.get("path", ""))
        prefix = "/" + base.strip("/") if base.strip("/") else ""
        return path[len(prefix):] if prefix and path.startswith(prefix + "/") else path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path = self._path(scope)
        cookie = _request_cookie(scope)
        if path.startswith("/_stcore/upload_file/"):
            session_id = path.split("/")[3] if path.count("/") >= 3 else ""
            if scope.get("method") in ("PUT", "DELETE") and not self._upload_allowed(session_id):
                await _refuse(send, "Sign in to the app before uploading a file.")
                return
        elif path.startswith("/media/"):
            if not (is_admitted_cookie(cookie) or not _gate_configured()):
                await _refuse(send, "Sign in to the app to download this file.")
                return
            send = _not_stored(send)
            if _is_download(scope):
                send = _forget_after_download(send, path.removeprefix("/media/"))
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _with_cookie(send, path) if not cookie else send)

    @staticmethod
    def _upload_allowed(session_id: str) -> bool:
        return is_admitted_session(session_id) or not _gate_configured()


def _request_cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is "no cookie", never an error page
                continue
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


async def _refuse(send: Send, sentence: str) -> None:
    body = sentence.encode("utf-8")
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def _with_cookie(send: Send, path: str) -> Send:
    """Gives a page load its browser's gate cookie: only the page (HTML, or a page the browser had cached),
    since assets load after the page has given it, and two cookies racing could leave the wrong one."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            page = headers.get(b"content-type", b"").startswith(b"text/html") or (
                message.get("status") == 304 and not path.startswith(("/static/", "/_stcore/")))
            if page:
                value = f"{COOKIE}={secrets.token_urlsafe(32)}; Path=/; HttpOnly; SameSite=Lax"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", value.encode())]
        await send(message)

    return wrapped


def _not_stored(send: Send) -> Send:
    """Marks a media response ``no-store``: a caching proxy or a shared browser must not keep a customer list."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
            message["headers"] = [*headers, (b"cache-control", b"private, no-store")]
        await send(message)

    return wrapped


def _is_download(scope: Scope) -> bool:
    """True for the request that saves a file: the browser's navigation to it, or a client that is no browser.

    Streamlit's download button first checks the URL with a ``fetch`` (Sec-Fetch-Mode: cors), then
    navigates to it (Sec-Fetch-Mode: navigate) to save it; only the second may use the file up."""
    for name, value in scope.get("headers", []):
        if name == b"sec-fetch-mode":
            return value == b"navigate"
    return True


def _forget_after_download(send: Send, file_name: str) -> Send:
    """Deletes a downloaded file (an attachment) from the server once it has been served in full: its URL
    then works once. Pictures and other media the page shows are left alone."""
    state = {"attachment": False}

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            state["attachment"] = message.get("status") == 200 and headers.get(
                b"content-disposition", b"").startswith(b"attachment")
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body") and state["attachment"]:
            _delete_media(file_name.split(".", 1)[0])

    return wrapped


def _delete_media(file_id: str) -> None:
    from streamlit import runtime

    if not runtime.exists():
        return
    # The media file manager has no public "delete"; its storage does (and tolerates a missing file). A
    # click on the same button makes the file again, so a second download still works.
    storage = getattr(runtime.get_instance().media_file_mgr, "_storage", None)
    delete = getattr(storage, "delete_file", None)
    if callable(delete):
        delete(file_id)
