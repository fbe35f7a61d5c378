"""One settings table: name, default, help. Read from Streamlit secrets, then the environment, then defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping

SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("OPENAI_API_KEY", "", "Key for an OpenAI-compatible model; empty: the offline assistant answers."),
    ("OPENAI_BASE_URL", "", "Base URL of any OpenAI-compatible server (Ollama, vLLM, LM Studio); empty: OpenAI."),
    ("SEGMENTS_MODEL", "gpt-4o-mini", "Model name to ask for."),
    ("SEGMENTS_DB", "", "Shop database file; empty: data/shop.duckdb."),
    ("SEGMENTS_PASSWORD", "", "Password for a shared, hosted app; empty: no password gate."),
    (
        "SEGMENTS_SIGNIN_KEY",
        "",
        "Secret that signs the stay-signed-in cookie (not the password); empty: one is made "
        "once and kept, readable only by its owner, beside the database.",
    ),
    ("SEGMENTS_MODEL_TIMEOUT", "30", "Seconds to wait for the model before the offline assistant answers."),
    ("SEGMENTS_ANSWER_DEADLINE", "120", "Seconds one answer from the model may take in all, however it trickles in."),
    ("SEGMENTS_MAX_TOOL_CALLS", "6", "Most tool calls the model may make for one question."),
)


def load_settings(secrets: Mapping[str, object] | None = None) -> dict[str, str]:
    """Each setting from ``secrets`` (Streamlit's, when running in the app), else env, else default."""
    values = {}
    for name, default, _help in SETTINGS:
        if secrets is not None and name in secrets:
            values[name] = str(secrets[name])
        else:
            values[name] = os.environ.get(name, default)
    return values
