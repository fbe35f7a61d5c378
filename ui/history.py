"""The conversation kept in the store, per workspace, so it survives a browser refresh and a shared link.

Each turn is saved as words only (question, answer, mode, the grounding verdict, the tool calls' names and
arguments) with what the conversation is about after it (the agent's ``context()``: the group "them" means, the
last clustering, draft and campaign), so a follow-up means the same to a teammate, after a refresh, as to
whoever asked the turn before it. The
charts and tables are made again on reload by running the recorded calls through ``run_tool``, which is
deterministic, rather than pickled into the database. Only tools that read are run again: replaying
``load_data`` would import a file a second time.

Sessions learn that a workspace has new turns from ``changes``: a count this process keeps of each workspace's
saves and clears (only the app writes the history, and a hosted app is one process), so a page can look every
few seconds for a teammate's message without touching the database.

Writes hold ``STORE_LOCK.exclusive()`` (DuckDB lets a process hold a file read-only or read-write, not
both); reads use the sandboxed read-only connection, which holds the shared lock.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from agent.base import OFFLINE, ToolCall, Turn
from segmentation.store import STORE_LOCK, StoreError, connect, connect_sandboxed
from tools.base import ToolArgsError, ToolContext, ToolFailure
from ui.data import Version, tool_result

log = logging.getLogger(__name__)

KEPT_TURNS = 50  # shown after a reload; older turns stay in the store

_changes_lock = threading.Lock()
_changes: dict[tuple[str, str], int] = {}  # (database, workspace) -> saves and clears in this process


def changes(db_path: Path, workspace: str) -> int:
    """How many times this process has saved to or cleared the workspace's history: a new number means news."""
    with _changes_lock:
        return _changes.get(_where(db_path, workspace), 0)


def _changed(db_path: Path, workspace: str) -> None:
    key = _where(db_path, workspace)
    with _changes_lock:
        _changes[key] = _changes.get(key, 0) + 1


def _where(db_path: Path, workspace: str) -> tuple[str, str]:
    return os.path.realpath(db_path), workspace


def replayable(name: str) -> bool:
    """Whether a recorded call only reads the store, so running it again changes nothing (its spec says)."""
    from tools.registry import REGISTRY

    spec = REGISTRY.get(name)
    return bool(spec and spec.read_only)


@dataclass
class SavedTurn:
    turn: int
    question: str
    answer: str
    mode: str
    calls: list[dict] = field(default_factory=list)  # {"name", "args", "error"}
    # Turn.grounded; rows saved before it was kept have none: OFFLINE, so no verdict is claimed for them
    # (an old model answer was never checked, and a fallback's reason is in its answer's words).
    grounded: str = OFFLINE
    created_at: dt.datetime | None = None
    # What the conversation was about after this turn (the agent's context()); None for rows saved before it was
    # kept, or by an agent without one: the session then rebuilds it from the turns' tool calls.
    state: dict | None = None


def asked_before_import(saved: SavedTurn, version: Version | None) -> bool:
    """True when the turn was answered before the store's latest import: its words describe other data."""
    if version is None or saved.created_at is None or len(version) < 4 or not version[3]:
        return False
    return saved.created_at < dt.datetime.fromisoformat(version[3][:19])


def save_turn(db_path: Path, workspace: str, turn: Turn, state: dict | None = None) -> int | None:
    """Append ``turn`` to the workspace's history, with ``state``, what the conversation is about after it; its
    number, or None when there is no store to keep it in.

    The ``chat_history`` table is part of the store's schema (``segmentation.store``): ``connect`` makes it.
    """
    if not Path(db_path).exists():  # no shop yet: a conversation is not a reason to create a database
        return None
    calls = [{"name": c.name, "args": c.args, "error": c.error} for c in turn.tool_calls]
    with STORE_LOCK.exclusive():
        con = connect(db_path)
        try:
            number = con.execute(
                "SELECT coalesce(max(turn), 0) + 1 FROM chat_history WHERE workspace = ?", [workspace]
            ).fetchall()[0][0]
            con.execute(
                "INSERT INTO chat_history (workspace, turn, question, answer, mode, tool_calls_json, created_at, "
                "grounded, state_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    workspace,
                    number,
                    turn.question,
                    turn.answer,
                    turn.mode,
                    json.dumps(calls, default=str),
                    dt.datetime.now().replace(microsecond=0),
                    turn.grounded,
                    None if state is None else json.dumps(state, default=str),
                ],
            )
        finally:
            con.close()
    _changed(db_path, workspace)
    return int(number)


