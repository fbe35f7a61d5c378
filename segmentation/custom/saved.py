"""Segments the owner defines by a condition, saves by name, and keeps: who is in them, and who moved.

A saved segment is a name and a condition (``segmentation.custom.conditions``), kept in the store. Its members are
never stored as the truth: they are the condition evaluated at a date, so a saved segment is a group key like
any built-in one (``profile.find_group`` asks here for a key it does not know). What is stored is its history:
after every import each saved segment is evaluated again at the new data's last day, and the customers who
joined or left since the previous record are written down with that import (``refresh_saved_segments``), so
"12 joined and 3 left since the import of 1 December" and "who left my VIPs this month?" are lookups.

Tables (``store._SCHEMA``): ``saved_segments`` (name, condition), ``saved_segment_members`` (the membership at
the last record), ``saved_segment_history`` (one row per record: size, joined, left, the import and date) and
``saved_segment_moves`` (one row per customer who joined or left, per record).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb
import pandas as pd

from segmentation.custom.conditions import (
    FIELDS,
    ConditionError,
    attributes_named,
    compile_condition,
    fields_used,
    parse,
    to_text,
)
from segmentation.rfm import RFM_COLUMNS
from segmentation.vocabulary import GROUP_TITLES, SEGMENT_KEYS, STAGES, AnalysisError

NAME_LIMIT = 60
# The customer table's columns a condition reads (segmentation.customers.CUSTOMER_COLUMNS holds them all).
FACT_COLUMNS = [*RFM_COLUMNS, "lifecycle", "p_alive", "expected_purchases", "clv"]


class SegmentError(AnalysisError):
    """A saved segment that cannot be saved, found or shown; one plain sentence."""


@dataclass(frozen=True)
class SavedSegment:
    name: str
    condition: str
    created_at: dt.datetime | None = None


# --- evaluating a condition ------------------------------------------------------------------------------------


def matching_ids(
    con: duckdb.DuckDBPyConnection,
    condition: str,
    *,
    as_of: dt.date | str | None = None,
    table: pd.DataFrame | None = None,
) -> list[str]:
    """The customers (with a purchase on or before ``as_of``) the condition holds for, in id order.

    ``table``: the customer table at ``as_of`` (``customers.customer_table``) where the caller has it. The
    condition's values reach DuckDB only as bound parameters; its fields only as ``FIELDS``' own SQL.
    """
    from segmentation.customers import customer_table
    from segmentation.store import resolve_as_of

    tree = parse(condition)
    compiled = compile_condition(tree)
    day = resolve_as_of(con, as_of)
    if table is None or not set(FACT_COLUMNS) <= set(table.columns):
        table = customer_table(con, as_of=day)
    facts = table[FACT_COLUMNS].copy(deep=False)
    if compiled.needs_cluster:
        from segmentation.clustering import cluster_customers  # scikit-learn only when a condition asks

        clusters = cluster_customers(con, as_of=day).assignments[["customer_id", "cluster"]]
        facts = facts.merge(clusters, on="customer_id", how="left")
    frames, joins = {"segment_facts": facts}, ""
    if "lists" in compiled.needs:  # who they are: read from the customer lists only when asked
        from segmentation.custom.people_facts import list_facts

        frames["segment_people"], frames["segment_attrs"] = list_facts(con, day)
        _check_attributes(attributes_named(tree), frames["segment_attrs"])
        joins += " LEFT JOIN segment_people p USING (customer_id)"
    if "email" in compiled.needs:
        from segmentation.custom.people_facts import email_facts

        frames["segment_email"] = email_facts(con, day)
        joins += " LEFT JOIN segment_email e USING (customer_id)"
    extra = "".join(
        f", {a}.* EXCLUDE (customer_id)" for a, t in (("p", "segment_people"), ("e", "segment_email")) if t in frames
    )
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        rows = con.execute(
            f"""
            WITH bought AS (
                SELECT customer_id, min(order_date) FILTER (is_purchase) AS first_order,
                       max(order_date) FILTER (is_purchase) AS last_order,
                       round(sum(net_amount) FILTER (is_purchase) / nullif(count(*) FILTER (is_purchase), 0), 2)
                           AS aov
                FROM orders WHERE customer_id IS NOT NULL AND order_date <= $as_of GROUP BY customer_id
            ),
            f AS (
                SELECT t.*, b.first_order, b.last_order, b.aov, c.city, c.country, c.marketing_consent{extra}
                FROM segment_facts t LEFT JOIN bought b USING (customer_id) LEFT JOIN customers c USING (customer_id)
                     {joins}
            )
            SELECT customer_id FROM f WHERE {compiled.sql} ORDER BY customer_id
            """,
            {"as_of": day, **compiled.params},
        ).fetchall()
    finally:
        for name in frames:
            con.unregister(name)
    return [str(r[0]) for r in rows]


def _check_attributes(names: list[str], attrs: pd.DataFrame) -> None:
    """ConditionError for ``attribute NAME`` naming a column no imported list has, with the ones present."""
    present = sorted(set(attrs["name"]) - {"birth_date"})
    for name in names:
        if name not in present:
            have = (
                f"the ones in your lists are: {', '.join(present)}"
                if present
                else "no customer list is imported yet (segments import FILE)"
            )
            raise ConditionError(f"Your customer lists have no attribute '{name.replace('_', ' ')}': {have}.")


# --- saving, finding, deleting ---------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """The name tidied (spaces); SegmentError when it is empty, too long, holds control characters, or is a
    built-in group's key or title (it would then mean two groups)."""
    tidy = re.sub(r"\s+", " ", str(name or "")).strip()
    if not tidy or not re.search(r"[^\W\d_]", tidy):
        raise SegmentError('A segment\'s name needs at least one letter, e.g. "Leeds win-back".')
    if len(tidy) > NAME_LIMIT:
        raise SegmentError(f"A segment's name is at most {NAME_LIMIT} characters: '{tidy[:NAME_LIMIT]}...' is longer.")
    if any(not ch.isprintable() for ch in tidy):
        raise SegmentError("A segment's name cannot hold control characters: use letters, digits and spaces.")
    plain = re.sub(r"[\s-]+", "_", tidy.lower())
    built_in = {*SEGMENT_KEYS, *STAGES, *(t.lower() for t in GROUP_TITLES.values())}
    if plain in built_in or tidy.lower() in built_in or re.fullmatch(r"cluster_\d+", plain):
        raise SegmentError(f"'{tidy}' is already the name of a built-in group: choose another name for yours.")
    return tidy


