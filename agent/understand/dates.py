"""Dates and periods in an owner's words, read against the shop's own clock (the day of its last order).

"last month" is the previous calendar month; "in the last 3 months" runs from three months before the
anchor to the anchor; "Q3" is the latest third quarter that has ended by the anchor; "since Christmas"
starts on the latest 25 December before it; "as of 1st June" is one day, the latest 1 June on or before
the anchor. Single dates go through ``dateutil`` (day first, as owners here write them); the relative
phrases, which no date library reads the way a shop means them, are the rules below.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from dateutil import parser as date_parser

from agent import intents as phrases

NUM = r"(\d+|" + "|".join(sorted(phrases.NUMBER_WORDS, key=len, reverse=True)) + r")"
MONTH = phrases.MONTH_WORD
_DAY_MONTH = (
    rf"(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?{MONTH}(?: (\d{{4}}))?"
    rf"|{MONTH} (\d{{1,2}})(?:st|nd|rd|th)?(?: (\d{{4}}))?"
)
_NUMERIC = r"\b(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4})\b"


@dataclass(frozen=True)
class Period:
    """``start``..``end`` inclusive (either may be open: None); ``words`` says how it was read."""

    start: dt.date | None
    end: dt.date | None
    words: str

    @property
    def days(self) -> int | None:
        return (self.end - self.start).days + 1 if self.start and self.end else None


def number(word: str | None) -> int | None:
    if word is None:
        return None
    return int(word) if word.isdigit() else phrases.NUMBER_WORDS.get(word)


def months_back(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def latest(anchor: dt.date, month: int, day: int, year: int | None = None) -> dt.date:
    """This month and day in ``year`` if given, else the latest one on or before ``anchor``."""
    if year:
        return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))
    found = dt.date(anchor.year, month, min(day, calendar.monthrange(anchor.year, month)[1]))
    return (
        found
        if found <= anchor
        else dt.date(anchor.year - 1, month, min(day, calendar.monthrange(anchor.year - 1, month)[1]))
    )


def _parse(words: str, anchor: dt.date) -> dt.date | None:
    """One calendar date, written any usual way ('1st june', 'June 1 2025', '01/06/2026', '2026-06-01')."""
    words = re.sub(r"\bsept\b", "sep", words)
    try:
        when = date_parser.parse(words, dayfirst=True, default=dt.datetime(anchor.year, 1, 1)).date()
    except (ValueError, OverflowError):
        return None
    if not re.search(r"\d{4}", words) and when > anchor:  # "1st June" means the last one, not the next
        when = latest(anchor, when.month, when.day)
    return when


def dates_in(raw: str, text: str, anchor: dt.date) -> list[tuple[int, dt.date]]:
    """Every calendar date in the question, with its position, in order."""
    found = [(m.start(), _parse(m.group(1), anchor)) for m in re.finditer(_NUMERIC, raw)]
    found += [(m.start(), _parse(m.group(0), anchor)) for m in re.finditer(rf"\b(?:{_DAY_MONTH})\b", text)]
    seasons = "|".join(phrases.SEASONS)
    found += [
        (m.start(), latest(anchor, *phrases.SEASONS[m.group(1)]))
        for m in re.finditer(rf"\b(?:last |this )?({seasons})\b", text)
        if re.search(r"\b(between|and|to|from)\b", text)
    ]
    return sorted((at, day) for at, day in found if day is not None)


def as_of(raw: str, text: str, anchor: dt.date) -> dt.date | None:
    """The one day an analysis is asked 'as of' ('as of 1st June', 'back on 2026-06-01', 'at the end of June')."""
    m = re.search(
        rf"\b(?:as of|as at|as it was on|as they were on|back on|on|at|in|by) (?:the )?(?:end of )?{MONTH}\b"
        rf"(?: (\d{{4}}))?",
        text,
    )
    point = re.search(
        r"\b(as of|as at|as it was|as they were|as (they|it|things) stood|stood on|where things stood"
        r"|based on|back (on|in|at)|at the end of|snapshot|look(ed)? like"
        r" (at|on|in)|at christmas|at easter|were on|on the)\b",
        text,
    )
    # "Who was at risk on 1 June 2025?", "who were my champions in March": the past tense puts the group then.
    point = point or re.search(r"\b(?:was|were)\b.*\b(?:on|at|in|by)\b", text)
    if not point:
        return None
    days = [d for _, d in dates_in(raw, text, anchor)]
    if days:
        return days[0]
    seasons = "|".join(phrases.SEASONS)
    season = re.search(rf"\b(?:as of|as at|at|on|over|back at) (?:the )?(?:last )?({seasons})\b", text)
    if season:
        return latest(anchor, *phrases.SEASONS[season.group(1)])
    quarter = re.search(r"\b(?:end of )?q([1-4])(?: (\d{4}))?\b", text)
    if quarter:
        found = _relative(quarter.group(0).replace("end of ", ""), anchor)
        return found.end if found else None
    if m:
        year = re.search(r"\d{4}", m.group(0))
        month = phrases.MONTHS[m.group(1)[:3]]
        end = _month_end(int(year.group()) if year else latest(anchor, month, 1).year, month)
        return min(end, anchor)
    return None


def period(raw: str, text: str, anchor: dt.date) -> Period | None:
    """The period a question is about, or None when it names none."""
    days = dates_in(raw, text, anchor)
    if len(days) >= 2 and re.search(r"\b(between|from|to|and|until|till)\b", text):
        start, end = sorted([days[0][1], days[1][1]])
        return Period(start, end, f"{start:%-d %b %Y} to {end:%-d %b %Y}")
    if days and re.search(r"\b(since|from|after|starting)\b", text):
        return Period(days[0][1], anchor, f"since {days[0][1]:%-d %b %Y}")
    if days and re.search(r"\b(before|until|till|up to)\b", text):
        return Period(None, days[0][1], f"up to {days[0][1]:%-d %b %Y}")
    if days and re.search(r"\b(on|that day)\b", text) and not re.search(r"\bas of|as at\b", text):
        return Period(days[0][1], days[0][1], f"on {days[0][1]:%-d %b %Y}")
    return _relative(text, anchor)


def _relative(text: str, anchor: dt.date) -> Period | None:
    named = _named_period(text, anchor)
    return named if named is not None else _recent_span(text, anchor)


def _named_period(text: str, anchor: dt.date) -> Period | None:
    """A period with a name: a quarter, a calendar month, this month or year, last year, a year."""
    y = anchor.year
    m = re.search(r"\bq([1-4])(?: (\d{4}))?\b", text) or re.search(
        r"\b(first|second|third|fourth|1st|2nd|3rd|4th|last) quarter(?: of (\d{4}))?\b", text
    )
    if m:
        words = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
        q = int(m.group(1)) if m.group(1).isdigit() else words.get(m.group(1), 0)  # "last": set below
        if m.group(1) == "last":  # the last whole quarter before the anchor's
            q, y = ((anchor.month - 1) // 3) or 4, y if anchor.month > 3 else y - 1
            start = dt.date(y, 3 * q - 2, 1)
            return Period(start, _month_end(y, 3 * q), f"Q{q} {y}")
        year = int(m.group(2)) if m.group(2) else (y if _month_end(y, 3 * q) <= anchor else y - 1)
        return Period(dt.date(year, 3 * q - 2, 1), min(_month_end(year, 3 * q), anchor), f"Q{q} {year}")
    if re.search(r"\b(last|previous|past) calendar month\b|\blast month\b", text):
        first = months_back(anchor.replace(day=1), 1)
        return Period(first, _month_end(first.year, first.month), f"{first:%B %Y}")
    if re.search(r"\bthis month\b|\bmonth to date\b|\bmtd\b", text):
        return Period(anchor.replace(day=1), anchor, f"{anchor:%B %Y} so far")
    if re.search(r"\b(this year|year to date|ytd|so far this year)\b", text):
        return Period(dt.date(y, 1, 1), anchor, f"{y} so far")
    m = re.search(rf"(?<!since )(?<!from )(?<!after )\blast {MONTH}\b", text)  # "since last March": from then on
    if m:
        month = phrases.MONTHS[m.group(1)[:3]]
        year = anchor.year if month < anchor.month else anchor.year - 1
        return Period(dt.date(year, month, 1), _month_end(year, month), f"{dt.date(year, month, 1):%B %Y}")
    m = re.search(r"\b(?:since|from|after) (?:the )?(?:start|beginning) of (?:(20\d\d)|the year|this year)\b", text)
    if m:
        start = dt.date(int(m.group(1)) if m.group(1) else y, 1, 1)
        return Period(start, anchor, f"since {start:%-d %B %Y}")
    if re.search(r"\blast year\b|\bprevious year\b", text) and not re.search(rf"\b(past|last) {NUM} years?\b", text):
        return Period(dt.date(y - 1, 1, 1), dt.date(y - 1, 12, 31), f"{y - 1}")
    m = re.search(r"\b(?:in|during|for|over) (20\d\d)\b", text)
    if m:
        year = int(m.group(1))
        return Period(dt.date(year, 1, 1), min(dt.date(year, 12, 31), anchor), str(year))
    return None


def _recent_span(text: str, anchor: dt.date) -> Period | None:
    """A span back from the anchor ('the last 3 weeks'), or since or during a month or season, or yesterday."""
    m = re.search(
        r"\b(?:last|past|previous|recent|over the|in the|within the) (few|couple of|couple) "
        r"(day|week|month|year)s\b",
        text,
    )
    if m:
        n = 3 if m.group(1) == "few" else 2
        return _back(anchor, n, m.group(2))
    m = re.search(
        rf"\b(?:last|past|previous|over the|in the|within the|over|within) {NUM} ?(day|week|month|quarter"
        rf"|year)s?\b",
        text,
    ) or re.search(rf"\b{NUM} (day|week|month|quarter|year)s? (?:ago|back)\b", text)
    if m:
        return _back(anchor, min(number(m.group(1)) or 1, 100), m.group(2))
    m = re.search(r"\b(?:last|past|this) (week|fortnight|quarter)\b|\blately|recently\b", text)
    if m and m.group(0) in ("lately", "recently"):
        return None
    if m:
        return _back(anchor, 2 if m.group(1) == "fortnight" else 1, "week" if m.group(1) == "fortnight" else m.group(1))
    m = re.search(
        rf"\b(?:since|from|after|start of|beginning of) (?:like |about |around )?(?:the )?(?:last )?"
        rf"(?:start of |beginning of )?{MONTH}\b"
        rf"(?: (\d{{4}}))?",
        text,
    )
    if m:
        year = re.search(r"\d{4}", m.group(0))
        start = latest(anchor, phrases.MONTHS[m.group(1)[:3]], 1, int(year.group()) if year else None)
        return Period(start, anchor, f"since {start:%-d %B %Y}")
    m = re.search(rf"\b(?:in|during|for|over|of|throughout) (?:the month of )?{MONTH}\b(?: (\d{{4}}))?", text)
    if m:
        year = re.search(r"\d{4}", m.group(0))
        month = phrases.MONTHS[m.group(1)[:3]]
        start = latest(anchor, month, 1, int(year.group()) if year else None)
        return Period(start, min(_month_end(start.year, month), anchor), f"{start:%B %Y}")
    m = re.search(r"\b(?:since|from|after) (?:the )?(?:last )?(" + "|".join(phrases.SEASONS) + r")\b", text)
    if m:
        start = latest(anchor, *phrases.SEASONS[m.group(1)])
        return Period(start, anchor, f"since {m.group(1)} ({start:%-d %b %Y})")
    if re.search(r"\byesterday\b", text):
        day = anchor - dt.timedelta(days=1)
        return Period(day, day, f"{day:%-d %b %Y}")
    return None


def _back(anchor: dt.date, n: int, unit: str) -> Period:
    if unit in ("month", "quarter", "year"):
        start = months_back(anchor, n * {"month": 1, "quarter": 3, "year": 12}[unit])
    else:
        start = anchor - dt.timedelta(days=n * phrases.UNIT_DAYS[unit])
    span = f"{n} {unit}s" if n != 1 else unit
    return Period(start, anchor, f"the last {span} ({start:%-d %b %Y} to {anchor:%-d %b %Y})")


def horizon(text: str) -> int | None:
    """Days ahead in 'over the next 30 days', 'next quarter', 'in the coming year'."""
    m = re.search(
        rf"\b(?:next|coming|over the next|in the next|within the next|over the coming|ahead) (?:the )?"
        rf"{NUM}? ?(day|week|month|quarter|year)s?\b",
        text,
    ) or re.search(rf"\b{NUM} (day|week|month|quarter|year)s? (?:ahead|from now|out)\b", text)
    if not m:
        return None
    n = number(m.group(1)) if m.group(1) else 1
    return (n or 1) * phrases.UNIT_DAYS[m.group(2)]
