"""The DuckDB file that holds one shop's data.

One file per shop. Tables:

- ``order_lines``: every line a user imported, guests included, with the net value that analytics use
  (``net_amount``: 0 for a cancelled order, otherwise ``amount - refund``).
- ``orders``: one row per order (a distinct order id, or a customer-day where the file has none), rebuilt
  from ``order_lines`` after every import so it can never drift from them. Its ``net_amount`` is net of
  the returns filed as orders of their own that undo it (``cancellations``): a line's own ``net_amount``
  stays where the file put it.
- ``customers``: the latest known details per customer (email, names, place, marketing consent).
- ``imports``: one row per import with its report; ``rejects``: every row we could not use, with the
  reason and the raw cells, so nothing a user gives us is silently dropped.
- ``meta``: the schema version (its presence is what marks a file as a shop's store: a DuckDB file without
  it that holds other tables belongs to another program and is never written).

Another process may hold the file (the app's reader, an import's write step): opening it waits up to
``LOCK_WAIT_SECONDS`` for it to let go, then says so in one sentence (``StoreBusyError``).

The store never runs SQL from outside this package; analytics read it through plain SQL of their own.
Queries read their results with ``fetchall()``: in DuckDB 2 a result read with ``fetchone()`` stays
open and blocks the connection's next ``register``.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import duckdb

from segmentation.importing.cancellations import (
    ADJUSTMENTS,
    ORDER_KEY_SQL,
    Undone,
    attribute_returns,
    drop_work_tables,
    undone_counts,
)
from segmentation.vocabulary import AnalysisError, SegmentsError

T = TypeVar("T")

SCHEMA_VERSION = 3  # 2: campaigns, campaign_members, chat_history, model_cache; 3: row identity (ROW_IDENTITY)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "data" / "shop.duckdb"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE IF NOT EXISTS imports (
    import_id     INTEGER PRIMARY KEY,
    file_name     VARCHAR NOT NULL,
    file_sha256   VARCHAR NOT NULL,
    imported_at   TIMESTAMP NOT NULL,
    layout        VARCHAR,
    mapping_json  VARCHAR,
    rows_read     BIGINT,
    rows_loaded   BIGINT,
    rows_duplicate BIGINT,
    rows_rejected BIGINT,
    guest_rows    BIGINT,
    replaced      BOOLEAN
);

CREATE TABLE IF NOT EXISTS order_lines (
    import_id   INTEGER NOT NULL,
    line_no     BIGINT NOT NULL,      -- 1-based data row number in the imported file
    row_hash    UBIGINT NOT NULL,     -- what the row means (row_identity_sql), for re-import de-duplication
    row_ordinal INTEGER NOT NULL,     -- n-th row of that meaning: true duplicates in a file are kept
    order_id    VARCHAR,
    customer_id VARCHAR,              -- NULL for guest orders
    ordered_at  TIMESTAMP,
    order_date  DATE NOT NULL,
    product     VARCHAR,
    category    VARCHAR,
    channel     VARCHAR,
    quantity    DOUBLE,
    unit_price  DOUBLE,
    amount      DOUBLE NOT NULL,      -- the line's value as the file gives it (negative for returns)
    refund      DOUBLE NOT NULL,      -- refunded amount recorded on this row (order-level refund columns)
    cancelled   BOOLEAN NOT NULL,     -- order cancelled by its status or a cancel date
    net_amount  DOUBLE NOT NULL       -- what the line contributes to revenue
);

CREATE TABLE IF NOT EXISTS orders (
    customer_id  VARCHAR,
    order_id     VARCHAR NOT NULL,    -- the file's order id, or 'day:YYYY-MM-DD' for customer-days
    order_date   DATE NOT NULL,
    net_amount   DOUBLE NOT NULL,
    gross_amount DOUBLE NOT NULL,
    line_count   INTEGER NOT NULL,
    channel      VARCHAR,
    is_purchase  BOOLEAN NOT NULL     -- net_amount > 0
);

CREATE TABLE IF NOT EXISTS customers (
    customer_id       VARCHAR NOT NULL,  -- unique: kept so by ingest.merge_customers
    email             VARCHAR,
    first_name        VARCHAR,
    last_name         VARCHAR,
    country           VARCHAR,
    city              VARCHAR,
    marketing_consent BOOLEAN,        -- NULL where the data does not say
    first_order_date  DATE,
    updated_import_id INTEGER
);

CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id   VARCHAR NOT NULL,   -- 'cmp-0001', ...
    created_at    TIMESTAMP NOT NULL,
    segment       VARCHAR NOT NULL,   -- RFM segment, lifecycle stage or cluster key
    as_of         DATE NOT NULL,      -- membership date; results are measured after it
    goal          VARCHAR,
    channel       VARCHAR,
    draft_json    VARCHAR,            -- the draft used, as JSON
    holdout       DOUBLE NOT NULL,
    seed          BIGINT NOT NULL,
    excluded_no_consent INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS campaign_members (
    campaign_id VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    arm         VARCHAR NOT NULL      -- 'audience' (messaged) or 'control' (held out)
);

CREATE TABLE IF NOT EXISTS model_cache (
    data_version VARCHAR NOT NULL,    -- store.data_version(): changes with every import
    as_of        DATE NOT NULL,
    fits_json    VARCHAR NOT NULL,    -- fitted value-model parameters
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS chat_history (
    workspace       VARCHAR,
    turn            INTEGER,
    question        VARCHAR,
    answer          VARCHAR,
    mode            VARCHAR,
    tool_calls_json VARCHAR,
    created_at      TIMESTAMP,
    grounded        VARCHAR,            -- agent.base.Turn.grounded: 'checked', 'offline', or why not shown
    state_json      VARCHAR             -- what the conversation is about after this turn (agent.dialogue.State)
);
-- Stores made before the columns: old rows keep NULL (ui.history reads grounded as 'offline': no verdict to
-- show, and rebuilds a missing state from the turns' tool calls). An added column needs no new SCHEMA_VERSION,
-- so an older app still opens the file.
ALTER TABLE chat_history ADD COLUMN IF NOT EXISTS grounded VARCHAR;
ALTER TABLE chat_history ADD COLUMN IF NOT EXISTS state_json VARCHAR;

-- Segments the owner saved by a condition (segmentation.custom.saved): the definition, the membership at the last
-- record, one row per record (at saving, then after every import) and who joined or left at each.
CREATE TABLE IF NOT EXISTS saved_segments (
    name       VARCHAR NOT NULL,      -- unique, whatever its case: kept so by saved.save_segment
    condition  VARCHAR NOT NULL,      -- in segmentation.custom.conditions' words, never SQL
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS saved_segment_members (
    name        VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS saved_segment_history (
    name        VARCHAR NOT NULL,
    record      INTEGER NOT NULL,     -- 1 at saving, then one more per import
    import_id   INTEGER,              -- the latest import at the record
    recorded_at TIMESTAMP NOT NULL,
    as_of       DATE,                 -- the data's last day at the record
    size        INTEGER NOT NULL,
    joined      INTEGER NOT NULL,
    left_count  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS saved_segment_moves (
    name        VARCHAR NOT NULL,
    record      INTEGER NOT NULL,
    import_id   INTEGER,
    recorded_at TIMESTAMP NOT NULL,
    as_of       DATE,
    customer_id VARCHAR NOT NULL,
    move        VARCHAR NOT NULL      -- 'joined' or 'left'
);

-- Customer lists and survey answers (segmentation.importing.contact_ingest): one row per person, attribute and value
-- (a tag or an interest is a row of its own). A person is the file's customer id, else its email, and is
-- matched to the shop's customers when read (segmentation.attributes), so a row matching nobody is kept,
-- never made a customer. Names: birth_date, age, age_band, gender, income_band, city, region, country, tag,
-- interest, email_consent, unsubscribed, cleaned, member_rating, subscribed_on, or a column's own name.
CREATE TABLE IF NOT EXISTS contact_attributes (
    contact      VARCHAR NOT NULL,    -- customer_ref, else email
    customer_ref VARCHAR,             -- the file's customer id
    email        VARCHAR,             -- lower case
    name         VARCHAR NOT NULL,
    value        VARCHAR NOT NULL,
    number       DOUBLE,              -- the value as a number, where it is one
    import_id    INTEGER NOT NULL
);

-- Email activity exports (Mailchimp, Klaviyo): what each person did with each campaign.
CREATE TABLE IF NOT EXISTS email_events (
    contact      VARCHAR NOT NULL,
    customer_ref VARCHAR,
    email        VARCHAR,
    campaign     VARCHAR,
    event        VARCHAR NOT NULL,    -- sent, open, click, bounce, unsubscribe
    occurred_at  TIMESTAMP,           -- when, where the file says
    times        INTEGER NOT NULL,    -- how many (a recipient's opens of a campaign)
    import_id    INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS rejects (
    import_id INTEGER NOT NULL,
    line_no   BIGINT NOT NULL,
    reason    VARCHAR NOT NULL,
    raw       VARCHAR                 -- the row's cells as JSON, exactly as read
);
"""

