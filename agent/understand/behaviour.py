"""What customers did, said in a question, as conditions that narrow a list: where they are (one place or
several), what they bought (the shop's own products and categories, ever or in the last N days), how much they
spent ("over a hundred quid"), how long they have been quiet ("not ordered anything in 6 months", "hasn't bought
since July") and how often they bought ("only ever bought once"). How they take the emails is who they are, in
``agent.understand.filters``.

As in ``agent.understand.filters``, the words become the condition language (``segmentation.custom.conditions``:
``city in ("Halifax", "Todmorden") and monetary > 100``), never SQL; the tool parses it like any other. Places,
products and categories are recognised only from the shop's own names (``names``: kind -> the names as stored), so
a word that is not one of them never narrows a list.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re

from agent import intents as phrases
from agent.understand.text import normalise

_COUNT = (
    r"(\d+|a couple of|couple of|a few|few|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|eighteen|twenty four)"
)
_UNIT = r"(day|week|month|year)s?"
_SPEND_WORDS = r"(?:spent|spend|spending|spends|worth|paid|lifetime)"
_MORE = r"(?:over|more than|above|at least|greater than|upwards of|north of|exceeding|in excess of)"
_LESS = r"(?:under|less than|below|no more than)"
_AMOUNT = (
    r"(?:(?:gbp |usd |eur |£ ?|\$ ?|€ ?)?(?P<digits>\d+(?:\.\d+)?)(?P<k> ?k)?"
    r"|(?P<words>(?:a|one|two|three|four|five|six|seven|eight|nine|ten) (?:hundred|thousand)|a grand|fifty|twenty"
    r"|thirty|forty|sixty|seventy|eighty|ninety))"
    r"(?: (?:pounds?|quid|dollars?|euros?|bucks))?\b"
)
_QUIET = re.compile(
    r"\b(?:havent|have not|hasnt|has not|not|no longer|didnt|did not|nothing|without)\b(?: \w+){0,2}?"
    r" (?:ordered|bought|shopped|purchased|been in|visited|been back|come in|come back|orders?|purchases?)\b"
    rf"(?: \w+){{0,2}}? (?:in|for|since) (?:the )?(?:(?:last|past) )?(?:like |about |around |over )?{_COUNT} {_UNIT}\b"
)
_QUIET_SINCE = re.compile(
    r"\b(?:havent|have not|hasnt|has not|not|no longer|didnt|did not|nothing)\b(?: \w+){0,3}?"
    r" (?:ordered|bought|shopped|purchased|been in|visited|been back|come in|come back)\b(?: \w+){0,2}? since "
    r"(?:the (?:start|beginning|end) of )?(?P<month>" + "|".join(phrases.MONTH_NAMES) + r")\b"
)
_WINDOW = re.compile(rf"\b(?:in|within|during|over) (?:the )?(?:last|past) (?:like |about )?{_COUNT} {_UNIT}\b")
_PURCHASE = re.compile(r"\b(?:bought|buy|buys|buying|buyers?|had|has had|ordered|orders?|got|purchased|purchases?)\b")
_WHO_BUY = re.compile(r" (?:crowd|lot|fan|buyer|people|customer|eater|lover|regular|brigade)\b")
_ONCE = re.compile(
    r"\b(?:only (?:ever )?(?:bought|ordered|shopped|purchased|came|come|been) (?:\w+ )?once|one (?:time|off) "
    r"(?:buyers?|customers?|shoppers?)|(?:bought|ordered|shopped|purchased) (?:just |only )?once|one and done|"
    r"single (?:purchase|order)|never came back after (?:their|the|one|a) (?:first )?(?:order|purchase|visit))\b"
)
_TIMES = re.compile(r"\b(?:bought|ordered|shopped|purchased|been in|come in)(?: \w+)? (?:more than|over) (\w+) times\b")
_SIZES = re.compile(r"\b(?:\d+\w*|box of \d+|pack|whole|of \d+)\b")


def behaviour_conditions(raw: str, text: str, last_order: dt.date, names: dict[str, tuple[str, ...]]) -> list[str]:
    """Conditions for what customers did: place, purchases, spend, time since the last order, how often.
    ``raw``: the question as typed; ``text``: cleaned (``agent.understand.text.clean``); ``last_order``: the
    shop's last order day, the anchor of "since July"; ``names``: the shop's cities, countries, products and
    categories as stored."""
    text = f" {text} "
    parts: list[str] = []
    bought, text_left = _bought(text, names)
    parts += _places(text_left, names)
    parts += bought
    parts += _spend(_amount_text(raw))
    parts += _quiet(text, last_order)
    if _ONCE.search(text):
        parts.append("frequency = 1")
    elif times := _TIMES.search(text):
        n = times.group(1)
        count = int(n) if n.isdigit() else phrases.NUMBER_WORDS.get(n)
        if count:
            parts.append(f"frequency > {count}")
    return parts


# Words that name the lapsed group itself, not only a time since the last order.
_LAPSED_WORDS = re.compile(
    r"\b(?:lapsed|lapsing|lost|churned|former|inactive|dormant|drifted|fallen away|fell away|gone (?:quiet|cold)"
    r"|went (?:quiet|cold)|stopped|no longer|any ?more|used to|in ages|for ages)\b"
)


def time_is_the_rule(group: str | None, text: str, parts: list[str]) -> bool:
    """Whether "lapsed" was read only from a time the owner gave ("haven't been in for a couple of months"): then
    that time is the rule, not the shop's own lapsed line, and the list is everyone quiet for that long."""
    timed = any(p.startswith(("recency", "last_order")) for p in parts)
    return group == "lapsed" and timed and not _LAPSED_WORDS.search(text)


