"""Read a column's content to decide what it holds and how to parse it.

Each check runs as SQL over a bounded sample of the file's rows (table ``sample``, made by ``readers``),
so a 10-million-line file costs the same to inspect as a small one. Parsing itself happens later, over
every row, with the format chosen here; rows that do not fit it are rejected and counted, never guessed at one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

DATE_PROBE_VALUES = 2_000  # distinct dates every format is tried on (see best_date_format)

# Tried in this order; on a tie the earlier wins, so unambiguous ISO beats day-first, and day-first
# beats month-first (what most of the world writes) when every day in the file is 12 or less.
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y%m%d",
    "%Y.%m.%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%y %H:%M",
    "%d/%m/%y",
    "%d.%m.%y",
    "%d/%m/%Y %I:%M %p",
    "%d/%m/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%m-%d-%Y %H:%M:%S",
    "%m-%d-%Y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d %b %Y",
    "%d %B %Y",
    "%d %b %Y %H:%M",
    "%d %b %Y %H:%M:%S",
    "%b %d %Y",
    "%B %d %Y",
    "%b %d %Y %H:%M",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%a %d %b %Y",
    "%A %d %B %Y",
)

TIME_SUFFIXES = (" %H:%M:%S", " %H:%M", " %I:%M:%S %p", " %I:%M %p", "")

NUMBER_PATTERN = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def clean_date_sql(expr: str) -> str:
    """Text -> text a single strptime format can read: 'T' to space, no fractional seconds, no zone.

    The zone is dropped on purpose: a shop's day is its local day, which is what the export prints.
    """
    x = f"trim({expr})"
    x = rf"regexp_replace({x}, '^(\d{{4}}-\d{{2}}-\d{{2}})T', '\1 ')"
    x = rf"regexp_replace({x}, '(\d{{1,2}}:\d{{2}}(:\d{{2}})?)(\.\d+)?\s*(Z|UTC|GMT|[+-]\d{{2}}:?\d{{2}})?$', '\1')"
    x = rf"regexp_replace(replace({x}, ',', ' '), '\s+', ' ', 'g')"
    return f"nullif({x}, '')"


def date_family(fmt: str) -> list[str]:
    """The chosen format's date part with every time suffix: a column may mix '2024-03-02' and
    '2024-03-01 10:30:00' (spreadsheets drop midnight times), and both are the same way of writing dates."""
    date_part = fmt
    for marker in (" %H", " %I"):
        if marker in date_part:
            date_part = date_part[: date_part.index(marker)]
    return [date_part + suffix for suffix in TIME_SUFFIXES]


def clean_money_sql(expr: str, *, decimal_comma: bool) -> str:
    """Text -> plain number text: currency signs and codes out, (12.50) -> -12.50, separators resolved."""
    x = rf"regexp_replace(trim({expr}), '(?i)(usd|gbp|eur|aud|cad|chf|sek|nok|dkk|nzd|jpy|[$£€¥₹\s''])', '', 'g')"
    x = rf"regexp_replace({x}, '^\((.*)\)$', '-\1')"
    # Thousands separators only come in threes: '1,234.50' is a number, '12,34,56' is not.
    if decimal_comma:
        grouped = rf"regexp_full_match({x}, '[+-]?\d{{1,3}}(\.\d{{3}})+(,\d*)?')"
        x = f"CASE WHEN {grouped} THEN replace(replace({x}, '.', ''), ',', '.') ELSE replace({x}, ',', '.') END"
    else:
        grouped = rf"regexp_full_match({x}, '[+-]?\d{{1,3}}(,\d{{3}})+(\.\d*)?')"
        x = f"CASE WHEN {grouped} THEN replace({x}, ',', '') ELSE {x} END"
    return f"nullif({x}, '')"


def parse_number_sql(clean_expr: str) -> str:
    """NULL unless the whole text is a finite number ('nan', 'inf' and '1.2.3' are not)."""
    return f"CASE WHEN regexp_full_match({clean_expr}, '{NUMBER_PATTERN}') THEN ({clean_expr})::DOUBLE END"


@dataclass(frozen=True)
class DateGuess:
    fmt: str
    parsed: int
    total: int
    ambiguous: bool  # day-first and month-first both read every value


def best_date_format(con: duckdb.DuckDBPyConnection, column: str) -> DateGuess | None:
    """The format that reads the most distinct sample values of ``column``; None if the column is empty.

    Every format is tried on an even spread of at most ``DATE_PROBE_VALUES`` of the values; the leaders,
    and the formats that mirror them (day for month), are then counted on all of them. Trying all 42
    formats on 40,000 distinct timestamps cost half a second of every large import.
    """
    cleaned = clean_date_sql(ident(column))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE date_values AS "
        f"SELECT v FROM (SELECT DISTINCT {cleaned} AS v FROM sample) WHERE v IS NOT NULL"
    )
    total = con.execute("SELECT count(*) FROM date_values").fetchall()[0][0]
    if not total:
        return None
    step = -(-total // DATE_PROBE_VALUES)
    probe = _format_hits(con, range(len(DATE_FORMATS)), f"hash(v) % {step} = 0" if step > 1 else "true")
    if step == 1:
        hits = probe
    else:
        leaders = sorted(probe, key=lambda i: (-probe[i], i))[:3]
        hits = _format_hits(con, sorted({*leaders, *(m for m in map(_mirror_index, leaders) if m is not None)}))
    best = max(hits, key=lambda i: (hits[i], -i))
    mirror = _mirror_index(best)
    ambiguous = mirror is not None and hits.get(mirror) == hits[best]
    return DateGuess(DATE_FORMATS[best], hits[best], total, ambiguous)


def _format_hits(con: duckdb.DuckDBPyConnection, formats: Iterable[int], where: str = "true") -> dict[int, int]:
    """Format index -> how many of table ``date_values`` (those passing ``where``) it reads."""
    formats = list(formats)
    counts = ", ".join(f"count(try_strptime(v, {sql_str(DATE_FORMATS[i])}))" for i in formats)
    row = con.execute(f"SELECT {counts} FROM date_values WHERE {where}").fetchall()[0]
    return dict(zip(formats, row, strict=True))


def _mirror_index(i: int) -> int | None:
    """The format with day and month swapped ('%d/%m/%Y' <-> '%m/%d/%Y'), if there is one."""
    fmt = DATE_FORMATS[i]
    mirrored = fmt.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m")
    return DATE_FORMATS.index(mirrored) if mirrored != fmt and mirrored in DATE_FORMATS else None


def decimal_comma(con: duckdb.DuckDBPyConnection, column: str, *, delimiter: str | None) -> bool:
    """True when the column writes 12,50 for twelve and a half.

    '1.234,50' and '12,5' are comma-decimal; '1,234.50' and '12.5' are dot-decimal; '1,234' alone is
    ambiguous and decided by the delimiter (semicolon files come from comma-decimal locales).
    """
    x = f"regexp_replace(trim({ident(column)}), '[^0-9.,-]', '', 'g')"
    comma, dot, ambiguous = con.execute(
        f"""
        SELECT count(*) FILTER (regexp_full_match(v, '-?\\d{{1,3}}(\\.\\d{{3}})+,\\d+|-?\\d+,(\\d{{1,2}}|\\d{{4,}})')),
               count(*) FILTER (regexp_full_match(v, '-?\\d{{1,3}}(,\\d{{3}})+\\.\\d+|-?\\d+\\.\\d+')),
               count(*) FILTER (regexp_full_match(v, '-?\\d{{1,3}},\\d{{3}}'))
        FROM (SELECT {x} AS v FROM sample)
        """
    ).fetchall()[0]
    if comma or dot:
        return comma > dot
    return bool(ambiguous) and delimiter == ";"


def float_like_ids(con: duckdb.DuckDBPyConnection, column: str) -> bool:
    """True when every id is written like '17850.0': a float artefact of the tool that wrote the file."""
    total, floaty = con.execute(
        f"SELECT count(v), count(*) FILTER (regexp_full_match(v, '\\d+\\.0+')) "
        f"FROM (SELECT trim({ident(column)}) AS v FROM sample)"
    ).fetchall()[0]
    return total > 0 and floaty == total


def share_matching(con: duckdb.DuckDBPyConnection, column: str, pattern: str) -> float:
    total, hits = con.execute(
        f"SELECT count(v), count(*) FILTER (regexp_full_match(v, {sql_str(pattern)})) "
        f"FROM (SELECT nullif(trim({ident(column)}), '') AS v FROM sample)"
    ).fetchall()[0]
    return hits / total if total else 0.0


def numeric_share(con: duckdb.DuckDBPyConnection, column: str, *, comma: bool) -> float:
    cleaned = clean_money_sql(ident(column), decimal_comma=comma)
    total, hits = con.execute(
        f"SELECT count(v), count(*) FILTER (regexp_full_match(v, '{NUMBER_PATTERN}')) "
        f"FROM (SELECT {cleaned} AS v FROM sample)"
    ).fetchall()[0]
    return hits / total if total else 0.0