DATA_TABLES = ("order_lines", "orders", "customers", "rejects", "imports", "contact_attributes", "email_events")

# A row is recognised by what it means once parsed, never by its cells as written: a re-export with the
# columns in another order, a trailing space, an extra column, numbers written 12345.0 or dates written
# 01/03/2024 (CSV) or as a date (Excel) is the same order line. A customer's details (names, email, place) are
# not part of it: they change between exports of the same order, and the customers merge keeps the latest.
# The casts fix each value's type, so the importer (parsed columns) and the upgrade (stored columns) agree;
# numbers are rounded to 6 decimals, so a price Excel holds as 4.4999999999 and a CSV's 4.50 agree too.
ROW_IDENTITY = (
    ("order_id", "VARCHAR"),
    ("customer_id", "VARCHAR"),
    ("ordered_at", "TIMESTAMP"),
    ("product", "VARCHAR"),
    ("quantity", "DOUBLE"),
    ("unit_price", "DOUBLE"),
    ("amount", "DOUBLE"),
    ("refund", "DOUBLE"),
)


def row_identity_sql(**columns: str) -> str:
    """DuckDB SQL for a row's identity hash over ``ROW_IDENTITY``; ``columns`` names an expression for a field
    that is not a column of that name (e.g. ``refund="coalesce(refund_value, 0)"``)."""

    def value(field: str, kind: str) -> str:
        cast = f"({columns.get(field, field)})::{kind}"
        return f"round({cast}, 6)" if kind == "DOUBLE" else cast

    values = ", ".join(value(f, kind) for f, kind in ROW_IDENTITY)
    return f"hash({values})"


