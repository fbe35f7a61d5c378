"""Turn whatever file an owner drops in into rows of text cells, or one clear refusal.

Every cell is read as text: ids keep their leading zeros, amounts keep their decimal commas, and the
importer decides what each column means afterwards. Formats: CSV/TSV (delimiter sniffed; UTF-8,
UTF-16, cp1252 or latin-1), XLSX/XLS (python-calamine, so no DuckDB extension download), Parquet, and
any of these gzipped. The type is taken from the file's first bytes, not its name, so a spreadsheet
saved as ``orders.csv`` still reads.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from segmentation.importing.lines import (
    LineScan,
    blank_ranges,
    continuation_lines,
    line_end_after,
    line_span,
    long_quoted_rows,
    reader_lines_to_physical,
    scan_lines,
)
from segmentation.vocabulary import SegmentsError

if TYPE_CHECKING:
    import pandas as pd

MAX_COLUMNS = 500
MAX_LINE_BYTES = 1_000_000
_SNIFF_BYTES = 256 * 1024


class IngestError(SegmentsError, ValueError):
    """A file that cannot be imported; the message is one plain sentence for the owner."""


class UnrelatedFileError(IngestError):
    """A file that shares no customer and no day with the shop's data, imported to be added: asked about first
    (``import_file(..., ask_if_unrelated=True)``), since merging two shops by accident cannot be undone."""


@dataclass
class RawTable:
    """The file's cells as VARCHAR columns, in two views and a table.

    - ``source``: every row, in file order, without a row number. A text file stays on disk and is read
      afresh by each query over ``source`` (through ``read_into``, which repairs what stops the read);
      a 10M-line file's every cell as text would otherwise be the largest thing the import holds.
    - ``sample``: the first rows plus an even spread of the rest, with ``line_no`` (NULL on the spread
      rows of a text file): what the columns are recognised from.
    - ``raw``: every row with its 1-based ``line_no``, once ``materialise`` has run (spreadsheets and
      Parquet have it from the start).
    """

    columns: list[str]
    rows: int | None  # data rows read; None for a text file until it is read in full
    kind: str  # csv, xlsx, parquet
    notes: list[str] = field(default_factory=list)
    delimiter: str | None = None
    broken_lines: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, text)
    text: TextFile | None = None  # how to read a text file again


@dataclass
class TextFile:
    """What reading a text file again needs, and what its reads have repaired so far."""

    path: Path  # the UTF-8 file DuckDB reads: a transcoded or repaired copy after trouble
    original: Path  # the file as given (after gunzip), to transcode from
    columns: list[str]
    delimiter: str
    skip: int  # title lines above the header
    workdir: Path
    transcoded: bool  # already decoded line by line (or from UTF-16): no retry as legacy text
    swallowed: list[tuple[int, str, str]] = field(default_factory=list)  # lines blanked before or between reads
    reads: int = 0
    scan: LineScan | None = None  # the pass over ``path``'s bytes: its lines, empty and over-long ones
    cell_lines: list[tuple[int, int]] = field(default_factory=list)  # (first, count): lines of cells set aside

    @property
    def header_lines(self) -> int:
        """Lines above the first data row: title lines and the column names."""
        return self.skip + 1


def load_raw(con: duckdb.DuckDBPyConnection, path: Path, workdir: Path) -> RawTable:
    """Define view ``source`` and table ``sample`` on ``con`` (an in-memory connection), or raise IngestError."""
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
        table = _load_excel(con, path, workdir)
    elif head.startswith(b"PAR1"):
        table = _load_parquet(con, path)
    else:
        table = _load_text(con, path, head, workdir)
    table.notes[:0] = notes
    if not table.columns:
        raise IngestError("The file has no columns: export your orders as CSV or Excel with a header row.")
    if con.execute("SELECT count(*) FROM sample").fetchall()[0][0] == 0:
        raise IngestError(
            "The file has column names but no rows of orders: export again with a date range that has orders."
        )
    return table


def read_into(con: duckdb.DuckDBPyConnection, raw: RawTable, statement: str) -> list[tuple[int, str, str]]:
    """Run ``statement``, a CREATE OR REPLACE TABLE that reads view ``source``, until the file reads in full.

    Returns the lines the reader could not use as (file line, reason, text). An unclosed quote makes a CSV
    reader swallow every following line into one cell: when DuckDB reports such a multi-line error, that
    one physical line is blanked in a scratch copy (blank lines are skipped, so line numbers stay true)
    and the statement runs again, so the rows after it are not lost. A line that is not UTF-8 (DuckDB
    checks every byte as it reads, so there is no separate pass over a large file) has the file decoded
    line by line and read again.
    """
    text = raw.text
    if text is None:
        con.execute(statement)
        return []
    for _ in range(_MAX_REPAIRS):
        rejects = _define_source(con, text)
        try:
            con.execute(statement)
            # DuckDB keeps at most a few KB of a rejected line's text; only 500 characters are kept here.
            errors = con.execute(
                f"SELECT DISTINCT line, error_type, left(coalesce(csv_line, ''), 2000) FROM {rejects} ORDER BY line"
            ).fetchall()
        except duckdb.Error as exc:
            raise IngestError(
                "The file could not be read as a table of rows and columns: save it again as CSV or Excel."
            ) from exc
        errors = _physical_lines(text, errors)
        runaway = _runaway_lines(errors)
        if runaway:
            line, cells = runaway[0]
            text.swallowed.append((line, "unclosed quote", cells.splitlines()[0][:500]))
            repaired = text.workdir / f"repaired_{text.reads}.csv"
            text.path = blank_ranges(text.path, [line_span(text.path, line)], repaired)
            continue
        if not text.transcoded and any(_BROKEN_REASONS.get(kind) == _UNREADABLE_TEXT for _, kind, _ in errors):
            _decode_line_by_line(raw)
            continue
        break
    else:
        raise IngestError("The file has too many unclosed quotes to read: save it again as CSV from a spreadsheet.")
    blank = " \t\r\n" + text.delimiter
    broken = [
        (int(line), _BROKEN_REASONS.get(kind, "unreadable line") if cells.strip(blank) else "blank row", cells[:500])
        for line, kind, cells in errors
    ]
    return sorted(text.swallowed + broken)


def _physical_lines(text: TextFile, errors: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """The rejected lines numbered as in the file: DuckDB leaves out the lines inside quoted cells."""
    if not errors or text.scan is None or not text.scan.quotes:
        return errors
    inside = continuation_lines(text.path, enough=max(int(line) for line, _, _ in errors))
    lines = reader_lines_to_physical([int(line) for line, _, _ in errors], inside)
    return [(line, kind, cells) for line, (_, kind, cells) in zip(lines, errors, strict=True)]


def _runaway_lines(errors: list[tuple[int, str, str]]) -> list[tuple[int, str]]:
    """Rejected lines whose text runs over several physical lines because a quote opened and never closed.

    A quoted cell that spans lines and passes the line budget is rejected by DuckDB as "line too long"
    with its first lines as text, and the reader goes on after its closing quote: that row is done with
    and nothing needs repairing (re-reading it used to blank line after line, one full read each).
    Only a quote the reader could not close (an unquoted-value error on the same line) is a runaway.
    """
    unclosed = {int(line) for line, kind, _ in errors if kind in ("UNQUOTED VALUE", "UNTERMINATED QUOTES")}
    return [
        (int(line), cells)
        for line, kind, cells in errors
        if "\n" in cells.strip("\r\n") and (kind != "LINE SIZE OVER MAXIMUM" or int(line) in unclosed)
    ]


def materialise(con: duckdb.DuckDBPyConnection, raw: RawTable) -> None:
    """Table ``raw_cells`` and view ``raw`` (with ``line_no``): every cell held, for work that needs the
    whole file at hand in any order. Sets ``rows`` and ``broken_lines``."""
    if raw.text is None:
        return
    raw.broken_lines = read_into(con, raw, "CREATE OR REPLACE TABLE raw_cells AS SELECT * FROM source")
    _number_rows(con)
    raw.rows = con.execute("SELECT count(*) FROM raw_cells").fetchall()[0][0]


def count_rows(con: duckdb.DuckDBPyConnection, raw: RawTable) -> int:
    """The number of data rows, reading a text file once through (for a preview)."""
    if raw.rows is None:
        read_into(con, raw, "CREATE OR REPLACE TABLE row_count AS SELECT count(*) AS n FROM source")
        raw.rows = con.execute("SELECT n FROM row_count").fetchall()[0][0]
    return raw.rows


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(_SNIFF_BYTES)


# A compressed file is decompressed to the scratch folder, so what it expands to is disk and time the
# import spends before it can tell what the file is. Real CSV exports compress 5-20x; zeros compress
# 1000x. A file stops at whichever budget it passes first, within that budget's bytes.
MAX_DECOMPRESSED_BYTES = 4_000_000_000
MAX_EXPANSION_RATIO = 100
EXPANSION_FLOOR_BYTES = 64_000_000  # a small file may expand further than the ratio: a few rows compress well


def expansion_budget(compressed_bytes: int) -> int:
    """The most a file of ``compressed_bytes`` may expand to: the ratio, a floor for small files, a cap."""
    return min(MAX_DECOMPRESSED_BYTES, max(EXPANSION_FLOOR_BYTES, MAX_EXPANSION_RATIO * compressed_bytes))


def too_expanded(name: str, compressed_bytes: int) -> IngestError:
    """The refusal for a compressed file (or spreadsheet part) past its budget."""
    if expansion_budget(compressed_bytes) >= MAX_DECOMPRESSED_BYTES:
        return IngestError(
            f"{name} expands to more than {MAX_DECOMPRESSED_BYTES / 1e9:g} GB when decompressed, more than an "
            "import may use: split the orders into smaller files and import each."
        )
    return IngestError(
        f"{name} expands to more than {MAX_EXPANSION_RATIO} times its size when decompressed, which no orders "
        "export does: it is damaged or was made to fill the disk; export your orders again."
    )


def _write_scratch(dst, chunk: bytes, name: str) -> None:
    try:
        dst.write(chunk)
    except OSError as exc:  # a full disk, or a quota: not the archive's fault
        raise IngestError(
            f"There is no room on this computer's disk to decompress {name}: free some space, or import the "
            "file uncompressed."
        ) from exc


def _gunzip(path: Path, workdir: Path) -> Path:
    out = workdir / "decompressed"
    budget = expansion_budget(path.stat().st_size)
    written = 0
    try:
        # GzipFile.read(n) decompresses at most n bytes per call: memory stays at one chunk, and the
        # count below stops a bomb as soon as it passes its budget.
        with gzip.open(path, "rb") as src, out.open("wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > budget:
                    raise too_expanded(path.name, path.stat().st_size)
                _write_scratch(dst, chunk, path.name)
    except (OSError, EOFError, zlib.error) as exc:
        out.unlink(missing_ok=True)
        raise IngestError(
            f"{path.name} is a damaged or incomplete .gz archive: download or compress it again."
        ) from exc
    except IngestError:
        out.unlink(missing_ok=True)
        raise
    return out


# ---------------------------------------------------------------- text (CSV/TSV)

_NOT_ORDERS = (
    (("<!doctype html", "<html", "<head", "<body"), "a web page (HTML)"),
    (("<?xml",), "an XML document"),
    (("{", "["), "JSON"),
    (("%pdf",), "a PDF document"),
)


def _load_text(
    con: duckdb.DuckDBPyConnection, path: Path, head: bytes, workdir: Path, *, legacy: bool = False
) -> RawTable:
    """Recognise a text table's encoding, delimiter and header, and sample its rows. It is read as UTF-8
    first; a file whose first bytes are not UTF-8 is transcoded line by line (``legacy``), and so is one
    whose later lines turn out not to be, when ``read_into`` meets them."""
    notes: list[str] = []
    encoding = "mixed" if legacy else _detect_encoding(head)
    if encoding == "mixed" and sum(b >= 0x80 for b in head) > _BINARY_HIGH_BYTE_SHARE * len(head):
        raise IngestError("This file holds binary data, not text: import the CSV or Excel export of your orders.")
    source = path
    if encoding != "utf-8":
        path, note = _transcode(path, encoding, workdir)
        notes.append(note)
        head = _head(path)
    if re.search(rb"\r(?!\n)", head):
        try:
            path = _normalise_newlines(path, workdir)
        except UnicodeDecodeError:
            return _load_text(con, source, head, workdir, legacy=True)
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
    header, title_lines = _find_header(head.decode("utf-8", errors="replace").lstrip("\ufeff"), delimiter)
    if len(header) > MAX_COLUMNS:
        raise IngestError(
            f"The file has {len(header)} columns, more than the {MAX_COLUMNS} an orders export has: "
            "check that it is the right file."
        )
    if title_lines:
        notes.append(f"skipped {title_lines} title line(s) above the column names")
    if delimiter != ",":
        notes.append(f"columns separated by {_DELIMITER_NAMES.get(delimiter, repr(delimiter))}")
    columns = _unique_names(header)
    text_file = TextFile(path, source, columns, delimiter, title_lines, workdir, transcoded=encoding != "utf-8")
    raw = RawTable(columns, None, "csv", notes, delimiter, text=text_file)
    # Only now, once the first bytes have passed every check, is the whole file read.
    _prepare_lines(raw)
    # The first rows, numbered: a window over 20,000 rows costs nothing, unlike one over the whole file.
    read_into(
        con,
        raw,
        "CREATE OR REPLACE TABLE sample AS SELECT row_number() OVER () AS line_no, * "
        f"FROM (SELECT * FROM source LIMIT {SAMPLE_ROWS})",
    )
    if con.execute("SELECT count(*) FROM sample").fetchall()[0][0] == SAMPLE_ROWS:
        _sample_the_rest(con, text_file, head)
    return raw


_DELIMITER_NAMES = {";": "semicolons", "\t": "tabs", "|": "pipes"}
_BROKEN_REASONS = {
    "TOO MANY COLUMNS": "more cells than the header has",
    "MISSING COLUMNS": "fewer cells than the header has",
    "LINE SIZE OVER MAXIMUM": "line too long",
    "UNQUOTED VALUE": "unclosed quote",
    "UNTERMINATED QUOTES": "unclosed quote",
    "INVALID UNICODE": "unreadable characters",
    "INVALID ENCODING": "unreadable characters",
    "INVALID STATE": "unreadable line",
}
_UNREADABLE_TEXT = "unreadable characters"
_MAX_REPAIRS = 50
SAMPLE_ROWS = 20_000  # rows from the head of a file, and at most as many again spread over the rest
_SPREAD_PIECES = 40


def _csv_options(text: TextFile) -> str:
    spec = "{" + ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in text.columns) + "}"
    return (
        f"auto_detect = false, columns = {spec}, delim = {_sql_str(text.delimiter)}, quote = '\"', "
        f"escape = '\"', max_line_size = {MAX_LINE_BYTES}"
    )


def _define_source(con: duckdb.DuckDBPyConnection, text: TextFile) -> str:
    """(Re)define view ``source`` over the file as it now stands; return the table its rejects go to."""
    text.reads += 1
    rejects = f"broken_{text.reads}"
    # A read must not see an earlier read's rejects.
    con.execute(f"DROP TABLE IF EXISTS broken_{text.reads - 1}")
    con.execute(f"DROP TABLE IF EXISTS scan_{text.reads - 1}")
    con.execute(
        f"""
        CREATE OR REPLACE VIEW source AS
        SELECT * FROM read_csv({_sql_str(str(text.path))}, header = true, skip = {text.skip}, {_csv_options(text)},
                               store_rejects = true, rejects_table = '{rejects}', rejects_scan = 'scan_{text.reads}')
        """
    )
    return rejects


def _decode_line_by_line(raw: RawTable) -> None:
    text = raw.text
    assert text is not None  # only a text file is decoded line by line
    path, note = _transcode(text.original, "mixed", text.workdir)
    # Lines blanked were blanked in the old copy: the pass and the next read find them again.
    text.path, text.transcoded, text.swallowed, text.cell_lines = path, True, [], []
    raw.notes.append(note)
    _prepare_lines(raw)


def _prepare_lines(raw: RawTable) -> None:
    """Count the file's lines, make its line ends consistent, and set aside lines over the line budget.

    A bare CR after the first bytes (an old Mac line end, or one typed into a cell) is a line end like
    any other, as it is in the head; a line over MAX_LINE_BYTES is left empty in a scratch copy and
    rejected as "line too long" with its first characters (DuckDB would drop one over 32 MB unseen).
    """
    text = raw.text
    assert text is not None  # only a text file has lines to prepare
    scan = scan_lines(text.path, MAX_LINE_BYTES)
    if scan.bare_cr:
        try:
            text.path = _normalise_newlines(text.path, text.workdir)
        except UnicodeDecodeError:
            _transcode_then_normalise(text)
        scan = scan_lines(text.path, MAX_LINE_BYTES)
    # (line, start, end, line ends inside, reason) of each row set aside.
    aside = _long_quoted_rows(text, scan) if scan.quotes else []
    taken = {line for line, *_ in aside}
    aside += [
        (line, start, end, 0, "line too long")
        for line, start, end in scan.long
        if line > text.header_lines and line not in taken
    ]
    # A long line inside a quoted cell set aside above goes with its row.
    aside = [row for row in aside if not any(a < row[0] <= a + n for a, _, _, n, _ in aside)]
    if aside:
        with text.path.open("rb") as fh:
            for line, start, _, _, reason in aside:
                fh.seek(start)
                text.swallowed.append((line, reason, fh.read(500).decode("utf-8", errors="replace")))
        text.cell_lines = [(line + 1, n) for line, _, _, n, _ in aside if n]
        text.path = blank_ranges(
            text.path,
            [(start, end) for _, start, end, _, _ in aside],
            text.workdir / "without_long_lines.csv",
            [n for *_, n, _ in aside],
        )
    text.scan = scan


def _long_quoted_rows(text: TextFile, scan: LineScan) -> list[tuple[int, int, int, int, str]]:
    """Rows whose quoted cells run over lines past MAX_LINE_BYTES, found before the read (which would take
    minutes and gigabytes over them): a closed one is set aside whole as "cell too long"; a quote that
    never closes has the line it opened on set aside as "unclosed quote", and the rest is read as rows."""
    rows: list[tuple[int, int, int, int, str]] = []
    start_at, first_line = 0, 1
    for _ in range(_MAX_REPAIRS):
        found = long_quoted_rows(text.path, MAX_LINE_BYTES, start_at, first_line)
        rows += [(line, start, end, n, "cell too long") for line, start, end, n in found.closed]
        if found.unclosed is None:
            return [row for row in rows if row[0] > text.header_lines]
        line, start = found.unclosed
        end = line_end_after(text.path, start)
        rows.append((line, start, end, 0, "unclosed quote"))
        start_at, first_line = end + 1, line + 1
    raise IngestError("The file has too many unclosed quotes to read: save it again as CSV from a spreadsheet.")


def _transcode_then_normalise(text: TextFile) -> None:
    path, _ = _transcode(text.original, "mixed", text.workdir)
    text.path, text.transcoded = _normalise_newlines(path, text.workdir), True


def _sample_the_rest(con: duckdb.DuckDBPyConnection, text: TextFile, head: bytes) -> None:
    """Add to ``sample`` runs of lines from evenly spaced places past its first rows (``line_no`` NULL).

    Read by byte offset, so a file of any size costs the same. A run that starts inside a quoted cell
    spanning lines gives rows of the wrong width, which the reader drops: these rows only help to
    recognise the columns, and the import itself reads every row from the start.
    """
    size = text.path.stat().st_size
    bytes_per_line = len(head) / max(head.count(b"\n"), 1)
    start = int(bytes_per_line * (SAMPLE_ROWS + text.skip + 1))
    if start >= size:
        return
    per_piece = SAMPLE_ROWS // _SPREAD_PIECES
    spread = text.workdir / "spread.csv"
    with text.path.open("rb") as src, spread.open("wb") as out:
        for piece in range(_SPREAD_PIECES):
            src.seek(start + (size - start) * piece // _SPREAD_PIECES)
            src.readline()  # the rest of a line begun before the offset
            for _ in range(per_piece):
                line = src.readline()
                if not line:
                    break
                out.write(line if line.endswith(b"\n") else line + b"\n")
    try:
        con.execute(
            f"INSERT INTO sample SELECT NULL, * FROM read_csv({_sql_str(str(spread))}, header = false, "
            f"{_csv_options(text)}, ignore_errors = true)"
        )
    except duckdb.Error:
        # These rows only help to recognise the columns; the first rows are enough when they will not read.
        return


def _number_rows(con: duckdb.DuckDBPyConnection) -> None:
    """View ``raw``: table ``raw_cells`` with each row's 1-based position among the data rows as ``line_no``.

    The table keeps the file's order (insertion order is preserved), so its row id is the position;
    numbering rows with a window instead forces a single-threaded pass that costs as much as the read.
    """
    con.execute("CREATE OR REPLACE VIEW raw AS SELECT rowid + 1 AS line_no, * FROM raw_cells")


def _from_table(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    """Views ``raw`` and ``source``, and table ``sample`` (the first rows and an even spread of the rest),
    over a ``raw_cells`` table loaded whole."""
    _number_rows(con)
    con.execute("CREATE OR REPLACE VIEW source AS SELECT * FROM raw_cells")
    step = max(rows // SAMPLE_ROWS, 1)
    con.execute(
        f"CREATE OR REPLACE TABLE sample AS SELECT * FROM raw WHERE line_no <= {SAMPLE_ROWS} OR line_no % {step} = 0"
    )


def _normalise_newlines(path: Path, workdir: Path) -> Path:
    """Old Mac exports end lines with a bare CR, sometimes mixed with CRLF: make every ending LF."""
    out = workdir / "newlines.csv"
    with path.open("r", encoding="utf-8", newline=None) as src, out.open("w", encoding="utf-8", newline="\n") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return out


_BINARY_HIGH_BYTE_SHARE = 0.3


def _detect_encoding(head: bytes) -> str:
    """'utf-16' by its BOM; 'utf-8' if the first bytes decode as such (the reader checks the rest);
    else 'mixed' (decoded line by line)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    controls = sum(b < 32 and b not in (9, 10, 13) for b in head)
    if b"\x00" in head or controls > 0.05 * len(head):
        raise IngestError("This file holds binary data, not text: import the CSV or Excel export of your orders.")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # not final: the head may end mid-character
        return "utf-8"
    except UnicodeDecodeError:
        return "mixed"


