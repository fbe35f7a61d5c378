"""Personas written from a group's facts: deterministic, no model, every number from the profile.

A persona is what a small business fills in for a segment (DOMAIN.md, Personas): a memorable name, the
segment, demographics, interests, lifecycle stage, needs and goals, best channels, the next best action,
and the facts behind them. The input is ``GroupProfile.as_dict()``, which holds only aggregates and the
names of products, categories, channels, cities and countries, so nothing here can name a customer.

How numbers are written (the tests hold every number in a persona to these rules; half-up rounding of
the stored value, so 0.0755 is "7.6%", not the binary float's "7.5%"):

- shares: whole percent from 10% ("62%"), one decimal below 10% and from 99.5% to just under 100%
  ("7.6%", "99.6%"), two decimals below 0.1% ("0.04%"); a trailing ".0" is dropped ("9%", not "9.0%");
- money: two decimals with thousands separators and the shop's currency where known ("£9,335.60");
- days: whole days ("41 days" from 40.5); counts: thousands separators ("1,394");
- other numbers (purchases, lift): up to two decimals, trailing zeros dropped ("14.5", "1.25x", "2x").

Names from the data are cleaned before use (``clean``): control and format characters removed,
whitespace collapsed, at most 40 characters, e-mail-like text and "@" removed, and the characters of
merge tags and templates (``{ } |``) replaced, so a product name can neither carry an address into a
persona nor become a merge tag in the shop's email tool.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeGuard

from segmentation.currency import active
from segmentation.lifecycle import DEFAULT_LAPSED_DAYS, DEFAULT_LAPSING_DAYS, LAPSED_MULTIPLE, LAPSING_MULTIPLE
from segmentation.profile import CHANGE_WINDOW_DAYS
from segmentation.vocabulary import GROUP_TITLES, GROUPS, SEGMENT_KEYS, STAGES

GOALS: tuple[str, ...] = ("win_back", "thank_and_reward", "welcome_second_purchase", "upsell", "re_engage")
INTEREST_LIFT = 1.2  # a category bought this much more often than by the average customer is an interest
SIGNATURE_SHARE = 0.25  # a product bought by this share of the group can name it; else its top category
NAME_LIMIT = 40

GOAL_BY_KEY = {key: group.goal for key, group in GROUPS.items()}
# (adjective, noun) of a persona's name; clusters take theirs from the goal their facts suggest.
ROLES = {
    "champions": ("", "Champion"),
    "loyal": ("", "Regular"),
    "active": ("", "Regular"),
    "potential_loyalists": ("Budding", "Regular"),
    "new_customers": ("", "Newcomer"),
    "new": ("", "Newcomer"),
    "promising": ("Promising", "First-Timer"),
    "need_attention": ("Drifting", "Regular"),
    "about_to_sleep": ("Dozing", "Buyer"),
    "at_risk": ("Fading", "Regular"),
    "cannot_lose_them": ("Missing", "Regular"),
    "hibernating": ("Sleeping", "Buyer"),
    "lapsing": ("Lapsing", "Regular"),
    "lapsed": ("Lapsed", "Buyer"),
    "thank_and_reward": ("", "Regular"),
    "welcome_second_purchase": ("", "Newcomer"),
    "upsell": ("Budding", "Regular"),
    "re_engage": ("Drifting", "Regular"),
    "win_back": ("Lapsed", "Buyer"),
}
STAGE_PHRASES = {key: group.portrait for key, group in GROUPS.items()}
NEEDS = {
    "thank_and_reward": [
        "To feel recognised and valued, not just sold to",
        "Early access to what's new before anyone else",
        "An easy way to share what they love with friends",
    ],
    "welcome_second_purchase": [
        "A good first impression and a warm welcome",
        "A reason to come back for a second purchase",
        "To discover what else you offer",
    ],
    "upsell": [
        "A reason to come back more often",
        "To discover more of your range",
        "Rewards that grow with their visits",
    ],
    "re_engage": [
        "A timely reminder of what they liked",
        "Something new worth coming back for",
        "A small nudge before the habit fades",
    ],
    "win_back": ["A reason to come back", "To know what has changed or is new", "To feel missed, not mass-mailed"],
}
ACTIONS = {
    "champions": "Thank them and ask for referrals: early access to what's new, a small gift with their next "
    "{item}, and an invitation to bring a friend. No discount: they buy anyway.",
    "loyal": "Keep them close: a thank-you with early access, and something new to try next to their usual {item}.",
    "active": "Keep them happy: a thank-you, and something new to try next to their usual {item}.",
    "potential_loyalists": "Grow the habit: a reward for a bigger basket (a free {item} over a spend threshold) "
    "or a loyalty card that pays off on the next visits.",
    "new_customers": "Welcome them and earn the second purchase: a thank-you for the first order and a small "
    "reason to come back soon, built around {item}.",
    "new": "Welcome them and earn the second purchase: a thank-you for the first order and a small reason to "
    "come back soon, built around {item}.",
    "promising": "Win the second purchase before they forget you: a reminder of {item} and a small gift on "
    "their next order.",
    "need_attention": "Remind them what they liked: a timely note about {item} with a short-deadline incentive.",
    "about_to_sleep": "Wake them gently: your most popular items ({item}) with a small, time-limited incentive.",
    "at_risk": "Win them back: a personal 'we miss you' message naming {item}, with an offer sized to their "
    "typical order.",
    "cannot_lose_them": "Win them back personally: a handwritten note or a call if you can, their favourite "
    "{item}, and your strongest offer. They were among your best.",
    "hibernating": "Try one low-cost win-back (a small offer on {item}); if they do not respond, stop "
    "messaging them and spend the budget elsewhere.",
    "lapsing": "Nudge them before they lapse: a reminder of {item} with a short-deadline incentive.",
    "lapsed": "Win them back: a 'we miss you' message with an offer on {item}; stop after one or two tries.",
    "thank_and_reward": "Thank them: early access and a small gift around {item}, no discount.",
    "welcome_second_purchase": "Earn the second purchase: a small reason to come back, built around {item}.",
    "upsell": "Grow the basket: a free {item} over a spend threshold, or a loyalty card.",
    "re_engage": "Remind them what they liked: a timely note about {item} with a short-deadline incentive.",
    "win_back": "Win them back: a 'we miss you' message with an offer on {item}.",
}
_EMAIL = re.compile(r"[^\s@]*@[^\s@]*")


def clean(text: object, limit: int = NAME_LIMIT) -> str:
    """A name from the data made safe to print anywhere (see the module docstring)."""
    text = "".join(ch for ch in str(text) if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = _EMAIL.sub(" ", text).translate(str.maketrans("{}|", "()/"))
    text = _as_written(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _as_written(text: str) -> str:
    """A name a file shouts ('WHITE HANGING HEART T-LIGHT HOLDER') as a person writes it in a sentence or a
    subject line ('White hanging heart t-light holder'); short capitals stay (USB, BBQ, NYC)."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= 6 and all(ch.isupper() for ch in letters):
        return text[:1] + text[1:].lower()
    return text


