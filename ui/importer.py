"""The sidebar's data panel: upload an orders file, check how its columns were read, import it.

A customer list or an email activity export (issue 19) goes the same way, with its own fields: the preview
says which kind the file is (``Inspection.kind``) and the panel offers that kind's fields to map.

It renders what ``segmentation.importing.ingest`` decides and decides nothing itself: the preview and the
detected mapping come from ``preview_file``, the import and its report from ``import_file``. The
panel only adds what a person in a browser needs on top of the command line's ``--map``: a selectbox
per field, a progress bar, the rejected rows as a download, and the history of imports.

Uploads are copied to a per-session temporary folder in chunks (Streamlit already holds the upload in
memory once; we never make a second copy in memory) and registered in ``ctx.uploads`` by file name, so
the assistant's ``load_data`` tool can load them too. The folder goes when the session does.

The store is read as the tools read it, with ``connect_sandboxed`` (read-only, inside
``STORE_LOCK.shared()``: DuckDB lets one process hold a file read-only or read-write, not both, and
every connection on the file shares one configuration); ``import_file`` takes the exclusive lock itself.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import uuid
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import streamlit as st

from segmentation.currency import compact_money
from segmentation.importing import columns as cols
from segmentation.importing.contact_columns import ACTIVITY_FIELDS, CONTACT_FIELDS
from segmentation.importing.ingest import ImportReport, IngestError
from segmentation.importing.isolation import Inspection, run_isolated
from segmentation.importing.readers import UnrelatedFileError
from segmentation.safety.export import csv_bytes
from segmentation.safety.markup import escape_markdown
from segmentation.store import StoreError, connect_sandboxed
from segmentation.vocabulary import SegmentsError
from tools.base import ToolContext
from ui.data import DEMO_NAME, data_state

if TYPE_CHECKING:  # pandas loads when a table is drawn, not before the first paint
    import pandas as pd

__all__ = [
    "UPLOAD_TYPES",
    "mapping_overrides",
    "plain_message",
    "rejects_csv",
    "render_import_sidebar",
    "render_uploaded_file",
    "safe_file_name",
    "save_upload",
]

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xls", "parquet", "gz"]
NONE = "(none)"
PREVIEW_ROWS = 10
CHUNK_BYTES = 1 << 20
_STATE_KEY = "_segments_importer"
_REPLACE_KEY = "imp-replace"
_UNTICK_KEY = "_segments_importer_untick"
_UNRELATED_KEY = "_segments_importer_unrelated"  # a file waiting for "add it" or "replace the data"
# The fields an owner can point at a column, by the kind of file the preview found.
FIELDS_BY_KIND = {"orders": cols.FIELDS, "profiles": CONTACT_FIELDS, "activity": ACTIVITY_FIELDS}
_KEPT_NOTE = (
    "Any other column is kept as it is (a number, or text with a few different answers), except those "
    "that say who a person is (names, phones, addresses, notes), dates and email addresses."
)


# ---------------------------------------------------------------- per-session state


class _Session:
    """One browser session's uploads, previews and last import outcome."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="segments-uploads-"))
        # Streamlit has no "session ended" hook: remove the folder when the session's state is
        # garbage-collected, or when the server exits.
        weakref.finalize(self, shutil.rmtree, self.dir, ignore_errors=True)
        self.saved: dict[str, Path] = {}  # Streamlit file_id -> path on disk
        self.uploads: dict[str, Path] = {}  # file name -> path, for ctx.uploads
        self.inspected: dict[str, Inspection] = {}  # path -> what preview_file said
        self.outcome: ImportReport | str | None = None  # last import: its report, or why it was refused


def _session() -> _Session:
    if _STATE_KEY not in st.session_state:
        st.session_state[_STATE_KEY] = _Session()
    return st.session_state[_STATE_KEY]


# ---------------------------------------------------------------- helpers without Streamlit


