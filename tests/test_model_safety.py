"""Issue 14: what reaches the model, what the model may do, what an answer renders.

- (18) a model that calls ``load_data {"source": "demo", "replace": true}`` changes nothing, and the answer says so;
- (8) phone numbers, postcodes, street addresses and the shop's own customers' names in free-text fields never
  reach the model, however a summary quotes them;
- (13) nor do the same typed by the person into a question, in that turn or when the history is replayed;
- (7) Markdown planted in the data (images, links, HTML, bold) renders as text in the app, offline and with a model.

Every test uses a real DuckDB store and, for the model, the real OpenAI client over HTTP against the local fake
server (tests/fake_openai.py). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agent.llm import LLMAgent
from segmentation.importing.ingest import import_file
from segmentation.store import connect, table_counts
from tests.fake_openai import text, tool_calls
from tests.support.llm import settings_for
from tools.base import ToolContext

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HEADER = [
    "Order ID",
    "Customer ID",
    "Order Date",
    "Product",
    "Category",
    "Channel",
    "Quantity",
    "Unit Price",
    "Email",
    "First Name",
    "Last Name",
    "City",
    "Country",
    "Accepts Marketing",
]
CUSTOMERS = {  # id: (first, last, city)
    "c1": ("Jane", "Doe", "Leeds"),
    "c2": ("Rose", "Okafor", "Flat 3, 12 Secret Street, LS1 4AB"),
    "c3": ("Bob", "Smith", "Leeds"),
    "c4": ("Cy", "Cole", "Leeds"),
    "c5": ("Ann", "Ames", "York"),
    "c6": ("Dev", "Patel", "York"),
}
PLANTED_PRODUCT = "Call 07700900456 for Mrs Janedoe"


def write_shop(
    folder: Path, products: list[str], cities: dict[str, str] | None = None, only: dict[str, str] | None = None
) -> tuple[Path, Path]:
    """A small shop's export, imported into a real store: every customer buys every product once, but a product
    in ``only`` (product -> customer id), which that customer alone buys."""
    rows, n = [], 0
    for cid, (first, last, city) in CUSTOMERS.items():
        for month, product in enumerate(products, start=1):
            if (only or {}).get(product, cid) != cid:
                continue
            n += 1
            rows.append(
                [
                    f"A{n}",
                    cid,
                    f"2026-{month % 12 + 1:02d}-{int(cid[1:]) + 2:02d}",
                    product,
                    "Tea",
                    "web",
                    1,
                    "4.50",
                    f"{first.lower()}@example.com",
                    first,
                    last,
                    (cities or {}).get(cid, city),
                    "United Kingdom",
                    "yes",
                ]
            )
    path = folder / "orders.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, *rows])
    import_file(folder / "shop.duckdb", path)
    return folder / "shop.duckdb", path


def snapshot(db: Path) -> tuple:
    with connect(db, read_only=True) as con:
        return (
            table_counts(con),
            con.execute("SELECT * FROM imports ORDER BY import_id").fetchall(),
            con.execute("SELECT * FROM customers ORDER BY customer_id").fetchall(),
        )


# -- (18) the model cannot change the shop ---------------------------------------------------------------------


def test_a_model_that_calls_load_data_replace_changes_nothing_and_the_answer_says_so(tmp_path, fake):
    db, export = write_shop(tmp_path, ["Rose tea", "Earl Grey", "Sencha"])
    before = snapshot(db)
    fake.queue(tool_calls(("load_data", {"source": "demo", "replace": True})), text("Done."))
    ctx = ToolContext(db_path=db, uploads={"orders.csv": export})
    turn = LLMAgent(ctx, settings_for(fake)).ask("who are my champions?")

    assert snapshot(db) == before  # not one row of the shop replaced, added or removed
    [attempt] = turn.tool_calls
    assert attempt.name == "load_data" and attempt.result is None and "not a valid tool" in attempt.error
    assert turn.answer.startswith("Done.") and "nothing was changed" in turn.answer
    assert "Import or the demo button" in turn.answer
    offered = {t["function"]["name"] for t in fake.requests[0]["tools"]}
    assert "load_data" not in offered and "list_customers" in offered
    assert fake.unscripted == 0


# -- (8) personal data in free-text fields ---------------------------------------------------------------------

SECRETS = ("07700900456", "Janedoe", "Secret Street", "LS1 4AB", "Flat 3", "Okafor", "Jane Doe")


def test_personal_data_in_products_and_cities_never_reaches_the_model(tmp_path, fake):
    db, _ = write_shop(
        tmp_path,
        [PLANTED_PRODUCT, "Rose tea", "Okafor's special blend", "Sencha"],
        only={"Okafor's special blend": "c2"},
    )
    fake.queue(
        tool_calls(("segment_by", {"attribute": "product"}), ("segment_by", {"attribute": "city"})),
        text("Here is the breakdown."),
    )
    turn = LLMAgent(ToolContext(db_path=db), settings_for(fake)).ask("what do they buy and where do they live?")

    by_product, by_city = turn.tool_calls
    # The person's own tables hold the values as they are: nothing is lost from the data.
    assert PLANTED_PRODUCT in set(by_product.result.table["value"])
    assert "Flat 3, 12 Secret Street, LS1 4AB" in set(by_city.result.table["value"])
    assert PLANTED_PRODUCT in by_product.result.summary  # the summary quotes it; the guard is where it leaves
    sent = fake.sent_texts()
    leaked = [s for s in SECRETS for body in sent if s.lower() in body.lower()]
    assert leaked == []
    tool_messages = [json.loads(m["content"])["result"] for m in fake.requests[1]["messages"] if m["role"] == "tool"]
    assert "Call [phone] for [name]" in tool_messages[0]
    assert "[address], [address], [postcode]" in tool_messages[1]
    # A customer's surname in a product one customer bought is masked; a product many rows share is the shop's
    # own word and stays readable, though Rose is a customer's first name (and "Okafor's special blend" on
    # many rows would be a product named after someone, kept too: see segmentation.safety.privacy).
    assert "[name]'s special blend" in tool_messages[0]
    assert "Rose tea" in tool_messages[0]
    assert "Leeds" in tool_messages[1] and "York" in tool_messages[1]
    assert "Sencha" in tool_messages[0]


# -- (13) personal data typed into a question ------------------------------------------------------------------


def test_personal_data_typed_into_a_question_never_reaches_the_model(tmp_path, fake):
    db, _ = write_shop(tmp_path, ["Rose tea", "Sencha", "Earl Grey"])
    fake.queue(
        tool_calls(("data_overview", {})),
        text("I can't look up one person."),
        tool_calls(("segment_by", {"attribute": "city"})),
        text("Most live in Leeds."),
    )
    agent = LLMAgent(ToolContext(db_path=db), settings_for(fake))
    agent.ask(
        "Did Jane Doe of Flat 3, 12 Secret Street, LS1 4AB (call +44 7700 900456 or 07700 900457, "
        "jane@example.com, zip 12345-6789) buy Rose tea in 2026?"
    )
    agent.ask("and where do Okafor and Patel live?")  # the first question is replayed as history here

    assert len(fake.requests) == 4 and fake.unscripted == 0
    secrets = (
        "Jane",
        "Doe",
        "Flat 3",
        "Secret Street",
        "LS1 4AB",
        "7700 900456",
        "07700 900457",
        "jane@",
        "12345-6789",
        "Okafor",
        "Patel",
    )
    for body in fake.requests:
        said = json.dumps([m for m in body["messages"] if m["role"] == "user"], ensure_ascii=False)
        assert [s for s in secrets if s in said] == []
    first = next(m["content"] for m in fake.requests[-1]["messages"] if m["role"] == "user")
    assert first == (
        "Did [name] [name] of [address], [address], [postcode] (call [phone] or [phone], [email], zip "
        "[postcode]) buy Rose tea in 2026?"
    )
    assert agent.guard.counts["name"] >= 4 and agent.guard.counts["phone"] >= 2


# -- (7) Markdown from the data renders as text ----------------------------------------------------------------

BEACON = "![x](http://127.0.0.1:9/beacon.png)"
LINK = "[click](http://evil.example/)"
IMG = "<img src=http://127.0.0.1:9/b.png>"
BOLD = "**Big Spender**"
PLANTED = [BEACON, LINK, IMG, BOLD]


def live_markup(markdown: str) -> list[str]:
    """What in ``markdown`` would render as an image, a link, HTML or the planted bold: escaped characters and
    code spans removed first (both are inert)."""
    bare = re.sub(r"\\.", "", re.sub(r"`[^`\n]+`", "", markdown))
    return [m for m in ("![", "](", "<img", "<a ", "**Big", "http://", "https://") if m in bare]


def rendered(at: AppTest) -> list[str]:
    """Every text the page renders as Markdown: messages, captions, notices, status labels."""
    texts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    texts += [e.value for kind in ("info", "warning", "success", "error") for e in getattr(at, kind)]
    return texts + [s.label for s in at.get("expandable")]


@pytest.fixture
def planted_store(tmp_path, monkeypatch) -> Path:
    cities = {"c1": BEACON, "c2": LINK, "c3": IMG, "c4": BOLD}
    db, _ = write_shop(tmp_path, PLANTED, cities)
    monkeypatch.setenv("SEGMENTS_DB", str(db))
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    return db


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def test_markdown_planted_in_the_data_renders_as_text_offline(planted_store):
    at = AppTest.from_file(APP, default_timeout=60).run()
    for question in (
        "break my customers down by product",
        "break my customers down by city",
        "which products do my champions buy?",
    ):
        at = ask(at, question)
    texts = rendered(at)
    answers = " ".join(texts)
    assert "Big Spender" in answers and "beacon.png" in answers  # the values are shown, as text
    assert {t: live_markup(t) for t in texts if live_markup(t)} == {}


def test_markdown_planted_in_the_data_and_quoted_by_a_model_renders_as_text(planted_store, fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    fake.queue(
        tool_calls(("segment_by", {"attribute": "product"})),
        text(f"Your best sellers are {BEACON}, {LINK}, {IMG} and {BOLD}; see <http://evil.example/>."),
    )
    at = ask(AppTest.from_file(APP, default_timeout=60).run(), "what sells best?")
    texts = rendered(at)
    assert fake.unscripted == 0 and any("Your best sellers are" in t for t in texts)
    # A model's bold is its formatting and is kept (a model may quote **Big Spender**); nothing else may be live.
    live = {t: [m for m in live_markup(t) if m != "**Big"] for t in texts}
    assert {t: found for t, found in live.items() if found} == {}