def _finite(value: object) -> TypeGuard[float]:  # a number to compare and format, for the type checker too
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _decimal(value: float, places: str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places), ROUND_HALF_UP)


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def pct(share: float) -> str:
    """A share as a percentage, by the rule in the module docstring: 0.0755 -> '7.6%', 0.6159 -> '62%'."""
    value = Decimal(str(share)) * 100
    size = abs(value)
    if size == 0:
        return "0%"
    places = "0.01" if size < Decimal("0.1") else "0.1" if size < 10 or Decimal("99.5") <= size < 100 else "1"
    rounded = value.quantize(Decimal(places), ROUND_HALF_UP)
    if places == "0.1" and size < 10 <= abs(rounded):  # 9.96 would print as "10.0%"
        places = "1"
    return _trim(f"{rounded:f}") + "%" if places != "1" else f"{value.quantize(Decimal(1), ROUND_HALF_UP):f}%"


def amount(value: float, sign: str | None = None) -> str:
    """Money with thousands separators and the shop's currency: 9335.6 -> '£9,335.60' (two decimals, or none
    for a currency without them); with no currency known, '9,335.60'. ``sign`` overrides the currency's."""
    currency = active()
    if sign is None:
        sign = currency.symbol if currency else ""
    places = "1" if currency and currency.decimals == 0 else "0.01"
    text = f"{_decimal(abs(value), places):,f}"
    return f"-{sign}{text}" if _decimal(value, places) < 0 else f"{sign}{text}"