def safe_file_name(name: str) -> str:
    """The last part of a browser-supplied name, without path tricks or control characters."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().lstrip(".")
    return base[-150:] or "upload"


def save_upload(source: BinaryIO, name: str, directory: Path) -> Path:
    """Copy ``source`` to a new sub-folder of ``directory`` in chunks; return the file's path.

    ``shutil.copyfileobj`` reads ``CHUNK_BYTES`` at a time, so a 1 GB upload costs 1 MB of extra
    memory, not another gigabyte (``getvalue()`` would copy it whole). Each upload gets its own folder,
    so two files both called ``orders.csv`` never overwrite each other and the name is kept as given.
    """
    folder = Path(directory) / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True)
    path = folder / safe_file_name(name)
    if hasattr(source, "seek"):
        source.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(source, out, CHUNK_BYTES)
    return path


def plain_message(message: str) -> str:
    """Ingest's refusals name the command line's ``--map``; in the app the fix is the Columns panel."""
    message = re.sub(
        r"name the right column with --map (\w+)=COLUMN", r"choose the right column for \1 under Columns", message
    )
    message = re.sub(r"use --map (\w+)=COLUMN", r"choose it for \1 under Columns", message)
    message = re.sub(r"with --map\b", "under Columns", message)
    return message


def mapping_overrides(detected: dict[str, str], chosen: dict[str, str]) -> dict[str, str]:
    """The fields a person changed, as ``import_file`` overrides (``""`` = leave the field out).

    Only changes are passed on: an override also tells ingest to trust that column over its own
    checks (an amount column over quantity x price, say), so passing the untouched detection back
    would change what gets imported. A column chosen for two fields is refused before any import.
    """
    used: dict[str, str] = {}
    for fld, column in chosen.items():
        if column and column != NONE:
            if column in used:
                raise IngestError(
                    f"The column '{column}' is chosen for both {used[column]} and {fld}: choose one field per column."
                )
            used[column] = fld
    overrides = {}
    for fld, column in chosen.items():
        want = "" if column in (None, NONE) else column
        if want != detected.get(fld, ""):
            overrides[fld] = want
    return overrides


def rejects_csv(db_path: str | Path, import_id: int) -> bytes:
    """The rows an import could not use, as CSV: line, reason, then the file's own cells.

    Cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) get a leading
    apostrophe, since these rows are often rejected precisely for holding one.
    """
    import pandas as pd

    with connect_sandboxed(db_path) as con:
        rows = con.execute(
            "SELECT line_no, reason, raw FROM rejects WHERE import_id = ? ORDER BY line_no", [import_id]
        ).df()
    cells = pd.json_normalize([_json_or_text(r) for r in rows["raw"]]) if len(rows) else pd.DataFrame()
    cells = cells.drop(columns=["line_no"], errors="ignore")
    frame = pd.concat([rows[["line_no", "reason"]].rename(columns={"line_no": "line"}), cells], axis=1)
    return csv_bytes(frame, bom=False)


def _json_or_text(raw: object) -> dict:
    try:
        value = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        value = {"line": raw}
    return value if isinstance(value, dict) else {"line": raw}


def import_history(db_path: str | Path) -> pd.DataFrame | None:
    """The ``imports`` table, newest first; None when there is no store yet."""
    if not Path(db_path).exists():
        return None
    with connect_sandboxed(db_path) as con:
        return con.execute(
            """
            SELECT import_id, file_name AS file, imported_at AS imported, rows_loaded, rows_rejected, replaced
            FROM imports ORDER BY import_id DESC
            """
        ).df()


# ---------------------------------------------------------------- reading an uploaded file


def _inspect(path: Path) -> Inspection:
    """What ``preview_file`` says of ``path``, read in the capped child (see segmentation.importing.isolation)."""
    try:
        found = run_isolated("segmentation.importing.isolation:inspect_upload", str(path), PREVIEW_ROWS, name=path.name)
    except SegmentsError as exc:
        return Inspection(refusal=plain_message(str(exc)))
    found.problem = found.problem and plain_message(found.problem)
    found.refusal = found.refusal and plain_message(found.refusal)
    return found


# ---------------------------------------------------------------- Streamlit


def render_import_sidebar(ctx: ToolContext) -> None:
    """The Data panel in ``st.sidebar``: upload, mapping, import, report, demo shop, history."""
    session = _session()
    if st.session_state.pop(_UNTICK_KEY, False):
        st.session_state[_REPLACE_KEY] = False  # before the checkbox exists, so this is allowed
    with st.sidebar:
        st.header("Your data")
        replace = st.checkbox(
            "Replace existing data",
            key=_REPLACE_KEY,
            help="Start the shop's data afresh with the next import, instead of adding to it.",
        )
        uploaded = st.file_uploader(
            "Orders file (CSV, Excel, Parquet)",
            type=UPLOAD_TYPES,
            key="imp-upload",
            help="One row per order or order line, with who bought, when and for how much; or a customer list "
            "(Shopify, Mailchimp, a survey) or an email activity export, joined to the customers by id or email.",
        )
        if uploaded is not None:
            path = session.saved.get(uploaded.file_id)
            if path is None or not path.exists():
                with st.spinner(f"Saving {uploaded.name}..."):
                    path = save_upload(uploaded, uploaded.name, session.dir)
                session.saved[uploaded.file_id] = path
            session.uploads[uploaded.name] = path
        ctx.uploads.update(session.uploads)
        if uploaded is not None:
            render_uploaded_file(ctx, session.uploads[uploaded.name], uploaded.name, replace=replace)
        _render_unrelated(ctx)

        if not data_state(ctx.db_path).demo_only:  # the demo is not offered while it is what is loaded
            _render_demo_button(ctx, replace=replace)
        _render_outcome(ctx, session.outcome)
        _render_history(ctx)


def render_uploaded_file(ctx: ToolContext, path: Path, name: str, *, replace: bool = False) -> None:
    """Preview ``path``, show its column mapping for editing, and import it when asked."""
    session = _session()
    path = Path(path)
    ctx.uploads[name] = path
    key = str(path)
    if key not in session.inspected:
        with st.spinner(f"Reading {name}..."):
            session.inspected[key] = _inspect(path)
    found = session.inspected[key]
    if found.refusal:
        st.error(escape_markdown(found.refusal))
        return
    if found.problem:
        st.warning(escape_markdown(found.problem))
    st.caption(
        f"**{escape_markdown(name)}**: {found.rows:,} rows"
        + (f", recognised as a {found.layout}" if found.layout else "")
    )
    for note in found.notes:
        st.caption(f"Note: {escape_markdown(note)}")
    with st.expander("Preview (first rows)"):
        st.dataframe(found.sample, hide_index=True)

    token = re.sub(r"\W", "_", path.parent.name)
    fields = FIELDS_BY_KIND.get(found.kind, cols.FIELDS)
    with st.form(f"imp-form-{token}"):
        st.markdown("**Columns**: what each field is read from. Change any that are wrong.")
        if found.kind == "profiles":
            st.caption(_KEPT_NOTE)
        options = [NONE, *found.columns]
        chosen = {}
        for fld, meaning in fields.items():
            detected = found.mapping.get(fld)
            chosen[fld] = st.selectbox(
                fld,
                options,
                index=options.index(detected) if detected in options else 0,
                help=meaning,
                key=f"imp-map-{token}-{fld}",
            )
        submitted = st.form_submit_button("Import", type="primary")
    if submitted:
        try:
            overrides = mapping_overrides(found.mapping, chosen)
        except IngestError as exc:
            st.error(escape_markdown(exc))
            return
        report = _run_import(ctx, path, display_name=name, overrides=overrides, replace=replace, ask_if_unrelated=True)
        if report is not None and report.replaced:
            # "Replace" is for one import: left ticked, the next file would wipe this one.
            st.session_state[_UNTICK_KEY] = True
            st.rerun()


def _run_import(
    ctx: ToolContext,
    path: Path,
    *,
    display_name: str,
    overrides: dict[str, str] | None = None,
    replace: bool,
    ask_if_unrelated: bool = False,
    currency_code: str | None = None,
) -> ImportReport | None:
    session = _session()
    st.session_state.pop(_UNRELATED_KEY, None)
    bar = st.progress(0.0, text="Starting the import")

    def progress(fraction: float, step: str) -> None:
        # The last call comes after the write has committed: a Streamlit call there could be
        # interrupted by a rerun and lose the report of an import that did happen, so it is skipped.
        if fraction < 1.0:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=step[:1].upper() + step[1:])

    try:
        # In a child under an address-space cap: one upload cannot take the server down for everyone.
        report = run_isolated(
            "segmentation.importing.ingest:import_file",
            str(ctx.db_path),
            str(path),
            name=display_name,
            overrides=overrides or None,
            replace=replace,
            display_name=display_name,
            progress=progress,
            ask_if_unrelated=ask_if_unrelated,
            currency=currency_code,
        )
    except UnrelatedFileError as exc:  # asked below the file (_render_unrelated): add, or replace
        st.session_state[_UNRELATED_KEY] = {
            "path": str(path),
            "name": display_name,
            "overrides": overrides,
            "message": str(exc),
        }
        return None
    except SegmentsError as exc:
        session.outcome = plain_message(str(exc))
        return None
    finally:
        bar.empty()
        # Whatever happened, dashboards must not show a store that may have changed under them.
        st.cache_data.clear()
    session.outcome = report
    return report


def _render_unrelated(ctx: ToolContext) -> None:
    """The question asked when a file to be added shares no customer and no day with the shop's data."""
    pending = st.session_state.get(_UNRELATED_KEY)
    if not pending:
        return
    st.warning(escape_markdown(pending["message"]))
    add, swap = st.columns(2)
    if add.button("Add it", key="imp-unrelated-add", help="Keep the shop's data and add this file's orders to it."):
        choice = False
    elif swap.button(
        "Replace the data", key="imp-unrelated-replace", help="Start the shop's data afresh with this file."
    ):
        choice = True
    else:
        return
    report = _run_import(
        ctx, Path(pending["path"]), display_name=pending["name"], overrides=pending["overrides"], replace=choice
    )
    if report is not None:
        st.rerun()  # the page above (the shop's line, the tabs) must see the new data


