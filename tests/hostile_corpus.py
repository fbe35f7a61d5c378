"""A corpus of broken and hostile orders files, built byte by byte in a test's own folder.

Each ``Case`` writes one file (nothing is downloaded) and says what the importer must do with it:

- ``refused``: exit 2, one plain line on stderr naming the problem, the database exactly as before;
- ``partial``: imported, with the rows it cannot use rejected, counted by reason and kept in ``rejects``
  (a clean file is a partial import with nothing rejected).

Expected reasons are keywords matched against the importer's reason text (case-insensitive), and
``a|b`` accepts either wording: the test checks what was rejected and why, not the exact phrasing.
Files are a few rows each, except where size is the point.
"""

from __future__ import annotations

import codecs
import gzip
import io
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

# A plain export: every row has an order id, a customer, a date, a product, an amount and a name.
HEADER = ["Order ID", "Customer ID", "Order Date", "Product", "Amount", "First Name"]


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    write: Callable[[Path], None]  # writes the file (or folder) at the given path
    expect: Literal["refused", "partial"]
    # refused: words the message must contain; each entry may offer alternatives as "a|b"
    message: tuple[str, ...] = ()
    # partial: the data rows the user gave, the rows loaded, and rejected rows by reason keyword
    rows: int = 0
    loaded: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    customers: dict[str, dict[str, object]] = field(default_factory=dict)  # customer_id -> columns
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column the report must show
    revenue: float | None = None
    return_rows: int | None = None
    raw_contains: tuple[str, ...] = ()  # text that must appear in some rejected row's raw cells

    def build(self, directory: Path) -> Path:
        """Write this case's file into ``directory`` and return its path."""
        path = directory / self.filename
        self.write(path)
        return path


# ---------------------------------------------------------------- writers


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _text(lines: list[str], *, encoding: str = "utf-8", newline: str = "\n") -> Callable[[Path], None]:
    return _bytes((newline.join(lines) + newline).encode(encoding))


def _row(*cells: object) -> str:
    return ",".join(str(c) for c in cells)


def _good(n: int, *, start: int = 1) -> list[str]:
    """``n`` valid rows in HEADER's shape."""
    return [_row(f"A{i}", f"C{i}", f"2024-03-{i:02d}", "Tea", f"{i}.50", "Ann") for i in range(start, start + n)]


def _csv(*rows: str, header: list[str] = HEADER) -> Callable[[Path], None]:
    return _text([",".join(header), *rows])


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Orders"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_rows(n: int = 3) -> list[list[object]]:
    return [HEADER] + [
        [f"X{i}", f"K{i}", datetime(2024, 4, 1 + i % 28, 10, 30), "Cake", 2.5 * i, "Bea"] for i in range(1, n + 1)
    ]


def _good_csv_bytes(n: int = 3) -> bytes:
    return ("\n".join([",".join(HEADER), *_good(n)]) + "\n").encode()


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _mkdir(path: Path) -> None:
    path.mkdir()


def _nothing(path: Path) -> None:
    """No file at all: the path the user typed does not exist."""


_HTML = """<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><h1>Bad Gateway</h1><p>The server returned an invalid response. Order ID, Customer ID, Order Date</p>
</body></html>"""

_JSON = '[{"order_id": "A1", "customer_id": "C1", "order_date": "2024-03-01", "amount": 1.5}]\n'

_XML = """<?xml version="1.0" encoding="UTF-8"?>
<orders><order id="A1" customer="C1" date="2024-03-01" amount="1.50"/></orders>
"""

_PDF = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)

_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82"
)

_ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + bytes(200)

_RANDOM = random.Random(20261123).randbytes(4096)

_WIDE = 600  # columns


def _wide() -> Callable[[Path], None]:
    header = [*HEADER, *(f"Extra {i}" for i in range(len(HEADER) + 1, _WIDE + 1))]
    rows = [",".join([*cells.split(","), *(["x"] * (_WIDE - len(HEADER)))]) for cells in _good(2)]
    return _text([",".join(header), *rows])


# ---------------------------------------------------------------- issue 14: cell safety

