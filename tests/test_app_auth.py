"""The access gate: password (constant-time), Streamlit OIDC, or open when neither is configured.

The flows run through ``tests/apps/auth_gate.py``: the gate in front of a page that says "Welcome in".
"""

from __future__ import annotations

import hmac
import importlib.util
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui.auth
import ui.gate
from ui.auth import check_password

HARNESS = str(Path(__file__).resolve().parent / "apps" / "auth_gate.py")
PASSWORD = "corner crumb ü 2024"
OIDC = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "client",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration",
}


@pytest.fixture(autouse=True)
def _no_password_in_env(monkeypatch):
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    # As under `streamlit run serve.py`; tests/test_app_gate.py covers a server started without it.
    monkeypatch.setattr(ui.gate, "_installed", True)


def _run(secrets: dict | None = None, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(HARNESS, default_timeout=60)
    at.secrets["harness"] = "isolated"  # never read a developer's own ~/.streamlit/secrets.toml
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    if user is not None:
        at.user = user
    at.run()
    assert not at.exception
    return at


def _let_in(at: AppTest) -> bool:
    return any(m.value.startswith("Welcome in") for m in at.markdown)


def _enter(at: AppTest, password: str) -> AppTest:
    at.text_input(key="segments-password-input").input(password)
    (enter,) = [b for b in at.button if b.label == "Enter"]
    enter.click().run()
    assert not at.exception
    return at


def test_open_when_nothing_is_configured():
    at = _run()
    assert _let_in(at)
    assert not at.text_input


def test_wrong_password_is_blocked_without_revealing_anything():
    at = _run({"SEGMENTS_PASSWORD": PASSWORD})
    assert not _let_in(at)
    assert at.text_input(key="segments-password-input").proto.type == at.text_input[0].proto.PASSWORD
    _enter(at, "corner crumb")
    assert not _let_in(at)
    (error,) = at.error
    assert error.value.startswith("That password is not right.")
    shown = [
        e.value
        for kind in ("title", "subheader", "markdown", "caption", "error", "warning", "info")
        for e in at.get(kind)
    ]
    assert not [text for text in shown if "crumb" in text], "neither the password nor the attempt is shown"
    assert "segments-password-input" not in at.session_state, "what was typed is not kept"


def test_right_password_lets_in_and_is_remembered():
    at = _run({"SEGMENTS_PASSWORD": PASSWORD})
    _enter(at, PASSWORD)
    assert _let_in(at) and not at.error
    assert not at.text_input, "the form is gone once in"
    assert "segments-password-input" not in at.session_state
    at.run()
    assert _let_in(at)
    state = at.session_state
    assert all(PASSWORD not in str(state[k]) for k in state)


def test_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("SEGMENTS_PASSWORD", PASSWORD)
    at = _run()
    assert not _let_in(at)
    _enter(at, PASSWORD)
    assert _let_in(at)


def test_password_is_compared_with_hmac_on_utf8_bytes(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(ui.auth.hmac, "compare_digest", spy)
    assert check_password(PASSWORD, PASSWORD)
    assert not check_password("Corner crumb ü 2024", PASSWORD)
    assert calls[0] == (PASSWORD.encode("utf-8"), PASSWORD.encode("utf-8"))
    calls.clear()
    at = _run({"SEGMENTS_PASSWORD": PASSWORD})
    _enter(at, "nope")
    assert (b"nope", PASSWORD.encode("utf-8")) in calls


def test_oidc_signed_out_sees_only_the_sign_in_button():
    at = _run({"auth": OIDC}, user={})
    assert not _let_in(at)
    assert [b.label for b in at.button] == ["Sign in"]


@pytest.mark.skipif(importlib.util.find_spec("authlib") is not None, reason="with Authlib, st.login redirects")
def test_oidc_without_authlib_says_so_and_stays_closed():
    at = _run({"auth": OIDC}, user={})
    (button,) = at.button
    button.click().run()
    assert not at.exception and not _let_in(at)
    assert at.error[0].value.startswith("Sign-in is set up, but the server lacks the Authlib package")


def test_oidc_signed_in_is_let_in():
    at = _run({"auth": OIDC}, user={"is_logged_in": True, "email": "owner@example.com"})
    assert _let_in(at)
    assert "Signed in as owner@example.com" in [c.value for c in at.sidebar.caption]


def test_named_oidc_providers_each_get_a_button():
    auth = {
        "redirect_uri": OIDC["redirect_uri"],
        "cookie_secret": "x",
        "google": {"client_id": "g"},
        "microsoft": {"client_id": "m"},
    }
    at = _run({"auth": auth}, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in with Google", "Sign in with Microsoft"]


def test_oidc_and_password_both_must_pass():
    at = _run({"auth": OIDC, "SEGMENTS_PASSWORD": PASSWORD}, user={"is_logged_in": True, "email": "a@example.com"})
    assert not _let_in(at)
    _enter(at, PASSWORD)
    assert _let_in(at)


def test_an_unreadable_secrets_file_keeps_the_app_closed(tmp_path):
    from streamlit import config

    broken = tmp_path / "secrets.toml"
    broken.write_text('SEGMENTS_PASSWORD = "no closing quote\n')
    saved = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(broken)])
    try:
        at = AppTest.from_file(HARNESS, default_timeout=60).run()  # the real st.secrets, reading that file
    finally:
        config.set_option("secrets.files", saved)
    assert not at.exception and not _let_in(at)
    assert [e.value for e in at.error] == [
        "The app's secrets file cannot be read, so the app stays closed: ask whoever runs it to fix it."
    ]
