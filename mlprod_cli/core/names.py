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

REGRESSION_METRIC_NAMES: tuple[str, ...] = (
    "mae",
    "rmse",
    "r2",
    "median_ae",
    "max_error",
    "d2_absolute_error",
    "mape",
    "wape",
    "pinball_10",
    "pinball_90",
    "coverage_80",
)
"""Regression metric keys, in report order (``task: regression``); docs/metrics.md defines them.

``mape`` is defined only when every true value is positive (else ``wape`` is the
percentage error to read); ``pinball_10``, ``pinball_90`` (pinball loss at the
0.1 and 0.9 quantiles) and ``coverage_80`` (the share of true values inside the
[q0.1, q0.9] interval) only for a model that gives quantiles.
"""

REGRESSION_HIGHER_IS_BETTER: dict[str, bool] = {
    "mae": False,
    "rmse": False,
    "r2": True,
    "median_ae": False,
    "max_error": False,
    "d2_absolute_error": True,
    "mape": False,
    "wape": False,
    "pinball_10": False,
    "pinball_90": False,
}
"""Coverage has no direction (0.8 is the aim, not 1), so it is absent, like prevalence."""


def higher_is_better(metric: str) -> bool:
    """Whether a larger ``metric`` is an improvement, for either task (custom metrics: yes)."""
    return REGRESSION_HIGHER_IS_BETTER.get(metric, HIGHER_IS_BETTER.get(metric, True))


TASKS: tuple[str, ...] = ("classification", "regression")
"""What a project predicts: a class (``classification``) or a number (``regression``)."""

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
