"""The Chat tab: the conversation so far, first-time help, and a new question answered live.

The conversation is kept in session state and drawn again on every run, so a click anywhere (a download,
a tab, a draft edit) never wipes an answer. It is loaded once per session from the store's history, its
charts and tables made again from the recorded tool calls (``ui.history``), and caught up when a teammate on
the same link adds a turn: the page looks every few seconds (``watch``) and shows it without a reload. Before
answering, the session's agent carries on from the workspace's latest turn (what it was about, saved with it),
whoever asked it, so "how many of them live in Leeds?" means the group of the answer above it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from agent.base import CHECKED, OFFLINE, Agent, Event, Mode, ToolCall, Turn
from segmentation.safety.markup import defuse_markdown, escape_markdown, strip_links
from tools.base import ToolContext
from ui import history
from ui.data import DataState, Version, data_state
from ui.notices import empty_state, offline_banner
from ui.render import render_calls
from ui.steps import step_end, step_start

log = logging.getLogger(__name__)

SUGGESTIONS = (
    "Who are my lapsed customers?",
    "Who are my best customers?",
    "Show me my RFM segments",
    "Split my customers into 4 groups",
    "Draft an email for my at-risk customers",
    "How much will my customers spend in the next 90 days?",
)
NOT_REMADE = "The charts and tables of this answer could not be made again from the data as it is now."
SORRY = "Sorry, something went wrong while answering that. Please try again, or ask it another way."
CHECKED_NOTE = "Checked before it was shown: every number in this answer comes from your data or your question."
NOT_SHOWN = "The model's answer was not shown: {why}."
# The last customer groups the Segments tab showed, (args, facts), for the agent to take as seen (``follow``).
SEEN_CLUSTERING = "clustering-seen"
WATCH_EVERY_S = 3  # how often an open Chat tab looks for a teammate's new message (a dict lookup, no query)


@dataclass
class Shown:
    """A turn on the page: ``key`` makes its widgets' keys; ``note`` is said under it."""

    key: str
    turn: Turn
    note: str | None = None
    version: Version | None = None  # the data's version when it was answered (None: not known)
    asked_at: dt.datetime | None = None
    number: int | None = None  # its number in the workspace's saved history (None: not saved)
    context: dict | None = None  # what the conversation was about after it (None: not known, an older row)


def out_of_date(shown: Shown) -> str:
    """The note under an answer given before the latest import."""
    when = f" on {shown.asked_at.day} {shown.asked_at:%b %Y at %H:%M}" if shown.asked_at else ""
    return (
        f"Out of date: answered{when}, before your data was last imported, so its numbers describe the data "
        "as it was then. Ask again for today's numbers."
    )


def render_chat(agent: Agent, ctx: ToolContext, ws: str, data: DataState, question: str | None) -> None:
    if agent.mode == "offline":
        offline_banner()
    if data.problem:
        st.warning(data.problem, icon=":material/error:")
    elif data.version is None:
        empty_state()
    turns = conversation(ctx, ws, data)
    follow(agent, turns)
    take_seen(agent)
    for shown in turns:
        render_turn(shown, data.version)
    question = question or st.session_state.pop("suggested", None)
    if not turns and not question and data.version is not None:
        suggestions()
    if question:
        shown = answer(agent, ctx, ws, question, data.version)
        turns.append(shown)
        if any(c.name == "load_data" and c.result for c in shown.turn.tool_calls):
            shown.version = data_state(ctx.db_path).version  # it answered about the data it just loaded
            st.rerun()  # new data: the page above this answer (empty state, Segments) must see it
    watch(ctx.db_path, ws, st.session_state["conversation"]["seen"])


@st.fragment(run_every=WATCH_EVERY_S)
def watch(db_path: Path, ws: str, seen: int) -> None:
    """Reruns the page when the workspace's history has changed since this session last drew it (a teammate's
    question, or a clear). Only this fragment runs every few seconds, and it only compares two counters; the
    rerun keeps whatever is being typed in the chat box."""
    if history.changes(db_path, ws) != seen:
        st.rerun(scope="app")


def suggestions() -> None:
    st.markdown("**Not sure where to start?** Ask in your own words, or try one of these:")
    with st.container(horizontal=True):
        for i, text in enumerate(SUGGESTIONS):
            st.button(text, key=f"suggest-{i}", on_click=_suggest, args=(text,))


def _suggest(text: str) -> None:
    st.session_state["suggested"] = text


def conversation(ctx: ToolContext, ws: str, data: DataState) -> list[Shown]:
    """This session's turns: loaded from the store's history the first time (and when the workspace changes), and
    caught up when the workspace's history has changed since (a teammate's turn, a clear)."""
    ident = (str(ctx.db_path), ws)
    state = st.session_state.get("conversation")
    if state is None or state["ident"] != ident:
        seen = history.changes(ctx.db_path, ws)  # before reading: a save during the read is caught up next run
        state = {"ident": ident, "turns": _loaded(history.load_turns(ctx.db_path, ws), ctx, ws, data), "seen": seen}
        st.session_state["conversation"] = state
    elif history.changes(ctx.db_path, ws) != state["seen"]:
        state["seen"] = history.changes(ctx.db_path, ws)
        state["turns"] = _caught_up(state["turns"], history.load_turns(ctx.db_path, ws), ctx, ws, data)
    return state["turns"]


