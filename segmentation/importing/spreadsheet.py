"""Spreadsheets read as a stream of rows, within budgets, into a DuckDB table of text cells.

A spreadsheet library that builds the whole sheet in memory sizes it by the farthest cell: a 5 KB
.xlsx with one cell at XFD1048576 asks for 512 GB, and one long shared string used on every row is
copied once per cell. So an .xlsx is read here with ``zipfile`` and expat, row by row, each batch of
rows going straight into DuckDB; shared strings are held once, and every budget below is checked as
the file is read, so a file past one stops within that budget. Empty cells cost nothing and empty
rows after the last value are not rows.

Other spreadsheets (old .xls, .ods, .xlsb) go through python-calamine in a child process with an
address-space limit: past it the child dies, not the server.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
import resource
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.parsers import expat

import duckdb

from segmentation.importing.readers import MAX_COLUMNS, IngestError, expansion_budget, too_expanded

MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_SHEET_ROWS = 1_048_576  # Excel's own limit for one sheet
MAX_CELLS = 50_000_000  # cell elements read over the whole workbook, empty ones included
MAX_TEXT_BYTES = 1_000_000_000  # characters held in cells over the whole workbook
MAX_SHARED_STRINGS_BYTES = 256_000_000  # the shared-strings table, held in memory while the sheets are read
MAX_BLANK_RUN = 10_000  # empty rows between two rows with values; more is a stray cell far below the orders
MAX_PART_BYTES = 64_000_000  # workbook, relationships and styles parts
CALAMINE_MAX_FILE_BYTES = 200_000_000  # an .xls cannot hold more than 65,536 rows anyway
CALAMINE_MEMORY_BYTES = 3_000_000_000  # address space of the child process that reads .xls/.ods/.xlsb
CALAMINE_SECONDS = 600
_BATCH_ROWS = 20_000

_DAMAGED = (
    "The Excel file is damaged or incomplete (or not a spreadsheet): open it in Excel, save it again, "
    "or export CSV, and retry."
)


@dataclass
class Budget:
    """What the whole workbook has used so far; each sheet draws on the same budget."""

    cells: int = 0
    text: int = 0

    def cell(self) -> None:
        self.cells += 1
        if self.cells > MAX_CELLS:
            raise IngestError(
                f"The spreadsheet has more than {MAX_CELLS:,} cells, more than an import may read: "
                "split the orders into smaller files and import each."
            )

    def add_text(self, size: int) -> None:
        self.text += size
        if self.text > MAX_TEXT_BYTES:
            raise IngestError(
                f"The spreadsheet holds more than {MAX_TEXT_BYTES / 1e9:g} GB of text, more than an import may "
                "read: split the orders into smaller files and import each."
            )


@dataclass
class SheetRows:
    """One sheet read into a DuckDB table ``table`` with columns c1..cN (N = ``last``)."""

    name: str
    table: str
    rows: int = 0  # data rows below the header, blank rows between them included
    header: dict[int, str] | None = None  # column number -> header text
    first: int = 0  # the leftmost and rightmost columns holding any value
    last: int = 0


class _Sink:
    """Rows of one sheet into its table in batches; blank rows only count once a value follows them."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sheet: SheetRows) -> None:
        self.con, self.sheet = con, sheet
        self.batch: list[dict[int, str]] = []
        self.pending_blank = 0
        self.width = 0  # columns the table has

    def blank(self, count: int = 1) -> None:
        if self.sheet.header is not None:  # rows above the header are not data
            self.pending_blank += count

    def row(self, cells: dict[int, str]) -> None:
        if not cells:
            self.blank()
            return
        sheet = self.sheet
        sheet.first = min(cells) if not sheet.first else min(sheet.first, min(cells))
        sheet.last = max(sheet.last, max(cells))
        if sheet.header is None:
            sheet.header = cells
            return
        if self.pending_blank:
            if self.pending_blank > MAX_BLANK_RUN:
                raise IngestError(
                    f"Sheet '{sheet.name}' has {self.pending_blank:,} empty rows between its rows with values: "
                    "delete the stray cells below the orders, save it again and retry."
                )
            self.batch.extend({} for _ in range(self.pending_blank))
            sheet.rows += self.pending_blank
            self.pending_blank = 0
        self.batch.append(cells)
        sheet.rows += 1
        if len(self.batch) >= _BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa

        width = self.sheet.last
        if self.width == 0:
            names = ", ".join(f"c{i} VARCHAR" for i in range(1, max(width, 1) + 1))
            self.con.execute(f"CREATE TABLE {self.sheet.table} ({names})")
            self.width = max(width, 1)
        for i in range(self.width + 1, width + 1):
            self.con.execute(f"ALTER TABLE {self.sheet.table} ADD COLUMN c{i} VARCHAR")
        self.width = max(self.width, width)
        if not self.batch:
            return
        batch = pa.table(
            {f"c{i}": pa.array([row.get(i) for row in self.batch], pa.string()) for i in range(1, width + 1)}
        )
        self.con.register("xl_batch", batch)
        self.con.execute(f"INSERT INTO {self.sheet.table} BY NAME SELECT * FROM xl_batch")
        self.con.unregister("xl_batch")
        self.batch = []


