"""Import a list of customers (attributes) or an email activity export, in one transaction or not at all.

``ingest.import_file`` hands a file here when ``contact_columns.file_kind`` finds it is not an orders file,
after the file is read (``readers``, so every budget and refusal of an orders import holds) and before the
database is opened. The rows are parsed in DuckDB SQL into long tables and written to ``contact_attributes``
or ``email_events``, keyed by the file's customer id, else its email (``contact``). A person is matched to
the shop's customers when they are read (``attributes``), never here: rows that match no customer are kept
and counted, never made into customers, and match later if their orders come in.

Re-importing: a newer list replaces, for each person in it, the attributes its columns give (so a tag taken
off in the email tool goes here too); a newer activity export replaces each person's events of the
campaigns it covers. The same file twice adds nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from segmentation.importing import contact_columns, detect
from segmentation.importing.detect import ident, sql_str
from segmentation.importing.readers import IngestError, RawTable, materialise
from segmentation.importing.transaction import store_transaction
from segmentation.safety.cellsafety import formula_sql
from segmentation.store import (
    remember_summary,
)
from segmentation.vocabulary import CONSENT_NO, CONSENT_YES

MAX_DISTINCT_TEXT = 50  # a text column with more different answers than this groups nobody: left out
_YES = (*CONSENT_YES, "x")  # a survey's tick
# Klaviyo writes consent as SUBSCRIBED, UNSUBSCRIBED or NEVER_SUBSCRIBED, and no suppression as [].
_NO = (*CONSENT_NO, "never_subscribed", "cleaned", "pending", "[]")
_LIST_SPLIT = r"\s*[,;|]\s*"


@dataclass
class ContactImportReport:
    """What a customer-list or activity import did, in numbers a person can check against their file."""

    file_name: str
    kind: str  # 'profiles' or 'activity'
    import_id: int | None = None
    layout: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)  # any other column kept: attribute -> column
    left_out: list[str] = field(default_factory=list)  # columns that say who a person is: never kept
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    people: int = 0  # distinct people (customer ids or emails) in the file
    matched: int = 0  # of them, customers of the shop
    unmatched_rows: int = 0  # rows whose person is no customer of the shop: kept, not counted as customers
    attributes: dict[str, int] = field(default_factory=dict)  # attribute -> people who have it
    events: dict[str, int] = field(default_factory=dict)  # event -> how many
    already_imported: bool = False
    replaced: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def as_text(self) -> str:
        if self.already_imported:
            return f"{self.file_name} was already imported: nothing added."
        what = "customer list" if self.kind == "profiles" else "email activity"
        lines = [f"Imported {self.file_name} ({self.layout or what}):"]
        lines.append(
            f"  {self.rows_loaded:,} of {self.rows_read:,} rows loaded: {self.people:,} people, "
            f"{self.matched:,} of them customers of the shop."
        )
        if self.unmatched_rows:
            rows = "1 row" if self.unmatched_rows == 1 else f"{self.unmatched_rows:,} rows"
            lines.append(f"  {rows} matched no customer; kept, not counted as customers.")
        if self.attributes:
            lines.append("  Attributes: " + ", ".join(f"{k} ({n:,} people)" for k, n in self.attributes.items()) + ".")
        if self.events:
            lines.append("  Email events: " + ", ".join(f"{n:,} {k}" for k, n in self.events.items()) + ".")
        if self.rows_rejected:
            reasons = "; ".join(f"{n:,} {r}" for r, n in sorted(self.rejected_by_reason.items(), key=lambda kv: -kv[1]))
            lines.append(f"  {self.rows_rejected:,} rows rejected ({reasons}).")
        lines.append("  Columns: " + ", ".join(f"{f} <- '{c}'" for f, c in self.mapping.items()))
        if self.kept:
            kept = ", ".join(f"{a} <- '{c}'" for a, c in self.kept.items())
            lines.append(f"  Other columns kept as they are: {kept}")
        if self.left_out:
            lines.append("  Left out (who a person is): " + ", ".join(f"'{c}'" for c in self.left_out))
        lines.extend(f"  Note: {n}" for n in self.notes)
        return "\n".join(lines)


# ---------------------------------------------------------------- reading the file into long tables


def stage(
    con: duckdb.DuckDBPyConnection, raw: RawTable, kind: str, overrides: dict[str, str], report: ContactImportReport
) -> None:
    """Tables ``staged_attrs`` or ``staged_events`` and ``contact_bad`` on the work connection."""
    _check_overrides(overrides, raw.columns, kind)
    layout = contact_columns.contact_layout(raw.columns)
    report.layout = layout.label if layout else None
    mapping = contact_columns.map_contact_columns(raw.columns, overrides, kind)
    if "email" not in mapping:
        for c in raw.columns:
            if c not in mapping.values() and detect.share_matching(con, c, detect.EMAIL_PATTERN) >= 0.8:
                mapping["email"] = c
                report.notes.append(f"emails found by content in '{c}'")
                break
    if "email" not in mapping and "customer_id" not in mapping:
        raise IngestError(
            "No customer column found: a customer list needs a column that identifies each customer "
            "(e.g. 'Customer ID' or 'Email'); if it has one under another name, use --map customer_id=COLUMN."
        )
    materialise(con, raw)
    _people(con, raw, mapping)
    if kind == "profiles":
        _stage_profiles(con, raw, mapping, report)
    else:
        _stage_activity(con, mapping, report)
    report.mapping = {f: c for f, c in mapping.items()}
    con.execute("CREATE OR REPLACE TABLE staged_rows AS SELECT line_no, __contact AS contact FROM good")
    _count(con, raw, kind, report)


def _check_overrides(overrides: dict[str, str], columns: list[str], kind: str) -> None:
    known = contact_columns.ACTIVITY_SYNONYMS if kind == "activity" else contact_columns.CONTACT_FIELDS
    for fld, column in overrides.items():
        if fld not in known:
            raise IngestError(f"--map knows no field '{fld}' for this file: use one of {', '.join(known)}.")
        if column and column not in columns:
            shown = ", ".join(f"'{c}'" for c in columns[:30])
            raise IngestError(f"--map {fld}={column}: the file has no column '{column}'; its columns are {shown}.")


def _cell(column: str | None) -> str:
    return f"nullif(trim({ident(column)}), '')" if column else "NULL::VARCHAR"


def _people(con: duckdb.DuckDBPyConnection, raw: RawTable, m: dict[str, str]) -> None:
    """View ``people``: each row's line, its person (``contact``, ``customer_ref``, ``email``) and why it
    cannot be used, if it cannot."""
    # Shopify writes ids as '7294856151333 (an apostrophe keeps Excel from rounding them); tools write 17850.0.
    ref = _cell(m.get("customer_id"))
    ref = rf"regexp_replace(regexp_replace({ref}, '^''', ''), '^(\d+)\.0+$', '\1')"
    email = f"lower({_cell(m.get('email'))})"
    checked = [m[f] for f in ("customer_id", "email") if f in m]
    formula = " OR ".join(f"({formula_sql(ident(c))})" for c in checked) or "false"
    blank = f"trim(concat({', '.join(ident(c) for c in raw.columns)})) = ''"
    # The person's columns are named apart from any of the file's own ('Email' is one): ``__`` first.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW people AS
        SELECT *, CASE
                   WHEN {blank} THEN 'blank row'
                   WHEN coalesce({formula}, false) THEN 'formula-like cell (possible spreadsheet injection)'
                   WHEN __ref IS NULL AND __email IS NULL THEN 'no customer id or email'
                   WHEN __ref IS NULL AND NOT regexp_full_match(__email, {sql_str(detect.EMAIL_PATTERN)})
                        THEN 'unreadable email'
                   WHEN length(coalesce(__ref, '')) > 200 OR length(coalesce(__email, '')) > 320
                        THEN 'customer id or email too long'
                  END AS __reason,
               coalesce(__ref, __email) AS __contact
        FROM (SELECT *, nullif({ref}, '') AS __ref, {email} AS __email FROM raw)
        """
    )
    con.execute("CREATE OR REPLACE TEMP VIEW good AS SELECT * FROM people WHERE __reason IS NULL")


