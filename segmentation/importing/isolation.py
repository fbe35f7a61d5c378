"""Imports and previews run in a child process with an address-space limit: the app's and the command line's.

The app serves every teammate from one process, so an upload is read inside the server everyone uses.
The readers have budgets (decompressed bytes and ratio, a spreadsheet's cells, text, cell length and
rows), but a CSV or Parquet file is read by DuckDB, whose memory limit is a target, not a wall: a file
that needs more than the machine has could still take the server down. So the app never reads an upload
in its own process: a child does, under ``IMPORT_ADDRESS_SPACE`` bytes of address space and within
``IMPORT_SECONDS``; past either the child stops, and the person gets one sentence while the server
carries on. The command line imports the same way: short of memory, DuckDB can throw from one of its
own threads, where nothing catches it and the process aborts with a C++ message instead of a sentence.
Nothing here imports Streamlit, so the child starts with only what an import needs.

The child's writer lock is the app's: when ``import_file`` in the child takes ``STORE_LOCK.exclusive()``
it asks the app to take its own, which closes the app's read-only connections on the store (DuckDB lets
a file be open for writing in one process only) and keeps the app's readers out until the write ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

from segmentation.importing import columns as cols
from segmentation.importing.readers import IngestError, UnrelatedFileError, no_memory_refusal, out_of_memory_refused
from segmentation.store import STORE_LOCK, StoreError

__all__ = ["IMPORT_ADDRESS_SPACE", "IMPORT_SECONDS", "Inspection", "inspect_upload", "run_isolated"]


def _env_number(name: str, default: int) -> int:
    try:
        return int(float(os.environ.get(name, default)))
    except ValueError:
        return default


# DuckDB, pandas, Arrow and the value models reserve about 2.5 GB of address space before using any; the
# import's own DuckDB budget (ingest.IMPORT_MEMORY_LIMIT, 2.5 GB) and Python's share come on top.
IMPORT_ADDRESS_SPACE = _env_number("SEGMENTS_IMPORT_ADDRESS_SPACE", 8_000_000_000)
# A 10-million-line export imports in a few minutes; a reader that hangs must not hold a session forever.
IMPORT_SECONDS = _env_number("SEGMENTS_IMPORT_SECONDS", 30 * 60)
_POLL_SECONDS = 0.2

_CHILD_CODE = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from segmentation.importing.isolation import _child; _child(int(sys.argv[1]))"
)


@dataclasses.dataclass
class Inspection:
    """What the Data panel shows of an upload before it is imported (see ``inspect_upload``)."""

    columns: list[str] = dataclasses.field(default_factory=list)
    mapping: dict[str, str] = dataclasses.field(default_factory=dict)
    layout: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    rows: int = 0
    sample: Any = None  # pandas DataFrame: the first rows
    problem: str | None = None  # readable, but some field could not be placed: the owner can fix it
    refusal: str | None = None  # not an orders file we can read at all
    kind: str = "orders"  # 'profiles' or 'activity' for a customer list or email activity: its own fields


def inspect_upload(path: str | Path, rows: int) -> Inspection:
    """Preview and map ``path``; if the mapping fails but the file reads, its columns with guesses by name.

    Runs in the child (``run_isolated("segmentation.importing.isolation:inspect_upload", ...)``): it reads the
    whole file.
    """
    import duckdb

    from segmentation.importing.ingest import preview_file
    from segmentation.importing.readers import count_rows, load_raw, make_workdir

    path = Path(path)
    try:
        p = preview_file(path, rows=rows)
        return Inspection(p.columns, p.mapping, p.layout, p.notes, p.rows, p.sample, kind=p.kind)
    except IngestError as exc:
        problem = str(exc)
    # The mapping failed (no customer, date or amount column found). If the file itself reads, show
    # its columns with the guesses by name, so the owner can say which is which, as --map does.
    try:
        with out_of_memory_refused(path.name), make_workdir() as tmp:
            work = duckdb.connect(config={"temp_directory": tmp})
            try:
                work.execute("SET enable_progress_bar = false")
                raw = load_raw(work, path, Path(tmp))
                sample = work.execute(f"SELECT * EXCLUDE (line_no) FROM sample ORDER BY line_no LIMIT {rows}").df()
                count = count_rows(work, raw)
            finally:
                work.close()
    except IngestError as exc:
        return Inspection(refusal=str(exc))
    layout = cols.detect_layout(raw.columns)
    mapping = cols.map_by_name(raw.columns, layout)
    return Inspection(raw.columns, mapping, layout.label if layout else None, raw.notes, count, sample, problem=problem)


def run_isolated(
    target: str,
    *args: object,
    name: str,
    progress: Callable[[float, str], None] | None = None,
    **kwargs: object,
) -> Any:
    """``target(*args, **kwargs)`` ("module:function") in a capped child; its result, or its refusal raised here.

    ``name`` is the file's name for the sentence when the child runs out of memory or time. ``progress``
    is passed on to the target as its ``progress`` argument, its calls relayed from the child.
    IngestError and StoreError come back as themselves; a child that dies is one IngestError sentence.
    """
    ours, theirs = Pipe()
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds the segmentation package
    env = dict(os.environ)
    # One malloc arena per thread reserves 64 MB of address space each: a cap would be spent on reservations.
    env.setdefault("MALLOC_ARENA_MAX", "2")
    # The child's scratch files (decompressed copies, DuckDB's spill) go in a folder this process removes:
    # a child killed by the cap cannot clean up after itself, and its gigabytes would stay behind.
    with tempfile.TemporaryDirectory(prefix="segments-child-") as scratch:
        env["TMPDIR"] = scratch
        # The child's own stderr stays in the scratch folder: a C++ thread that runs out of memory prints
        # "terminate called ... bad_alloc" there as it dies, and the person is told the one sentence below instead.
        with theirs, open(Path(scratch) / "child-stderr.txt", "wb") as child_stderr:
            child = subprocess.Popen(
                [sys.executable, "-c", _CHILD_CODE.format(root=root), str(theirs.fileno()), str(IMPORT_ADDRESS_SPACE)],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=child_stderr,
                env=env,
            )
        # The child's end is closed here: when the child exits, reading ours ends instead of waiting forever.
        try:
            with ours, contextlib.ExitStack() as held:
                ours.send((target, args, kwargs, progress is not None, name))
                return _serve(ours, child, held, name, progress)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()


def _serve(
    conn: Connection,
    child: subprocess.Popen,
    held: contextlib.ExitStack,
    name: str,
    progress: Callable[[float, str], None] | None,
) -> Any:
    """Answer the child's messages until it sends its outcome; the store's lock is taken and let go for it."""
    deadline = time.monotonic() + IMPORT_SECONDS
    while True:
        if time.monotonic() > deadline:
            raise IngestError(
                f"Importing {name} took more than {IMPORT_SECONDS // 60} minutes: split the orders into smaller "
                "files and import each."
            )
        try:
            if not conn.poll(_POLL_SECONDS):
                if child.poll() is not None and not conn.poll():
                    raise EOFError  # exited without a word (a grandchild may still hold the pipe open)
                continue
            message = conn.recv()
        except (EOFError, OSError):
            # The child is gone without an answer: the address-space cap (an allocation failed where no
            # handler could run) or the kernel killed it. The store is as it was: its write is one transaction.
            raise no_memory_refusal(name) from None
        kind = message[0]
        if kind == "progress" and progress is not None:
            progress(*message[1:])
        elif kind == "lock":
            held.enter_context(STORE_LOCK.exclusive())
            conn.send("locked")
        elif kind == "unlock":
            held.close()
        elif kind == "done":
            return message[1]
        elif kind == "refused":
            error = {"store": StoreError, "unrelated": UnrelatedFileError}.get(message[1], IngestError)
            raise error(message[2])


# ---------------------------------------------------------------- in the child


def _child(fd: int) -> None:
    import resource

    cap = int(sys.argv[2])
    _, inherited = resource.getrlimit(resource.RLIMIT_AS)
    if inherited != resource.RLIM_INFINITY:  # a cap set on the parent holds here too: never ask for more
        cap = min(cap, inherited)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    conn = Connection(fd)
    target, args, kwargs, relay, name = conn.recv()
    # The app's lock, not this process's: this child does nothing else, so its one lock is replaced outright.
    STORE_LOCK.exclusive = lambda: _parents_lock(conn)  # type: ignore[method-assign]
    module, _, function = target.partition(":")
    try:
        if relay:
            kwargs["progress"] = lambda fraction, step: conn.send(("progress", fraction, step))
        func = getattr(__import__(module, fromlist=[function]), function)
        with out_of_memory_refused(name):
            outcome = func(*args, **kwargs)
    except StoreError as exc:
        conn.send(("refused", "store", str(exc)))
    except UnrelatedFileError as exc:  # the app asks the owner before adding it: it must know which refusal
        conn.send(("refused", "unrelated", str(exc)))
    except IngestError as exc:
        conn.send(("refused", "ingest", str(exc)))
    else:
        conn.send(("done", outcome))
    conn.close()


@contextlib.contextmanager
def _parents_lock(conn: Connection) -> Iterator[None]:
    conn.send(("lock",))
    conn.recv()  # "locked": the app's readers have let go of the store
    try:
        yield
    finally:
        conn.send(("unlock",))