# ---------------------------------------------------------------- .xlsx, streamed


def read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, budget: Budget) -> list[SheetRows] | None:
    """Every worksheet of the .xlsx at ``path`` into tables ``xl_sheet_N``; None if it is not an .xlsx."""
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(_DAMAGED) from exc
    with book:
        try:
            workbook = _office_document(book)
            if workbook is None:
                return None
            return _read_workbook(con, book, workbook, budget, path.name)
        except (zipfile.BadZipFile, KeyError, ValueError, EOFError, OSError, expat.ExpatError) as exc:
            if isinstance(exc, IngestError):
                raise
            raise IngestError(_DAMAGED) from exc


def _read_workbook(
    con: duckdb.DuckDBPyConnection, book: zipfile.ZipFile, workbook: str, budget: Budget, name: str
) -> list[SheetRows]:
    sheets, date1904 = _sheet_list(book, workbook, name)
    parts = _relationships(book, workbook, name)
    shared_path = next((t for kind, t in parts.values() if kind.endswith("/sharedStrings")), None)
    styles_path = next((t for kind, t in parts.values() if kind.endswith("/styles")), None)
    shared = _shared_strings(book, shared_path, name) if shared_path in book.NameToInfo else []
    styles = _date_styles(book, styles_path, name) if styles_path in book.NameToInfo else {}
    found = []
    for number, (sheet_name, rel_id) in enumerate(sheets):
        kind, target = parts.get(rel_id, ("", ""))
        if not kind.endswith("/worksheet"):
            continue  # chart sheets and dialog sheets hold no rows
        sheet = SheetRows(sheet_name, f"xl_sheet_{number}")
        sink = _Sink(con, sheet)
        parser = _SheetParser(sink, shared, styles, budget, date1904)
        _parse(book, target, name, parser.start, parser.end, parser.collect.add, limit=None)
        sink.flush()
        found.append(sheet)
    return found


def _office_document(book: zipfile.ZipFile) -> str | None:
    """The workbook part's path, or None when the zip is not an .xlsx (an .ods, an .xlsb, anything else)."""
    target = None
    if "_rels/.rels" in book.NameToInfo:
        for rel in _attributes(book, "_rels/.rels", "Relationship"):
            if rel.get("Type", "").endswith("/officeDocument"):
                target = rel.get("Target", "").lstrip("/")
    target = target or "xl/workbook.xml"
    return target if target.endswith(".xml") and target in book.NameToInfo else None


def _sheet_list(book: zipfile.ZipFile, workbook: str, name: str) -> tuple[list[tuple[str, str]], bool]:
    sheets, date1904 = [], False
    for tag, attrs in _elements(book, workbook, name, ("sheet", "workbookPr")):
        if tag == "workbookPr":
            date1904 = attrs.get("date1904", "").lower() in ("1", "true")
        else:
            rel = next((v for k, v in attrs.items() if k.endswith(":id")), "")
            sheets.append((attrs.get("name", ""), rel))
    return sheets, date1904


def _relationships(book: zipfile.ZipFile, workbook: str, name: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, part path) for the workbook's parts."""
    folder, base = posixpath.split(workbook)
    rels = posixpath.join(folder, "_rels", base + ".rels")
    if rels not in book.NameToInfo:
        return {}
    found = {}
    for attrs in _attributes(book, rels, "Relationship", name):
        target = attrs.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        found[attrs.get("Id", "")] = (attrs.get("Type", ""), path)
    return found


def _attributes(book: zipfile.ZipFile, part: str, tag: str, name: str = "") -> list[dict[str, str]]:
    return [attrs for _, attrs in _elements(book, part, name, (tag,))]


