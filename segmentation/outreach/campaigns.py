"""Campaigns that can be measured: an audience, a random control group held out, and the lift.

Create: the group's members at the as-of date, minus those who said no to marketing (where the data
records consent, they are removed *before* the split, so audience and control stay comparable), are
shuffled with a seeded generator and split: ``round(n x holdout)`` go to control. Same seed, same split.

Measure: for each arm, the customers, buyers (at least one purchase in the window after the as-of day:
as_of < order_date <= as_of + window_days), conversion and revenue per customer. Revenue is net: the sum of
every order's ``net_amount`` in the window, so a return filed as an order of its own after the campaign
counts against its arm, and a purchase fully undone by a later cancellation (netted onto it at import) is
no purchase and makes nobody a buyer. The lift:

- conversion: difference of proportions with a 95% Newcombe interval (built from each arm's Wilson
  interval: unlike the Wald interval it stays honest when an arm has no buyers or few customers), and a
  two-sided p-value from the pooled two-proportion z-test; with fewer than 30 customers in an arm the
  answer says it is too few to tell;
- revenue per customer: difference of means with a permutation p-value and the 95% interval that inverts
  the same test (``segmentation.outreach.lift``: seeded, exact in level for small, zero-heavy, skewed arms, where a
  bootstrap interval excluded zero in up to a quarter of campaigns with no effect).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import NormalDist

import duckdb
import numpy as np
import pandas as pd

from segmentation.outreach.lift import revenue_lift
from segmentation.outreach.persona import amount
from segmentation.safety.export import csv_bytes
from segmentation.store import resolve_as_of
from segmentation.vocabulary import AnalysisError

ARMS = ("audience", "control")
EXPORT_COLUMNS = {"customer_id": "customer_id", "email": "Email", "first_name": "First Name", "last_name": "Last Name"}
MIN_ARM = 30
POWER = 0.8  # the chance a split finds the lift it is sized for (``detectable_lift``)


@dataclass
class CampaignCreated:
    id: str
    segment: str
    as_of: str
    audience: int
    control: int
    excluded_no_consent: int
    audience_csv: str | None = None
    control_csv: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def create_campaign(
    con: duckdb.DuckDBPyConnection,
    segment: str,
    *,
    members: list[str],
    as_of: dt.date,
    holdout: float = 0.1,
    seed: int = 0,
    goal: str | None = None,
    channel: str | None = None,
    draft: dict | None = None,
) -> CampaignCreated:
    """Record a campaign on a read-write connection: split ``members`` into audience and control."""
    if not 0 < holdout < 1:
        raise AnalysisError(f"The holdout must be a share between 0 and 1 (e.g. 0.1 for 10%), not {holdout}.")
    eligible = eligible_members(con, members)
    if len(eligible) < 2:
        raise AnalysisError(f"'{segment}' has {len(eligible)} customers who may be contacted: too few for a campaign.")
    excluded = len(set(members)) - len(eligible)
    order = np.random.default_rng(seed).permutation(len(eligible))
    n_control = split_sizes(len(eligible), holdout)[1]
    arms = pd.DataFrame({"customer_id": [eligible[i] for i in order]})
    arms["arm"] = ["control"] * n_control + ["audience"] * (len(eligible) - n_control)
    number = con.execute("SELECT count(*) + 1 FROM campaigns").fetchall()[0][0]
    campaign_id = f"cmp-{number:04d}"
    con.execute(
        "INSERT INTO campaigns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            campaign_id,
            dt.datetime.now().replace(microsecond=0),
            segment,
            as_of,
            goal,
            channel,
            json.dumps(draft) if draft else None,
            holdout,
            seed,
            excluded,
        ],
    )
    arms.insert(0, "campaign_id", campaign_id)
    con.register("new_members", arms)
    con.execute("INSERT INTO campaign_members SELECT campaign_id, customer_id, arm FROM new_members")
    con.unregister("new_members")
    counts = arms["arm"].value_counts()
    return CampaignCreated(
        campaign_id, segment, as_of.isoformat(), int(counts.get("audience", 0)), int(counts.get("control", 0)), excluded
    )


def campaign_folder(db_path: Path, campaign_id: str) -> Path:
    """Where a campaign's lists go unless told: beside the shop's database, in a folder named after it
    (``shop.duckdb`` -> ``shop-campaigns/cmp-0001``): campaign ids restart at cmp-0001 in every shop."""
    return db_path.resolve().parent / f"{db_path.stem}-campaigns" / campaign_id


def export_arms(con: duckdb.DuckDBPyConnection, campaign_id: str, out_dir: Path) -> dict[str, Path]:
    """audience.csv and control.csv, customer_id first, then Email, First Name, Last Name (Mailchimp and
    Klaviyo import these headers as they are); text cells cannot run as spreadsheet formulas.

    A folder that cannot be written is an ``AnalysisError`` naming it, with no file of this call left behind:
    callers create the campaign in the same transaction and roll it back, so nothing is half made."""
    paths = {arm: out_dir / f"{arm}.csv" for arm in ARMS}
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for arm, path in paths.items():
            path.write_bytes(arm_csv(con, campaign_id, arm))
            written.append(path)
    except OSError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        reason = exc.strerror or type(exc).__name__
        raise AnalysisError(
            f"Cannot write the campaign's lists to {out_dir} ({reason.lower()}): choose a folder you can write "
            "to; no campaign was created."
        ) from exc
    return paths


def arm_csv(con: duckdb.DuckDBPyConnection, campaign_id: str, arm: str) -> bytes:
    """One arm's list as ``export_arms`` writes it, in memory (the app's downloads, for as long as the campaign
    exists)."""
    frame = (
        con.execute(
            """
        SELECT m.customer_id, c.email, c.first_name, c.last_name
        FROM campaign_members m LEFT JOIN customers c USING (customer_id)
        WHERE m.campaign_id = ? AND m.arm = ? ORDER BY m.customer_id
        """,
            [campaign_id, arm],
        )
        .df()
        .rename(columns=EXPORT_COLUMNS)
    )
    return csv_bytes(frame, bom=False)  # as the command line writes it: mail tools read the header as it is


def eligible_members(con: duckdb.DuckDBPyConnection, members: list[str]) -> list[str]:
    """``members`` who may be contacted: all of them unless the data records consent, then those who did not
    say no; never those who unsubscribed or bounced (``create_campaign`` splits exactly these)."""
    from segmentation.engagement import unreachable_ids

    unreachable = unreachable_ids(con)  # unsubscribed or bounced in the email tool's exports: never messaged
    consent = con.execute("SELECT customer_id, marketing_consent FROM customers").df()
    if not consent["marketing_consent"].notna().any():
        return sorted(set(members) - unreachable)
    refused = set(consent.loc[consent["marketing_consent"].eq(False), "customer_id"])
    return sorted(set(members) - refused - unreachable)


def split_sizes(eligible: int, holdout: float) -> tuple[int, int]:
    """(messaged, held out) for ``eligible`` customers and a holdout share, as ``create_campaign`` splits them."""
    control = max(1, round(eligible * holdout))
    return eligible - control, control


def detectable_lift(messaged: int, held_out: int, baseline: float) -> float:
    """The smallest rise in conversion (a share) the split finds four times in five at the 5% level.

    The usual two-proportion sample-size formula solved for the difference: (z_0.975 + z_0.8) x the standard
    error of a difference at the baseline rate, sqrt(p (1 - p) (1/n1 + 1/n2)). ``baseline``: the share of the
    group expected to buy in the window anyway, kept within [1%, 99%] so a near-zero rate does not promise
    that any lift shows.
    """
    if messaged < 1 or held_out < 1:
        return 1.0
    p = min(max(baseline, 0.01), 0.99)
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(POWER)
    return min(1.0, z * math.sqrt(p * (1 - p) * (1 / messaged + 1 / held_out)))


def suggest_holdout(eligible: int, baseline: float, lift: float, shares: tuple[float, ...]) -> float | None:
    """The smallest of ``shares`` whose split keeps ``MIN_ARM`` in each arm and can show ``lift``; None if none."""
    for share in sorted(shares):
        messaged, held_out = split_sizes(eligible, share)
        if min(messaged, held_out) >= MIN_ARM and detectable_lift(messaged, held_out, baseline) <= lift:
            return share
    return None


def expected_conversion(
    con: duckdb.DuckDBPyConnection, members: list[str], as_of: dt.date, window_days: int = 30
) -> float | None:
    """The share of ``members`` the value model expects to buy within ``window_days`` of ``as_of`` without any
    campaign (mean of 1 - exp(-expected purchases)); None when the model cannot be fitted."""
    from segmentation.value.clv import ModelError, customer_value

    try:
        value = customer_value(con, as_of=as_of, horizon_days=window_days)
    except (ModelError, AnalysisError):
        return None
    expected = value.loc[value["customer_id"].isin(set(members)), "expected_purchases"].astype(float)
    if expected.empty or expected.isna().all():
        return None
    return float((1 - np.exp(-expected.clip(lower=0))).mean())


def campaign_record(con: duckdb.DuckDBPyConnection, campaign_id: str) -> dict:
    rows = con.execute(
        "SELECT campaign_id, segment, as_of, goal, channel, holdout, seed, excluded_no_consent, created_at "
        "FROM campaigns WHERE campaign_id = ?",
        [campaign_id],
    ).fetchall()
    if not rows:
        known = [r[0] for r in con.execute("SELECT campaign_id FROM campaigns ORDER BY 1").fetchall()]
        choices = ", ".join(known) if known else "none yet: create one with `segments campaign create`"
        raise AnalysisError(f"There is no campaign '{campaign_id}'; campaigns: {choices}.")
    keys = ("id", "segment", "as_of", "goal", "channel", "holdout", "seed", "excluded_no_consent", "created_at")
    return dict(zip(keys, rows[0], strict=True))


def list_campaigns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        """
        SELECT c.campaign_id AS id, c.segment, c.as_of, c.goal, c.channel, c.created_at,
               count(*) FILTER (m.arm = 'audience') AS audience, count(*) FILTER (m.arm = 'control') AS control
        FROM campaigns c LEFT JOIN campaign_members m USING (campaign_id)
        GROUP BY ALL ORDER BY c.campaign_id
        """
    ).df()


@dataclass
class Measurement:
    id: str
    window_days: int
    days_observed: int
    treated: dict
    control: dict
    lift: dict
    verdict: str

    def as_dict(self) -> dict:
        return {"id": self.id, "treated": self.treated, "control": self.control, "lift": self.lift}


def measure_campaign(con: duckdb.DuckDBPyConnection, campaign_id: str, *, window_days: int = 30) -> Measurement:
    """Buyers, conversion and revenue per customer in each arm after the as-of day, and the lift."""
    if not 1 <= window_days <= 365:
        raise AnalysisError("The measurement window must be between 1 and 365 days.")
    record = campaign_record(con, campaign_id)
    start = record["as_of"]
    end = start + dt.timedelta(days=window_days)
    last = resolve_as_of(con, None)
    outcomes = con.execute(
        """
        SELECT m.arm, m.customer_id,
               coalesce(sum(o.net_amount), 0) AS revenue,
               count(o.order_id) FILTER (o.is_purchase) > 0 AS bought
        FROM campaign_members m
        LEFT JOIN orders o ON o.customer_id = m.customer_id AND o.order_date > ? AND o.order_date <= ?
        WHERE m.campaign_id = ?
        GROUP BY m.arm, m.customer_id
        ORDER BY m.arm, m.customer_id
        """,
        [start, end, campaign_id],
    ).df()
    arms = {arm: outcomes[outcomes["arm"] == arm] for arm in ARMS}
    treated, control = (_arm_summary(arms[a]) for a in ARMS)
    lift = _lift(arms["audience"], arms["control"], seed=int(record["seed"]))
    observed = max(0, min((last - start).days, window_days))
    return Measurement(
        campaign_id,
        window_days,
        observed,
        treated,
        control,
        lift,
        _verdict(treated, control, lift, observed, window_days, start),
    )


def _arm_summary(arm: pd.DataFrame) -> dict:
    n = len(arm)
    buyers = int(arm["bought"].sum())
    return {
        "customers": n,
        "buyers": buyers,
        "conversion": round(buyers / n, 6) if n else 0.0,
        "revenue_per_customer": round(float(arm["revenue"].mean()), 6) if n else 0.0,
    }


Z95 = 1.959964


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    p = successes / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return centre - half, centre + half


def newcombe(b1: int, n1: int, b2: int, n2: int) -> tuple[float, float]:
    """95% interval of p1 - p2 (Newcombe 1998, method 10, from the two Wilson intervals)."""
    p1, p2 = b1 / n1, b2 / n2
    (l1, u1), (l2, u2) = wilson(b1, n1), wilson(b2, n2)
    diff = p1 - p2
    return diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _lift(treated: pd.DataFrame, control: pd.DataFrame, *, seed: int) -> dict:
    n1, n2 = len(treated), len(control)
    b1, b2 = int(treated["bought"].sum()), int(control["bought"].sum())
    p1, p2 = b1 / n1, b2 / n2
    diff = p1 - p2
    ci_low, ci_high = newcombe(b1, n1, b2, n2)
    pooled = (treated["bought"].sum() + control["bought"].sum()) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = diff / se_pooled if se_pooled > 0 else 0.0
    p_value = math.erfc(abs(z) / math.sqrt(2)) if se_pooled > 0 else 1.0
    revenue = revenue_lift(
        treated["revenue"].to_numpy(dtype=float), control["revenue"].to_numpy(dtype=float), seed=seed
    )
    return {
        "conversion_diff": round(float(diff), 6),
        "ci_low": round(float(ci_low), 6),
        "ci_high": round(float(ci_high), 6),
        "p_value": round(float(p_value), 6),
        "revenue_diff": round(float(revenue.diff), 6),
        "revenue_ci_low": _rounded(float(revenue.ci_low)),
        "revenue_ci_high": _rounded(float(revenue.ci_high)),
        "revenue_p_value": round(float(revenue.p_value), 6),
        "revenue_method": "permutation test, interval by test inversion",
    }


def _rounded(end: float) -> float | None:
    """An interval end for JSON: None where the data cannot bound it (NaN)."""
    return None if math.isnan(end) else round(float(end), 6)


def _verdict(treated: dict, control: dict, lift: dict, observed: int, window: int, start: dt.date) -> str:
    """The result in plain words, honest about small numbers and about results not in yet."""
    per100 = lambda x: f"{x * 100:.0f}"  # noqa: E731
    if min(treated["customers"], control["customers"]) < MIN_ARM:
        # Waiting cannot fix this: the arms are fixed when the campaign is made.
        return (
            f"Too few customers to tell, however long you wait: {treated['customers']} messaged and "
            f"{control['customers']} held out; a fair comparison needs at least {MIN_ARM} in each, so a "
            "campaign on a bigger group or with a larger share held out is needed."
        )
    if observed == 0:
        return (
            f"No results yet: the data has no orders after {start.day} {start:%b %Y}, the campaign's date. "
            "Import the orders that came in since, and the comparison appears here."
        )
    waiting = ""
    if observed < window:
        waiting = f" Only {observed} of the {window} days after the campaign are in the data so far."
    diff, low, high = lift["conversion_diff"], lift["ci_low"], lift["ci_high"]
    words = "extra" if diff >= 0 else "fewer"
    sentence = (
        f"The campaign brought {per100(abs(diff))} {words} buyers per 100 customers "
        f"(95%: {per100(low)} to {per100(high)}; {treated['buyers']} of {treated['customers']} messaged "
        f"bought, {control['buyers']} of {control['customers']} held out)."
    )
    if low <= 0 <= high:
        sentence += " The interval includes zero: too few customers to tell whether it worked."
    return sentence + _revenue_sentence(treated, control, lift) + waiting


def _revenue_sentence(treated: dict, control: dict, lift: dict) -> str:
    """Revenue per customer in words: the difference, its interval and p-value (net of returns)."""
    if treated["buyers"] == 0 and control["buyers"] == 0:
        return " Nobody in either group has bought yet, so there is no revenue to compare."
    diff, low, high = lift["revenue_diff"], lift["revenue_ci_low"], lift["revenue_ci_high"]
    span = f"{amount(low)} to {amount(high)}" if low is not None and high is not None else "too wide to bound"
    sentence = (
        f" Revenue per customer, net of returns, was {amount(abs(diff))} {'higher' if diff >= 0 else 'lower'} "
        f"among those messaged (95%: {span}; p = {lift['revenue_p_value']:.2g})."
    )
    if low is None or high is None or low <= 0 <= high:
        sentence += " That could be chance."
    return sentence
