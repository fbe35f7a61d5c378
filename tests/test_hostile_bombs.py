"""Compression and spreadsheet bombs: each is refused in one sentence (exit 2, store unchanged) within
budgets of memory and scratch disk, measured on a real ``segments import`` in a child process.

Every bomb is built here, small on disk. The child runs with an address-space cap (so a reader that
sizes a sheet by its farthest cell fails instead of taking the machine down) and a cap on the size of
any file it writes (so a reader that decompresses a bomb in full is stopped at the scratch budget).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from segmentation.importing import readers, spreadsheet
from tests.hostile_corpus import HEADER, _good, _good_rows, _sheet_cell, _sheet_row, xlsx

ROOT = Path(__file__).resolve().parents[1]
# A whole `segments import` of a tiny file peaks near 220 MB resident; a bomb may add little to that.
PEAK_RSS_BUDGET = 700_000_000
# Address space of the child: DuckDB and the model libraries reserve about 2.5 GB without using it.
ADDRESS_SPACE_CAP = 4_500_000_000
# The largest scratch file an import may write is the decompression budget of what was given, and a margin
# for DuckDB's own spill files.
SCRATCH_MARGIN = 8 << 20

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    out, cap, fsize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    import cli
    code = cli.main(["import", *sys.argv[4:]])
    # This process's own peak is VmHWM: ru_maxrss survives fork and exec, so it would start at the size of
    # the test process that launched it. The reader children (calamine) are forked from here, after start-up.
    own = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    usage = [own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024]
    with open(out, "w") as fh:
        json.dump({"code": code, "peak_rss": max(usage)}, fh)
    """
)


def run_import(tmp_path: Path, path: Path) -> tuple[dict, str, Path]:
    """``segments import path`` in a child under the caps; (its exit and peak memory, stderr, scratch dir)."""
    fsize = readers.expansion_budget(path.stat().st_size) + SCRATCH_MARGIN
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    db = tmp_path / "db" / "shop.duckdb"
    result = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(result), str(ADDRESS_SPACE_CAP), str(fsize), str(path), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(scratch), "PYTHONPATH": str(ROOT)},
    )
    assert result.exists(), f"the import died (exit {done.returncode}): {done.stderr[-800:]}"
    return json.loads(result.read_text()), done.stderr, scratch


def assert_refused_within_budgets(tmp_path: Path, path: Path, *words: str, peak: int = PEAK_RSS_BUDGET) -> str:
    outcome, err, scratch = run_import(tmp_path, path)
    assert outcome["code"] == 2, err[-800:]
    assert err.count("\n") == 1 and "Traceback" not in err, err[-800:]
    for word in words:
        assert word in err.lower(), err
    assert outcome["peak_rss"] < peak, f"peak memory {outcome['peak_rss'] / 1e6:.0f} MB"
    assert not any(scratch.iterdir()), "the import left scratch files behind"
    assert not (tmp_path / "db" / "shop.duckdb").exists(), "a refused import left a store behind"
    return err


# ---------------------------------------------------------------- builders


def _gzip_stream(path: Path, chunk: bytes, total: int) -> None:
    with gzip.open(path, "wb", compresslevel=9) as out:
        for _ in range(total // len(chunk)):
            out.write(chunk)


def shared_string_rows(rows: int, columns: int = 6) -> str:
    """Every cell of ``rows`` rows under the header points at shared string 0."""
    cells = "".join(f'<c r="{chr(65 + i)}{{n}}" t="s"><v>0</v></c>' for i in range(columns))
    return _sheet_row(1, HEADER) + "".join(f'<row r="{n}">{cells.format(n=n)}</row>' for n in range(2, rows + 2))


# ---------------------------------------------------------------- gzip (finding 2)


def test_gzip_of_zeros_is_refused_within_its_budget(tmp_path):
    bomb = tmp_path / "orders.csv.gz"
    _gzip_stream(bomb, b"\0" * (1 << 20), 2_000 << 20)  # 2 GB of zeros in about 2 MB
    assert bomb.stat().st_size < 3_000_000
    assert_refused_within_budgets(tmp_path, bomb, "expands to more than", "times its size")


def test_gzip_of_one_csv_line_repeated_is_refused_within_its_budget(tmp_path):
    """A bomb that is text, so only the expansion budget can stop it, not the binary check."""
    bomb = tmp_path / "orders.csv.gz"
    line = (",".join(HEADER) + "\n").encode() + b"".join(f"{r}\n".encode() for r in _good(9))
    _gzip_stream(bomb, line * 4000, 1_500 << 20)
    assert_refused_within_budgets(tmp_path, bomb, "expands to more than")


def test_gzip_past_the_absolute_budget_names_it(tmp_path, monkeypatch):
    from segmentation.importing.ingest import IngestError, import_file

    monkeypatch.setattr(readers, "MAX_DECOMPRESSED_BYTES", 5_000_000)
    bomb = tmp_path / "orders.csv.gz"
    _gzip_stream(bomb, b"\0" * (1 << 20), 50 << 20)
    with pytest.raises(IngestError, match=r"expands to more than 0\.005 GB"):
        import_file(tmp_path / "shop.duckdb", bomb)
    assert not (tmp_path / "shop.duckdb").exists()


def test_a_real_gzip_export_still_imports(tmp_path):
    """The budgets leave room for what real exports compress to."""
    from segmentation.importing.ingest import import_file

    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([",".join(HEADER), *_good(28)]) + "\n").encode()))
    assert import_file(tmp_path / "shop.duckdb", path).rows_loaded == 28