def _elements(book: zipfile.ZipFile, part: str, name: str, tags: tuple[str, ...]) -> list[tuple[str, dict]]:
    """The attributes of every element named in ``tags`` in a small part (workbook, relationships)."""
    found: list[tuple[str, dict]] = []

    def start(tag: str, attrs: dict) -> None:
        local = tag.rpartition(":")[2]
        if local in tags:
            found.append((local, attrs))

    _parse(book, part, name, start, None, None, limit=MAX_PART_BYTES)
    return found


def _parse(book, part: str, name: str, start, end, text, *, limit: int | None) -> None:
    """Feed one zip member to expat a megabyte at a time, after checking what it claims to expand to.

    zipfile stops at the size a member declares (and fails its checksum past it), so the declared size
    is a true bound on what is read.
    """
    info = book.getinfo(part)
    if info.file_size > expansion_budget(info.compress_size) or (limit and info.file_size > limit):
        raise too_expanded(name, info.compress_size)
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def no_doctype(*_args) -> None:  # entities are how an XML file expands itself
        raise IngestError(_DAMAGED)

    parser.StartDoctypeDeclHandler = no_doctype
    parser.EntityDeclHandler = no_doctype
    parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    if text:
        parser.CharacterDataHandler = text
    with book.open(info) as fh:
        while chunk := fh.read(1 << 20):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    """OOXML writes control characters as _xHHHH_."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


class _TextCollector:
    """Text of <t> elements outside phonetic runs (<rPh>), capped at one cell's length."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.inside = False  # in a <t> (or <v>) whose text counts
        self.phonetic = 0

    def add(self, data: str) -> None:
        if self.inside and not self.phonetic:
            self.size += len(data)
            if self.size > MAX_CELL_CHARS:
                raise IngestError(
                    f"A cell holds more than {MAX_CELL_CHARS:,} characters, more than Excel itself allows: "
                    "this file was not saved by Excel; export the orders again."
                )
            self.parts.append(data)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts, self.size = [], 0
        return text


def _shared_strings(book: zipfile.ZipFile, part: str, name: str) -> list[str]:
    strings: list[str] = []
    collect = _TextCollector()
    total = 0

    def start(tag: str, _attrs: dict) -> None:
        local = tag.rpartition(":")[2]
        if local == "t":
            collect.inside = True
        elif local == "rPh":
            collect.phonetic += 1

    def end(tag: str) -> None:
        nonlocal total
        local = tag.rpartition(":")[2]
        if local == "t":
            collect.inside = False
        elif local == "rPh":
            collect.phonetic -= 1
        elif local == "si":
            text = _unescape(collect.take())
            total += len(text) + 50  # a Python string's own overhead
            if total > MAX_SHARED_STRINGS_BYTES or len(strings) >= MAX_CELLS:
                raise IngestError(
                    f"The spreadsheet's table of texts is larger than {MAX_SHARED_STRINGS_BYTES / 1e6:g} MB, more "
                    "than an import may hold: split the orders into smaller files, or export CSV."
                )
            strings.append(text)

    _parse(book, part, name, start, end, collect.add, limit=None)
    return strings


# Built-in number formats that show a date or time (ECMA-376 18.8.30, and the East Asian ones).
_BUILTIN_DATES = {
    **dict.fromkeys([*range(14, 18), 22, *range(27, 37), *range(50, 59)], "date"),
    **dict.fromkeys([18, 19, 20, 21, 45, 47], "time"),
    46: "duration",
}


def _format_kind(code: str) -> str | None:
    code = re.sub(r'"[^"]*"|\\.|_.|\*.', "", code.lower())
    if re.search(r"\[(h+|m+|s+)\]", code):
        return "duration"
    code = re.sub(r"\[[^\]]*\]", "", code)
    if re.search(r"[dy]", code):
        return "date"
    return "time" if re.search(r"[hs]", code) else None


def _date_styles(book: zipfile.ZipFile, part: str, name: str) -> dict[int, str]:
    """Cell style index -> 'date', 'time' or 'duration' for the styles whose number format shows one."""
    custom: dict[int, str] = {}
    xfs: list[int] = []
    depth = {"cellXfs": 0}

    def start(tag: str, attrs: dict) -> None:
        local = tag.rpartition(":")[2]
        if local == "numFmt":
            custom[int(attrs.get("numFmtId", -1))] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            depth["cellXfs"] += 1
        elif local == "xf" and depth["cellXfs"]:
            xfs.append(int(attrs.get("numFmtId", 0)))

    def end(tag: str) -> None:
        if tag.rpartition(":")[2] == "cellXfs":
            depth["cellXfs"] -= 1

    _parse(book, part, name, start, end, None, limit=MAX_PART_BYTES)
    kinds = {}
    for index, fmt in enumerate(xfs):
        kind = _format_kind(custom[fmt]) if fmt in custom else _BUILTIN_DATES.get(fmt)
        if kind:
            kinds[index] = kind
    return kinds


