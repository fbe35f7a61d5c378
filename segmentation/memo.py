"""A small in-process memo for frames computed from the store: the same question asked twice reads once.

An answer in the app or a conversation often needs the same table as the one before it (who is lapsed, then
how many of them live in Leeds, then an email to them): at 1M order lines the customer table alone takes
0.4-0.5 s to compute and a few milliseconds to copy. ``Memo`` keeps the last few frames, keyed by
``store_key(con)`` (which database file, at which data version) plus the caller's own arguments.

- Only a read-only connection to a database file is memoised: an in-memory database has no file to name, and
  a writer may hold changes that are not committed (or not even an import). ``store_key`` returns None then,
  and the caller computes as before.
- The key holds the file's identity (resolved path, device and inode, so a file deleted and made again is
  another file) and its data: ``store.data_version`` (changes with every import) with a digest of every
  import's file hash, so a store rebuilt from other files within the same second cannot pass for the old one.
- Hits return a deep copy: callers filter, sort and add columns, and none of that may reach the next caller.
  A memo of other values names its own copy (``copy=copy.deepcopy`` for a profile's dataclass of lists).
- Bounded by entries and by rows summed over the entries (a frame's size grows with the shop's customers,
  ~100 bytes a row for the customer table): its memo's 2M rows are ~200 MB at most, two tables of a
  10M-line shop (806k customers) or of a million-customer one; a single frame above the budget is not
  kept. Rows, not bytes: a frame's deep memory use costs a pass over its text columns to measure, and rows
  are what a shop's size sets. Least recently used goes first.
- The key is read before the frame is computed: no import can land in between, as imports wait for
  in-process readers (``store.STORE_LOCK``) and DuckDB lets no other process write while a file is open.
  For the same reason a reader of a file ``store`` keeps open reads the key once per opening
  (``store.kept_facts``), not at every memoised call (3 ms each).
- ``SEGMENTS_MEMO=off`` (or ``0``/``false``/``no``) in the environment, or ``set_enabled(False)``, turns every
  memo off: each call computes (benchmarks compare the two).

Thread-safe: the app answers several people from one process. Two misses on one key at the same moment both
compute, and the second result replaces the first (they are equal).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import duckdb
import pandas as pd

ENV_SWITCH = "SEGMENTS_MEMO"
_OFF_WORDS = ("0", "off", "false", "no")
_enabled: bool | None = None  # None: follow the environment
_ALL: list[Memo[Any]] = []  # every memo made, for clear_all
V = TypeVar("V")  # what a memo keeps: a frame, a profile, a dict of sizes


def enabled() -> bool:
    """Whether memos are in use: ``set_enabled`` if called, else the environment (on unless switched off)."""
    if _enabled is not None:
        return _enabled
    return os.environ.get(ENV_SWITCH, "on").strip().lower() not in _OFF_WORDS


def set_enabled(flag: bool | None) -> None:
    """Switch every memo on or off for this process; None goes back to the environment's setting."""
    global _enabled
    _enabled = flag


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """``with memo.disabled():`` compute everything afresh inside the block."""
    before = _enabled
    set_enabled(False)
    try:
        yield
    finally:
        set_enabled(before)


def store_key(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """What identifies the data ``con`` reads: (path, device, inode, data version, imports digest), or None
    when it must not be memoised (an in-memory database, a writable connection, a file that cannot be seen)."""
    from segmentation.store import data_version, kept_facts

    facts = kept_facts(con)  # a reader of a kept-open file: the key cannot change while it is open
    if facts is not None and "memo_key" in facts:
        return facts["memo_key"]
    try:
        rows = con.execute(
            "SELECT path, readonly FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchall()
        if not rows or not rows[0][0] or not rows[0][1]:
            return None
        path = os.path.realpath(rows[0][0])
        stat = os.stat(path)
        version = data_version(con)
        digest = con.execute(
            "SELECT coalesce(md5(string_agg(import_id || ':' || file_sha256 || ':' || coalesce(replaced, false),"
            " ',' ORDER BY import_id)), '') FROM imports"
        ).fetchall()[0][0]
    except (duckdb.Error, OSError):  # no imports table (not a shop's store), a file gone: compute, keep nothing
        return None
    key = (path, stat.st_dev, stat.st_ino, version, digest)
    if facts is not None:
        facts["memo_key"] = key
    return key


def _rows(value: object) -> int:
    return len(value) if isinstance(value, pd.DataFrame | pd.Series) else 1


def _copy(value: V) -> V:
    # DataFrame.copy copies attrs deeply (its thresholds dict included); Arrow-backed text shares its
    # immutable buffers, which is safe: writing to a column replaces the array, never the buffer.
    return value.copy(deep=True) if isinstance(value, pd.DataFrame | pd.Series) else value


class Memo(Generic[V]):
    """Least-recently-used frames, at most ``max_entries`` of them and ``max_rows`` rows in all."""

    def __init__(
        self,
        name: str,
        *,
        max_entries: int = 4,
        max_rows: int = 2_000_000,
        copy: Callable[[V], V] | None = None,
    ) -> None:
        self.name = name
        self.max_entries = max_entries
        self.max_rows = max_rows
        # How a hit is copied: frames deeply by default; e.g. copy.deepcopy.
        self._copier: Callable[[V], V] = copy or _copy
        self._items: OrderedDict[tuple, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        _ALL.append(self)

    def get_or_compute(self, key: tuple | None, compute: Callable[[], V]) -> V:
        """A copy of the value kept under ``key``, else ``compute()``'s (kept, if it fits); a None key, or
        memos switched off, computes every time and keeps nothing."""
        if key is None or not enabled():
            return compute()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._copier(self._items[key])
            self.misses += 1
        value = compute()
        self.put(key, value)
        return self._copier(value)

    def peek(self, key: tuple | None) -> V | None:
        """The value kept under ``key`` itself, not a copy (read it, never change it), or None; no hit counted."""
        return self.find(lambda k: k == key) if key is not None else None

    def find(self, match: Callable[[tuple], bool]) -> V | None:
        """The most recently used value whose key ``match``es, itself (read it, never change it), or None; for
        a caller that can use what is there and does cheaper work when it is not. Memos off: None."""
        if not enabled():
            return None
        with self._lock:
            found = next((key for key in reversed(self._items) if match(key)), None)
            if found is None:
                return None
            self._items.move_to_end(found)
            return self._items[found]

    def keep(self, key: tuple | None, value: V) -> None:
        """``put``, where ``key`` is not None and memos are on."""
        if key is not None and enabled():
            self.put(key, value)

    def put(self, key: tuple, value: V) -> None:
        rows = _rows(value)
        with self._lock:
            self._items.pop(key, None)
            if rows > self.max_rows:
                return
            self._items[key] = value
            while len(self._items) > self.max_entries or self.rows() > self.max_rows:
                self._items.popitem(last=False)

    def rows(self) -> int:
        return sum(_rows(v) for v in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


def clear_all() -> None:
    """Empty every memo in the process (benchmarks start each conversation cold)."""
    for memo in _ALL:
        memo.clear()
