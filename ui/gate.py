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

With a password, a browser also stays signed in across reloads for a working day (``ui.signin``): a page load
from a browser admitted under the current password gets a signed ``segments_signin`` cookie (HttpOnly,
SameSite=Strict, Secure over https), and a page load carrying a bad one (altered, expired, signed out, another
password's) has it cleared. ``POST /_segments/signout`` clears it; the Sign out button calls it after
``sign_out`` has ended the browser's admission here.

With no gate configured (a laptop) nothing is refused. Admissions are per process: a restart ends them (the
sign-in cookie, signed with a key kept beside the database, lets a browser back in without the password).
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

from ui import signin

log = logging.getLogger(__name__)

__all__ = [
    "COOKIE",
    "SIGN_OUT_PATH",
    "GateMiddleware",
    "admit",
    "gate_installed",
    "is_admitted_cookie",
    "is_admitted_session",
    "mark_installed",
    "revoke",
    "sign_out",
    "signed_out",
]

COOKIE = "segments_gate"
SIGN_OUT_PATH = "/_segments/signout"
# How long a browser stays admitted after its last signed-in page run: an open tab re-admits on every
# click, a forgotten one stops working for downloads after this.
ADMITTED_FOR_S = 12 * 3600

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_lock = threading.Lock()
# Session id -> (last admitted, monotonic seconds; its browser's cookie; the password's mark it passed under,
# ``ui.signin.Signer.mark``). A browser is admitted while any of its sessions is: a second tab still at the
# password form does not shut the first tab's downloads.
_sessions: dict[str, tuple[float, str | None, str | None]] = {}
# Gate cookies of browsers that signed out -> when: their other tabs stop passing on their next run.
_signed_out: dict[str, float] = {}
_installed = False
_clock: Callable[[], float] = time.monotonic


def mark_installed() -> None:
    """Called by the launcher (serve.py) as it puts ``GateMiddleware`` in front of the app."""
    global _installed
    _installed = True


def gate_installed() -> bool:
    """True when this process serves the app through ``GateMiddleware``."""
    return _installed


def admit(session_id: str | None, cookie: str | None, mark: str | None = None) -> None:
    """Let this session upload, and its browser (``cookie``) download, from now on. ``mark``: the password's
    (``ui.signin``), so the browser's next page load may get a sign-in cookie for that password and no other."""
    if not session_id:
        return
    now = _clock()
    with _lock:
        _prune(now)
        _sessions[session_id] = (now, cookie, mark)


def sign_out(cookie: str | None) -> None:
    """End the admission of every session of this browser (``cookie``), and refuse that cookie from now on."""
    if not cookie:
        return
    now = _clock()
    with _lock:
        for key in [k for k, (_seen, c, _m) in _sessions.items() if c == cookie]:
            del _sessions[key]
        _signed_out[cookie] = now


def now() -> float:
    """The gate's clock, for ``signed_out``'s ``since``."""
    return _clock()


def signed_out(cookie: str | None, since: float = -math.inf) -> bool:
    """True when this browser (``cookie``) signed out, in any of its tabs, at or after ``since`` (``now()``)."""
    if not cookie:
        return False
    with _lock:
        when = _signed_out.get(cookie)
    return when is not None and when >= since


def revoke(session_id: str | None) -> None:
    """Forget a session that no longer passes the gate (signed out, the password changed)."""
    with _lock:
        _sessions.pop(session_id or "", None)


def is_admitted_session(session_id: str) -> bool:
    with _lock:
        entry = _sessions.get(session_id)
    return entry is not None and _clock() - entry[0] < ADMITTED_FOR_S


def is_admitted_cookie(cookie: str | None, mark: str | None = None) -> bool:
    """True when a session of this browser passed lately (under the password ``mark`` names, when given)."""
    if not cookie:
        return False
    now = _clock()
    with _lock:
        return any(
            c == cookie and now - seen < ADMITTED_FOR_S and (mark is None or m == mark)
            for seen, c, m in _sessions.values()
        )


def _prune(now: float) -> None:
    # Called under the lock on every admit, so the tables hold at most ADMITTED_FOR_S worth of entries.
    for key in [k for k, (seen, _c, _m) in _sessions.items() if now - seen >= ADMITTED_FOR_S]:
        del _sessions[key]
    for cookie in [c for c, when in _signed_out.items() if now - when >= ADMITTED_FOR_S]:
        del _signed_out[cookie]


def _current_settings() -> dict[str, str]:
    """The settings the page reads (secrets, then environment). Imported late: the middleware is built before
    any script runs. Raises for an unreadable secrets file."""
    import streamlit as st

    from agent.settings import load_settings

    return load_settings(st.secrets if st.secrets.load_if_toml_exists() else None)


def _gate_configured() -> bool:
    # A gate is configured when either the password or an OIDC section is there.
    import streamlit as st

    try:
        if _current_settings().get("SEGMENTS_PASSWORD"):
            return True
        return bool(st.secrets.load_if_toml_exists() and st.secrets.get("auth"))
    except Exception:  # an unreadable secrets file: ui.auth keeps the app closed; so do we
        return True


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
        return path[len(prefix) :] if prefix and path.startswith(prefix + "/") else path

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
        elif path == SIGN_OUT_PATH:
            await _sign_out(scope, send, cookie)
            return
        await self.app(scope, receive, _with_cookies(send, scope, path, cookie))

    @staticmethod
    def _upload_allowed(session_id: str) -> bool:
        return is_admitted_session(session_id) or not _gate_configured()


def _request_cookie(scope: Scope, name: str = COOKIE) -> str | None:
    for header, value in scope.get("headers", []):
        if header == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is "no cookie", never an error page
                continue
            if name in jar:
                return jar[name].value
    return None


async def _refuse(send: Send, sentence: str) -> None:
    body = sentence.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _https(scope: Scope) -> bool:
    # Behind a proxy that ends TLS (Streamlit Community Cloud, nginx) the server sees http; the proxy says https.
    forwarded = dict(scope.get("headers", [])).get(b"x-forwarded-proto", b"").split(b",")[0].strip()
    return scope.get("scheme") == "https" or forwarded == b"https"


def _gate_cookie() -> bytes:
    return f"{COOKIE}={secrets.token_urlsafe(32)}; Path=/; HttpOnly; SameSite=Lax".encode()


def _signin_cookie(scope: Scope, token: str, max_age: int) -> bytes:
    secure = "; Secure" if _https(scope) else ""
    return f"{signin.COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}".encode()


def _signer() -> signin.Signer | None:
    """The signer for the current password (secrets, then environment); None without one or without a key."""
    try:
        return signin.signer_for(_current_settings())
    except Exception:  # an unreadable key file: no one stays signed in, and the password still works
        log.exception("the sign-in key cannot be read; browsers will be asked for the password on every load")
        return None


def _signin_cookies(scope: Scope, cookie: str | None) -> list[bytes]:
    """What a page load's response says about the sign-in cookie: a new one for a browser admitted under the
    current password that has no good one, a cleared one for a bad one (altered, expired, signed out, another
    password's), else nothing."""
    token = _request_cookie(scope, signin.COOKIE)
    signer = _signer()
    good = signer is not None and signer.check(token) is not None
    if signer is not None and not good and is_admitted_cookie(cookie, signer.mark):
        return [_signin_cookie(scope, signer.issue(), signin.LIFETIME_S)]
    if token is not None and not good:
        return [_signin_cookie(scope, "", 0)]
    return []


def _with_cookies(send: Send, scope: Scope, path: str, cookie: str | None) -> Send:
    """Gives a page load its browser's gate cookie (when it has none) and its sign-in cookie: only
    the page (HTML, or a page the browser had cached), since assets load after the page has given them, and two
    cookies racing could leave the wrong one."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            page = headers.get(b"content-type", b"").startswith(b"text/html") or (
                message.get("status") == 304 and not path.startswith(("/static/", "/_stcore/"))
            )
            if page:
                values = [] if cookie else [_gate_cookie()]
                values += _signin_cookies(scope, cookie)
                message["headers"] = [*message.get("headers", []), *((b"set-cookie", v) for v in values)]
        await send(message)

    return wrapped


async def _sign_out(scope: Scope, send: Send, cookie: str | None) -> None:
    """``POST /_segments/signout``: forget the browser's sign-in cookie, here and in the browser, and end its
    admission. Only from the app's own page: another site's form must not sign anyone out. The gate cookie stays:
    a tab that signs in again without a reload is admitted under it (``signed_out`` is judged by time)."""
    site = dict(scope.get("headers", [])).get(b"sec-fetch-site", b"same-origin")
    if scope.get("method") != "POST" or site not in (b"same-origin", b"none"):
        await _refuse(send, "Sign out from the app's own page.")
        return
    signer = _signer()
    token_id = signer.check(_request_cookie(scope, signin.COOKIE)) if signer else None
    if token_id:
        signin.revoke(token_id)
    sign_out(cookie)
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [(b"cache-control", b"no-store"), (b"set-cookie", _signin_cookie(scope, "", 0))],
        }
    )
    await send({"type": "http.response.body", "body": b""})


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
            state["attachment"] = message.get("status") == 200 and headers.get(b"content-disposition", b"").startswith(
                b"attachment"
            )
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
