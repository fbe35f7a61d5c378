"""AppTest harness: the access gate (ui.auth) in front of a page that says it was let in."""

import streamlit as st

from agent.settings import load_settings
from ui.auth import require_access

# st.secrets raises when there is no secrets.toml at all: only hand it over when there is one.
settings = load_settings(st.secrets if st.secrets.load_if_toml_exists() else None)
if not require_access(settings):
    st.stop()
st.markdown("Welcome in: the shop's customers.")