def days(value: float) -> str:
    """Whole days, half up: 40.5 -> '41'."""
    return f"{int(_decimal(value, '1')):,}"


def number(value: float) -> str:
    """Up to two decimals, trailing zeros dropped: 14.5 -> '14.5', 2.0 -> '2'."""
    return _trim(f"{_decimal(value, '0.01'):,f}")


def segment_kind(key: str) -> str:
    """'rfm', 'lifecycle' or 'cluster'; a ValueError names the valid keys."""
    if key in SEGMENT_KEYS:
        return "rfm"
    if key in STAGES:
        return "lifecycle"
    if isinstance(key, str) and re.fullmatch(r"cluster_[1-9][0-9]*", key):
        return "cluster"
    if isinstance(key, str) and key.startswith("saved:") and key.removeprefix("saved:").strip():
        return "saved"  # a segment the owner saved by a condition (segmentation.custom.saved): described by its facts
    raise ValueError(
        f"'{key}' is not a segment key: use one of {', '.join(SEGMENT_KEYS + STAGES)}, or cluster_1, cluster_2, ..."
    )


def segment_label(key: str, profile: dict) -> str:
    """The human label; a cluster keeps the descriptive name it was profiled under."""
    if key in GROUP_TITLES:
        return GROUP_TITLES[key]
    label = clean(profile.get("label") or "", 60)
    return label if label and label != key else key.replace("_", " ").capitalize()


def infer_goal(profile: dict, key: str) -> str:
    """The campaign goal a segment calls for. Clusters by their facts, on the lifecycle module's clock:
    mostly one-time buyers are welcomed within 60 days, re-engaged within 120, else won back; repeat buyers
    are won back past 3x their typical gap, re-engaged past 1.5x, else thanked when they bring more than
    their share of revenue and upsold when they bring less."""
    segment_kind(key)
    if key in GOAL_BY_KEY:
        return GOAL_BY_KEY[key]
    recency, frequency = profile.get("median_recency_days"), profile.get("median_frequency")
    gap = profile.get("typical_gap_days")
    if not profile.get("customers") or not _finite(recency):
        return "re_engage"
    lapsing: float
    lapsed: float
    if not _finite(frequency) or frequency <= 1:
        lapsing, lapsed = DEFAULT_LAPSING_DAYS, DEFAULT_LAPSED_DAYS
        if recency <= lapsing:
            return "welcome_second_purchase"
    else:
        lapsing, lapsed = (
            (LAPSING_MULTIPLE * gap, LAPSED_MULTIPLE * gap)
            if _finite(gap) and gap > 0
            else (DEFAULT_LAPSING_DAYS, DEFAULT_LAPSED_DAYS)
        )
        if recency <= lapsing:
            return "thank_and_reward" if value_index(profile) >= 1 else "upsell"
    return "re_engage" if recency <= lapsed else "win_back"


def value_index(profile: dict) -> float:
    """Revenue share over customer share: 1 = a customer here is worth the shop's average customer."""
    share, revenue_share = profile.get("share_of_customers"), profile.get("revenue_share")
    return revenue_share / share if _finite(share) and share > 0 and _finite(revenue_share) else 0.0


def named_items(profile: dict, field: str) -> list[dict]:
    """``top_products`` or ``top_categories`` entries that have a printable name."""
    return [i for i in profile.get(field) or [] if isinstance(i, dict) and clean(i.get("name") or "")]


def signature_item(profile: dict) -> str | None:
    """What names the group: its top product when a quarter of it buys that, else its top category; only one
    they buy more often than the average customer does (a lift above 1, where the profile has lifts), so a
    name or an offer never features what the group buys less than most (None: no such item)."""

    def above_average(item: dict) -> bool:
        lift = item.get("lift")
        return not _finite(lift) or lift > 1

    products = [i for i in named_items(profile, "top_products") if above_average(i)]
    categories = [i for i in named_items(profile, "top_categories") if above_average(i)]
    if products and (products[0].get("share_of_group") or 0) >= SIGNATURE_SHARE:
        return clean(products[0]["name"])
    if categories:
        return clean(categories[0]["name"])
    return clean(products[0]["name"]) if products else None


