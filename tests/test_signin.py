"""Staying signed in (issue 17): the signed cookie's rules, its key, and the gate that sets and clears it.

The token's clock is moved by hand, so nothing sleeps. The same rules against a real server and browser are in
tests/test_browser_signin.py.
"""

from __future__ import annotations

import asyncio
import os
import stat

import pytest

import ui.gate
import ui.signin
from ui.signin import LIFETIME_S, Signer

KEY = bytes(range(32))
PASSWORD = "corner crumb ü 2024"


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1_800_000_000.0}
    monkeypatch.setattr(ui.signin, "_clock", lambda: now["t"])
    monkeypatch.setattr(ui.signin, "_revoked", {})
    return now


def test_a_token_is_good_for_a_working_day_then_not(clock):
    token = Signer(KEY, PASSWORD).issue()
    assert Signer(KEY, PASSWORD).check(token)
    clock["t"] += LIFETIME_S - 1
    assert Signer(KEY, PASSWORD).check(token)
    clock["t"] += 1
    assert Signer(KEY, PASSWORD).check(token) is None


def test_an_altered_or_forged_token_is_refused(clock):
    signer = Signer(KEY, PASSWORD)
    version, expires, token_id, mac = signer.issue().split(".")
    later = str(int(expires) + 3600)
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    for bad in (
        f"{version}.{later}.{token_id}.{mac}",  # a longer day
        f"{version}.{expires}.{'0' * 32}.{mac}",  # another id
        f"{version}.{expires}.{token_id}.{flipped}",
        f"v2.{expires}.{token_id}.{mac}",
        "",
        "v1",
        "not.a.token.at all",
        None,
    ):
        assert signer.check(bad) is None, bad
    assert Signer(bytes(32), PASSWORD).check(signer.issue()) is None, "signed with another server's key"


def test_a_new_password_signs_everyone_out(clock):
    token = Signer(KEY, PASSWORD).issue()
    assert Signer(KEY, PASSWORD + "!").check(token) is None
    assert PASSWORD not in token and Signer(KEY, PASSWORD).mark not in token


def test_a_revoked_token_is_refused(clock):
    signer = Signer(KEY, PASSWORD)
    token, other = signer.issue(), signer.issue()
    ui.signin.revoke(signer.check(token))
    assert signer.check(token) is None and signer.check(other)


def test_the_key_is_made_once_beside_the_database_readable_only_by_its_owner(tmp_path, monkeypatch):
    monkeypatch.setattr(ui.signin, "_keys", {})
    settings = {"SEGMENTS_DB": str(tmp_path / "shop.duckdb"), "SEGMENTS_PASSWORD": PASSWORD}
    key = ui.signin.server_key(settings)
    path = tmp_path / ui.signin.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().strip() == key.hex() and PASSWORD.encode() not in key
    monkeypatch.setattr(ui.signin, "_keys", {})  # a new process reads the same key
    assert ui.signin.server_key(settings) == key
    configured = ui.signin.server_key({**settings, "SEGMENTS_SIGNIN_KEY": "from the secrets"})
    assert configured != key


def test_a_cut_short_key_file_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setattr(ui.signin, "_keys", {})
    (tmp_path / ui.signin.KEY_FILE).write_text("")
    with pytest.raises(RuntimeError, match="delete it"):
        ui.signin.server_key({"SEGMENTS_DB": str(tmp_path / "shop.duckdb")})


# ---------------------------------------------------------------- the gate sets and clears the cookie