def _stage_profiles(
    con: duckdb.DuckDBPyConnection, raw: RawTable, m: dict[str, str], report: ContactImportReport
) -> None:
    selects = _AttributeSelects()
    _select_who(con, m, report, selects)
    _select_email_fields(con, m, report, selects)
    _select_other_columns(con, raw, m, report, selects)
    parts, names = selects.parts, selects.names
    nothing = "SELECT NULL::BIGINT AS line_no, NULL AS name, NULL AS value, NULL::DOUBLE AS number WHERE false"
    union = " UNION ALL ".join(parts) or nothing
    # A person listed twice in a file: their last row is what the list says of them.
    con.execute(
        f"""
        CREATE OR REPLACE TABLE staged_attrs AS
        WITH latest AS (SELECT __contact, max(line_no) AS line_no FROM good GROUP BY __contact)
        SELECT g.__contact AS contact, any_value(g.__ref) AS customer_ref, any_value(g.__email) AS email, a.name,
               a.value, any_value(a.number) AS number
        FROM ({union}) a JOIN latest l USING (line_no) JOIN good g USING (line_no)
        WHERE a.value IS NOT NULL
        GROUP BY g.__contact, a.name, a.value
        """
    )
    # Each attribute the file gives, for everyone in it: replaced on re-import even where now empty.
    con.execute("CREATE OR REPLACE TABLE staged_names AS SELECT DISTINCT unnest(?::VARCHAR[]) AS name", [names])
    con.execute(
        "CREATE OR REPLACE TABLE staged_people AS SELECT DISTINCT __contact AS contact, __ref AS customer_ref, "
        "__email AS email FROM good"
    )


