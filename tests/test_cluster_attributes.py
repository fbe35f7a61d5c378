"""Clustering on chosen attributes beside behaviour (issue 19): ``cluster_customers(attributes=...)``, the tool's
``attributes`` argument and ``segments clusters --with``, on shops built so that an attribute is the only thing,
or the second thing, that tells two groups apart.

- ``twins``: 40 customers who each bought one 10.00 loaf on 2024-06-30, alike in every behaviour feature; T01-T20
  are tagged vegan in the customer list, T21-T40 are tagged events.
- ``regulars``: 20 customers F01-F20 who bought 10.00 on 2024-01-10, 03-01, 05-01 and 06-30, and 20 O01-O20 who
  bought once, 30.00 on 2024-02-01: two behaviour groups. F01-F10 and O01-O10 are 25, the rest 65.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from segmentation.cluster_attributes import parse_choices
from segmentation.clustering import cluster_customers
from segmentation.importing.ingest import import_file
from segmentation.store import connect
from segmentation.vocabulary import AnalysisError
from tools.base import ToolArgsError, ToolContext
from tools.registry import run_tool

SEGMENTS = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "segments"
HEADER = "Order ID,Customer ID,Order Date,Product,Category,Quantity,Unit Price\n"


def _ids(prefix: str, first: int, last: int) -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(first, last + 1)]


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("twins")
    ids = _ids("T", 1, 40)
    (folder / "orders.csv").write_text(HEADER + "".join(f"{c},{c},2024-06-30,Loaf,Bread,1,10\n" for c in ids))
    (folder / "list.csv").write_text(
        "Customer ID,Tags\n" + "".join(f"{c},{'vegan' if i < 20 else 'events'}\n" for i, c in enumerate(ids))
    )
    db = folder / "shop.duckdb"
    import_file(db, folder / "orders.csv")
    import_file(db, folder / "list.csv")
    return db


@pytest.fixture(scope="module")
def regulars(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("regulars")
    rows = []
    for c in _ids("F", 1, 20):
        rows += [
            f"{c}-{n},{c},{day},Loaf,Bread,1,10\n"
            for n, day in enumerate(("2024-01-10", "2024-03-01", "2024-05-01", "2024-06-30"))
        ]
    rows += [f"{c}-0,{c},2024-02-01,Cake,Cakes,1,30\n" for c in _ids("O", 1, 20)]
    (folder / "orders.csv").write_text(HEADER + "".join(rows))
    young = _ids("F", 1, 10) + _ids("O", 1, 10)
    (folder / "list.csv").write_text(
        "Customer ID,Age\n" + "".join(f"{c},{25 if c in young else 65}\n" for c in _ids("F", 1, 20) + _ids("O", 1, 20))
    )
    db = folder / "shop.duckdb"
    import_file(db, folder / "orders.csv")
    import_file(db, folder / "list.csv")
    return db


def groups(result) -> set[frozenset[str]]:
    frame = result.assignments
    return {frozenset(frame.loc[frame["cluster"] == key, "customer_id"]) for key in frame["cluster"].unique()}


def test_a_tag_splits_customers_alike_in_everything_else(twins):
    with connect(twins, read_only=True) as con:
        with pytest.raises(AnalysisError, match="All 40 customers look alike"):
            cluster_customers(con, k=2)
        result = cluster_customers(con, k=2, attributes=("tag:vegan",))
    assert groups(result) == {frozenset(_ids("T", 1, 20)), frozenset(_ids("T", 21, 40))}
    profile = {c["name"]: c["profile"]["tag:vegan"] for c in result.as_dict()["clusters"]}
    vegan = next(name for name in profile if name.startswith("Vegan"))
    assert profile[vegan] == 1.0 and sorted(profile.values()) == [0.0, 1.0]


def test_age_splits_each_behaviour_group_in_two(regulars):
    with connect(regulars, read_only=True) as con:
        behaviour = cluster_customers(con, k=2)
        with_age = cluster_customers(con, k=4, attributes="age")
        again = cluster_customers(con, k=2)  # a clustering with attributes is its own memo entry
    frequent, once = frozenset(_ids("F", 1, 20)), frozenset(_ids("O", 1, 20))
    assert groups(behaviour) == {frequent, once} == groups(again)
    young = frozenset(_ids("F", 1, 10) + _ids("O", 1, 10))
    assert groups(with_age) == {frequent & young, frequent - young, once & young, once - young}
    ages = sorted((c["profile"]["age"], c["name"].split(" ")[0]) for c in with_age.as_dict()["clusters"])
    assert ages == [(25.0, "Younger"), (25.0, "Younger"), (65.0, "Older"), (65.0, "Older")]
    assert "with_age" in with_age.clusters.columns and "with_age" not in behaviour.clusters.columns


@pytest.mark.parametrize(
    ("choices", "said"),
    [
        ("shoe_size", "'shoe_size' cannot be used to cluster: choose from age, member_rating, open_rate"),
        ("tag:gluten-free", "No customer has the tag 'gluten-free': the tags in your lists are: events, vegan."),
        ("open_rate", "No customer has an open rate in your data: import an email activity export with it"),
        ("age", "No customer has an age in your data: import a customer list with it"),
    ],
)
def test_a_choice_the_data_cannot_give_is_one_sentence(twins, choices, said):
    with connect(twins, read_only=True) as con, pytest.raises(AnalysisError) as caught:
        cluster_customers(con, k=2, attributes=choices)
    assert str(caught.value).startswith(said)


def test_choices_are_tidied():
    assert parse_choices(" Age, open_rate ,TAG: Vegan,age, interests=coffee") == (
        "age",
        "open_rate",
        "tag:vegan",
        "interest:coffee",
    )
    assert parse_choices(None) == () and parse_choices([]) == ()


def test_the_tool_takes_attributes_and_asks_for_age_only_when_the_owner_did(regulars, twins):
    tagged = run_tool("cluster_customers", {"k": 2, "attributes": ["tag:vegan"]}, ToolContext(db_path=twins))
    assert "Clustered on behaviour and tag:vegan." in tagged.summary and "because you asked" not in tagged.summary
    ctx = ToolContext(db_path=regulars, asked="split my customers into groups")
    with pytest.raises(ToolArgsError, match="cluster_customers: the owner did not ask to narrow by age"):
        run_tool("cluster_customers", {"k": 4, "attributes": ["age"]}, ctx)
    asked = ToolContext(db_path=regulars, asked="split my customers into groups by behaviour and age")
    result = run_tool("cluster_customers", {"k": 4, "attributes": ["age"]}, asked)
    assert result.summary.endswith(
        "These groups are made with age because you asked for it; they are otherwise made from behaviour alone."
    )
    with pytest.raises(ToolArgsError, match="'height' cannot be used to cluster"):
        run_tool("cluster_customers", {"attributes": ["height"]}, asked)


def test_the_command_line_clusters_with_attributes(regulars):
    done = subprocess.run(
        [str(SEGMENTS), "clusters", "--k", "4", "--with", "age", "--db", str(regulars)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "4 clusters (silhouette 1.00), on behaviour and age:"
    assert sorted(line.rsplit(", ", 1)[1] for line in lines[1:]) == ["age median 25"] * 2 + ["age median 65"] * 2
    bad = subprocess.run(
        [str(SEGMENTS), "clusters", "--with", "age,shoe_size", "--db", str(regulars)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == (
        "segments clusters: 'shoe_size' cannot be used to cluster: choose from age, "
        "member_rating, open_rate, click_rate, email_consent, unsubscribed, bounced, "
        "tag:NAME or interest:NAME (e.g. --with age,open_rate,tag:vegan)."
    )
