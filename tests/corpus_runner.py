"""Runs the phrase corpus (tests/corpus/) through the whole offline pipeline and scores it per intent.

A case passes when the agent made exactly the expected tool calls, in order, each with at least the
expected arguments, or, for ``"decline"``, made no call and said plainly that it can't. A ``null``
expectation is not scored (its turn still runs, for the turns after it). Used by ``tests/test_corpus.py``
and, to see every miss, ``python -m tests.corpus_runner [phrases|holdout|conversations]``.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"  # the holdout and dev sets, never trained on
TRAINING = Path(__file__).parents[1] / "agent" / "corpus"  # what the agent learns from and is tuned on
DECLINE = "decline"


@dataclass
class Score:
    passed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    misses: list[tuple[str, object, object, str]] = field(default_factory=list)

    def add(self, intent: str, ok: bool, question: str, expected: object, got: object, answer: str) -> None:
        self.total[intent] += 1
        self.passed[intent] += ok
        if not ok:
            self.misses.append((question, expected, got, answer[:160]))

    @property
    def accuracy(self) -> float:
        return sum(self.passed.values()) / max(sum(self.total.values()), 1)

    def table(self) -> str:
        rows = [
            f"{name:<20} {self.passed[name]:>4}/{self.total[name]:<4} {self.passed[name] / self.total[name]:.0%}"
            for name in sorted(self.total)
        ]
        return "\n".join(
            [*rows, f"{'all':<20} {sum(self.passed.values()):>4}/{sum(self.total.values()):<4} {self.accuracy:.1%}"]
        )


def load(name: str) -> list:
    folder = TRAINING if (TRAINING / f"{name}.json").exists() else CORPUS
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))


def intent_of(expected: object) -> str:
    if expected == DECLINE:
        return DECLINE
    if isinstance(expected, list) and len(expected) > 1:
        return "two_part"
    return expected[0]["tool"] if isinstance(expected, list) and expected else "none"


def matches(expected: object, turn) -> bool:
    calls = [c.as_dict() for c in turn.tool_calls]
    if expected == DECLINE:
        return not calls and ("can't" in turn.answer or "cannot" in turn.answer)
    if len(calls) != len(expected):
        return False
    return all(
        call["name"] == want["tool"] and all(call["args"].get(k) == v for k, v in want.get("args", {}).items())
        for call, want in zip(calls, expected, strict=True)
    )


def ask(agent, question: str):
    """The agent's turn. A load over existing data asks first: the call a "yes" would make is scored, without
    running it (it would replace the corpus shop)."""
    from agent.base import ToolCall, Turn
    from agent.offline import plan_question

    turn = agent.ask(question)
    if not turn.tool_calls and 'Say "yes"' in turn.answer and agent.state.offer:
        plan = plan_question("yes", agent.state, agent.shop())
        return Turn(question, turn.answer, turn.mode, [ToolCall(plan.tool, plan.args)] if plan.tool else [])
    return turn


def score_cases(agent_factory, cases: list[dict], score: Score | None = None) -> Score:
    score = score or Score()
    for case in cases:
        agent = agent_factory()
        turn = ask(agent, case["q"])
        score.add(
            intent_of(case["expect"]),
            matches(case["expect"], turn),
            case["q"],
            case["expect"],
            [c.as_dict() for c in turn.tool_calls],
            turn.answer,
        )
    return score


def score_conversations(agent_factory, conversations: list[dict], score: Score | None = None) -> Score:
    score = score or Score()
    for conversation in conversations:
        agent = agent_factory()
        for number, case in enumerate(conversation["turns"]):
            turn = ask(agent, case["q"])
            if case.get("expect") is None:
                continue
            intent = "first_turn" if number == 0 else "follow_up"
            score.add(
                intent,
                matches(case["expect"], turn),
                f"[{conversation['name']}] {case['q']}",
                case["expect"],
                [c.as_dict() for c in turn.tool_calls],
                turn.answer,
            )
    return score


def demo_agent_factory(db: Path):
    from agent.offline import OfflineAgent
    from tools.base import ToolContext

    return lambda: OfflineAgent(ToolContext(db_path=db, artifacts=False))


def build_demo(folder: Path) -> Path:
    """The full demo shop (as the corpus README describes it) with campaign cmp-0001 to at_risk on 2026-09-01."""
    import datetime as dt

    from segmentation.demo.shop import write_demo_csv
    from segmentation.importing.ingest import import_file
    from segmentation.outreach.campaigns import create_campaign
    from segmentation.profile import group_members
    from segmentation.store import STORE_LOCK, connect

    db = folder / "corpus.duckdb"
    if db.exists():
        return db
    import_file(db, write_demo_csv(folder / "demo.csv"))
    day = dt.date(2026, 9, 1)
    with STORE_LOCK.exclusive(), connect(db) as con:
        create_campaign(con, "at_risk", members=group_members(con, "at_risk", as_of=day), as_of=day)
    return db


def memoised_tools():
    """Run each distinct call once (tools are deterministic): the corpus repeats the same calls often."""
    import tools.registry

    real, seen = tools.registry.run_tool, {}

    def run_once(name, args, ctx):
        key = (name, json.dumps(args, sort_keys=True, default=str), str(ctx.db_path))
        if key not in seen:
            seen[key] = real(name, args, ctx)
        return seen[key]

    tools.registry.run_tool = run_once
    return real


if __name__ == "__main__":
    folder = Path("/tmp/corpus-runner")
    folder.mkdir(exist_ok=True)
    factory = demo_agent_factory(build_demo(folder))
    memoised_tools()
    for name in sys.argv[1:] or ["phrases", "dev", "conversations"]:
        cases = load(name)
        result = score_conversations(factory, cases) if name == "conversations" else score_cases(factory, cases)
        print(f"== {name}\n{result.table()}")
        if name != "holdout":  # the holdout's misses stay unread: it measures, it is not tuned to
            for question, expected, got, answer in result.misses:
                print(f"MISS {question!r}\n  want {expected}\n  got  {got}\n  said {answer}")