class _AttributeSelects:
    """One SELECT (line_no, name, value, number) over ``good`` per attribute the file gives, and its name."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.names: list[str] = []

    def add(self, name: str, value: str, number: str = "NULL::DOUBLE") -> None:
        self.names.append(name)
        self.parts.append(f"SELECT line_no, '{name}' AS name, {value} AS value, {number} AS number FROM good")


def _select_who(
    con: duckdb.DuckDBPyConnection, m: dict[str, str], report: ContactImportReport, selects: _AttributeSelects
) -> None:
    """Who the person is: birthday, age, gender, income, where they live, their tags and interests."""
    add = selects.add
    if "birth_date" in m:
        fmt = _date_format(con, m["birth_date"], report, "birthdays")
        if fmt:
            born = _date_sql(m["birth_date"], fmt)
            add(
                "birth_date",
                f"CASE WHEN year({born}) BETWEEN 1900 AND year(current_date) THEN strftime({born}, '%Y-%m-%d') END",
            )
    if "age" in m:
        age = _cell(m["age"])
        number = f"TRY_CAST({age} AS DOUBLE)"
        add(
            "age",
            f"CASE WHEN {number} BETWEEN 0 AND 120 THEN {number}::VARCHAR END",
            f"CASE WHEN {number} BETWEEN 0 AND 120 THEN {number} END",
        )
        add("age_band", f"CASE WHEN {number} IS NULL THEN {_age_band_text(age)} END")
    if "gender" in m:
        add("gender", _gender(_cell(m["gender"])))
    if "income" in m:
        add("income_band", _income(_cell(m["income"])))
    for fld in ("city", "region", "country"):
        if fld in m:
            add(fld, f"left({_cell(m[fld])}, 100)")
    for fld, name in (("tags", "tag"), ("interests", "interest")):
        if fld in m:
            # One row per item: "vegan, gluten-free" is two interests; Mailchimp quotes each tag, Klaviyo writes
            # a list property as JSON (["vip","wholesale"]).
            items = f"unnest(string_split_regex({_cell(m[fld])}, '{_LIST_SPLIT}'))"
            selects.names.append(name)
            selects.parts.append(
                f"SELECT line_no, '{name}' AS name, v AS value, NULL::DOUBLE AS number FROM "
                f"(SELECT line_no, left(lower(trim(trim({items}), '\"''[]')), 100) AS v FROM good) WHERE v <> ''"
            )


def _select_email_fields(
    con: duckdb.DuckDBPyConnection, m: dict[str, str], report: ContactImportReport, selects: _AttributeSelects
) -> None:
    """How the person stands with the shop's emails: consent, unsubscribed, cleaned, rating, since when."""
    add = selects.add
    if "email_consent" in m:
        add("email_consent", _yes_no(_cell(m["email_consent"])))
    for fld in ("unsubscribed", "cleaned"):
        if fld in m:  # a date or a yes says it happened
            cell = _cell(m[fld])
            add(fld, f"CASE WHEN lower({cell}) IN ({_words(_NO)}) THEN 'no' WHEN {cell} IS NOT NULL THEN 'yes' END")
    if "member_rating" in m:
        rating = f"TRY_CAST({_cell(m['member_rating'])} AS DOUBLE)"
        add("member_rating", f"{rating}::VARCHAR", rating)
    if "subscribed_on" in m:
        fmt = _date_format(con, m["subscribed_on"], report, "subscription dates")
        if fmt:
            add("subscribed_on", f"strftime({_date_sql(m['subscribed_on'], fmt)}, '%Y-%m-%d')")


