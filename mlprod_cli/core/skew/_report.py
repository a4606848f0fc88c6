"""The skew report: what :func:`~mlprod_cli.core.skew.compare` found, and its JSON form.

A :class:`SkewReport` holds a :class:`FeatureSkew` per feature (and one for the
predictions), each with a :class:`Statistic` per statistic, and the
:class:`SchemaFinding` list. :func:`to_dict` is the plain data every format is
rendered from: a statistic without an answer is ``null`` with its reason, never
NaN or inf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlprod_cli.core.skew._reference import SAMPLE_SIZE
from mlprod_cli.core.skew._thresholds import OK, Threshold


@dataclass(frozen=True)
class Statistic:
    """One statistic of one feature: its value (or ``None`` and why) and its status."""

    value: float | None
    reason: str | None = None
    status: str = OK
    warn: float | None = None  # the thresholds applied; None for informative statistics
    fail: float | None = None


@dataclass(frozen=True)
class FeatureSkew:
    """One feature (or the predictions) compared between training and serving."""

    name: str
    kind: str  # numeric | categorical | datetime | prediction
    status: str
    statistics: dict[str, Statistic]
    values_reference: int  # non-null values on each side
    values_current: int
    null_rate_reference: float
    null_rate_current: float | None
    sampled: bool = False  # KS/Wasserstein estimated from a sample of sample_size values
    summary: dict[str, Any] = field(default_factory=dict)  # mean/std/min/max per side
    distribution: dict[str, Any] = field(default_factory=dict)  # bins or categories
    # Whether the distances' drift is significant for this sample (test, pvalue,
    # level, significant, and the statuses the thresholds alone would have given
    # but were judged ok: "overridden"); None when no test applies.
    significance: dict[str, Any] | None = None


@dataclass(frozen=True)
class SchemaFinding:
    """A schema anomaly: kind is missing_feature, extra_column, type_change,
    unseen_categories or out_of_range."""

    kind: str
    column: str
    status: str
    message: str
    count: int | None = None
    share: float | None = None
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkewReport:
    """Everything :func:`compare` found; ``status`` is the worst status in it."""

    features: list[FeatureSkew]
    schema: list[SchemaFinding]
    predictions: FeatureSkew | None
    status: str
    rows_reference: int
    rows_current: int
    sample_size: int = SAMPLE_SIZE
    thresholds: dict[str, Threshold] = field(default_factory=dict)

    def feature(self, name: str) -> FeatureSkew:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)


def to_dict(report: SkewReport) -> dict[str, Any]:
    """The report as plain JSON-ready data: an undefined value is ``null`` with a reason."""
    return {
        "status": report.status,
        "rows_reference": report.rows_reference,
        "rows_current": report.rows_current,
        "sample_size": report.sample_size,
        "thresholds": {
            name: {"warn": t.warn, "fail": t.fail} for name, t in report.thresholds.items()
        },
        "features": [_feature_dict(f) for f in report.features],
        "schema": [
            {
                "kind": x.kind,
                "column": x.column,
                "status": x.status,
                "message": x.message,
                "count": x.count,
                "share": _clean(x.share),
                "examples": list(x.examples),
            }
            for x in report.schema
        ],
        "predictions": None if report.predictions is None else _feature_dict(report.predictions),
    }


def _feature_dict(f: FeatureSkew) -> dict[str, Any]:
    return {
        "name": f.name,
        "kind": f.kind,
        "status": f.status,
        "values_reference": f.values_reference,
        "values_current": f.values_current,
        "null_rate_reference": _clean(f.null_rate_reference),
        "null_rate_current": _clean(f.null_rate_current),
        "sampled": f.sampled,
        "statistics": {
            name: {
                "value": _clean(s.value),
                "status": s.status,
                "warn": s.warn,
                "fail": s.fail,
                "reason": s.reason if _clean(s.value) is None else None,
            }
            for name, s in f.statistics.items()
        },
        "summary": _clean(f.summary),
        "distribution": _clean(f.distribution),
        "significance": _clean(f.significance),
    }


def _clean(value: Any) -> Any:
    """Floats that JSON cannot hold (NaN, inf) become ``None``; containers recursively."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
