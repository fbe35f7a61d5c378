"""Lists, drafts and saved segments narrowed by who customers are: only when the owner asks, and then said.

Age, gender and income are shown as breakdowns, but an audience chosen by them can treat people unfairly
(issue 19), so a condition that narrows by them (``conditions.sensitive_fields``) is taken only when the owner's
own words ask for it, and every answer that uses one says so in one sentence. The owner's words are
``ToolContext.asked`` where an agent passes them (the LLM agent does, since a model may add a condition nobody
asked for); the offline agent's conditions come from the owner's words themselves, and the command line's are
typed by the owner, so both leave it empty.
"""

from __future__ import annotations

import re

from segmentation.custom.conditions import ConditionError, parse, sensitive_fields, to_text
from tools.base import ToolArgsError, ToolContext

# Words that show the owner asked about each sensitive thing.
ASKED_FOR = {
    "age": r"\bages?d?\b|\bold(er)?\b|\byoung(er)?\b|\b(under|over|below|above) \d{2}\b|\b\d{2}s\b|\bbirth|"
    r"\bteens?\b|\bretire|\bstudents?\b|\bgen ?z\b|\bmillennials?\b|\bboomers?\b",
    "gender": r"\bgender|\bsex\b|\bwom[ae]n\b|\bm[ae]n\b|\bfemale|\bmale\b|\bladies\b|\bgentlemen\b|\bmums?\b|"
    r"\bdads?\b|\bnon.?binary\b",
    "income": r"\bincome|\bearn|\bwealth|\brich\b|\baffluent|\bsalar|\bafford|\b\d+k\b|\bhigh.?earn",
}


def narrowing(ctx: ToolContext, tool: str, condition: str) -> tuple[str, list[str]]:
    """(the condition in canonical words, the sensitive things it narrows by in plain words), or ToolArgsError:
    a condition the parser does not understand, or one narrowing by age, gender or income that the owner's words
    (``ctx.asked``, where given) do not ask for."""
    try:
        tree = parse(condition)
    except ConditionError as exc:
        raise ToolArgsError(f"{tool}: {exc}") from exc
    sensitive = sensitive_fields(tree)
    if ctx.asked is not None:
        said = ctx.asked.lower()
        unasked = [word for word in sensitive if not re.search(ASKED_FOR[word], said)]
        if unasked:
            raise ToolArgsError(
                f"{tool}: the owner did not ask to narrow by {' or '.join(unasked)}; lists, drafts and segments are "
                "narrowed by age, gender or income only when the owner asks, so leave that out of the condition."
            )
    return to_text(tree), sensitive


def narrowed_words(sensitive: list[str], what: str = "list") -> str:
    """One sentence for an answer narrowed by a sensitive attribute; '' when it is not."""
    if not sensitive:
        return ""
    return (
        f"This {what} is narrowed by {' and '.join(sensitive)} because you asked for it; lists, drafts and "
        "audiences are otherwise never narrowed by age, gender or income."
    )


def condition_sensitive(condition: str | None) -> list[str]:
    """The sensitive things a saved segment's stored condition narrows by (none for any other group)."""
    if not condition:
        return []
    try:
        return sensitive_fields(parse(condition))
    except ConditionError:
        return []
