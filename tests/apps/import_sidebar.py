"""AppTest harness: only the Data sidebar (ui.importer), on the database named by SEGMENTS_DB.

It does not depend on app.py. ``uploads`` in session state is the ToolContext's upload registry, and a
``st.cache_data`` stamp shows whether an import cleared the cache.
"""

import os
import time
from pathlib import Path

import streamlit as st

from tools.base import ToolContext
from ui.importer import render_import_sidebar


@st.cache_data
def cache_stamp() -> int:
    return time.monotonic_ns()


ctx = ToolContext(db_path=Path(os.environ["SEGMENTS_DB"]), uploads=st.session_state.setdefault("uploads", {}))
render_import_sidebar(ctx)
st.markdown(f"cache stamp {cache_stamp()}")