def _render_demo_button(ctx: ToolContext, *, replace: bool) -> None:
    clicked = st.button(
        "Use the demo shop",
        key="imp-demo",
        help="Load The Corner Crumb, a made-up bakery-café with 2,000 customers, in place of the current data.",
    )
    if not clicked:
        return
    if _has_own_data(ctx.db_path) and not replace:
        st.warning("The demo replaces your shop's data: tick 'Replace existing data' first if that is what you want.")
        return
    from segmentation.demo.shop import write_demo_csv  # numpy, pandas and arrow: only when asked for

    session = _session()
    with tempfile.TemporaryDirectory(dir=session.dir) as tmp, st.spinner("Baking the demo shop..."):
        path = write_demo_csv(Path(tmp) / "corner_crumb_orders.csv", customers=2000, seed=7)
        report = _run_import(ctx, path, display_name=DEMO_NAME, replace=True, currency_code="GBP")  # in Yorkshire
        if report is not None:  # its customer list and newsletter activity (issue 19); the orders' report shown
            from segmentation.demo.contacts import write_demo_contacts

            for extra in write_demo_contacts(ctx.db_path, tmp):
                _run_import(ctx, extra, display_name=f"{DEMO_NAME}: {extra.name}", replace=False)
            session.outcome = report
    if report is not None and replace:
        st.session_state[_UNTICK_KEY] = True
        st.rerun()


