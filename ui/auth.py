"""Who may open a shared app: a password gate and, when configured, Streamlit's OIDC sign-in.

Every configured gate must be passed; with none configured the app is open (a laptop, ``make run``):

- ``SEGMENTS_PASSWORD`` (secrets or environment): a password form. The entry is compared in constant
  time (``hmac.compare_digest`` on UTF-8 bytes) and success is remembered in ``st.session_state`` as a
  keyed fingerprint of the password, never the password itself, so changing the password signs every
  session out. The browser then stays signed in across reloads for a working day: its next page load gets a
  signed cookie (``ui.signin``, set by ``ui.gate``), bound to the password, that a new session accepts instead
  of the form. **Sign out** in the sidebar ends it for the browser (all its tabs) and clears the cookie.
- an ``[auth]`` section in ``.streamlit/secrets.toml``: Streamlit's ``st.login()`` against the OpenID
  Connect provider(s) there, accepted once ``st.user.is_logged_in`` is true. Anyone the provider lets
  in is let in, so restrict sign-ins at the provider, or keep the password as a second gate.

Wrong passwords slow down and then lock, per session and per network address (``ui.throttle``: three
free tries, then 2 s doubling to 60 s, then 15 minutes from the tenth; forgotten after an hour).

A session that passes is admitted to the server's upload and download endpoints (``ui.gate``), which sit
outside any script. With a gate configured, a server started without ``GateMiddleware`` (``streamlit run
app.py`` rather than ``streamlit run serve.py``) keeps the app closed: its uploads and downloads would be
open to anyone.

A secrets file that exists but cannot be parsed keeps the app closed: it may hold the password or
the sign-in, and opening without them would fail open. Nothing here prints, logs or echoes a password
or a secret.

app.py::

    if not require_access(current_settings()):  # ui.session: secrets, then environment, then defaults
        st.stop()
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from collections.abc import Mapping
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAuthError, StreamlitMissingAuthlibError

from ui import gate, signin
from ui.throttle import Throttle

log = logging.getLogger(__name__)

__all__ = ["SecretsUnreadable", "check_password", "oidc_providers", "require_access"]

_PASSED_KEY = "_segments_password_ok"
_TOKEN_KEY = "_segments_signin_id"  # the sign-in cookie's id this session came in with: revoked on sign-out
_CLEAR_KEY = "_segments_clear_cookie"  # signed out on the last run: the page asks the server to clear the cookie
_PASSED_AT = "_segments_passed_at"  # gate.now() when this session passed: a later sign-out in another tab ends it
_INPUT_KEY = "segments-password-input"
# Fingerprints the password in session state; new per server process (a restart asks again).
_PROCESS_KEY = secrets.token_bytes(32)
# Process-wide: an address's wrong tries count across all its sessions.
_THROTTLE = Throttle()


def check_password(entered: str, expected: str) -> bool:
    """True when ``entered`` is the password, compared in constant time on UTF-8 bytes."""
    return hmac.compare_digest(entered.encode("utf-8"), expected.encode("utf-8"))


def _fingerprint(password: str) -> str:
    return hmac.new(_PROCESS_KEY, password.encode("utf-8"), hashlib.sha256).hexdigest()


class SecretsUnreadable(Exception):
    """A secrets file exists but cannot be read: the gates it may hold cannot be known."""


def oidc_providers() -> list[str | None] | None:
    """Providers in the secrets' ``[auth]`` section (None = the unnamed default); None without one."""
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError as exc:  # Streamlit's "no secrets", or a secrets file it could not parse
        if any(Path(p).exists() for p in st.get_option("secrets.files")):
            raise SecretsUnreadable from exc
        return None
    if not isinstance(section, Mapping) or not section:
        return None
    named = [name for name, value in section.items() if isinstance(value, Mapping)]
    default = [None] if "client_id" in section else []
    return default + named or [None]


def require_access(settings: Mapping[str, object]) -> bool:
    """Render whatever sign-in is still needed and return False, or return True when access is granted.

    ``settings`` is ``agent.settings.load_settings(...)``; only ``SEGMENTS_PASSWORD`` is read.
    """
    try:
        providers = oidc_providers()
    except SecretsUnreadable:
        # It may hold the password or the sign-in: opening without them would fail open.
        st.error("The app's secrets file cannot be read, so the app stays closed: ask whoever runs it to fix it.")
        return False
    password = str(settings.get("SEGMENTS_PASSWORD") or "")
    if (providers is not None or password) and not gate.gate_installed():
        gate.revoke(_session_id())
        st.error(
            "This app has a password or sign-in, but was started without the gate that protects its uploads "
            "and downloads: ask whoever runs it to start it with `streamlit run serve.py` (as `make run` does)."
        )
        return False
    render_cookie_clearing()
    if gate.signed_out(_browser_cookie(), st.session_state.get(_PASSED_AT, math.inf)):
        # This browser signed out in another tab: this one is out too, and its cookie no longer lets it back in.
        st.session_state.pop(_PASSED_KEY, None)
    if providers is not None and not _signed_in():
        gate.revoke(_session_id())
        _render_sign_in(providers)
        return False
    signer = _signer(settings) if password else None
    if password and not _password_passed(password, signer):
        gate.revoke(_session_id())
        if not _render_password_form(password):
            return False
    st.session_state.setdefault(_PASSED_AT, gate.now())
    _render_sign_out(providers, bool(password))
    gate.admit(_session_id(), _browser_cookie(), signer.mark if signer else None)
    return True


