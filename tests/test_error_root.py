"""One root for the product's own errors (issue 20): a front door catches ``SegmentsError`` and says the
sentence; every domain error is beneath it, and those that were ValueErrors still are."""

from __future__ import annotations

import pytest

from segmentation.currency import CurrencyError
from segmentation.custom.conditions import ConditionError
from segmentation.custom.saved import SegmentError
from segmentation.customer_page import CustomerNotFound
from segmentation.importing.readers import IngestError, UnrelatedFileError
from segmentation.profile import UnknownGroup
from segmentation.store import StoreBusyError, StoreError
from segmentation.value.clv import ModelError
from segmentation.vocabulary import AnalysisError, SegmentsError
from tools.base import ToolArgsError, ToolFailure

DOMAIN = [
    AnalysisError,
    ModelError,
    ConditionError,
    SegmentError,
    CustomerNotFound,
    UnknownGroup,
    IngestError,
    UnrelatedFileError,
    CurrencyError,
    StoreError,
    StoreBusyError,
]


@pytest.mark.parametrize("error", DOMAIN, ids=lambda e: e.__name__)
def test_every_domain_error_is_a_segments_error(error: type[Exception]) -> None:
    assert issubclass(error, SegmentsError)


@pytest.mark.parametrize("error", [AnalysisError, IngestError, CurrencyError], ids=lambda e: e.__name__)
def test_the_value_errors_are_still_value_errors(error: type[Exception]) -> None:
    assert issubclass(error, ValueError)


@pytest.mark.parametrize("error", [ToolArgsError, ToolFailure], ids=lambda e: e.__name__)
def test_the_tools_two_kinds_stay_apart(error: type[Exception]) -> None:
    # A tool's errors are the tool layer's (one the model can fix, one sentence for the owner), not the domain's.
    assert not issubclass(error, SegmentsError)


def test_a_domain_error_in_a_tool_is_one_sentence_for_the_owner(tmp_path) -> None:
    import tools.registry  # noqa: F401  (registers every tool)
    from tools.base import ToolContext, run_tool

    with pytest.raises(ToolFailure, match=r"no shop data at .* yet: import your orders"):  # the store refuses
        run_tool("compute_rfm", {}, ToolContext(db_path=tmp_path / "empty.duckdb"))
