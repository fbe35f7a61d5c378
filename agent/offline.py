"""The offline agent: an owner's question understood in stages, planned to tool calls, answered in words.

No network, no key, no model. A question goes through the understanding pipeline:

1. ``understand.parts``: split into its parts when it asks two things ("how many lapsed, and what did
   they buy?"); each part is planned after the one before it has run, so "they" means its group;
2. ``understand.text``: normalised, slang spelt out, typos fixed against the phrase tables' words and the
   shop's own (its places, products, categories);
3. ``understand.decline``: what the assistant must not or cannot do gets one plain sentence, no tool;
4. ``understand.slots``: groups, places, sizes, dates and periods, amounts, campaign ids, tone, length;
5. ``understand.intent``: what is asked, by rules in a fixed order (specific first);
6. ``planners``: the tool and its arguments, checked against the tool's own argument model;
7. ``dialogue.State``: what the conversation is about, so the next question can say "them".

Planning reads the question, the conversation's earlier plans and a few numbers of their results (sizes,
for "the biggest one"), and the shop's dates, place and product names; never other text of a result, so
text inside the data (a product called "ignore previous instructions") cannot steer it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import replace
from typing import Any

from agent import intents as phrases
from agent.answers import compose, help_text, suggest
from agent.base import Event, Mode, OnEvent, ToolCall, Turn
from agent.dialogue import State
from agent.planners import Ask, Plan, Shop, narrows_last_list, plan_intent, plan_narrowed
from agent.understand.customer import plan_customer
from agent.understand.dates import NUM
from agent.understand.decline import decline
from agent.understand.intent import detect
from agent.understand.parts import split_parts
from agent.understand.saved import plan_saved, without
from agent.understand.slots import read_slots, search
from agent.understand.text import clean, normalise
from tools.base import ToolArgsError, ToolContext, ToolFailure, ToolResult

__all__ = ["OfflineAgent", "Plan", "Shop", "State", "normalise", "plan_question", "suggest"]


def plan_question(question: str, state: State, shop: Shop | None = None) -> Plan:
    """The tool and arguments for one question (one part), given what the conversation was about."""
    shop = shop or Shop()
    raw = question.strip()
    plain = normalise(raw)
    if not plain or re.search(phrases.HELP, plain):
        return Plan(None, reply=help_text())
    if re.search(phrases.YES, plain) and state.offer:
        return plan_question(state.offer, replace(state, offer=None), shop)
    loading = _plan_upload(raw, plain, shop)
    if loading:
        return loading
    text = clean(raw, shop.words())
    refusal = decline(normalise(raw)) or decline(text)
    if refusal:
        return Plan(None, reply=refusal)
    one = plan_customer(raw, state)
    if one is not None:
        return Plan(*one)
    saved_name = None
    about = plan_saved(
        raw, state, shop, lambda piece: read_slots(piece, clean(piece, shop.words()), shop.last_order(), shop.places())
    )
    if about is not None:
        tool, args, reply = about
        if reply != "group":
            return Plan(tool, args) if tool else Plan(None, reply=reply)
        assert tool is not None  # "group": plan_saved names the saved segment in the place of the tool
        saved_name, raw = tool, without(raw, tool)  # a saved segment where a group goes: planned as any group
        text = clean(raw, shop.words())
    s = read_slots(raw, text, shop.last_order(), shop.places())
    if saved_name:
        s.groups, s.cluster = [saved_name, *s.groups], None
        s.every_group = [saved_name, *s.every_group]
    bare = re.fullmatch(
        rf"(?:(?:and|now|then|ok|so|try|what about|how about|make it|with|maybe|lets|let us|do) )*"
        rf"{NUM}(?: groups| clusters)?(?: instead| please| then)?",
        text,
    )
    if bare and state.tool == "cluster_customers":
        s.k = phrases.NUMBER_WORDS.get(bare.group(1)) or int(bare.group(1))  # "try 5 instead" after a clustering
    ask = Ask(raw, text, s, state, shop)
    # "only the ones with a loyalty card" after a list names no tool: it narrows the list on screen.
    intent = detect(text, s, state) or ("list_customers" if narrows_last_list(ask) else None)
    if intent is None:
        return Plan(None, reply=suggest(raw))
    plan = plan_narrowed(intent, ask) or plan_intent(intent, ask)
    return plan if plan.tool or plan.reply else Plan(None, reply=suggest(raw))


def _plan_upload(raw: str, plain: str, shop: Shop) -> Plan | None:
    """Loading a file uploaded this session, named or "my file"; or saying that none was uploaded."""
    fresh = bool(search(r"replace|afresh|from scratch|start over|instead of", plain))
    named_file = [n for n in sorted(shop.uploads) if n.lower() in raw.lower()]
    if not named_file and len(shop.uploads) == 1 and search(r"(my|the|this) (file|export|upload|spreadsheet)", plain):
        named_file = list(shop.uploads)
    if named_file and search(r"load|import|use|add|upload|open|read", plain):
        return Plan("load_data", {"source": named_file[0], **({"replace": True} if fresh else {})})
    if (
        not shop.uploads
        and search(r"load|import|use|open|read", plain)
        and search(r"(the|my|this) (\w+ ){0,2}(file|csv|export|upload|spreadsheet)|i (just )?uploaded", plain)
    ):
        return Plan(
            None,
            reply="No file has been uploaded in this session yet. Drop your orders export into the "
            "sidebar's import (or run `segments import FILE`), then ask again.",
        )
    return None  # not a file of this session's: the demo and everything else go through the intent rules


class OfflineAgent:
    """The embedded default agent: one conversation, deterministic, no network."""

    mode: Mode = "offline"

    def __init__(self, ctx: ToolContext, *, mode: Mode = "offline") -> None:
        self.ctx = ctx
        self.mode = mode  # the LLM agent's fallback passes "offline-fallback"
        self.state = State()
        self._shop: Shop | None = None

    # --- the conversation ---------------------------------------------------------------------------------

    def plan(self, question: str) -> Plan:
        return plan_question(question, self.state, self.shop())

    def ask(self, question: str, *, on_event: OnEvent | None = None) -> Turn:
        """Answer every part of the question, each planned once the one before it has run."""
        emit = on_event or (lambda event: None)
        parts = split_parts(question)
        if len(parts) > 1 and any(self._not_understood(p) for p in parts):
            parts = [question]  # a split that leaves a part meaningless was not two questions
        answers: list[str] = []
        calls: list[ToolCall] = []
        done: list[tuple[str | None, dict]] = []
        for number, part in enumerate(parts):
            plan = self.plan(part)
            if (
                number
                and plan.tool in (None, "list_customers")
                and not re.match(r"(and|then|also|plus|who|which|list|show|how many)\b", part, re.I)
            ):
                plan = self.plan(f"and {part}")  # "describe the regulars and then the champions": the same ask
            restated = (
                bool(calls)
                and plan.tool == calls[-1].name
                and not re.search(r"\bnow|today|current", part)
                and (plan.args.items() <= calls[-1].args.items() or plan.assumed)
            )
            refines = bool(calls) and plan.tool == calls[-1].name and calls[-1].args.items() < plan.args.items()
            if refines:
                plan.recap = ""  # "email my regulars, and give them 5% off": one draft, not "the draft again"
            if plan.tool and ((plan.tool, plan.args) in done or restated):
                continue  # "what changed since June? who went where": one question said twice is answered once
            done.append((plan.tool, plan.args))
            answer, call = self._answer(part, plan, emit)
            if call and refines:  # the second part refines the first: its answer stands for both
                answers.pop()
                calls.pop()
            answers.append(answer)
            calls += [call] if call else []
        answer = "\n\n".join(a for a in answers if a)
        emit(Event("token", text=answer))
        return Turn(question=question, answer=answer, mode=self.mode, tool_calls=calls)

    def answer_with(self, question: str, plan: Plan, *, on_event: OnEvent | None = None) -> Turn:
        """Run one given ``plan`` (the LLM agent's fallback plans first, then calls this)."""
        emit = on_event or (lambda event: None)
        answer, call = self._answer(question, plan, emit)
        emit(Event("token", text=answer))
        return Turn(question=question, answer=answer, mode=self.mode, tool_calls=[call] if call else [])

    def resume(self, calls: list[tuple[str, dict, dict | None]]) -> None:
        """Carry on a saved conversation: its calls (tool, args, facts), oldest first (a page refresh)."""
        self.state = State.replayed(calls)

    def context(self) -> dict[str, Any]:
        """What the conversation is about now, as JSON-ready values: kept with the turn just answered."""
        return self.state.to_dict()

    def restore(self, context: dict[str, Any] | None, recent: list[tuple[str, str]] | None = None) -> None:
        """Carry on from a saved turn's ``context`` (a teammate's, or this session's before a refresh).
        ``recent`` (questions and answers) is for a model's memory; the rules need only the context."""
        self.state = State.from_dict(context)

    def saw(self, tool: str, args: dict[str, Any], facts: dict[str, Any] | None) -> None:
        """A result the person saw outside the chat (the Segments tab's customer groups): "cluster 2" or "the
        biggest one" then means one of those, as after the same call in the chat."""
        self.state = self.state.after(tool, args, facts)

    def _not_understood(self, part: str) -> bool:
        plan = plan_question(part, self.state, self.shop())
        return plan.tool is None and plan.reply.startswith("I'm not sure")

    def _answer(self, question: str, plan: Plan, emit: OnEvent) -> tuple[str, ToolCall | None]:
        from tools.registry import run_tool

        if not plan.tool:
            self.state = replace(self.state, offer=plan.offer)
            return plan.reply, None
        call = ToolCall(plan.tool, dict(plan.args))
        emit(Event("tool_start", name=call.name, args=dict(call.args)))
        result: ToolResult | None = None
        try:
            result = call.result = run_tool(call.name, call.args, self.ctx)
        except ToolFailure as exc:
            call.error = str(exc)
        except ToolArgsError as exc:  # a plan never makes one, but a tool may ("cluster_5" of four)
            call.error = "That did not work: " + str(exc).split(": ", 1)[-1]
        emit(Event("tool_end", name=call.name, text=call.error or (result.summary if result else "")))
        if call.error:
            return call.error, call
        assert result is not None  # no error: the tool returned its result
        answer, offer = compose(plan, result)
        facts = dict(result.facts)
        if plan.tool == "measure_campaign":  # "write a follow-up to the same group": the campaign's audience
            facts["group"] = dict(self.shop().campaigns()).get(plan.args.get("campaign_id", ""))
        self.state = self.state.after(plan.tool, plan.args, facts, offer)
        if plan.tool == "load_data":
            self._shop = None
        return answer, call

    # --- what planning may know of the shop ------------------------------------------------------------------

    def shop(self) -> Shop:
        """Made once per conversation (the place and product names read once), again after a load."""
        if self._shop is None or self._shop.uploads != tuple(self.ctx.uploads):
            names = functools.cache(self._names)  # one read of the shop's names; places and spelling words from it
            self._shop = Shop(
                self._last_order_date,
                self._has_data,
                tuple(self.ctx.uploads),
                self._campaigns,
                functools.cache(lambda: _places_in(names())),
                functools.cache(lambda: _words_in(names())),
                self._segments,
                functools.cache(self._attributes),
                names,
            )
        return self._shop

    def _last_order_date(self) -> dt.date:
        return self._last_order() or dt.date.today()  # no data yet: the tools say so in their own words

    def _has_data(self) -> bool:
        return self._last_order() is not None

    def _read(self, query: str) -> list[tuple]:
        import duckdb

        from segmentation.store import StoreError

        try:
            with self.ctx.read() as con:
                return con.execute(query).fetchall()
        except (StoreError, duckdb.Error, OSError):
            return []

    def _campaigns(self) -> list[tuple[str, str]]:
        rows = self._read("SELECT campaign_id, segment FROM campaigns ORDER BY campaign_id")
        return [(str(i), str(g)) for i, g in rows]

    def _segments(self) -> dict[str, str]:
        """The owner's saved segments, name -> condition: read at every question (one may be saved meanwhile)."""
        return {str(n): str(c) for n, c in self._read("SELECT name, condition FROM saved_segments ORDER BY name")}

    def _attributes(self) -> dict[str, tuple[str, ...]]:
        """The tags and interests the customer lists hold, to find them in a question ("in the vegan tag")."""
        rows = self._read(
            "SELECT DISTINCT name, value FROM contact_attributes WHERE name IN ('tag', 'interest') "
            "ORDER BY name, value LIMIT 2000"
        )
        found: dict[str, tuple[str, ...]] = {}
        for name, value in rows:
            found[str(name)] = (*found.get(str(name), ()), str(value))
        return found

    def _names(self) -> dict[str, tuple[str, ...]]:
        """The shop's cities, countries, products, categories and channels as stored: what a list can be narrowed
        by ("everyone in Halifax or Todmorden", "anyone who had a birthday cake"), and the words of spelling."""
        kinds = [("city", "customers", 5000), ("country", "customers", 500), ("product", "order_lines", 5000)]
        kinds += [("category", "order_lines", 500), ("channel", "orders", 100)]
        rows = self._read(
            " UNION ALL ".join(
                f"SELECT '{kind}', {kind} FROM (SELECT DISTINCT {kind} FROM {table} WHERE {kind} IS NOT NULL "
                f"LIMIT {most})"
                for kind, table, most in kinds
            )
        )
        found: dict[str, tuple[str, ...]] = {}
        for kind, name in rows:
            found[str(kind)] = (*found.get(str(kind), ()), str(name))
        return found

    def _last_order(self) -> dt.date | None:
        rows = self._read("SELECT max(order_date) FROM orders")
        value = rows[0][0] if rows else None
        return value.date() if isinstance(value, dt.datetime) else value


def _places_in(names: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """The shop's cities and countries (normalised) -> which they are, to find them in a question written in lower
    case; a name that is both is the country."""
    places: dict[str, str] = {}
    for kind in ("city", "country"):
        for name in names.get(kind, ()):
            if key := normalise(name):
                places[key] = kind
    return places


def _words_in(names: dict[str, tuple[str, ...]]) -> frozenset[str]:
    """Words of the shop's own names (places, categories, channels, products), for spelling."""
    return frozenset(
        w for listed in names.values() for name in listed for w in normalise(name).split() if len(w) > 3 and w.isalpha()
    )
