"""Drafts for customers the data cannot reach by name or email, and product names the file writes in capitals."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import tools.registry  # noqa: F401  (registers every tool)
from segmentation.importing.ingest import import_file
from segmentation.outreach.drafts import draft_text
from tools.base import ToolContext, run_tool


def _shop(demo_shops, tmp_path, *, drop: list[str], shout: bool) -> ToolContext:
    source = demo_shops.csv(name="orders.csv", customers=300, seed=2)
    frame = pd.read_csv(source).drop(columns=drop)
    if shout:
        frame["Product"] = frame["Product"].str.upper()
    frame.to_csv(tmp_path / "export.csv", index=False)
    import_file(tmp_path / "shop.duckdb", tmp_path / "export.csv")
    return ToolContext(db_path=tmp_path / "shop.duckdb", artifacts=False)


@pytest.fixture(scope="module")
def plain(demo_shops, tmp_path_factory) -> ToolContext:
    return _shop(demo_shops, tmp_path_factory.mktemp("plain"), drop=["Email", "First Name", "Last Name"], shout=True)


@pytest.mark.parametrize("channel", ["email", "sms"])
@pytest.mark.parametrize("tone", ["warm", "formal", "playful", "urgent"])
def test_no_names_no_merge_tag_and_the_answer_says_what_the_file_holds(plain, channel, tone):
    result = run_tool("draft_campaign", {"group": "lapsed", "channel": channel, "tone": tone}, plain)
    assert "first_name" not in draft_text(result.draft)
    assert "your data holds no first names" in result.summary or "no first names either" in result.summary
    if channel == "email":
        assert "holds no email addresses, so the audience file lists customer ids only" in result.summary
        assert result.draft["body"].split("\n")[0] in {"Hi there,", "Hello there,", "Hey there!"}
    assert set(result.table.columns) >= {"customer_id"} and result.table["email"].isna().all()


def test_capitals_in_the_file_read_as_a_person_writes_them(plain):
    facts = run_tool("describe_segment", {"group": "lapsed"}, plain).facts
    top = facts["top_products"][0]["name"]
    assert top == top.upper()  # the profile keeps the data's own spelling
    draft = run_tool("draft_campaign", {"group": "lapsed"}, plain).draft
    written = top[:1] + top[1:].lower()  # "WHITE BLOOMER" -> "White bloomer"
    assert f"Still thinking about our {written}?" in draft["subject_lines"]
    persona = run_tool("describe_segment", {"group": "lapsed"}, plain).persona
    assert not re.search(r"[A-Z]{6,}", persona["name"] + " ".join(persona["interests"]))


def test_a_shop_with_names_keeps_the_merge_tag(demo_shops, tmp_path):
    named = _shop(demo_shops, tmp_path, drop=[], shout=False)
    result = run_tool("draft_campaign", {"group": "lapsed"}, named)
    assert "{{first_name}}" in result.draft["body"] and "no first names" not in result.summary
    assert "no email addresses" not in result.summary
