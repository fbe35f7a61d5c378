"""The owner's own conditions over customers: a small typed language, parsed by hand, compiled to bound SQL.

``lifecycle = lapsed and city = Leeds and monetary > 100``, ``bought "Birthday cake" in last 90 days``,
``category = Pastries or (r_score >= 4 and not consent = no)``. The command line, the app and both agents
share this one parser, so a condition means the same wherever it is written.

Why a language of our own and not SQL: the text may come from a model or be pasted from anywhere, and no
text from outside is ever run as SQL. A condition is tokenised and parsed into a typed tree (``Compare``,
``And``, ``Or``, ``Not``); every field is one of ``FIELDS`` (each with its own SQL expression, written here),
every operator one this module knows, and every value a bound parameter (``$v1``, ``$v2``, ...). A field or
value not understood is a ``ConditionError`` naming it and the valid choices ("did you mean city?").

Every field is evaluated at one as-of date over the customer table (``segmentation.customers``): recency,
frequency and spend, the 1-5 scores, RFM segment and lifecycle stage, the value models' numbers, first and
last order, what they bought (products, categories, channels; ever, or in the last N days before the date),
and their place and marketing consent from the customers table; and who they are and how they take the emails,
from the imported customer lists and email activity (``segmentation.attributes``, ``segmentation.engagement``):
age, age band, gender, income band, region, tags and interests, member rating, email consent, unsubscribes and
bounces, last open, open and click rates, the email behaviour groups, and any other column of a list by its own
name (``attribute "favourite bread" = rye``). A comparison on a value the data lacks (no city recorded, a shop
too small for the value models, no age in the lists) is false, so ``not`` is its exact complement. Tags and
interests are several per customer: ``tag = vegan`` is "has that tag", ``tag != vegan`` "does not have it" (as
``product != X`` is "never bought it"), true also for a customer with no tags at all.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from segmentation.vocabulary import GROUP_TITLES, SEGMENT_KEYS, STAGES, AnalysisError

# The email behaviour groups (segmentation.engagement.BEHAVIOUR_GROUPS), named here so the parser needs no data.
EMAIL_GROUPS = ("engaged_not_buying", "buying_not_opening", "unreachable")

MAX_LENGTH = 1000  # characters: a condition is a sentence, not a file
MAX_DEPTH = 20  # nested parentheses and nots
MAX_LIST = 200  # values in one "in (...)"
MAX_WINDOW_DAYS = 36_600
CLUSTER_KEYS = tuple(f"cluster_{i}" for i in range(1, 9))


class ConditionError(AnalysisError):
    """A condition that cannot be understood; the message names what and the valid choices."""


@dataclass(frozen=True)
class Field:
    """One thing a condition can ask about a customer: its kind fixes the operators and values it takes."""

    name: str
    kind: str  # number, score, share, enum, date, text, consent, bought, multi, attribute
    sql: str  # its expression over the facts row ``f`` (``bought``: the order_lines column; ``multi``: the name)
    meaning: str
    choices: tuple[str, ...] = ()
    source: str = "orders"  # what the facts need to answer it: orders, lists (customer lists), email (activity)


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("recency", "number", "f.recency_days", "days since the last purchase (0 = bought on the date)"),
        Field("frequency", "number", "f.frequency", "number of purchases"),
        Field("monetary", "number", "f.monetary", "money spent, net of returns"),
        Field("r_score", "score", "f.r_score", "recency score, 1-5 (5 = most recent)"),
        Field("f_score", "score", "f.f_score", "frequency score, 1-5"),
        Field("m_score", "score", "f.m_score", "spend score, 1-5"),
        Field("segment", "enum", "f.segment", "RFM segment", SEGMENT_KEYS),
        Field("lifecycle", "enum", "f.lifecycle", "lifecycle stage", STAGES),
        Field("cluster", "enum", "f.cluster", "machine-found group (the automatic clustering)", CLUSTER_KEYS),
        Field("p_alive", "share", "f.p_alive", "chance the customer is still buying, 0-1 (or 0-100%)"),
        Field("expected_purchases", "number", "f.expected_purchases", "purchases expected in the next 90 days"),
        Field("value", "number", "f.clv", "predicted value over the next 90 days"),
        Field("aov", "number", "f.aov", "average order value"),
        Field("first_order", "date", "f.first_order", "day of the first purchase, YYYY-MM-DD"),
        Field("last_order", "date", "f.last_order", "day of the last purchase, YYYY-MM-DD"),
        Field("product", "bought", "product", "a product they bought"),
        Field("category", "bought", "category", "a category they bought from"),
        Field("channel", "bought", "channel", "a channel they bought through"),
        Field("city", "text", "f.city", "city"),
        Field("country", "text", "f.country", "country"),
        Field("consent", "consent", "f.marketing_consent", "marketing consent: yes, no or unknown"),
        # From the imported customer lists (segmentation.attributes): a customer no list names has no value.
        Field("age", "number", "f.age", "age in years on the date, from the lists' birth date or age", source="lists"),
        Field(
            "age_band",
            "text",
            "f.age_band",
            "age band: under 18, 18-24, 25-29, 30-34, 35-44, 45-54, 55-64, 65+ (or the list's own bands)",
            source="lists",
        ),
        Field("gender", "text", "f.gender", "gender, as the lists give it (female, male, ...)", source="lists"),
        Field(
            "income_band",
            "text",
            "f.income_band",
            "income band: under 25k, 25k-50k, 50k-100k, 100k+ (or the list's own bands)",
            source="lists",
        ),
        Field("region", "text", "f.region", "region, state or county from the lists", source="lists"),
        Field("tag", "multi", "tag", "a tag in the lists (several per customer)", source="lists"),
        Field("interest", "multi", "interest", "an interest in the lists (several per customer)", source="lists"),
        Field(
            "member_rating",
            "number",
            "f.member_rating",
            "the email tool's member rating (Mailchimp: 1-5)",
            source="lists",
        ),
        Field(
            "email_consent",
            "consent",
            "f.email_consent",
            "agreed to marketing emails in the lists: yes, no or unknown",
            source="lists",
        ),
        Field(
            "attribute",
            "attribute",
            "",
            'any other column of the lists, by its name: attribute "favourite bread" = rye',
            source="lists",
        ),
        # From the email activity exports (segmentation.engagement).
        Field(
            "unsubscribed",
            "consent",
            "f.unsubscribed",
            "unsubscribed from the emails: yes, no or unknown",
            source="email",
        ),
        Field("bounced", "consent", "f.bounced", "their address bounced: yes, no or unknown", source="email"),
        Field("last_open", "date", "f.last_open", "day they last opened an email, YYYY-MM-DD", source="email"),
        Field(
            "open_rate",
            "share",
            "f.open_rate",
            "share of the emails sent to them that they opened, 0-1 (or 0-100%)",
            source="email",
        ),
        Field(
            "click_rate",
            "share",
            "f.click_rate",
            "share of the emails sent to them that they clicked, 0-1 (or 0-100%)",
            source="email",
        ),
        Field(
            "engagement",
            "enum",
            "f.email_group",
            "email behaviour over the last 90 days: engaged_not_buying, buying_not_opening or unreachable",
            EMAIL_GROUPS,
            source="email",
        ),
    )
}
# Who a customer is, not what they did: a list or draft is narrowed by these only when the owner asks
# (issue 19), and the answer then says so. The lists' own columns of these names count too.
SENSITIVE_FIELDS = ("age", "age_band", "gender", "income_band")
SENSITIVE_ATTRIBUTES = ("age", "age_band", "birth_date", "gender", "income", "income_band")

ALIASES = {
    "recency_days": "recency",
    "days_since_last_order": "recency",
    "orders": "frequency",
    "purchases": "frequency",
    "spend": "monetary",
    "spent": "monetary",
    "revenue": "monetary",
    "rfm_segment": "segment",
    "rfm": "segment",
    "stage": "lifecycle",
    "lifecycle_stage": "lifecycle",
    "group": "cluster",
    "clv": "value",
    "predicted_value": "value",
    "average_order_value": "aov",
    "avg_order_value": "aov",
    "first_order_date": "first_order",
    "last_order_date": "last_order",
    "products": "product",
    "categories": "category",
    "channels": "channel",
    "marketing_consent": "consent",
    "marketing": "consent",
    "town": "city",
    "chance_alive": "p_alive",
    "palive": "p_alive",
    "tags": "tag",
    "interests": "interest",
    "sex": "gender",
    "income": "income_band",
    "age_group": "age_band",
    "age_range": "age_band",
    "state": "region",
    "county": "region",
    "rating": "member_rating",
    "email_opt_in": "email_consent",
    "newsletter": "email_consent",
    "unsubscribe": "unsubscribed",
    "last_opened": "last_open",
    "opens": "open_rate",
    "clicks": "click_rate",
    "email_group": "engagement",
    "email_engagement": "engagement",
    "attr": "attribute",
}

KEYWORDS = {"and", "or", "not", "in", "between", "contains", "bought", "last", "days", "day"}
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
OPERATORS_BY_KIND = {
    "number": ("=", "!=", "<", "<=", ">", ">=", "between", "in"),
    "score": ("=", "!=", "<", "<=", ">", ">=", "between", "in"),
    "share": ("=", "!=", "<", "<=", ">", ">=", "between"),
    "date": ("=", "!=", "<", "<=", ">", ">=", "between"),
    "enum": ("=", "!=", "in"),
    "text": ("=", "!=", "in", "contains"),
    "consent": ("=", "!="),
    "bought": ("=", "!=", "in", "contains"),
    "multi": ("=", "!=", "in", "contains"),
    "attribute": ("=", "!=", "<", "<=", ">", ">=", "between", "in", "contains"),
}


# --- the tree ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    """``field op values``; ``negated`` for ``not in`` / ``not between`` / ``not contains``; ``window_days``
    for what was bought in the last N days."""

    field: str
    op: str  # one of COMPARISONS, 'in', 'between', 'contains'
    values: tuple = ()
    negated: bool = False
    window_days: int | None = None
    attribute: str | None = None  # for ``attribute NAME ...``: the list column's name, normalised


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | And | Or | Not


# --- tokens --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # word, string, number, op, lparen, rparen, comma, end
    text: str
    at: int
    value: Any = None  # a number's float, a string's text without its quotes; the kind says which


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|“[^”]*”|‘[^’]*’)
  | (?P<number>[£$€]?-?\d+(?:\.\d+)?%?(?![\w/-]))
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<word>[^\W\d][\w'’.&/-]*|\d[\w'’.&/-]*)
    """,
    re.VERBOSE,
)


