"""The analytics, usable without the app: a notebook's entry point.

>>> import pandas as pd
>>> from segmentation import from_orders, customer_table, cluster_customers
>>> shop = from_orders(pd.read_csv("online_retail.csv.gz"))  # an in-memory store, as an import builds it
>>> customers = customer_table(shop)  # RFM, scores, segment, lifecycle stage, P(alive), expected purchases, CLV

Every analysis takes a DuckDB connection to a store: ``from_orders`` for a DataFrame, ``connect`` for a shop's
database file (``connect("data/shop.duckdb", read_only=True)``). See docs/notebook.md.

The names below are loaded when first used, not on ``import segmentation``: the command line imports this
package's modules on every start, and must not wait for pandas, scipy and scikit-learn (half a second) to print
its help.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> the module that defines it
_EXPORTS = {
    # building and opening a store
    "from_orders": "frames",
    "import_report": "frames",
    "import_file": "importing.ingest",
    "preview_file": "importing.ingest",
    "IngestError": "importing.readers",
    "connect": "store",
    # the one customer table
    "customer_table": "customers",
    "CUSTOMER_COLUMNS": "customers",
    # RFM
    "customer_rfm": "rfm",
    "RFM_COLUMNS": "rfm",
    "validate_segment_map": "rfm",
    "DEFAULT_SEGMENT_MAP": "vocabulary",
    "SEGMENT_KEYS": "vocabulary",
    "SegmentRule": "vocabulary",
    "AnalysisError": "vocabulary",
    # lifecycle
    "customer_lifecycle": "lifecycle",
    "lifecycle_thresholds": "lifecycle",
    "lifecycle_stages": "lifecycle",
    "Thresholds": "lifecycle",
    "STAGES": "vocabulary",
    # value: BG/NBD, Pareto/NBD, Gamma-Gamma
    "rfm_summary": "value.clv",
    "summary_from_transactions": "value.clv",
    "fit_bgnbd": "value.clv",
    "fit_gamma_gamma": "value.clv",
    "fit_models": "value.clv",
    "customer_value": "value.clv",
    "p_alive": "value.clv",
    "expected_purchases": "value.clv",
    "expected_order_value": "value.clv",
    "ModelError": "value.clv",
    "fit_paretonbd": "value.paretonbd",
    # clusters, profiles, movement, breakdowns, sales
    "cluster_customers": "clustering",
    "customer_features": "clustering",
    "ClusterResult": "clustering",
    "describe_segment": "profile",
    "describe_group": "profile",
    "group_members": "profile",
    "GroupProfile": "profile",
    "segment_migration": "migration",
    "Migration": "migration",
    "available_attributes": "breakdown",
    "sales_totals": "sales",
    "monthly_sales": "sales",
}
# Not here: ``breakdown``, ``backtest`` and ``stage_backtest``, functions named as the modules that define them.
# Python sets a submodule as its package's attribute once it is loaded, so ``segmentation.breakdown`` would be the
# function or the module depending on what had run before; the rest of the code imports the modules by those
# names (``from segmentation import breakdown``). Import them from their modules: ``from segmentation.breakdown
# import breakdown``, ``from segmentation.value.backtest import backtest``.
#
# Where things are: the analyses are this package's own modules (rfm, lifecycle, customers, clustering, profile,
# breakdown, migration, ...), beside the store (store, memo, frames, vocabulary, currency). Five sub-packages hold
# the rest, each named for its job: ``importing`` (files in), ``value`` (the purchase and value models and their
# back-tests), ``custom`` (segments the owner defines), ``outreach`` (what speaks to customers: personas, drafts,
# campaigns) and ``safety`` (what leaves the program: CSV cells, Markdown, text sent to a model); ``demo`` builds
# the demo shop. docs/architecture.md draws the layers.

__all__ = [  # the same names as _EXPORTS (tests/test_notebook.py checks)
    "CUSTOMER_COLUMNS",
    "DEFAULT_SEGMENT_MAP",
    "RFM_COLUMNS",
    "SEGMENT_KEYS",
    "STAGES",
    "AnalysisError",
    "ClusterResult",
    "GroupProfile",
    "IngestError",
    "Migration",
    "ModelError",
    "SegmentRule",
    "Thresholds",
    "available_attributes",
    "cluster_customers",
    "connect",
    "customer_features",
    "customer_lifecycle",
    "customer_rfm",
    "customer_table",
    "customer_value",
    "describe_group",
    "describe_segment",
    "expected_order_value",
    "expected_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_models",
    "fit_paretonbd",
    "from_orders",
    "group_members",
    "import_file",
    "import_report",
    "lifecycle_stages",
    "lifecycle_thresholds",
    "monthly_sales",
    "p_alive",
    "preview_file",
    "rfm_summary",
    "sales_totals",
    "segment_migration",
    "summary_from_transactions",
    "validate_segment_map",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'segmentation' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"segmentation.{module}"), name)
    globals()[name] = value  # found once; later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and editors, which do not run __getattr__
    from segmentation.breakdown import available_attributes
    from segmentation.clustering import ClusterResult, cluster_customers, customer_features
    from segmentation.customers import CUSTOMER_COLUMNS, customer_table
    from segmentation.frames import from_orders, import_report
    from segmentation.importing.ingest import import_file, preview_file
    from segmentation.importing.readers import IngestError
    from segmentation.lifecycle import Thresholds, customer_lifecycle, lifecycle_stages, lifecycle_thresholds
    from segmentation.migration import Migration, segment_migration
    from segmentation.profile import GroupProfile, describe_group, describe_segment, group_members
    from segmentation.rfm import RFM_COLUMNS, customer_rfm, validate_segment_map
    from segmentation.sales import monthly_sales, sales_totals
    from segmentation.store import connect
    from segmentation.value.clv import (
        ModelError,
        customer_value,
        expected_order_value,
        expected_purchases,
        fit_bgnbd,
        fit_gamma_gamma,
        fit_models,
        p_alive,
        rfm_summary,
        summary_from_transactions,
    )
    from segmentation.value.paretonbd import fit_paretonbd
    from segmentation.vocabulary import DEFAULT_SEGMENT_MAP, SEGMENT_KEYS, STAGES, AnalysisError, SegmentRule
