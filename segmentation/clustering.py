"""Machine-found customer groups: k-means on behaviour, a plain name per group, a 2-D map, and outliers.

Features (``customer_features``), one row per customer with a purchase on or before the as-of date D:
recency, frequency and monetary value as in ``rfm``; tenure (days from the first purchase to D); average
order value (net revenue per purchase); and, where the data has at least two categories or channels, the
share of the customer's net spend in each of the top ``TOP_LEVELS`` of them, the rest as ``other``.

Clustering (``cluster_customers``): the five behaviour numbers are log-transformed (spend and counts are
heavily skewed: without it one wedding-cake order is a cluster of its own) and standardised; shares stay
on their 0-1 scale (see ``_matrix``). k-means runs for every k from 2 to 8 (at most one cluster per
``MIN_PER_CLUSTER`` customers) and the k with the best mean silhouette wins, unless the caller gives k.
Clusters are keyed ``cluster_1``... by size, largest first, and named from their medians against the whole
base's. IsolationForest flags customers unlike everyone else: possible resellers, or data errors.

Every random step takes ``random_state``, so the same data gives the same clusters. The costly steps work
on one bounded random sample (``SAMPLE``: choosing k, silhouette, PCA and IsolationForest fits); the chosen
centres then start one fit over everyone (MiniBatchKMeans above ``MINIBATCH_ABOVE`` customers), and
scoring everyone is vectorised, never a loop over customers. Results are memoised per database file, data
version, as-of date and k (``RESULTS``), so a cluster key names the same customers in every answer that
follows the clustering the owner saw.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances
from threadpoolctl import threadpool_limits

from segmentation.memo import Memo, store_key
from segmentation.store import resolve_as_of
from segmentation.vocabulary import AnalysisError

BEHAVIOUR = ["recency_days", "frequency", "monetary", "tenure_days", "avg_order_value"]
FEATURE_COLUMNS = ["customer_id", *BEHAVIOUR]  # then cat_<slug>..., chan_<slug>... where the data has them
ASSIGNMENT_COLUMNS = ["customer_id", "cluster", "cluster_name", "pc1", "pc2", "outlier", "outlier_score"]
CLUSTER_COLUMNS = [
    "key", "name", "size", "share", "revenue_share", "recency_days", "frequency", "monetary",
    "avg_order_value", "tenure_days", "top_category", "top_category_share", "top_channel", "top_channel_share",
    "top_category_column", "top_channel_column",  # the share columns they come from (cat_bread, chan_online)
]  # fmt: skip

MIN_CUSTOMERS = 30  # below this a "group" is a handful of people: RFM segments say more
K_MIN, K_MAX = 2, 8  # more than 8 groups is more than an owner can act on
MIN_PER_CLUSTER = 5
TOP_LEVELS = 8  # categories / channels kept as their own share column; the rest pool into "other"
SAMPLE = 5_000  # choosing k (fits and silhouette, O(n^2)), PCA and IsolationForest use at most this many
MINIBATCH_ABOVE = 20_000  # customers; above this the final fit is MiniBatchKMeans
N_INIT = 3  # k-means restarts: small and fixed, so time is predictable and results repeatable
SHARE_WEIGHT = 1.0  # shares enter on their 0-1 scale, not standardised (see _matrix)
OUTLIER_FENCE = 3.0  # outlier: anomaly score beyond Tukey's "far out" fence, Q3 + 3 x IQR of the shop's own ...
OUTLIER_MIN_SCORE = 0.6  # ... and clearly isolated faster than usual (about 0.5 = an ordinary customer)
DIFFERENT = 0.5  # a cluster differs from the base on a feature at this many standard deviations (log scale)
# A few clusterings (one per as-of date and k asked for, the automatic choice also under its k, sharing its
# frames); each holds a row per customer, as the customer table does, so a handful of entries is a handful of
# customer tables at most.
RESULTS: Memo[ClusterResult] = Memo("clusterings", max_entries=8)
_ONE_THREAD = threading.Lock()  # see one_thread

# Money is summed exactly (as decimals): parallel float sums differ in the last bit from run to run, and
# k-means can turn that into a customer changing cluster between two runs on the same data.
_EXACT = "net_amount::DECIMAL(18, 6)"
_OTHER = {"category": "other categories", "channel": "other channels"}
# Per BEHAVIOUR feature, in its order: words for a cluster above / below the base (recency above = longer
# ago), then for the higher / lower of two clusters that would otherwise share a name.
_WORDS = (
    ("recency_days", "lapsed", "recent", "longer-lapsed", "more recent"),
    ("frequency", "frequent", "occasional", "more frequent", "less frequent"),
    ("monetary", "high-spending", "low-spending", "higher-spending", "lower-spending"),
    ("tenure_days", "long-standing", "new", "longer-standing", "newer"),
    ("avg_order_value", "big-basket", "small-basket", "bigger-basket", "smaller-basket"),
)


@dataclass(frozen=True)
class ClusterResult:
    """Clusters of one shop at one as-of date. ``as_dict()`` is the JSON the command line prints."""

    k: int
    silhouette: float
    silhouette_sample_size: int
    assignments: pd.DataFrame  # ASSIGNMENT_COLUMNS, one row per customer with a purchase
    clusters: pd.DataFrame  # CLUSTER_COLUMNS, one row per cluster, cluster_1 (largest) first
    as_of: str = ""
    silhouette_by_k: dict[int, float] = field(default_factory=dict)  # every k tried (the one given, if any)

    def as_dict(self) -> dict:
        """``{"k", "silhouette", "clusters": [{"key", "name", "size", "share", "revenue_share", "profile"}]}``.

        ``profile`` holds plain floats: the cluster's median recency_days, frequency, monetary,
        avg_order_value and tenure_days, and its top category's and channel's mean share under their
        feature column names (e.g. ``"cat_gluten_free": 0.81``) where the data has them.
        """
        clusters = []
        chosen = [c for c in self.clusters.columns if c.startswith("with_")]
        for i, row in enumerate(self.clusters.itertuples(index=False)):  # one per cluster, at most 8
            profile: dict[str, float | None] = {f: float(getattr(row, f)) for f in BEHAVIOUR}
            for kind in ("category", "channel"):
                column = getattr(row, f"top_{kind}_column")
                if isinstance(column, str):
                    profile[column] = float(getattr(row, f"top_{kind}_share"))
            for column in chosen:  # a chosen attribute's median (or share, for a yes/no)
                value = self.clusters[column].iloc[i]
                profile[column.removeprefix("with_")] = None if pd.isna(value) else float(value)
            clusters.append(
                {"key": row.key, "name": row.name, "size": int(row.size), "share": float(row.share),
                 "revenue_share": float(row.revenue_share), "profile": profile}
            )  # fmt: skip
        return {"k": int(self.k), "silhouette": float(self.silhouette), "clusters": clusters}


def customer_features(con: duckdb.DuckDBPyConnection, *, as_of: dt.date | str | None = None) -> pd.DataFrame:
    """One row per customer with a purchase on or before ``as_of``, ordered by customer_id.

    Columns: ``FEATURE_COLUMNS``, then ``cat_<slug>`` and ``chan_<slug>`` shares of the customer's net spend
    (0-1, summing to 1 per kind) for the top ``TOP_LEVELS`` categories and channels by net revenue, plus
    ``cat_other`` / ``chan_other`` for the rest and for lines without one. A kind with fewer than two
    distinct values in the data gets no columns. Returns net within a category; one whose net is negative
    counts as 0. ``attrs``: ``as_of`` (ISO text) and ``labels`` (share column -> the data's own name).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.

    Returns
    -------
    pandas.DataFrame
        ``FEATURE_COLUMNS`` then category and channel shares, a row per customer.
    """
    day = resolve_as_of(con, as_of)
    # Discovery: which categories and channels get a column. Grouping by value is cheap next to the
    # features query, and knowing the levels first lets that query pivot into fixed, safe column names.
    levels = con.execute(
        f"""
        SELECT 'category' AS kind, category AS value, sum({_EXACT})::DOUBLE AS net FROM order_lines
        WHERE customer_id IS NOT NULL AND order_date <= $as_of GROUP BY category
        UNION ALL
        SELECT 'channel', channel, sum({_EXACT})::DOUBLE FROM order_lines
        WHERE customer_id IS NOT NULL AND order_date <= $as_of GROUP BY channel
        """,
        {"as_of": day},
    ).fetchall()
    params: dict[str, object] = {"as_of": day}
    labels: dict[str, str] = {}
    sums, shares = [], []
    for kind, prefix in (("category", "cat"), ("channel", "chan")):
        named = sorted(((v, net) for kd, v, net in levels if kd == kind and v is not None), key=lambda x: (-x[1], x[0]))
        if len(named) < 2:
            continue  # one value (or none) separates nobody
        top = [v for v, _ in named[:TOP_LEVELS]]
        params[prefix] = top  # the data's values travel as a parameter, never inside the SQL text
        columns = _share_columns(prefix, top)
        conditions = [f"{kind} = ${prefix}[{i + 1}]" for i in range(len(top))]
        labels.update(zip(columns, top, strict=True))
        if len(named) > TOP_LEVELS or any(kd == kind and v is None for kd, v, _ in levels):
            columns.append(f"{prefix}_other")
            conditions.append(f"coalesce(list_position(${prefix}, {kind}), 0) = 0")
            labels[f"{prefix}_other"] = _OTHER[kind]
        # One pass over the lines, a filtered sum per level (a level's net below 0, more returned than
        # bought, counts as 0), then each level's share of the customer's total.
        sums += [f"greatest(coalesce(sum({_EXACT}) FILTER ({c}), 0), 0) AS {col}"
                 for col, c in zip(columns, conditions, strict=True)]  # fmt: skip
        total = f"nullif(({' + '.join(columns)})::DOUBLE, 0)"
        shares += [f"coalesce({col}::DOUBLE / {total}, 0) AS {col}" for col in columns]
    spend = (
        f"""spend AS (SELECT customer_id, {", ".join(sums)} FROM order_lines
                      WHERE customer_id IS NOT NULL AND order_date <= $as_of GROUP BY customer_id),"""
        if sums
        else ""
    )
    frame = con.execute(
        f"""
        WITH {spend}
        per_customer AS (
            SELECT customer_id,
                   count(*) FILTER (is_purchase) AS frequency,
                   sum({_EXACT}) AS monetary,
                   min(order_date) FILTER (is_purchase) AS first_purchase,
                   max(order_date) FILTER (is_purchase) AS last_purchase
            FROM orders
            WHERE customer_id IS NOT NULL AND order_date <= $as_of
            GROUP BY customer_id
            HAVING count(*) FILTER (is_purchase) > 0
        )
        SELECT customer_id,
               date_diff('day', last_purchase, $as_of)::INTEGER AS recency_days,
               frequency::INTEGER AS frequency,
               round(monetary, 2)::DOUBLE AS monetary,
               date_diff('day', first_purchase, $as_of)::INTEGER AS tenure_days,
               round(monetary / frequency, 2)::DOUBLE AS avg_order_value
               {"".join(", " + x for x in shares)}
        FROM per_customer {"LEFT JOIN spend USING (customer_id)" if sums else ""}
        ORDER BY customer_id
        """,
        params,
    ).df()
    frame.attrs = {"as_of": day.isoformat(), "labels": labels}
    return frame


def cluster_customers(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | str | None = None,
    k: int | None = None,
    random_state: int = 0,
    attributes: tuple[str, ...] | list[str] | str | None = None,
) -> ClusterResult:
    """Cluster the customers with a purchase on or before ``as_of`` into ``k`` groups (2-8; chosen if None).

    Raises AnalysisError with one plain sentence for a shop under ``MIN_CUSTOMERS`` customers, a ``k``
    outside the range this shop allows, or customers too alike to split.

    Memoised in-process (``RESULTS``) per database file, data version, as-of date, ``k``, ``random_state`` and
    the module's settings: a clustering takes 0.5-1 s on Online Retail's 4,300 customers, and a conversation
    asks for the same one again and again (split into 7 groups, then tell me about group 3, then email them).
    The automatic choice is also kept under the k it chose: "tell me about cluster 1" after "split my
    customers into groups" asks for that k (the chat keeps the k it showed), and gets the same clusters, as
    the k=3 fit is the k search's own (same sample, same random_state). Each call gets its own copy.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    k : int, optional
        Number of clusters (2-8); default chosen by silhouette.
    random_state : int, default 0
        Seed for k-means, its sample and the outlier forest.
    attributes : tuple of str, optional
        Attributes from the customer lists and email activity to cluster on beside behaviour
        (``segmentation.cluster_attributes``): ``age``, ``member_rating``, ``open_rate``, ``click_rate``,
        ``email_consent``, ``unsubscribed``, ``bounced``, ``tag:NAME``, ``interest:NAME``; default none.

    Returns
    -------
    ClusterResult
        ``k``, ``silhouette``, ``assignments`` (a row per customer) and ``clusters``.
    """
    from segmentation.cluster_attributes import parse_choices

    day = resolve_as_of(con, as_of)
    chosen_attributes = parse_choices(attributes)
    key = store_key(con)
    if key is not None:
        # A k that is not a plain integer (3.0, True) is its own entry: it must fail as it would uncached.
        plain = isinstance(k, int | np.integer) and not isinstance(k, bool)
        key = (*key, chosen_attributes, day, int(k) if plain and k is not None else repr(k), random_state, _settings())
    result = RESULTS.get_or_compute(key, lambda: _cluster_customers(con, day, k, random_state, chosen_attributes))
    if key is not None and k is None:
        chosen = (*key[:-3], result.k, *key[-2:])
        if RESULTS.peek(chosen) is None:
            # As computed for that k: the silhouette of that k alone (the rest are the search's).
            as_given = {result.k: result.silhouette_by_k[result.k]} if result.k in result.silhouette_by_k else {}
            RESULTS.keep(chosen, dataclasses.replace(result, silhouette_by_k=as_given))
    return dataclasses.replace(
        result,
        assignments=result.assignments.copy(),
        clusters=result.clusters.copy(),
        silhouette_by_k=dict(result.silhouette_by_k),
    )


def _settings() -> tuple:
    """The module's tunables as they are now: a result computed under others is not this one."""
    return (
        MIN_CUSTOMERS,
        K_MIN,
        K_MAX,
        MIN_PER_CLUSTER,
        TOP_LEVELS,
        SAMPLE,
        MINIBATCH_ABOVE,
        N_INIT,
        SHARE_WEIGHT,
        OUTLIER_FENCE,
        OUTLIER_MIN_SCORE,
        DIFFERENT,
    )


def _cluster_customers(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    k: int | None,
    random_state: int,
    attributes: tuple[str, ...] = (),
) -> ClusterResult:
    """``cluster_customers``, computed."""
    features = customer_features(con, as_of=as_of)
    n = len(features)
    if n < MIN_CUSTOMERS:
        raise AnalysisError(
            f"Clustering needs at least {MIN_CUSTOMERS} customers with a purchase and this shop has {n}; "
            "the RFM segments describe a shop this size better."
        )
    k_max = min(K_MAX, n // MIN_PER_CLUSTER)
    if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or not K_MIN <= k <= k_max):
        raise AnalysisError(
            f"The number of clusters must be between {K_MIN} and {k_max} for this shop ({n} customers, "
            f"at least {MIN_PER_CLUSTER} per cluster); {k!r} is not."
        )
    x, log_std = _matrix(features)
    if attributes:
        from segmentation import cluster_attributes

        extra = cluster_attributes.attribute_frame(con, features["customer_id"], as_of, attributes)
        x = np.hstack([x, cluster_attributes.matrix(extra, SHARE_WEIGHT)])
    else:
        extra = None
    if not np.ptp(x, axis=0).any():
        raise AnalysisError(
            f"All {n} customers look alike (same recency, frequency, spend and mix), so there are no groups to find."
        )
    with one_thread():
        return _groups(features, x, log_std, k, k_max, random_state, extra)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """``with one_thread():`` scikit-learn's OpenMP loops and the BLAS run on one thread inside the block.

    On this 2-core machine k-means on 4,300 customers took 0.09-0.14 s a fit with two OpenMP threads and
    5 ms with one (same labels): each Lloyd iteration is a few microseconds of work per thread, and with
    DuckDB's threads, another session's answer or another process on the other core, every iteration's
    barrier waits for a core. At 80,000 customers one thread is still 3x faster; the sample behind the
    choice of k is at most ``SAMPLE`` rows. The limits are the process's own (threadpoolctl sets the
    libraries' global counts), so a lock keeps two clusterings from restoring each other's settings.
    """
    with _ONE_THREAD, threadpool_limits(limits=1):
        yield


def _groups(
    features: pd.DataFrame,
    x: np.ndarray,
    log_std: np.ndarray,
    k: int | None,
    k_max: int,
    random_state: int,
    extra: pd.DataFrame | None = None,
) -> ClusterResult:
    """``_cluster_customers`` once the features are read and checked: outliers, k, fits, names, map."""
    n = len(features)
    rng = np.random.default_rng(random_state)
    # Outliers first, so that one reseller cannot claim a cluster of its own: they stay out of the fits
    # and are then given their nearest cluster like everyone else. IsolationForest draws 256 rows per tree
    # whatever it is given, so fitting on a bounded sample loses nothing; scoring everyone is vectorised.
    sample = _sample(rng, np.arange(n), SAMPLE)
    forest = IsolationForest(n_estimators=100, random_state=random_state).fit(x[sample])
    score = -forest.score_samples(x)  # the paper's anomaly score: about 0.5 ordinary, near 1 isolated at once
    # A fixed share (contamination) would flag someone in every shop; a fence on the shop's own spread
    # of scores flags nobody in a shop of ordinary customers, and a 500-loaf "customer" among 120.
    q1, q3 = np.quantile(score[sample], [0.25, 0.75])
    outlier = score > max(OUTLIER_MIN_SCORE, q3 + OUTLIER_FENCE * (q3 - q1))
    inliers = np.flatnonzero(~outlier)
    fit_rows = _sample(rng, inliers, SAMPLE)
    # The sample's distances once, in float32 (100 MB at most): the silhouette of every k reads them.
    dist = pairwise_distances(x[fit_rows].astype(np.float32))
    labels, chosen, by_k = _fit(x, inliers, fit_rows, dist, k, k_max, random_state)
    if labels is None:
        raise AnalysisError(
            f"These {n} customers fall into fewer than {k or K_MIN} distinct kinds, so they cannot be split "
            f"into {k or K_MIN} clusters" + ("; ask for fewer." if k and k > K_MIN else ".")
        )

    # Number clusters by size (then revenue), so cluster_1 is always the biggest and keys are stable.
    monetary = features["monetary"].to_numpy(float)
    sizes = np.bincount(labels, minlength=chosen)
    revenue = np.bincount(labels, weights=monetary, minlength=chosen)
    order = sorted(range(chosen), key=lambda c: (-sizes[c], -revenue[c], c))
    rank = np.empty(chosen, dtype=np.int64)
    rank[order] = np.arange(chosen)
    labels = rank[labels]
    keys = np.array([f"cluster_{i + 1}" for i in range(chosen)])
    silhouette = _silhouette(dist, labels[fit_rows])

    clusters = _profiles(features, labels, keys, log_std, extra)
    pcs = PCA(n_components=2, random_state=random_state).fit(x[fit_rows]).transform(x)
    assignments = pd.DataFrame(
        {
            "customer_id": features["customer_id"],
            "cluster": keys[labels],
            "cluster_name": clusters["name"].to_numpy()[labels],
            "pc1": pcs[:, 0],
            "pc2": pcs[:, 1],
            "outlier": outlier,
            "outlier_score": score,
        }
    )
    return ClusterResult(
        k=chosen,
        silhouette=silhouette,
        silhouette_sample_size=len(fit_rows),
        assignments=assignments[ASSIGNMENT_COLUMNS],
        clusters=clusters,
        as_of=features.attrs["as_of"],
        silhouette_by_k=by_k,
    )


def _matrix(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The model's input, and the standard deviation of each log behaviour feature (for naming).

    Shares are not standardised: a category 2% of customers buy would put its buyers seven standard
    deviations out and let one niche dominate every distance. On the 0-1 scale, moving a whole basket
    from one category to another is a distance of about 1.4, like 1.4 standard deviations of spend.
    """
    logs = np.log1p(features[BEHAVIOUR].to_numpy(float).clip(min=0))
    mean, std = logs.mean(axis=0), logs.std(axis=0)
    scaled = (logs - mean) / np.where(std > 0, std, 1.0)
    shares = features.columns[len(FEATURE_COLUMNS) :]
    return np.hstack([scaled, SHARE_WEIGHT * features[shares].to_numpy(float)]), std


def _sample(rng: np.random.Generator, rows: np.ndarray, size: int) -> np.ndarray:
    """At most ``size`` of ``rows``, drawn at random, in their original order."""
    return rows if len(rows) <= size else np.sort(rng.choice(rows, size, replace=False))


def _fit(
    x: np.ndarray,
    inliers: np.ndarray,
    fit_rows: np.ndarray,
    dist: np.ndarray,
    k: int | None,
    k_max: int,
    random_state: int,
) -> tuple[np.ndarray | None, int, dict[int, float]]:
    """Labels for every row, the k used, and the silhouette of each k tried (labels None: no k splits).

    k is chosen on the sample; the winner's centres then start one fit over every ordinary customer.
    """
    best, best_score, by_k = None, -np.inf, {}
    with warnings.catch_warnings():
        # Duplicated customers can leave fewer distinct points than k: we check labels ourselves.
        warnings.simplefilter("ignore", ConvergenceWarning)
        models = [
            KMeans(candidate, n_init=N_INIT, random_state=random_state).fit(x[fit_rows])
            for candidate in ([k] if k else range(K_MIN, k_max + 1))
        ]
        models = [m for m in models if len(np.unique(m.labels_)) == m.n_clusters]
        for model, score in zip(models, _silhouettes(dist, [m.labels_ for m in models]), strict=True):
            by_k[model.n_clusters] = score
            if score > best_score:  # ties keep the smaller k: fewer groups are easier to act on
                best, best_score = model, score
        if best is None:
            return None, 0, by_k
        final = best
        if len(inliers) > len(fit_rows):
            options = {"init": best.cluster_centers_, "n_init": 1, "random_state": random_state}
            if len(inliers) > MINIBATCH_ABOVE:
                final = MiniBatchKMeans(best.n_clusters, batch_size=4096, compute_labels=False, **options)
            else:
                final = KMeans(best.n_clusters, **options)
            final.fit(x if len(inliers) == len(x) else x[inliers])
    labels = final.predict(x)  # outliers too: each gets its nearest cluster
    if len(np.unique(labels)) < best.n_clusters:  # a refined centre lost everyone: keep the sample's
        labels = best.predict(x)
    return labels, best.n_clusters, by_k


def _silhouette(dist: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette from precomputed distances; -1 (worst) where it is undefined."""
    return _silhouettes(dist, [labels])[0]


def _silhouettes(dist: np.ndarray, labelings: list[np.ndarray]) -> list[float]:
    """The mean silhouette of each labelling of the rows of ``dist``; -1 (worst) where it is undefined.

    The numbers of scikit-learn's ``silhouette_score(dist, labels, metric="precomputed")``, computed another
    way: it sums each row's distances per cluster with a Python-level ``bincount`` per row, one pass over the
    n x n matrix per labelling (45 ms each at 4,300 rows, 0.35 s of the 0.7 s clustering Online Retail
    took). Here every labelling's per-cluster sums come from one matrix product per block of rows against
    their one-hot columns side by side, in float64 as bincount adds, then stored in float32 and taken
    through the same float32 steps as ``silhouette_samples``. Only the order of the float64 additions
    differs, far below float32's precision: the same scores, to the last bit in practice (checked for every k
    at the demo, Online Retail and 1M-line sizes).
    """
    n = len(dist)
    scores: list[float | None] = []
    codes, counts, starts = [], [], []
    width = 0
    for labels in labelings:
        _, code, count = np.unique(labels, return_inverse=True, return_counts=True)
        if not 2 <= len(count) < n:
            scores.append(-1.0)
            continue
        scores.append(None)
        codes.append(code)
        counts.append(count)
        starts.append(width)
        width += len(count)
    if not width:  # no labelling had a score to compute: each is -1
        return [-1.0] * len(scores)
    onehot = np.zeros((n, width))
    rows = np.arange(n)
    for code, start in zip(codes, starts, strict=True):
        onehot[rows, start + code] = 1.0
    sums = np.empty((n, width), dtype=dist.dtype)
    block = max(1, 2**21 // n)  # rows per product: 16 MB of float64 at a time
    for top in range(0, n, block):
        sums[top : top + block] = dist[top : top + block].astype(np.float64) @ onehot
    computed = iter(zip(codes, counts, starts, strict=True))
    out = []
    for score in scores:
        if score is not None:
            out.append(score)
            continue
        code, count, start = next(computed)
        per_cluster = sums[:, start : start + len(count)].copy()
        intra = per_cluster[rows, code]
        per_cluster[rows, code] = np.inf
        per_cluster /= count
        inter = per_cluster.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            intra /= (count - 1).take(code, mode="clip")
            sil = inter - intra
            sil /= np.maximum(intra, inter)
        out.append(float(np.mean(np.nan_to_num(sil))))  # a cluster of one: 0, as scikit-learn gives it
    return out


def _profiles(
    features: pd.DataFrame, labels: np.ndarray, keys: np.ndarray, log_std: np.ndarray, extra: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per cluster: size, shares, medians, top category and channel, and a unique plain name; with
    ``extra`` (the chosen attributes, a row per customer) their median or share as ``with_<name>``."""
    n = len(features)
    grouped = features.drop(columns="customer_id").groupby(labels)
    medians = grouped[BEHAVIOUR].median()
    out = medians.copy()
    out.insert(0, "key", keys[medians.index])
    out.insert(1, "size", grouped.size())
    out.insert(2, "share", out["size"] / n)
    total = features["monetary"].sum()
    out.insert(3, "revenue_share", grouped["monetary"].sum() / total if total > 0 else 0.0)
    share_cols = list(features.columns[len(FEATURE_COLUMNS) :])
    means = grouped[share_cols].mean() if share_cols else pd.DataFrame(index=medians.index)
    base_shares = features[share_cols].mean()
    labels_of = features.attrs.get("labels", {})
    for kind, prefix in (("category", "cat_"), ("channel", "chan_")):
        cols = [c for c in share_cols if c.startswith(prefix)]
        if cols:
            out[f"top_{kind}_column"] = means[cols].idxmax(axis=1)
            out[f"top_{kind}"] = out[f"top_{kind}_column"].map(labels_of)
            out[f"top_{kind}_share"] = means[cols].max(axis=1)
        else:  # the data has no categories (or channels): left empty, not made up
            out[f"top_{kind}_column"] = out[f"top_{kind}"] = None
            out[f"top_{kind}_share"] = np.nan
    # d: how far each cluster's median sits from the base median, in standard deviations of the log.
    base_med = np.log1p(features[BEHAVIOUR].median().clip(lower=0).to_numpy(float))
    d = (np.log1p(medians.clip(lower=0).to_numpy(float)) - base_med) / np.where(log_std > 0, log_std, np.inf)
    d = pd.DataFrame(d, index=medians.index, columns=BEHAVIOUR)
    names = [_name(d.loc[i], medians.loc[i], means.loc[i], base_shares, labels_of) for i in out.index]
    columns = list(CLUSTER_COLUMNS)
    if extra is not None:  # the chosen attributes: their median or share per cluster, and a word where it differs
        from segmentation.cluster_attributes import NUMBERS, words

        names = [" ".join([*words(extra, labels, i, DIFFERENT), n]) for i, n in zip(out.index, names, strict=True)]
        for name in extra.columns:
            by = extra[name].groupby(labels)
            out[f"with_{name}"] = (by.median() if name in NUMBERS else by.mean()).reindex(out.index)
            columns.append(f"with_{name}")
    out["name"] = _unique(names, d.to_numpy(), list(out["key"]))
    return out.reset_index(drop=True)[columns]


def _name(d: pd.Series, median: pd.Series, shares: pd.Series, base_shares: pd.Series, labels: dict[str, str]) -> str:
    """A cluster's name from what sets it apart from the base: up to three words and a noun."""
    word = {f: (up if d[f] > DIFFERENT else down if d[f] < -DIFFERENT else None) for f, up, down, *_ in _WORDS}
    noun = "buyers"
    if word["frequency"] == "frequent":
        noun = "regulars"
        if word["recency_days"] == "recent":  # regulars are recent by nature: the word adds nothing
            word["recency_days"] = None
    elif median["frequency"] <= 1:
        word["frequency"] = "one-time"
    if word["tenure_days"] == "new" and word["recency_days"] != "lapsed" and noun == "buyers":
        noun, word["frequency"] = "newcomers", None  # a newcomer has had little time to buy twice
    fans = [c for c in shares.index if c.startswith("cat_") and c != "cat_other"]
    if fans:  # the category most over-represented against the base, if it fills much of the basket
        fav = max(fans, key=lambda c: shares[c] / max(base_shares[c], 1e-9))
        if shares[fav] >= 0.4 and shares[fav] >= 2 * base_shares[fav]:
            noun = f"{_plain(labels.get(fav, fav))} fans"
    channel = None
    chans = [c for c in shares.index if c.startswith("chan_") and c != "chan_other"]
    if chans:  # a channel only names a cluster when the base is mixed and the cluster is not
        top = max(chans, key=lambda c: shares[c])
        if shares[top] >= 0.8 and base_shares[top] <= 0.6:
            channel = _plain(labels.get(top, top)).replace(" ", "-")
    adjectives = [w for w in (word["recency_days"], word["frequency"], word["avg_order_value"], channel) if w]
    if not adjectives and noun == "buyers":
        return "typical buyers"
    return " ".join([*adjectives[:3], noun])


def _unique(names: list[str], d: np.ndarray, keys: list[str]) -> list[str]:
    """Capitalised names; clusters sharing one get a comparative ("higher-spending") on the feature where
    they differ most, and, if that still leaves a tie (three or more alike), their cluster number."""
    names = list(names)
    for _ in range(2):
        for name in {n for n in names if names.count(n) > 1}:
            group = [i for i, n in enumerate(names) if n == name]
            spread = d[group].max(axis=0) - d[group].min(axis=0)
            f = int(np.argmax(spread))
            if spread[f] < DIFFERENT / 2:
                continue
            high, low = group[int(np.argmax(d[group, f]))], group[int(np.argmin(d[group, f]))]
            names[high], names[low] = _compare(name, f, _WORDS[f][3]), _compare(name, f, _WORDS[f][4])
    for i, n in enumerate(names):
        if names.count(n) > 1:
            names[i] = f"{n} ({keys[i].replace('_', ' ')})"
    return [n[0].upper() + n[1:] for n in names]


def _compare(name: str, feature: int, comparative: str) -> str:
    """ "frequent regulars" + "less frequent" -> "less frequent regulars", not "less frequent frequent
    regulars": the comparative takes the place of its own word; otherwise it goes in front."""
    words = name.split(" ")
    for plain in _WORDS[feature][1:3]:
        if plain in words and plain in comparative.replace("-", " ").split(" "):
            words[words.index(plain)] = comparative
            return " ".join(words)
    return f"{comparative} {name}"


def _plain(label: str) -> str:
    """A data label inside a sentence: lower case, except acronyms the shop wrote in capitals."""
    return label if label.isupper() else label.lower()


def _share_columns(prefix: str, values: list[str]) -> list[str]:
    """Safe, unique column names for the data's category or channel names ("Gluten-Free" -> cat_gluten_free)."""
    out: list[str] = []
    for i, value in enumerate(values):
        ascii_ = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
        name = f"{prefix}_" + (re.sub(r"[^a-z0-9]+", "_", ascii_).strip("_") or str(i + 1))
        base, n = name, 1
        while name in out or name == f"{prefix}_other":  # "Gluten free" and "gluten-free", or a real "Other"
            n += 1
            name = f"{base}_{n}"
        out.append(name)
    return out