# ---------------------------------------------------------------- spreadsheets (findings 3 and 16)


def test_a_cell_at_the_last_column_and_row_is_refused_not_allocated(tmp_path):
    """A 5 KB file whose cell at XFD1048576 made the old reader ask for 512 GB."""
    bomb = tmp_path / "orders.xlsx"
    far = f'<row r="1048576">{_sheet_cell("XFD1048576", "x")}</row>'
    bomb.write_bytes(xlsx(_good_rows() + far, dimension="A1:XFD1048576"))
    assert bomb.stat().st_size < 5_000
    assert_refused_within_budgets(tmp_path, bomb, "column", "stray")


def test_empty_cells_far_below_are_not_rows(tmp_path):
    """A cell at AZ1048576 with nothing in it: one order imported, no million 'blank row' rejects."""
    bomb = tmp_path / "orders.xlsx"
    far = '<row r="1048576"><c r="AZ1048576" t="inlineStr"><is><t></t></is></c></row>'
    bomb.write_bytes(xlsx(_good_rows() + far, dimension="A1:AZ1048576"))
    outcome, err, _ = run_import(tmp_path, bomb)
    assert outcome["code"] == 0, err[-800:]
    assert outcome["peak_rss"] < PEAK_RSS_BUDGET
    from segmentation.store import connect

    con = connect(tmp_path / "db" / "shop.duckdb", read_only=True)
    try:
        assert con.execute("SELECT rows_loaded, rows_rejected FROM imports").fetchall() == [(1, 0)]
    finally:
        con.close()


def test_a_value_far_below_the_orders_is_refused(tmp_path):
    bomb = tmp_path / "orders.xlsx"
    far = f'<row r="1048576">{_sheet_cell("AZ1048576", "x")}</row>'
    bomb.write_bytes(xlsx(_good_rows() + far, dimension="A1:AZ1048576"))
    assert_refused_within_budgets(tmp_path, bomb, "empty rows", "stray")


def test_one_huge_shared_string_on_every_row_is_refused(tmp_path):
    """A 1,000,000-character shared string used by every cell: 5.5 GB with the old reader."""
    bomb = tmp_path / "orders.xlsx"
    bomb.write_bytes(xlsx(shared_string_rows(1000), shared=["A" * 1_000_000], dimension="A1:F1001"))
    assert bomb.stat().st_size < 50_000
    assert_refused_within_budgets(tmp_path, bomb, f"{spreadsheet.MAX_CELL_CHARS:,} characters")


def test_a_long_shared_string_repeated_past_the_text_budget_is_refused(tmp_path):
    """Each cell within Excel's limit, the whole past the workbook's text budget: stopped as it is read."""
    bomb = tmp_path / "orders.xlsx"
    rows = spreadsheet.MAX_TEXT_BYTES // (6 * 30_000) + 100
    bomb.write_bytes(xlsx(shared_string_rows(rows), shared=["B" * 30_000], dimension=f"A1:F{rows + 1}"))
    assert_refused_within_budgets(tmp_path, bomb, "gb of text")


def test_a_sheet_that_expands_past_its_ratio_is_refused(tmp_path):
    """A sheet part of 100 MB of padding in a zip of a hundred KB: refused from its declared size."""
    bomb = tmp_path / "orders.xlsx"
    bomb.write_bytes(xlsx(_good_rows() + " " * 100_000_000))
    assert_refused_within_budgets(tmp_path, bomb, "times its size")


