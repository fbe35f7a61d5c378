"""Start the app with its gate in front of the server's upload and download endpoints.

    streamlit run serve.py [--server.port 8501 ...]

``streamlit run`` finds ``app`` below and serves ``app.py`` through it, with ``ui.gate.GateMiddleware``
in front: uploads (``/_stcore/upload_file``) only from sessions that passed the password or sign-in,
files (``/media``) only to browsers that did, and each download served once. ``streamlit run app.py``
still starts the app, but with a password or sign-in configured it stays closed and says to use this.
"""

from __future__ import annotations

import streamlit as st
from starlette.middleware import Middleware

from ui.gate import GateMiddleware, mark_installed

mark_installed()
app = st.App("app.py", middleware=[Middleware(GateMiddleware)])
