"""The grounding check: a model's answer is shown only when the shop's data supports it.

Three rules, each a plain reason when broken (the reason becomes ``Turn.grounded`` and is said to the person):

- A question about the shop's data (``about_the_data``) must be answered after calling a tool. A small model
  asked "how many champions do I have?" will otherwise write a fluent number from nowhere.
- Every number the answer writes must be in this turn's tool results (what the model read), in the arguments it
  called them with, or in the question (``numbers_from_nowhere``). Formatting is allowed for: 1,234.50 is
  1234.5, 12% is 0.12, £61k is 61,224.70, 8% is 8.2%, a date as 20 November 2026 is 2026-11-20. Rounding is
  allowed to the precision shown, as long as two significant digits are kept: "61,000" may stand for 61,224.70,
  but "60,000" may not (one digit says almost nothing and would let any number through). The words one to
  twelve, list markers ("1."), ordinals up to the 12th and identifiers such as ``cluster_3`` are not checked:
  they count things on the page, not the shop.
- A draft keeps the tool's facts: its offer (percentage or amount off) is not changed or dropped, and no answer
  holds customer data (an email address, phone number, street address, postcode or a customer's full name), which
  the model never saw, so could only have invented.

Pure text work: no LangChain, no store. ``agent.llm`` calls ``check_answer`` on every model answer.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agent.base import CHECKED
from agent.intents import MONTH_NAMES, SMALL_NUMBERS
from segmentation.safety.privacy import Guard, Names

NO_LOOK = "the model answered without looking at your data"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # CHECKED, or why the answer is not shown, in words that follow "the model's answer was not shown ("


PASSED = Verdict(True, CHECKED)


# -- is the question about the shop's data? -------------------------------------------------------------------

# Words that only a question about this shop's customers, orders or campaigns uses.
_DATA_WORDS = re.compile(
    r"\b(customers?|clients?|buyers?|shoppers?|people|regulars?|members?|subscribers?|audience|orders?|ordered"
    r"|purchases?|purchased|bought|buy(s|ing)?|sales?|sold|revenue|turnover|income|takings|spen[dt]|spending"
    r"|baskets?|aov|ltv|clv|lifetime value|segments?|segmentation|groups?|clusters?|champions?|lapsed|lost"
    r"|hibernat\w*|sleep\w*|at[ -]risk|churn(ed|ing)?|loyal|vips?|dormant|inactive|new(comers?)?|one[ -]time"
    r"|repeat|returning"
    r"|best|top|biggest|worst|products?|items?|categor(y|ies)|cit(y|ies)|countr(y|ies)|regions?|towns?|channels?"
    r"|campaigns?|drafts?|emails?|sms|texts?|newsletters?|win[ -]?back|predict(ed|ion)?|forecast|expected|worth"
    r"|control|uplift"
    r"|next \d+ days|trends?|growth|monthly|weekly|yearly|last (week|month|year)|this (week|month|year)"
    r"|data|shop|store|business|rfm|recency|frequency|monetary|rhythm|gap|overview|summary|list|export)\b",
    re.I,
)
# "What is RFM?" or "what does at risk mean?": about words, not about this shop (no "my", "our", "I", "we").
_DEFINITION = re.compile(
    r"^\s*(what('?s| is| are)( an?| the)? [\w'-]+( [\w'-]+){0,2}\??\s*$|what does .* mean\b"
    r"|define\b|meaning of\b|explain (what|how)\b"
    r"|how (is|are) .* (defined|calculated|worked out)\b)",
    re.I,
)
_OWN = re.compile(r"\b(my|our|i|we|me|us|mine|ours|them|they|those|these|their|it)\b", re.I)
_QUESTION_WORD = re.compile(r"\b(how many|how much|who|which|when)\b", re.I)
# "And where do they live?": a follow-up about the group of the last answer.
_BACK = re.compile(r"\b(them|they|those|these|their|that group|this group|that segment|the same)\b", re.I)
_SMALL_TALK = re.compile(
    r"^\s*(hi|hello|hey|help|thanks?|thank you|cheers|good (morning|afternoon|evening)|ok|okay"
    r"|bye)\b[\s!.?]*$|what can you do|how do(es)? (this|it|you) work|who are you",
    re.I,
)


def about_the_data(question: str) -> bool:
    """True when answering needs the shop's data: "how many champions?", "and where do they live?", "draft an
    email for my lapsed customers". False for greetings, help and what a word means ("what is RFM?")."""
    if _SMALL_TALK.search(question):
        return False
    if _DEFINITION.search(question) and not _OWN.search(question):
        return False
    asks_about_own = bool(_OWN.search(question) and _QUESTION_WORD.search(question))
    if _DATA_WORDS.search(question) or _BACK.search(question) or asks_about_own:
        return True
    # The owners' own words ("which punters are at rsik", "name all the hibernators"): what the offline
    # assistant would answer with a tool is a question about the data.
    from agent.offline import State, plan_question

    return plan_question(question, State()).tool is not None