def saved_segments(con: duckdb.DuckDBPyConnection) -> list[SavedSegment]:
    """Every saved segment, by name; none in a store made before saved segments existed."""
    try:
        rows = con.execute("SELECT name, condition, created_at FROM saved_segments ORDER BY lower(name)").fetchall()
    except duckdb.CatalogException:
        return []
    return [SavedSegment(*row) for row in rows]


def saved_segment(con: duckdb.DuckDBPyConnection, name: str) -> SavedSegment | None:
    """The saved segment of that name (any case, spaces tidied), or None."""
    tidy = re.sub(r"\s+", " ", str(name or "")).strip().lower()
    for segment in saved_segments(con):
        if segment.name.lower() == tidy:
            return segment
    return None


def require_segment(con: duckdb.DuckDBPyConnection, name: str) -> SavedSegment:
    """The saved segment, or SegmentError naming the saved ones."""
    found = saved_segment(con, name)
    if found is None:
        names = [s.name for s in saved_segments(con)]
        have = f"the saved ones are: {', '.join(names)}" if names else "none is saved yet (`segments segment save`)"
        raise SegmentError(f"There is no saved segment called '{name}': {have}.")
    return found


def save_segment(con: duckdb.DuckDBPyConnection, name: str, condition: str, *, replace: bool = False) -> dict:
    """Save (or with ``replace``, redefine) a segment, in one transaction; its first record is its members now.

    ``con``: a writable connection. The condition is stored in its canonical words (``conditions.to_text``).
    Returns ``{'name', 'condition', 'size', 'already'}``; the same name and condition saved again changes nothing
    (``already`` True). SegmentError / ConditionError leave the store as it was.
    """
    tidy = check_name(name)
    canonical = to_text(parse(condition))
    existing = saved_segment(con, tidy)
    if existing is not None and existing.condition == canonical and not replace:
        # The same segment saved again (a replayed conversation, a model asked twice): nothing changes.
        return {
            "name": existing.name,
            "condition": canonical,
            "size": len(matching_ids(con, canonical)),
            "already": True,
        }
    if existing is not None and not replace:
        raise SegmentError(
            f"A segment called '{existing.name}' is saved already: delete it first, or choose another name."
        )
    members = matching_ids(con, canonical)
    con.execute("BEGIN TRANSACTION")
    try:
        if existing is not None:
            _forget(con, existing.name)
        con.execute("INSERT INTO saved_segments VALUES (?, ?, ?)", [tidy, canonical, _now()])
        _record(con, tidy, members, previous=None)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"name": tidy, "condition": canonical, "size": len(members), "already": False}


