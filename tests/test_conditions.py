"""The condition language (segmentation.custom.conditions): every field and operator against a five-customer shop whose
numbers are worked out by hand, the errors a person sees, and values that try to break out of their quotes."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from segmentation.custom.conditions import (
    FIELDS,
    And,
    Compare,
    ConditionError,
    Not,
    Or,
    compile_condition,
    parse,
    to_text,
)
from segmentation.custom.saved import matching_ids
from segmentation.customers import customer_table
from segmentation.importing.ingest import import_file
from segmentation.store import connect, table_counts

ORDERS = Path(__file__).parent / "fixtures" / "segment_orders.csv"
# As of 2024-06-30 (the last order), by hand:
#   A: Leeds, UK, consent yes; 3 orders (Sourdough 20 on 03-01 and 05-01 in store, Croissant 10 online on 06-30):
#      recency 0, frequency 3, monetary 50, aov 16.67, scores 5/5/5, champions, active
#   B: London, UK, no; Birthday cake 45 online on 01-10: recency 172, 1, 45, scores 2/1/3, hibernating, lapsed
#   C: Leeds, UK, consent unknown; Croissants in store 6 on 2023-12-01 and 3 on 06-01: recency 29, 2, 9, aov 4.5,
#      scores 3/4/2, loyal, active
#   D: Saint-Étienne, France, yes; one online order on 06-20: Birthday cake 45 and a 2.00 drink whose product name
#      is an SQL injection: recency 10, 1, 47, scores 4/1/4, promising, new
#   E: O'Fallon, USA, no; Baguettes 5 in store on 2023-07-01: recency 365, 1, 5, scores 1/1/1, hibernating, lapsed
# Lifecycle: too few repeat buyers, so the standard windows of 60 and 120 days.


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    db = tmp_path_factory.mktemp("conditions") / "shop.duckdb"
    import_file(db, ORDERS)
    con = connect(db, read_only=True)
    yield con
    con.close()


def ids(con, condition: str, **kw) -> list[str]:
    return matching_ids(con, condition, **kw)


CASES = [
    # numbers
    ("recency <= 29", ["A", "C", "D"]),
    ("recency < 10", ["A"]),
    ("recency > 172", ["E"]),
    ("recency_days >= 172", ["B", "E"]),
    ("frequency >= 2", ["A", "C"]),
    ("frequency = 1", ["B", "D", "E"]),
    ("frequency != 1", ["A", "C"]),
    ("monetary between 40 and 50", ["A", "B", "D"]),
    ("monetary = 45", ["B"]),
    ("monetary in (5, 9)", ["C", "E"]),
    ("spend > £46", ["A", "D"]),
    ("monetary between 50 and 40", ["A", "B", "D"]),
    ("monetary not between 6 and 46", ["A", "D", "E"]),
    # scores
    ("r_score >= 4", ["A", "D"]),
    ("f_score = 1", ["B", "D", "E"]),
    ("f_score in (4, 5)", ["A", "C"]),
    ("m_score = 4", ["D"]),
    ("m_score between 2 and 3", ["B", "C"]),
    # groups
    ("segment = champions", ["A"]),
    ("segment in (hibernating, loyal)", ["B", "C", "E"]),
    ("segment = 'Promising'", ["D"]),
    ("segment != hibernating", ["A", "C", "D"]),
    ("lifecycle = lapsed", ["B", "E"]),
    ("stage = active", ["A", "C"]),
    ("lifecycle in (new, lapsed)", ["B", "D", "E"]),
    # dates and average order value
    ("first_order < 2024-01-01", ["C", "E"]),
    ("last_order >= 2024-06-01", ["A", "C", "D"]),
    ("last_order between 2024-01-01 and 2024-06-19", ["B", "C"]),
    ("first_order = 2024-06-20", ["D"]),
    ("aov > 40", ["B", "D"]),
    ("aov <= 5", ["C", "E"]),
    ("average_order_value = 16.67", ["A"]),
    # what they bought, ever or in a window (case does not matter)
    ('bought "birthday cake"', ["B", "D"]),
    ('bought "Birthday cake" in last 90 days', ["D"]),
    ("bought Croissant in last 30 days", ["A", "C"]),
    ("bought Croissant in the last 29 days", ["A"]),
    ("bought category Bread", ["A", "E"]),
    ("bought (Baguette, Croissant)", ["A", "C", "E"]),
    ("category = Pastries", ["A", "C"]),
    ("category != Bread", ["B", "C", "D"]),
    ("category = Pastries in last 1 days", ["A"]),
    ("product contains cake", ["B", "D"]),
    ("product in (Baguette, Croissant)", ["A", "C", "E"]),
    ("product not in (Baguette, Croissant)", ["B", "D"]),
    ("product not contains cake", ["A", "C", "E"]),
    ("channel = online", ["A", "B", "D"]),
    ('channel = "in store"', ["A", "C", "E"]),
    ("channel = online within 30 days", ["A", "D"]),
    # place and consent
    ("city = leeds", ["A", "C"]),
    ("city != Leeds", ["B", "D", "E"]),
    ("city contains fall", ["E"]),
    ("country in (UK, France)", ["A", "B", "C", "D"]),
    ("country not in (UK)", ["D", "E"]),
    ("consent = yes", ["A", "D"]),
    ("consent = no", ["B", "E"]),
    ("consent = unknown", ["C"]),
    ("consent != yes", ["B", "C", "E"]),
    ("marketing_consent = true", ["A", "D"]),
    # and / or / not, parentheses
    ("city = Leeds and (frequency >= 3 or consent = unknown)", ["A", "C"]),
    ("not (city = Leeds or consent = no)", ["D"]),
    ("city = Leeds and not consent = yes", ["C"]),
    ("CITY = Leeds AND NOT Consent = yes", ["C"]),
    ("lifecycle = lapsed or segment = champions", ["A", "B", "E"]),
    ("not not city = London", ["B"]),
]


@pytest.mark.parametrize(("condition", "expected"), CASES, ids=[c for c, _ in CASES])
def test_every_field_and_operator_selects_the_customers_worked_out_by_hand(shop, condition, expected):
    assert ids(shop, condition) == expected


def test_the_cases_cover_every_field_and_operator():
    texts = " ".join(c for c, _ in CASES).lower()
    orders = {name for name, spec in FIELDS.items() if spec.source == "orders"}  # lists' and emails': their own file
    covered = {name for name in orders if name in texts} | {"value", "p_alive", "expected_purchases", "cluster"}
    assert covered == orders  # the predicted ones and cluster are tested below with numbers set by hand
    for op in (
        "<=",
        ">=",
        "!=",
        " < ",
        " > ",
        " = ",
        " in (",
        " not in (",
        "between",
        "contains",
        "bought",
        " not ",
        " or ",
        " and ",
        "(",
    ):
        assert op in texts, op


def test_a_value_the_data_does_not_have_is_false_and_not_is_its_exact_complement(shop):
    # A five-customer shop is too small for the value models: p_alive is empty for everyone.
    assert ids(shop, "p_alive > 0") == []
    assert ids(shop, "not p_alive > 0") == ["A", "B", "C", "D", "E"]


def test_predicted_fields_read_the_customer_table(shop):
    table = customer_table(shop).copy()
    table["p_alive"] = [0.9, 0.2, 0.55, 0.7, 0.05]
    table["expected_purchases"] = [2.5, 0.1, 1.0, 0.8, 0.0]
    table["clv"] = [120.0, 3.0, 15.0, 40.0, 0.0]
    assert ids(shop, "p_alive > 0.5", table=table) == ["A", "C", "D"]
    assert ids(shop, "p_alive >= 70%", table=table) == ["A", "D"]
    assert ids(shop, "p_alive < 50", table=table) == ["B", "E"]  # 50 of 100
    assert ids(shop, "expected_purchases >= 1", table=table) == ["A", "C"]
    assert ids(shop, "value between 10 and 50", table=table) == ["C", "D"]
    assert ids(shop, "clv > 100 or predicted_value = 0", table=table) == ["A", "E"]


def test_cluster_reads_the_automatic_clustering(shop, monkeypatch):
    from segmentation import clustering

    assignments = pd.DataFrame(
        {"customer_id": list("ABCDE"), "cluster": ["cluster_1", "cluster_2", "cluster_1", "cluster_2", "cluster_3"]}
    )
    monkeypatch.setattr(clustering, "cluster_customers", lambda con, **kw: SimpleNamespace(assignments=assignments))
    assert ids(shop, "cluster = cluster_1") == ["A", "C"]
    assert ids(shop, "cluster in (2, 3)") == ["B", "D", "E"]
    assert ids(shop, "cluster != group_2") == ["A", "C", "E"]


def test_an_as_of_date_replays_the_past(shop):
    # On 2024-02-01 only B, C and E had bought: B 22 days before, C 62, E 215.
    assert ids(shop, "recency < 30", as_of="2024-02-01") == ["B"]
    assert ids(shop, 'bought "Birthday cake" in last 30 days', as_of=dt.date(2024, 2, 1)) == ["B"]


def test_the_tree_is_typed():
    tree = parse(
        "Segment = 'At risk' or (city = \"Hebden Bridge\" and not monetary > £100) and bought Croissant in last 30 days"
    )
    assert tree == Or(
        (
            Compare("segment", "=", ("at_risk",)),
            And(
                (
                    Compare("city", "=", ("Hebden Bridge",)),
                    Not(Compare("monetary", ">", (100.0,))),
                    Compare("product", "=", ("Croissant",), window_days=30),
                )
            ),
        )
    )
    assert to_text(tree) == (
        'segment = at_risk or (city = "Hebden Bridge" and not monetary > 100 and product = Croissant in last 30 days)'
    )


def test_a_segment_named_as_a_stage_says_where_it_belongs():
    with pytest.raises(ConditionError, match="at_risk is an RFM segment: write segment = at_risk"):
        parse("lifecycle = 'at risk'")
    with pytest.raises(ConditionError, match="lapsed is a lifecycle stage: write lifecycle = lapsed"):
        parse("segment = lapsed")


@pytest.mark.parametrize(
    "text",
    [
        "lifecycle = lapsed and city = Leeds and monetary > 100",
        'bought "Birthday cake" in last 90 days',
        "category = Pastries or (r_score >= 4 and not consent = no)",
        'product not in (Baguette, "Pain au chocolat") and aov between 5 and 10',
        'city = "O\'Fallon" or city contains "a \\"quoted\\" word"',
        'segment = "can\'t lose them" and last_order < 2024-01-01',
    ],
)
def test_canonical_words_parse_back_to_the_same_tree(text):
    tree = parse(text)
    assert parse(to_text(tree)) == tree


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("monetary > 1000000", "monetary > 1000000"),  # was written '1e+06', which the tokenizer cannot read
        ("monetary > 1234567.5", "monetary > 1234567.5"),  # was rounded to '1.23457e+06'
        ("p_alive > 0.00001", "p_alive > 0.00001"),
        ("monetary > 100000000000000000000", "monetary > 100000000000000000000"),
        ("aov between 5 and 10.25", "aov between 5 and 10.25"),
    ],
)
def test_numbers_are_written_back_in_full_never_in_exponent_form(text, canonical):
    tree = parse(text)
    assert to_text(tree) == canonical
    assert parse(to_text(tree)) == tree


def test_enum_values_are_the_keys_whatever_way_they_are_written():
    assert parse("segment = 'At risk'") == Compare("segment", "=", ("at_risk",))
    assert parse("segment = at-risk") == Compare("segment", "=", ("at_risk",))
    assert parse('segment = "Can\'t lose them"') == Compare("segment", "=", ("cannot_lose_them",))
    assert parse("lifecycle = LAPSED") == Compare("lifecycle", "=", ("lapsed",))


BAD = [
    ("citty = Leeds", "unknown field 'citty': choose one of recency, frequency, monetary", "did you mean city?"),
    ("lifecycle = lapsd", "lifecycle must be one of new, active, lapsing, lapsed", "did you mean lapsed?"),
    ("segment = vip", "segment must be one of champions, loyal", "'vip'"),
    ("monetary > lots", "monetary is a number", "'lots'"),
    ("r_score = 7", "r_score is a score from 1 to 5", "'7'"),
    ("p_alive > 2%%", "not understood", ""),
    ("p_alive > 150", "p_alive is a chance from 0 to 1", "'150'"),
    ("first_order > 1/2/2024", "first_order is a date: write '1/2/2024' as YYYY-MM-DD", ""),
    ("consent = maybe", "consent must be one of yes, no, unknown", "'maybe'"),
    ("bought Birthday cake", "'cake' (at character 17) is not understood", "goes in quotes"),
    ("(city = Leeds", "stops too soon", "closing ')'"),
    ("city = Leeds)", "')' (at character 13) is not understood", ""),
    ("city Leeds", "an operator after city (=, !=, in, contains)", ""),
    ("city > Leeds", "city cannot be compared with '>'", "use one of =, !=, in, contains"),
    ("segment contains champ", "segment cannot be compared with 'contains'", ""),
    ("lifecycle = lapsed and", "stops too soon", "a field"),
    ("", "The condition is empty", ""),
    ("   ", "The condition is empty", ""),
    ("bought Croissant in last 0 days", "a whole number of days from 1", ""),
    ("bought Croissant in last 30 weeks", "'days'", ""),
    ("city in ()", "a value for city", ""),
    ("not", "stops too soon", ""),
    ("monetary > 1 " + "or monetary > 1 " * 100, "characters long", ""),
    ("(" * 30 + "city = Leeds" + ")" * 30, "nests more than 20 levels", ""),
    ("city = 🙂", "'🙂' (at character 8) is not understood", "in quotes"),
]


@pytest.mark.parametrize(("text", "said", "also"), BAD, ids=[b[0][:40] or "empty" for b in BAD])
def test_bad_conditions_say_what_was_not_understood_and_the_choices(text, said, also):
    with pytest.raises(ConditionError) as caught:
        parse(text)
    message = str(caught.value)
    assert said in message
    assert also in message
    assert "\n" not in message and "Traceback" not in message


# Values that try to leave their quotes. Each reaches DuckDB as a bound parameter: it matches (or not) as the
# text it is, and the store is the same afterwards.
INJECTIONS = [
    ('city = "x\'; DROP TABLE orders; --"', []),
    ("city = 'x\\'; DROP TABLE customers; --'", []),
    ('product = "x\'); DROP TABLE orders; --"', ["D"]),  # a real product of D's, with that name
    ('bought "x\'); DROP TABLE orders; --" in last 30 days', ["D"]),
    ('city = "O\'Fallon"', ["E"]),
    ("city = 'O\\'Fallon'", ["E"]),
    ("city = Saint-Étienne", ["D"]),
    ('city = "Leeds\\" OR 1=1 --"', []),
    ("city in (\"Leeds') OR ('1'='1\", London)", ["B"]),
    ('country contains "%"', []),
    ('city contains "_"', []),
    ('product = "$as_of"', []),
    ('city = "\'; SELECT * FROM customers; --" or city = London', ["B"]),
    ('city = "\\u0000"', []),
    ('city = "Ｌｅｅｄｓ"', []),  # full-width letters are other letters, not Leeds
]


@pytest.mark.parametrize(("condition", "expected"), INJECTIONS, ids=[i[0][:40] for i in INJECTIONS])
def test_values_are_bound_parameters_never_sql(shop, condition, expected):
    before = table_counts(shop)
    compiled = compile_condition(parse(condition))
    for value in compiled.params.values():
        if isinstance(value, str) and not value.startswith("$"):  # "$as_of" is also the date's own parameter
            assert value not in compiled.sql
    assert "DROP" not in compiled.sql and "'" not in compiled.sql.replace("'day'", "")
    assert set(compiled.params) == {f"v{i}" for i in range(1, len(compiled.params) + 1)}
    assert ids(shop, condition) == expected
    assert table_counts(shop) == before


@pytest.mark.parametrize(
    "text",
    [
        "orders; DROP TABLE orders = 1",
        '"city" = Leeds',
        "city) OR (1 = 1",
        "1 = 1",
        "customer_id = A",
        "email contains @",
        "f.city = Leeds",
        "city = Leeds; DROP TABLE orders",
        "city = Leeds -- comment",
    ],
)
def test_field_names_come_only_from_the_fixed_list(text):
    with pytest.raises(ConditionError):
        parse(text)


def test_a_condition_on_a_copy_of_the_store_changes_no_byte_of_it(shop, tmp_path):
    path = Path(
        shop.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    )
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    before = copy.read_bytes()
    with connect(copy, read_only=True) as con:
        assert matching_ids(con, 'product = "x\'); DROP TABLE orders; --"') == ["D"]
    assert copy.read_bytes() == before
