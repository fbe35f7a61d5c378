"""Campaign drafts written from a group's facts: deterministic, no model, no network.

One draft per segment and goal: three subject lines to A/B test and a preview line (email), a body with
the ``{{first_name}}`` merge tag that names what these customers actually buy and how often they come
back, a call to action, and an offer sized to what the segment is worth, with the rule that sized it.
Numbers follow ``segmentation.outreach.persona`` (the same rounding everywhere); names from the data pass through
``persona.clean``, so neither a product nor a shop name can carry an address or a merge tag of its own.

An SMS is at most ``SMS_LIMIT`` characters once ``{{first_name}}`` holds a 12-character name; when the
full text is longer, the least needed parts go first (the product mention, the call to action, the
product in the offer), then the shop name is shortened. It always ends with the opt-out.

Refinements, all deterministic: ``length="short"`` writes one paragraph naming the same shop and products,
the offer's short form and a short preview (the same facts, fewer words; an SMS drops its extras); ``tone``
(``TONES``) sets the greeting, the sign-off and the SMS opener, and rewrites stock phrases from a table
(``TONE_STYLES``) without touching names from the data; ``discount_percent`` replaces the sized offer with
that percentage off, named in the body and in at least one subject line.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from segmentation.outreach.persona import (
    GOALS,
    amount,
    clean,
    infer_goal,
    listing,
    named_items,
    pct,
    profile_facts,
    segment_kind,
    value_index,
)

__all__ = ["CHANNELS", "GOALS", "LENGTHS", "TONES", "draft_campaign", "draft_html", "draft_text"]

CHANNELS: tuple[str, ...] = ("email", "sms")
LENGTHS: tuple[str, ...] = ("standard", "short")
TONES: tuple[str, ...] = ("warm", "formal", "playful", "urgent")
DISCOUNT_RANGE = (1, 90)
SMS_LIMIT = 160
SAMPLE_FIRST_NAME = "Christabelle"  # 12 characters: SMS lengths are counted with a name this long
OFFER_DAYS = 14
PERCENT_OFF = 10
HIGH_VALUE = 1.5  # revenue share at least 1.5x customer share: worth a fixed amount, not a percentage
OPT_OUT = "Reply STOP to opt out"
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€")  # two units each


@dataclass
class _Context:
    key: str
    shop: str
    products: list[str]  # up to three, most bought first
    category: str | None
    explore: str | None  # something to suggest next to the favourites (upsell)
    strong: str | None  # a product at least half the group buys: safe to say "your last ..."
    every: str | None  # "about once a month", from the typical gap
    currency: str

    @property
    def item(self) -> str:
        return self.strong or (self.products[0] if self.products else self.category or "favourites")


def _every(gap: float | None) -> str | None:
    """The typical gap in the words a shop would use to a customer."""
    if gap is None or not math.isfinite(gap) or gap <= 0:
        return None
    for limit, words in (
        (1.5, "every day"),
        (4, "every few days"),
        (10, "about once a week"),
        (17, "every couple of weeks"),
        (24, "every three weeks or so"),
        (45, "about once a month"),
        (75, "every couple of months"),
        (135, "every few months"),
        (250, "a couple of times a year"),
    ):
        if gap <= limit:
            return words
    return "about once a year"


def _step(value: float) -> Decimal:
    """The friendly unit amounts are rounded to: 0.5 under 5, 1 under 20, 5 under 100, 10 under 500, else 50."""
    for top, step in ((5, "0.5"), (20, "1"), (100, "5"), (500, "10")):
        if value < top:
            return Decimal(step)
    return Decimal(50)


def _round_down(value: float) -> Decimal:
    step = _step(value)
    return max(step, (Decimal(str(value)) / step).to_integral_value(ROUND_FLOOR) * step)


def _round_up(value: float) -> Decimal:
    step = _step(value)
    return (Decimal(str(value)) / step).to_integral_value(ROUND_CEILING) * step


def _giveaway(profile: dict) -> dict | None:
    """A top product cheap enough to give away: what its buyers spent on it is under half a typical order."""
    aov, customers = profile.get("avg_order_value"), profile.get("customers") or 0
    if not aov or not customers:
        return None
    for item in named_items(profile, "top_products"):
        buyers = (item.get("share_of_group") or 0) * customers
        if buyers >= 1 and (item.get("revenue") or 0) / buyers <= aov / 2:
            return item
    return None


def _offer(profile: dict, goal: str, c: _Context) -> dict:
    """The offer, sized to what the segment is worth. The rule, in order:

    - thank_and_reward: never a discount (it pays for sales these customers make anyway and teaches them
      to wait for coupons): early access to what is new, and a small gift with the next order;
    - win_back for customers worth at least HIGH_VALUE x the average (revenue share / customer share)
      with a typical order known: a fixed amount, a quarter of the typical order rounded down to a
      friendly figure, on orders of at least the typical order rounded up (noticeable, cost capped);
    - welcome_second_purchase: a free top product cheap enough to give away (see ``_giveaway``): the
      cheapest way to make a second visit a habit;
    - upsell: that free product on orders a quarter above the typical order: the bigger basket pays for it;
    - everything else (re_engage, a lower-value win_back, no cheap product): 10% off, for 14 days.
    """
    money = lambda x: amount(float(x), sign=c.currency or None)  # noqa: E731  (the shop's, unless one is given)
    aov, value = profile.get("avg_order_value"), value_index(profile)
    gift = _giveaway(profile)
    base = {"percent": None, "amount": None, "min_spend": None, "item": None, "valid_days": OFFER_DAYS}
    if goal == "thank_and_reward":
        what = f"new {c.category}" if c.category else "what's new"
        return {
            **base,
            "kind": "early_access",
            "valid_days": None,
            "summary": f"early access to {what} and a small gift with the next order (no discount)",
            "text": f"As a thank-you, you'll see {what} before anyone else, and a small gift is waiting "
            "with your next order.",
            "short": f"Early access to {what} + a small gift next time.",
            "short_plain": "Early access to what's new + a small gift next time.",
            "hook": "Early access",
            "rule": "No discount for a thank-you: they buy anyway, so a discount only "
            "costs margin and teaches them to wait for coupons; early access and a gift say thanks instead.",
        }
    if goal == "win_back" and value >= HIGH_VALUE and aov:
        off, floor = _round_down(aov / 4), _round_up(aov)
        return {
            **base,
            "kind": "amount_off",
            "amount": float(off),
            "min_spend": float(floor),
            "summary": f"{money(off)} off orders of {money(floor)} or more, for {OFFER_DAYS} days",
            "text": f"Here's {money(off)} off your next order of {money(floor)} or more, for the next "
            f"{OFFER_DAYS} days.",
            "short": f"{money(off)} off orders of {money(floor)}+ for {OFFER_DAYS} days.",
            "short_plain": f"{money(off)} off your next order.",
            "hook": f"{money(off)} off",
            "rule": f"A fixed amount: a customer here is worth more than your average one ("
            f"{pct(profile.get('revenue_share') or 0)} of revenue from "
            f"{pct(profile.get('share_of_customers') or 0)} of customers); a quarter of their typical "
            f"order of {amount(aov)} rounded down, on orders of at least that order rounded up.",
        }
    if goal in ("welcome_second_purchase", "upsell") and gift and aov:  # a gift is chosen only with an aov
        name = clean(gift["name"])
        basis = (
            f"{name} is one of their favourites ({pct(gift.get('share_of_group') or 0)} of them buy it) and "
            f"costs little next to their typical order of {amount(aov)}"
        )
        if goal == "welcome_second_purchase":
            return {
                **base,
                "kind": "free_item",
                "item": name,
                "summary": f"a free {name} with the next order, for {OFFER_DAYS} days",
                "text": f"Your next {name} is on us: just come back within {OFFER_DAYS} days.",
                "short": f"Your next {name} is on us ({OFFER_DAYS} days).",
                "short_plain": "A free item with your next order.",
                "hook": f"A free {name}",
                "rule": f"A free item, not a discount, to make a second purchase a habit: {basis}.",
            }
        floor = _round_up(aov * 1.25)
        return {
            **base,
            "kind": "free_item",
            "item": name,
            "min_spend": float(floor),
            "summary": f"a free {name} on orders of {money(floor)} or more, for {OFFER_DAYS} days",
            "text": f"Spend {money(floor)} or more on your next order in the next {OFFER_DAYS} days and "
            f"a {name} is on us.",
            "short": f"Free {name} when you spend {money(floor)}+ ({OFFER_DAYS} days).",
            "short_plain": f"A free item when you spend {money(floor)}+.",
            "hook": f"A free {name}",
            "rule": f"A free item on a basket a quarter above their typical order, which pays for it: {basis}.",
        }
    why = {
        "win_back": "a customer here is worth no more than your average one, so a modest percentage",
        "re_engage": "a small, time-limited nudge rather than a big discount",
    }.get(goal, "no top product is cheap enough to give away, so a modest percentage")
    return _percent_offer(PERCENT_OFF, f"{PERCENT_OFF}% for {OFFER_DAYS} days: {why}.")


def _percent_offer(percent: int, rule: str) -> dict:
    return {
        "percent": percent,
        "amount": None,
        "min_spend": None,
        "item": None,
        "valid_days": OFFER_DAYS,
        "kind": "percent_off",
        "summary": f"{percent}% off the next order, for {OFFER_DAYS} days",
        "text": f"Here's {percent}% off your next order, for the next {OFFER_DAYS} days.",
        "short": f"{percent}% off your next order for {OFFER_DAYS} days.",
        "short_plain": f"{percent}% off your next order.",
        "hook": f"{percent}% off",
        "rule": rule,
    }


def _asked_offer(percent: int, goal: str) -> dict:
    """The owner's own percentage, whatever the segment would have been offered."""
    note = (
        " A thank-you usually needs no discount (these customers buy anyway), so watch the margin."
        if goal == "thank_and_reward"
        else ""
    )
    return _percent_offer(percent, f"{percent}% off for {OFFER_DAYS} days, as you asked.{note}")