# Each character class that once hid a formula from the importer (a Unicode space, a control character, a
# format character, a full-width or small sign), before = + - @, in the product, name or customer column.
HIDDEN_FORMULAS: dict[str, str] = {
    "no-break space": "\u00a0=cmd|' /C calc'!A0",
    "figure space": '\u2007=HYPERLINK("http://x","y")',
    "ideographic space": "\u3000=1+1",
    "ogham space": "\u1680@SUM(A1)",
    "narrow no-break space": "\u202f+1+1",
    "vertical tab": "\x0b=1+1",
    "form feed": "\x0c-1+1",
    "next line (C1)": "\x85=1+1",
    "byte-order mark": "\ufeff=1+1",
    "zero-width space": "\u200b=1+1",
    "left-to-right mark": "\u200e=1+1",
    "right-to-left override": "\u202e=1+1",
    "word joiner": "\u2060=1+1",
    "tag character": "\U000e0041=1+1",
    "full-width equals": "\uff1d1+1",
    "full-width plus": "\uff0b1+1",
    "full-width minus": "\uff0d1+1",
    "full-width at": "\uff20SUM(A1)",
    "small equals": "\ufe661+1",
    "minus sign": "\u22121+1",
    "several together": "\u00a0\u200b\ufeff\uff1d1+1",
}
# Cells that look alike but cannot run: a padded or full-width signed number, text with = inside.
HARMLESS_LOOKALIKES: tuple[str, ...] = ("\u00a0-2", "\uff0d3.5", "Tea = love", "日本茶")
_HIDDEN_COLUMNS = (3, 5, 1)  # Product, First Name, Customer ID, in turn


def _hidden_rows() -> list[list[object]]:
    """HEADER's rows: three good ones, one per hidden formula, one per harmless look-alike."""
    rows: list[list[object]] = [[f"A{i}", f"C{i}", f"2024-03-0{i}", "Tea", f"{i}.50", "Ann"] for i in (1, 2, 3)]
    for i, cell in enumerate(HIDDEN_FORMULAS.values()):
        row: list[object] = [f"H{i}", f"D{i}", "2024-03-04", "Tea", "1.00", "Bob"]
        row[_HIDDEN_COLUMNS[i % len(_HIDDEN_COLUMNS)]] = cell
        rows.append(row)
    for i, cell in enumerate(HARMLESS_LOOKALIKES):
        rows.append([f"L{i}", f"E{i}", "2024-03-05", cell, "2.00", "Cy"])
    return rows


def _hidden_csv(path: Path) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows([HEADER, *_hidden_rows()])


def _hidden_xlsx(path: Path) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # XLSX cannot hold most C0 controls (openpyxl refuses them): those rows carry a carriage return instead,
    # which the file keeps and a reader may turn into a line feed.
    rows = [[ILLEGAL_CHARACTERS_RE.sub("\r", c) if isinstance(c, str) else c for c in row] for row in _hidden_rows()]
    path.write_bytes(_xlsx_bytes([HEADER, *rows]))


def _hidden_parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _hidden_rows()
    pq.write_table(pa.table({name: [str(r[i]) for r in rows] for i, name in enumerate(HEADER)}), path)


# ---------------------------------------------------------------- the corpus

