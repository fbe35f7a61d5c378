"""Text from the data inside Markdown: shown as itself, never as an image, a link, HTML or formatting.

The app renders answers with ``st.markdown``. A product or city named ``![x](http://host/beacon.png)`` would
otherwise be an image the owner's browser fetches (a tracking beacon), ``[click](http://evil)`` a link, and
``**big**`` bold text. Two functions, for two kinds of text:

- ``escape_markdown``: for text that is not meant to carry any markup (a value from the data, the offline
  assistant's answers, the person's own question). Every character Markdown gives a meaning to is escaped,
  so it all prints as itself; only ``code spans`` are kept, because the app's own sentences name commands
  that way (``segments import FILE``) and a code span is inert: nothing inside it renders.
- ``defuse_markdown``: for text whose formatting is wanted but which may quote the data (a language model's
  answer): lists, bold and headings stay; images, links, raw HTML and bare web addresses become plain text.

Streamlit already shows raw HTML as text (``unsafe_allow_html`` is never set here); escaping ``<`` as well
keeps that true whatever renders the text next.
"""

from __future__ import annotations

import re

# Inside a line, these start or end markup: emphasis ('*', '_', '~'), images and links ('[' ']'; '!' and '('
# mean nothing without them), raw HTML and autolinks ('<'), Streamlit's maths ('$'), and the escape itself.
_INLINE = re.compile(r"([\\*_\[\]<~$])")
# At a line's start (after spaces): headings, quotes, list items, setext underlines, numbered items.
_LINE_START = re.compile(r"(?m)^([ \t]*)(?:([#>+\-=])|(\d{1,9})([.)]))")
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
# What a model's text must not do: images and links ('[' ']' start both; escaped, neither can form), raw
# HTML and autolinks ('<'); and '$' is a dollar sign, not the start of Streamlit's maths.
_LIVE = re.compile(r"([\[\]<$])")
# Bare addresses GFM turns into links by themselves: the escaped ':' or '.' breaks them.
_BARE_ADDRESS = re.compile(r"(?i)\b(https?|ftp|mailto|file|data|javascript)(:)|\b(www)(\.)")


def escape_markdown(text: object) -> str:
    """``text`` as Markdown that renders exactly as the characters it holds (code spans kept as code)."""
    parts = _CODE_SPAN.split(str(text))
    # split() with one group: even parts are outside code spans, odd parts are the spans themselves.
    return "".join(part if i % 2 else _escape(part) for i, part in enumerate(parts))


def defuse_markdown(text: object) -> str:
    """A model's Markdown with its formatting kept and everything that could fetch or link made inert."""
    parts = _CODE_SPAN.split(str(text))
    return "".join(part if i % 2 else _addresses(_LIVE.sub(r"\\\1", part)) for i, part in enumerate(parts))


def unescape_markdown(text: object) -> str:
    """Markdown written for the app, for a terminal: the escapes dropped ('9\\.3%' reads '9.3%'), the rest as is."""
    return re.sub(r"\\(.)", r"\1", str(text))


def _escape(text: str) -> str:
    text = _INLINE.sub(r"\\\1", text)
    # A digit cannot be escaped: "12. x" becomes "12\. x".
    return _addresses(_LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"{m[1]}{m[3]}\\{m[4]}", text))


def _addresses(text: str) -> str:
    return _BARE_ADDRESS.sub(lambda m: f"{m[1] or m[3]}\\{m[2] or m[4]}", text)


# -- a model's links and images, reduced to their words --------------------------------------------------------
#
# ``defuse_markdown`` already stops an image or a link from forming, but leaves its syntax on the screen:
# "!\[x\](http://host/?q=...)". A model can be led by text in the data to write such a thing, with the shop's
# numbers or names in the address: shown as an image the browser would fetch it (a beacon), shown as a link one
# click sends it. ``strip_links`` keeps what the model meant the person to read (an image's alt text, a link's
# words) and drops the addresses; the result still goes through ``defuse_markdown`` before it is rendered.

_REFERENCE_DEFINITION = re.compile(r"(?m)^[ ]{0,3}\[([^\]\n]+)\]:[ \t]*\S.*(?:\n|$)")
_HTML_IMAGE = re.compile(r"(?is)<img\b[^>]*>")
_HTML_ALT = re.compile(r"""(?is)\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
# Any other tag that names an address (a link, a video, a frame, a style), and a link's closing tag.
_HTML_ADDRESSED = re.compile(r"(?is)<[a-z][^>]*\b(?:src|href|srcset|poster|background|action|data)\s*=[^>]*>|</a\s*>")
_AUTOLINK = re.compile(r"(?i)<(?:https?|ftp|file|mailto|javascript|data):[^>\s]*>")
# A bare address is removed, not left as text: the person never needs one from an answer about the shop (no tool
# gives any), and one that carries data in its query is the beacon's payload, to be opened by a click or a copy.
_ADDRESS = re.compile(r"(?i)\b(?:(?:https?|ftp|file)://|www\.)[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]]")
ADDRESS_REMOVED = "(web address removed)"


def strip_links(text: object) -> str:
    """``text`` with every image shown as its alt text, every link as its words, and no web address left:
    Markdown inline and reference-style (``[x][1]`` with ``[1]: http://...``), HTML ``<img>`` and ``<a>``,
    autolinks and bare addresses. Brackets that make no link are left for ``defuse_markdown`` to escape."""
    text = str(text)
    defined = {m[1].strip().lower() for m in _REFERENCE_DEFINITION.finditer(text)}
    text = _REFERENCE_DEFINITION.sub("", text)
    text = _HTML_IMAGE.sub(lambda m: _alt(m[0]), text)
    text = _HTML_ADDRESSED.sub("", text)
    text = _AUTOLINK.sub(ADDRESS_REMOVED, text)
    text = _bracketed(text, defined)
    return _ADDRESS.sub(ADDRESS_REMOVED, text)


def _alt(tag: str) -> str:
    found = _HTML_ALT.search(tag)
    return next((g for g in found.groups() if g is not None), "") if found else ""


def _bracketed(text: str, defined: set[str]) -> str:
    """Links and images (``[words](address)``, ``[words][label]``, ``[words][]``, ``[label]`` when defined) as their
    words, nested ones too (an image inside a link's words); other brackets as they were."""
    out: list[str] = []
    i = 0
    while i < len(text):
        bang = text.startswith("![", i)
        start = i + 1 if bang else i
        if text[start : start + 1] != "[" or (start > 0 and text[start - 1] == "\\" and not bang):
            out.append(text[i])
            i += 1
            continue
        close = _matching(text, start, "[", "]")
        if close is None:
            out.append(text[i])
            i += 1
            continue
        words, after = text[start + 1 : close], close + 1
        if text[after : after + 1] == "(":
            end = _matching(text, after, "(", ")")
            if end is not None:
                out.append(_bracketed(words, defined))
                i = end + 1
                continue
        if text[after : after + 1] == "[":
            end = _matching(text, after, "[", "]")
            label = text[after + 1 : end].strip().lower() if end is not None else None
            if end is not None and (label in defined or not label or bang):
                out.append(_bracketed(words, defined))
                i = end + 1
                continue
        if words.strip().lower() in defined:  # a shortcut reference: "[words]" with "[words]: address" below
            out.append(_bracketed(words, defined))
            i = after
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _matching(text: str, at: int, opening: str, closing: str) -> int | None:
    """The index of the bracket closing the one at ``at`` (nesting and backslash escapes respected), or None."""
    depth, i = 0, at
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return i
        elif char == "\n" and text.startswith("\n", i + 1):  # a link never spans a blank line
            return None
        i += 1
    return None