def _has_own_data(db_path: Path) -> bool:
    """True when the store holds imports since its last fresh start other than the demo's."""
    import pandas as pd

    try:
        history = import_history(db_path)
    except StoreError:
        return True  # cannot tell: be careful
    if history is None or history.empty:
        return False
    since = history.loc[history["replaced"].eq(True), "import_id"].max()
    current = history if pd.isna(since) else history[history["import_id"] >= since]
    return bool((~current["file"].str.startswith(DEMO_NAME)).any())


def _render_outcome(ctx: ToolContext, outcome: ImportReport | str | None) -> None:
    if outcome is None:
        return
    import pandas as pd  # after the common case: a first page run without an import never loads it (0.35 s)

    if isinstance(outcome, str):
        st.error(escape_markdown(outcome))
        return
    r = outcome
    if getattr(r, "kind", None) in ("profiles", "activity"):  # a customer list or email activity (issue 19)
        _render_contact_outcome(r)
        return
    if r.already_imported:
        st.info(
            f"{escape_markdown(r.file_name)} was already imported: nothing added. Tick 'Replace existing data' to "
            "start afresh with it."
        )
        return
    replacing = " (replacing the earlier data)" if r.replaced else ""
    st.success(f"Imported {escape_markdown(r.file_name)}{replacing}.")
    left, right = st.columns(2)
    left.metric("Rows loaded", f"{r.rows_loaded:,}")
    right.metric("Rows rejected", f"{r.rows_rejected:,}")
    left.metric("Customers", f"{r.customers:,}")
    right.metric(
        "Revenue", compact_money(r.revenue, r.currency or ""), help=f"{r.revenue:,.2f} {r.currency or ''}".strip()
    )
    st.caption(f"{r.orders:,} orders from {r.first_date} to {r.last_date}, out of {r.rows_read:,} rows read.")
    extras = []
    if r.guest_rows:
        extras.append(f"{r.guest_rows:,} guest rows (no customer) kept, left out of customer analytics")
    if r.return_rows or r.cancelled_rows:
        extras.append(f"{r.return_rows:,} return rows netted, {r.cancelled_rows:,} rows on cancelled orders count 0")
    if r.rows_duplicate:
        extras.append(f"{r.rows_duplicate:,} rows were already in the store and were skipped")
    for line in extras + [f"Note: {escape_markdown(n)}" for n in r.notes]:
        st.caption(line)
    if r.rows_rejected and r.import_id is not None:  # rejected rows are kept with the import that read them
        reasons = pd.DataFrame(sorted(r.rejected_by_reason.items(), key=lambda kv: -kv[1]), columns=["reason", "rows"])
        st.dataframe(reasons, hide_index=True)
        db_path, import_id = ctx.db_path, r.import_id
        what = "row" if r.rows_rejected == 1 else f"{r.rows_rejected:,} rows"
        st.download_button(
            f"Download the rejected {what} (CSV)",
            data=lambda: rejects_csv(db_path, import_id),  # built only when clicked
            file_name=f"rejected_rows_import_{import_id}.csv",
            mime="text/csv",
            key=f"imp-rejects-{import_id}",
            on_click="ignore",
        )
    with st.expander("Columns used"):
        st.dataframe(pd.DataFrame({"field": list(r.mapping), "column": list(r.mapping.values())}), hide_index=True)