REFUSED: list[Case] = [
    Case("empty", "orders.csv", _bytes(b""), "refused", ("empty",)),
    Case("whitespace_only", "orders.csv", _bytes(b"  \n\n\t\r\n   \n"), "refused", ("blank|empty",)),
    Case("random_binary", "orders.csv", _bytes(_RANDOM), "refused", ("binary|not text",)),
    Case("png_image", "orders.csv", _bytes(_PNG), "refused", ("binary|image|not text",)),
    Case("elf_executable", "orders.csv", _bytes(_ELF), "refused", ("binary|not text",)),
    Case("html_error_page", "orders.csv", _text(_HTML.splitlines()), "refused", ("html|web page",)),
    Case(
        "html_with_bom_and_blank_lines",
        "export.csv",
        _bytes(b"\xef\xbb\xbf\n\n  " + _HTML.encode()),
        "refused",
        ("html|web page",),
    ),
    Case("json", "orders.csv", _text([_JSON.strip()]), "refused", ("json",)),
    Case("xml", "orders.csv", _text(_XML.splitlines()), "refused", ("xml",)),
    Case("pdf", "orders.csv", _bytes(_PDF), "refused", ("pdf",)),
    Case("header_only", "orders.csv", _csv(), "refused", ("no rows",)),
    Case(
        "header_only_with_bom",
        "orders.csv",
        _bytes(b"\xef\xbb\xbf" + ",".join(HEADER).encode() + b"\r\n"),
        "refused",
        ("no rows",),
    ),
    Case("header_then_blank_lines", "orders.csv", _text([",".join(HEADER), "", "", ""]), "refused", ("no rows",)),
    Case(
        "no_date_column",
        "orders.csv",
        _csv("A1,C1,Tea,1.50", "A2,C2,Cake,2.50", header=["Order ID", "Customer ID", "Product", "Amount"]),
        "refused",
        ("date",),
    ),
    Case(
        "no_customer_or_email_column",
        "orders.csv",
        _csv(
            "A1,2024-03-01,Tea,1.50", "A2,2024-03-02,Cake,2.50", header=["Order ID", "Order Date", "Product", "Amount"]
        ),
        "refused",
        ("customer",),
    ),
    Case(
        "no_amount_column",
        "orders.csv",
        _csv(
            "A1,C1,2024-03-01,Tea", "A2,C2,2024-03-02,Cake", header=["Order ID", "Customer ID", "Order Date", "Product"]
        ),
        "refused",
        ("amount",),
    ),
    # The file has an 'Order Date' column, but not one value in it is a date: say so, not "no column".
    Case(
        "every_date_unparseable",
        "orders.csv",
        _csv(
            "A1,C1,tomorrow,Tea,1.50,Ann",
            "A2,C2,n/a,Tea,2.50,Bob",
            "A3,C3,2024-13-45,Tea,3.50,Cy",
            "A4,C4,32/13/2024,Tea,4.50,Di",
        ),
        "refused",
        ("date", "read|recogni|understand|pars|format|valid"),
    ),
    Case(
        "every_amount_unparseable",
        "orders.csv",
        _csv("A1,C1,2024-03-01,Tea,abc,Ann", "A2,C2,2024-03-02,Tea,n/a,Bob", "A3,C3,2024-03-03,Tea,??,Cy"),
        "refused",
        ("amount",),
    ),
    Case(
        "truncated_xlsx",
        "orders.xlsx",
        lambda p: p.write_bytes(_half(_xlsx_bytes(_xlsx_rows(40)))),
        "refused",
        ("excel|spreadsheet|damaged|incomplete",),
    ),
    Case(
        "xlsx_header_only",
        "orders.xlsx",
        lambda p: p.write_bytes(_xlsx_bytes([HEADER])),
        "refused",
        ("no rows|no data",),
    ),
    Case(
        "zip_not_a_spreadsheet",
        "orders.xlsx",
        _bytes(_zip({"readme.txt": b"These are not the orders you are looking for.\n"})),
        "refused",
        ("spreadsheet|excel",),
    ),
    Case(
        "fake_xls_ole_header",
        "orders.xls",
        _bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4),
        "refused",
        ("excel|spreadsheet|damaged",),
    ),
    Case(
        "fake_parquet", "orders.parquet", _bytes(b"PAR1" + b"not really parquet at all" * 10), "refused", ("parquet",)
    ),
    Case(
        "truncated_gz",
        "orders.csv.gz",
        lambda p: p.write_bytes(_half(_gzip(_good_csv_bytes(200)))),
        "refused",
        ("damaged|incomplete",),
    ),
    Case("gz_of_empty_file", "orders.csv.gz", _bytes(_gzip(b"")), "refused", ("empty",)),
    Case("six_hundred_columns", "orders.csv", _wide(), "refused", ("columns",)),
    # UTF-16 without its byte-order mark: refused (as binary) rather than read as garbage.
    Case(
        "utf16_without_bom",
        "orders.csv",
        _bytes(("\t".join(HEADER) + "\r\n" + "A1\tC1\t2024-03-01\tTea\t1.50\tZoë\r\n").encode("utf-16-le")),
        "refused",
        (),
    ),
    Case("missing_file", "no_such_orders.csv", _nothing, "refused", ("no file",)),
    Case("folder_not_file", "orders.csv", _mkdir, "refused", ("folder",)),
]

