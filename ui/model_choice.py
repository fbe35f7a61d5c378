"""The sidebar's model settings: which of the server's models answers in this session, and a connection test.

The server's address and key are the operator's settings (``OPENAI_BASE_URL``, ``OPENAI_API_KEY`` in
``.streamlit/secrets.toml`` or the environment): never editable here, so a person using a shared app cannot
point it, and the shop's data, at another server. The model is a choice among those the server offers; it holds
for this browser session only (``with_chosen_model``), and the session's agent is made again for it
(``ui.session.session_agent`` keys on ``SEGMENTS_MODEL``).
"""

from __future__ import annotations

import streamlit as st

from agent import connection
from segmentation.safety.markup import escape_markdown
from tools.base import ToolContext

CHOSEN = "chosen_model"  # session state: the model picked here, overriding SEGMENTS_MODEL for this session
LISTS = "model_lists"  # session state: {base URL: (models, sentence when they could not be listed)}
REPORT = "connection_report"  # session state: (base URL, model, ConnectionReport) of the last test
WHERE_SET = (
    "The server's address and key are set by whoever runs this app: `OPENAI_BASE_URL` and `OPENAI_API_KEY` in "
    "`.streamlit/secrets.toml` or the server's environment. A model chosen here is used in this browser session only."
)
NO_KEY = (
    "No `OPENAI_API_KEY` is set, so the offline assistant answers. A local server (Ollama, vLLM) takes any "
    "non-empty key."
)


def model_configured(settings: dict[str, str]) -> bool:
    """Whether the operator set up a model server at all (a key, or a local server's address)."""
    return bool(settings.get("OPENAI_API_KEY") or settings.get("OPENAI_BASE_URL"))


def with_chosen_model(settings: dict[str, str]) -> dict[str, str]:
    """``settings`` with this session's chosen model, if one was chosen (and a model server is configured)."""
    chosen = st.session_state.get(CHOSEN)
    if chosen and model_configured(settings):
        return {**settings, "SEGMENTS_MODEL": chosen}
    return settings


def render_model_choice(settings: dict[str, str], ctx: ToolContext | None = None) -> None:
    """The model picker and the connection test; nothing when no model server is configured."""
    if not model_configured(settings):
        return
    base, current = connection.base_url(settings), connection.model_name(settings)
    models, problem = _offered(settings, base)
    options = models if current in models else [current, *models]
    st.selectbox(
        "Model",
        options,
        index=options.index(current),
        key="model-choice",
        on_change=_choose,
        help="The models the server offers. The choice holds for this browser session.",
    )
    if problem:
        st.caption(escape_markdown(problem))
    elif current not in models:
        st.caption(escape_markdown(connection.unknown_model(current, models)))
    if not settings.get("OPENAI_API_KEY"):
        st.caption(NO_KEY)
    if st.button("Test the connection", key="test-connection", icon=":material/lan:"):
        with st.spinner("Asking the model one question about your shop..."):
            st.session_state[REPORT] = (base, current, connection.test_connection(settings, ctx))
    tested = st.session_state.get(REPORT)
    if tested and tested[:2] == (base, current):  # a report about another model would mislead
        report = tested[2]
        show = st.success if report.ok else st.error
        show(escape_markdown(report.sentence), icon=":material/check_circle:" if report.ok else ":material/error:")
    st.caption(WHERE_SET)


def _offered(settings: dict[str, str], base: str) -> tuple[list[str], str | None]:
    """The server's models, asked once per base URL in this session; none and the sentence when it cannot say."""
    lists = st.session_state.setdefault(LISTS, {})
    if base not in lists:
        try:
            lists[base] = (connection.list_models(settings), None)
        except connection.ConnectionProblem as problem:
            lists[base] = ([], f"The models could not be listed. {problem.sentence}")
    return lists[base]


def _choose() -> None:
    st.session_state[CHOSEN] = st.session_state["model-choice"]
