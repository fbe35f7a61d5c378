"""One cheap pass over a text file's bytes: how many physical lines it has, and which ones the CSV reader
cannot be trusted with, so that every line is accounted for.

The pass works on whole chunks with NumPy (no Python per line): about 1 GB/s. It finds

- lines longer than the reader's limit: DuckDB rejects a line of 1-32 MB as "line too long" but silently
  drops one longer than its 32 MB buffer, so such lines are set aside before the read, with a reason;
- empty lines, which the reader skips without a word: counted, so the report can say so;
- a bare carriage return (an old Mac line end, or one typed into a cell) anywhere in the file, not only
  in its first bytes: the file's line ends are then made consistent before the read;
- whether the file has a double quote at all: without one no cell can span lines, and the rows need no
  count of the lines inside their cells.

It also maps a data row's position among the rows the reader produced to its physical line in the file,
from the lines that start no row (header, title and empty lines, rejected lines, lines inside cells).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
else:

    class _NumPyOnFirstUse:
        """NumPy, imported when a file is first scanned rather than when the command starts: `segments --help`
        and the import's start stay free of the analysis libraries (tests/test_cli.py)."""

        def __getattr__(self, name: str) -> Any:
            import numpy

            return getattr(numpy, name)

    np = _NumPyOnFirstUse()

_CHUNK = 8 << 20
_NL, _CR = 10, 13


@dataclass
class LineScan:
    """What the pass over a file found. Line numbers are 1-based physical lines."""

    lines: int = 0  # physical lines; a last line without a line end counts
    empty: list[tuple[int, int]] = field(default_factory=list)  # runs of empty lines: (first line, how many)
    long: list[tuple[int, int, int]] = field(default_factory=list)  # (line, start byte, end byte) over the limit
    bare_cr: bool = False  # a CR not followed by LF somewhere
    quotes: bool = False  # the file holds a double quote (so a cell may span lines)

    @property
    def empty_lines(self) -> int:
        return sum(n for _, n in self.empty)


def scan_lines(path: Path, max_line_bytes: int) -> LineScan:
    """Count the lines of ``path`` and find its empty, over-long and bare-CR lines, in chunks (bounded memory)."""
    scan = LineScan()
    line_start = 0  # byte offset where the current (unfinished) line starts
    offset = 0
    prev_last = -1  # the last byte of the previous chunk
    empty_lines: list[np.ndarray] = []
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            data = np.frombuffer(chunk, dtype=np.uint8)
            if not scan.quotes and b'"' in chunk:
                scan.quotes = True
            if not scan.bare_cr and b"\r" in chunk:
                scan.bare_cr = _has_bare_cr(data)
            if prev_last == _CR and data[0] != _NL:
                scan.bare_cr = True
            ends = np.flatnonzero(data == _NL) + offset
            if len(ends):
                starts = np.concatenate(([line_start], ends[:-1] + 1))
                lengths = ends - starts
                first = scan.lines + 1  # the line number of starts[0]
                over = np.flatnonzero(lengths > max_line_bytes)
                scan.long.extend((first + int(i), int(starts[i]), int(ends[i])) for i in over)
                # An empty line is "\n", or "\r\n" in a file with Windows line ends.
                blank = lengths == 0
                if (lengths == 1).any():
                    blank |= (lengths == 1) & (_bytes_at(chunk, offset, starts, line_start, prev_last) == _CR)
                empty_lines.append(np.flatnonzero(blank) + first)
                scan.lines += len(ends)
                line_start = int(ends[-1]) + 1
            offset += len(chunk)
            prev_last = int(data[-1])
    if offset > line_start:  # a last line without a line end
        scan.lines += 1
        if offset - line_start > max_line_bytes:
            scan.long.append((scan.lines, line_start, offset))
    if prev_last == _CR:
        scan.bare_cr = True
    scan.empty = _runs(np.concatenate(empty_lines) if empty_lines else np.empty(0, dtype=np.int64))
    return scan


def _has_bare_cr(data: np.ndarray) -> bool:
    # A CR as the chunk's last byte is judged with the next chunk's first.
    cr = np.flatnonzero(data[:-1] == _CR)
    return bool((data[cr + 1] != _NL).any())


def _bytes_at(chunk: bytes, offset: int, starts: np.ndarray, line_start: int, prev_last: int) -> np.ndarray:
    """The first byte of each line (-1 where the line began in an earlier chunk and is longer than one byte)."""
    rel = starts - offset
    inside = rel >= 0
    out = np.full(len(starts), -1, dtype=np.int64)
    out[inside] = np.frombuffer(chunk, dtype=np.uint8)[rel[inside]]
    if not inside[0] and line_start == offset - 1:  # a one-byte line that began on the previous chunk's last byte
        out[0] = prev_last
    return out