PARTIAL: list[Case] = [
    Case(
        "some_dates_unparseable",
        "orders.csv",
        _csv(*_good(4), "A5,C5,not a date,Tea,5.50,Eve", "A6,C6,2024-02-30,Tea,6.50,Fay", "A7,C7,,Tea,7.50,Gil"),
        "partial",
        rows=7,
        loaded=4,
        rejected={"unreadable order date": 2, "no order date": 1},
        raw_contains=("not a date", "2024-02-30"),
    ),
    Case(
        "dates_out_of_range",
        "orders.csv",
        _csv(
            *_good(3),
            "A4,C4,1066-10-14,Tea,4.50,Harold",
            "A5,C5,9999-12-31,Tea,5.50,Eve",
            "A6,C6,2999-01-01,Tea,6.50,Fay",
        ),
        "partial",
        rows=6,
        loaded=3,
        rejected={"out of range": 3},
        raw_contains=("1066-10-14", "9999-12-31"),
    ),
    Case(
        "unreadable_amounts",
        "orders.csv",
        _csv(
            *_good(2),
            "A3,C3,2024-03-03,Tea,(4.00),Ann",
            "B1,D1,2024-03-04,Tea,abc,Bob",
            'B2,D2,2024-03-04,Tea,"12,34,56",Bob',
            "B3,D3,2024-03-04,Tea,NaN,Bob",
            "B4,D4,2024-03-04,Tea,inf,Bob",
            "B5,D5,2024-03-04,Tea,-Infinity,Bob",
            "B6,D6,2024-03-04,Tea,1.2.3,Bob",
            "B7,D7,2024-03-04,Tea,5e9,Bob",
        ),
        "partial",
        rows=10,
        loaded=3,
        rejected={"unreadable amount": 6, "out of range": 1},
        revenue=1.5 + 2.5 - 4.0,
        raw_contains=("abc", "12,34,56", "NaN", "5e9"),
    ),
    Case(
        "amount_1e400",
        "orders.csv",
        _csv(*_good(2), "A3,C3,2024-03-03,Tea,1e400,Ann"),
        "partial",
        rows=3,
        loaded=2,
        rejected={"amount": 1},
        raw_contains=("1e400",),
    ),
    Case(
        "formula_injection",
        "orders.csv",
        _csv(
            *_good(3),
            'F1,D1,2024-03-04,"=HYPERLINK(""http://x"",""click"")",1.00,Bob',
            "F2,D2,2024-03-04,Tea,1.00,@SUM(A1)",
            "F3,D3,2024-03-04,+cmd|' /C calc'!A0,1.00,Bob",
            "F4,D4,2024-03-04,-2+3,1.00,Bob",
            "F5,=1+2,2024-03-04,Tea,1.00,Bob",
        ),
        "partial",
        rows=8,
        loaded=3,
        rejected={"formula": 5},
        raw_contains=("HYPERLINK", "@SUM(A1)", "calc", "-2+3", "=1+2"),
    ),
    Case(
        "more_cells_than_header",
        "orders.csv",
        _csv(*_good(2), "A3,C3,2024-03-03,Tea,3.50,Ann,surprise,cells"),
        "partial",
        rows=3,
        loaded=2,
        rejected={"more cells|too many": 1},
        raw_contains=("surprise",),
    ),
    Case(
        "fewer_cells_than_header",
        "orders.csv",
        _csv(*_good(2), "A3,C3,2024-03-03,Tea"),
        "partial",
        rows=3,
        loaded=2,
        rejected={"fewer cells|no amount|missing": 1},
    ),
    Case(
        "unclosed_quote_mid_file",
        "orders.csv",
        _csv(*_good(1), 'A2,C2,2024-03-02,"Tea,2.50,Ann', *_good(2, start=3)),
        "partial",
        rows=4,
        loaded=3,
        rejected={"quote": 1},
    ),
    Case(
        "unclosed_quote_last_row",
        "orders.csv",
        _csv(*_good(2), 'A3,C3,2024-03-03,"Tea,3.50,Ann'),
        "partial",
        rows=3,
        loaded=2,
        rejected={"quote": 1},
    ),
    Case(
        "enormous_cell",
        "orders.csv",
        _csv(*_good(1), _row("A2", "C2", "2024-03-02", "x" * 2_000_000, "2.50", "Ann"), *_good(1, start=3)),
        "partial",
        rows=3,
        loaded=2,
        rejected={"too long": 1},
    ),
    Case(
        "mixed_line_endings",
        "orders.csv",
        _bytes(
            (
                ",".join(HEADER)
                + "\r\n"
                + _good(1)[0]
                + "\r\n"
                + _good(1, start=2)[0]
                + "\r"
                + _good(1, start=3)[0]
                + "\n"
                + _good(1, start=4)[0]
                + "\r\n"
            ).encode()
        ),
        "partial",
        rows=4,
        loaded=4,
    ),
    Case(
        "blank_rows",
        "orders.csv",
        _text([",".join(HEADER), _good(1)[0], "", ",,,,,", _good(1, start=2)[0], "   ", ",,,,,"]),
        "partial",
        rows=5,
        loaded=2,
        rejected={"blank|empty|no order date": 3},
    ),
    Case(
        "duplicate_header_names",
        "orders.csv",
        _csv(
            "A1,C1,2024-03-01,1.50,garbage,x",
            "A2,C2,2024-03-02,2.50,,y",
            "A3,C3,2024-03-03,3.50,junk,z",
            header=["Order ID", "Customer ID", "Order Date", "Amount", "Order Date", "Amount"],
        ),
        "partial",
        rows=3,
        loaded=3,
        revenue=7.5,
        mapping={"order_date": "Order Date", "amount": "Amount"},
    ),
    # The date column has no name: it must be found by its content.
    Case(
        "blank_header_names",
        "orders.csv",
        _csv(
            "A1,C1,2024-03-01,note,1.50",
            "A2,C2,2024-03-02,note,2.50",
            "A3,C3,2024-03-03,,3.50",
            header=["Order ID", "Customer ID", "", "", "Amount"],
        ),
        "partial",
        rows=3,
        loaded=3,
        revenue=7.5,
    ),
    Case(
        "negative_quantities_are_returns",
        "orders.csv",
        _csv(
            "1001,C1,2024-03-01,Tea,2,3.50",
            "1002,C2,2024-03-02,Cake,3,2.00",
            "C1001,C1,2024-03-05,Tea,-1,3.50",
            header=["Invoice No", "Customer ID", "Invoice Date", "Description", "Quantity", "Unit Price"],
        ),
        "partial",
        rows=3,
        loaded=3,
        return_rows=1,
        revenue=7.0 + 6.0 - 3.5,
    ),
    Case(
        "customer_ids_with_leading_zeros",
        "orders.csv",
        _csv(
            "A1,000123,2024-03-01,Tea,1.50,Ann",
            "A2,000456,2024-03-02,Tea,2.50,Bob",
            "A3,007,2024-03-03,Tea,3.50,Jim",
            "A4,000123,2024-03-04,Tea,4.50,Ann",
        ),
        "partial",
        rows=4,
        loaded=4,
        customers={"000123": {"first_name": "Ann"}, "000456": {"first_name": "Bob"}, "007": {"first_name": "Jim"}},
    ),
    Case(
        "customer_ids_written_as_floats",
        "orders.csv",
        _csv(
            "A1,17850.0,2024-03-01,Tea,1.50,Ann",
            "A2,12346.0,2024-03-02,Tea,2.50,Bob",
            "A3,17850.0,2024-03-03,Tea,3.50,Ann",
        ),
        "partial",
        rows=3,
        loaded=3,
        customers={"17850": {"first_name": "Ann"}, "12346": {"first_name": "Bob"}},
    ),
    Case(
        "cp1252_semicolons_decimal_comma_euro",
        "bestellungen.csv",
        _text(
            [
                "Order ID;Customer ID;Order Date;First Name;Product;Amount",
                "A1;C1;03.01.2024;José;Café crème;12,50 €",
                "A2;C2;04.01.2024;François;Pain;7,00 €",
                'A3;C3;05.01.2024;Zoë;Gâteau;"1.234,56 €"',
            ],
            encoding="cp1252",
            newline="\r\n",
        ),
        "partial",
        rows=3,
        loaded=3,
        revenue=12.5 + 7.0 + 1234.56,
        customers={"C1": {"first_name": "José"}, "C2": {"first_name": "François"}, "C3": {"first_name": "Zoë"}},
    ),
    Case(
        "latin1_pound",
        "orders.csv",
        _text(
            [
                ",".join(HEADER),
                "A1,C1,2024-03-01,Tea,£12.50,Siân",
                "A2,C2,2024-03-02,Scone,£3.00,Renée",
                'A3,C3,2024-03-03,Hamper,"£1,200.00",Aodhán',
            ],
            encoding="latin-1",
        ),
        "partial",
        rows=3,
        loaded=3,
        revenue=12.5 + 3.0 + 1200.0,
        customers={"C1": {"first_name": "Siân"}, "C2": {"first_name": "Renée"}, "C3": {"first_name": "Aodhán"}},
    ),
    # Most of the file is UTF-8, one row was pasted in from a cp1252 export: no name may come out garbled.
    Case(
        "mixed_utf8_and_cp1252_rows",
        "orders.csv",
        _bytes(
            (",".join(HEADER) + "\n" + "A1,C1,2024-03-01,Tea,1.50,Zoë\nA2,C2,2024-03-02,Tea,2.50,Chloé\n").encode()
            + "A3,C3,2024-03-03,Tea,3.50,José\n".encode("cp1252")
        ),
        "partial",
        rows=3,
        loaded=3,
        customers={"C1": {"first_name": "Zoë"}, "C2": {"first_name": "Chloé"}, "C3": {"first_name": "José"}},
    ),
    Case(
        "utf16_with_bom_tabs",
        "orders.txt",
        _bytes(
            (
                "\t".join(HEADER)
                + "\r\n"
                + "A1\tC1\t2024-03-01\tTea\t1.50\tZoë\r\n"
                + "A2\tC2\t2024-03-02\tTea\t2.50\tŁukasz\r\n"
            ).encode("utf-16")
        ),
        "partial",
        rows=2,
        loaded=2,
        customers={"C1": {"first_name": "Zoë"}, "C2": {"first_name": "Łukasz"}},
    ),
    Case(
        "utf8_with_bom",
        "orders.csv",
        _bytes(
            codecs.BOM_UTF8
            + (
                "Customer ID,Order Date,Amount,First Name\r\nC1,2024-03-01,1.50,Zoë\r\nC2,2024-03-02,2.50,Ann\r\n"
            ).encode()
        ),
        "partial",
        rows=2,
        loaded=2,
        mapping={"customer_id": "Customer ID"},
        customers={"C1": {"first_name": "Zoë"}},
    ),
    Case(
        "xlsx_named_csv",
        "orders.csv",
        lambda p: p.write_bytes(_xlsx_bytes(_xlsx_rows(3))),
        "partial",
        rows=3,
        loaded=3,
        revenue=2.5 + 5.0 + 7.5,
    ),
    Case(
        "csv_named_xlsx",
        "orders.xlsx",
        _bytes(_good_csv_bytes(3)),
        "partial",
        rows=3,
        loaded=3,
        revenue=1.5 + 2.5 + 3.5,
    ),
    Case(
        "xlsx_with_bad_rows",
        "orders.xlsx",
        lambda p: p.write_bytes(
            _xlsx_bytes(
                [
                    *_xlsx_rows(3),
                    ["X4", "K4", "not a date", "Cake", 4.0, "Bea"],
                    ["X5", "K5", datetime(2024, 4, 5), "Cake", "abc", "Bea"],
                    ["X6", "K6", datetime(2024, 4, 6), "@SUM(A1)", 6.0, "Bea"],
                ]
            )
        ),
        "partial",
        rows=6,
        loaded=3,
        rejected={"unreadable order date": 1, "unreadable amount": 1, "formula": 1},
        raw_contains=("not a date", "abc", "@SUM(A1)"),
    ),
    Case(
        "gz_csv_with_a_bad_row",
        "orders.csv.gz",
        _bytes(_gzip((",".join(HEADER) + "\n" + "\n".join([*_good(3), "A9,C9,someday,Tea,9.50,Ann"]) + "\n").encode())),
        "partial",
        rows=4,
        loaded=3,
        rejected={"unreadable order date": 1},
        raw_contains=("someday",),
    ),
    # issue 14: cell safety. A formula hidden behind an invisible character, or written in full width, is
    # rejected like a plain one, in every format; harmless look-alikes still load.
    *(
        Case(
            f"hidden_formulas_{kind}",
            f"orders.{kind}",
            writer,
            "partial",
            rows=3 + len(HIDDEN_FORMULAS) + len(HARMLESS_LOOKALIKES),
            loaded=3 + len(HARMLESS_LOOKALIKES),
            rejected={"formula": len(HIDDEN_FORMULAS)},
            raw_contains=("HYPERLINK", "calc"),
        )
        for kind, writer in (("csv", _hidden_csv), ("xlsx", _hidden_xlsx), ("parquet", _hidden_parquet))
    ),
]


