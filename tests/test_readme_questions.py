"""Every example question the README gives the owner is answered by a tool, without an error, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.offline import OfflineAgent
from tools.base import ToolContext

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def readme_questions() -> list[list[str]]:
    """The quoted questions of the README's assistant table and app paragraph; a row's quotes form one
    conversation, in order (its follow-ups refer back to its first question)."""
    table = README.split("### What the assistant can do", 1)[1].split("Two questions in one", 1)[0]
    rows = [re.findall(r"\"([^\"]+)\"", line) for line in table.splitlines() if line.startswith("| ")]
    app = README.split("## The app", 1)[1].split("###", 1)[0]
    asked = [" ".join(q.split()) for q in re.findall(r"\"([^\"]+)\"", app)]
    return [r for r in rows if r] + [asked]


@pytest.fixture(scope="module")
def demo_with_campaign(tmp_path_factory):
    from tests.corpus_runner import build_demo

    return build_demo(tmp_path_factory.mktemp("readme"))


@pytest.mark.parametrize("conversation", readme_questions(), ids=lambda c: c[0][:40])
def test_readme_question_is_answered(demo_with_campaign, conversation):
    agent = OfflineAgent(ToolContext(db_path=demo_with_campaign, artifacts=False))
    for question in conversation:
        turn = agent.ask(question)
        assert turn.tool_calls, (question, turn.answer)
        assert all(c.error is None for c in turn.tool_calls), (question, [c.error for c in turn.tool_calls])