def _loaded(saved: list[history.SavedTurn], ctx: ToolContext, ws: str, data: DataState) -> list[Shown]:
    shown = []
    if saved:
        with st.spinner("Loading the conversation..."):
            for s in saved:
                turn, complete = history.replay(s, ctx, data.version)
                # An answer from before the latest import keeps no version: it is out of date (render_turn).
                asked_on = None if history.asked_before_import(s, data.version) else data.version
                shown.append(
                    Shown(
                        f"{ws}-{s.turn}",
                        turn,
                        None if complete else NOT_REMADE,
                        asked_on,
                        s.created_at,
                        s.turn,
                        s.state,
                    )
                )
    return shown


def _caught_up(
    turns: list[Shown], saved: list[history.SavedTurn], ctx: ToolContext, ws: str, data: DataState
) -> list[Shown]:
    """``turns`` with the saved turns it lacks added in order; all of them again when the history was cleared."""
    by_number = {s.turn: s for s in saved}
    oldest = saved[0].turn if len(saved) == history.KEPT_TURNS else 0  # older ones are past the window: kept
    kept = [
        t
        for t in turns
        if t.number is None
        or t.number < oldest
        or (t.number in by_number and by_number[t.number].question == t.turn.question)
    ]
    if len(kept) != len(turns):  # cleared (and perhaps asked again): what is shown must be what is saved
        return _loaded(saved, ctx, ws, data)
    have = {t.number for t in turns}
    return turns + _loaded([s for s in saved if s.turn not in have], ctx, ws, data)


def follow(agent: Agent, turns: list[Shown]) -> None:
    """The agent carries on from the workspace's latest saved turn, whoever asked it (a teammate, this browser
    before a refresh): "them" means the group the answer above the question was about."""
    latest = max((t for t in turns if t.number is not None), key=lambda t: t.number or 0, default=None)
    number = latest.number if latest is not None else None
    followed = st.session_state.get("followed")
    if followed is not None and followed[0] is agent and followed[1] == number:
        return
    restore, carry_on = getattr(agent, "restore", None), getattr(agent, "resume", None)
    if latest is None:  # nothing saved (any more: a teammate cleared it): "them" means nobody in particular
        if followed is not None and followed[0] is agent and restore is not None:
            restore(None, [])
    elif latest.context is not None and restore is not None:
        restore(latest.context, [(t.turn.question, t.turn.answer) for t in turns])
    elif carry_on is not None:  # saved before the context was kept: rebuilt from every turn's calls
        carry_on(
            [
                (c.name, c.args, c.result.facts if c.result is not None else None)
                for shown in turns
                for c in shown.turn.tool_calls
                if c.error is None
            ]
        )
    st.session_state["followed"] = (agent, number)


def take_seen(agent: Agent) -> None:
    """Groups the person looked at in the Segments tab since the last run of this tab are the last ones they saw:
    taken after ``follow``, so a teammate's turn taken in at the same time does not undo it."""
    seen = st.session_state.pop(SEEN_CLUSTERING, None)
    if seen is not None and hasattr(agent, "saw"):
        agent.saw("cluster_customers", *seen)


def render_turn(shown: Shown, current: Version | None = None) -> None:
    with st.chat_message("user"):
        st.markdown(_question(shown.turn.question))
    with st.chat_message("assistant"):
        if shown.turn.tool_calls:
            label, state = final_status(shown.turn.tool_calls)
            # Looks as the live st.status did once finished, but st.status sleeps 50 ms each time one is made:
            # one per earlier turn on every run, 0.4 s of the eighth answer at Online Retail (bench/RESULTS.md).
            icon = ":material/error:" if state == "error" else ":material/check:"
            with st.expander(label, expanded=False, icon=icon):
                for call in shown.turn.tool_calls:
                    st.markdown(_step_line(call))
        st.markdown(_answer(shown.turn.answer, shown.turn.mode))
        _verdict(shown.turn)
        render_calls(shown.turn.tool_calls, shown.key)
        if shown.note:
            st.caption(shown.note)
        if current is not None and shown.version != current:
            st.caption(
                out_of_date(shown),
                help="Answers are kept as they were given. Tables and charts of an "
                "answer reopened after an import are not remade, so they cannot disagree with its words.",
            )


