"""A shop's store from a pandas DataFrame, in memory: the analytics in a notebook, without the app.

``customer_table(from_orders(df))`` is what ``segments import orders.csv`` then ``segments customers`` give,
number for number: the frame goes through the importer's own steps (``readers.load_frame``, then
``ingest.import_in_place``), so its columns are recognised as a file's would be (the same layouts, names and
content checks; ``mapping`` is ``--map``), every row is parsed and checked by the same SQL, and the orders
are built by the same rules. Only the bytes of a file are skipped: each cell is written as a CSV would hold it
(``17850.0`` in a float column as ``17850``, a timestamp as ``2011-12-09 12:50:00``), then read like one.

The store is an in-memory DuckDB database with the file store's schema (``segmentation.store``), so every
function that takes a connection takes it; nothing is written to disk and nothing is memoised across
calls (``segmentation.memo`` keeps only files' results).
"""

from __future__ import annotations

import warnings

import duckdb
import pandas as pd

from segmentation.importing.ingest import ImportReport, import_in_place
from segmentation.importing.readers import load_frame, out_of_memory_refused
from segmentation.store import ensure_schema

__all__ = ["from_orders", "import_report"]


def from_orders(
    orders: pd.DataFrame,
    *,
    mapping: dict[str, str] | None = None,
    currency: str | None = None,
    name: str = "orders",
) -> duckdb.DuckDBPyConnection:
    """Build an in-memory shop store from a DataFrame of order lines, as importing it as a file would.

    Parameters
    ----------
    orders : pandas.DataFrame
        One row per order line (or per order), with columns as an export has them: a customer (id or
        email), an order date, and an amount or a quantity and unit price; optionally an order id, product,
        category, channel, place, consent, status, refund. The index is not read. The frame is not changed.
    mapping : dict of str to str, optional
        ``{field: column}`` where the recognition guesses wrong, as ``segments import --map``; a field mapped
        to ``""`` is ignored. Fields: ``segmentation.importing.columns.FIELDS``.
    currency : str, optional
        The shop's currency code (``"GBP"``); else found in the data where it can be.
    name : str, default "orders"
        The name the import is recorded under (the ``imports`` table's ``file_name``).

    Returns
    -------
    duckdb.DuckDBPyConnection
        An in-memory database holding the store's tables (``orders``, ``order_lines``, ``customers``,
        ``rejects``, ...): pass it to ``customer_table``, ``customer_rfm``, ``cluster_customers``, and the rest.

    Raises
    ------
    IngestError
        When the frame cannot be imported (no customer or date column, no usable row), in one sentence.

    Warns
    -----
    UserWarning
        When some rows could not be used: how many, and why; they are in the ``rejects`` table.

    Examples
    --------
    >>> import pandas as pd
    >>> from segmentation import customer_table, from_orders
    >>> lines = pd.read_csv("online_retail.csv.gz")
    >>> customers = customer_table(from_orders(lines))
    """
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        ensure_schema(con)  # first: the store refuses a database that already holds other tables
        store = _objects(con)
        report = ImportReport(file_name=name)
        with out_of_memory_refused(name):
            raw = load_frame(con, orders)
            import_in_place(con, raw, report, overrides=mapping, currency=currency)
        _drop_all_but(con, store)
    except BaseException:
        con.close()
        raise
    if report.rows_rejected:
        counts = sorted(report.rejected_by_reason.items(), key=lambda kv: -kv[1])
        reasons = "; ".join(f"{n:,} {why}" for why, n in counts)
        warnings.warn(
            f"{report.rows_rejected:,} of {report.rows_read:,} rows could not be used ({reasons}): they are in the "
            "store's rejects table.",
            stacklevel=2,
        )
    return con


def import_report(con: duckdb.DuckDBPyConnection) -> dict:
    """What the import into a store did, as its ``imports`` row records it.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A store, from ``from_orders`` or ``segmentation.store.connect``.

    Returns
    -------
    dict
        The latest import's ``file_name``, ``layout``, ``mapping`` (field to column), ``rows_read``,
        ``rows_loaded``, ``rows_duplicate``, ``rows_rejected`` and ``guest_rows``.
    """
    import json

    row = con.execute(
        "SELECT file_name, layout, mapping_json, rows_read, rows_loaded, rows_duplicate, rows_rejected, guest_rows "
        "FROM imports ORDER BY import_id DESC LIMIT 1"
    ).fetchall()
    if not row:
        return {}
    keys = (
        "file_name",
        "layout",
        "mapping",
        "rows_read",
        "rows_loaded",
        "rows_duplicate",
        "rows_rejected",
        "guest_rows",
    )
    report = dict(zip(keys, row[0], strict=True))
    report["mapping"] = json.loads(report["mapping"] or "{}")
    return report


def _objects(con: duckdb.DuckDBPyConnection) -> set[tuple[str, ...]]:
    """Every table and view on ``con``, temporary ones included: (kind, database, schema, name)."""
    rows = con.execute(
        "SELECT 'TABLE', database_name, schema_name, table_name FROM duckdb_tables() WHERE NOT internal "
        "UNION ALL SELECT 'VIEW', database_name, schema_name, view_name FROM duckdb_views() WHERE NOT internal"
    ).fetchall()
    return set(rows)


def _drop_all_but(con: duckdb.DuckDBPyConnection, keep: set[tuple[str, ...]]) -> None:
    """Drop the import's working tables and views (everything not in ``keep``), views first: they read the
    tables, and every cell of the frame is among them."""
    extra = sorted(_objects(con) - keep, key=lambda o: o[0] != "VIEW")
    for kind, database, schema, name in extra:
        con.execute(f'DROP {kind} IF EXISTS "{database}"."{schema}"."{name}"')
