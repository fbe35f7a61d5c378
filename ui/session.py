"""What one browser session holds: the settings, its workspace, the shop's ToolContext and the agent.

Settings come from Streamlit secrets, then the environment, then defaults (``agent.settings``). The
workspace names a shared conversation: it is the link's ``?ws=`` parameter, so a team that shares one
link shares one history. The agent (and with it the conversation's memory) lives in this session.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st

from agent.base import Agent, make_agent
from agent.settings import load_settings
from segmentation.store import default_db_path, upgrade
from tools.base import ToolContext
from ui.currency import render_currency
from ui.margin import render_margin
from ui.model_choice import render_model_choice, with_chosen_model

log = logging.getLogger(__name__)

DEFAULT_WORKSPACE = "default"
_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def read_secrets() -> dict[str, object] | None:
    """Streamlit's secrets as a plain dict, or None when there are none."""
    try:
        if not st.secrets.load_if_toml_exists():
            return None
        return {name: st.secrets[name] for name in st.secrets}
    except Exception:  # a secrets.toml that does not parse: env and defaults still work (auth says more)
        log.warning("could not read .streamlit/secrets.toml; using the environment and defaults")
        return None


def current_settings() -> dict[str, str]:
    """The operator's settings, with the model this session chose in the sidebar (``ui.model_choice``)."""
    return with_chosen_model(load_settings(read_secrets()))


def workspace() -> str:
    """The link's ``ws`` parameter, reduced to a safe name (letters, digits, ``_ . -``, at most 64)."""
    raw = st.query_params.get("ws", DEFAULT_WORKSPACE)
    return _NOT_IN_A_NAME.sub("-", str(raw)).strip("-.")[:64] or DEFAULT_WORKSPACE


def tool_context(settings: dict[str, str]) -> ToolContext:
    """This session's context: one object, so uploads the sidebar registers reach the agent's tools."""
    db = settings.get("SEGMENTS_DB")
    path = Path(db).expanduser() if db else default_db_path()
    ctx = st.session_state.get("tool_context")
    if ctx is None or ctx.db_path != path:
        _upgraded(str(path))
        ctx = st.session_state["tool_context"] = ToolContext(db_path=path)
    return ctx


@st.cache_resource(show_spinner=False)
def _upgraded(path: str) -> bool:
    """Once per database and server process: a file from an older version gains its new tables."""
    upgrade(path)
    return True


def session_agent(ctx: ToolContext, settings: dict[str, str], ws: str) -> Agent:
    """This session's agent, made again only when the database, the workspace or the model changes."""
    key = hashlib.sha256(
        repr(
            (
                str(ctx.db_path),
                ws,
                *(settings.get(n, "") for n in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SEGMENTS_MODEL")),
            )
        ).encode()
    ).hexdigest()
    if st.session_state.get("agent_key") != key:
        try:
            agent = make_agent(ctx, settings)
        except Exception:  # a model that cannot even be set up: the offline assistant answers, said plainly
            log.exception("could not set up the model; using the offline assistant")
            st.warning("The model could not be set up, so the offline assistant answers. Check the settings.")
            agent = make_agent(ctx, {**settings, "OPENAI_API_KEY": ""})
        st.session_state["agent"], st.session_state["agent_key"] = agent, key
    return st.session_state["agent"]


def model_in_use(agent: Agent, settings: dict[str, str]) -> str:
    """'gpt-4o-mini at OpenAI', 'llama3.1 at localhost:11434', or the offline assistant; never the key."""
    if agent.mode == "offline":
        return "the offline assistant (built-in rules; no model, nothing leaves this server)"
    base = settings.get("OPENAI_BASE_URL")
    where = (urlsplit(base).netloc or base) if base else "OpenAI"
    return f"{settings.get('SEGMENTS_MODEL') or 'the default model'} at {where}"


def render_settings(agent: Agent, settings: dict[str, str], ctx: ToolContext, ws: str) -> None:
    """The sidebar's settings: which model answers, which database and which shared conversation."""
    with st.expander("Settings", icon=":material/settings:"):
        st.markdown(f"**Assistant:** {model_in_use(agent, settings)}")
        render_model_choice(settings, ctx)
        render_margin(ctx)
        render_currency(ctx)
        st.markdown(f"**Database:** `{ctx.db_path}`")
        st.markdown(f"**Conversation:** `{ws}`")
        st.caption(
            "Share the conversation: add `?ws=NAME` to this page's address and send the link; "
            "everyone on it sees the same history."
        )
        if st.button(
            "Clear this conversation",
            key="clear-conversation",
            icon=":material/delete:",
            help="Forget its questions and answers, for everyone using this link.",
        ):
            from ui.history import clear

            clear(ctx.db_path, ws)
            for key in ("conversation", "agent_key"):
                st.session_state.pop(key, None)
            st.rerun()
