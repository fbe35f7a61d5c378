"""Issue 19's two questions in the app's chat, on the demo as `segments demo` makes it (its customer list and
newsletter activity imported): the answers carry the same numbers as the command line's, which
tests/test_attribute_questions.py checks against the demo's own files read with pandas."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

import cli

from .support import APP

QUESTIONS = {
    "how many of my champions are under 30?": r"[\d,]+ have an age in your data; [\d,]+ of them",
    "who opens our emails but hasn't bought in 3 months?": r"[\d,]+ customers opened an email in the last 90 days "
    "but bought nothing in them",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    db = tmp_path_factory.mktemp("app_attr") / "shop.duckdb"
    assert cli.main(["demo", "--db", str(db)]) == 0
    return db


@pytest.mark.parametrize("question", list(QUESTIONS))
def test_the_chat_answers_as_the_command_line_does(demo, question, monkeypatch, capsys):
    capsys.readouterr()
    assert cli.main(["ask", question, "--db", str(demo)]) == 0
    expected = re.search(QUESTIONS[question], capsys.readouterr().out)
    assert expected, "the command line's answer has the figure"
    monkeypatch.setenv("SEGMENTS_DB", str(demo))
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    answer = [m for m in at.chat_message if m.name == "assistant"][-1]
    text = " ".join(m.value for m in answer.markdown)
    assert expected.group(0) in text
