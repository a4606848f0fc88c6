"""``mlprod evaluate``: the per-class report, side by side, per slice, behind the gates.

Two sources: a registered version scored on the project's test split
(:func:`evaluate_version`, which ``models activate`` calls too, so the gates
that refuse an activation are exactly ``evaluate``'s), or any predictions file
(:func:`evaluate_predictions`). Every run can be stored in the metrics store in
one transaction (:func:`store_result`), so ``metrics history`` shows trends.
"""

from __future__ import annotations

from mlprod_cli.core.evaluate._gates import (
    GateResult,
    check_gates,
    compare_gate,
    slice_gap_gate,
    threshold_gate,
    unchecked,
)
from mlprod_cli.core.evaluate._labels import LabelCheck, check_labels, label_issue_gate
from mlprod_cli.core.evaluate._predictions import (
    PredictionsSpec,
    evaluate_predictions,
    sort_classes,
)
from mlprod_cli.core.evaluate._rules import RulesEvaluation, RuleStats, evaluate_rules
from mlprod_cli.core.evaluate._scoring import (
    Evaluated,
    EvaluationResult,
    Scored,
    custom_metrics,
    metric_lessons,
    predict_with_scores,
    report_for,
    slice_reports,
    value_from_dict,
)
from mlprod_cli.core.evaluate._store import metric_rows, store_result
from mlprod_cli.core.evaluate._version import (
    Outcome,
    evaluate_version,
    gate_baseline,
    gate_slice_columns,
    readable_active,
    select_version,
)

__all__ = [
    "Evaluated",
    "EvaluationResult",
    "GateResult",
    "LabelCheck",
    "Outcome",
    "PredictionsSpec",
    "RuleStats",
    "RulesEvaluation",
    "Scored",
    "check_gates",
    "check_labels",
    "compare_gate",
    "custom_metrics",
    "evaluate_predictions",
    "evaluate_rules",
    "evaluate_version",
    "gate_baseline",
    "gate_slice_columns",
    "label_issue_gate",
    "metric_lessons",
    "metric_rows",
    "predict_with_scores",
    "readable_active",
    "report_for",
    "select_version",
    "slice_gap_gate",
    "slice_reports",
    "sort_classes",
    "store_result",
    "threshold_gate",
    "unchecked",
    "value_from_dict",
]
