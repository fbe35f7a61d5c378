"""Conditions over who customers are and how they take the emails (issues 18 and 19): every attribute field and
operator against the five-customer shop of test_conditions, with a customer list and email activity whose
facts are worked out by hand; the errors a person sees; values that try to leave their quotes.

As of 2024-06-30 (the orders' last day), from tests/fixtures/attributes:
- customers.csv: A born 1999-07-01 (24, a day short of 25: band 18-24), female, income 30000 (25k-50k), West
  Yorkshire, tags vip and wholesale, interests vegan and gluten-free, email consent yes, rating 5, favourite
  bread Rye. B born 1994-06-30 (30 that day: 30-34), male, 120000 (100k+), Greater London, tag vip, interest
  cakes, consent no, rating 2, Sourdough. C: no birth date, gender or income; West Yorkshire, no tags,
  interest vegan, consent yes, rating 3, no bread. D born 1960-01-15 (64: 55-64), Female, 50000 (50k-100k),
  Auvergne, tag wholesale, no interests, consent not given, rating 4, rye. E is in no list. Z is nobody's.
- activity.csv (June news sent 2024-06-01, May offer 2024-05-01): A opened both (last 2024-06-02), clicked one:
  open rate 1, click rate 0.5. B opened May's (05-02) and unsubscribed: 0.5, 0. C opened none of two: 0, 0.
  D was sent June's, which bounced: 0, 0. E opened June's (06-10) and clicked it, not May's: 0.5, 0.5.
- The email groups over the 90 days after 2024-04-01: B (unsubscribed) and D (bounced) unreachable; C bought on
  06-01 and opened nothing sent in the window: buying_not_opening; E opened on 06-10, last bought 2023-07-01:
  engaged_not_buying; A bought and opened: in none.
- Lifecycle (test_conditions): A and C active, D new, B and E lapsed; A champions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentation.custom.conditions import (
    FIELDS,
    Compare,
    ConditionError,
    compile_condition,
    parse,
    sensitive_fields,
    to_text,
)
from segmentation.custom.saved import matching_ids
from segmentation.importing.ingest import import_file
from segmentation.store import connect, table_counts

FIXTURES = Path(__file__).parent / "fixtures"
ATTRIBUTES = FIXTURES / "attributes"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    db = tmp_path_factory.mktemp("attribute_conditions") / "shop.duckdb"
    import_file(db, FIXTURES / "segment_orders.csv")
    import_file(db, ATTRIBUTES / "customers.csv")
    import_file(db, ATTRIBUTES / "activity.csv")
    con = connect(db, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def bare_shop(tmp_path_factory):
    """The same orders, no list and no activity."""
    db = tmp_path_factory.mktemp("attribute_conditions_bare") / "shop.duckdb"
    import_file(db, FIXTURES / "segment_orders.csv")
    con = connect(db, read_only=True)
    yield con
    con.close()


CASES = [
    # age, worked out at the date from the birth date; a customer without one is in neither side
    ("age < 30", ["A"]),
    ("age >= 30", ["B", "D"]),
    ("not age < 30", ["B", "C", "D", "E"]),
    ("age between 25 and 64", ["B", "D"]),
    ("age in (24, 30)", ["A", "B"]),
    ("age != 24", ["B", "D"]),
    ("age_band = 18-24", ["A"]),
    ('age_band in ("30-34", "55-64")', ["B", "D"]),
    ("age_band contains 5", ["D"]),
    # gender, income, region: one value each, any case
    ("gender = female", ["A", "D"]),
    ("gender != female", ["B"]),
    ("not gender = female", ["B", "C", "E"]),
    ("sex = MALE", ["B"]),
    ('income_band = "100k+"', ["B"]),
    ('income in ("25k-50k", "50k-100k")', ["A", "D"]),
    ('region = "west yorkshire"', ["A", "C"]),
    ("region contains london", ["B"]),
    ("region != Auvergne", ["A", "B", "C"]),
    # tags and interests: several each; != is "does not have it", also for a customer with none
    ("tag = vip", ["A", "B"]),
    ("tag = VIP", ["A", "B"]),
    ("tag != vip", ["C", "D", "E"]),
    ("tag in (wholesale, vip)", ["A", "B", "D"]),
    ("tag not in (vip)", ["C", "D", "E"]),
    ("tags contains whole", ["A", "D"]),
    ("interest = vegan", ["A", "C"]),
    ('interest = "Gluten-free"', ["A"]),
    ("interest != vegan", ["B", "D", "E"]),
    ("interest not contains veg", ["B", "D", "E"]),
    ("interests in (cakes, vegan)", ["A", "B", "C"]),
    # the lists' rating and consent
    ("member_rating >= 4", ["A", "D"]),
    ("member_rating between 2 and 3", ["B", "C"]),
    ("rating = 5", ["A"]),
    ("email_consent = yes", ["A", "C"]),
    ("email_consent = no", ["B"]),
    ("email_consent = unknown", ["D", "E"]),
    ("email_consent != yes", ["B", "D", "E"]),
    # any other column, by its name
    ('attribute "favourite bread" = rye', ["A", "D"]),
    ("attribute favourite_bread != rye", ["B"]),
    ('not attribute "favourite bread" = rye', ["B", "C", "E"]),
    ('attribute "Favourite bread" in (sourdough, spelt)', ["B"]),
    ("attribute favourite_bread contains ou", ["B"]),
    ("attribute favourite_bread not contains ou", ["A", "D"]),
    ("attribute member_rating > 3", ["A", "D"]),
    ("attribute member_rating between 2 and 3", ["B", "C"]),
    ("attribute member_rating = 5", ["A"]),
    # email activity
    ("unsubscribed = yes", ["B"]),
    ("unsubscribed = no", ["A", "C", "D", "E"]),
    ("unsubscribed = unknown", []),
    ("bounced = yes", ["D"]),
    ("last_open >= 2024-06-01", ["A", "E"]),
    ("last_open < 2024-06-01", ["B"]),
    ("last_open between 2024-05-01 and 2024-06-05", ["A", "B"]),
    ("not last_open >= 2024-06-01", ["B", "C", "D"]),
    ("open_rate = 1", ["A"]),
    ("open_rate >= 50%", ["A", "B", "E"]),
    ("open_rate = 0", ["C", "D"]),
    ("open_rate > 0", ["A", "B", "E"]),
    ("click_rate > 0", ["A", "E"]),
    ("click_rate = 0.5", ["A", "E"]),
    ("click_rate between 0 and 0.4", ["B", "C", "D"]),
    ("engagement = engaged_not_buying", ["E"]),
    ("engagement = buying_not_opening", ["C"]),
    ("engagement = unreachable", ["B", "D"]),
    ("engagement != unreachable", ["C", "E"]),
    ("not engagement = unreachable", ["A", "C", "E"]),
    ("email_group in (engaged_not_buying, buying_not_opening)", ["C", "E"]),
    # with what they bought
    ("lifecycle = lapsed and tag = vip", ["B"]),
    ("segment = champions and age < 30", ["A"]),
    ("lifecycle = active and open_rate > 0", ["A"]),
    ("lifecycle = lapsed and not interest = vegan", ["B", "E"]),
    ("city = Leeds and (email_consent = yes or tag = wholesale)", ["A", "C"]),
]


@pytest.mark.parametrize(("condition", "expected"), CASES, ids=[c for c, _ in CASES])
def test_every_attribute_field_and_operator_selects_the_customers_worked_out_by_hand(shop, condition, expected):
    assert matching_ids(shop, condition) == expected


def test_the_cases_cover_every_attribute_and_email_field():
    texts = " ".join(c for c, _ in CASES).lower()
    theirs = {name for name, spec in FIELDS.items() if spec.source != "orders"}
    assert {name for name in theirs if f"{name} " in texts} == theirs
    for op in ("<", ">=", "!=", " = ", " in (", " not in (", "between", "contains", "not contains", "not "):
        assert op in texts, op


def test_every_comparison_is_false_without_the_data_and_not_is_its_complement(bare_shop):
    everyone = ["A", "B", "C", "D", "E"]
    for condition in (
        "age < 30",
        "gender = female",
        "tag = vip",
        "email_consent = yes",
        "open_rate > 0",
        "engagement = unreachable",
        "unsubscribed = no",
        "last_open > 2000-01-01",
    ):
        assert matching_ids(bare_shop, condition) == [], condition
        assert matching_ids(bare_shop, f"not {condition}") == everyone, condition
    assert matching_ids(bare_shop, "tag != vip") == everyone  # nobody has the tag


def test_an_unknown_attribute_names_those_in_this_shop(shop, bare_shop):
    with pytest.raises(ConditionError) as caught:
        matching_ids(shop, 'attribute "favourite cake" = lemon')
    message = str(caught.value)
    assert message.startswith("Your customer lists have no attribute 'favourite cake': the ones in your lists are: ")
    assert "favourite_bread" in message and "member_rating" in message and "birth_date" not in message
    with pytest.raises(ConditionError, match="no customer list is imported yet"):
        matching_ids(bare_shop, "attribute favourite_bread = rye")


def test_attribute_trees_are_typed_and_parse_back():
    assert parse('attribute "Favourite bread?" = Rye') == Compare(
        "attribute", "=", ("Rye",), attribute="favourite_bread"
    )
    assert parse("attribute member_rating > 3") == Compare("attribute", ">", (3.0,), attribute="member_rating")
    for text in (
        'attribute "favourite bread" in (rye, "5") and tag != vip',
        "interest not contains veg or age < 30",
        "engagement = unreachable and open_rate >= 50% and last_open < 2024-06-01",
        'attribute "2024 survey" between 1 and 3 or not email_consent = unknown',
    ):
        tree = parse(text)
        assert parse(to_text(tree)) == tree, text
    assert to_text(parse('attribute "favourite bread" = rye')) == "attribute favourite_bread = rye"


def test_sensitive_fields_are_named_in_plain_words():
    assert sensitive_fields(parse("segment = champions and age < 30")) == ["age"]
    assert sensitive_fields(parse('gender = female or (age_band = 18-24 and income_band = "100k+")')) == [
        "gender",
        "age",
        "income",
    ]
    assert sensitive_fields(parse("attribute gender = female")) == ["gender"]
    assert sensitive_fields(parse("tag = vip and open_rate > 0 and region = Auvergne")) == []


BAD = [
    ("engagement = lurkers", "engagement must be one of engaged_not_buying, buying_not_opening, unreachable"),
    ("tag > vegan", "tag cannot be compared with '>'"),
    ("age > old", "age is a number"),
    ("open_rate > 150", "open_rate is a chance from 0 to 1"),
    ("email_consent = maybe", "email_consent must be one of yes, no, unknown"),
    ("unsubscribed = perhaps", "unsubscribed must be one of yes, no, unknown"),
    ("last_open > yesterday", "last_open is a date"),
    ("attribute = rye", "the name of a column of your customer lists after attribute"),
    ("attribute favourite_bread > rye", "attribute favourite_bread > compares numbers: 'rye' is not one"),
    ("attribute favourite_bread between a and 3", "compares numbers"),
    ("tagg = vip", "did you mean tag?"),
    ("favourite_bread = rye", "unknown field 'favourite_bread': choose one of recency"),
    ("attribute", "stops too soon"),
]


@pytest.mark.parametrize(("text", "said"), BAD, ids=[b[0] for b in BAD])
def test_bad_attribute_conditions_say_what_was_not_understood(text, said):
    with pytest.raises(ConditionError) as caught:
        parse(text)
    assert said in str(caught.value)
    assert "\n" not in str(caught.value)


INJECTIONS = [
    ('tag = "vip\'); DROP TABLE contact_attributes; --"', []),
    ("attribute favourite_bread = \"Rye' OR '1'='1\"", []),
    ("interest in (\"vegan') OR ('1'='1\", cakes)", ["B"]),
    ('gender = "female\' OR 1=1 --"', []),
    ('region contains "%"', []),
    ('tag contains "_"', []),
    ('attribute favourite_bread = "$v1"', []),
]


@pytest.mark.parametrize(("condition", "expected"), INJECTIONS, ids=[i[0][:40] for i in INJECTIONS])
def test_attribute_values_are_bound_parameters_never_sql(shop, condition, expected):
    before = table_counts(shop)
    compiled = compile_condition(parse(condition))
    for value in compiled.params.values():
        if isinstance(value, str) and len(value) > 3:  # the longer ones: "_" is in any SQL
            assert value not in compiled.sql
    assert "DROP" not in compiled.sql and "'" not in compiled.sql
    assert matching_ids(shop, condition) == expected
    assert table_counts(shop) == before


def test_an_attribute_name_that_tries_sql_is_only_a_name_not_found(shop):
    before = table_counts(shop)
    with pytest.raises(ConditionError, match="no attribute"):
        matching_ids(shop, 'attribute "x\'); DROP TABLE orders; --" = 1')
    assert table_counts(shop) == before
