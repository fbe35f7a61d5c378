"""An import's one transaction: the shop's file attached to the staging connection, written whole or not at all.

Both importers (``ingest`` for orders, ``contact_ingest`` for customer lists and email activity) stage a file in
an in-memory DuckDB connection, then attach the shop's file to it as ``store`` and write there in one
transaction. Whatever goes wrong on the way (a refusal, a full disk, an interrupt) rolls it all back, and a file
the import itself created is removed, so a refused first import leaves no empty database behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb

from segmentation.importing.detect import sql_str
from segmentation.store import BUSY_FOR_IMPORT, StoreError, ensure_schema, open_waiting, refuse_other_files


@contextlib.contextmanager
def store_transaction(con: duckdb.DuckDBPyConnection, db_path: Path) -> Iterator[None]:
    """``store`` attached to ``con`` and in use, a transaction begun and the schema current; the caller commits
    (or rolls back when there is nothing to write) before the block ends. Detached again either way."""
    existed = db_path.exists()
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        refuse_other_files(db_path)  # ATTACH would take a short file of another kind for an empty database
        open_waiting(lambda: con.execute(f"ATTACH {sql_str(str(db_path))} AS store"), busy=BUSY_FOR_IMPORT)
    except duckdb.Error as exc:
        raise StoreError(f"Cannot open the shop database {db_path}: {str(exc).splitlines()[0]}") from exc
    try:
        con.execute("USE store")
        con.execute("BEGIN TRANSACTION")
        ensure_schema(con, db_path)
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        con.execute("USE memory")
        con.execute("DETACH store")
        if not existed:
            for leftover in (db_path, db_path.with_name(db_path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    con.execute("USE memory")
    con.execute("DETACH store")
