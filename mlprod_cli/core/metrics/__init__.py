"""The metrics library: per-class classification metrics, proven equal to scikit-learn.

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
    to_dict,
)

__all__ = [
    "AVERAGES",
    "HIGHER_IS_BETTER",
    "METRIC_NAMES",
    "Average",
    "ClassMetrics",
    "Report",
    "Value",
    "classification_report",
    "to_dict",
]