def _stem(word: str) -> str:
    """One form for singular and plural, the same on both sides: brownies, brownie -> browny; pastries, pastry ->
    pastry; buns -> bun."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word[:-2] + "y" if len(word) > 4 and word.endswith("ie") else word


@functools.lru_cache(maxsize=20_000)  # the shop's names are the same every question
def _phrase(name: str) -> str:
    """A name as a question would say it: lower case, no sizes or pack counts, each word singular."""
    words = _SIZES.sub(" ", normalise(name)).split()
    return " ".join(_stem(w) for w in words)


def _bought(text: str, names: dict[str, tuple[str, ...]]) -> tuple[list[str], str]:
    """``bought (...)`` for the products and categories named after a purchase word, with the window said
    ("in the last 3 months"); and the text without them, so "Eccles cake" is not read as a place."""
    cue = bool(_PURCHASE.search(text))
    stemmed = " " + " ".join(_stem(w) for w in text.split()) + " "
    found: dict[str, list[str]] = {"product": [], "category": []}
    spans: list[tuple[int, int]] = []
    candidates = [(kind, name, _phrase(name)) for kind in ("product", "category") for name in names.get(kind, ())]
    for kind, name, phrase in sorted(candidates, key=lambda c: -len(c[2])):
        if len(phrase) < 3 or f" {phrase} " not in stemmed:  # a plain search first: shops have thousands of names
            continue
        for match in re.finditer(rf"(?<= ){re.escape(phrase)}(?= )", stemmed):
            if any(a < match.end() and match.start() < b for a, b in spans):
                continue  # inside a longer name already found ("gf brownie" before "brownie")
            if not cue and not _WHO_BUY.match(stemmed, match.end()):
                continue  # "bread sales": no one said to have bought it; "the gluten free crowd" is who buys it
            spans.append((match.start(), match.end()))
            if name not in found[kind]:
                found[kind].append(name)
    if not spans:
        return [], text
    window = _window(text)
    tests = []
    for kind, listed in found.items():
        if not listed:
            continue
        values = ", ".join(_quoted(n) for n in listed)
        what = f"({values})" if len(listed) > 1 else values
        tests.append(f"bought {'category ' if kind == 'category' else ''}{what}{window}")
    # The words of the names found, blanked in the question as said (stemming would hide "Hastings" from places).
    covered = {stemmed.count(" ", 0, a + 1) - 1 + i for a, b in spans for i in range(stemmed[a:b].count(" ") + 1)}
    left = " " + " ".join("" if i in covered else w for i, w in enumerate(text.split())) + " "
    return ([tests[0]] if len(tests) == 1 else [f"({' or '.join(tests)})"]), left


def _window(text: str) -> str:
    """' in last 90 days' for "in the last 3 months" that is not part of a quiet phrase; else ''."""
    quiet = _QUIET.search(text)
    for match in _WINDOW.finditer(text):
        if quiet and quiet.start() <= match.start() < quiet.end():
            continue
        n = 1 if match.group(1) in ("a", "an") else _count(match.group(1))
        if n:
            return f" in last {n * phrases.UNIT_DAYS[match.group(2)]} days"
    return ""


def _places(text: str, names: dict[str, tuple[str, ...]]) -> list[str]:
    """``city = "Leeds"``, or ``city in ("Halifax", "Todmorden")`` for several (a customer is in one)."""
    parts = []
    for kind in ("city", "country"):
        said = {n: _plain(n) for n in names.get(kind, ()) if _plain(n)}
        named = [n for n, plain in said.items() if f" {plain} " in text]
        # "Bridge" inside "Hebden Bridge": only the longest name said at that place counts.
        named = [n for n in named if not any(said[n] != said[o] and said[n] in said[o] for o in named)]
        named.sort(key=lambda n: text.index(f" {said[n]} "))  # in the order the question names them
        if len(named) == 1:
            parts.append(f"{kind} = {_quoted(named[0])}")
        elif named:
            parts.append(f"{kind} in ({', '.join(_quoted(n) for n in named)})")
    return parts


def _amount_text(raw: str) -> str:
    """The question in lower case with its amounts whole ("£1.5k" -> "gbp 1.5k"): ``normalise`` would split them."""
    text = re.sub(r"[£$€]", " gbp ", raw.lower()).replace("'", "").replace("’", "")
    return " ".join(re.sub(r"(?<!\d)\.|\.(?!\d)|[^\w.]+", " ", text).split())


@functools.lru_cache(maxsize=20_000)
def _plain(name: str) -> str:
    return normalise(name)


def _spend(text: str) -> list[str]:
    found = []
    for op, words in ((">", _MORE), ("<", _LESS)):
        match = re.search(rf"\b{_SPEND_WORDS}\b(?: \w+){{0,4}}? {words} {_AMOUNT}", text)
        if match and (amount := _amount(match)) is not None:
            found.append(f"monetary {op} {amount:g}")
    return found


def _amount(match: re.Match) -> float | None:
    if match.group("digits"):
        return float(match.group("digits")) * (1000 if match.group("k") else 1)
    words = match.group("words")
    if words == "a grand":
        return 1000.0
    head, _, scale = words.partition(" ")
    value = 1 if head in ("a", "one") else phrases.NUMBER_WORDS.get(head)
    if value is None:
        return None
    return float(value * {"hundred": 100, "thousand": 1000}.get(scale, 1))


def _quiet(text: str, last_order: dt.date) -> list[str]:
    if quiet := _QUIET.search(text):
        n = 1 if quiet.group(1) in ("a", "an") else _count(quiet.group(1))
        if n:
            return [f"recency >= {n * phrases.UNIT_DAYS[quiet.group(2)]}"]
    if since := _QUIET_SINCE.search(text):
        # "hasn't bought since July": their last purchase was in July or before, so none from August on.
        month = phrases.MONTH_NAMES.index(since.group("month")) % 12 + 1
        year = last_order.year if month <= last_order.month else last_order.year - 1
        after = dt.date(year, month, calendar.monthrange(year, month)[1]) + dt.timedelta(days=1)
        return [f"last_order < {after.isoformat()}"]
    return []


def _count(word: str) -> int | None:
    return int(word) if word.isdigit() else phrases.NUMBER_WORDS.get(word)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