def _email(goal: str, c: _Context, offer: dict) -> tuple[list[str], str, list[str], str]:
    """(subject lines, preview, paragraphs, call to action) for one goal."""
    favs = listing(c.products) if c.products else None
    verb = "is" if len(c.products) == 1 else "are"
    back = f" Our regulars are usually back {c.every}" if c.every else ""
    fans = back + ", and we'd love to see you again." if back else ""
    if goal == "win_back":
        opener = (
            f"It's been a while since your last {c.strong} from {c.shop}, and we've missed you."
            if c.strong
            else f"It's been a while since we last saw you at {c.shop}, and we've missed you."
        )
        paras = [opener + fans] + ([f"{favs} {verb} still here, just as you remember."] if favs else [])
        subjects = [
            "We miss you, {{first_name}}",
            f"Still thinking about our {c.item}?",
            f"{offer['hook']} to welcome you back",
        ]
        return subjects, f"It's been a while since we saw you at {c.shop}.", paras, "Come back and see us"
    if goal == "thank_and_reward":
        paras = [f"Thank you for being one of our regulars at {c.shop}. Customers like you keep us going."]
        if favs:
            often = f" {c.every}" if c.every else ""
            paras.append(f"Whether it's {listing(c.products, 'or')}, thank you for choosing us{often}.")
        if c.key == "champions":
            paras.append("And if a friend would love it too, bring them along next time.")
        subjects = [
            "Thank you, {{first_name}}",
            f"First look at new {c.category or 'arrivals'}, just for you",
            f"A little thank-you from {c.shop}",
        ]
        return subjects, "You're one of our favourite customers, and we wanted to say so.", paras, "See what's new"
    if goal == "welcome_second_purchase":
        paras = [f"Thank you for your first order with {c.shop}. We're so glad you found us."]
        if favs:
            paras.append(f"Among our newest customers, the favourites are {favs}.")
        subjects = [
            f"Welcome to {c.shop}, {{{{first_name}}}}",
            f"Have you tried our {c.explore or c.item}?",
            f"{offer['hook']} for your next visit",
        ]
        preview = "Thanks for your first order. Here's something for your next one."
        return subjects, preview, paras, "Plan your next visit"
    if goal == "upsell":
        paras = [f"Thanks for coming back to {c.shop}."]
        if c.explore:
            paras.append(f"Alongside {favs or 'your favourites'}, have you tried our {c.explore}?")
        subjects = [
            "More of what you love, {{first_name}}",
            f"Have you tried our {c.explore or c.item}?",
            f"{offer['hook']} on your next order",
        ]
        return subjects, "A little extra on your next order.", paras, "Add something new"
    paras = [f"We haven't seen you at {c.shop} for a little while." + (back + "." if back else "")]
    if favs:
        paras.append(f"{favs} {verb} waiting for you.")
    subjects = [
        "It's been a little while, {{first_name}}",
        f"Still thinking about our {c.item}?",
        f"{offer['hook']}, for {OFFER_DAYS} days only",
    ]
    return subjects, "A small nudge, and a little something for your next visit.", paras, "Pop back in"