def _signer(settings: Mapping[str, object]) -> signin.Signer | None:
    try:
        return signin.signer_for(settings)
    except Exception:  # an unreadable key file: the password form still works, nobody stays signed in
        log.exception("the sign-in key cannot be read")
        return None


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def _browser_cookie(name: str = gate.COOKIE) -> str | None:
    """The browser's ``ui.gate`` cookie (or another), from the websocket's handshake (None outside a server)."""
    try:
        return st.context.cookies.get(name)
    except Exception:  # no server behind this run (AppTest, bare mode): no cookie to admit
        return None


# ---------------------------------------------------------------- password


def _password_passed(password: str, signer: signin.Signer | None) -> bool:
    remembered = st.session_state.get(_PASSED_KEY)
    if isinstance(remembered, str) and hmac.compare_digest(remembered, _fingerprint(password)):
        return True
    # A new session (a reload, a new tab) of a browser that passed today: its sign-in cookie stands for the form.
    token_id = signer.check(_browser_cookie(signin.COOKIE)) if signer else None
    if token_id is None:
        return False
    st.session_state[_PASSED_KEY] = _fingerprint(password)
    st.session_state[_PASSED_AT] = gate.now()
    st.session_state[_TOKEN_KEY] = token_id
    return True


def _render_password_form(password: str) -> bool:
    box = st.empty()
    with box.container():
        st.subheader("This shop's customer data is private")
        with st.form("segments-password", clear_on_submit=True):
            entered = st.text_input("Password", type="password", key=_INPUT_KEY)
            submitted = st.form_submit_button("Enter")
        if not submitted:
            return False
        # What was typed stays out of session state past this run, right or wrong.
        del st.session_state[_INPUT_KEY]
        keys = _throttle_keys()
        wait = _THROTTLE.wait_s(keys)
        if wait > 0:
            # Not checked, not counted: a wait is neither a way to test a password nor made longer by retrying.
            st.error(f"Too many wrong passwords: try again in {_duration(wait)}.")
            return False
        if check_password(entered, password):
            _THROTTLE.passed(keys)
            st.session_state[_PASSED_KEY] = _fingerprint(password)
            st.session_state[_PASSED_AT] = gate.now()
            box.empty()
            return True
        _THROTTLE.failed(keys)
        st.error("That password is not right. Try again, or ask whoever shared this app with you.")
    return False


def _throttle_keys() -> list[str]:
    """This session, and its network address where the server sees one (behind a proxy, see docs/deploy.md)."""
    session = st.session_state.setdefault("_segments_throttle_id", secrets.token_hex(16))
    address = _client_address()
    return [f"session:{session}"] + ([f"address:{address}"] if address else [])


def _client_address() -> str | None:
    try:
        return st.context.ip_address
    except Exception:  # no server behind this run (AppTest, bare mode)
        return None


def _duration(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    if whole < 90:
        return f"{whole} second{'s' if whole != 1 else ''}"
    return f"{math.ceil(whole / 60)} minutes"


# ---------------------------------------------------------------- OIDC (st.login / st.user)


def _signed_in() -> bool:
    # st.user has is_logged_in only where [auth] is configured; anything else is "not signed in".
    return getattr(st.user, "is_logged_in", False) is True


def _render_sign_in(providers: list[str | None]) -> None:
    st.subheader("Sign in to see this shop's customers")
    for provider in providers:
        label = "Sign in" if provider is None else f"Sign in with {provider.replace('-', ' ').title()}"
        if st.button(label, key=f"segments-login-{provider or 'default'}", type="primary"):
            try:
                st.login() if provider is None else st.login(provider)
            except StreamlitMissingAuthlibError:
                st.error(
                    "Sign-in is set up, but the server lacks the Authlib package: ask whoever runs the app "
                    "to install it (pip install Authlib)."
                )
            except StreamlitAuthError:
                st.error(
                    "Sign-in is not completely set up in the app's secrets ([auth] section): ask whoever runs the app."
                )


def _render_sign_out(providers: list[str | None] | None, password: bool) -> None:
    """Who is signed in (OIDC) and a Sign out button, when there is anything to sign out of."""
    if providers is None and not password:
        return
    with st.sidebar:
        if providers is not None:
            who = st.user.get("email") or st.user.get("name") or "you"
            st.caption(f"Signed in as {who}")
        if st.button("Sign out", key="segments-logout"):
            _sign_out()
            if providers is not None:
                st.logout()  # Streamlit's own sign-in cookie too; it reloads the page (a revoked cookie is cleared)
            else:
                st.rerun()


def _sign_out() -> None:
    """Ends this browser's admission at once (every tab, ``ui.gate``) and its sign-in cookie here; the page then
    asks the server to clear the cookie in the browser too (``render_cookie_clearing``)."""
    token_id = st.session_state.pop(_TOKEN_KEY, None)
    if token_id:
        signin.revoke(token_id)
    gate.sign_out(_browser_cookie())
    gate.revoke(_session_id())
    for key in (_PASSED_KEY, _PASSED_AT):
        st.session_state.pop(key, None)
    st.session_state[_CLEAR_KEY] = True


def render_cookie_clearing() -> None:
    """After a sign-out: the browser drops its sign-in cookie (HttpOnly, so only the server can clear it) through
    a same-origin POST to ``ui.gate.SIGN_OUT_PATH``."""
    if not st.session_state.pop(_CLEAR_KEY, False):
        return
    from streamlit import config

    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    url = ("/" + base if base else "") + gate.SIGN_OUT_PATH
    # Our own constant script, no data in it: the one place the page runs JavaScript.
    st.html(
        f"<script>fetch({url!r}, {{method: 'POST', credentials: 'same-origin'}})</script>", unsafe_allow_javascript=True
    )