# Recorded in ``meta`` beside the fingerprints: they were computed by this definition, with this DuckDB's hash.
_ROW_IDENTITY_KEY = f"{row_identity_sql()} in duckdb {duckdb.__version__}"


def _seconds_from_env(name: str, default: float) -> float:
    """A number of seconds from the environment; the default when it is unset or not a number."""
    try:
        return max(float(os.environ.get(name, default)), 0.0)
    except ValueError:
        return default


# How long opening the store waits for another process (the app's reader, an import's write step) to let go.
# An import's write holds it for seconds on a 10M-line file; past this a person is told, not left waiting.
LOCK_WAIT_SECONDS = _seconds_from_env("SEGMENTS_LOCK_WAIT_SECONDS", 10.0)
_IN_USE = "The shop's database is in use by another program (the app or another `segments` command): try again"
BUSY = f"{_IN_USE} in a moment."
BUSY_FOR_IMPORT = f"{_IN_USE} in a moment, or import from the app."


def default_db_path() -> Path:
    """The database the command line and app use unless told otherwise (env ``SEGMENTS_DB`` wins)."""
    env = os.environ.get("SEGMENTS_DB")
    return Path(env).expanduser() if env else DEFAULT_DB


class StoreError(SegmentsError):
    """The database file cannot be used (locked, damaged, another program's, or from a newer version)."""