def _short_email(goal: str, c: _Context) -> str:
    """The short email's one paragraph: the same shop and products as the standard one, in fewer words."""
    favs = listing(c.products) if c.products else None
    verb = "is" if len(c.products) == 1 else "are"
    if goal == "win_back":
        return f"We've missed you at {c.shop}." + (f" {favs} {verb} still here." if favs else "")
    if goal == "thank_and_reward":
        return f"Thank you for being a regular at {c.shop}." + (
            f" Whether it's {listing(c.products, 'or')}, we love that you choose us." if favs else ""
        )
    if goal == "welcome_second_purchase":
        return f"Welcome to {c.shop}." + (f" Our newest customers love {favs}." if favs else "")
    if goal == "upsell":
        return f"Thanks for coming back to {c.shop}." + (f" Have you tried our {c.explore}?" if c.explore else "")
    return f"We haven't seen you at {c.shop} lately." + (f" {favs} {verb} waiting for you." if favs else "")


_SMS_OPENERS = {
    "win_back": "we miss you!",
    "thank_and_reward": "thank you for being a regular!",
    "welcome_second_purchase": "thanks for your first order!",
    "upsell": "thanks for coming back!",
    "re_engage": "it's been a little while!",
}


@dataclass(frozen=True)
class _Tone:
    """How one tone speaks: greeting and sign-off (``{shop}``), the SMS's hello, opener per goal and ending
    (``{cta}``), and stock phrases rewritten in order (never inside a name from the data)."""

    greeting: str
    sign_off: str
    sms_hello: str
    sms_openers: dict[str, str]
    sms_ending: str
    phrases: tuple[tuple[str, str], ...] = ()