def test_a_doctype_in_a_sheet_is_refused(tmp_path):
    """Entities are how XML expands itself (billion laughs): no part of an orders file declares any."""
    from segmentation.importing.ingest import IngestError, import_file

    data = xlsx(_good_rows())
    path = tmp_path / "orders.xlsx"
    with zipfile.ZipFile(path, "w") as out, zipfile.ZipFile(__import__("io").BytesIO(data)) as src:
        for name in src.namelist():
            body = src.read(name)
            if name.endswith("sheet1.xml"):
                body = body.replace(b"<worksheet", b'<!DOCTYPE w [<!ENTITY a "aaaa">]><worksheet', 1)
            out.writestr(name, body)
    with pytest.raises(IngestError, match="damaged"):
        import_file(tmp_path / "shop.duckdb", path)


def test_a_hand_written_xlsx_imports_like_any_other(tmp_path):
    from segmentation.importing.ingest import import_file

    path = tmp_path / "orders.xlsx"
    path.write_bytes(xlsx(_good_rows(3), dimension="A1:F4"))
    report = import_file(tmp_path / "shop.duckdb", path)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (3, 3, 0)


# ---------------------------------------------------------------- out of memory (finding 15)

_TIGHT_CHILD = textwrap.dedent(
    """
    import resource, sys
    import cli, duckdb, pandas, pyarrow
    from segmentation.importing import ingest, spreadsheet
    ingest._load_model_libraries()  # what every import loads, before the cap
    size = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
    cap = size + int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    sys.exit(cli.main(["import", *sys.argv[2:]]))
    """
)
HEADROOM = 300 << 20  # address space left for the import itself: far less than this file needs


def _big_xlsx(path: Path, rows: int) -> None:
    body = [_sheet_row(1, HEADER)]
    for i in range(2, rows + 2):
        when = f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
        body.append(_sheet_row(i, [f"A{i}", f"C{i % 5000}", when, "Tea", f"{i % 97}.50", "Ann"]))
    path.write_bytes(xlsx("".join(body), dimension=f"A1:F{rows + 1}"))


def test_running_out_of_memory_is_one_sentence_and_exit_2(tmp_path):
    """A spreadsheet import under an address-space cap far below what it needs: exit 2, one sentence.

    (Under such a cap DuckDB may throw from one of its own threads, which aborts the process with a C++
    message no handler can turn into a sentence (1 run in 3 here): that is why the command line, like the
    app, imports in a child process, and the child's scratch folder is removed by its parent.)
    """
    path = tmp_path / "orders.xlsx"
    _big_xlsx(path, 300_000)
    db = tmp_path / "shop.duckdb"
    done = subprocess.run(
        [sys.executable, "-c", _TIGHT_CHILD, str(HEADROOM), str(path), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "TMPDIR": str(tmp_path),
            "PYTHONPATH": str(ROOT),
            # One malloc arena: each thread's own arena reserves 64 MB of address space, which under a tight
            # cap fails inside glibc (an abort no program can catch) before the import has used any memory.
            "MALLOC_ARENA_MAX": "1",
        },
    )
    assert done.returncode == 2, f"exit {done.returncode}: {done.stderr[-1500:]}"
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr[-1500:]
    assert "not enough memory" in done.stderr
    assert not db.exists()
    assert not list(tmp_path.glob("segments-*")), "the import's scratch files were left behind"


# ---------------------------------------------------------------- other spreadsheets: calamine in a capped child


def _ods(path: Path, extra_rows: str = "") -> None:
    """A minimal OpenDocument spreadsheet: the header, three orders, then ``extra_rows``."""
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    rows = [HEADER] + [line.split(",") for line in _good(3)]
    body = "".join(
        "<table:table-row>"
        + "".join(f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>' for v in row)
        + "</table:table-row>"
        for row in rows
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2"><office:body>'
        f'<office:spreadsheet><table:table table:name="Orders">{body}{extra_rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", content)
        zf.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
            'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
            'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
        )


def test_an_ods_spreadsheet_imports_through_the_capped_reader(tmp_path):
    from segmentation.importing.ingest import import_file

    path = tmp_path / "orders.ods"
    _ods(path)
    report = import_file(tmp_path / "shop.duckdb", path)
    assert (report.rows_read, report.rows_loaded) == (3, 3)


def test_an_ods_of_repeated_cells_is_refused_within_budgets(tmp_path):
    """A million rows of 400 repeated cells, in 4 KB: the capped reader stops, the import says so."""
    bomb = tmp_path / "orders.ods"
    repeated = (
        '<table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="400" '
        'office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>'
    )
    _ods(bomb, repeated)
    assert bomb.stat().st_size < 5_000
    # calamine materialises what it reads: its child is bounded by its own cap (measured: 746 MB), not the stream's.
    assert_refused_within_budgets(tmp_path, bomb, peak=spreadsheet.CALAMINE_MEMORY_BYTES)
