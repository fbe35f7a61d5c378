"""The page's standing notices: the assistant runs offline; there is no data yet."""

from __future__ import annotations

import streamlit as st


def offline_banner() -> None:
    st.info(
        "The assistant is running **offline**: it answers from your data with built-in rules, and nothing is "
        "sent anywhere. To connect a model, set `OPENAI_API_KEY` (OpenAI) in `.streamlit/secrets.toml` or the "
        "environment; for a local OpenAI-compatible server such as Ollama, also set "
        "`OPENAI_BASE_URL=http://localhost:11434/v1`, `SEGMENTS_MODEL` (e.g. `llama3.1`) and any non-empty key.",
        icon=":material/cloud_off:",
    )


def empty_state() -> None:
    st.info(
        "**No shop data yet.** Upload your orders export in the sidebar (CSV, Excel or Parquet: one row per "
        "order or order line, with a customer and a date), or press **Use the demo shop** to try everything "
        "on a sample bakery-café. From a terminal: `segments demo` or `segments import FILE`.",
        icon=":material/upload_file:",
    )