def delete_segment(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """Delete a saved segment and its history; returns its name. SegmentError when there is none."""
    found = require_segment(con, name)
    con.execute("BEGIN TRANSACTION")
    try:
        _forget(con, found.name)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return found.name


def _forget(con: duckdb.DuckDBPyConnection, name: str) -> None:
    for table in ("saved_segments", "saved_segment_members", "saved_segment_history", "saved_segment_moves"):
        con.execute(f"DELETE FROM {table} WHERE name = ?", [name])


# --- keeping them up to date -----------------------------------------------------------------------------------


def refresh_saved_segments(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Evaluate every saved segment at the data's last day and record who joined and left since its previous
    record, with the latest import (call after an import has committed). One dict per segment: name, size,
    joined, left; or name and error where its condition no longer holds for this data."""
    from segmentation.customers import customer_table
    from segmentation.store import resolve_as_of

    segments = saved_segments(con)
    if not segments:
        return []
    day = resolve_as_of(con, None)
    table = customer_table(con, as_of=day)
    results: list[dict[str, object]] = []
    for segment in segments:
        try:
            members = matching_ids(con, segment.condition, as_of=day, table=table)
        except AnalysisError as exc:
            results.append({"name": segment.name, "error": str(exc)})
            continue
        previous = [
            r[0]
            for r in con.execute(
                "SELECT customer_id FROM saved_segment_members WHERE name = ?", [segment.name]
            ).fetchall()
        ]
        con.execute("BEGIN TRANSACTION")
        try:
            joined, left = _record(con, segment.name, members, previous=previous, as_of=day)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        results.append({"name": segment.name, "size": len(members), "joined": joined, "left": left})
    return results


def _record(
    con: duckdb.DuckDBPyConnection,
    name: str,
    members: list[str],
    *,
    previous: list[str] | None,
    as_of: dt.date | None = None,
) -> tuple[int, int]:
    """Write one record of the segment: its members now, its size, and (against ``previous``, the members at
    the record before; None for the first) who joined and left. Inside the caller's transaction."""
    import_id = con.execute("SELECT max(import_id) FROM imports").fetchall()[0][0]
    record = con.execute(
        "SELECT coalesce(max(record), 0) + 1 FROM saved_segment_history WHERE name = ?", [name]
    ).fetchall()[0][0]
    day = as_of or con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
    now = _now()
    joined = sorted(set(members) - set(previous)) if previous is not None else []
    left = sorted(set(previous) - set(members)) if previous is not None else []
    moves = pd.DataFrame(
        {
            "customer_id": pd.Series(joined + left, dtype="str"),
            "move": pd.Series(["joined"] * len(joined) + ["left"] * len(left), dtype="str"),
        }
    )
    now_in = pd.DataFrame({"customer_id": pd.Series(members, dtype="str")})
    con.register("segment_moves_now", moves)
    con.register("segment_members_now", now_in)
    try:
        con.execute("DELETE FROM saved_segment_members WHERE name = ?", [name])
        con.execute("INSERT INTO saved_segment_members SELECT ?, customer_id FROM segment_members_now", [name])
        con.execute(
            "INSERT INTO saved_segment_moves SELECT ?, ?, ?, ?, ?, customer_id, move FROM segment_moves_now",
            [name, record, import_id, now, day],
        )
        con.execute(
            "INSERT INTO saved_segment_history VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [name, record, import_id, now, day, len(members), len(joined), len(left)],
        )
    finally:
        con.unregister("segment_moves_now")
        con.unregister("segment_members_now")
    return len(joined), len(left)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# --- what happened -----------------------------------------------------------------------------------------------


def segment_history(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """One row per record of the segment, oldest first: recorded_at, import_id, the import's file and date,
    as_of (the data's last day then), size, joined, left."""
    found = require_segment(con, name)
    return con.execute(
        """
        SELECT h.record, h.recorded_at, h.import_id, i.file_name, i.imported_at::DATE AS imported_on, h.as_of, h.size,
               h.joined, h.left_count AS "left"
        FROM saved_segment_history h LEFT JOIN imports i USING (import_id)
        WHERE h.name = ? ORDER BY h.record
        """,
        [found.name],
    ).df()


def segment_moves(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    move: str | None = None,
    since: dt.date | str | None = None,
    last_only: bool = False,
) -> pd.DataFrame:
    """Who joined or left the segment (``move``: 'joined', 'left', None for both), one row per customer and
    record: customer_id, move, as_of (the data's last day at that record), import_id, recorded_at.

    ``since``: only records whose data reached that day or later ("who left my VIPs this month?": since the
    first of the month); ``last_only``: only the latest record's moves.
    """
    found = require_segment(con, name)
    if move not in (None, "joined", "left"):
        raise SegmentError(f"A move is 'joined' or 'left', not '{move}'.")
    if isinstance(since, str):
        try:
            since = dt.date.fromisoformat(since.strip())
        except ValueError:
            raise SegmentError(f"'{since}' is not a date: write it as YYYY-MM-DD, e.g. 2024-12-01.") from None
    where = ["name = $name"]
    params: dict[str, object] = {"name": found.name}
    if move is not None:
        where.append("move = $move")
        params["move"] = move
    if since is not None:
        where.append("as_of >= $since")
        params["since"] = since
    if last_only:
        where.append("record = (SELECT max(record) FROM saved_segment_history WHERE name = $name)")
    return con.execute(
        "SELECT customer_id, move, as_of, import_id, recorded_at FROM saved_segment_moves "
        f"WHERE {' AND '.join(where)} ORDER BY record, move, customer_id",
        params,
    ).df()


def change_words(history: pd.DataFrame) -> str:
    """'12 joined and 3 left since the import of 1 December 2024; 40 customers now.' from ``segment_history``:
    the latest record against the one before it (the import that was the latest then)."""
    if history.empty:
        return "No record yet."
    last = history.iloc[-1]
    size = f"{int(last['size']):,} customer" + ("" if int(last["size"]) == 1 else "s")
    if len(history) == 1:
        return f"{size} now; no import since it was saved, so nobody has joined or left yet."
    before = history.iloc[-2]
    when = _day_words(before["imported_on"])
    since = f"since the import of {when}" if when else f"since it was saved ({_day_words(before['recorded_at'])})"
    return f"{int(last['joined']):,} joined and {int(last['left']):,} left {since}; {size} now."


def _day_words(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    day = pd.Timestamp(value)
    return f"{day.day} {day:%B %Y}"


def describe_fields() -> list[tuple[str, str]]:
    """(field, meaning) for every field a condition can use: for help texts and menus."""
    return [(f.name, f.meaning) for f in FIELDS.values()]


__all__ = [
    "ConditionError",
    "SavedSegment",
    "SegmentError",
    "change_words",
    "check_name",
    "delete_segment",
    "describe_fields",
    "fields_used",
    "matching_ids",
    "refresh_saved_segments",
    "require_segment",
    "save_segment",
    "saved_segment",
    "saved_segments",
    "segment_history",
    "segment_moves",
]
