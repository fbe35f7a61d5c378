"""Attributes the owner chooses to cluster on beside behaviour: "--with age,open_rate,tag:vegan" (issue 19).

A choice is a number (``NUMBERS``: age, member rating, open and click rates) or a yes/no (``FLAGS``: email
consent, unsubscribed, bounced; ``tag:NAME`` and ``interest:NAME``, 1 for a customer with that tag). The values
are the conditions' own (``segmentation.custom.people_facts``), so "age" means the same in a cluster as in ``age < 30``.

How they enter the distance (``matrix``): a number is standardised like the behaviour features, and a customer
without one (no age in the lists) takes the shop's median, so having no value is not a group of its own; a
yes/no is 0 or 1 on the scale the category shares use (a customer with no record is 0).
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import numpy as np
import pandas as pd

from segmentation.vocabulary import AnalysisError

NUMBERS = {
    "age": ("lists", "age"),
    "member_rating": ("lists", "member_rating"),
    "open_rate": ("email", "open_rate"),
    "click_rate": ("email", "click_rate"),
}
FLAGS = {
    "email_consent": ("lists", "email_consent"),
    "unsubscribed": ("email", "unsubscribed"),
    "bounced": ("email", "bounced"),
}
SENSITIVE = ("age",)  # a clustering made with these says so (tools.fairness)


def parse_choices(text: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """'age, open_rate, tag:vegan' -> ('age', 'open_rate', 'tag:vegan'), tidied, each once, in the order given;
    AnalysisError naming the choices for anything else."""
    if not text:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in items:
        word = re.sub(r"\s+", " ", str(item)).strip().lower()
        if not word:
            continue
        kind, _, value = word.partition(":") if ":" in word else word.partition("=")
        kind, value = kind.strip().replace(" ", "_"), value.strip()
        if value and kind in ("tag", "tags", "interest", "interests"):
            word = f"{kind.rstrip('s')}:{value}"
        elif kind in NUMBERS or kind in FLAGS:
            word = kind
        else:
            raise AnalysisError(
                f"'{item.strip()}' cannot be used to cluster: choose from {', '.join(NUMBERS)}, "
                f"{', '.join(FLAGS)}, tag:NAME or interest:NAME (e.g. --with age,open_rate,tag:vegan)."
            )
        if word not in out:
            out.append(word)
    if len(out) > 8:
        raise AnalysisError(f"{len(out)} attributes is more than a clustering can weigh: choose at most 8.")
    return tuple(out)


def attribute_frame(
    con: duckdb.DuckDBPyConnection, customer_ids: pd.Series, day: dt.date, choices: tuple[str, ...]
) -> pd.DataFrame:
    """One column per choice, one row per customer of ``customer_ids`` (in its order): the number (NaN where the
    data has none) or the 0/1. AnalysisError for a choice the shop's data has for nobody, naming what it has."""
    from segmentation.custom.people_facts import email_facts, list_facts

    wide, long = list_facts(con, day) if any(_source(c) == "lists" for c in choices) else (None, None)
    email = email_facts(con, day) if any(_source(c) == "email" for c in choices) else None
    out = pd.DataFrame(index=pd.Index(customer_ids.astype(str), name="customer_id"))
    for choice in choices:
        if ":" in choice:
            kind, value = choice.split(":", 1)
            assert long is not None  # a tag or interest is a lists' choice, so the lists were read above
            rows = long[long["name"] == kind]
            present = sorted(set(rows["value"].astype(str).str.lower()))
            if value not in present:
                have = (
                    f"the {kind}s in your lists are: {', '.join(present[:20])}"
                    if present
                    else (f"your customer lists have no {kind}s")
                )
                raise AnalysisError(f"No customer has the {kind} '{value}': {have}.")
            holders = set(rows.loc[rows["value"].astype(str).str.lower() == value, "customer_id"].astype(str))
            out[choice] = out.index.isin(holders).astype(float)
            continue
        source, column = NUMBERS.get(choice) or FLAGS[choice]
        frame = wide if source == "lists" else email
        assert frame is not None  # read above for every source a choice names
        values = frame.set_index(frame["customer_id"].astype(str))[column].reindex(out.index)
        if values.notna().sum() == 0:
            where = "a customer list" if source == "lists" else "an email activity export"
            words = choice.replace("_", " ")
            raise AnalysisError(
                f"No customer has {'an' if words[0] in 'aeiou' else 'a'} {words} in your data: "
                f"import {where} with it to cluster on it."
            )
        out[choice] = (
            values.astype(float)
            if choice in NUMBERS
            else values.map(lambda v: 1.0 if v is True or v == 1 else 0.0).astype(float)
        )
    return out.reset_index(drop=True)


def matrix(frame: pd.DataFrame, share_weight: float) -> np.ndarray:
    """The choices as model input: numbers standardised (a missing one at the median), yes/no as 0/1."""
    columns = []
    for name in frame.columns:
        values = frame[name].to_numpy(float)
        if name in NUMBERS:
            values = np.where(np.isnan(values), np.nanmedian(values), values)
            std = values.std()
            columns.append((values - values.mean()) / (std if std > 0 else 1.0))
        else:
            columns.append(share_weight * values)
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


def words(frame: pd.DataFrame, labels: np.ndarray, cluster: int, different: float) -> list[str]:
    """Words for what sets one cluster apart on the chosen attributes: 'younger', 'older', 'email-opening',
    'vegan' (a tag or interest most of the cluster has and under 60% of the shop does)."""
    said = []
    rows = labels == cluster
    for name in frame.columns:
        values = frame[name].to_numpy(float)
        if name in NUMBERS:
            std = float(pd.Series(values).std(ddof=0))
            gap = (pd.Series(values[rows]).median() - pd.Series(values).median()) / std if std > 0 else 0.0
            up, down = {
                "age": ("older", "younger"),
                "member_rating": ("highly rated", "low-rated"),
                "open_rate": ("email-opening", "email-ignoring"),
                "click_rate": ("clicking", "non-clicking"),
            }[name]
            if gap > different:
                said.append(up)
            elif gap < -different:
                said.append(down)
        elif values[rows].mean() >= 0.8 and values.mean() <= 0.6:
            said.append(name.split(":", 1)[1] if ":" in name else name.replace("_", " "))
    return said


def _source(choice: str) -> str:
    if ":" in choice:
        return "lists"
    return (NUMBERS.get(choice) or FLAGS[choice])[0]