_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d+)$")


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


class _SheetParser:
    """Expat handlers that turn one worksheet's XML into rows of text cells for a ``_Sink``."""

    def __init__(self, sink: _Sink, shared: list[str], styles: dict[int, str], budget: Budget, date1904: bool):
        self.sink, self.shared, self.styles, self.budget, self.date1904 = sink, shared, styles, budget, date1904
        self.collect = _TextCollector()
        self.row_no = 0
        self.cells: dict[int, str] = {}
        self.col = 0
        self.kind = ""
        self.style = 0
        self.in_cell = False
        self.in_inline = False

    def start(self, tag: str, attrs: dict) -> None:
        local = tag.rpartition(":")[2]
        if local == "c":
            self.budget.cell()
            self.in_cell = True
            ref = _CELL_REF.match(attrs.get("r", ""))
            self.col = _column_number(ref.group(1)) if ref else self.col + 1
            self.kind = attrs.get("t", "n")
            self.style = int(attrs.get("s", 0) or 0)
        elif not self.in_cell:
            if local == "row":
                self._start_row(attrs)
        elif local == "v" or (local == "t" and self.in_inline):
            self.collect.inside = True
        elif local == "is":
            self.in_inline = True
        elif local == "rPh":
            self.collect.phonetic += 1

    def _start_row(self, attrs: dict) -> None:
        number = int(attrs["r"]) if attrs.get("r", "").isdigit() else self.row_no + 1
        number = max(number, self.row_no + 1)  # rows out of order are read in document order
        if number > MAX_SHEET_ROWS:
            raise IngestError(
                f"Sheet '{self.sink.sheet.name}' has a row numbered {number:,}, past the {MAX_SHEET_ROWS:,} rows "
                "Excel allows: this file was not saved by Excel; export the orders again."
            )
        if number > self.row_no + 1:
            self.sink.blank(number - self.row_no - 1)
        self.row_no, self.col, self.cells = number, 0, {}

    def end(self, tag: str) -> None:
        local = tag.rpartition(":")[2]
        if local == "c":
            self._end_cell()
        elif local == "row":
            self.sink.row(self.cells)
            self.cells = {}
        elif local in ("v", "t"):
            self.collect.inside = False
        elif local == "is":
            self.in_inline = False
        elif local == "rPh":
            self.collect.phonetic -= 1

    def _end_cell(self) -> None:
        self.in_cell = self.in_inline = False
        text = self._value(self.collect.take())
        if not text:
            return
        if self.col > MAX_COLUMNS:
            raise IngestError(
                f"Sheet '{self.sink.sheet.name}' has a value in column {self.col:,}, past the {MAX_COLUMNS} "
                "columns an orders export has: delete the stray cells, save it again and retry."
            )
        self.budget.add_text(len(text))
        self.cells[self.col] = text

    def _value(self, raw: str) -> str | None:
        kind = self.kind
        if kind == "s":
            return self.shared[int(raw)] if raw.strip() else None
        if kind in ("inlineStr", "str"):
            return _unescape(raw)
        if kind == "b":
            return {"1": "true", "0": "false"}.get(raw.strip(), raw or None)
        if kind == "e" or not raw.strip():
            return None  # an error (#DIV/0!) shows no value, as the spreadsheet library said
        if kind == "d":
            try:
                return cell_text(dt.datetime.fromisoformat(raw.strip()))
            except ValueError:
                return raw
        try:
            number = float(raw)
        except ValueError:
            return raw
        date_kind = self.styles.get(self.style)
        if date_kind:
            try:
                return cell_text(_excel_date(number, date_kind, self.date1904))
            except (OverflowError, ValueError):
                pass  # beyond the calendar: keep the number
        return cell_text(number)


def _excel_date(serial: float, kind: str, date1904: bool) -> object:
    """A date serial as the spreadsheet shows it: a date, a date and time, a time of day or a duration."""
    if kind == "duration":
        return dt.timedelta(days=serial)
    moment = dt.timedelta(milliseconds=round(serial * 86_400_000))
    if 0 <= serial < 1:
        return (dt.datetime.min + moment).time()
    epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    if not date1904 and serial < 60:
        epoch += dt.timedelta(days=1)  # Excel counts a 29 February 1900 that never was
    value = epoch + moment
    return value.date() if value.time() == dt.time() else value


