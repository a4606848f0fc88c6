"""The names shared by the schema of ``mlprod.yaml`` and the code that computes them.

Kept apart from :mod:`mlprod_cli.core.metrics` and :mod:`mlprod_cli.core.skew`
(which import numpy) so that validating ``mlprod.yaml`` — ``mlprod check`` in a
pre-commit hook — imports nothing heavy, and so the names are written once.
"""

from __future__ import annotations

METRIC_NAMES: tuple[str, ...] = (
    "sensitivity",
    "recall",
    "specificity",
    "precision",
    "npv",
    "f1_score",
    "fdr",
    "for",
    "fpr",
    "fnr",
    "lr_plus",
    "lr_minus",
    "dor",
    "prevalence",
    "auroc",
)
"""Per-class metric keys, in report order. Stable: they are JSON keys and gate names."""

# Prevalence describes the data, not the model, so it has no direction and is absent here.
HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "sensitivity": True,
    "recall": True,
    "specificity": True,
    "precision": True,
    "npv": True,
    "f1_score": True,
    "fdr": False,
    "for": False,
    "fpr": False,
    "fnr": False,
    "lr_plus": True,
    "lr_minus": False,
    "dor": True,
    "auroc": True,
}
"""Whether a larger value of a metric is an improvement (for gates and regressions)."""

SKEW_STATISTICS: tuple[str, ...] = (
    "psi",
    "ks",
    "wasserstein",
    "js",
    "linf",
    "null_rate",
    "out_of_range",
    "prediction_mismatch",
    "score_diff",
)
"""Skew statistics that take thresholds (``skew.thresholds`` in mlprod.yaml); see docs/skew.md."""