def _runs(numbers: np.ndarray) -> list[tuple[int, int]]:
    if not len(numbers):
        return []
    breaks = np.flatnonzero(np.diff(numbers) != 1) + 1
    firsts = numbers[np.concatenate(([0], breaks))]
    sizes = np.diff(np.concatenate(([0], breaks, [len(numbers)])))
    return [(int(a), int(n)) for a, n in zip(firsts, sizes, strict=True)]


def blank_ranges(path: Path, ranges: list[tuple[int, int]], out: Path, line_ends: list[int] | None = None) -> Path:
    """A copy of ``path`` with each byte range [start, end) (a line without its line end) left empty.

    The reader skips an empty line, and every other line keeps its number: a range over several lines
    keeps its ``line_ends`` (one count per range). Copied in large blocks: a 10M-line file is not walked
    line by line for one bad line.
    """
    counts = line_ends or [0] * len(ranges)
    with path.open("rb") as src, out.open("wb") as dst:
        at = 0
        for (start, end), n in sorted(zip(ranges, counts, strict=True)):
            _copy(src, dst, start - at)
            dst.write(b"\n" * n)
            src.seek(end)
            at = end
        while block := src.read(1 << 20):
            dst.write(block)
    return out


def _copy(src, dst, n: int) -> None:
    while n > 0:
        block = src.read(min(n, 1 << 20))
        if not block:
            return
        dst.write(block)
        n -= len(block)


def line_span(path: Path, line: int) -> tuple[int, int]:
    """Byte range [start, end) of physical line ``line`` (1-based), without its line end; found in chunks."""
    seen = 0  # line ends passed
    offset = 0
    start = 0 if line == 1 else None
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == _NL) + offset
            if start is None and seen + len(ends) >= line - 1:
                start = int(ends[line - 2 - seen]) + 1
            if start is not None:
                after = ends[ends >= start]
                if len(after):
                    return start, int(after[0])
            seen += len(ends)
            offset += len(chunk)
    return (start if start is not None else offset), offset


