"""Staying signed in across reloads: a signed cookie for a working day, bound to the password.

A browser that passed the password gets a ``segments_signin`` cookie on its next page load (``ui.gate`` sets it:
a script cannot set cookies, its page's HTTP response can). The cookie is a token

    v1.<expires, unix seconds>.<random id>.<HMAC-SHA256, hex>

signed with a server key over the expiry, the id and a fingerprint of the password (itself an HMAC under the
same key, so the cookie reveals nothing about the password). So:

- it cannot be forged or altered without the key, and it stops working ``LIFETIME_S`` (10 hours) after it was
  issued: a working day, then the password again;
- changing the password changes the fingerprint: every cookie issued before stops working;
- signing out (``ui.gate``'s sign-out address) forgets the cookie in the browser and lists its id as revoked in
  this process until it would have expired anyway.

The key is ``SEGMENTS_SIGNIN_KEY`` (secrets or environment) when set; otherwise one is made at random the first
time and kept in ``.segments-signin-key`` beside the database, readable only by its owner (0600). It is never the
password: knowing the key lets one make cookies, so a leaked cookie or key does not leak the password, and a
new password still signs everyone out. Deleting the key file signs everyone out too.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["COOKIE", "KEY_FILE", "LIFETIME_S", "Signer", "revoke", "server_key", "signer_for"]

COOKIE = "segments_signin"
LIFETIME_S = 10 * 3600  # a working day
KEY_FILE = ".segments-signin-key"
_VERSION = "v1"

_lock = threading.Lock()
# Token id -> when it would expire anyway: signed-out cookies, refused until then (per process).
_revoked: dict[str, float] = {}
_keys: dict[str, bytes] = {}  # key file path -> key, read once per process
_clock: Callable[[], float] = time.time  # wall clock: an expiry must mean the same after a restart


class Signer:
    """Makes and checks sign-in tokens for one server key and one password."""

    def __init__(self, key: bytes, password: str) -> None:
        self._key = key
        # Keyed, so the fingerprint in a token's MAC says nothing about the password without the key.
        self.mark = hmac.new(key, b"password\0" + password.encode("utf-8"), hashlib.sha256).hexdigest()

    def _mac(self, expires: int, token_id: str) -> str:
        message = f"{_VERSION}.{expires}.{token_id}.{self.mark}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self) -> str:
        """A new token, good for ``LIFETIME_S`` from now."""
        expires = int(_clock()) + LIFETIME_S
        token_id = secrets.token_hex(16)
        return f"{_VERSION}.{expires}.{token_id}.{self._mac(expires, token_id)}"

    def check(self, token: str | None) -> str | None:
        """The token's id when ``token`` is one of ours, unexpired, not revoked and for this password; else None."""
        parts = (token or "").split(".")
        if len(parts) != 4 or parts[0] != _VERSION or not parts[1].isdigit():
            return None
        _v, expires_text, token_id, mac = parts
        expires = int(expires_text)
        if not hmac.compare_digest(mac.encode(), self._mac(expires, token_id).encode()):
            return None
        now = _clock()
        # An expiry further off than a token is ever issued for is not ours (or the clock went back a long way).
        if not now < expires <= now + LIFETIME_S + 60:
            return None
        with _lock:
            if token_id in _revoked:
                return None
        return token_id


def revoke(token_id: str) -> None:
    """Refuse this token from now on (signed out); remembered until it would have expired anyway."""
    now = _clock()
    with _lock:
        for old in [t for t, until in _revoked.items() if until <= now]:
            del _revoked[old]
        _revoked[token_id] = now + LIFETIME_S + 60


def server_key(settings: Mapping[str, object]) -> bytes:
    """``SEGMENTS_SIGNIN_KEY``, else the key kept beside the database (made there, 0600, the first time)."""
    configured = str(settings.get("SEGMENTS_SIGNIN_KEY") or "")
    if configured:
        return hashlib.sha256(b"segments-signin\0" + configured.encode("utf-8")).digest()
    from segmentation.store import default_db_path

    db = str(settings.get("SEGMENTS_DB") or "")
    path = (Path(db).expanduser() if db else default_db_path()).parent / KEY_FILE
    return _key_file(path)


def _key_file(path: Path) -> bytes:
    with _lock:
        key = _keys.get(str(path))
        if key is None:
            key = _keys[str(path)] = _read_or_make(path)
        return key


def _read_or_make(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two servers starting together both end up with the one key written first.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text().strip()
        if len(text) < 64:  # empty or cut short (a crash while writing): not a key to trust
            raise RuntimeError(
                f"{path} is not a sign-in key: delete it and a new one is made (everyone signs in again)"
            ) from None
        return bytes.fromhex(text)
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as out:
        out.write(key.hex() + "\n")
    return key


def signer_for(settings: Mapping[str, object]) -> Signer | None:
    """The signer for these settings' password; None without a password (nothing to stay signed in to)."""
    password = str(settings.get("SEGMENTS_PASSWORD") or "")
    return Signer(server_key(settings), password) if password else None
