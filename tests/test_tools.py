"""Every tool in the registry keeps the contract: valid arguments give a ToolResult whose summary is
PII-free; invalid ones give a message naming what is valid, so a model can correct itself."""

from __future__ import annotations

import re

import duckdb
import pytest

import cli
from segmentation.customers import customer_table
from segmentation.store import connect
from tools.base import ToolArgsError, ToolContext, ToolFailure, ToolResult, run_tool
from tools.registry import TOOL_NAMES

VALID = {
    "load_data": {"source": "demo"},
    "data_overview": {},
    "compute_rfm": {},
    "list_customers": {"group": "lapsed"},
    "cluster_customers": {"k": 3},
    "describe_segment": {"group": "champions"},
    "draft_campaign": {"group": "at_risk", "channel": "sms"},
    "predict_value": {"horizon_days": 30},
    "segment_migration": {"start": "2026-08-01"},
    "segment_by": {"attribute": "city", "group": "lapsed"},
    "measure_campaign": {"campaign_id": "cmp-0001"},
    "rank_groups": {"by": "value_at_stake", "scheme": "lifecycle"},
    "compare_groups": {"group_a": "champions", "group_b": "at_risk"},
    "recommend_focus": {},
    "group_entrants": {"group": "lapsed", "start": "2026-08-01"},
    "sales_over_time": {"start": "2026-01-01", "group": "loyal"},
    "order_value": {"by": "segment"},
    "top_customers": {"limit": 20},
    "purchase_rhythm": {"scheme": "lifecycle"},
    "save_segment": {"name": "Leeds win-back", "condition": "lifecycle = lapsed and city = Leeds"},
    "list_saved_segments": {},
    "show_segment": {"name": "Regulars"},
    "customers_by_attribute": {"group": "champions", "under_age": 30},
    "email_engagement": {"group": "engaged_not_buying"},
    "describe_customer": {"top_rank": 2, "by": "predicted_value"},
    "plan_campaign": {"group": "at_risk", "holdout": 0.3},
}
INVALID = {
    "load_data": ({"source": "/etc/passwd"}, "'demo'"),
    "data_overview": ({"surprise": 1}, "extra"),
    "compute_rfm": ({"as_of": 12}, "as_of"),
    "list_customers": ({"group": "vips"}, "'champions'"),
    "cluster_customers": ({"k": 40}, "k"),
    "describe_segment": ({"group": "best"}, "'cluster_1'"),
    "draft_campaign": ({"group": "at_risk", "channel": "pigeon"}, "'sms'"),
    "predict_value": ({"horizon_days": 0}, "horizon_days"),
    "segment_migration": ({"start": "2026-08-01", "scheme": "zodiac"}, "'lifecycle'"),
    "segment_by": ({"attribute": "star_sign"}, "'city'"),
    "measure_campaign": ({"campaign_id": "cmp-9999"}, "'cmp-0001'"),
    "rank_groups": ({"by": "profit"}, "'value_at_stake'"),
    "compare_groups": ({"group_a": "champions", "group_b": "vips"}, "'vips' is not a group: use one of champions"),
    "recommend_focus": ({"budget": 100}, "extra"),
    "group_entrants": ({"group": "lapsed"}, "start"),
    "sales_over_time": ({"group": "vips"}, "'champions'"),
    "order_value": ({"by": "region"}, "'segment'"),
    "top_customers": ({"limit": 0}, "limit"),
    "purchase_rhythm": ({"scheme": "zodiac"}, "'lifecycle'"),
    "save_segment": ({"name": "Leeds", "condition": "citty = Leeds"}, "did you mean city?"),
    "list_saved_segments": ({"surprise": 1}, "extra"),
    "show_segment": ({"name": "Nope"}, "the saved ones are: "),
    "customers_by_attribute": ({"attribute": "star_sign"}, "'age_band'"),
    "email_engagement": ({"group": "lurkers"}, "'unreachable'"),
    "describe_customer": ({"top_rank": 0}, "top_rank"),
    "plan_campaign": ({"group": "lapsed", "holdout": 0.9}, "holdout"),
}


@pytest.fixture(scope="module")
def ctx(demo_shops, tmp_path_factory) -> ToolContext:
    folder = tmp_path_factory.mktemp("tools")
    db = demo_shops.copy(folder, customers=800, seed=3)
    assert (
        cli.main(
            ["campaign", "create", "lapsed", "--db", str(db), "--as-of", "2026-09-01", "--out", str(folder / "cmp")]
        )
        == 0
    )
    assert cli.main(["segment", "save", "Regulars", "--where", "frequency >= 3", "--db", str(db)]) == 0
    return ToolContext(db_path=db)


@pytest.fixture(scope="module")
def personal_data(ctx) -> list[str]:
    con = connect(ctx.db_path, read_only=True)
    rows = con.execute("SELECT email, first_name || ' ' || last_name FROM customers WHERE email IS NOT NULL").fetchall()
    con.close()
    return [value for row in rows for value in row if value]


