"""The password gate's throttle (issue 14, finding 9) and the gate's wiring to the server (11, 17).

AppTest runs ``tests/apps/auth_gate.py`` (the gate in front of "Welcome in"); the throttle's clock is a
fake one moved by hand, so nothing sleeps and nothing is timed. The server side (a real ``streamlit run
serve.py``) is in tests/test_browser_gate.py; the middleware's rules are checked here on a bare ASGI app.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui.auth
import ui.gate
from ui.throttle import FREE_TRIES, LOCK_AFTER, LOCK_S, Throttle

HARNESS = str(Path(__file__).resolve().parent / "apps" / "auth_gate.py")
PASSWORD = "corner crumb ü 2024"
NOT_RIGHT = "That password is not right."
TOO_MANY = "Too many wrong passwords"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(ui.auth, "_THROTTLE", Throttle(fake))
    monkeypatch.setattr(ui.gate, "_installed", True)
    monkeypatch.setattr(ui.auth, "_client_address", lambda: None)
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    return fake


def _app() -> AppTest:
    at = AppTest.from_file(HARNESS, default_timeout=60)
    at.secrets["harness"] = "isolated"
    at.secrets["SEGMENTS_PASSWORD"] = PASSWORD
    at.run()
    assert not at.exception
    return at


def _enter(at: AppTest, password: str) -> str:
    """Types ``password``; returns what the page answered: "in", or the start of its error."""
    at.text_input(key="segments-password-input").input(password)
    (enter,) = [b for b in at.button if b.label == "Enter"]
    enter.click().run()
    assert not at.exception
    if any(m.value.startswith("Welcome in") for m in at.markdown):
        return "in"
    (error,) = at.error
    return error.value


def _fail_until_locked(at: AppTest, clock: Clock) -> None:
    """Wrong passwords, each after its wait, until the tenth locks the session."""
    for _ in range(LOCK_AFTER):
        clock.now += 61  # past any wait short of the lock
        assert _enter(at, "guess").startswith(NOT_RIGHT)


def test_twenty_quick_wrong_passwords_are_not_all_answered(clock):
    at = _app()
    answers = [_enter(at, f"guess {i}") for i in range(20)]  # the clock never moves: 20 tries "at once"
    checked = [a for a in answers if a.startswith(NOT_RIGHT)]
    assert len(checked) == FREE_TRIES + 1, answers  # three free, the fourth starts the wait
    assert answers[FREE_TRIES + 1] == f"{TOO_MANY}: try again in 2 seconds."
    assert all(a.startswith(TOO_MANY) for a in answers[FREE_TRIES + 1 :])


def test_the_right_password_waits_too_then_gets_in(clock):
    at = _app()
    for i in range(FREE_TRIES + 1):
        _enter(at, f"guess {i}")
    # Checked during the wait, the right password would tell a guesser they had it.
    assert _enter(at, PASSWORD).startswith(TOO_MANY)
    clock.now += 2
    assert _enter(at, PASSWORD) == "in"


def test_the_wait_doubles_then_locks_for_fifteen_minutes(clock):
    at = _app()
    for i in range(FREE_TRIES):
        assert _enter(at, f"guess {i}").startswith(NOT_RIGHT)
    shown = []
    for i in range(LOCK_AFTER - FREE_TRIES):
        assert _enter(at, f"more {i}").startswith(NOT_RIGHT)
        probe = _enter(at, "probe")  # at once: refused unchecked, and says how long to wait
        assert probe.startswith(f"{TOO_MANY}: try again in ")
        shown.append(probe.removeprefix(f"{TOO_MANY}: try again in ").removesuffix("."))
        clock.now += LOCK_S  # past any wait, within the hour that keeps the count
    assert shown == ["2 seconds", "4 seconds", "8 seconds", "16 seconds", "32 seconds", "60 seconds", "15 minutes"]


def test_a_lock_is_bounded(clock):
    at = _app()
    _fail_until_locked(at, clock)
    assert _enter(at, PASSWORD).startswith(f"{TOO_MANY}: try again in 15 minutes")
    clock.now += LOCK_S - 1
    assert _enter(at, PASSWORD).startswith(TOO_MANY)
    clock.now += 1
    assert _enter(at, PASSWORD) == "in"


def test_a_new_session_from_the_same_address_is_held_but_not_another_address(clock, monkeypatch):
    address = {"now": "203.0.113.7"}
    monkeypatch.setattr(ui.auth, "_client_address", lambda: address["now"])
    attacker = _app()
    _fail_until_locked(attacker, clock)
    # Reconnecting (a new session) does not start the attacker's count again ...
    assert _enter(_app(), "guess").startswith(TOO_MANY)
    # ... and the owner, from another address, is not locked out by it.
    address["now"] = "198.51.100.2"
    assert _enter(_app(), PASSWORD) == "in"


def test_wrong_tries_are_forgotten_after_an_hour(clock):
    at = _app()
    for i in range(FREE_TRIES + 1):
        _enter(at, f"guess {i}")
    clock.now += 3600
    for i in range(FREE_TRIES + 1):
        assert _enter(at, f"again {i}").startswith(NOT_RIGHT)


def test_a_password_gate_without_the_server_side_stays_closed(monkeypatch):
    """`streamlit run app.py` with a password: its uploads and media would be open, so it says to use serve.py."""
    monkeypatch.setattr(ui.gate, "_installed", False)
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    at = _app()
    assert not at.text_input and not [m for m in at.markdown if m.value.startswith("Welcome in")]
    (error,) = at.error
    assert "streamlit run serve.py" in error.value


def test_an_open_app_does_not_need_the_server_side(monkeypatch):
    monkeypatch.setattr(ui.gate, "_installed", False)
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    at = AppTest.from_file(HARNESS, default_timeout=60)
    at.secrets["harness"] = "isolated"
    at.run()
    assert any(m.value.startswith("Welcome in") for m in at.markdown)


# ---------------------------------------------------------------- the middleware's rules, on a bare app


def _call(scope: dict) -> tuple[int, dict, bytes]:
    sent: list[dict] = []

    async def inner(scope, receive, send):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html"), (b"content-disposition", b"attachment")],
            }
        )
        await send({"type": "http.response.body", "body": b"the list"})

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(ui.gate.GateMiddleware(inner, base_url_path="")(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def _http(path: str, method: str = "GET", cookie: str | None = None) -> dict:
    headers = [(b"cookie", f"{ui.gate.COOKIE}={cookie}".encode())] if cookie else []
    return {"type": "http", "method": method, "path": path, "headers": headers}


@pytest.fixture
def gated(monkeypatch):
    monkeypatch.setenv("SEGMENTS_PASSWORD", PASSWORD)
    monkeypatch.setattr(ui.gate, "_sessions", {})


def test_uploads_only_from_admitted_sessions(gated):
    assert _call(_http("/_stcore/upload_file/s1/f1", "PUT"))[0] == 403
    ui.gate.admit("s1", None)
    assert _call(_http("/_stcore/upload_file/s1/f1", "PUT"))[0] == 200
    assert _call(_http("/_stcore/upload_file/s2/f1", "PUT"))[0] == 403
    ui.gate.revoke("s1")
    assert _call(_http("/_stcore/upload_file/s1/f1", "PUT"))[0] == 403


def test_media_only_with_an_admitted_cookie(gated):
    status, _, body = _call(_http("/media/abc.csv"))
    assert status == 403 and b"list" not in body
    assert _call(_http("/media/abc.csv", cookie="forged"))[0] == 403
    ui.gate.admit("s1", "c1")
    status, headers, body = _call(_http("/media/abc.csv", cookie="c1"))
    assert status == 200 and body == b"the list"
    assert headers[b"cache-control"] == b"private, no-store", "no proxy or shared cache keeps a list"


def test_a_page_load_gets_a_gate_cookie_once(gated):
    _, headers, _ = _call(_http("/"))
    assert headers[b"set-cookie"].startswith(f"{ui.gate.COOKIE}=".encode())
    assert b"HttpOnly" in headers[b"set-cookie"]
    _, headers, _ = _call(_http("/", cookie="c1"))
    assert b"set-cookie" not in headers


def test_a_browser_stays_admitted_while_any_of_its_sessions_is(gated):
    ui.gate.admit("tab1", "c1")
    ui.gate.revoke("tab2")  # a second tab, still at the password form
    assert ui.gate.is_admitted_cookie("c1")
    ui.gate.revoke("tab1")  # the password changed: the first tab no longer passes
    assert not ui.gate.is_admitted_cookie("c1")


def test_admission_lapses(gated, monkeypatch):
    now = {"t": 0.0}
    monkeypatch.setattr(ui.gate, "_clock", lambda: now["t"])
    ui.gate.admit("s1", "c1")
    now["t"] += ui.gate.ADMITTED_FOR_S
    assert not ui.gate.is_admitted_cookie("c1") and not ui.gate.is_admitted_session("s1")