def row_line_steps(
    header_lines: int, gaps: list[tuple[int, int]], multi_line_rows: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """How to turn a row's position among the rows read (1-based ``k``) into its physical line: a list of
    ``(first k, shift)``, the line being ``k + shift`` from that row on.

    ``gaps`` are runs (first line, count) of lines that start no row and stand alone: empty lines and
    rejected lines. ``multi_line_rows`` are (k, extra lines) for rows whose cells hold line ends. The walk
    visits only these events, so a file with none costs one step whatever its size.
    """
    steps = [(1, header_lines)]
    gaps = sorted(gaps)
    extra = sorted(multi_line_rows)
    k, line = 1, header_lines + 1  # the next row's position and the first line not yet placed
    g = e = 0
    while g < len(gaps) or e < len(extra):
        gap_line = gaps[g][0] if g < len(gaps) else None
        row_k = extra[e][0] if e < len(extra) else None
        # Rows between here and the next gap each take one line; a gap before the next multi-line row
        # comes first.
        if gap_line is not None and (row_k is None or gap_line - line < row_k - k + 1):
            k += max(gap_line - line, 0)
            line = max(line, gap_line) + gaps[g][1]
            g += 1
        else:
            assert row_k is not None  # the loop runs while a gap or a row is left: no gap here, so a row
            line += row_k - k + 1 + extra[e][1]
            k = row_k + 1
            e += 1
        shift = line - k
        if steps[-1][0] == k:
            steps[-1] = (k, shift)
        elif steps[-1][1] != shift:
            steps.append((k, shift))
    return steps


def continuation_lines(path: Path, enough: int | None = None) -> np.ndarray:
    """Lines (1-based) that begin inside a double-quoted cell: they continue the row above and start none.

    A quote toggles "inside a cell" (an escaped quote, written twice, toggles twice), so a line end
    after an odd number of quotes lies inside a cell. Run only when rows must be placed on their lines;
    with ``enough``, the pass stops once that many lines that start a row (or are empty) are behind it.
    """
    found: list[np.ndarray] = []
    inside = 0  # 1 while within quotes at the end of the previous chunk
    lines = 0  # line ends passed
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            if enough is not None and lines - sum(map(len, found)) > enough:
                break
            data = np.frombuffer(chunk, dtype=np.uint8)
            ends = np.flatnonzero(data == _NL)
            end_parity, inside = _parity_at(data, ends, inside)
            # The line after the i-th line end of this chunk is number lines + i + 2.
            found.append(np.flatnonzero(end_parity == 1) + lines + 2)
            lines += len(ends)
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def lines_starting_no_row(
    scan: LineScan, header_lines: int, rejected: list[int], inside: np.ndarray, set_aside: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Runs (first line, how many) of the lines below the header that start no data row: empty lines,
    lines the reader rejected, lines inside quoted cells (``inside``) and runs of lines of cells set aside."""
    empty = [np.arange(first, first + n) for first, n in [*scan.empty, *set_aside]]
    parts = [*empty, np.asarray(rejected, dtype=np.int64), inside.astype(np.int64)]
    numbers = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
    numbers = numbers[(numbers > header_lines) & (numbers <= scan.lines)]
    return _runs(numbers)


def reader_lines_to_physical(lines: list[int], inside: np.ndarray) -> list[int]:
    """DuckDB numbers a rejected line without counting the lines inside quoted cells above it: the
    physical line is that number plus the lines inside cells that come before it."""
    if not len(inside) or not lines:
        return list(lines)
    # The i-th line inside a cell (0-based) has (c_i - 1 - i) other lines above it.
    others = np.sort(inside) - np.arange(len(inside))
    return [int(n) + int(np.searchsorted(others, n, side="right")) for n in lines]


@dataclass
class QuotedRows:
    """Rows whose quoted cells run over several lines and past the line budget."""

    closed: list[tuple[int, int, int, int]] = field(default_factory=list)  # (line, start, end, line ends inside)
    unclosed: tuple[int, int] | None = None  # (line, start) of a quote still open at the end of the file


def long_quoted_rows(path: Path, max_row_bytes: int, start_at: int = 0, first_line: int = 1) -> QuotedRows:
    """Rows from byte ``start_at`` (line ``first_line``) whose cells hold line ends and that are longer
    than ``max_row_bytes``, by quote parity in chunks: bounded memory whatever the cell's size.

    A quote that never closes makes the rest of the file one row: that is reported apart, from where it
    opened, when the rest is over the budget (a short one is left to the reader's own repair).
    """
    found = QuotedRows()
    inside = 0
    row_start, row_line = start_at, first_line
    lines, offset = first_line - 1, start_at  # line ends passed, bytes passed
    with path.open("rb") as fh:
        fh.seek(start_at)
        while chunk := fh.read(_CHUNK):
            data = np.frombuffer(chunk, dtype=np.uint8)
            ends = np.flatnonzero(data == _NL)
            end_parity, next_inside = _parity_at(data, ends, inside)
            at_row_end = np.flatnonzero(end_parity == 0)  # which line ends close a row
            if len(at_row_end):
                row_ends = ends[at_row_end] + offset
                starts = np.concatenate(([row_start], row_ends[:-1] + 1))
                end_lines = lines + at_row_end + 1
                start_lines = np.concatenate(([row_line], end_lines[:-1] + 1))
                over = np.flatnonzero((row_ends - starts > max_row_bytes) & (end_lines > start_lines))
                found.closed.extend(
                    (int(start_lines[i]), int(starts[i]), int(row_ends[i]), int(end_lines[i] - start_lines[i]))
                    for i in over
                )
                row_start, row_line = int(row_ends[-1]) + 1, int(end_lines[-1]) + 1
            lines += len(ends)
            offset += len(chunk)
            inside = next_inside
    if inside and offset - row_start > max_row_bytes:
        found.unclosed = (row_line, row_start)
    return found


def line_end_after(path: Path, start: int) -> int:
    """Byte offset of the first line end at or after ``start`` (the file's size if there is none)."""
    with path.open("rb") as fh:
        fh.seek(start)
        offset = start
        while chunk := fh.read(1 << 20):
            at = chunk.find(b"\n")
            if at >= 0:
                return offset + at
            offset += len(chunk)
    return offset


def _parity_at(data: np.ndarray, ends: np.ndarray, inside: int) -> tuple[np.ndarray, int]:
    """For each line end in ``ends``, 1 when it lies inside quotes; and the state at the chunk's end.
    Quotes are few beside bytes: counting those before each line end beats a running sum over every byte."""
    quotes = np.flatnonzero(data == ord('"'))
    before = np.searchsorted(quotes, ends)
    return ((before + inside) & 1).astype(np.uint8), (len(quotes) + inside) & 1
