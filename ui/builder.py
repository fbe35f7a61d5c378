"""Build a segment by pointing, in the Segments tab (issue 18): the owner's own condition, counted as it changes.

Rows of field / operator / value, the values picked from the shop's own data (its cities, products, categories,
channels; segments and stages by their titles), numbers and dates typed; joined by all (and) or any (or); what
was bought can be limited to the last N days. The rows are made into the condition language's own tree and
written in its words (``conditions.to_text``), shown as it is built so an owner learns to write it; an owner
who knows it can write the condition instead, and a condition the parser cannot read is its one sentence,
with nothing counted and nothing saved. The count and the revenue are the saved segment's own evaluation
(``saved.matching_ids``), so what is counted here is what is saved; saving takes the store's write lock as
the command line does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from segmentation.currency import compact_money
from segmentation.custom.conditions import FIELDS, OPERATORS_BY_KIND, And, Compare, ConditionError, Or, parse, to_text
from segmentation.outreach.persona import amount
from segmentation.safety.markup import escape_markdown
from segmentation.vocabulary import AnalysisError, group_title
from ui.data import DataState, Version, customer_frame

# The machine-found groups are left out of the picks: their members come from a clustering made on demand
# (seconds, not the instant a live count needs). A written condition can still use them.
# 'attribute NAME' (any other column of the lists) is written, not picked: its name is the list's own.
PICKED_FIELDS = tuple(name for name in FIELDS if name not in ("cluster", "attribute"))
OP_WORDS = {
    "=": "is",
    "!=": "is not",
    "<": "is under",
    "<=": "is at most",
    ">": "is over",
    ">=": "is at least",
    "between": "is between",
    "in": "is one of",
    "not in": "is none of",
    "contains": "contains",
}
BOUGHT_WORDS = {
    "=": "bought",
    "!=": "never bought",
    "in": "bought any of",
    "not in": "bought none of",
    "contains": "bought one whose name contains",
}
# The field's own name in the box (the word the condition uses; a meaning beside it is cut off in a narrow
# column), every field's meaning in its help.
FIELD_HELP = "\n".join(f"- **{name}**: {FIELDS[name].meaning}" for name in PICKED_FIELDS).replace("_", "\\_")
ROWS, NEXT = "bld-rows", "bld-next"
MODES = ("Pick", "Write")


@dataclass(frozen=True)
class Count:
    """How many customers a condition holds for at the tab's date, and what they spent (the ids are not kept:
    dozens of conditions are cached, and a big shop's would be millions of ids)."""

    customers: int
    revenue: float


def operators(field: str) -> list[str]:
    """The operators a row offers for ``field``: its kind's (``conditions.OPERATORS_BY_KIND``), with 'not in'
    beside 'in'; a list of numbers or dates is not offered (a range is: 'between')."""
    kind = FIELDS[field].kind
    ops = [op for op in OPERATORS_BY_KIND[kind] if not (op == "in" and kind in ("number", "share", "date"))]
    return ops + (["not in"] if "in" in ops else [])


def row_condition(field: str, op: str, value: object, *, window_days: int | None = None) -> Compare | None:
    """One row as the language's comparison; None while it is not complete (nothing picked, nothing typed)."""
    spec = FIELDS[field]
    negated = op == "not in"
    op = "in" if negated else op
    values: tuple
    if op in ("in", "between"):
        values = tuple(value or ()) if isinstance(value, list | tuple) else ()
        if not values or (op == "between" and (len(values) != 2 or None in values)):
            return None
        if op == "between":
            values = tuple(sorted(values))
    else:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        values = (value.strip() if isinstance(value, str) else value,)
    if spec.kind == "consent":
        values = tuple({"yes": True, "no": False, "unknown": None}[v] for v in values)
    if spec.kind in ("number", "share"):
        values = tuple(float(v) for v in values)
    window = int(window_days) if window_days and spec.kind == "bought" else None
    return Compare(field, op, values, negated, window)


def joined_condition(rows: list[Compare | None], join: str) -> str | None:
    """The complete rows joined by 'and' (``join`` 'all') or 'or' ('any'), in the language's words; None when
    no row is complete. Made as a tree and written by ``to_text``: a value is quoted as the parser needs."""
    done = [row for row in rows if row is not None]
    if not done:
        return None
    if len(done) == 1:
        return to_text(done[0])
    return to_text(And(tuple(done)) if join == "all" else Or(tuple(done)))