def _transcode(path: Path, encoding: str, workdir: Path) -> tuple[Path, str]:
    """A UTF-8 copy. Files that are not UTF-8 are decoded line by line: UTF-8 where a line is, else
    cp1252 (what Excel on Windows writes), else latin-1, so one pasted-in line cannot garble the rest."""
    out = workdir / "utf8.csv"
    if encoding == "utf-16":
        with path.open("r", encoding="utf-16", newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
            try:
                shutil.copyfileobj(src, dst, 1 << 20)
            except UnicodeError as exc:
                raise IngestError("The file's UTF-16 text is damaged: save it again as UTF-8 CSV.") from exc
        return out, "read as UTF-16 text"
    counts = {"utf-8": 0, "cp1252": 0, "latin-1": 0}
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        for raw_line in src:
            for enc in ("utf-8", "cp1252", "latin-1"):
                try:
                    dst.write(raw_line.decode(enc))
                    counts[enc] += 1
                    break
                except UnicodeDecodeError:
                    continue
    legacy = [enc for enc in ("cp1252", "latin-1") if counts[enc]]
    return out, f"read as {'/'.join(legacy)} text" + (" (some lines UTF-8)" if counts["utf-8"] > 0 else "")


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def _find_header(text: str, delimiter: str) -> tuple[list[str], int]:
    """The column names and how many title lines ("Orders report 2024") sit above them.

    The header is the first line as wide as most of the first lines; exports with a title line above
    the table are common from point-of-sale systems.
    """
    csv.field_size_limit(max(csv.field_size_limit(), 4 * MAX_LINE_BYTES))
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    reader = csv.reader(lines[:200], delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            records.append((reader.line_num, record))
            if len(records) >= 30:
                break
    except csv.Error as exc:
        if not records:
            raise IngestError("The first lines of the file are not rows of columns: check the file.") from exc
    widths = [len(r) for _, r in records if any(c.strip() for c in r)]
    if not widths:
        raise IngestError("The file holds no column names: export your orders with a header row.")
    usual = max(set(widths), key=lambda w: (widths.count(w), w))
    lines_before = 0
    for line_num, record in records:
        if len(record) == usual:
            return [h.strip() for h in record], lines_before
        lines_before = line_num
    return [h.strip() for h in records[0][1]], 0


def _unique_names(header: list[str]) -> list[str]:
    """Blank names become ``column N``; repeats get `` (2)``, so every column can be addressed."""
    seen: dict[str, int] = {"line_no": 1, "rowid": 1}  # our row-number column, and the row id it comes from
    names = []
    for i, name in enumerate(header, start=1):
        name = name or f"column {i}"
        key = name.lower()
        seen[key] = seen.get(key, 0) + 1
        names.append(name if seen[key] == 1 else f"{name} ({seen[key]})")
    return names


# ---------------------------------------------------------------- spreadsheets and parquet


def _load_excel(con: duckdb.DuckDBPyConnection, path: Path, workdir: Path) -> RawTable:
    """An .xlsx streamed within budgets; other spreadsheets read by calamine in a memory-capped child."""
    from segmentation.importing import spreadsheet

    sheets = None
    if zipfile.is_zipfile(path):
        sheets = spreadsheet.read_xlsx(con, path, spreadsheet.Budget())
    if sheets is None:
        sheets = spreadsheet.read_with_calamine(con, path, workdir)
    found = [s for s in sheets if s.header is not None]
    if not found:
        raise IngestError("The spreadsheet has no data: put the orders on the first sheet with a header row.")
    # The sheet with the most rows is the orders; summary tabs are short.
    chosen = max(found, key=lambda s: s.rows)
    width = chosen.last - chosen.first + 1
    if width > MAX_COLUMNS:
        raise IngestError(f"The sheet has {width} columns, more than an orders export has: check the file.")
    positions = range(chosen.first, chosen.last + 1)
    header = chosen.header or {}  # ``found`` holds only sheets with a header
    columns = _unique_names([header.get(i, "").strip() for i in positions])
    kept = ", ".join(f"c{i} AS {_ident(name)}" for i, name in zip(positions, columns, strict=True))
    con.execute(f"CREATE TABLE raw_cells AS SELECT {kept} FROM {chosen.table}")
    for sheet in found:
        con.execute(f"DROP TABLE IF EXISTS {sheet.table}")
    _from_table(con, chosen.rows)
    notes = [f"sheet '{chosen.name}'"] if len(found) > 1 else []
    return RawTable(columns, chosen.rows, "xlsx", notes)


def _load_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> RawTable:
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_str(str(path))})").fetchall()
    except duckdb.Error as exc:
        raise IngestError(
            "The Parquet file is damaged or incomplete: write it again from the program that made it."
        ) from exc
    if len(described) > MAX_COLUMNS:
        raise IngestError(f"The file has {len(described)} columns, more than an orders export has: check it.")
    names = _unique_names([d[0] for d in described])
    casts = _as_text(described, names)
    try:
        con.execute(f"CREATE TABLE raw_cells AS SELECT {casts} FROM read_parquet({_sql_str(str(path))})")
    except duckdb.Error as exc:
        raise IngestError(
            "The Parquet file could not be read to the end: write it again from the program that made it."
        ) from exc
    rows = con.execute("SELECT count(*) FROM raw_cells").fetchall()[0][0]
    _from_table(con, rows)
    return RawTable(names, rows, "parquet", [])


