"""The question as plain words: lower case, punctuation gone, slang spelt out, spelling mistakes fixed.

Spelling is fixed towards a vocabulary: the words the phrase tables know (``agent.intents``) and the
shop's own names (its cities, countries, products, categories, channels). A word that is neither in it nor
a common English word (pyspellchecker's frequency list, offline) is replaced by the closest vocabulary
word when it is one typo away (two in a longer word; a swap of two letters is one typo), so "lapesd" reads
"lapsed" and "chmapions" reads "champions", while "produce", "sense" or "weather" stay as they are.
Matching uses rapidfuzz's Damerau-Levenshtein distance, exact and fast on a few thousand words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import extract, extractOne

from agent import intents as phrases

# Shorthand owners type, spelt out before anything else reads the question (whole words only).
SLANG: dict[str, str] = {
    "r": "are", "u": "you", "ur": "your", "pls": "please", "plz": "please", "thx": "thanks", "ty": "thanks",
    "ppl": "people", "peeps": "people", "folks": "people", "custs": "customers", "cust": "customer",
    "custies": "customers", "clients": "customers", "client": "customer", "regs": "regulars",
    "reg": "regular", "vip": "vips", "wot": "what", "wat": "what", "whos": "who is", "whats": "what is",
    "hows": "how is", "im": "i am", "ive": "i have", "dont": "do not", "cant": "cannot", "wont": "will not",
    "didnt": "did not", "doesnt": "does not", "havent": "have not", "hasnt": "has not", "isnt": "is not",
    "arent": "are not", "wasnt": "was not", "werent": "were not", "shouldnt": "should not", "yr": "year",
    "yrs": "years", "mo": "month", "mos": "months", "mth": "month", "mths": "months", "wk": "week",
    "wks": "weeks", "hrs": "hours", "approx": "about", "info": "information", "b4": "before", "2day": "today",
    "tmrw": "tomorrow", "msg": "message", "txt": "text", "rev": "revenue", "avg": "average", "avrg": "average",
    "qty": "quantity", "bc": "because", "cos": "because", "w": "with", "abt": "about", "convo": "conversation",
    "aov": "average order value", "ltv": "lifetime value", "clv": "lifetime value", "wanna": "want to",
    "gonna": "going to", "gimme": "give me", "lemme": "let me", "cx": "customers", "lst": "last",
    "nxt": "next", "xmas": "christmas", "rn": "right now", "seg": "segment", "segs": "segments",
    "grps": "groups", "btwn": "between", "lil": "little", "lookin": "looking", "n": "and", "champs": "champions",
    "compair": "compare", "compaired": "compared", "joak": "joke",
    "seperate": "separate", "seperates": "separates", "sept": "september", "bak": "back", "teh": "the",
    "hw": "how", "munny": "money", "wats": "what is", "ment": "meant",
}  # fmt: skip
# Words that are never corrected: too short or too common to be anything else.
_KEEP = frozenset(
    {
        "am",
        "an",
        "as",
        "at",
        "be",
        "by",
        "do",
        "go",
        "he",
        "if",
        "in",
        "is",
        "it",
        "me",
        "my",
        "no",
        "of",
        "on",
        "or",
        "so",
        "to",
        "up",
        "us",
        "we",
        "vs",
        "off",
        "per",
        "out",
        "all",
        "any",
        "got",
        "had",
        "has",
        "her",
        "him",
        "his",
        "its",
        "may",
        "not",
        "now",
        "one",
        "our",
        "she",
        "the",
        "too",
        "two",
        "was",
        "way",
        "who",
        "why",
        "yes",
        "yet",
        "you",
        "lost",
        "last",
        "most",
        "best",
        "than",
        "then",
        "them",
        "they",
        "this",
        "that",
        "what",
        "when",
        "were",
        "will",
        "with",
        "your",
        "takes",
        "take",
        "took",
        "makes",
        "make",
        "made",
        "bread",
        "cakes",
        "cake",
        "wales",
        "tales",
        "games",
        "game",
        "times",
        "time",
        "lines",
        "miles",
        "hours",
        "years",
        "names",
        "notes",
        "tips",
        "goes",
        "does",
        "done",
        "gone",
        "good",
        "great",
        "thing",
        "things",
        "think",
        "thinking",
        "know",
        "want",
        "wants",
        "need",
        "needs",
        "have",
        "having",
        "being",
        "doing",
        "going",
        "getting",
        "rather",
        "weather",
        "whether",
        "together",
        "other",
        "others",
        "another",
        "every",
        "very",
        "really",
        "still",
        "thinks",
        "thought",
        "stood",
        "stand",
        "stands",
        "worried",
        "worry",
        "feel",
        "felt",
        "kind",
        "just",
        "only",
        "even",
        "much",
        "many",
        "some",
        "such",
        "each",
        "same",
    }
)


def normalise(text: str) -> str:
    """Lower case, apostrophes dropped, every other run of non-alphanumerics one space.
    ("haven't bought" -> "havent bought", "at-risk" -> "at risk", "£100" -> "100")"""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("'", "").replace("%", " percent ")
    text = text.replace("+", " and ").replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def expand_slang(text: str) -> str:
    """'r my regs ok' -> 'are my regulars ok', on normalised text."""
    words = []
    for word in text.split():
        words.append(SLANG.get(word, word))
    return " ".join(words)


@functools.cache
def targets() -> frozenset[str]:
    """The words a typo may be corrected to: the curated vocabulary and the tools' example questions."""
    from tools.registry import REGISTRY

    words = set(phrases.VOCABULARY.split()) | set(phrases.MONTH_NAMES) | set(SLANG.values())
    for spec in REGISTRY.values():
        for example in spec.examples:
            words.update(normalise(example).split())
    return frozenset(w for w in words if w.isalpha())


