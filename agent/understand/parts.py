"""Two questions in one ("how many lapsed, and what did they buy?"): split where a second question starts.

A question splits at "?", ";", ", and", " and also", " also", " plus", " then" or a plain " and", when
what follows starts like a question or a request of its own ("what", "how many", "draft", "show") and
both sides say something. The second part is planned after the first has run, so "they" in it means
the first part's group. At most three parts; a list of groups ("champions and loyal") never splits,
because what follows "and" is not the start of a question.
"""

from __future__ import annotations

import re

STARTS = (
    r"what|whats|who|whos|which|how|where|when|why|can|could|would|will|do|does|did|is|are|show|list|give|"
    r"tell|draft|write|compose|send|make|split|break|compare|find|get|export|download|predict|forecast|"
    r"describe|then|also|whats|rank|break|group|cluster|load|measure|run|do|"
    r"average|aov|revenue|sales|rfm|top|predicted|wat|wot|avg|the (average|revenue|sales|number|total|top"
    r"|predicted)"
)
_JOINS = r"(?:\?|;|\.|,? and also|,? and then|, and|,? plus|,? also|,? then|,? and|,? n|\s\+|\s&)\s+"
_ALWAYS = r"(?:,? and then|, then)\s+"  # "describe the regulars and then the champions": a second ask, whatever follows


def split_parts(raw: str) -> list[str]:
    """The question's parts, in order (one part when it is one question)."""
    text = raw.strip()
    parts: list[str] = []
    while len(parts) < 2:
        cut = _cut(text)
        if cut is None:
            break
        first, text = text[: cut[0]].strip(" ,;"), text[cut[1] :].strip()
        parts.append(first)
    parts.append(text)
    return [p for p in parts if re.search(r"[A-Za-z]", p)] or [raw]


def _asks(sentence: str) -> bool:
    """Whether a sentence asks something itself (a question word or a request first, or a question mark)."""
    words = re.sub(r"[^a-z ]", "", sentence.lower().replace("'", "")).strip()
    return sentence.rstrip().endswith("?") or bool(re.match(rf"(?:(?:please|ok|so|now|and) )?(?:{STARTS})\b", words))


def _cut(text: str) -> tuple[int, int] | None:
    for m in re.finditer(_JOINS, text, flags=re.IGNORECASE):
        before, after = text[: m.start()], text[m.end() :]
        if len(re.findall(r"[A-Za-z]+", before)) < 2 or len(re.findall(r"[A-Za-z]+", after)) < 2:
            continue
        first_words = re.sub(r"^(and|also|then|plus) ", "", re.sub(r"[^a-z ]", "", after.lower().replace("'", "")))
        if m.group(0).strip().startswith((".", "?")) and not _asks(before):
            continue  # "Some of my customers haven't been back. What are they like?": the first is context
        if re.match(rf"(?:{STARTS})\b", first_words) or re.fullmatch(_ALWAYS, m.group(0), flags=re.IGNORECASE):
            return m.start(), m.end()
    return None