def _select_other_columns(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    m: dict[str, str],
    report: ContactImportReport,
    selects: _AttributeSelects,
) -> None:
    """The file's other columns that group people (numbers, or few different answers); never personal ones."""
    for column in raw.columns:
        if column in m.values():
            continue
        if contact_columns.is_personal(column):
            report.left_out.append(column)
            continue
        kept = _other_column(con, column, report)
        if kept:
            report.kept[contact_columns.attribute_name(column)] = column
        if kept == "number":
            number = f"TRY_CAST(replace({_cell(column)}, ',', '') AS DOUBLE)"
            selects.add(contact_columns.attribute_name(column), f"{number}::VARCHAR", number)
        elif kept == "text":
            selects.add(contact_columns.attribute_name(column), f"left({_cell(column)}, 100)")


def _other_column(con: duckdb.DuckDBPyConnection, column: str, report: ContactImportReport) -> str | None:
    """'number', 'text' (few different answers), or None (empty, free text that groups nobody, dates, or
    email addresses)."""
    filled, numbers, distinct, emails = con.execute(
        f"SELECT count(v), count(TRY_CAST(replace(v, ',', '') AS DOUBLE)), count(DISTINCT lower(v)), "
        f"count(*) FILTER (v LIKE '%@%') FROM (SELECT {_cell(column)} AS v FROM sample)"
    ).fetchall()[0]
    if not filled:
        return None
    if emails:  # a salesperson's address (HubSpot's 'Contact owner'), a second email: never an attribute
        report.notes.append(f"'{column}' holds email addresses: left out")
        return None
    if numbers >= 0.9 * filled:
        return "number"
    # Dates an email tool or CRM stamps on a profile (Klaviyo's 'Last Active', HubSpot's 'Create Date',
    # WooCommerce's 'Date registered') group nobody as text; birthdays and subscription dates are read above.
    dates = detect.best_date_format(con, column)
    if dates is not None and dates.parsed >= 0.9 * dates.total:
        report.notes.append(f"'{column}' holds dates: left out")
        return None
    if distinct <= MAX_DISTINCT_TEXT:
        return "text"
    report.notes.append(f"'{column}' has too many different answers to group customers by: left out")
    return None