def _render_contact_outcome(r) -> None:
    """A customer list's or activity export's report: people, matches, what was kept (``ContactImportReport``)."""
    if r.already_imported:
        st.info(f"{escape_markdown(r.file_name)} was already imported: nothing added.")
        return
    what = "customer list" if r.kind == "profiles" else "email activity"
    st.success(f"Imported {escape_markdown(r.file_name)} ({escape_markdown(r.layout or what)}).")
    left, right = st.columns(2)
    left.metric("People", f"{r.people:,}")
    right.metric("Customers matched", f"{r.matched:,}")
    for line in r.as_text().splitlines()[2:]:
        st.caption(escape_markdown(line.strip()))


def _render_history(ctx: ToolContext) -> None:
    # Read and drawn only when opened: a closed expander's table would still be queried and sent, and the
    # browser would load the table component before the chat input (0.8 s of the first paint).
    box = st.expander("Import history", key="imp-history", on_change="rerun")
    if not box.open:
        return
    with box:
        try:
            history = import_history(ctx.db_path)
        except StoreError as exc:
            st.caption(escape_markdown(exc))
            return
        if history is None or history.empty:
            st.caption("Nothing imported yet.")
            return
        st.dataframe(
            history[["file", "imported", "rows_loaded", "rows_rejected"]],
            hide_index=True,
            column_config={"rows_loaded": "loaded", "rows_rejected": "rejected"},
        )
