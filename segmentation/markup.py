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


def _escape(text: str) -> str:
    text = _INLINE.sub(r"\\\1", text)
    # A digit cannot be escaped: "12. x" becomes "12\. x".
    return _addresses(_LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"{m[1]}{m[3]}\\{m[4]}", text))


def _addresses(text: str) -> str:
    return _BARE_ADDRESS.sub(lambda m: f"{m[1] or m[3]}\\{m[2] or m[4]}", text)