# -- numbers -----------------------------------------------------------------------------------------------

_MONTHS = {
    **{name: i for i, name in enumerate(MONTH_NAMES, 1)},
    **{name[:3]: i for i, name in enumerate(MONTH_NAMES, 1)},
    "sept": 9,
}
_MONTH = (
    r"(january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_DATES = (
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), ("y", "m", "d")),
    (re.compile(r"\b(\d{4})-(\d{1,2})\b(?!-)"), ("y", "m")),  # a month as a table writes it: 2025-12
    (re.compile(rf"\b(\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b", re.I), ("d", "M", "y")),
    (re.compile(rf"\b{_MONTH}\s+(\d{{1,2}}){_ORD},?\s+(\d{{4}})\b", re.I), ("M", "d", "y")),
    (re.compile(rf"\b(\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MONTH}\b", re.I), ("d", "M")),
    (re.compile(rf"\b{_MONTH}\s+(\d{{1,2}}){_ORD}\b(?!\s*(?:%|customers|orders|people|days))", re.I), ("M", "d")),
    (re.compile(rf"\b{_MONTH},?\s+(\d{{4}})\b", re.I), ("M", "y")),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"), ("d", "m", "y")),  # day first, as the UK writes it
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_LIST_MARKER = re.compile(r"^(\s*(?:[-*+]\s+)?#*\s*)\(?\d{1,2}[.)](?=\s)", re.M)
# A number as an answer writes it: not inside a word or identifier (cluster_3, Q4, B2B), optional currency, the
# digits (with thousands commas), then a unit that scales it (k, m, bn, thousand, million) or makes it a share.
_NUMBER = re.compile(
    r"(?<![\w.,/-])(?:[£$€¥₹]\s?)?(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:(?P<ord>st|nd|rd|th)\b|(?P<pct>\s?%|\s?per ?cent\b)|(?P<mult>k|m|bn|K|M)\b|\s(?P<word>thousand|million"
    r"|billion)\b|(?P<times>x|×)(?![\w]))?",
)
_SMALL = {"a": 1, "an": 1, **SMALL_NUMBERS}
_SCALE_WORD = re.compile(rf"\b(?P<n>{'|'.join(_SMALL)})\s+(?P<word>hundred|thousand|million|billion)\b", re.I)
_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9, "hundred": 1e2}
# In the sources: every run of digits, a share when a percent sign follows.
_ANY_NUMBER = re.compile(r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<pct>\s?%|\s?per ?cent\b)?")


@dataclass(frozen=True)
class Written:
    """A number as the answer wrote it: its value, the step its last digit stands for, and whether a share."""

    text: str
    value: float
    step: float
    percent: bool

    def matches(self, source: float) -> bool:
        return abs(source - self.value) <= self.step / 2 + 1e-9 * max(abs(source), 1.0)