def answer(agent: Agent, ctx: ToolContext, ws: str, question: str, version: Version | None = None) -> Shown:
    """Ask the agent, showing each tool step and the answer as they come, then the artifacts; save it."""
    with st.chat_message("user"):
        st.markdown(_question(question))
    with st.chat_message("assistant"):
        turn = _ask_live(agent, question)
        _verdict(turn)
        context = _context(agent)
        state = st.session_state["conversation"]
        number, note = history.try_save(ctx.db_path, ws, turn, context)
        key = f"{ws}-{number}" if number else f"{ws}-unsaved-{len(state['turns'])}"
        render_calls(turn.tool_calls, key)
        if note:
            st.caption(note)
    # The agent already knows what it just said; unsaved (the database busy), it stays ahead of what is saved.
    saved_before = max((t.number for t in state["turns"] if t.number is not None), default=None)
    st.session_state["followed"] = (agent, number if number is not None else saved_before)
    if number is not None and history.changes(ctx.db_path, ws) == state["seen"] + 1:  # ours, nobody else's since
        state["seen"] += 1
    return Shown(key, turn, note, version, dt.datetime.now().replace(microsecond=0), number, context)


def _context(agent: Agent) -> dict | None:
    """What the conversation is about after this answer, to keep with it; None for an agent that cannot say."""
    said = getattr(agent, "context", None)
    try:
        return said() if said is not None else None
    except Exception:  # the turn is still worth saving without it (a follow-up then rebuilds it from the calls)
        log.exception("the agent could not say what the conversation is about")
        return None


def _ask_live(agent: Agent, question: str) -> Turn:
    slot, answer_box = st.empty(), st.empty()  # status above the answer, created at the first step
    live: dict = {"status": None, "args": {}, "tokens": []}

    def on_event(event: Event) -> None:
        if event.kind == "retract":  # what streamed so far is not the answer (see agent.base.Event): start again
            live["tokens"] = []
            answer_box.empty()
            return
        if event.kind == "token":
            live["tokens"].append(event.text)
            answer_box.markdown(_answer("".join(live["tokens"]), agent.mode) + " ▌")
            return
        if live["status"] is None:
            live["status"] = slot.status(_step(step_start(event.name, event.args)), expanded=False)
        if event.kind == "tool_start":
            live["args"][event.name] = event.args or {}
            live["status"].update(label=_step(step_start(event.name, event.args)))
        else:
            line = _step(step_end(event.name, live["args"].get(event.name), event.text))
            live["status"].update(label=line)
            live["status"].markdown(line)

    try:
        turn = agent.ask(question, on_event=on_event)
    except Exception:  # a bug in an agent must not take the page down; the log has the details
        log.exception("the agent failed on a question")
        turn = Turn(question=question, answer=SORRY, mode=agent.mode)
    if live["status"] is not None:
        label, state = final_status(turn.tool_calls) if turn.tool_calls else ("Done", "complete")
        live["status"].update(label=label, state=state)
    answer_box.markdown(_answer(turn.answer, turn.mode))
    return turn


def verdict(turn: Turn) -> str | None:
    """The line under an answer that says whether a model's answer was checked, or why it was not shown.
    The offline assistant's own answers need none: it writes them from the tools' results itself."""
    if turn.mode == "llm" and turn.grounded == CHECKED:
        return CHECKED_NOTE
    if turn.mode == "offline-fallback" and turn.grounded not in (CHECKED, OFFLINE, ""):
        # The answer's first sentence usually says it already ("The model's answer was not shown (...)"): once.
        return None if turn.grounded in turn.answer else NOT_SHOWN.format(why=turn.grounded.rstrip("."))
    return None


def _verdict(turn: Turn) -> None:
    said = verdict(turn)
    if said:
        # The reason may quote what the model wrote ("the model wrote 4,321, ..."): made inert like the answer.
        st.caption(escape_markdown(said))


def final_status(calls: list[ToolCall]) -> tuple[str, str]:
    """The status line of a finished turn, and 'error' when a step failed."""
    label = "; ".join(_step_line(c) for c in calls)  # each already made inert
    # A call the model corrected on its next try is not a failed turn: only the last call decides.
    return label, "error" if calls and calls[-1].error else "complete"


def _step_line(call: ToolCall) -> str:
    summary = call.result.summary if call.result is not None else ""
    return _step(step_end(call.name, call.args, summary, failed=call.error is not None))


# Text reaches the page as Markdown, and may quote the data (a product named "![x](http://host/beacon.png)"
# would be an image the browser fetches). What is not meant to carry markup is escaped whole; a model's
# answer keeps its formatting but no image, link or HTML can form (``segmentation.safety.markup``), and its links and
# images are reduced to their words first: a model can be led by text in the data to write a beacon.


def _question(text: str) -> str:
    """The person's own words, shown as typed."""
    return escape_markdown(text)


def _answer(text: str, mode: Mode) -> str:
    """The offline assistant writes plain sentences (commands in code spans), quoting the data: all escaped.
    A model writes Markdown: kept, with its links and images reduced to their words, and made inert."""
    return defuse_markdown(strip_links(text)) if mode == "llm" else escape_markdown(text)


def _step(line: str) -> str:
    """A status line: the tool's words and its arguments (a file's name), made inert."""
    return defuse_markdown(line)