TONE_STYLES: dict[str, _Tone] = {
    "warm": _Tone("Hi {{first_name}},", "See you soon,\nThe team at {shop}", "Hi", _SMS_OPENERS, " {cta}!"),
    "formal": _Tone(
        "Dear {{first_name}},",
        "Kind regards,\nThe team at {shop}",
        "Hello",
        {
            "win_back": "we have missed you.",
            "thank_and_reward": "thank you for your custom.",
            "welcome_second_purchase": "thank you for your first order.",
            "upsell": "thank you for returning.",
            "re_engage": "it has been some time.",
        },
        " {cta}.",
        (
            ("It's been a while since we last saw you", "It has been some time since we last welcomed you"),
            ("It's been a while since", "It has been some time since"),
            ("It's been a little while", "It has been some time"),
            ("we've missed you", "we have missed you"),
            ("We've missed you", "We have missed you"),
            ("Thank you for being a regular", "Thank you for your continued custom"),
            ("we love that you choose us", "we are grateful that you choose us"),
            ("we'd love to see you again", "we would be delighted to welcome you again"),
            ("We miss you", "We would be glad to see you again"),
            ("Still thinking about our", "May we remind you of our"),
            ("Customers like you keep us going.", "We are grateful for your custom."),
            ("We're so glad you found us.", "We are delighted that you found us."),
            ("We haven't seen you", "We have not seen you"),
            (
                "You're one of our favourite customers, and we wanted to say so.",
                "You are one of our most valued customers, and we wished to say so.",
            ),
            (
                "And if a friend would love it too, bring them along next time.",
                "You are most welcome to bring a friend on your next visit.",
            ),
            ("Thanks for", "Thank you for"),
            ("Whether it's", "Whether it is"),
            ("Here's", "Please enjoy"),
            ("you'll", "you will"),
            ("is on us", "is complimentary"),
            ("just come back within", "simply return within"),
            ("Come back and see us", "We look forward to your visit"),
            ("Pop back in", "Visit us again"),
            ("See what's new", "View what is new"),
            ("what's new", "what is new"),
            ("A little thank-you", "A token of our thanks"),
            ("just for you", "reserved for you"),
            ("More of what you love", "More of what you enjoy"),
            ("Have you tried our", "May we suggest our"),
            ("have you tried our", "may we suggest our"),
            ("A small nudge, and a little something", "A gentle reminder, with an offer"),
            ("A little extra on your next order.", "An offer on your next order."),
            ("Add something new", "Discover something new"),
        ),
    ),
    "playful": _Tone(
        "Hey {{first_name}}!",
        "See you very soon!\nThe team at {shop}",
        "Hey",
        {
            "win_back": "we miss you loads!",
            "thank_and_reward": "you're a star!",
            "welcome_second_purchase": "yay, thanks for your first order!",
            "upsell": "lovely to see you back!",
            "re_engage": "long time no see!",
        },
        " {cta}!",
        (
            ("It's been a while since", "Psst! It's been a while since"),
            ("and we've missed you", "and we've missed you loads"),
            ("We've missed you", "We've missed you loads"),
            ("we love that you choose us", "you make our day"),
            ("we'd love to see you again", "we'd love to see your smiling face again"),
            ("We miss you", "Come back, we miss you"),
            ("Customers like you keep us going.", "Customers like you make our day!"),
            ("We're so glad you found us.", "We're over the moon you found us!"),
            ("We haven't seen you", "Hello stranger! We haven't seen you"),
            ("You're one of our favourite customers", "You're one of our very favourite people"),
            ("Come back and see us", "Come say hello"),
            ("Pop back in", "Pop back in for a treat"),
            ("See what's new", "Take a peek"),
            ("Add something new", "Try something new"),
            ("Plan your next visit", "Plan your next treat"),
            ("Have you tried our", "Ever tried our"),
            ("have you tried our", "ever tried our"),
            ("Still thinking about our", "Dreaming of our"),
            ("A little thank-you", "A little high five"),
        ),
    ),
    "urgent": _Tone(
        "Hi {{first_name}},",
        "Don't miss out,\nThe team at {shop}",
        "Hi",
        {
            "win_back": "we miss you, and this won't last!",
            "thank_and_reward": "a thank-you, for a short time only!",
            "welcome_second_purchase": "thanks for your first order, now be quick!",
            "upsell": "thanks for coming back, be quick!",
            "re_engage": "don't miss this!",
        },
        " {cta}!",
        (
            ("It's been a while since", "It's been too long since"),
            ("It's been a little while", "It's been too long"),
            ("We've missed you at", "It's been too long since we saw you at"),
        ),
    ),
}
assert set(TONE_STYLES) == set(TONES) and all(set(t.sms_openers) == set(GOALS) for t in TONE_STYLES.values())
# Short previews: the same promise in fewer words.
_SHORT_PREVIEWS = {
    "win_back": "We've missed you.",
    "thank_and_reward": "A thank-you, just for you.",
    "welcome_second_purchase": "Something for your next visit.",
    "upsell": "A little extra for you.",
    "re_engage": "A little something for you.",
}
_TOKEN = "\x00{}\x00"