def test_every_tool_has_a_contract_case():
    assert set(VALID) == set(TOOL_NAMES) == set(INVALID)


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_valid_arguments_give_a_pii_free_result(name, ctx, personal_data, tmp_path):
    if name == "load_data":  # it replaces the shop's data: give it a database of its own
        ctx = ToolContext(db_path=tmp_path / "fresh.duckdb")
    result = run_tool(name, VALID[name], ctx)
    assert isinstance(result, ToolResult)
    assert result.summary and "@" not in result.summary
    leaked = [value for value in personal_data if value in result.summary]
    assert not leaked, f"{name} summary holds personal data: {leaked[:3]}"


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_invalid_arguments_name_the_valid_choices(name, ctx):
    args, expected = INVALID[name]
    with pytest.raises(ToolArgsError) as caught:
        run_tool(name, args, ctx)
    message = str(caught.value)
    assert message.startswith(f"{name}:") and expected in message


def test_unknown_tool_lists_the_tools(ctx):
    with pytest.raises(ToolArgsError, match="list_customers"):
        run_tool("drop_tables", {}, ctx)


def test_list_customers_states_count_rule_and_gives_the_list(ctx):
    result = run_tool("list_customers", {"group": "lapsed"}, ctx)
    con = connect(ctx.db_path, read_only=True)
    expected = customer_table(con, group="lapsed")
    con.close()
    days = expected.attrs["thresholds"]["lapsed_after_days"]
    assert result.summary.startswith(f"{len(expected):,} customers are lapsed")
    assert f"no order in the last {days} days" in result.summary
    assert result.facts["count"] == len(expected)
    assert result.downloads[0].content().decode("utf-8-sig").count("\n") == len(expected) + 1
    assert "email" in result.table.columns  # the person sees who they are; the model never does


def test_a_failure_is_one_plain_sentence(ctx):
    with pytest.raises(ToolFailure, match="not a date"):
        run_tool("compute_rfm", {"as_of": "last tuesday"}, ctx)


def test_tools_cannot_touch_files(ctx):
    with ctx.read() as con:
        with pytest.raises(duckdb.Error, match=r"(?i)permission|disabled"):
            con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM orders")


def test_sms_audience_respects_consent(ctx):
    result = run_tool("draft_campaign", {"group": "loyal", "channel": "email"}, ctx)
    con = connect(ctx.db_path, read_only=True)
    refused = {r[0] for r in con.execute("SELECT customer_id FROM customers WHERE NOT marketing_consent").fetchall()}
    con.close()
    audience = result.downloads[-1].content().decode("utf-8-sig")
    listed = set(re.findall(r"^(C\d+),", audience, flags=re.MULTILINE))
    assert listed and not (listed & refused)
    assert result.facts["left_out_no_consent"] > 0


def test_downloads_cannot_run_as_spreadsheet_formulas():
    import pandas as pd

    from tools.export import safe_csv

    frame = pd.DataFrame({"name": ["=HYPERLINK(1)", "Ann", None, "@SUM(A1)"], "spent": [1.5, -2.0, 3.0, 4.0]})
    text = safe_csv(frame).decode("utf-8-sig").splitlines()
    assert text == ["name,spent", "'=HYPERLINK(1),1.5", "Ann,-2.0", ",3.0", "'@SUM(A1),4.0"]


def test_without_artifacts_the_words_are_the_same(ctx):
    """The command line's `ask` shows only words: it skips charts and files, not facts."""
    quiet = ToolContext(db_path=ctx.db_path, artifacts=False)
    full, bare = (run_tool("list_customers", {"group": "lapsed"}, c) for c in (ctx, quiet))
    assert bare.summary == full.summary and bare.facts == full.facts
    assert full.chart is not None and full.downloads
    assert bare.chart is None and bare.downloads == []


CLUSTER_CASES = {  # every tool whose group may be a cluster, with the clustering's k (as cluster_customers had)
    "list_customers": {"group": "cluster_1", "k": 3},
    "describe_segment": {"group": "cluster_2", "k": 3},
    "draft_campaign": {"group": "cluster_1", "k": 3, "channel": "sms"},
    "predict_value": {"group": "cluster_2", "k": 3},
    "segment_by": {"attribute": "city", "group": "cluster_1", "k": 3},
    "sales_over_time": {"group": "cluster_2", "k": 3},
    "order_value": {"group": "cluster_1", "k": 3},
    "purchase_rhythm": {"group": "cluster_2", "k": 3},
    "top_customers": {"group": "cluster_1", "k": 3},
    "compare_groups": {"group_a": "cluster_1", "group_b": "cluster_2", "k": 3},
}


@pytest.mark.parametrize("name", sorted(CLUSTER_CASES))
def test_a_cluster_is_a_group_with_a_pii_free_result(name, ctx, personal_data):
    result = run_tool(name, CLUSTER_CASES[name], ctx)
    assert result.summary and "@" not in result.summary
    assert not [value for value in personal_data if value in result.summary]
    assert "cluster 1 segment" not in result.summary and "cluster_1 customers" not in result.summary
    field = "group_a" if name == "compare_groups" else "group"
    beyond = {**CLUSTER_CASES[name], field: "cluster_4"}
    with pytest.raises(ToolArgsError, match=rf"^{name}: .*cluster_1\.\.cluster_3"):
        run_tool(name, beyond, ctx)