@functools.cache
def known_words() -> frozenset[str]:
    """Words left as they are: the targets and every word the phrase tables spell out."""
    sources = [
        p
        for p, _ in phrases.GROUP_PHRASES
        + phrases.WEAK_GROUP_PHRASES
        + phrases.ATTRIBUTE_PHRASES
        + phrases.GOAL_PHRASES
    ] + list(phrases.INTENT_PHRASES.values())
    words = {w for source in sources for w in re.findall(r"[a-z]+", re.sub(r"\\[a-z]", " ", source))}
    for source in sources:  # "mov(ed|e|es|ing)" spells moved, move, moves, moving
        for stem, endings in re.findall(r"\b([a-z]+)\(([a-z|]+)\)", source):
            words.update(stem + ending for ending in endings.split("|"))
    return frozenset(words | targets() | _KEEP | set(phrases.STOP_WORDS))


def correct(text: str, shop_words: Iterable[str] = ()) -> str:
    """Each word one typo from a target (two in a word of five letters or more
    that keeps its first and last letters) becomes it; known and far-off words stay."""
    extra = frozenset(w for w in shop_words if w.isalpha() and len(w) > 3)
    pool = targets() | extra if extra else targets()
    known = known_words()
    return " ".join(_closest(word, known, pool, extra) for word in text.split())


@functools.cache
def _english():
    """pyspellchecker's English word frequencies (offline, in the package): a real word is left as it is."""
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1).word_frequency


# A real English word rarer than this may still be a typo of the shop's vocabulary ("sails" for "sales").
RARE = 5e-6


def _real_word(word: str) -> bool:
    frequencies = _english()
    return word in frequencies and frequencies[word] / frequencies.total_words >= RARE


def _closest(word: str, known: frozenset[str], pool: frozenset[str], extra: frozenset[str]) -> str:
    if len(word) < 4 or word in known or word in extra or not word.isalpha() or _real_word(word):
        return word
    near = extract(word, pool, scorer=DamerauLevenshtein.distance, score_cutoff=1, limit=None)
    if near:  # the closest; on a tie the one that keeps the word's ends, then its length ("spendr" is "spender")
        return min(near, key=lambda m: (m[1], m[0][-1] != word[-1], len(m[0]) < len(word), m[0]))[0]
    if len(word) < 5:
        return word
    # Two typos only in a longer word that keeps its first and last letters ("weather" is not "rather").
    found = extractOne(
        word,
        [w for w in pool if w[0] == word[0] and w[-1] == word[-1]],
        scorer=DamerauLevenshtein.distance,
        score_cutoff=2,
    )
    return found[0] if found else word


def clean(raw: str, shop_words: Iterable[str] = ()) -> str:
    """The whole first stage: normalised, slang spelt out, typos fixed."""
    return correct(expand_slang(normalise(raw)), shop_words)