def _stage_activity(con: duckdb.DuckDBPyConnection, m: dict[str, str], report: ContactImportReport) -> None:
    campaign = f"left({_cell(m.get('campaign'))}, 200)"
    parts: list[str] = []
    if "action" in m:  # one row per event
        action = f"lower({_cell(m['action'])})"
        whens = " ".join(f"WHEN {action} = {sql_str(w)} THEN '{e}'" for w, e in contact_columns.ACTIONS.items())
        event = f"CASE {whens} END"
        at = _when(con, m.get("at"), report)
        parts.append(
            f"SELECT line_no, {campaign} AS campaign, {event} AS event, {at} AS occurred_at, 1 AS times, "
            f"{action} IS NOT NULL AND {event} IS NULL AS unknown FROM good"
        )
    else:  # one row per recipient: sent, then what they did
        sent_at = _when(con, m.get("sent_at"), report)
        parts.append(f"SELECT line_no, {campaign}, 'sent', {sent_at}, 1, false FROM good")
        for counted, last, event in (("opens", "last_open", "open"), ("clicks", "last_click", "click")):
            if counted in m:
                cell = _cell(m[counted])
                times = (
                    f"CASE WHEN lower({cell}) IN ({_words(_YES)}) THEN 1 "
                    f"ELSE TRY_CAST(TRY_CAST({cell} AS DOUBLE) AS INTEGER) END"
                )
                when = _when(con, m.get(last), report)
                parts.append(
                    f"SELECT line_no, {campaign}, '{event}', coalesce({when}, {sent_at}), {times}, false "
                    f"FROM good WHERE {times} > 0"
                )
        for flag, event in (("bounced", "bounce"), ("unsubscribed", "unsubscribe")):
            if flag in m:
                cell = _cell(m[flag])
                parts.append(
                    f"SELECT line_no, {campaign}, '{event}', {sent_at}, 1, false FROM good "
                    f"WHERE {cell} IS NOT NULL AND lower({cell}) NOT IN ({_words(_NO)})"
                )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE staged_event_rows AS
        SELECT e.*, g.__contact AS contact, g.__ref AS customer_ref, g.__email AS email
        FROM ({" UNION ALL ".join(parts)}) e(line_no, campaign, event, occurred_at, times, unknown)
        JOIN good g USING (line_no)
        """
    )
    con.execute(
        "CREATE OR REPLACE TABLE staged_events AS SELECT contact, customer_ref, email, campaign, event, occurred_at, "
        "times FROM staged_event_rows WHERE event IS NOT NULL"
    )
    con.execute(
        "CREATE OR REPLACE TABLE staged_people AS SELECT DISTINCT __contact AS contact, __ref AS customer_ref, "
        "__email AS email FROM good"
    )


def _when(con: duckdb.DuckDBPyConnection, column: str | None, report: ContactImportReport) -> str:
    if not column:
        return "NULL::TIMESTAMP"
    fmt = _date_format(con, column, report, "dates")
    return _date_sql(column, fmt) if fmt else "NULL::TIMESTAMP"


def _date_format(con: duckdb.DuckDBPyConnection, column: str, report: ContactImportReport, what: str) -> str | None:
    guess = detect.best_date_format(con, column)
    if guess is None or guess.parsed < 0.5 * guess.total:
        report.notes.append(f"the {what} in '{column}' could not be read as dates (without a year?): left out")
        return None
    return guess.fmt


def _date_sql(column: str, fmt: str) -> str:
    formats = "[" + ", ".join(sql_str(f) for f in detect.date_family(fmt)) + "]"
    return f"try_strptime({detect.clean_date_sql(ident(column))}, {formats})"


def _words(words: tuple[str, ...]) -> str:
    return ", ".join(sql_str(w) for w in words)


def _yes_no(cell: str) -> str:
    return f"CASE WHEN lower({cell}) IN ({_words(_YES)}) THEN 'yes' WHEN lower({cell}) IN ({_words(_NO)}) THEN 'no' END"


def _gender(cell: str) -> str:
    x = f"lower({cell})"
    return (
        f"CASE WHEN {x} IN ('f', 'female', 'woman', 'w', 'women') THEN 'female' "
        f"WHEN {x} IN ('m', 'male', 'man', 'men') THEN 'male' "
        f"WHEN {x} IN ('prefer not to say', 'rather not say', 'n/a', 'unknown', '-') THEN NULL "
        f"WHEN {x} IS NOT NULL THEN left({x}, 40) END"
    )


def _age_band_text(cell: str) -> str:
    """A band as the file writes it ('25-34', '18 to 24', '65+', 'under 18'), spaced one way."""
    x = f"lower({cell})"
    return (
        rf"CASE WHEN regexp_full_match({x}, '\d{{1,3}}\s*(-|–|to)\s*\d{{1,3}}') "
        rf"THEN regexp_replace({x}, '\s*(-|–|to)\s*', '-') "
        rf"WHEN regexp_full_match({x}, '\d{{1,3}}\s*\+|(under|over)\s*\d{{1,3}}') THEN replace({x}, ' ', '') END"
    )


def _income(cell: str) -> str:
    """An amount to a band; a band as written stays as written."""
    number = f"TRY_CAST(regexp_replace({cell}, '[£$€,\\s]', '', 'g') AS DOUBLE)"
    return (
        f"CASE WHEN {number} IS NULL THEN left(lower({cell}), 40) "
        f"WHEN {number} < 25000 THEN 'under 25k' WHEN {number} < 50000 THEN '25k-50k' "
        f"WHEN {number} < 100000 THEN '50k-100k' ELSE '100k+' END"
    )


def _count(con: duckdb.DuckDBPyConnection, raw: RawTable, kind: str, report: ContactImportReport) -> None:
    # The rows set aside, with their cells, for the ``rejects`` table as an orders import keeps them. Their line
    # is the row's position below the column names: the file's line where no title line or cell spans lines.
    cells = "to_json(struct_pack(" + ", ".join(f"{ident(c)} := {ident(c)}" for c in raw.columns) + "))::VARCHAR"
    unknown = (
        " UNION ALL SELECT line_no + 1, 'not an email event', " + cells + " FROM people WHERE line_no IN "
        "(SELECT line_no FROM staged_event_rows WHERE unknown)"
        if kind == "activity"
        else ""
    )
    con.execute(
        f"CREATE OR REPLACE TABLE contact_bad AS SELECT line_no + 1 AS line_no, __reason AS reason, {cells} AS raw "
        f"FROM people WHERE __reason IS NOT NULL{unknown}"
    )
    if raw.broken_lines:
        lines, why, texts = zip(*raw.broken_lines, strict=True)
        con.execute(
            "INSERT INTO contact_bad SELECT unnest($1::BIGINT[]), unnest($2::VARCHAR[]), unnest($3::VARCHAR[])",
            [list(lines), list(why), [json.dumps({"line": text}) for text in texts]],
        )
    reasons = dict(con.execute("SELECT reason, count(*) FROM contact_bad GROUP BY 1").fetchall())
    report.rows_read = con.execute("SELECT count(*) FROM raw").fetchall()[0][0] + len(raw.broken_lines)
    report.rejected_by_reason = reasons
    report.rows_rejected = sum(reasons.values())
    report.rows_loaded = report.rows_read - report.rows_rejected
    report.people = con.execute("SELECT count(DISTINCT contact) FROM staged_people").fetchall()[0][0]
    if report.rows_read and not report.rows_loaded:
        top = max(reasons, key=reasons.__getitem__)
        raise IngestError(
            f"None of the {report.rows_read:,} rows could be used (most: {top}): check the customer id and "
            "email columns in the report with --map, or the file itself."
        )


# ---------------------------------------------------------------- writing, in one transaction


def write(con: duckdb.DuckDBPyConnection, db_path: Path, sha: str, report: ContactImportReport, replace: bool) -> None:
    """Attach the store and write the staged rows, or nothing (the same file again adds nothing)."""
    from segmentation.attributes import contact_links_sql

    with store_transaction(con, db_path):
        since = "coalesce((SELECT max(import_id) FROM imports WHERE replaced), 0)"
        if con.execute(
            f"SELECT count(*) FROM imports WHERE file_sha256 = ? AND import_id >= {since}", [sha]
        ).fetchall()[0][0]:
            report.already_imported = True
            con.execute("ROLLBACK")
        else:
            import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][0]
            report.import_id, report.replaced = import_id, replace
            if report.kind == "profiles":
                _write_profiles(con, import_id, replace, report)
            else:
                _write_activity(con, import_id, replace, report)
            con.execute("INSERT INTO rejects SELECT ?, line_no, reason, raw FROM memory.contact_bad", [import_id])
            links = contact_links_sql("memory.staged_people")
            report.matched = con.execute(f"SELECT count(DISTINCT customer_id) FROM ({links})").fetchall()[0][0]
            unmatched = con.execute(
                f"SELECT count(*) FROM memory.staged_rows g ANTI JOIN ({links}) l USING (contact)"
            ).fetchall()[0][0]
            report.unmatched_rows = unmatched
            # Recorded beside the orders files: the import history shows it, and caches keyed on the imports
            # (data_version) see the data changed. 'replaced' is the orders' word: never set by a list.
            con.execute(
                "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    import_id,
                    report.file_name,
                    sha,
                    dt.datetime.now().replace(microsecond=0),
                    report.layout or ("customer list" if report.kind == "profiles" else "email activity"),
                    json.dumps(report.mapping),
                    report.rows_read,
                    report.rows_loaded,
                    0,
                    report.rows_rejected,
                    unmatched,
                    False,
                ],
            )
            remember_summary(con, import_id)
            _warm_model_cache(con)  # the data version moved on: refit now, not at the next question
            con.execute("COMMIT")


def _warm_model_cache(con: duckdb.DuckDBPyConnection) -> None:
    from segmentation.value.clv import fit_models
    from segmentation.vocabulary import AnalysisError

    with contextlib.suppress(AnalysisError):
        fit_models(con)


def _write_profiles(con: duckdb.DuckDBPyConnection, import_id: int, replace: bool, report: ContactImportReport) -> None:
    if replace:
        con.execute("DELETE FROM contact_attributes")
    con.execute(
        "DELETE FROM contact_attributes WHERE contact IN (SELECT contact FROM memory.staged_people) "
        "AND name IN (SELECT name FROM memory.staged_names)"
    )
    con.execute(
        "INSERT INTO contact_attributes SELECT contact, customer_ref, email, name, value, number, ? "
        "FROM memory.staged_attrs",
        [import_id],
    )
    report.attributes = dict(
        con.execute(
            "SELECT name, count(DISTINCT contact) FROM memory.staged_attrs GROUP BY name ORDER BY 2 DESC, 1"
        ).fetchall()
    )


def _write_activity(con: duckdb.DuckDBPyConnection, import_id: int, replace: bool, report: ContactImportReport) -> None:
    if replace:
        con.execute("DELETE FROM email_events")
    con.execute(
        "DELETE FROM email_events WHERE (contact, coalesce(campaign, '')) IN "
        "(SELECT DISTINCT contact, coalesce(campaign, '') FROM memory.staged_events)"
    )
    con.execute(
        "INSERT INTO email_events SELECT contact, customer_ref, email, campaign, event, occurred_at, times, ? "
        "FROM memory.staged_events",
        [import_id],
    )
    counts = dict(con.execute("SELECT event, sum(times) FROM memory.staged_events GROUP BY 1").fetchall())
    report.events = {e: int(counts[e]) for e in contact_columns.EVENTS if e in counts}