def load_turns(db_path: Path, workspace: str, *, limit: int = KEPT_TURNS) -> list[SavedTurn]:
    """The workspace's last ``limit`` turns, oldest first; none when the store or the table is missing."""
    if not Path(db_path).exists():
        return []
    query = (
        "SELECT turn, question, answer, mode, tool_calls_json, {grounded}, created_at, {state} FROM chat_history "
        "WHERE workspace = ? ORDER BY turn DESC LIMIT ?"
    )
    try:
        with connect_sandboxed(db_path) as con:
            # A store not upgraded yet (held by another process at start) may lack the newer columns.
            for columns in (
                {"grounded": "grounded", "state": "state_json"},
                {"grounded": "grounded", "state": "NULL"},
                {"grounded": "NULL", "state": "NULL"},
            ):
                try:
                    rows = con.execute(query.format(**columns), [workspace, limit]).fetchall()
                    break
                except duckdb.BinderException:
                    continue
            else:
                return []
    except duckdb.CatalogException:  # nobody has asked anything in this store yet
        return []
    return [
        SavedTurn(t, q, a, m, json.loads(c or "[]"), g or OFFLINE, at, _state(s))
        for t, q, a, m, c, g, at, s in reversed(rows)
    ]


def _state(text: str | None) -> dict | None:
    try:
        state = json.loads(text) if text else None
    except ValueError:  # a damaged row: the state is rebuilt from the calls instead
        return None
    return state if isinstance(state, dict) else None


def clear(db_path: Path, workspace: str) -> None:
    """Forget the workspace's conversation (for everyone sharing its link)."""
    if not Path(db_path).exists():
        return
    with STORE_LOCK.exclusive():
        con = connect(db_path)
        try:
            con.execute("DELETE FROM chat_history WHERE workspace = ?", [workspace])
        finally:
            con.close()
    _changed(db_path, workspace)


def replay(saved: SavedTurn, ctx: ToolContext, version: Version | None) -> tuple[Turn, bool]:
    """The saved turn with its artifacts made again from the store; False when some could not be. A turn asked
    before the latest import keeps its words only: tables made from today's data would contradict them."""
    calls, complete = [], True
    remake = version is not None and not asked_before_import(saved, version)
    for recorded in saved.calls:
        call = ToolCall(str(recorded.get("name")), dict(recorded.get("args") or {}), error=recorded.get("error"))
        if call.error is None and replayable(call.name) and remake:
            try:
                call.result = tool_result(ctx, version, call.name, call.args)
            except (ToolArgsError, ToolFailure) as exc:  # e.g. the data no longer reaches that date
                log.info("could not replay %s: %s", call.name, exc)
                complete = False
            except Exception:  # an old turn must never break the page; the answer's words still show
                log.exception("replaying %s failed", call.name)
                complete = False
        elif call.error is None and replayable(call.name) and version is None:  # no data to make them from
            complete = False
        calls.append(call)
    return Turn(saved.question, saved.answer, saved.mode, calls, saved.grounded), complete  # type: ignore[arg-type]


def try_save(db_path: Path, workspace: str, turn: Turn, state: dict | None = None) -> tuple[int | None, str | None]:
    """``save_turn``, with a failure (the file busy in another program) as a sentence instead of an error."""
    try:
        return save_turn(db_path, workspace, turn, state), None
    except (StoreError, duckdb.Error) as exc:
        log.warning("could not save the chat turn: %s", exc)
        return None, "This answer could not be saved to the shared history (the database is busy); it stays here."
