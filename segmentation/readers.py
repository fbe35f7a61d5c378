"""Turn whatever file an owner drops in into one table of text cells, or one clear refusal.

Every cell is read as text: ids keep their leading zeros, amounts keep their decimal commas, and the
importer decides what each column means afterwards. Formats: CSV/TSV (delimiter sniffed; UTF-8,
UTF-16, cp1252 or latin-1), XLSX/XLS (python-calamine, so no DuckDB extension download), Parquet, and
any of these gzipped. The type is taken from the file's first bytes, not its name, so a spreadsheet
saved as ``orders.csv`` still reads.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import shutil
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

MAX_COLUMNS = 500
MAX_LINE_BYTES = 1_000_000
_SNIFF_BYTES = 256 * 1024


class IngestError(ValueError):
    """A file that cannot be imported; the message is one plain sentence for the owner."""


@dataclass
class RawTable:
    """The file as a DuckDB table ``raw`` of VARCHAR columns plus ``line_no`` (1-based data row)."""

    columns: list[str]
    rows: int
    kind: str  # csv, xlsx, parquet
    notes: list[str] = field(default_factory=list)
    delimiter: str | None = None
    broken_lines: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, text)


def load_raw(con: duckdb.DuckDBPyConnection, path: Path, workdir: Path) -> RawTable:
    """Read ``path`` into table ``raw`` on ``con`` (an in-memory connection), or raise IngestError."""
    if not path.exists():
        raise IngestError(f"There is no file at {path}: check the name and try again.")
    if path.is_dir():
        raise IngestError(f"{path} is a folder, not a file: give the orders export file itself.")
    if path.stat().st_size == 0:
        raise IngestError(f"{path.name} is empty: export your orders again and import the new file.")
    notes: list[str] = []
    head = _head(path)
    if head.startswith(b"\x1f\x8b"):
        path = _gunzip(path, workdir)
        notes.append("decompressed gzip")
        if path.stat().st_size == 0:
            raise IngestError("The .gz file holds an empty file: export your orders again.")
        head = _head(path)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        table = _load_excel(con, path)
    elif head.startswith(b"PAR1"):
        table = _load_parquet(con, path)
    else:
        table = _load_text(con, path, head, workdir)
    table.notes[:0] = notes
    if not table.columns:
        raise IngestError("The file has no columns: export your orders as CSV or Excel with a header row.")
    if table.rows == 0:
        raise IngestError(
            "The file has column names but no rows of orders: export again with a date range that has orders."
        )
    return table


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(_SNIFF_BYTES)


def _gunzip(path: Path, workdir: Path) -> Path:
    out = workdir / "decompressed"
    try:
        with gzip.open(path, "rb") as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(
            f"{path.name} is a damaged or incomplete .gz archive: download or compress it again."
        ) from exc
    return out


# ---------------------------------------------------------------- text (CSV/TSV)

_NOT_ORDERS = (
    (("<!doctype html", "<html", "<head", "<body"), "a web page (HTML)"),
    (("<?xml",), "an XML document"),
    (("{", "["), "JSON"),
    (("%pdf",), "a PDF document"),
)


def _load_text(con: duckdb.DuckDBPyConnection, path: Path, head: bytes, workdir: Path) -> RawTable:
    notes: list[str] = []
    encoding = _detect_encoding(path, head)
    if encoding != "utf-8":
        path = _transcode(path, encoding, workdir)
        notes.append(f"read as {encoding} text")
        head = _head(path)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    if not text:
        raise IngestError(f"{path.name} holds only blank space: export your orders again.")
    lowered = text[:200].lower()
    for prefixes, what in _NOT_ORDERS:
        if lowered.startswith(prefixes):
            raise IngestError(
                f"This file is {what}, not an orders export: download the CSV or Excel export from your "
                "shop's admin and import that."
            )
    delimiter = _sniff_delimiter(text)
    header = _header_cells(text, delimiter)
    if len(header) > MAX_COLUMNS:
        raise IngestError(
            f"The file has {len(header)} columns, more than the {MAX_COLUMNS} an orders export has: "
            "check that it is the right file."
        )
    columns = _unique_names(header)
    col_spec = "{" + ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in columns) + "}"
    try:
        con.execute(
            f"""
            CREATE TABLE raw AS
            SELECT row_number() OVER () AS line_no, *
            FROM read_csv({_sql_str(str(path))}, header = true, auto_detect = false, columns = {col_spec},
                          delim = {_sql_str(delimiter)}, quote = '"', escape = '"', null_padding = true,
                          store_rejects = true, max_line_size = {MAX_LINE_BYTES}, strict_mode = false)
            """
        )
        broken = con.execute(
            "SELECT line, error_type, left(coalesce(csv_line, ''), 500) FROM reject_errors ORDER BY line"
        ).fetchall()
    except duckdb.Error as exc:
        raise IngestError(
            f"The file could not be read as a table ({_short(exc)}): save it again as CSV or Excel."
        ) from exc
    rows = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    if delimiter != ",":
        notes.append(f"columns separated by {_DELIMITER_NAMES.get(delimiter, repr(delimiter))}")
    broken_lines = [(int(line), _broken_reason(kind), txt) for line, kind, txt in broken]
    return RawTable(columns, rows, "csv", notes, delimiter, broken_lines)


_DELIMITER_NAMES = {";": "semicolons", "\t": "tabs", "|": "pipes"}


def _broken_reason(kind: str) -> str:
    kind = (kind or "").lower()
    if "too many" in kind:
        return "more cells than the header has"
    if "line size" in kind or "maximum" in kind:
        return "line too long"
    if "quote" in kind:
        return "unclosed quote"
    return "unreadable line"


def _detect_encoding(path: Path, head: bytes) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as such; UTF-16 by BOM; else cp1252/latin-1."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise IngestError(
            "This file holds binary data, not text: import the CSV or Excel export of your orders."
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    needs_cp1252_check = False
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            needs_cp1252_check = True
    if needs_cp1252_check:
        # cp1252 is what Excel on Windows writes; its five undefined bytes mean plain latin-1.
        try:
            with path.open("rb") as fh:
                dec = codecs.getincrementaldecoder("cp1252")()
                while chunk := fh.read(1 << 20):
                    dec.decode(chunk)
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8"


def _transcode(path: Path, encoding: str, workdir: Path) -> Path:
    out = workdir / "utf8.csv"
    try:
        with path.open("r", encoding=encoding, newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except UnicodeError as exc:
        raise IngestError(
            f"The file's text encoding could not be read ({encoding}): save it again as UTF-8 CSV."
        ) from exc
    with out.open(encoding="utf-8") as fh:
        start = fh.read(_SNIFF_BYTES)
    if "\x00" in start:
        raise IngestError("This file holds binary data, not text: import the CSV or Excel export of your orders.")
    return out


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _header_cells(text: str, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise IngestError("The first line of the file is not a row of column names: check the file.") from exc
    return [h.strip() for h in header]


def _unique_names(header: list[str]) -> list[str]:
    """Blank names become ``column N``; repeats get `` (2)``, so every column can be addressed."""
    seen: dict[str, int] = {"line_no": 1}  # our own row-number column
    names = []
    for i, name in enumerate(header, start=1):
        name = name or f"column {i}"
        key = name.lower()
        seen[key] = seen.get(key, 0) + 1
        names.append(name if seen[key] == 1 else f"{name} ({seen[key]})")
    return names


# ---------------------------------------------------------------- spreadsheets and parquet


def _load_excel(con: duckdb.DuckDBPyConnection, path: Path) -> RawTable:
    import pandas as pd
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        sheets = [(name, book.get_sheet_by_name(name).to_python(skip_empty_area=True)) for name in book.sheet_names]
    except Exception as exc:  # calamine raises its own types for every kind of damage
        raise IngestError(
            "The Excel file is damaged or incomplete (or not a spreadsheet): open it in Excel, save it again, "
            "or export CSV, and retry."
        ) from exc
    sheets = [(name, rows) for name, rows in sheets if rows]
    if not sheets:
        raise IngestError("The spreadsheet has no data: put the orders on the first sheet with a header row.")
    # The sheet with the most rows is the orders; summary tabs are short.
    sheet_name, rows = max(sheets, key=lambda item: len(item[1]))
    header = [_cell_text(c) or "" for c in rows[0]]
    if len(header) > MAX_COLUMNS:
        raise IngestError(f"The sheet has {len(header)} columns, more than an orders export has: check the file.")
    columns = _unique_names([h.strip() for h in header])
    body = [[_cell_text(c) for c in row] + [None] * (len(columns) - len(row)) for row in rows[1:]]
    frame = pd.DataFrame([r[: len(columns)] for r in body], columns=columns, dtype="object")
    frame = frame.astype("string")
    con.register("excel_frame", frame)
    con.execute("CREATE TABLE raw AS SELECT row_number() OVER () AS line_no, * FROM excel_frame")
    con.unregister("excel_frame")
    notes = [f"sheet '{sheet_name}'"] if len(sheets) > 1 else []
    return RawTable(columns, len(frame), "xlsx", notes)


def _cell_text(value: object) -> str | None:
    """Spreadsheet cells as the text a person sees: 12345.0 -> '12345', dates in ISO."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _load_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> RawTable:
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_str(str(path))})").fetchall()
    except duckdb.Error as exc:
        raise IngestError(f"The Parquet file is damaged or incomplete ({_short(exc)}): write it again.") from exc
    if len(described) > MAX_COLUMNS:
        raise IngestError(f"The file has {len(described)} columns, more than an orders export has: check it.")
    casts = []
    names = _unique_names([d[0] for d in described])
    for (name, col_type, *_), alias in zip(described, names, strict=True):
        q = _ident(name)
        if col_type in ("FLOAT", "DOUBLE"):
            # Float ids ("17850.0") are an artefact of the writer, not of the shop: print integers plainly.
            expr = f"CASE WHEN {q} = trunc({q}) AND abs({q}) < 1e15 THEN {q}::BIGINT::VARCHAR ELSE {q}::VARCHAR END"
        elif col_type.startswith("TIMESTAMP"):
            expr = f"strftime({q}::TIMESTAMP, '%Y-%m-%d %H:%M:%S')"
        else:
            expr = f"{q}::VARCHAR"
        casts.append(f"{expr} AS {_ident(alias)}")
    try:
        con.execute(
            f"CREATE TABLE raw AS SELECT row_number() OVER () AS line_no, {', '.join(casts)} "
            f"FROM read_parquet({_sql_str(str(path))})"
        )
    except duckdb.Error as exc:
        raise IngestError(f"The Parquet file could not be read ({_short(exc)}): write it again.") from exc
    rows = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    return RawTable(names, rows, "parquet", [])


def make_workdir() -> tempfile.TemporaryDirectory:
    """A scratch folder for decompressed or transcoded copies; removed when the import ends."""
    return tempfile.TemporaryDirectory(prefix="segments-import-")


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
