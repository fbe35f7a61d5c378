"""The sidebar's currency: the one found in the shop's file, or the one the owner sets once.

Kept in the store (``segmentation.currency``), not in the browser session: it is the shop's, so every
teammate and the command line see amounts in it. The session's ``ToolContext`` carries it to the tools.
"""

from __future__ import annotations

import streamlit as st

from segmentation import currency
from segmentation.store import STORE_LOCK, StoreError, connect, connect_sandboxed
from tools.base import ToolContext

CURRENCY_KEY = "shop-currency"
_NONE = ""


def stored_currency(ctx: ToolContext) -> tuple[str | None, str | None]:
    """(code, source) in the store, or (None, None): no store yet, or none recorded."""
    if not ctx.db_path.exists():
        return None, None
    try:
        with connect_sandboxed(ctx.db_path) as con:
            return currency.currency_of(con)
    except StoreError:
        return None, None


def render_currency(ctx: ToolContext) -> None:
    """A select of the currencies we know; a change is written to the store for everyone. Sets ``ctx.currency``."""
    code, source = stored_currency(ctx)
    ctx.currency = code or ""
    if not ctx.db_path.exists():
        return
    # "Not set" is where a shop starts; a currency once recorded is changed, not removed.
    options = [*currency.CURRENCIES] if code else [_NONE, *currency.CURRENCIES]
    # The widget follows the store (a teammate may have changed it): its value is set before it is drawn.
    if st.session_state.get(f"{CURRENCY_KEY}-seen") != code:
        st.session_state[CURRENCY_KEY] = code or _NONE
        st.session_state[f"{CURRENCY_KEY}-seen"] = code
    said = (
        "set by you or a teammate" if source == "set" else f"found in {source}" if source else "none found in the file"
    )
    st.selectbox(
        "Currency",
        options,
        key=CURRENCY_KEY,
        on_change=_save,
        args=(ctx,),
        format_func=lambda c: f"{c} ({currency.CURRENCIES[c].name})" if c else "Not set: amounts without a sign",
        help=f"The currency of your shop's amounts ({said}). Amounts are never converted; this only says which "
        "sign to show, for everyone using this shop.",
    )
    problem = st.session_state.pop("currency-problem", None)
    if problem:
        st.warning(problem, icon=":material/error:")


def _save(ctx: ToolContext) -> None:
    chosen = st.session_state.get(CURRENCY_KEY) or ""
    if not chosen:
        return
    try:
        with STORE_LOCK.exclusive(), connect(ctx.db_path) as con:
            currency.set_currency(con, chosen)
    except StoreError as exc:
        st.session_state["currency-problem"] = str(exc)
        return
    ctx.currency = chosen
    st.session_state[f"{CURRENCY_KEY}-seen"] = chosen