def _rewrite(text: str, names: list[str], *, phrases: tuple[tuple[str, str], ...]) -> str:
    """``text`` with the tone's phrases rewritten, the data's names held aside meanwhile: a product called
    "Here's Cake" stays itself."""
    for i, name in enumerate(names):
        text = text.replace(name, _TOKEN.format(i))
    for old, new in phrases:
        text = text.replace(old, new)
    for i, name in enumerate(names):
        text = text.replace(_TOKEN.format(i), name)
    return text


def _sms_length(text: str) -> int:
    return len(text.replace("{{first_name}}", SAMPLE_FIRST_NAME))


def _sms(goal: str, c: _Context, offer: dict, cta: str, tone: _Tone, names: list[str], *, short: bool = False) -> str:
    """The fullest SMS that fits SMS_LIMIT; parts drop in order of least need (see the module docstring).
    A short one starts from the offer alone."""
    if goal in ("win_back", "re_engage"):
        mention = f" Missing our {c.item}?" if c.products else ""
    elif goal == "upsell" or (goal == "welcome_second_purchase" and offer["kind"] != "free_item"):
        mention = f" Have you tried our {c.explore}?" if c.explore else ""
    else:  # a thank-you names what is new, and a free item names itself
        mention = ""
    say = lambda text: _rewrite(text, names, phrases=tone.phrases)  # noqa: E731
    opener, mention = tone.sms_openers[goal], say(mention)
    deal, plain, ending = say(offer["short"]), say(offer["short_plain"]), tone.sms_ending.format(cta=cta)
    variants = [(mention, deal, ending), (mention, deal, ""), ("", deal, ending), ("", deal, ""), ("", plain, "")]
    for shop in (c.shop, c.shop[:20].rstrip(), c.shop[:8].rstrip(), ""):
        prefix = f"{shop}: " if shop else ""
        for extra, offered, ending in variants[3:] if short else variants:
            text = f"{prefix}{tone.sms_hello} {{{{first_name}}}}, {opener}{extra} {offered}{ending} {OPT_OUT}"
            if _sms_length(text) <= SMS_LIMIT:
                return text
    raise AssertionError("unreachable: the shortest SMS fits")  # every fixed part is far under the limit


