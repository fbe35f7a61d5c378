"""The personal-data guard: what is masked in any text before it is sent to a language model.

A shop's free-text fields hold what they should not ("Call 07700900456 for Mrs Janedoe" as a product, "Flat 3,
12 Secret Street, LS1 4AB" as a city), and a person types the same into a question. Summaries quote such
values, so every text that leaves for a model passes ``Guard.mask`` (the LLM agent applies it at the one point
where its requests are made). Each find is replaced by a neutral label and counted; the value is never sent.

What is masked, and the trade-offs:

- email addresses: anything shaped ``a@b.cc``.
- phone numbers: international (``+44 7700 900456``, ``0044...``), UK national (a leading 0 and 10-11 digits,
  spaced or not: ``07700900456``, ``020 7946 0958``), North American (``(555) 123-4567``, ``555-123-4567``),
  and any 6+ digits straight after a word such as "call", "tel" or "phone". Not masked: prices (``1,234.50``),
  counts with thousands separators, ISO dates and year ranges, and bare runs of digits without a leading 0 or
  + (a 10-13 digit number is as likely an order or customer id, which the model may see, as a phone), nor
  zero-padded ids (``0000123456``: no phone number starts with 00 and then 0).
- postcodes: full UK postcodes (``LS1 4AB``, ``SW1A1AA``; outward part and inward part, which product codes
  rarely match) and US ZIP+4 (``12345-6789``). A plain five-digit ZIP is not masked: it cannot be told from a
  count or an id.
- street addresses: a house number and one to three words ending in a street word (``12 Secret Street``,
  ``12 secret street``; street words that are everyday English or abbreviations only capitalised, as in
  ``221b Baker St`` or ``5 Hyde Park Close``), and ``Flat 3``, ``Apartment 4B``, ``Unit 7``, ``Suite 100``,
  ``PO Box 12`` (capitalised: "sales were flat 3 months" is no address).
- the shop's own customers' names (first and last names from THIS store's customers table, loaded once per
  store version): whole words, case-insensitive. A first name followed by a last name is always masked. A
  single name word is not masked when it is also a common English word ("will", "may", "rose", "june"), a
  word of the shop's own products, categories, channels, cities or countries that at least ``KEEP_ROWS`` rows
  share (a customer called Rose and a product "Rose tea" sold many times: "Rose tea" stays readable, since
  masking every shop word that is also someone's surname, Leeds or York, would hide what the shop sells and
  where; a name planted in one product or one customer's city is no shop word and is masked), or shorter
  than two letters, or a word the app itself uses (its prompt, its tools' descriptions and examples, which
  the agent passes in: "data", "customers", "group" must stay readable). First or last names of more than
  ``NAME_WORDS`` words are text in the wrong column, not names, and are left out. A title and a capitalised
  word ("Mrs Janedoe", "Dr. Who") is masked as a name too.

Nothing here reads anything but the store it is given; the guard never logs a masked value.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

LABELS = {"email": "[email]", "phone": "[phone]", "postcode": "[postcode]", "address": "[address]", "name": "[name]"}

_PLURALS = {"email": "emails", "phone": "phones", "postcode": "postcodes", "address": "addresses", "name": "names"}
_EMAIL = re.compile(r"[^@\s\"'<>(),;]+@[^@\s\"'<>(),;]+\.[A-Za-z]{2,}")
_SEP = r"[ \-.]?"
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"(?:\+|00(?=[1-9]))\d{1,3}" + _SEP + r"\(?\d{1,5}\)?(?:" + _SEP + r"\d{2,5}){1,4}"  # international
    r"|\(?0[1-9]\d{1,3}\)?" + _SEP + r"\d{3,4}" + _SEP + r"\d{3,4}"  # UK national, 10-11 digits
    r"|\(\d{3}\)" + _SEP + r"\d{3}[ \-.]\d{4}|\d{3}[\-.]\d{3}[\-.]\d{4}"  # North American
    r")(?![\w])"
)
_CUED_PHONE = re.compile(
    r"(?i)\b(?:call|tel|telephone|phone|mobile|mob|cell|ring|text|whatsapp|fax)\b[.:]?\s*(?:me\s+|us\s+)?(?:on\s+|at\s+)?"
    r"(\+?[\d(][\d ()\-.]{4,}\d)"
)
_UK_POSTCODE = re.compile(r"(?i)(?<![\w])(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})(?![\w])")
_ZIP4 = re.compile(r"(?<![\w\-])\d{5}-\d{4}(?![\w\-])")
# Street words that are rarely anything else match in any case ("12 secret street"); words that are also
# everyday English ("drive", "way", "close", "view", "park") and abbreviations ("St", "Dr") only in an address
# written as one, capitalised ("5 Hyde Park Close"), so "the 20 customers who drive most revenue" stays.
_STREET = re.compile(
    r"(?i)(?<![\w])\d{1,5}[a-z]?,?\s+(?:[a-z][\w'’\-]*\s+){1,3}"
    r"(?:street|road|avenue|lane|crescent|terrace|grove|gardens|boulevard|mews|parade|highway)\b"
)
_STREET_TITLED = re.compile(
    r"(?<![\w])\d{1,5}[a-zA-Z]?,?\s+(?:[A-Z][\w'’\-]*\s+){1,3}"
    r"(?:St|Rd|Ave|Ln|Dr|Ct|Pl|Sq|Blvd|Gdns|Cres|Hwy|Drive|Close|Way|Court|Place|Square|Row|Walk|Hill|Park|Rise"
    r"|View)\b\.?"
)
_UNIT = re.compile(
    r"\b(?:Flat|FLAT|Apartment|Apt|APT|Unit|UNIT|Suite|Ste|P\.?\s?O\.?\s?Box|PO BOX)\.?\s*(?:No\.?\s*)?"
    r"#?\d+[a-zA-Z]?\b"
)
_DATE_OR_YEARS = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}[\-–]\d{4}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}")

# Common English words that are also people's names, or that a question needs ("may", "june", "will").
_COMMON_WORDS = """
a about after all also am an and any april are as at august autumn be best bill bills big brown by can cash
chase christian crystal dale dawn day days december do dean don early earl eve faith february for frank friday
from gay get gold golden grace grant green hall hazel heath her hill holly hope how i if in into is it ivy
jack january jay joy july june just king lane last lee long love major mark march marsh may me mercy miles
monday more most new night no north not november now of on or our over page park pearl penny person pink
price read reed rich rick river robin rose ruby rush sandy saturday september she show sky so some spring
stone summer sunday sunny teddy than that the their them then there they this thursday to top tuesday up
us wade ward was we wednesday week well were west what when where white who why will winter with wood year
york you young
"""
_COMMON = frozenset(_COMMON_WORDS.split())
_TITLED = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Sir|Dame)\.?\s+[A-Z][\w'’\-]+")
_POSSESSIVE = re.compile(r"['’]s$", re.I)
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


_DONE_SIZE = 256  # texts remembered masked: a dozen questions' messages (about 80), three times over


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per store version
class Names:
    """The shop's customers' names, lower case: first names, last names, and the words never masked alone."""

    first: frozenset[str] = frozenset()
    last: frozenset[str] = frozenset()
    keep: frozenset[str] = frozenset()  # words of the shop's own products, places, channels

    def with_words(self, words: frozenset[str]) -> Names:
        """The same names, with more words never masked alone (the app's own vocabulary)."""
        return Names(self.first, self.last, self.keep | words)

    def single(self, word: str) -> bool:
        return (
            len(word) >= 2
            and word not in _COMMON
            and word not in self.keep
            and (word in self.first or word in self.last)
        )


@dataclass
class Guard:
    """Masks personal data in text for a model; ``counts`` says how many of each kind it has masked."""

    names: Callable[[], Names] = Names
    counts: Counter = field(default_factory=Counter)
    # A conversation's history is sent again with every model call: each text is masked (and counted) once.
    _done: dict[tuple[Names, str], str] = field(default_factory=dict, repr=False)

    def mask(self, text: str, names: Names | None = None) -> str:
        """``text`` with every find replaced by its label; ``names``: the shop's, when the caller has them."""
        if not text:
            return text
        names = names if names is not None else self.names()
        key = (names, text)
        if key not in self._done:
            if len(self._done) >= _DONE_SIZE:
                self._done.clear()
            self._done[key] = self._mask(text, names)
        return self._done[key]

    def _mask(self, text: str, names: Names) -> str:
        text = self._sub(_EMAIL, "email", text)
        text = self._sub(_STREET, "address", text)
        text = self._sub(_STREET_TITLED, "address", text)
        text = self._sub(_UNIT, "address", text)
        text = self._sub(_UK_POSTCODE, "postcode", text)
        text = self._sub(_ZIP4, "postcode", text)
        text = _CUED_PHONE.sub(lambda m: self._phone(m, group=1), text)
        text = _PHONE.sub(self._phone, text)
        text = self._sub(_TITLED, "name", text)
        return self._mask_names(text, names)

    def _sub(self, pattern: re.Pattern, kind: str, text: str) -> str:
        def found(match: re.Match) -> str:
            self.counts[kind] += 1
            return LABELS[kind]

        return pattern.sub(found, text)

    def _phone(self, match: re.Match, group: int = 0) -> str:
        value = match.group(group)
        digits = sum(ch.isdigit() for ch in value)
        if digits < 6 or digits > 15 or _DATE_OR_YEARS.fullmatch(value.strip()) or (group == 0 and digits < 7):
            return match.group(0)
        self.counts["phone"] += 1
        start, end = match.span(group)
        whole = match.group(0)
        return whole[: start - match.start()] + LABELS["phone"] + whole[end - match.start() :]

    def _mask_names(self, text: str, names: Names) -> str:
        if not (names.first or names.last):
            return text
        words = [_span(m) for m in _WORD.finditer(text)]
        masked: set[int] = set()
        for i, (_, end, word) in enumerate(words):
            after = words[i + 1] if i + 1 < len(words) else None
            if (
                after is not None
                and word in names.first
                and after[2] in names.last
                and not text[end : after[0]].strip()
            ):
                masked |= {i, i + 1}  # a full name: masked whatever its parts are
            elif names.single(word):
                masked.add(i)
        if not masked:
            return text
        out, at = [], 0
        for i in sorted(masked):
            start, end, _ = words[i]
            out += [text[at:start], LABELS["name"]]
            at = end
            self.counts["name"] += 1
        return "".join([*out, text[at:]])

    def said(self) -> str:
        """'2 phone numbers, 1 name' (counts only), or '' when nothing was masked."""
        return ", ".join(f"{n} {_PLURALS[kind] if n != 1 else kind}" for kind, n in sorted(self.counts.items()))


def _span(match: re.Match) -> tuple[int, int, str]:
    """(start, end, lower-case word) of a word; a possessive's "'s" left outside ("Okafor's blend")."""
    word = match.group()
    cut = 2 if _POSSESSIVE.search(word) else 0
    return match.start(), match.end() - cut, word[: len(word) - cut].lower()


# -- the shop's names, once per store version -------------------------------------------------------------

_CACHE: dict[tuple, Names] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4
NAME_WORDS = 3  # "Mary Ann", "de la Cruz"; longer is not a name
KEEP_ROWS = 3  # a product, category, channel or place on this many rows is the shop's own word


def shop_names(con: duckdb.DuckDBPyConnection) -> Names:
    """The customers' first and last names of the store ``con`` reads, cached per store version."""
    from segmentation.memo import store_key

    key = store_key(con)
    with _CACHE_LOCK:
        if key is not None and key in _CACHE:
            return _CACHE[key]
    names = _read_names(con)
    if key is not None:
        with _CACHE_LOCK:
            while len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = names
    return names


def _read_names(con: duckdb.DuckDBPyConnection) -> Names:
    def words(query: str, most: int | None = None) -> frozenset[str]:
        try:
            rows = con.execute(query).fetchall()
        except duckdb.Error:  # not a shop's store (no such table): no names to mask
            return frozenset()
        found = (_WORD.findall(str(value)) for (value,) in rows if value)
        return frozenset(w.lower() for ws in found if most is None or len(ws) <= most for w in ws)

    # A "name" of more than NAME_WORDS words is no name but text in the wrong column (even an injection
    # like "ignore previous instructions"): its words would mask half of every sentence.
    first = words("SELECT DISTINCT first_name FROM customers WHERE first_name IS NOT NULL", NAME_WORDS)
    last = words("SELECT DISTINCT last_name FROM customers WHERE last_name IS NOT NULL", NAME_WORDS)
    # Only values many rows share: a name planted in one product or one customer's city is no shop word.
    keep = words(
        " UNION ".join(
            f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*) >= {KEEP_ROWS}"
            for table, column in (
                ("order_lines", "product"),
                ("order_lines", "category"),
                ("orders", "channel"),
                ("customers", "city"),
                ("customers", "country"),
            )
        )
    )
    return Names(first=first, last=last, keep=keep)
