"""The metrics library: classification (per class) and regression metrics, proven equal to scikit-learn.

Importing it imports numpy; modules that only need the metric names (the
``mlprod.yaml`` schema) take them from :mod:`mlprod_cli.core.names`.
"""

from __future__ import annotations

from mlprod_cli.core.metrics._classification import (
    AVERAGES,
    HIGHER_IS_BETTER,
    METRIC_NAMES,
    Average,
    ClassMetrics,
    Report,
    Value,
    classification_report,
)
from mlprod_cli.core.metrics._classification import to_dict as _classification_to_dict
from mlprod_cli.core.metrics._regression import (
    DecileRow,
    RegressionReport,
    regression_report,
    regression_to_dict,
)

__all__ = [
    "AVERAGES",
    "HIGHER_IS_BETTER",
    "METRIC_NAMES",
    "Average",
    "ClassMetrics",
    "DecileRow",
    "RegressionReport",
    "Report",
    "Value",
    "classification_report",
    "regression_report",
    "regression_to_dict",
    "to_dict",
]


def to_dict(report: Report | RegressionReport) -> dict:
    """Either report as plain JSON-ready data (a regression report's has ``"task": "regression"``)."""
    if isinstance(report, RegressionReport):
        return regression_to_dict(report)
    return _classification_to_dict(report)