def _written(match: re.Match) -> Written | None:
    digits = match.group("digits").replace(",", "")
    if match.group("ord"):
        return None if float(digits) <= 12 else Written(match.group(0), float(digits), 1.0, False)
    scale = _SCALES.get((match.group("mult") or match.group("word") or "").lower(), 1.0)
    whole, _, decimals = digits.partition(".")
    significant = (whole + decimals).lstrip("0")
    if decimals:
        step = 10.0 ** -len(decimals)
    else:  # trailing zeros may be rounding ("61,000"), when at least two significant digits remain
        zeros = len(whole) - len(whole.rstrip("0")) if whole.strip("0") else 0
        step = 10.0**zeros if len(significant.rstrip("0")) >= 2 else 1.0
    if scale != 1.0 and len(significant.rstrip("0")) < 2 and not decimals:
        step = 1.0 / scale  # "3m" says exactly three million, or nothing it can be held to
    return Written(match.group(0).strip(), float(digits) * scale, step * scale, bool(match.group("pct")))


def _dates(text: str) -> tuple[list[tuple[str, dict[str, int]]], str]:
    """The dates in ``text``, each as written and as {y, m, d} parts, and the text with them blanked out."""
    found: list[tuple[str, dict[str, int]]] = []

    def take(parts: tuple[str, ...]):
        def blank(match: re.Match) -> str:
            date: dict[str, int] = {}
            for part, value in zip(parts, match.groups(), strict=True):
                key = part.lower()
                date[key] = _MONTHS[value.lower().rstrip(".")] if part == "M" else int(value)
            if 1 <= date.get("m", 1) <= 12 and 1 <= date.get("d", 1) <= 31:
                found.append((match.group(0), date))
            return " " * len(match.group(0))

        return blank

    for pattern, parts in _DATES:
        text = pattern.sub(take(parts), text)
    return found, text


def _source_text(results: Iterable[str]) -> str:
    """The tool results as text: a JSON result's strings and numbers, or the text itself."""
    out: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            out.append(repr(value))
        else:
            out.append(str(value))

    for result in results:
        try:
            walk(json.loads(result))
        except (TypeError, ValueError):
            out.append(str(result))
    return "\n".join(out)


@dataclass(frozen=True)
class Sources:
    """Every number and date the answer may quote."""

    plain: frozenset[float]
    shares: frozenset[float]  # numbers written as percentages: 8.2 for "8.2%"
    dates: tuple[dict[str, int], ...]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Sources:
        text = "\n".join(texts)
        dates, _ = _dates(text)
        plain: set[float] = set()
        shares: set[float] = set()
        for match in _ANY_NUMBER.finditer(text):
            (shares if match.group("pct") else plain).add(float(match.group("digits").replace(",", "")))
        plain |= {_SMALL[m.group("n").lower()] * _SCALES[m.group("word").lower()] for m in _SCALE_WORD.finditer(text)}
        plain |= {float(d["y"]) for _, d in dates if "y" in d}
        return cls(frozenset(plain), frozenset(shares), tuple(d for _, d in dates))

    def holds(self, number: Written) -> bool:
        """A share must be a share: "9%" is not held by "9 days", but is by "9%" or by a fraction 0.09."""
        if number.percent:
            candidates = [*self.shares, *(s * 100 for s in self.plain if s <= 1)]
        else:
            candidates = [*self.plain, *(s / 100 for s in self.shares)]
        return any(number.matches(c) for c in candidates)

    def holds_date(self, date: dict[str, int]) -> bool:
        return any(all(known.get(k) == v for k, v in date.items()) for known in self.dates)


def numbers_from_nowhere(answer: str, sources: Sequence[str]) -> list[str]:
    """The numbers (and dates) ``answer`` writes that none of ``sources`` holds, as the answer wrote them."""
    known = Sources.of(sources)
    dates, text = _dates(answer)
    missing = [written for written, date in dates if not known.holds_date(date)]
    text = _LIST_MARKER.sub(lambda m: m.group(1), _TIME.sub(" ", text))
    for match in _SCALE_WORD.finditer(text):
        value = _SMALL[match.group("n").lower()] * _SCALES[match.group("word").lower()]
        if not known.holds(Written(match.group(0), value, value / 10, False)):  # "a hundred": about 100
            missing.append(match.group(0))
    for match in _NUMBER.finditer(_SCALE_WORD.sub(" ", text)):
        number = _written(match)
        if number is not None and not known.holds(number):
            missing.append(number.text)
    return missing


# -- drafts and customer data ------------------------------------------------------------------------------