def cell_text(value: object) -> str | None:
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


# ---------------------------------------------------------------- .xls, .ods, .xlsb: python-calamine in a child


def read_with_calamine(con: duckdb.DuckDBPyConnection, path: Path, workdir: Path) -> list[SheetRows]:
    """Every sheet read by python-calamine in a child process whose memory is capped; tables copied here."""
    if path.stat().st_size > CALAMINE_MAX_FILE_BYTES:
        raise IngestError(
            f"{path.name} is larger than {CALAMINE_MAX_FILE_BYTES / 1e6:g} MB, more than an orders spreadsheet "
            "of this kind holds: save it as .xlsx or CSV and import that."
        )
    out = workdir / "sheets.duckdb"
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds the segmentation package
    code = f"import sys; sys.path.insert(0, {root!r}); from segmentation.importing.spreadsheet import _child; _child()"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(path), str(out), str(workdir)],
            capture_output=True,
            text=True,
            timeout=CALAMINE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise IngestError(
            f"Reading {path.name} took more than {CALAMINE_SECONDS // 60} minutes: save it as .xlsx or CSV and "
            "import that."
        ) from exc
    if done.returncode == 2 and done.stderr.strip():
        raise IngestError(done.stderr.strip().splitlines()[-1])
    if done.returncode != 0:
        if done.returncode == 3 or done.returncode < 0:  # out of memory, or killed by the allocator's abort
            raise IngestError(
                f"{path.name} needs more than {CALAMINE_MEMORY_BYTES / 1e9:g} GB of memory to read, more than an "
                "import may use: save it as .xlsx or CSV and import that."
            )
        raise IngestError(_DAMAGED)
    sheets = [SheetRows(**s) for s in json.loads(done.stdout)]
    for sheet in sheets:
        if sheet.header is not None:
            sheet.header = {int(k): v for k, v in sheet.header.items()}
    con.execute(f"ATTACH '{str(out).replace(chr(39), chr(39) * 2)}' AS xl_child (READ_ONLY)")
    try:
        for sheet in sheets:
            if sheet.header is not None:
                con.execute(f"CREATE TABLE {sheet.table} AS SELECT * FROM xl_child.{sheet.table}")
    finally:
        con.execute("DETACH xl_child")
    return sheets


def _child() -> None:
    """In the child: cap the address space, read every sheet, write the tables, print what was found."""
    source, out, workdir = sys.argv[1:4]
    resource.setrlimit(resource.RLIMIT_AS, (CALAMINE_MEMORY_BYTES, CALAMINE_MEMORY_BYTES))
    try:
        from python_calamine import CalamineWorkbook

        con = duckdb.connect(out, config={"temp_directory": workdir, "memory_limit": "256MB", "threads": 1})
        budget = Budget()
        sheets = []
        try:
            book = CalamineWorkbook.from_path(source)
            names = book.sheet_names
        except Exception:  # calamine raises its own types for every kind of damage
            print(_DAMAGED, file=sys.stderr)
            sys.exit(2)
        for number, name in enumerate(names):
            sheet = SheetRows(name, f"xl_sheet_{number}")
            sink = _Sink(con, sheet)
            try:
                rows = book.get_sheet_by_name(name).iter_rows()
                for values in rows:
                    cells = {}
                    for i, value in enumerate(values, start=1):
                        budget.cell()
                        text = cell_text(value)
                        if text:
                            budget.add_text(len(text))
                            cells[i] = text
                    if cells and max(cells) > MAX_COLUMNS:
                        raise IngestError(
                            f"Sheet '{name}' has more than {MAX_COLUMNS} columns, more than an orders export has: "
                            "check the file."
                        )
                    sink.row(cells)
            except IngestError:
                raise
            except MemoryError:
                raise
            except Exception:  # calamine raises its own types for every kind of damage
                print(_DAMAGED, file=sys.stderr)
                sys.exit(2)
            if sheet.header is not None:
                sink.flush()
            sheets.append(sheet)
        con.close()
    except IngestError as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(2)
    except MemoryError:
        sys.exit(3)
    print(json.dumps([asdict(s) for s in sheets]))


__all__ = [
    "CALAMINE_MEMORY_BYTES",
    "MAX_BLANK_RUN",
    "MAX_CELLS",
    "MAX_CELL_CHARS",
    "MAX_SHARED_STRINGS_BYTES",
    "MAX_SHEET_ROWS",
    "MAX_TEXT_BYTES",
    "Budget",
    "SheetRows",
    "cell_text",
    "read_with_calamine",
    "read_xlsx",
]
