"""Who-they-are words in a question, as a condition that narrows a group: "lapsed customers in the vegan tag",
"my champions who are under 30", "at-risk customers who opened our emails".

The words become a condition in the condition language (``segmentation.custom.conditions``: ``tag = vegan``,
``age < 30``, ``open_rate > 0``), never SQL; the tool parses it like any other. Tags and interests are
recognised from the shop's own values (``Shop.attributes``), so a tag of several words ("loyalty card") is
found whole, and a tag the owner calls a tag but the lists hold as an interest is read as the interest (and
said). Age and gender are read only from words that name them ("under 30", "women"): a list is never narrowed
by who people are unless the owner says so.
"""

from __future__ import annotations

import re

from agent.understand.text import normalise

_NOT_AN_AGE = (
    r"(?! ?(?:pounds?|quid|dollars?|euros?|gbp|usd|eur|orders?|purchases?|days?|weeks?|months?|years? ago|"
    r"percent|customers?|people|k\b))"
)
_UNDER = re.compile(rf"\b(?:under|younger than|below|aged under) (\d{{2}})s?\b{_NOT_AN_AGE}")
_OVER = re.compile(rf"\b(?:over|older than|above|aged over) (\d{{2}})s?\b{_NOT_AN_AGE}")
_BAND = re.compile(r"\b(?:aged|between the ages of|ages) (\d{2}) (?:to|and) (\d{2})\b")
_DECADE = re.compile(r"\bin their ([2-8]0)s\b")
_NEGATED = r"\b(?:never|not|no longer|\w+nt)\b(?: \w+){0,2} "
_EMAILS = r"(?: \w+){0,3} (?:e ?mails?|newsletters?|campaigns?)\b"


def attribute_condition(raw: str, values: dict[str, tuple[str, ...]] | None = None) -> tuple[str | None, str]:
    """(condition, note) for the who-they-are words in ``raw``; (None, '') when it has none. ``values``: the
    shop's tags and interests (``{'tag': (...), 'interest': (...)}``); the note says a tag was read as an
    interest."""
    parts, note = attribute_parts(raw, values)
    return (" and ".join(parts) or None), note


def attribute_parts(raw: str, values: dict[str, tuple[str, ...]] | None = None) -> tuple[list[str], str]:
    """The conditions of ``attribute_condition`` one by one ("under 30 and into vegan": two), and its note."""
    text = f" {normalise(raw)} "
    values = values or {}
    parts: list[str] = []
    note = ""
    for kind, other in (("tag", "interest"), ("interest", "tag")):
        for value in sorted(values.get(kind, ()), key=len, reverse=True):
            word = re.escape(normalise(value))
            if not word:
                continue
            as_tag = (
                rf"\btag(?:ged)?(?: as| with)? {word}\b|\b{word} tags?\b"
                rf"|\b(?:with|have|has|got|hold|holds|holding)(?: an?| the| their)? {word}\b"
                rf"|\b{word} (?:holders?|members?|people|customers)\b"
            )
            as_interest = (
                rf"\b(?:interest(?:ed)? in|into|who like|who love|who likes|who loves|fans? of|lovers? of|"
                rf"interests?) {word}\b|\b{word} (?:interest|fans?|lovers?|people)\b"
            )
            own, theirs = (as_tag, as_interest) if kind == "tag" else (as_interest, as_tag)
            if re.search(own, text) or (re.search(theirs, text) and value not in values.get(other, ())):
                parts.append(f"{kind} = {_quoted(value)}")
                if kind == "interest" and re.search(theirs, text):
                    note = (
                        f"Your customer lists hold {value} as an interest, not a tag, so I looked for customers "
                        f"with that interest. "
                    )
                text = re.sub(rf"\b{word}\b", " ", text)
                break
    if not any(p.startswith("tag") for p in parts):
        named = re.search(r"\btagged (?:as |with )?([a-z][\w]*)\b|\b(?:in|with) the ([a-z][\w]*) tag\b", text)
        if named:
            parts.append(f"tag = {_quoted(named.group(1) or named.group(2))}")
    parts += _age(text) + _gender(text) + _email(text)
    return parts, note


def _age(text: str) -> list[str]:
    if band := _BAND.search(text):
        low, high = sorted((int(band.group(1)), int(band.group(2))))
        return [f"age between {low} and {high}"]
    if decade := _DECADE.search(text):
        return [f"age between {decade.group(1)} and {int(decade.group(1)) + 9}"]
    found = []
    if under := _UNDER.search(text):
        found.append(f"age < {under.group(1)}")
    if over := _OVER.search(text):
        found.append(f"age > {over.group(1)}")
    return found


def _gender(text: str) -> list[str]:
    women = re.search(r"\b(?:women|woman|female|ladies)\b", text)
    men = re.search(r"\b(?:men|man|male|gentlemen)\b", text)
    if bool(women) == bool(men):
        return []
    return ["gender = female" if women else "gender = male"]


def _email(text: str) -> list[str]:
    if re.search(rf"{_NEGATED}(?:open|read)\w*{_EMAILS}", text):
        return ["open_rate = 0"]
    found = []
    if re.search(rf"\b(?:opened|open|opens|read|reads) (?:most|nearly all|almost all|all)\b{_EMAILS}", text):
        found.append("open_rate > 0.5")  # "opens most of our emails": more than half of those sent to them
    elif re.search(rf"\b(?:opened|open|opens|read|reads)\b{_EMAILS}", text):
        found.append("open_rate > 0")
    if re.search(r"\bclick(?:ed|s)?\b(?: \w+){0,3} (?:e ?mails?|newsletters?|links?)\b", text):
        found.append("click_rate > 0")
    if re.search(r"\bunsubscribed\b", text):
        found.append("unsubscribed = yes")
    return found


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