# ---------------------------------------------------------------- issue 14: bombs (compressed files, spreadsheets)
# Spreadsheets written by hand (no library would write these), so each is a few KB.


def _sheet_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _sheet_row(number: int, values: list[str]) -> str:
    cells = "".join(_sheet_cell(f"{chr(65 + i)}{number}", v) for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def _good_rows(n: int = 1) -> str:
    return _sheet_row(1, HEADER) + "".join(_sheet_row(i + 2, line.split(",")) for i, line in enumerate(_good(n)))


def xlsx(sheet_data: str, *, shared: list[str] | None = None, dimension: str = "A1:F2") -> bytes:
    """A minimal .xlsx written by hand: one sheet whose <sheetData> is ``sheet_data``."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{rel}"><sheets>'
            '<sheet name="Orders" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><dimension ref="{dimension}"/>'
            f"<sheetData>{sheet_data}</sheetData></worksheet>"
        ),
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><sst {ns} count="{len(shared or [])}">'
            + "".join(f"<si><t>{s}</t></si>" for s in shared or [])
            + "</sst>"
        ),
    }
    path_bytes = {name: text.encode() for name, text in parts.items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in path_bytes.items():
            zf.writestr(name, data)
    return out.getvalue()


def _far_below(ref: str, text: str, dimension: str) -> Callable[[Path], None]:
    far = f'<row r="{ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}">{_sheet_cell(ref, text)}</row>'
    return lambda p: p.write_bytes(xlsx(_good_rows() + far, dimension=dimension))


def _zeros_gz(path: Path) -> None:
    with gzip.open(path, "wb", compresslevel=9) as out:
        for _ in range(1000):
            out.write(bytes(1 << 20))  # 1 GB of zeros in about 1 MB


REFUSED += [
    Case("gz_of_zeros_bomb", "orders.csv.gz", _zeros_gz, "refused", ("expands to more than",)),
    Case(
        "xlsx_cell_at_xfd1048576", "orders.xlsx", _far_below("XFD1048576", "x", "A1:XFD1048576"), "refused", ("column",)
    ),
    Case(
        "xlsx_value_a_million_rows_below",
        "orders.xlsx",
        _far_below("AZ1048576", "x", "A1:AZ1048576"),
        "refused",
        ("empty rows",),
    ),
    Case(
        "xlsx_shared_string_of_a_million_characters",
        "orders.xlsx",
        lambda p: p.write_bytes(
            xlsx(_sheet_row(1, HEADER) + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>', shared=["A" * 1_000_000])
        ),
        "refused",
        ("characters",),
    ),
]
PARTIAL += [
    Case(
        "xlsx_empty_cell_at_az1048576",
        "orders.xlsx",
        _far_below("AZ1048576", "", "A1:AZ1048576"),
        "partial",
        rows=1,
        loaded=1,
    ),
]

# Customer lists and email activity (issue 19): read by the same readers, under the same budgets; a list
# whose rows name nobody usable is refused like an orders file whose rows are all bad.
_AUDIENCE = ["Email Address", "First Name", "MEMBER_RATING", "OPTIN_TIME", "TAGS"]
_ACTIVITY = ["Email Address", "Campaign Title", "Send Time", "Opens", "Clicks"]
REFUSED += [
    Case("customer_list_header_only", "subscribed_members.csv", _csv(header=_AUDIENCE), "refused", ("no rows",)),
    Case(
        "customer_list_without_one_usable_email",
        "subscribed_members.csv",
        _csv("not-an-email,Ann,3,2023-01-01 10:00:00,vip", ",Bob,2,2023-01-01 10:00:00,", header=_AUDIENCE),
        "refused",
        ("none of the 2 rows",),
    ),
    Case(
        "customer_list_of_formulas",
        "customers.csv",
        _csv('"=HYPERLINK(""http://x"",""click"")",vegan', "@SUM(A1),vip", header=["Email", "Interests"]),
        "refused",
        ("none of the 2 rows", "formula"),
    ),
    Case(
        "activity_without_recipients",
        "campaign_activity.csv",
        _csv(",June news,2024-06-01 09:00:00,1,0", ",June news,2024-06-01 09:00:00,0,0", header=_ACTIVITY),
        "refused",
        ("none of the 2 rows",),
    ),
    # The presets recognised by their header alone (Klaviyo's 'Klaviyo ID', HubSpot's 'Record ID'): recognised,
    # then refused all the same when no row names a usable email; their own ids never stand in for one.
    Case(
        "klaviyo_profiles_without_one_usable_email",
        "klaviyo_profiles.csv",
        _csv(
            'ann(at)example.com,01HZ3Q8W9K2M4N6P8R0T2V4X6A,SUBSCRIBED,["vip"]',
            ",01HZ3Q8W9K2M4N6P8R0T2V4X6B,NEVER_SUBSCRIBED,[]",
            header=["Email", "Klaviyo ID", "Email Marketing Consent", "Shopify Tags"],
        ),
        "refused",
        ("none of the 2 rows",),
    ),
    Case(
        "hubspot_contacts_without_emails",
        "hubspot-crm-exports-all-contacts.csv",
        _csv(
            "51234567801,Ann,,2024-01-01 10:00,vegan",
            "51234567802,Bob,,2024-01-02 10:00,",
            header=["Record ID", "First Name", "Email", "Create Date", "Interests"],
        ),
        "refused",
        ("none of the 2 rows",),
    ),
    Case(
        "customer_list_truncated_xlsx",
        "customers.xlsx",
        lambda p: p.write_bytes(
            _half(_xlsx_bytes([_AUDIENCE] + [[f"p{i}@example.com", "Ann", 3, "2023-01-01", "vip"] for i in range(40)]))
        ),
        "refused",
        ("excel|spreadsheet|damaged|incomplete",),
    ),
]

# Customer lists with some bad rows: the good ones load, every bad one is counted and kept in ``rejects``.
CONTACT_PARTIAL: list[Case] = [
    Case(
        "customer_list_with_bad_rows",
        "subscribed_members.csv",
        _csv(
            "ann@example.com,Ann,3,2023-01-01 10:00:00,vip",
            "not an email,Bob,2,2023-01-01 10:00:00,",
            ",Cy,1,2023-01-01 10:00:00,vip",
            "=1+2,Di,1,2023-01-01 10:00:00,",
            ",,,,",
            'eve@example.com,Eve,5,2023-01-01 10:00:00,"vegan, local"',
            header=_AUDIENCE,
        ),
        "partial",
        rows=6,
        loaded=2,
        rejected={"unreadable email": 1, "no customer id or email": 1, "formula": 1, "blank": 1},
        raw_contains=("not an email", "=1+2"),
    ),
    Case(
        "activity_with_other_events",
        "events.csv",
        _csv(
            "ann@example.com,Received Email,2024-06-01 09:00:00",
            "ann@example.com,Opened Email,2024-06-01 10:00:00",
            "ann@example.com,Viewed Product,2024-06-01 10:05:00",
            "ann@example.com,Placed Order,2024-06-01 10:09:00",
            header=["Email", "Metric", "Timestamp"],
        ),
        "partial",
        rows=4,
        loaded=2,
        rejected={"not an email event": 2},
        raw_contains=("Viewed Product",),
    ),
]

CASES: list[Case] = REFUSED + PARTIAL

# A tiny valid export used to give the database some content before a hostile file arrives.
SEED_CSV = (
    "\n".join(
        [
            "Order ID,Customer ID,Order Date,Product,Amount,First Name",
            "S1,SEED1,2024-01-01,Seed,1.00,Sam",
            "S2,SEED2,2024-01-02,Seed,2.00,Sue",
            "S3,SEED1,2024-01-03,Seed,abc,Sam",
        ]
    )
    + "\n"
)