@pytest.fixture
def gated(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("SEGMENTS_PASSWORD", PASSWORD)
    monkeypatch.setenv("SEGMENTS_DB", str(tmp_path / "shop.duckdb"))
    monkeypatch.delenv("SEGMENTS_SIGNIN_KEY", raising=False)
    monkeypatch.setattr(ui.signin, "_keys", {})
    monkeypatch.setattr(ui.gate, "_sessions", {})
    monkeypatch.setattr(ui.gate, "_signed_out", {})
    return Signer(ui.signin.server_key({"SEGMENTS_DB": str(tmp_path / "shop.duckdb")}), PASSWORD)


def _call(
    path: str = "/", method: str = "GET", cookies: dict | None = None, headers: list | None = None
) -> tuple[int, list[bytes]]:
    sent: list[dict] = []

    async def page(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<html></html>"})

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    jar = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "scheme": "http",
        "headers": ([(b"cookie", jar.encode())] if jar else []) + (headers or []),
    }
    asyncio.run(ui.gate.GateMiddleware(page, base_url_path="")(scope, receive, send))
    return sent[0]["status"], [v for k, v in sent[0]["headers"] if k == b"set-cookie"]


def _signin(set_cookies: list[bytes]) -> bytes | None:
    found = [c for c in set_cookies if c.startswith(ui.signin.COOKIE.encode() + b"=")]
    return found[0] if found else None


def test_a_browser_admitted_under_the_password_gets_the_cookie_on_its_next_page_load(gated):
    assert _signin(_call(cookies={"segments_gate": "c1"})[1]) is None  # not signed in: nothing
    ui.gate.admit("s1", "c1", gated.mark)
    given = _signin(_call(cookies={"segments_gate": "c1"})[1])
    assert given is not None
    attributes = given.decode().split("; ")
    assert {"HttpOnly", "SameSite=Strict", f"Max-Age={LIFETIME_S}", "Path=/"} <= set(attributes)
    assert "Secure" not in attributes  # plain http on a laptop: a Secure cookie would never come back
    assert gated.check(attributes[0].split("=", 1)[1])
    https = _call(cookies={"segments_gate": "c1"}, headers=[(b"x-forwarded-proto", b"https")])[1]
    assert "Secure" in _signin(https).decode().split("; ")


def test_no_cookie_for_a_browser_admitted_under_another_password(gated):
    ui.gate.admit("s1", "c1", Signer(KEY, "the old password").mark)
    assert _signin(_call(cookies={"segments_gate": "c1"})[1]) is None


def test_a_bad_cookie_is_cleared_and_a_good_one_left_alone(gated):
    good = gated.issue()
    assert _call(cookies={"segments_gate": "c1", ui.signin.COOKIE: good})[1] == []
    for bad in (good[:-1] + ("0" if good[-1] != "0" else "1"), Signer(KEY, PASSWORD).issue()):
        cleared = _signin(_call(cookies={"segments_gate": "c1", ui.signin.COOKIE: bad})[1])
        assert cleared.startswith(ui.signin.COOKIE.encode() + b"=;") and b"Max-Age=0" in cleared


def test_signing_out_revokes_the_cookie_and_the_browser(gated):
    token = gated.issue()
    ui.gate.admit("tab1", "c1", gated.mark)
    ui.gate.admit("tab2", "c1", gated.mark)
    status, set_cookies = _call(
        ui.gate.SIGN_OUT_PATH,
        "POST",
        {"segments_gate": "c1", ui.signin.COOKIE: token},
        [(b"sec-fetch-site", b"same-origin")],
    )
    assert status == 204
    assert b"Max-Age=0" in _signin(set_cookies)
    assert gated.check(token) is None
    assert not ui.gate.is_admitted_cookie("c1") and not ui.gate.is_admitted_session("tab2")
    assert ui.gate.signed_out("c1", since=0)  # tabs that passed before now are out on their next run
    assert not ui.gate.signed_out("c1", since=ui.gate.now() + 1)  # one that passes again later is not
    _, set_cookies = _call(cookies={"segments_gate": "c1"})
    assert _signin(set_cookies) is None, "the next page load brings no new sign-in cookie"
    ui.gate.admit("tab1", "c1", gated.mark)  # the same tab types the password again, without a reload
    assert ui.gate.is_admitted_cookie("c1") and _signin(_call(cookies={"segments_gate": "c1"})[1])


def test_another_site_cannot_sign_anyone_out(gated):
    token = gated.issue()
    ui.gate.admit("tab1", "c1", gated.mark)
    for method, site in (("POST", b"cross-site"), ("GET", b"same-origin")):
        status, _ = _call(
            ui.gate.SIGN_OUT_PATH, method, {"segments_gate": "c1", ui.signin.COOKIE: token}, [(b"sec-fetch-site", site)]
        )
        assert status == 403
    assert gated.check(token) and ui.gate.is_admitted_cookie("c1")