def render_builder(ctx_db: str, data: DataState, as_of: str | None, frame: pd.DataFrame) -> None:
    """The builder: picks or a written condition, its words, its live count and revenue, and Save."""
    st.subheader("Build your own segment")
    st.caption(
        "Pick who you mean, or write it. It is counted as you go, and once saved it sits beside the "
        "built-in groups in every picker, kept up to date after every import."
    )
    mode = st.radio(
        "How",
        MODES,
        key="bld-mode",
        horizontal=True,
        label_visibility="collapsed",
        format_func=lambda m: {"Pick": "Pick from your data", "Write": "Write the condition"}[m],
        on_change=_seed_written,
    )
    if mode == "Pick":
        condition, problem = _picked(ctx_db, data, frame), None
        st.session_state["bld-built"] = condition
        if condition is None:
            st.caption("Pick a field and a value to start.")
            return
        st.markdown(f"Condition: {as_code(condition)}")
    else:
        typed = st.text_input(
            "Condition",
            key="bld-typed",
            max_chars=1000,
            placeholder="lifecycle = lapsed and city = Leeds and monetary > 100",
            help="Fields, operators and examples: see the README's Conditions and saved segments.",
        )
        condition, problem = (typed or "").strip() or None, None
        if condition is None:
            return
        try:
            parse(condition)
        except ConditionError as exc:
            problem = str(exc)
            st.warning(escape_markdown(problem), icon=":material/error:")
    if problem is None:
        _count(ctx_db, data.version, as_of, condition, len(frame))
    _save(ctx_db, condition, problem)


def as_code(condition: str) -> str:
    """The condition as a code span, which renders nothing inside it; one holding a backtick (a product named so)
    would close the span early, so it is escaped as plain text instead."""
    if "`" in condition or "\n" in condition:
        return escape_markdown(condition)
    return f"`{condition}`"


def _seed_written() -> None:
    """Opening 'Write' with nothing written yet starts from what was picked: the words to learn from."""
    if st.session_state.get("bld-mode") == "Write" and not st.session_state.get("bld-typed"):
        st.session_state["bld-typed"] = st.session_state.get("bld-built") or ""


def _picked(db_path: str, data: DataState, frame: pd.DataFrame) -> str | None:
    if ROWS not in st.session_state:
        st.session_state[ROWS], st.session_state[NEXT] = [0], 1
    join = st.radio(
        "Customers who match",
        ["all", "any"],
        key="bld-join",
        horizontal=True,
        format_func=lambda j: {"all": "all of these (and)", "any": "any of these (or)"}[j],
    )
    rows = [_row(db_path, data, frame, rid) for rid in list(st.session_state[ROWS])]
    st.button("Add a condition", key="bld-add", icon=":material/add:", on_click=_add_row)
    return joined_condition(rows, join)


def _add_row() -> None:
    st.session_state[ROWS].append(st.session_state[NEXT])
    st.session_state[NEXT] += 1


def _drop_row(rid: int) -> None:
    st.session_state[ROWS].remove(rid)


def _row(db_path: str, data: DataState, frame: pd.DataFrame, rid: int) -> Compare | None:
    left, middle, right, end = st.columns([3, 3, 5, 1], vertical_alignment="bottom")
    offered = [name for name in PICKED_FIELDS if name in _fields_here(db_path, data.version)]
    field = left.selectbox("Field", offered, index=offered.index("lifecycle"), key=f"bld-field-{rid}", help=FIELD_HELP)
    spec = FIELDS[field]
    words = BOUGHT_WORDS if spec.kind == "bought" else OP_WORDS
    ops = operators(field)
    # Keys carry the field (and the operator): a widget made for 'city' is not handed a 'monetary' value.
    op = middle.selectbox(
        "Operator",
        ops,
        index=ops.index(">") if ">" in ops else 0,
        key=f"bld-op-{rid}-{field}",
        format_func=lambda o: f"{words[o]} ({o})",
    )
    with right:
        value = _value(db_path, data, frame, spec, op, f"bld-val-{rid}-{field}-{op}")
    window = None
    if spec.kind == "bought":
        window = right.number_input(
            "In the last ... days",
            min_value=1,
            max_value=36_600,
            value=None,
            step=1,
            key=f"bld-win-{rid}-{field}",
            placeholder="any time",
        )
    if len(st.session_state[ROWS]) > 1:
        end.button(
            "",
            key=f"bld-del-{rid}",
            icon=":material/close:",
            help="Remove this condition",
            on_click=_drop_row,
            args=(rid,),
        )
    return row_condition(field, op, value, window_days=window)


def _value(db_path: str, data: DataState, frame: pd.DataFrame, spec, op: str, key: str) -> object:
    """The value widget for the field's kind and operator: the shop's own values to pick, numbers and dates typed."""
    kind = spec.kind
    if kind in ("enum", "text", "bought", "consent", "multi"):
        if op == "contains":
            return st.text_input("Text", key=key, placeholder="part of a name")
        choices = _choices(db_path, data.version, spec.name)
        titled = group_title if kind == "enum" else str
        if op in ("in", "not in"):
            return st.multiselect("Values", choices, key=key, format_func=titled, placeholder="Pick one or more")
        return st.selectbox("Value", choices, key=key, format_func=titled, index=None, placeholder="Pick one")
    if kind == "score":
        scores = [1, 2, 3, 4, 5]
        if op in ("in", "not in"):
            return st.multiselect("Scores", scores, key=key)
        if op == "between":
            low, high = st.columns(2)
            return (
                low.selectbox("From", scores, key=f"{key}-lo"),
                high.selectbox("To", scores, index=4, key=f"{key}-hi"),
            )
        return st.selectbox("Score", scores, index=2, key=key)
    if kind == "date":
        first, last = dt.date.fromisoformat(data.first_date), dt.date.fromisoformat(data.last_date)
        middle = first + (last - first) / 2  # half way through the shop's history, a start to move from
        if op == "between":
            low, high = st.columns(2)
            return (
                low.date_input("From", middle, min_value=first, max_value=last, key=f"{key}-lo"),
                high.date_input("To", last, min_value=first, max_value=last, key=f"{key}-hi"),
            )
        return st.date_input("Day", middle, min_value=first, max_value=last, key=key)
    # number, share: the shop's median to start from, so the first count means something
    share = kind == "share"
    start = 0.5 if share else _median(frame, spec.name)
    options = {"min_value": 0.0, "max_value": 1.0, "step": 0.05, "format": "%.2f"} if share else {"step": 1.0}
    if op == "between":
        low, high = st.columns(2)
        return (
            low.number_input("From", value=0.0, key=f"{key}-lo", **options),
            high.number_input("To", value=1.0 if share else start, key=f"{key}-hi", **options),
        )
    return st.number_input("Chance (0-1)" if share else "Number", value=start, key=key, **options)