def _sms_encoding(text: str) -> tuple[str, int]:
    """('GSM-7' or 'UCS-2', number of SMS parts it is billed as) with the sample first name."""
    text = text.replace("{{first_name}}", SAMPLE_FIRST_NAME)
    if all(ch in _GSM7 or ch in _GSM7_EXTENDED for ch in text):
        units = len(text) + sum(ch in _GSM7_EXTENDED for ch in text)
        return "GSM-7", 1 if units <= 160 else math.ceil(units / 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)


def _context(profile: dict, key: str, shop_name: str, currency: str) -> _Context:
    products = [clean(i["name"]) for i in named_items(profile, "top_products")[:3]]
    categories = [clean(i["name"]) for i in named_items(profile, "top_categories")]
    top = named_items(profile, "top_products")[:1]
    strong = clean(top[0]["name"]) if top and (top[0].get("share_of_group") or 0) >= 0.5 else None
    others = categories[1:] or [clean(i["name"]) for i in named_items(profile, "top_products")[3:]]
    gap = profile.get("typical_gap_days")
    return _Context(
        key=key,
        shop=clean(shop_name) or "our shop",
        products=products,
        category=categories[0] if categories else None,
        explore=others[0] if others else None,
        strong=strong,
        every=_every(gap if isinstance(gap, int | float) else None),
        currency=clean(currency, 4),
    )