def _singular(word: str) -> str:
    lower = word.lower()
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + ("Y" if word[-3].isupper() else "y")
    if lower.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def _short(item: str) -> str:
    """'Sandwiches & Lunch' -> 'Sandwich', 'Sourdough loaf' -> 'Sourdough Loaf': a name's head, title case."""
    head = re.split(r"\s+(?:&|and|\+|/)\s+", item, maxsplit=1)[0]
    words = head.split()[:3]
    if words:
        words[-1] = _singular(words[-1])
    return " ".join(w[:1].upper() + w[1:] for w in words)


def _rhythm(profile: dict) -> str:
    gap, frequency = profile.get("typical_gap_days"), profile.get("median_frequency")
    if not _finite(gap) or not _finite(frequency) or frequency < 2:
        return ""  # most of the group bought once: a rhythm would describe a few, not the group
    for limit, word in ((4, "Near-Daily"), (10, "Weekly"), (24, "Fortnightly"), (45, "Monthly"), (120, "Seasonal")):
        if gap <= limit:
            return word
    return "Occasional"


def persona_name(profile: dict, key: str) -> str:
    """'The Fading Monthly Croissant Regular': segment, rhythm, signature item, role."""
    if not profile.get("customers"):
        return "The Empty " + " ".join(w[:1].upper() + w[1:] for w in segment_label(key, profile).split()) + " Group"
    adjective, noun = ROLES.get(key) or ROLES[infer_goal(profile, key)]
    item = signature_item(profile)
    words = [adjective, _rhythm(profile), _short(item) if item else "", noun]
    return "The " + " ".join(w for w in words if w)


def profile_facts(profile: dict) -> dict[str, str]:
    """Every numeric statement a persona or draft may use, keyed by what it is about."""
    p, n = profile, profile.get("customers") or 0
    facts: dict[str, str] = {}
    before, change = p.get("customers_90_days_earlier"), p.get("size_change")
    if not n:
        facts["size"] = "0 customers in this group"
        if _finite(before):
            facts["change"] = f"{before:,} customers were in it {CHANGE_WINDOW_DAYS} days earlier"
        return facts
    facts["size"] = (
        f"{n:,} customers ({pct(p.get('share_of_customers') or 0)} of your customers) bringing "
        f"{pct(p.get('revenue_share') or 0)} of revenue ({amount(p.get('revenue') or 0)})"
    )
    if _finite(p.get("avg_order_value")):
        facts["order_value"] = f"typical order {amount(p['avg_order_value'])}"
    if _finite(p.get("median_monetary")):
        facts["spend"] = f"median spend to date {amount(p['median_monetary'])} per customer"
    if _finite(p.get("median_frequency")):
        plural = "purchase" if p["median_frequency"] == 1 else "purchases"
        facts["frequency"] = f"median {number(p['median_frequency'])} {plural} each"
    if _finite(p.get("typical_gap_days")):
        facts["rhythm"] = f"buy every {days(p['typical_gap_days'])} days (median gap between their orders)"
    if _finite(p.get("median_recency_days")):
        facts["recency"] = f"last bought a median {days(p['median_recency_days'])} days ago"
    for field, label in (("top_categories", "category"), ("top_products", "product")):
        for i, item in enumerate(named_items(p, field)[:3]):
            share, lift = item.get("share_of_group"), item.get("lift")
            text = f"{pct(share) if _finite(share) else 'some'} buy {clean(item['name'])}"
            facts[f"{label}_{i}"] = text + (f", {number(lift)}x the shop average" if _finite(lift) else "")
    channels = _known(p.get("channel_mix"))
    if channels:
        facts["channels"] = "of their spend: " + ", ".join(f"{pct(s)} {name}" for name, s in channels)
    cities = _known(p.get("city_mix"))[:3]
    if cities:
        facts["places"] = "live in " + ", ".join(f"{name} {pct(s)}" for name, s in cities)
    if _finite(p.get("consent_share")):
        facts["consent"] = f"{pct(p['consent_share'])} of those with a recorded choice agreed to marketing"
        if _finite(p.get("consent_known_share")) and p["consent_known_share"] < 1:
            facts["consent"] += f" (a choice is recorded for {pct(p['consent_known_share'])})"
    if _finite(before) and _finite(change):
        direction = "up" if change > 0 else "down" if change < 0 else "unchanged"
        facts["change"] = (
            f"{direction} {abs(change):,} from {before:,} customers {CHANGE_WINDOW_DAYS} days earlier"
            if change
            else f"unchanged from {before:,} customers {CHANGE_WINDOW_DAYS} days earlier"
        )
    return facts