def tokenize(text: str) -> list[Token]:
    """The condition's tokens; a character no token starts with is a ConditionError naming it."""
    tokens, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise ConditionError(
                f"'{text[at]}' (at character {at + 1}) is not understood: write values in quotes "
                'when they hold symbols, e.g. product = "Tea & cake".'
            )
        kind, piece = match.lastgroup or "", match.group()  # every alternative is a named group
        if kind == "string":
            body = piece[1:-1]
            tokens.append(Token("string", piece, at, re.sub(r"\\(.)", r"\1", body) if piece[0] in "\"'" else body))
        elif kind == "number":
            number = piece.lstrip("£$€")
            value = float(number.rstrip("%")) / (100 if number.endswith("%") else 1)
            tokens.append(Token("number", piece, at, value))
        elif kind == "op":
            tokens.append(Token("op", {"<>": "!=", "==": "="}.get(piece, piece), at))
        elif kind != "space":
            tokens.append(Token(kind, piece, at, piece))
        at = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# --- parsing -------------------------------------------------------------------------------------------------


def parse(text: str) -> Condition:
    """The typed tree of a condition; ConditionError (one sentence, naming what was not understood) otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("The condition is empty: write one, e.g. lifecycle = lapsed and city = Leeds.")
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"The condition is {len(text):,} characters long: keep it under {MAX_LENGTH:,}.")
    return _Parser(tokenize(text)).condition()


class _Parser:
    """Recursive descent: or_expr := and_expr ('or' and_expr)*; and_expr := not_expr ('and' not_expr)*;
    not_expr := 'not' not_expr | '(' or_expr ')' | comparison | 'bought' ..."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.at, self.depth = tokens, 0, 0

    def condition(self) -> Condition:
        tree = self.or_expr()
        if self.peek().kind != "end":
            raise self.unexpected("'and' or 'or' between two conditions", after_value=True)
        return tree

    # helpers
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.at += 1
        return token

    def keyword(self, *words: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "word" and token.text.lower() in words

    def unexpected(self, wanted: str, *, after_value: bool = False) -> ConditionError:
        token = self.peek()
        if token.kind == "end":
            return ConditionError(f"The condition stops too soon: {wanted} was expected at its end.")
        said = token.text
        hint = ""
        if after_value and token.kind == "word":
            hint = ' (a value of more than one word goes in quotes, e.g. "Birthday cake")'
        return ConditionError(
            f"'{said}' (at character {token.at + 1}) is not understood: {wanted} was expected there{hint}."
        )

    # grammar
    def or_expr(self) -> Condition:
        items = [self.and_expr()]
        while self.keyword("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(_flat(items, Or))

    def and_expr(self) -> Condition:
        items = [self.not_expr()]
        while self.keyword("and"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(_flat(items, And))

    def not_expr(self) -> Condition:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"The condition nests more than {MAX_DEPTH} levels deep: write it more simply.")
        try:
            if self.keyword("not"):
                self.take()
                return Not(self.not_expr())
            if self.peek().kind == "lparen":
                self.take()
                inner = self.or_expr()
                if self.peek().kind != "rparen":
                    raise self.unexpected("a closing ')'", after_value=True)
                self.take()
                return inner
            if self.keyword("bought"):
                return self.bought()
            return self.comparison()
        finally:
            self.depth -= 1

    def bought(self) -> Compare:
        """``bought VALUE``, ``bought category VALUE``, ``bought (A, B)``, each with ``in last N days``."""
        self.take()
        name = "product"
        if self.keyword("product", "category", "channel") and self.peek(1).kind in ("word", "string", "lparen"):
            name = self.take().text.lower()
        if self.peek().kind == "lparen":
            values, op = self.value_list(FIELDS[name]), "in"
        else:
            values, op = (self.value(FIELDS[name]),), "="
        return Compare(name, op, values, window_days=self.window())

    def comparison(self) -> Compare:
        token = self.peek()
        if token.kind != "word" or token.text.lower() in KEYWORDS:
            raise self.unexpected("a field (" + ", ".join(FIELDS) + ")")
        spec = field_named(self.take().text)
        attribute = self.attribute_name() if spec.kind == "attribute" else None
        negated = False
        if self.keyword("not") and self.keyword("in", "between", "contains", ahead=1):
            self.take()
            negated = True
        token = self.peek()
        if token.kind == "op":
            op = self.take().text
        elif self.keyword("in", "between", "contains"):
            op = self.take().text.lower()
        else:
            raise self.unexpected(f"an operator after {spec.name} ({', '.join(OPERATORS_BY_KIND[spec.kind])})")
        if op not in OPERATORS_BY_KIND[spec.kind]:
            raise ConditionError(
                f"{spec.name} cannot be compared with '{op}': use one of {', '.join(OPERATORS_BY_KIND[spec.kind])}."
            )
        if op == "in":
            values = self.value_list(spec)
        elif op == "between":
            low = self.value(spec)
            if not self.keyword("and"):
                raise self.unexpected(f"'and' in {spec.name} between ... and ...")
            self.take()
            values = (low, self.value(spec))
            if type(values[0]) is type(values[1]) and values[0] > values[1]:
                values = (values[1], values[0])
        elif op == "contains":
            values = (self.value(spec, as_text=True),)
        else:
            values = (self.value(spec),)
        if (
            attribute is not None
            and op in ("<", "<=", ">", ">=", "between")
            and not all(isinstance(v, float) for v in values)
        ):
            raise ConditionError(
                f"attribute {attribute} {op} compares numbers: "
                f"'{next(v for v in values if not isinstance(v, float))}' is not one."
            )
        window = self.window() if spec.kind == "bought" else None
        return Compare(spec.name, op, values, negated, window, attribute)

    def attribute_name(self) -> str:
        """The list column after ``attribute``: a word or a quoted name, normalised as the import names it."""
        token = self.peek()
        if token.kind not in ("word", "string") or (token.kind == "word" and token.text.lower() in KEYWORDS):
            raise self.unexpected(
                'the name of a column of your customer lists after attribute, e.g. attribute "favourite bread" = rye'
            )
        self.take()
        name = attribute_key(str(token.value if token.kind == "string" else token.text))
        if not name:
            raise ConditionError(
                'An attribute needs a name with letters or digits, e.g. attribute "favourite bread" = rye.'
            )
        return name

    def value_list(self, spec: Field) -> tuple:
        if self.peek().kind != "lparen":
            raise self.unexpected(f"a list of values in parentheses, e.g. {spec.name} in (a, b)")
        self.take()
        values = [self.value(spec)]
        while self.peek().kind == "comma":
            self.take()
            values.append(self.value(spec))
        if self.peek().kind != "rparen":
            raise self.unexpected("a ',' or a closing ')'", after_value=True)
        self.take()
        if len(values) > MAX_LIST:
            raise ConditionError(f"A list holds {len(values):,} values: at most {MAX_LIST} are allowed.")
        return tuple(dict.fromkeys(values))

    def window(self) -> int | None:
        """``in last N days`` (also ``in the last N days``, ``within N days``)."""
        opens = self.keyword("in") and self.keyword("last", "the", ahead=1)
        if not opens and not self.keyword("within"):
            return None
        self.take()
        if self.keyword("the"):
            self.take()
        if self.keyword("last"):
            self.take()
        token = self.peek()
        if token.kind != "number" or token.value != int(token.value) or not 1 <= token.value <= MAX_WINDOW_DAYS:
            raise self.unexpected(f"a whole number of days from 1 to {MAX_WINDOW_DAYS:,}, as in 'in last 90 days'")
        self.take()
        if not self.keyword("days", "day"):
            raise self.unexpected("'days', as in 'in last 90 days'")
        self.take()
        return int(token.value)

    def value(self, spec: Field, *, as_text: bool = False) -> Any:
        token = self.peek()
        if token.kind not in ("word", "string", "number") or (
            token.kind == "word" and token.text.lower() in ("and", "or", "not", "in")
        ):
            raise self.unexpected(f"a value for {spec.name}")
        self.take()
        if as_text:
            return _text(spec, token)
        return typed_value(spec, token)


def _flat(items: list[Condition], kind: type[And] | type[Or]) -> tuple[Condition, ...]:
    """``(a and b) and c`` is ``a and b and c``: one tree for one meaning, so canonical words parse back to it."""
    flat: list[Condition] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return tuple(flat)


def attribute_key(name: str) -> str:
    """A list column's name as its attribute is stored ('Favourite bread?' -> 'favourite_bread'), the same rule
    as the import's (``contact_columns.attribute_name``)."""
    from segmentation.importing.columns import normalise

    return normalise(name).replace(" ", "_")[:60]


def field_named(word: str) -> Field:
    """The field a word names (its aliases too); ConditionError naming every field, and the nearest one."""
    key = word.strip().lower().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    if key in FIELDS:
        return FIELDS[key]
    names = list(FIELDS)
    near = difflib.get_close_matches(key, names + list(ALIASES), n=1, cutoff=0.7)
    guess = f"; did you mean {ALIASES.get(near[0], near[0])}?" if near else "."
    raise ConditionError(f"unknown field '{word}': choose one of {', '.join(names)}{guess}")


def _text(spec: Field, token: Token) -> str:
    text = str(token.value if token.kind == "string" else token.text).strip()
    if not text:
        raise ConditionError(f"{spec.name} needs a value: an empty text matches nothing.")
    if len(text) > 200:
        raise ConditionError(f"A value for {spec.name} is {len(text):,} characters long: at most 200.")
    return text


def typed_value(spec: Field, token: Token) -> Any:
    """The token as a value of ``spec``'s kind, or a ConditionError naming the field and what it takes.

    A float, an int score, a date, a choice's text, True/False/None for consent: which one, the field's kind
    says, so the return is typed ``Any`` (the comparisons that follow depend on that kind)."""
    kind = spec.kind
    if kind in ("number", "score", "share"):
        if token.kind != "number":
            raise ConditionError(f"{spec.name} is a number ({spec.meaning}): '{token.text}' is not one.")
        value = float(token.value)
        if kind == "score" and (value != int(value) or not 1 <= value <= 5):
            raise ConditionError(f"{spec.name} is a score from 1 to 5: '{token.text}' is not one.")
        if kind == "share":
            if 1 < value <= 100 and not token.text.endswith("%"):
                value /= 100  # "p_alive > 50" means 50%
            if not 0 <= value <= 1:
                raise ConditionError(f"{spec.name} is a chance from 0 to 1 (or 0% to 100%): '{token.text}' is not.")
        return int(value) if kind == "score" else value
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(token.value if token.kind == "string" else token.text))
        except ValueError:
            said = f"{spec.name} is a date: write '{token.text}' as YYYY-MM-DD, e.g. 2024-06-30."
            raise ConditionError(said) from None
    if kind == "enum":
        return _choice(spec, str(token.value if token.kind == "string" else token.text))
    if kind == "consent":
        word = str(token.value if token.kind == "string" else token.text).strip().lower()
        meaning = {
            "yes": True,
            "true": True,
            "y": True,
            "1": True,
            "no": False,
            "false": False,
            "n": False,
            "0": False,
            "unknown": None,
            "none": None,
            "null": None,
        }
        if word not in meaning:
            raise ConditionError(f"{spec.name} must be one of yes, no, unknown: '{token.text}' is not one of them.")
        return meaning[word]
    if kind == "attribute" and token.kind == "number":  # compared with the list's numbers
        return float(token.value)
    if token.kind == "number":  # a city or product spelt as a number ("product = 1001") stays text
        return str(token.text)
    return _text(spec, token)


_TITLE_KEYS = {title.lower(): key for key, title in GROUP_TITLES.items()}


def _choice(spec: Field, word: str) -> str:
    """'At risk', 'at-risk', "can't lose them" -> the key; else ConditionError naming the valid ones."""
    plain = word.strip().lower()
    key = _TITLE_KEYS.get(plain) or re.sub(r"[\s-]+", "_", plain).replace("'", "").replace("’", "")
    key = {
        "cant_lose_them": "cannot_lose_them",
        "new_customer": "new_customers",
        "champion": "champions",
        "loyalists": "potential_loyalists",
        "potential_loyalist": "potential_loyalists",
    }.get(key, key)
    if spec.name == "cluster" and re.fullmatch(r"(group_)?\d", key):
        key = f"cluster_{key.removeprefix('group_')}"
    if key in spec.choices:
        return key
    near = difflib.get_close_matches(key, spec.choices, n=1, cutoff=0.6)
    guess = f" (did you mean {near[0]}?)" if near else ""
    for other in ("segment", "lifecycle"):
        if other != spec.name and key in FIELDS[other].choices:
            kind = "an RFM segment" if other == "segment" else "a lifecycle stage"
            guess = f" ({key} is {kind}: write {other} = {key})"
    raise ConditionError(f"{spec.name} must be one of {', '.join(spec.choices)}: '{word}' is not one of them{guess}.")


# --- compiling -----------------------------------------------------------------------------------------------


@dataclass
class Compiled:
    """A condition as a SQL boolean over the facts row ``f`` with its bound parameters, and what it needs."""

    sql: str
    params: dict[str, object] = field(default_factory=dict)
    needs_cluster: bool = False
    needs: set[str] = field(default_factory=set)  # the facts beyond the orders: 'lists', 'email'


def compile_condition(tree: Condition) -> Compiled:
    """``tree`` as parameterised DuckDB SQL over ``f`` (see ``segmentation.segments``); values are only ever
    ``$vN`` parameters, field names only ``FIELDS``' own expressions. ``$as_of`` is the as-of date."""
    out = Compiled("")
    out.sql = _sql(tree, out)
    return out


def _bind(out: Compiled, value: object) -> str:
    name = f"v{len(out.params) + 1}"
    out.params[name] = value
    return f"${name}"


def _sql(node: Condition, out: Compiled) -> str:
    if isinstance(node, And):
        return "(" + " AND ".join(_sql(i, out) for i in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(_sql(i, out) for i in node.items) + ")"
    if isinstance(node, Not):
        return f"(NOT {_sql(node.item, out)})"
    spec = FIELDS[node.field]
    if spec.name == "cluster":
        out.needs_cluster = True
    if spec.source != "orders":
        out.needs.add(spec.source)
    if spec.kind == "bought":
        test = _bought_sql(node, spec, out)
    elif spec.kind in ("multi", "attribute"):
        return _listed_sql(node, spec, out)  # its negated forms are its own (see there)
    else:
        test = _value_sql(node, spec, out)
    # An unknown value (no city, no prediction) compares false, never NULL: NOT is then its exact complement.
    return f"(NOT {test})" if node.negated else test


def _value_sql(node: Compare, spec: Field, out: Compiled) -> str:
    column = spec.sql
    if spec.kind == "consent":
        value = node.values[0]
        test = f"{column} IS NULL" if value is None else f"{column} IS {'TRUE' if value else 'FALSE'}"
        return f"({test})" if node.op == "=" else f"(NOT ({test}))"
    if spec.kind == "text":
        column = f"lower({column})"
    wrap = (lambda v: f"lower({v})") if spec.kind == "text" else (lambda v: v)
    if node.op == "in":
        listed = ", ".join(wrap(_bind(out, v)) for v in node.values)
        test = f"{column} IN ({listed})"
    elif node.op == "between":
        test = f"{column} BETWEEN {_bind(out, node.values[0])} AND {_bind(out, node.values[1])}"
    elif node.op == "contains":
        test = f"contains({column}, lower({_bind(out, node.values[0])}))"
    else:
        test = f"{column} {node.op} {wrap(_bind(out, node.values[0]))}"
    return f"coalesce({test}, false)"


def _bought_sql(node: Compare, spec: Field, out: Compiled) -> str:
    """Whether the customer has a purchase line (net > 0, on or before the date, within the window) matching;
    ``!=`` is "never bought it", so it is the complement of ``=``."""
    column = f"lower(l.{spec.sql})"
    if node.op == "contains":
        match = f"contains({column}, lower({_bind(out, node.values[0])}))"
    else:
        match = f"{column} IN ({', '.join(f'lower({_bind(out, v)})' for v in node.values)})"
    window = ""
    if node.window_days is not None:
        window = f" AND date_diff('day', l.order_date, $as_of) < {_bind(out, node.window_days)}"
    exists = (
        f"EXISTS (SELECT 1 FROM order_lines l WHERE l.customer_id = f.customer_id AND l.net_amount > 0 "
        f"AND l.order_date <= $as_of{window} AND {match})"
    )
    return f"(NOT {exists})" if node.op == "!=" else exists


def _listed_sql(node: Compare, spec: Field, out: Compiled) -> str:
    """A tag or interest (several per customer), or any other column of the lists, over ``segment_attrs``
    (customer_id, name, value, number). A tag: ``=``/``in``/``contains`` is "has one matching", ``!=`` and the
    negated forms "has none matching". Another column: "has a value matching"; ``!=`` and the negated forms "has
    a value, and none matching", so a customer without one is false either way and ``not`` is the complement."""
    name = _bind(out, node.attribute if spec.kind == "attribute" else spec.sql)
    text = "lower(a.value)"
    if node.op == "contains":
        match = f"contains({text}, lower({_bind(out, str(node.values[0]))}))"
    elif node.op == "between":
        match = f"a.number BETWEEN {_bind(out, node.values[0])} AND {_bind(out, node.values[1])}"
    elif node.op in ("<", "<=", ">", ">="):  # the parser let only numbers through
        match = f"a.number {node.op} {_bind(out, node.values[0])}"
    else:  # = != in: a number is compared with the list's numbers, a word with its text (any case)
        tests = [
            f"a.number = {_bind(out, v)}" if isinstance(v, float) else f"{text} = lower({_bind(out, v)})"
            for v in node.values
        ]
        match = "(" + " OR ".join(tests) + ")"

    def exists(test: str) -> str:
        return (
            f"EXISTS (SELECT 1 FROM segment_attrs a WHERE a.customer_id = f.customer_id AND a.name = {name}"
            f"{' AND ' + test if test else ''})"
        )

    against = node.op == "!=" or node.negated
    if spec.kind == "multi":
        return f"(NOT {exists(match)})" if against else exists(match)
    return f"({exists('')} AND NOT {exists(match)})" if against else exists(match)


# --- writing it back -----------------------------------------------------------------------------------------


def to_text(node: Condition) -> str:
    """The condition in this language's own canonical words: ``parse(to_text(tree)) == tree``."""
    if isinstance(node, And | Or):
        joiner = " and " if isinstance(node, And) else " or "
        return joiner.join(_grouped(i, node) for i in node.items)
    if isinstance(node, Not):
        inner = to_text(node.item)
        return f"not {inner}" if isinstance(node.item, Compare) else f"not ({inner})"
    spec = FIELDS[node.field]
    values = [_literal(spec, v) for v in node.values]
    op = ("not " if node.negated else "") + node.op
    named = node.field if node.attribute is None else f"attribute {_literal(spec, node.attribute)}"
    if node.op == "in":
        text = f"{named} {op} ({', '.join(values)})"
    elif node.op == "between":
        text = f"{named} {op} {values[0]} and {values[1]}"
    else:
        text = f"{named} {op} {values[0]}"
    return text + (f" in last {node.window_days} days" if node.window_days is not None else "")


def _grouped(item: Condition, parent: Condition) -> str:
    text = to_text(item)
    return f"({text})" if isinstance(item, And | Or) and type(item) is not type(parent) else text


def _literal(spec: Field, value: object) -> str:
    if spec.kind == "consent":
        words: dict[object, str] = {True: "yes", False: "no", None: "unknown"}
        return words[value]
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, int | dt.date):
        return str(value)
    text = str(value)
    if re.fullmatch(r"[^\W\d][\w'’.&/-]*", text) and text.lower() not in KEYWORDS and "'" not in text:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: float) -> str:
    """A number as the tokenizer reads it back exactly: never in exponent form ('1e+06' is not a number in this
    language, and ``:g`` rounded 1234567.5 to '1.23457e+06'), 100.0 as '100'."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        text = f"{value:.20f}".rstrip("0").rstrip(".")
    return text


def fields_used(node: Condition) -> Iterator[str]:
    """Every field the condition asks about, in order, repeats included."""
    if isinstance(node, And | Or):
        for item in node.items:
            yield from fields_used(item)
    elif isinstance(node, Not):
        yield from fields_used(node.item)
    else:
        yield node.field


def attributes_named(node: Condition) -> list[str]:
    """The list columns the condition names with ``attribute NAME``, in order, each once."""
    names: list[str] = []
    for leaf in _leaves(node):
        if leaf.attribute is not None and leaf.attribute not in names:
            names.append(leaf.attribute)
    return names


def sensitive_fields(node: Condition) -> list[str]:
    """The sensitive things the condition narrows by (age, gender, income; ``SENSITIVE_FIELDS``), each once, in
    plain words ('age', 'gender', 'income'): a list or draft says when it is narrowed by them."""
    words = {
        "age": "age",
        "age_band": "age",
        "birth_date": "age",
        "gender": "gender",
        "income": "income",
        "income_band": "income",
    }
    found: list[str] = []
    for leaf in _leaves(node):
        key = leaf.attribute if leaf.attribute is not None else leaf.field
        if (key in SENSITIVE_FIELDS or (leaf.attribute and key in SENSITIVE_ATTRIBUTES)) and words[key] not in found:
            found.append(words[key])
    return found


def _leaves(node: Condition) -> Iterator[Compare]:
    if isinstance(node, And | Or):
        for item in node.items:
            yield from _leaves(item)
    elif isinstance(node, Not):
        yield from _leaves(node.item)
    else:
        yield node


def language_help() -> str:
    """The fields and operators, as one paragraph for an error or a tool's description."""
    return (
        "Fields: "
        + "; ".join(f"{f.name} ({f.meaning})" for f in FIELDS.values())
        + ". Operators: = != < <= > >= in (...) not in (...) between A and B, contains, "
        'bought X [in last N days], attribute "a list\'s column" = value, combined with and, or, not and '
        "parentheses."
    )