def draft_campaign(
    profile: dict,
    *,
    key: str,
    goal: str | None = None,
    channel: str = "email",
    shop_name: str = "our shop",
    currency: str = "",
    length: str = "standard",
    tone: str = "warm",
    discount_percent: int | None = None,
    first_names: bool = True,
) -> dict:
    """A campaign draft for segment ``key`` from ``GroupProfile.as_dict()``.

    ``first_names``: False where the data holds no first names for the audience: no ``{{first_name}}`` merge tag is
    written (it would print empty or as itself), and greetings read "Hi there,".

    ``goal`` is one of ``GOALS`` (None: the one the segment calls for, ``persona.infer_goal``); ``channel``
    one of ``CHANNELS``; ``currency`` a symbol put before amounts in offers ("£"; "": the shop's currency);
    ``length`` one of ``LENGTHS``, ``tone`` one of ``TONES``; ``discount_percent`` (1-90) replaces the sized
    offer with that percentage off. A ValueError names the valid choices for a bad argument.
    """
    segment_kind(key)
    if goal is not None and goal not in GOALS:
        raise ValueError(f"'{goal}' is not a campaign goal: use one of {', '.join(GOALS)}.")
    if channel not in CHANNELS:
        raise ValueError(f"'{channel}' is not a channel: use one of {', '.join(repr(c) for c in CHANNELS)}.")
    if length not in LENGTHS:
        raise ValueError(f"'{length}' is not a length: use one of {', '.join(repr(x) for x in LENGTHS)}.")
    if tone not in TONES:
        raise ValueError(f"'{tone}' is not a tone: use one of {', '.join(repr(x) for x in TONES)}.")
    low, high = DISCOUNT_RANGE
    if discount_percent is not None and (
        isinstance(discount_percent, bool)
        or not isinstance(discount_percent, int)
        or not low <= discount_percent <= high
    ):
        raise ValueError(f"The discount must be a whole percentage from {low} to {high}, not {discount_percent!r}.")
    p = profile or {}
    goal = goal or infer_goal(p, key)
    c = _context(p, key, shop_name, currency)
    offer = _offer(p, goal, c) if discount_percent is None else _asked_offer(discount_percent, goal)
    subjects, preview, paras, cta = _email(goal, c, offer)
    if discount_percent is not None and not any(offer["hook"] in s for s in subjects):
        subjects[-1] = f"{offer['hook']} your next order, {{{{first_name}}}}"
    style, short = TONE_STYLES[tone], length == "short"
    # Longest first, so a name inside another is held aside as part of the longer one.
    names = sorted(
        {n for n in (*c.products, c.category, c.explore, c.strong, c.shop, offer.get("item")) if n},
        key=lambda n: (-len(n), n),
    )
    say = lambda text: _rewrite(text, names, phrases=style.phrases)  # noqa: E731
    subjects, cta = [say(x) for x in subjects], say(cta)
    if short:
        paras, preview, offer_paras = [_short_email(goal, c)], _SHORT_PREVIEWS[goal], [offer["short"]]
    else:
        offer_paras = [offer["text"]]
    paras, preview, offer_paras = [say(x) for x in paras], say(preview), [say(x) for x in offer_paras]
    if tone == "urgent":
        hook = offer["hook"][:1].lower() + offer["hook"][1:]
        subjects[0] = f"Ends soon: {hook} for you, {{{{first_name}}}}"
        ends = f"ends in {offer['valid_days']} days" if offer["valid_days"] else "is for a short time only"
        preview = f"This offer {ends}. {preview}"
        offer_paras.append(f"Don't wait: this offer {ends}.")
        cta = f"{cta} today"
    facts = profile_facts(p)
    used = ["size", "order_value", "rhythm", "recency", "consent"] + [
        f"{kind}_{i}" for kind in ("product", "category") for i in range(3)
    ]
    warnings = []
    if not p.get("customers"):
        warnings.append("Nobody is in this group today: there is no one to send this to.")
    elif p.get("consent_share") == 0:
        warnings.append("None of them agreed to marketing: there is no one to send this to.")
    elif p.get("consent_share") is None:
        warnings.append("Your data records no marketing consent for them: send only to customers who agreed.")
    draft = {
        "key": key,
        "goal": goal,
        "channel": channel,
        "shop_name": c.shop,
        "length": length,
        "tone": tone,
        "subject_lines": subjects if channel == "email" else [],
        "preview_text": preview if channel == "email" else "",
        "call_to_action": cta,
        "offer": offer["summary"],
        "offer_details": {
            k: offer[k] for k in ("kind", "percent", "amount", "min_spend", "item", "valid_days", "rule")
        },
        "facts_used": [facts[k] for k in used if k in facts],
        "warnings": warnings,
        "sms_length": None,
        "sms_encoding": None,
        "sms_segments": None,
    }
    if channel == "sms":
        body = _sms(goal, c, offer, cta, style, names, short=short)
        encoding, segments = _sms_encoding(body)
        draft.update(body=body, sms_length=_sms_length(body), sms_encoding=encoding, sms_segments=segments)
    else:
        sign_off = style.sign_off.format(shop=c.shop)
        draft["body"] = "\n\n".join([style.greeting, *paras, *offer_paras, f"{cta}.", sign_off])
    return draft if first_names else _without_names(draft)