def _as_text(described: list[tuple], names: list[str]) -> str:
    """A SELECT list writing each typed column (``DESCRIBE`` rows) as the text a CSV export would hold, under
    ``names``: a typed table is read as its file would be."""
    casts = []
    for (column, col_type, *_), alias in zip(described, names, strict=True):
        q = _ident(column)
        if col_type in ("FLOAT", "DOUBLE"):
            # Float ids ("17850.0") are an artefact of the writer, not of the shop: print integers plainly.
            expr = f"CASE WHEN {q} = trunc({q}) AND abs({q}) < 1e15 THEN {q}::BIGINT::VARCHAR ELSE {q}::VARCHAR END"
        elif col_type.startswith("TIMESTAMP"):
            expr = f"strftime({q}::TIMESTAMP, '%Y-%m-%d %H:%M:%S')"
        else:
            expr = f"{q}::VARCHAR"
        casts.append(f"{expr} AS {_ident(alias)}")
    return ", ".join(casts)


def load_frame(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> RawTable:
    """Views ``source`` and ``raw`` and table ``sample`` over a pandas DataFrame of orders (its columns; the
    index is not read), every cell written as a file would hold it (``_as_text``, as for Parquet), or
    IngestError. What a notebook's frame goes through instead of a file (``segmentation.frames``)."""
    if len(frame.columns) == 0:
        raise IngestError("The table has no columns: give a DataFrame with a column per field of the orders.")
    if len(frame.columns) > MAX_COLUMNS:
        raise IngestError(f"The table has {len(frame.columns)} columns, more than an orders export has: check it.")
    if len(frame) == 0:
        raise IngestError("The table has column names but no rows of orders: give a DataFrame with orders in it.")
    names = _unique_names([str(c).strip() for c in frame.columns])
    # Registered under positional names: a frame's own may repeat, or not be text (0, 1, ... after read_csv
    # without a header).
    con.register("orders_frame", frame.set_axis([f"c{i}" for i in range(len(names))], axis=1))
    try:
        described = con.execute("DESCRIBE SELECT * FROM orders_frame").fetchall()
        con.execute(f"CREATE TABLE raw_cells AS SELECT {_as_text(described, names)} FROM orders_frame")
    except (duckdb.Error, ValueError, TypeError) as exc:
        raise IngestError(
            f"A column of the table could not be read ({str(exc).splitlines()[0]}): give each column one kind "
            "of value (text, numbers or dates)."
        ) from exc
    finally:
        con.unregister("orders_frame")
    _from_table(con, len(frame))
    return RawTable(names, len(frame), "frame", [])


# What running out of memory looks like, from Python, DuckDB and Arrow (whose error is a MemoryError).
_OUT_OF_MEMORY = (MemoryError, duckdb.OutOfMemoryException)


@contextlib.contextmanager
def out_of_memory_refused(name: str) -> Iterator[None]:
    """Turn running out of memory anywhere inside into one IngestError sentence (exit 2 on the command line).

    An IngestError that a reader raised because DuckDB ran out of memory ("could not be read") says so too.
    """
    try:
        yield
    except _OUT_OF_MEMORY as exc:
        raise no_memory_refusal(name) from exc
    except RuntimeError as exc:
        if "start new thread" in str(exc):  # a thread's stack is memory too
            raise no_memory_refusal(name) from exc
        raise
    except IngestError as exc:
        if isinstance(exc.__cause__, _OUT_OF_MEMORY):
            raise no_memory_refusal(name) from exc.__cause__
        raise


def no_memory_refusal(name: str) -> IngestError:
    """The one sentence for an import that ran out of memory."""
    return IngestError(
        f"There was not enough memory to import {name}: close other programs, or split the file into smaller "
        "ones, and try again."
    )


def make_workdir() -> tempfile.TemporaryDirectory:
    """A scratch folder for decompressed or transcoded copies; removed when the import ends."""
    return tempfile.TemporaryDirectory(prefix="segments-import-")


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
