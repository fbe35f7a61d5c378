"""Wrong passwords slow down, then lock, per browser session and per network address.

For each key (a session, an address) that gets wrong passwords:

- the first ``FREE_TRIES`` (3) wrong tries are answered at once;
- after each further one the key waits ``2 ** (n - FREE_TRIES)`` seconds (2, 4, 8, 16, 32, then 60 at
  most) before another try is even checked;
- from the ``LOCK_AFTER``-th (10th) wrong try on, each wrong try locks the key for ``LOCK_S`` (15 minutes);
- a key with no wrong try for ``FORGET_AFTER_S`` (1 hour) starts again from zero, and the right password
  clears it.

A try made while its key waits is refused without being checked (so waiting is not a way to test
passwords) and is not counted (so someone retrying does not lengthen their own wait). An attacker
reconnecting for a new session is still held by the address; an attacker cannot hold anyone else
for longer than 15 minutes after their last try, and never anyone at another address. So someone
guessing from one address gets 10 tries in the first two minutes, then 4 an hour.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["FORGET_AFTER_S", "FREE_TRIES", "LOCK_AFTER", "LOCK_S", "MAX_DELAY_S", "Throttle"]

FREE_TRIES = 3
MAX_DELAY_S = 60.0
LOCK_AFTER = 10
LOCK_S = 15 * 60.0
FORGET_AFTER_S = 3600.0


@dataclass
class _Record:
    failures: int = 0
    last_failure: float = 0.0
    blocked_until: float = 0.0


def _hold_after(failures: int) -> float:
    """Seconds a key waits after its ``failures``-th wrong try."""
    if failures >= LOCK_AFTER:
        return LOCK_S
    if failures > FREE_TRIES:
        return min(2.0 ** (failures - FREE_TRIES), MAX_DELAY_S)
    return 0.0


class Throttle:
    """Wrong-password bookkeeping for any number of keys; safe to share between sessions (threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def wait_s(self, keys: Iterable[str]) -> float:
        """Seconds before a try from all of ``keys`` may be checked; 0 when it may be checked now."""
        now = self._clock()
        with self._lock:
            return max((self._records[k].blocked_until - now for k in keys if k in self._records), default=0.0)

    def failed(self, keys: Iterable[str]) -> None:
        """One wrong password, from all of ``keys``."""
        now = self._clock()
        with self._lock:
            self._forget_old(now)
            for key in keys:
                record = self._records.setdefault(key, _Record())
                record.failures += 1
                record.last_failure = now
                record.blocked_until = now + _hold_after(record.failures)

    def passed(self, keys: Iterable[str]) -> None:
        """The right password: these keys start again from zero."""
        with self._lock:
            for key in keys:
                self._records.pop(key, None)

    def _forget_old(self, now: float) -> None:
        # Under the lock, on every wrong try: the table holds only keys with a wrong try in the last hour.
        stale = [
            k for k, r in self._records.items() if now - r.last_failure >= FORGET_AFTER_S and now >= r.blocked_until
        ]
        for key in stale:
            del self._records[key]