_GREETING_TAG = re.compile(r"\b(Hi|Hello|Hey|Dear) \{\{first_name\}\}")
_TAG = re.compile(r",? ?\{\{first_name\}\},? ?")


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _without_names(draft: dict) -> dict:
    """The draft with every first-name merge tag taken out, the sentence around it still whole."""

    def unnamed(text: str) -> str:
        text = _GREETING_TAG.sub(lambda m: "Hello there" if m[1] == "Dear" else f"{m[1]} there", text)
        return _TAG.sub(lambda m: " " if m[0].startswith(" ") and m[0].endswith(" ") else "", text).strip()

    draft = dict(
        draft,
        subject_lines=[_first_upper(unnamed(s)) for s in draft["subject_lines"]],
        preview_text=unnamed(draft["preview_text"]),
        body=unnamed(draft["body"]),
        call_to_action=unnamed(draft["call_to_action"]),
    )
    if draft["channel"] == "sms":
        encoding, segments = _sms_encoding(draft["body"])
        draft.update(sms_length=_sms_length(draft["body"]), sms_encoding=encoding, sms_segments=segments)
    return draft


def draft_text(draft: dict) -> str:
    """The draft as plain text for the owner: what to send, and why."""
    header = f"Goal: {draft['goal'].replace('_', ' ')}  |  Channel: {draft['channel']}"
    for name, usual in (("tone", "warm"), ("length", "standard")):
        if draft.get(name, usual) != usual:
            header += f"  |  {name.capitalize()}: {draft[name]}"
    lines = [header, ""]
    if draft["channel"] == "email":
        lines += ["Subject lines to test:", *(f"  {chr(65 + i)}: {s}" for i, s in enumerate(draft["subject_lines"]))]
        lines += [f"Preview text: {draft['preview_text']}", ""]
    else:
        lines += [
            f"SMS: {draft['sms_length']} characters with a 12-letter first name "
            f"({draft['sms_encoding']}, {draft['sms_segments']} part(s))",
            "",
        ]
    lines += [draft["body"], "", f"Offer: {draft['offer']}", f"Why this offer: {draft['offer_details']['rule']}"]
    lines += ["", "Facts used:", *(f"- {f}" for f in draft["facts_used"])]
    lines += [f"Note: {w}" for w in draft.get("warnings", [])]
    return "\n".join(lines) + "\n"


_P = "margin:0 0 16px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#222222;"


def draft_html(draft: dict) -> str:
    """A minimal, safe HTML email: every text escaped, inline styles only, no external resources."""
    esc = lambda text: html.escape(str(text), quote=True)  # noqa: E731
    paragraphs = [p for p in draft["body"].split("\n\n") if p.strip()]
    cta = draft.get("call_to_action", "")
    body_html = "\n".join(  # the call-to-action sentence becomes the button; the sign-off comes after it
        f'<p style="{_P}">' + "<br>".join(esc(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs[:-1]
        if p != f"{cta}."
    )
    subject = draft["subject_lines"][0] if draft.get("subject_lines") else draft.get("shop_name", "")
    sign_off = "<br>".join(esc(line) for line in paragraphs[-1].split("\n")) if paragraphs else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(subject)}</title></head>
<body style="margin:0;padding:0;background:#f4f4f4;">
<div style="display:none;max-height:0;overflow:hidden;">{esc(draft.get("preview_text", ""))}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f4f4;">
<tr><td align="center" style="padding:24px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="max-width:600px;background:#ffffff;">
<tr><td style="padding:32px;">
{body_html}
<p style="{_P}"><span style="display:inline-block;padding:12px 24px;background:#2d6a4f;color:#ffffff;\
font-weight:bold;border-radius:4px;">{esc(cta)}</span></p>
<p style="{_P}">{sign_off}</p>
</td></tr></table>
</td></tr></table>
</body>
</html>
"""