class StoreBusyError(StoreError):
    """Another process held the database for longer than ``LOCK_WAIT_SECONDS``."""


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.IOException) and "Could not set lock" in str(exc)


def open_waiting(open_once: Callable[[], T], *, busy: str = BUSY, wait: float | None = None) -> T:
    """``open_once()``, tried again for up to ``wait`` seconds (``LOCK_WAIT_SECONDS``) while another process
    holds the file; then StoreBusyError(``busy``). DuckDB's own text names process ids and a web address,
    which tell a shop owner nothing."""
    deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait is None else wait)
    pause = 0.05
    while True:
        try:
            return open_once()
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                raise StoreBusyError(busy) from None
        time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
        pause = min(pause * 2, 0.5)


def _not_a_store(db: Path, why: str) -> StoreError:
    return StoreError(
        f"{db} is not a shop database ({why}), so it was left as it was: name the shop's own database file, "
        "or a new file for a new shop."
    )


def refuse_other_files(db: Path) -> None:
    """Refuse an existing path that is not a DuckDB file (a CSV given as the database, a folder, a FIFO):
    DuckDB would take a file shorter than its header for an empty database and write over it."""
    if not db.exists():
        return
    if not db.is_file():  # a folder, or a FIFO that opening would wait on forever
        raise _not_a_store(db, "it is not a file")
    try:
        with db.open("rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        raise _not_a_store(db, "it cannot be read as a file") from exc
    if header[8:12] != b"DUCK":
        raise _not_a_store(db, "it is not a DuckDB file")


def check_store_for_import(path: str | Path) -> None:
    """Before an import reads its file: refuse a database that is not a shop's, and wait (bounded) while
    another process holds it, so a long read is not wasted on a write that cannot happen.

    The file is opened for writing and closed again, nothing written: the lock DuckDB takes then is the one
    the write step needs. A file that does not exist yet is created by the write step.
    """
    db = Path(path)
    refuse_other_files(db)
    if not db.exists():
        return

    def probe() -> None:
        with STORE_LOCK.exclusive():  # this process's readers close the file first (see _ReadersWriterLock)
            con = duckdb.connect(str(db))
            try:
                store_version(con, db)
            finally:
                con.close()

    try:
        open_waiting(probe, busy=BUSY_FOR_IMPORT)
    except duckdb.Error as exc:
        raise StoreError(f"Cannot open the shop database {db}: {_first_line(exc)}") from exc


_SANDBOX = {"enable_external_access": False, "lock_configuration": True}


def connect(
    path: str | Path | None = None, *, read_only: bool = False, sandboxed: bool = False, wait: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the shop database, creating it (and its schema) when writing to a new file.

    ``sandboxed`` (read-only only): no file but the database can be touched and settings cannot change.
    The settings are given when the file is opened, identically for every sandboxed reader: DuckDB shares
    them among all connections to a file in a process, so a reader that SET them afterwards would fail
    against another reader that had already locked them. ``wait``: seconds to wait for another process to
    let go of the file (default ``LOCK_WAIT_SECONDS``).

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The database file; default ``default_db_path()``.
    read_only : bool, default False
        Open for reading only (the file must exist).
    sandboxed : bool, default False
        Read-only, and no file but the database can be touched.
    wait : float, optional
        Seconds to wait for another process to let go; default ``LOCK_WAIT_SECONDS``.

    Returns
    -------
    duckdb.DuckDBPyConnection
        A connection to the store, its schema created or upgraded when writing.
    """
    db = Path(path) if path is not None else default_db_path()
    if read_only and not db.exists():
        raise StoreError(
            f"There is no shop data at {db} yet: import your orders, or load the demo shop (`segments demo`)."
        )
    refuse_other_files(db)
    if not sandboxed:  # DuckDB opens a file one way per process: a kept reader must go first (see below)
        release_kept(db)
    try:
        if not read_only:
            db.parent.mkdir(parents=True, exist_ok=True)
        if sandboxed:
            con = open_waiting(lambda: duckdb.connect(str(db), read_only=True, config=dict(_SANDBOX)), wait=wait)
        else:
            con = open_waiting(lambda: duckdb.connect(str(db), read_only=read_only), wait=wait)
            # No progress bar: DuckDB draws one on stderr for slow queries, even when it is not a terminal.
            con.execute("SET enable_progress_bar = false")
    except duckdb.Error as exc:
        raise StoreError(f"Cannot open the shop database {db}: {_first_line(exc)}") from exc
    try:
        if read_only:
            _check_version(con, db)
        else:
            ensure_schema(con, db)
    except BaseException:
        con.close()
        raise
    return con


class _ReadersWriterLock:
    """Many readers or one writer, within this process.

    DuckDB lets one process hold a database file either read-only or read-write, not both at once, and
    settings such as the sandbox below apply to every connection on the file. The app serves several
    people from one process, so reads share the file and a write (an import, saving chat history) waits
    for them to finish, and they for it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer and self._readers == 0)
            self._writer = True
        release_kept()  # no reader is left (each held the shared lock): the kept files close before any write
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


STORE_LOCK = _ReadersWriterLock()


@contextlib.contextmanager
def connect_sandboxed(path: str | Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection that cannot touch any file but the database, and cannot be reconfigured.

    The assistant's tools use this one: whatever a question contains, nothing it leads to can read
    /etc/passwd, COPY the customers out, or switch these guards off again. Use it in a ``with``: the
    shared lock is held, and the guards stand, until the block ends.

    The connection is a cursor on a sandboxed connection kept open per file (``_KeptFile``): opening the file
    costs 20-25 ms, and one answer reads it three to five times (the planner's look at the shop, the tool,
    the page). A cursor has its own temporary tables and registered frames, dropped when the block ends, and
    the file's guards (they are the database's, not the cursor's).
    """
    with STORE_LOCK.shared():
        kept = _checkout(Path(path) if path is not None else default_db_path())
        con = kept.con.cursor()
        _CURSORS[id(con)] = (con, kept)
        try:
            yield con
        finally:
            _CURSORS.pop(id(con), None)
            con.close()
            _checkin(kept)


def kept_facts(con: duckdb.DuckDBPyConnection) -> dict | None:
    """A dict for facts about the data behind ``con`` that hold as long as its kept file is open (the data
    cannot change meanwhile: see below), shared by every reader of that file; None for any other connection.
    ``segmentation.memo.store_key`` keeps its key there, read once instead of at every memoised call."""
    entry = _CURSORS.get(id(con))
    return entry[1].facts if entry is not None and entry[0] is con else None


# Why keeping a read-only file open is safe, and when it is closed:
# - Nothing can change the data under it. DuckDB holds a shared lock on a file opened read-only, so no other
#   process can write it while it is open; in this process every writer takes ``STORE_LOCK.exclusive()``,
#   which waits for every reader's shared lock (each cursor is used inside one) and then closes every kept
#   file before the write begins. Any other kind of connection this process opens to the file (read-write,
#   or read-only without the sandbox) closes the kept one first too (``connect``): DuckDB refuses a second
#   configuration of a file that is open. A file deleted or replaced at its path (another inode, size or
#   modification time) is opened afresh.
# - It must not keep another program's import out for long: a kept file closes after ``KEEP_OPEN_SECONDS``
#   without a reader (a thread watches), so an import from the command line beside the app waits at most that
#   long after the last read, as it waits for a read today. In the app every answer ends with a write (the
#   chat history), which closes it at once; between the reads of one answer it stays open.
# ``SEGMENTS_KEEP_OPEN_SECONDS`` in the environment sets that time; 0 closes the file after every read.
KEEP_OPEN_SECONDS = _seconds_from_env("SEGMENTS_KEEP_OPEN_SECONDS", 0.5)


class _KeptFile:
    def __init__(self, path: str, con: duckdb.DuckDBPyConnection, ident: tuple) -> None:
        self.path, self.con, self.ident = path, con, ident
        self.users = 0
        self.last_used = time.monotonic()
        self.facts: dict = {}


_KEPT: dict[str, _KeptFile] = {}
_CURSORS: dict[int, tuple[duckdb.DuckDBPyConnection, _KeptFile]] = {}  # the cursors in use, by id
_KEPT_LOCK = threading.Lock()
_KEPT_WATCHED = threading.Event()  # set while the closing thread runs


def _ident(path: str) -> tuple:
    stat = os.stat(path)
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _checkout(db: Path) -> _KeptFile:
    key = os.path.realpath(db)
    with _KEPT_LOCK:
        kept = _KEPT.get(key)
        if kept is not None and not kept.users:
            try:
                same = _ident(key) == kept.ident
            except OSError:
                same = False
            if not same:
                _close(kept)
                kept = None
        if kept is None:
            con = connect(db, read_only=True, sandboxed=True)  # StoreError when missing, foreign or newer
            try:
                ident = _ident(key)
            except OSError as exc:
                con.close()
                raise StoreError(f"Cannot open the shop database {db}: {exc}") from exc
            kept = _KEPT[key] = _KeptFile(key, con, ident)
        kept.users += 1
        return kept


def _checkin(kept: _KeptFile) -> None:
    with _KEPT_LOCK:
        kept.users -= 1
        kept.last_used = time.monotonic()
        if KEEP_OPEN_SECONDS <= 0 and not kept.users:
            _close(kept)
        elif not _KEPT_WATCHED.is_set():
            _KEPT_WATCHED.set()
            threading.Thread(target=_close_idle, name="segments-close-idle-files", daemon=True).start()


def _close_idle() -> None:
    """Close every kept file unused for ``KEEP_OPEN_SECONDS``; return once none is kept."""
    while True:
        with _KEPT_LOCK:
            now = time.monotonic()
            for kept in [k for k in _KEPT.values() if not k.users and now - k.last_used >= KEEP_OPEN_SECONDS]:
                _close(kept)
            if not _KEPT:
                _KEPT_WATCHED.clear()
                return
            wait = min(
                (KEEP_OPEN_SECONDS - (now - k.last_used) for k in _KEPT.values() if not k.users),
                default=KEEP_OPEN_SECONDS,
            )
        time.sleep(max(wait, 0.01))


def _close(kept: _KeptFile) -> None:
    """Close a kept file (``_KEPT_LOCK`` held, nobody using it)."""
    _KEPT.pop(kept.path, None)
    con = kept.con
    del kept.con  # nothing left holding the connection (a sleeping thread's frame, say)
    with contextlib.suppress(duckdb.Error):
        con.close()


def release_kept(path: str | Path | None = None) -> None:
    """Close the kept read-only file at ``path`` (every one without it) that no reader is using now."""
    key = os.path.realpath(path) if path is not None else None
    with _KEPT_LOCK:
        for kept in [k for k in _KEPT.values() if (key is None or k.path == key) and not k.users]:
            _close(kept)


atexit.register(release_kept)


def upgrade(path: str | Path) -> None:
    """Bring an existing file up to this schema (new tables only), if nobody else holds it.

    Readers open files read-only and so cannot add the tables a newer version expects; the app calls
    this once at start. A file another process holds is left as it is, at once: the next writer upgrades it.
    A file that is not a shop's store is left as it is too (its readers say why).
    """
    db = Path(path)
    if not db.exists():
        return
    with STORE_LOCK.exclusive(), contextlib.suppress(StoreError):
        connect(db, wait=0).close()


def ensure_schema(con: duckdb.DuckDBPyConnection, db: Path | str = "the database") -> None:
    """Create missing tables and record the schema version; refuse a file from a newer version, or one that
    holds another program's tables.

    Upgrades: 2 added tables (created here like any missing one); 3 recognises rows by what they mean, so
    the fingerprints an older version stored are computed again (``_rehash_order_lines``). They are also
    computed again after DuckDB itself is upgraded: its ``hash`` is not promised to stay the same between
    releases, and a changed one would let every re-imported row in again.
    """
    store_version(con, Path(db))
    con.execute(_SCHEMA)
    hashed_by = con.execute("SELECT value FROM meta WHERE key = 'row_identity'").fetchall()
    if hashed_by != [(_ROW_IDENTITY_KEY,)]:  # a store of schema 2 or older has none
        _rehash_order_lines(con)
    con.execute(
        "INSERT INTO meta VALUES ('schema_version', ?), ('row_identity', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [str(SCHEMA_VERSION), _ROW_IDENTITY_KEY],
    )


def store_version(con: duckdb.DuckDBPyConnection, db: Path) -> int | None:
    """The schema version of the database ``con`` is using; None for an empty database (a new store).
    StoreError for a database holding other tables but no ``meta`` (another program's), or a newer one."""
    here = "database_name = current_database() AND NOT internal"
    has_meta, others = con.execute(
        f"SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta' AND {here}), "
        f"(SELECT count(*) FROM duckdb_tables() WHERE {here}) + (SELECT count(*) FROM duckdb_views() WHERE {here})"
    ).fetchall()[0]
    if has_meta:
        return _check_version(con, db)
    if others:
        raise _not_a_store(db, "it holds another program's tables")
    return None


def _check_version(con: duckdb.DuckDBPyConnection, db: Path) -> int:
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    except duckdb.CatalogException as exc:
        raise _not_a_store(db, "it was not made by this program") from exc
    version = int(rows[0][0]) if rows else 0
    if version > SCHEMA_VERSION:
        raise StoreError(f"{db} was written by a newer version of this program (schema {version}); upgrade to read it.")
    return version


def _rehash_order_lines(con: duckdb.DuckDBPyConnection) -> None:
    """Fingerprint every stored line by what it means (``ROW_IDENTITY``), from the parsed columns the store
    keeps, and number the lines of one meaning 1, 2, ... across the store (oldest import first), so that a
    file holding k of them adds only those past the store's count. Only repeated meanings pay for the
    numbering."""
    con.execute(f"UPDATE order_lines SET row_hash = {row_identity_sql()}, row_ordinal = 1")
    con.execute(
        """
        UPDATE order_lines SET row_ordinal = repeats.ordinal
        FROM (
            SELECT rowid AS row_id,
                   row_number() OVER (PARTITION BY row_hash ORDER BY import_id, line_no)::INTEGER AS ordinal
            FROM order_lines
            WHERE row_hash IN (SELECT row_hash FROM order_lines GROUP BY row_hash HAVING count(*) > 1)
        ) AS repeats
        WHERE order_lines.rowid = repeats.row_id AND repeats.ordinal > 1
        """
    )


def rebuild_orders(con: duckdb.DuckDBPyConnection, lines: str = "order_lines") -> Undone:
    """Recompute ``orders`` from ``order_lines``: one row per order id, or per customer-day without one.

    Orders are keyed by (customer, order id) so that two customers sharing an id in a messy export stay
    apart. Lines without an order id group into one order per customer and day (DESIGN.md: Order).
    A return filed as an order of its own moves its money onto the order it undoes (``cancellations``).
    Sums are rounded to 6 decimals: a parallel sum adds in any order, and 21.849999999999998 against 21.85
    would make the same data give different answers. ``lines``: a table or view holding exactly the
    rows of ``order_lines`` (the importer's own copy, when the store holds one file), read faster.
    Returns what attributing returns did, for the import report.
    """
    attribute_returns(con, lines)
    con.execute("DELETE FROM orders")
    con.execute(
        f"""
        INSERT INTO orders
        SELECT o.customer_id, o.order_key, o.first_day, round(o.net + coalesce(a.delta, 0), 6) AS net_total,
               o.gross, o.line_count, o.channel, net_total > 0
        FROM (
            SELECT customer_id, {ORDER_KEY_SQL} AS order_key, min(order_date) AS first_day,
                   sum(net_amount) AS net, round(sum(amount), 6) AS gross, count(*)::INTEGER AS line_count,
                   -- an order has one channel; min() is deterministic where mode() ties are not
                   min(channel) AS channel
            FROM {lines}
            GROUP BY customer_id, order_key
        ) o
        LEFT JOIN {ADJUSTMENTS} a ON a.customer_id = o.customer_id AND a.order_key = o.order_key
        """
    )
    undone = undone_counts(con)
    drop_work_tables(con)
    return undone


# Customers with a purchase, and the first and last order day: what the app shows on every page run.
SUMMARY_SQL = (
    "SELECT count(DISTINCT customer_id), min(order_date)::VARCHAR, max(order_date)::VARCHAR "
    "FROM orders WHERE is_purchase"
)
SUMMARY_KEY = "data_summary"


def remember_summary(con: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Record ``SUMMARY_SQL``'s answer in ``meta`` with the import it describes (after ``rebuild_orders``).

    Counting distinct customers takes 0.4 s in a 10M-line shop: once per import, not once per page run.
    """
    customers, first, last = con.execute(SUMMARY_SQL).fetchall()[0]
    value = json.dumps({"import_id": import_id, "customers": customers, "first": first, "last": last})
    con.execute(
        "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [SUMMARY_KEY, value]
    )


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """A fingerprint of the data that changes with every import (or replace): the key for caches."""
    count, last_id, last_at = con.execute(
        "SELECT count(*), coalesce(max(import_id), 0), coalesce(max(imported_at)::VARCHAR, '') FROM imports"
    ).fetchall()[0]
    return f"{count}:{last_id}:{last_at}"


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts per data table: a cheap fingerprint used to show a store is unchanged."""
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in DATA_TABLES}


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# The shop's dates: every analysis is as of a day, by default the day of the last order in the store.


def last_order_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The default as-of date: the day of the last order in the data (guests included)."""
    return con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]


def resolve_as_of(con: duckdb.DuckDBPyConnection, as_of: dt.date | str | None) -> dt.date:
    """The as-of date to use: the one given (a date or 'YYYY-MM-DD'), else the last order's day."""
    if isinstance(as_of, str):
        try:
            as_of = dt.date.fromisoformat(as_of.strip())
        except ValueError as exc:
            raise AnalysisError(f"'{as_of}' is not a date: write it as YYYY-MM-DD, e.g. 2024-06-30.") from exc
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if as_of is None:
        as_of = last_order_date(con)
        if as_of is None:
            raise AnalysisError("The shop has no orders yet: import an orders file or run `segments demo`.")
    return as_of


def require_orders_by(con: duckdb.DuckDBPyConnection, as_of: dt.date | str | None) -> None:
    """Raise AnalysisError when a date the person gave is before the shop's first order: every number would be
    of nobody, and 'only 0 customers have bought more than once' would not say why."""
    if as_of is None:
        return
    day = resolve_as_of(con, as_of)
    first = con.execute("SELECT min(order_date) FROM orders").fetchall()[0][0]
    if first is not None and day < first:
        raise AnalysisError(
            f"{day.isoformat()} is before your first order ({first.day} {first:%b %Y}): choose a date on or after it."
        )
