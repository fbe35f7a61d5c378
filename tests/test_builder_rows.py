"""The builder's rows as the condition language's words (ui.builder): what each pick becomes, written so that
the parser reads back exactly the picks, whatever a product or city is called."""

from __future__ import annotations

import datetime as dt

import pytest

from segmentation.custom.conditions import Compare, parse
from ui.builder import as_code, joined_condition, operators, row_condition


@pytest.mark.parametrize(
    ("field", "op", "value", "window", "words"),
    [
        ("lifecycle", "=", "lapsed", None, "lifecycle = lapsed"),
        ("segment", "not in", ["at_risk", "hibernating"], None, "segment not in (at_risk, hibernating)"),
        ("monetary", ">", 100, None, "monetary > 100"),
        ("aov", "between", (15.5, 5), None, "aov between 5 and 15.5"),  # either order: low to high
        ("r_score", "in", [4, 5], None, "r_score in (4, 5)"),
        ("p_alive", ">=", 0.25, None, "p_alive >= 0.25"),
        ("last_order", "<", dt.date(2026, 6, 30), None, "last_order < 2026-06-30"),
        ("product", "=", "Birthday cake", 90, 'product = "Birthday cake" in last 90 days'),
        ("category", "not in", ["Bread", "Cakes"], None, "category not in (Bread, Cakes)"),
        ("channel", "!=", "Online", 30, "channel != Online in last 30 days"),
        ("city", "contains", "  leeds ", None, "city contains leeds"),
        ("consent", "=", "unknown", None, "consent = unknown"),
        ("product", "=", 'Tea & "cake" `x`', None, 'product = "Tea & \\"cake\\" `x`"'),
    ],
)
def test_a_row_is_written_in_the_language_and_parses_back_to_itself(field, op, value, window, words):
    row = row_condition(field, op, value, window_days=window)
    assert joined_condition([row], "all") == words
    assert parse(words) == row


def test_a_window_only_for_what_was_bought():
    assert row_condition("city", "=", "Leeds", window_days=30).window_days is None


@pytest.mark.parametrize(
    ("field", "op", "value"),
    [
        ("lifecycle", "=", None),
        ("city", "in", []),
        ("product", "contains", "  "),
        ("aov", "between", (5, None)),
    ],
)
def test_an_unfinished_row_is_left_out(field, op, value):
    assert row_condition(field, op, value) is None
    assert joined_condition([row_condition(field, op, value), None], "any") is None


def test_rows_join_by_all_or_any():
    rows = [row_condition("lifecycle", "=", "lapsed"), None, row_condition("city", "in", ["Leeds", "Hebden Bridge"])]
    assert joined_condition(rows, "all") == 'lifecycle = lapsed and city in (Leeds, "Hebden Bridge")'
    assert joined_condition(rows, "any") == 'lifecycle = lapsed or city in (Leeds, "Hebden Bridge")'
    assert isinstance(parse(joined_condition(rows[:1], "any")), Compare)


def test_each_kind_offers_only_its_operators():
    assert operators("lifecycle") == ["=", "!=", "in", "not in"]
    assert operators("monetary") == ["=", "!=", "<", "<=", ">", ">=", "between"]  # a list of amounts: no
    assert operators("consent") == ["=", "!="]
    assert "contains" in operators("product") and "between" not in operators("product")


def test_a_condition_with_a_backtick_is_not_a_code_span():
    assert as_code("city = Leeds") == "`city = Leeds`"
    # A backtick in a product's name would close the span early and let the rest render: an image fetched.
    shown = as_code('product = "a`b ![x](http://h/b.png)"')
    assert not shown.startswith("`") and "![x](" not in shown and "\\[x\\]" in shown
