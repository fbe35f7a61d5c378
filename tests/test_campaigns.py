"""Campaigns with a control group: splits are reproducible, consent is respected, and measured lift
matches follow-up orders constructed with a known effect."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

import cli
from segmentation.importing.ingest import import_file
from segmentation.outreach.campaigns import arm_csv, detectable_lift, measure_campaign, split_sizes, suggest_holdout
from segmentation.store import connect

AS_OF = dt.date(2024, 1, 1)
N = 400
REFUSED = {f"K{i:03d}" for i in range(0, N, 10)}  # every tenth customer said no to marketing


@pytest.fixture
def shop(tmp_path):
    """400 customers who each bought once in 2023: all lapsed on 2024-01-01."""
    rows = ["Customer ID,Order Date,Amount,Email,First Name,Accepts Marketing"]
    for i in range(N):
        cid = f"K{i:03d}"
        first = "=HYPERLINK(1)" if i == 1 else f"Name{i}"
        rows.append(f'{cid},2023-03-01,15,{cid.lower()}@example.com,"{first}",{"no" if cid in REFUSED else "yes"}')
    rows.append("LATE,2023-12-31,5,late@example.com,Late,yes")  # the last order day before the campaign
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(rows) + "\n")
    db = tmp_path / "shop.duckdb"
    import_file(db, path)
    return db


def _create(db, out, *extra):
    args = ["campaign", "create", "lapsed", "--db", str(db), "--as-of", str(AS_OF), "--out", str(out), "--json"]
    return cli.main(args + list(extra))


def _ids(path) -> list[str]:
    with open(path, newline="") as fh:
        return [row["customer_id"] for row in csv.DictReader(fh)]


def test_split_is_reproducible_without_overlap_and_respects_consent(shop, tmp_path, capsys):
    assert _create(shop, tmp_path / "a", "--holdout", "0.5", "--seed", "7") == 0
    created = json.loads(capsys.readouterr().out)
    # K001's row was rejected at import (a formula-like name) and LATE bought the day before (stage 'new'):
    # 399 lapsed customers, 40 of whom said no to marketing.
    eligible = N - 1 - len(REFUSED)
    assert (created["audience"], created["control"], created["excluded_no_consent"]) == (
        eligible - round(eligible * 0.5),
        round(eligible * 0.5),
        len(REFUSED),
    )
    audience, control = _ids(created["audience_csv"]), _ids(created["control_csv"])
    assert not set(audience) & set(control)
    assert not (set(audience) | set(control)) & REFUSED
    with open(created["audience_csv"], newline="") as fh:
        header = next(csv.reader(fh))
        names = [row[2] for row in csv.reader(fh)]
    assert header == ["customer_id", "Email", "First Name", "Last Name"]
    assert "=HYPERLINK(1)" not in names  # a formula cell is defused: it was rejected at import anyway
    assert _create(shop, tmp_path / "b", "--holdout", "0.5", "--seed", "7") == 0
    again = json.loads(capsys.readouterr().out)
    assert _ids(again["control_csv"]) == control
    assert _create(shop, tmp_path / "c", "--holdout", "0.5", "--seed", "8") == 0
    assert _ids(json.loads(capsys.readouterr().out)["control_csv"]) != control


def test_measured_lift_matches_a_known_effect(shop, tmp_path, capsys):
    assert _create(shop, tmp_path / "arms", "--holdout", "0.5", "--seed", "3") == 0
    created = json.loads(capsys.readouterr().out)
    audience, control = _ids(created["audience_csv"]), _ids(created["control_csv"])
    # Follow-up orders with a known effect: messaged customers buy with chance 0.30, held-out ones 0.10,
    # each buyer spends 20.00 in the window; one more order falls outside it and must not count.
    rng = np.random.default_rng(11)
    treated_buyers = [c for c in audience if rng.random() < 0.30]
    control_buyers = [c for c in control if rng.random() < 0.10]
    rows = ["Customer ID,Order Date,Amount"]
    rows += [f"{c},2024-01-10,20" for c in treated_buyers + control_buyers]
    rows += [f"{audience[0]},2024-01-01,99", f"{control[0]},2024-02-15,99"]  # on the as-of day / after 30 days
    follow = tmp_path / "follow_up.csv"
    follow.write_text("\n".join(rows) + "\n")
    import_file(shop, follow)

    con = connect(shop, read_only=True)
    result = measure_campaign(con, created["id"], window_days=30)
    con.close()
    t, c = result.treated, result.control
    assert (t["customers"], t["buyers"]) == (len(audience), len(treated_buyers))
    assert (c["customers"], c["buyers"]) == (len(control), len(control_buyers))
    assert t["revenue_per_customer"] == pytest.approx(20 * len(treated_buyers) / len(audience))
    assert c["revenue_per_customer"] == pytest.approx(20 * len(control_buyers) / len(control))
    observed = len(treated_buyers) / len(audience) - len(control_buyers) / len(control)
    assert result.lift["conversion_diff"] == pytest.approx(observed, abs=1e-6)
    assert result.lift["ci_low"] <= 0.20 <= result.lift["ci_high"]  # the truth is inside the interval
    assert result.lift["revenue_ci_low"] <= 4.0 <= result.lift["revenue_ci_high"]  # 20 x (0.30 - 0.10)
    assert result.lift["p_value"] < 0.001
    assert result.verdict.startswith("The campaign brought")
    assert "extra buyers per 100 customers (95%:" in result.verdict


def test_small_groups_are_told_honestly(shop, tmp_path, capsys):
    assert _create(shop, tmp_path / "small", "--holdout", "0.05", "--seed", "1") == 0
    created = json.loads(capsys.readouterr().out)
    con = connect(shop, read_only=True)
    result = measure_campaign(con, created["id"])
    con.close()
    assert result.verdict.startswith("Too few customers to tell, however long you wait")


def test_unknown_campaign_and_bad_holdout_are_exit_2(shop, tmp_path, capsys):
    assert cli.main(["campaign", "measure", "cmp-9999", "--db", str(shop)]) == 2
    assert "no campaign 'cmp-9999'" in capsys.readouterr().err
    assert _create(shop, tmp_path / "x", "--holdout", "1.5") == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_a_campaign_with_no_orders_after_its_date_says_no_results_yet(shop, tmp_path, capsys):
    # LATE's order on 2023-12-31 is the data's last: a campaign on 2024-01-01 has nothing after it to measure.
    assert _create(shop, tmp_path / "c", "--holdout", "0.5") == 0
    created = json.loads(capsys.readouterr().out)
    with connect(shop, read_only=True) as con:
        result = measure_campaign(con, created["id"])
        listed = arm_csv(con, created["id"], "control")
    assert result.days_observed == 0
    assert result.verdict.startswith("No results yet: the data has no orders after 1 Jan 2024")
    # The app's in-memory list is the file the command line wrote, byte for byte.
    assert listed == Path(created["control_csv"]).read_bytes()


def test_detectable_lift_is_the_two_proportion_formula_by_hand():
    # (1.959964 + 0.841621) x sqrt(0.1 x 0.9 x (1/97 + 1/11)) = 2.801585 x 0.0954445 = 0.267396
    assert detectable_lift(97, 11, 0.1) == pytest.approx(0.267396, abs=1e-5)
    # 400 and 400 at 20%: 2.801585 x sqrt(0.16 x 2/400) = 2.801585 x 0.0282843 = 0.079241
    assert detectable_lift(400, 400, 0.2) == pytest.approx(0.079241, abs=1e-5)
    assert detectable_lift(10, 0, 0.2) == 1.0


def test_suggested_holdout_is_the_smallest_share_that_can_show_the_lift():
    shares = tuple(round(0.05 * i, 2) for i in range(1, 11))
    # 1,000 eligible, 10 in 100 buying anyway: 2.801585 x sqrt(0.09 x (1/messaged + 1/held out)) by hand is
    # 0.061380 at 25% (750 / 250), 0.057998 at 30%, 0.055723 at 35%, 0.053424 at 45%, 0.053156 at 50%:
    # no share shows 5 points, and 30% is the first to show 6.
    assert suggest_holdout(1000, 0.1, 0.05, shares) is None
    assert suggest_holdout(1000, 0.1, 0.06, shares) == 0.3
    assert split_sizes(1000, 0.3) == (700, 300)
    # 100 eligible: a control of 30 needs 30% (70 / 30: 0.183407), and even half cannot show 5 points.
    assert suggest_holdout(100, 0.1, 0.05, shares) is None
    assert suggest_holdout(100, 0.1, 0.3, shares) == 0.3


def test_without_out_the_lists_go_beside_the_database_one_folder_per_shop(shop, tmp_path, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # where the command is run from does not matter
    other = tmp_path / "other_shop.duckdb"
    import shutil

    shutil.copy(shop, other)
    created = []
    for db in (shop, other):
        assert cli.main(["campaign", "create", "lapsed", "--db", str(db), "--as-of", str(AS_OF), "--json"]) == 0
        created.append(json.loads(capsys.readouterr().out))
    first, second = created
    assert first["id"] == second["id"] == "cmp-0001"  # ids restart in every shop: the folders must not
    assert Path(first["audience_csv"]) == tmp_path / "shop-campaigns" / "cmp-0001" / "audience.csv"
    assert Path(second["audience_csv"]) == tmp_path / "other_shop-campaigns" / "cmp-0001" / "audience.csv"
    assert list(elsewhere.iterdir()) == []
