"""Saved segments (segmentation.custom.saved, `segments segment ...`): saved by name, a group key like any other, and
kept up to date after every import with who joined and who left, exactly."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from segmentation.custom import saved
from segmentation.importing.ingest import import_file
from segmentation.profile import UnknownGroup, find_group, group_members
from segmentation.store import STORE_LOCK, connect

from .conftest import write_csv

ORDERS = Path(__file__).parent / "fixtures" / "segment_orders.csv"  # see tests/test_conditions.py
SEGMENTS = Path(sys.executable).parent / "segments"
# Orders on 2024-07-25 from B and E. As of that day: A last bought 25 days before, B 0, C 54, D 35, E 0.
LATER = """
Order ID,Customer ID,Order Date,Quantity,Unit Price,Product,Category,Channel,City,Country,Accepts Marketing
20,B,2024-07-25,1,12,Croissant,Pastries,Online,London,UK,no
21,E,2024-07-25,1,4,Baguette,Bread,In store,O'Fallon,USA,yes
"""


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SEGMENTS), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def store(tmp_path) -> Path:
    db = tmp_path / "shop.duckdb"
    import_file(db, ORDERS)
    return db


def save(db: Path, name: str, condition: str, **kw) -> dict:
    with STORE_LOCK.exclusive(), connect(db) as con:
        return saved.save_segment(con, name, condition, **kw)


def dump(db: Path) -> dict:
    with connect(db, read_only=True) as con:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in (
                "saved_segments",
                "saved_segment_members",
                "saved_segment_history",
                "saved_segment_moves",
                "orders",
            )
        }


def test_a_saved_segment_survives_an_import_and_records_exactly_who_joined_and_left(store, tmp_path):
    # As of 2024-06-30, recency < 30: A (0), D (10), C (29).
    assert save(store, "Recent", "recency < 30")["size"] == 3
    report = import_file(store, write_csv(tmp_path / "later.csv", LATER))
    assert report.segments == [{"name": "Recent", "size": 3, "joined": 2, "left": 2}]
    assert "Saved segment 'Recent': 2 joined, 2 left; 3 now." in report.as_text()
    with connect(store, read_only=True) as con:
        assert group_members(con, "Recent") == ["A", "B", "E"]
        assert saved.segment_moves(con, "Recent", move="joined")["customer_id"].tolist() == ["B", "E"]
        assert saved.segment_moves(con, "Recent", move="left")["customer_id"].tolist() == ["C", "D"]
        history = saved.segment_history(con, "Recent")
        assert history[["record", "import_id", "size", "joined", "left"]].values.tolist() == [
            [1, 1, 3, 0, 0],
            [2, 2, 3, 2, 2],
        ]
        assert history["as_of"].dt.date.tolist() == [dt.date(2024, 6, 30), dt.date(2024, 7, 25)]
        today = dt.date.today()
        assert saved.change_words(history) == (
            f"2 joined and 2 left since the import of {today.day} {today:%B %Y}; 3 customers now."
        )
        # "Who left this month?" (the data's month: July 2024); nobody left in August.
        assert saved.segment_moves(con, "recent", move="left", since="2024-07-01")["customer_id"].tolist() == ["C", "D"]
        assert saved.segment_moves(con, "Recent", since="2024-08-01").empty


def test_the_same_file_again_adds_no_record_and_replacing_the_data_records_against_the_last(store, tmp_path):
    save(store, "Leeds", "city = Leeds")  # A, C
    import_file(store, ORDERS)  # already imported: nothing new
    assert dump(store)["saved_segment_history"][-1][1] == 1
    replacement = write_csv(
        tmp_path / "new.csv",
        """
        Order ID,Customer ID,Order Date,Quantity,Unit Price,City
        1,A,2024-08-01,1,10,Leeds
        2,F,2024-08-02,1,10,Leeds
        3,G,2024-08-02,1,10,York
        """,
    )
    report = import_file(store, replacement, replace=True)
    assert report.segments == [{"name": "Leeds", "size": 2, "joined": 1, "left": 1}]  # F joined, C left
    with connect(store, read_only=True) as con:
        moves = saved.segment_moves(con, "Leeds", last_only=True)
        assert moves[["customer_id", "move"]].values.tolist() == [["F", "joined"], ["C", "left"]]


def test_a_saved_segment_is_a_group_key_where_built_in_ones_are(store):
    save(store, "Leeds win-back", "city = Leeds and not lifecycle = new")
    with connect(store, read_only=True) as con:
        group = find_group(con, "leeds WIN-back")
        assert (group.key, group.members, group.is_saved) == ("Leeds win-back", ["A", "C"], True)
        assert group.condition == "city = Leeds and not lifecycle = new"
        with pytest.raises(UnknownGroup, match=r"or one of your saved segments \(Leeds win-back\)"):
            find_group(con, "Leeds winback")
        # At an earlier date the condition is evaluated then: on 2024-02-01 only C of Leeds had bought.
        assert group_members(con, "Leeds win-back", as_of="2024-02-01") == ["C"]


@pytest.mark.parametrize(
    ("name", "condition", "said"),
    [
        ("at risk", "city = Leeds", "already the name of a built-in group"),
        ("Lapsed", "city = Leeds", "already the name of a built-in group"),
        ("cluster_3", "city = Leeds", "already the name of a built-in group"),
        ("   ", "city = Leeds", "needs at least one letter"),
        ("x" * 61, "city = Leeds", "at most 60 characters"),
        ("bad\x1bname", "city = Leeds", "control characters"),
        ("VIPs", "citty = Leeds", "unknown field 'citty'"),
        ("VIPs", "monetary > ; DROP TABLE orders", "not understood"),
        ("Leeds", "city = York", "is saved already"),
    ],
)
def test_bad_names_and_conditions_are_refused_and_the_store_is_unchanged(store, name, condition, said):
    save(store, "Leeds", "city = Leeds")
    before = dump(store)
    with pytest.raises(
        saved.SegmentError if "field" not in said and "understood" not in said else saved.ConditionError, match=said
    ):
        save(store, name, condition)
    assert dump(store) == before


def test_the_command_line_saves_lists_shows_and_deletes(store, tmp_path):
    db = str(store)
    made = run("segment", "save", "Leeds win-back", "--where", "city = Leeds and monetary > 8", "--db", db)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Saved 'Leeds win-back': city = Leeds and monetary > 8 (2 customers now).")
    bad = run("segment", "save", "VIPs", "--where", "citty = Leeds", "--db", db)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "segments segment: unknown field 'citty': choose one of recency, frequency, monetary, r_score, f_score, "
        "m_score, segment, lifecycle, cluster, p_alive, expected_purchases, value, aov, first_order, last_order, "
        "product, category, channel, city, country, consent, age, age_band, gender, income_band, region, tag, "
        "interest, member_rating, email_consent, attribute, unsubscribed, bounced, last_open, open_rate, click_rate, "
        "engagement; did you mean city?"
    ]
    listed = run("segment", "list", "--db", db)
    assert "Leeds win-back" in listed.stdout and "VIPs" not in listed.stdout
    import_file(store, write_csv(tmp_path / "later.csv", LATER.replace("London,UK", "Leeds,UK")))  # B moves to Leeds
    joined, left = tmp_path / "joined.csv", tmp_path / "left.csv"
    shown = run("segment", "show", "leeds win-back", "--joined", str(joined), "--left", str(left), "--db", db)
    assert shown.returncode == 0, shown.stderr
    today = dt.date.today()
    assert shown.stdout.splitlines()[:2] == [
        "Leeds win-back: city = Leeds and monetary > 8",
        f"1 joined and 0 left since the import of {today.day} {today:%B %Y}; 3 customers now.",
    ]
    assert joined.read_text() == "customer_id\nB\n" and left.read_text() == "customer_id\n"
    as_json = json.loads(run("segment", "show", "Leeds win-back", "--json", "--db", db).stdout)
    assert (as_json["joined"], as_json["left"], [h["size"] for h in as_json["history"]]) == (["B"], [], [2, 3])
    moves = run("segment", "moves", "Leeds win-back", "--move", "joined", "--format", "csv", "--db", db)
    assert moves.stdout.splitlines()[:2] == ["customer_id,move,as_of,import_id", "B,joined,2024-07-25,2"]
    listed_customers = run("customers", "--where", "Leeds win-back", "--format", "csv", "--db", db)
    assert [r.split(",")[0] for r in listed_customers.stdout.splitlines()[1:]] == ["A", "B", "C"]
    missing = run("segment", "show", "Nope", "--db", db)
    assert missing.returncode == 2 and "the saved ones are: Leeds win-back" in missing.stderr
    assert run("segment", "delete", "LEEDS WIN-BACK", "--db", db).stdout.startswith(
        "Deleted the saved segment 'Leeds win-back'"
    )
    assert dump(store)["saved_segment_history"] == []
    assert run("segment", "delete", "Leeds win-back", "--db", db).returncode == 2


def test_a_campaign_and_a_profile_take_a_saved_segment(store, tmp_path):
    save(store, "Leeds", "city = Leeds")
    made = run("campaign", "create", "Leeds", "--holdout", "0.5", "--out", str(tmp_path / "c"), "--db", str(store))
    assert made.returncode == 0, made.stderr
    with connect(store, read_only=True) as con:
        assert con.execute(
            "SELECT segment, count(*) FROM campaigns JOIN campaign_members USING (campaign_id) GROUP BY ALL"
        ).fetchall() == [("Leeds", 2)]
    profile = run("profile", "Leeds", "--json", "--db", str(store))
    assert profile.returncode == 0, profile.stderr
    facts = json.loads(profile.stdout)
    assert (facts["customers"], facts["revenue"]) == (2, 59.0)


def test_saving_the_same_segment_again_changes_nothing(store):
    first = save(store, "Leeds", "city = leeds")
    before = dump(store)
    again = save(store, "LEEDS", "City  =  leeds")  # the same name and, in canonical words, the same condition
    assert (first["already"], again["already"], again["size"]) == (False, True, 2)
    assert dump(store) == before


def test_a_segment_the_new_data_cannot_evaluate_is_a_note_and_the_import_stands(store, tmp_path):
    save(store, "Leeds", "city = Leeds")
    with STORE_LOCK.exclusive(), connect(store) as con:  # saved when the shop could be clustered, say
        con.execute("INSERT INTO saved_segments VALUES ('Group one', 'cluster = cluster_1', now()::TIMESTAMP)")
    report = import_file(store, write_csv(tmp_path / "later.csv", LATER))
    assert report.import_id == 2 and report.rows_loaded == 2
    assert [s["name"] for s in report.segments] == ["Group one", "Leeds"]
    assert report.segments[0]["error"].startswith("Clustering needs at least 30 customers")
    assert "Saved segment 'Group one' could not be brought up to date: Clustering needs" in report.as_text()
    assert report.segments[1] == {"name": "Leeds", "size": 2, "joined": 0, "left": 0}


def test_a_breakdown_takes_a_saved_segment(store):
    import tools.registry  # noqa: F401  (registers every tool)
    from tools.base import ToolContext, run_tool

    save(store, "Online buyers", "channel = online")  # A, B, D
    result = run_tool(
        "segment_by", {"attribute": "country", "group": "online buyers"}, ToolContext(db_path=store, artifacts=False)
    )
    assert dict(zip(result.table["value"], result.table["customers"], strict=True)) == {"UK": 2, "France": 1}
    assert result.summary.startswith("The customers in the 'Online buyers' segment by country (3 customers")
    printed = run("breakdown", "city", "--group", "Online buyers", "--format", "csv", "--db", str(store))
    assert printed.returncode == 0, printed.stderr
    assert sorted(line.split(",")[0] for line in printed.stdout.splitlines()[1:]) == [
        "Leeds",
        "London",
        "Saint-Étienne",
    ]