def _known(mix: object) -> list[tuple[str, float]]:
    """A mix's named entries, largest first; 'unknown' and empty names left out."""
    if not isinstance(mix, dict):
        return []
    rows = [(clean(k), v) for k, v in mix.items() if _finite(v) and clean(k) and str(k).lower() != "unknown"]
    return sorted(rows, key=lambda r: -r[1])


def listing(parts: list[str], conjunction: str = "and") -> str:
    """'A', 'A and B', 'A, B and C'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" {conjunction} " + parts[-1]


_LIST_WORDS = {"age_band": "age", "gender": "gender", "income_band": "income"}


def _from_lists(p: dict) -> str:
    """The group's age, gender and income from the imported customer lists (``attributes.group_profile``), with
    their shares, each 'not in your data' where the lists do not say (or the group is too small to say)."""
    attrs = p.get("attributes") or {}
    return (
        "From your customer lists: "
        + "; ".join(f"{word} {clean(attrs.get(key) or 'not in your data', 200)}" for key, word in _LIST_WORDS.items())
        + "."
    )


def _demographics(p: dict) -> str:
    if p.get("attributes"):
        places = _known(p.get("city_mix"))[:3]
        where = ("Mostly from " + listing([f"{c} ({pct(s)})" for c, s in places]) + ". ") if places else ""
        return where + _from_lists(p)
    cities, countries = _known(p.get("city_mix"))[:3], _known(p.get("country_mix"))[:3]
    none_said = "Your data has no age, gender or income, so the persona does not guess them."
    if not cities and not countries:
        return "Your data has no city, country, age or gender for these customers, so the persona does not guess them."
    said = []
    if cities:
        said.append("Mostly from " + listing([f"{c} ({pct(s)})" for c, s in cities]))
    if countries:
        said.append(("in " if cities else "In ") + listing([f"{c} ({pct(s)})" for c, s in countries]))
    return "; ".join(said) + ". " + none_said


def _interests(p: dict) -> list[str]:
    stated = (p.get("attributes") or {}).get("interest")
    said = [f"Interests they gave you: {clean(stated, 200)}"] if stated and stated != "not in your data" else []
    return said + _bought_interests(p)


def _bought_interests(p: dict) -> list[str]:
    items = named_items(p, "top_categories") or named_items(p, "top_products")
    if not items:
        return ["No categories or products recorded for them, so no interests can be read from their purchases."]
    strong = [i for i in items if _finite(i.get("lift")) and i["lift"] > INTEREST_LIFT]
    if not strong:
        best = max(items, key=lambda i: i["lift"] if _finite(i.get("lift")) else 0)
        lift = f", {number(best['lift'])}x" if _finite(best.get("lift")) else ""
        return [
            f"No stand-out interest: they buy no category much more often than your average customer "
            f"(closest: {clean(best['name'])}{lift})."
        ]
    # The shop's own category and product names, not a guess at what they mean: a word list of one trade read
    # a cake stand as a sweet tooth and a lunch bag as lunch on the go in a giftware shop.
    return [f"{clean(i['name'])} (bought {number(i['lift'])}x as often as by your average customer)" for i in strong]


def _stage(p: dict, key: str, thresholds: dict | None) -> str:
    if not p.get("customers"):
        return "Nobody is in this group today, so there is no stage to describe."
    kind = segment_kind(key)
    # A stage's own name leads (its heading already says "Lifecycle stage"): "Lapsed customers. ..."
    lead = (
        f"{key.capitalize()} customers"
        if kind == "lifecycle"
        else f"{segment_label(key, p)}: {STAGE_PHRASES[key]}"
        if kind == "rfm"
        else segment_label(key, p)
    )
    recency, gap = p.get("median_recency_days"), p.get("typical_gap_days")
    if not _finite(recency):
        return lead + ". When they last bought is not known."
    said = f"{lead}. The typical member last bought {days(recency)} days ago"
    thresholds = thresholds or {}
    lapsing, lapsed = thresholds.get("lapsing_after_days"), thresholds.get("lapsed_after_days")
    if _finite(lapsing) and _finite(lapsed):
        if recency > lapsed:
            where = f"past your lapsed mark of {days(lapsed)} days: a typical member has lapsed"
        elif recency > lapsing:
            where = f"between your lapsing ({days(lapsing)}) and lapsed ({days(lapsed)} days) marks: lapsing"
        else:
            where = f"inside your lapsing mark of {days(lapsing)} days: still active"
        basis = clean(thresholds.get("basis") or "", 160)
        return f"{said}, {where}" + (f" (thresholds {basis})." if basis else ".")
    if _finite(gap) and gap > 0:
        where = (
            "within their usual"
            if recency <= LAPSING_MULTIPLE * gap
            else "overdue against their usual"
            if recency <= LAPSED_MULTIPLE * gap
            else "far past their usual"
        )
        return f"{said}, {where} {days(gap)}-day gap between orders."
    return said + "."


def _channels(p: dict) -> list[str]:
    channels = _known(p.get("channel_mix"))
    out = [f"{name} ({pct(share)} of their spend)" for name, share in channels]
    if not out:
        out = ["Not recorded: your data has no sales channel for these customers."]
    if _finite(p.get("consent_share")):
        partly = _finite(p.get("consent_known_share")) and p["consent_known_share"] < 1
        out.append(
            f"Email or SMS to the {pct(p['consent_share'])} "
            + ("of those with a recorded choice " if partly else "")
            + "who agreed to marketing"
        )
    elif p.get("customers"):
        out.append("Email or SMS only to customers who agreed to marketing (consent is not in your data)")
    return out


def build_persona(profile: dict, *, key: str, thresholds: dict | None = None) -> dict:
    """A persona from ``GroupProfile.as_dict()`` for segment ``key``; ``thresholds`` is
    ``Thresholds.as_dict()`` when the lifecycle marks should be stated. A ValueError names valid keys."""
    kind = segment_kind(key)
    p = profile or {}
    goal = infer_goal(p, key)
    item = signature_item(p)
    action = (ACTIONS.get(key) or ACTIONS[goal]).format(item=item or "their favourites")
    return {
        "name": persona_name(p, key),
        "segment": {"key": key, "label": segment_label(key, p), "kind": kind},
        "as_of": str(p.get("as_of") or ""),
        "demographics": _demographics(p),
        "interests": _interests(p),
        "lifecycle_stage": _stage(p, key, thresholds),
        "needs_and_goals": list(NEEDS[goal]) if p.get("customers") else ["Nothing yet: nobody is in this group."],
        "best_channels": _channels(p),
        "goal": goal,
        "next_best_action": action if p.get("customers") else "Nothing to send for now: nobody is in this group.",
        "facts": list(profile_facts(p).values()),
    }


_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>#.!|~&])")


def _md(text: str) -> str:
    """Data text inside Markdown: every markup character escaped, so '<script>' prints as itself."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))


def persona_markdown(persona: dict) -> str:
    """A persona card in Markdown; every value escaped, so no name from the data can add markup."""
    segment = persona.get("segment") or {}
    as_of = f" · as of {_md(persona['as_of'])}" if persona.get("as_of") else ""

    def bullets(values: list[str]) -> list[str]:
        return [f"- {_md(v)}" for v in values]

    lines = [
        f"### {_md(persona.get('name', ''))}",
        f"*{_md(segment.get('label', ''))}* ({_md(segment.get('key', ''))}){as_of}",
        "",
        f"**Who they are:** {_md(persona.get('demographics', ''))}",
        "",
        "**Interests and values**",
        *bullets(persona.get("interests", [])),
        "",
        f"**Lifecycle stage:** {_md(persona.get('lifecycle_stage', ''))}",
        "",
        "**Needs and goals**",
        *bullets(persona.get("needs_and_goals", [])),
        "",
        "**Best channels**",
        *bullets(persona.get("best_channels", [])),
        "",
        f"**Next best action:** {_md(persona.get('next_best_action', ''))}",
        "",
        "**The numbers**",
        *bullets(persona.get("facts", [])),
    ]
    return "\n".join(lines) + "\n"
