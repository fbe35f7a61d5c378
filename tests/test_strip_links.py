"""A model's answer shows the words it wrote, never an image or a link it was led to write (issue 15).

``strip_links`` reduces images to their alt text and links to their words, and removes every web address;
``defuse_markdown`` then escapes what is left. Inputs are the shapes a prompt injection in the data would use."""

from __future__ import annotations

import re

import pytest

from segmentation.safety.markup import ADDRESS_REMOVED, defuse_markdown, strip_links

BEACON = "http://127.0.0.1:9/beacon?q=champions-276"


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        (f"![chart]({BEACON})", "chart"),
        (f'Your groups: ![x]({BEACON} "title") done.', "Your groups: x done."),
        (f"[the list]({BEACON})", "the list"),
        (f"[a [nested] label]({BEACON})", "a [nested] label"),
        (f"[![logo]({BEACON})]({BEACON})", "logo"),  # an image inside a link
        (f"[see](<{BEACON} with space>)", "see"),
        ("[paren](http://x/a(b)c) end", "paren end"),
        (f"Read [this][1].\n\n[1]: {BEACON}\n", "Read this.\n\n"),
        (f'![pixel][img]\n[img]: {BEACON} "t"', "pixel\n"),
        (f"Open [report][] now.\n\n[report]: {BEACON}", "Open report now.\n\n"),
        (f"A shortcut: [here].\n\n  [Here]: {BEACON}", "A shortcut: here.\n\n"),
        (f'<img src="{BEACON}" alt="Top group">', "Top group"),
        (f"<IMG SRC={BEACON}>", ""),
        (f"<img\nsrc='{BEACON}'\nalt='multi line'>", "multi line"),
        (f'<a href="{BEACON}">click me</a>', "click me"),
        (f'<video poster="{BEACON}"></video>', "</video>"),  # the address goes; the inert closing tag stays
        (f"<{BEACON}>", ADDRESS_REMOVED),
        (f"Visit {BEACON}.", f"Visit {ADDRESS_REMOVED}."),
        ("Visit www.example.com/x?q=1, then", f"Visit {ADDRESS_REMOVED}, then"),
    ],
)
def test_images_and_links_become_their_words_and_addresses_go(written, shown):
    assert strip_links(written) == shown
    assert "beacon" not in defuse_markdown(strip_links(written))


@pytest.mark.parametrize(
    "text",
    [
        "You have **42** champions; 12 [3%] of them lapsed.",
        "Groups: [1, 2, 3] and array[0]",
        "- first\n- second\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        "Run `segments import FILE` to load data.",
        "Revenue was $1,200 (up 4%).",
        "An unclosed [bracket and (paren",
    ],
)
def test_text_without_links_is_unchanged(text):
    assert strip_links(text) == text


def test_a_half_streamed_image_leaks_no_address():
    """While an answer streams, an image arrives in pieces; no piece may show or fetch the address."""
    whole = f"Here: ![x]({BEACON}) and more"
    for end in range(len(whole) + 1):
        shown = defuse_markdown(strip_links(whole[:end]))
        assert "beacon" not in shown and "127.0.0.1:9" not in shown, whole[:end]
        # Nothing that could form an image or a link survives the escape: every '[' and '<' is escaped.
        assert not re.search(r"(?<!\\)[\[<]", shown)