_FRAME_COLUMN = {"recency": "recency_days", "value": "clv"}


def _median(frame: pd.DataFrame, field: str) -> float:
    column = _FRAME_COLUMN.get(field, field)
    if column not in frame.columns or frame[column].dropna().empty:
        return 0.0
    return float(round(frame[column].median()))


@st.cache_data(show_spinner=False, max_entries=32)
def _fields_here(db_path: str, version: Version | None) -> tuple[str, ...]:
    """The fields this shop's data answers: the lists' and the email activity's only once they are imported."""
    from segmentation.custom.choices import available_fields
    from segmentation.store import connect_sandboxed

    with connect_sandboxed(db_path) as con:
        return available_fields(con)


@st.cache_data(show_spinner=False, max_entries=32)
def _choices(db_path: str, version: Version | None, field: str) -> list[str]:
    from segmentation.custom.choices import shop_values
    from segmentation.store import connect_sandboxed

    with connect_sandboxed(db_path) as con:
        return shop_values(con, field)


@st.cache_data(show_spinner=False, max_entries=64)
def count_matching(db_path: str, version: Version | None, as_of: str | None, condition: str) -> Count:
    """``saved.matching_ids`` at the tab's date over the cached customer table, and those customers' spend."""
    from segmentation.custom.saved import matching_ids
    from segmentation.store import connect_sandboxed

    assert version is not None  # the Segments tab draws the builder only once data is loaded
    table = customer_frame(db_path, version, as_of)  # no margin: a saved segment's value is revenue, as here
    with connect_sandboxed(db_path) as con:
        ids = matching_ids(con, condition, as_of=as_of, table=table)
    revenue = float(table.loc[table["customer_id"].astype(str).isin(ids), "monetary"].sum())
    return Count(len(ids), revenue)


def _count(db_path: str, version: Version | None, as_of: str | None, condition: str, everyone: int) -> None:
    try:
        found = count_matching(db_path, version, as_of, condition)
    except AnalysisError as exc:  # a condition the data cannot evaluate (a clustering a tiny shop cannot make)
        st.warning(escape_markdown(str(exc)), icon=":material/error:")
        return
    n = found.customers
    cols = st.columns(2)
    cols[0].metric(
        "Customers",
        f"{n:,}",
        border=True,
        help=f"{n / everyone:.1%} of your {everyone:,} customers" if everyone else None,
    )
    cols[1].metric(
        "Revenue",
        compact_money(found.revenue, exact_below=10_000),
        border=True,
        help=f"{amount(found.revenue)} spent by them, net of returns and cancellations",
    )


def _save(db_path: str, condition: str, problem: str | None) -> None:
    name_col, button_col = st.columns([4, 1], vertical_alignment="bottom")
    name = name_col.text_input("Name", key="bld-name", max_chars=60, placeholder="Leeds win-back")
    if not button_col.button("Save segment", key="bld-save", icon=":material/bookmark_add:"):
        return
    if problem is not None:  # nothing is written for a condition the parser cannot read
        st.warning("Not saved: the condition above is not understood yet; correct it first.", icon=":material/error:")
        return
    from segmentation.custom.saved import SegmentError, save_segment
    from segmentation.store import STORE_LOCK, StoreError, connect

    try:
        with STORE_LOCK.exclusive(), connect(db_path) as con:
            saved = save_segment(con, name, condition)
    except (ConditionError, SegmentError, StoreError) as exc:
        st.warning(escape_markdown(f"Not saved: {exc}"), icon=":material/error:")
        return
    size = f"{saved['size']:,} customer" + ("" if saved["size"] == 1 else "s")
    if saved["already"]:
        st.info(escape_markdown(f"'{saved['name']}' is saved already with this condition: {size} now."))
    else:
        st.success(
            escape_markdown(
                f"Saved '{saved['name']}' ({saved['condition']}): {size} now. Open it below, or in the Campaigns tab."
            ),
            icon=":material/bookmark_added:",
        )