_OFF = re.compile(r"(?:[£$€]\s?)?\d+(?:\.\d+)?\s?(?:%|per ?cent)?\s+off\b", re.I)
_LOOKS_LIKE_A_DRAFT = re.compile(r"\bsubject( line)?s?\s*:|\{\{\s*first_name\s*\}\}|^\s*(hi|hello|dear)\b", re.I | re.M)


def _draft_problem(answer: str, drafts: Sequence[dict]) -> str | None:
    """Why the answer's draft does not keep the tool's offer: changed ("20% off" for "10% off"), or left out."""
    offers = [d.get("offer") or "" for d in drafts]
    if not drafts:
        return None
    allowed = {_amount(m) for offer in offers for m in _OFF.findall(offer)}
    for written in _OFF.findall(answer):
        if _amount(written) not in allowed:
            said = "; ".join(o for o in offers if o) or "no offer"
            return f"its draft offers {written.strip()}, but the drafted campaign's offer is {said}"
    if _LOOKS_LIKE_A_DRAFT.search(answer):
        written = {_amount(w) for w in _OFF.findall(answer)}
        for offer in offers:
            if offer and not any(_amount(m) in written for m in _OFF.findall(offer)):
                numbers = [m.group("digits") for m in _ANY_NUMBER.finditer(offer)]
                if numbers and not all(re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d,])", answer) for n in numbers):
                    return f"its draft leaves out the drafted campaign's offer ({offer})"
    return None


def _amount(text: str) -> tuple[str, float]:
    digits = re.search(r"\d+(?:\.\d+)?", text)
    assert digits is not None  # every offer _OFF finds holds a number
    value = float(digits.group(0))
    return ("%" if re.search(r"%|per ?cent", text, re.I) else "money", value)


def _customer_data(answer: str, names: Names | None) -> str | None:
    """The kind of customer data the answer holds, in words, or None. The model never saw any: a find is invented
    or copied from somewhere it should not be."""
    guard = Guard(names=lambda: Names())
    guard.mask(answer)  # emails, phones, addresses, postcodes, titled names ("Mrs Patel")
    kinds = {
        "email": "an email address",
        "phone": "a phone number",
        "address": "a street address",
        "postcode": "a postcode",
        "name": "a customer's name",
    }
    for kind, words in kinds.items():
        if guard.counts.get(kind):
            return words
    if names is not None and (names.first or names.last):
        tokens = re.findall(r"[^\W\d_]+", answer)
        for first, last in itertools.pairwise(tokens):
            if first.lower() in names.first and last.lower() in names.last and first[0].isupper() and last[0].isupper():
                return "a customer's name"
    return None


# -- the check -----------------------------------------------------------------------------------------------


def check_answer(
    answer: str,
    *,
    question: str,
    results: Sequence[str],
    called_tools: bool,
    drafts: Sequence[dict] = (),
    names: Names | None = None,
    asked: Sequence[dict] = (),
) -> Verdict:
    """Whether ``answer`` may be shown: ``PASSED``, or a ``Verdict`` with the reason it may not.

    ``results``: this turn's tool results as the model read them (JSON texts); ``asked``: the arguments it called
    the tools with; ``drafts``: this turn's drafted campaigns' facts with their ``offer``; ``names``: the shop's
    customers' names, to find one the answer should not hold."""
    if about_the_data(question) and not called_tools:
        return Verdict(False, NO_LOOK)
    personal = _customer_data(answer, names)
    if personal:
        return Verdict(False, f"the model's answer holds {personal}, which it is never given")
    problem = _draft_problem(answer, drafts)
    if problem:
        return Verdict(False, f"the model's answer changed the facts: {problem}")
    sources = [question, _source_text(results), *(json.dumps(a, default=str) for a in [*asked, *drafts])]
    missing = numbers_from_nowhere(answer, sources)
    if missing:
        quoted = ", ".join(dict.fromkeys(missing))
        where = "this question's tool results" if called_tools else "any tool result"
        few = "a number" if len(set(missing)) == 1 else "numbers"
        return Verdict(False, f"the model wrote {few} ({quoted}) found in none of {where} nor in your question")
    return PASSED
