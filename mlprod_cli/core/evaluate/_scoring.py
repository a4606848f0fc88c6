"""Scoring predictions into reports per class and per slice, and the evaluation result.

``evaluate_version`` builds on these; ``models activate`` calls
it too, so the gates that refuse an activation are exactly ``evaluate``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core.config import Config
from mlprod_cli.core.evaluate._gates import GateResult


@dataclass
class Scored:
    """One estimator's predictions on a frame, aligned with ``labels``."""

    labels: list[str]  # empty for a regressor: y_pred holds numbers
    y_pred: Any
    scores: Any | None
    quantiles: dict[float, Any] | None = (
        None  # a regressor's 0.1 and 0.9 quantiles, when it gives them
    )


def predict_with_scores(estimator: Any, X: Any, labels: list[str] | None = None) -> Scored:
    """Predicted labels as text, and scores reordered to ``labels``."""
    from mlprod_cli.core.predict import is_regressor, predict_batch, predict_quantiles

    if is_regressor(estimator):
        y_pred, _ = predict_batch(estimator, X, [])
        return Scored([], y_pred, None, predict_quantiles(estimator, X))
    labels = labels or [str(c) for c in getattr(estimator, "classes_", [])]
    y_pred, scores = predict_batch(estimator, X, labels)
    return Scored(labels, y_pred, scores)


def value_from_dict(report: dict[str, Any], ref: Any) -> float | None:
    """``ref`` (a MetricRef) looked up in a report stored as ``metrics.to_dict`` made it.

    The report comes from a version's metadata.json, which a person may have
    edited: anything not shaped as expected reads as no value.
    """

    def at(value: Any, *keys: str) -> Any:
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    if report.get("task") == "regression" if isinstance(report, dict) else False:
        found = at(report, "metrics", ref.metric)
        if found is None:
            found = at(report, "custom", "metrics", ref.metric)
    elif ref.metric == "accuracy" and ref.cls is None:
        found = at(report, "accuracy")
    elif ref.cls is None:
        found = at(report, "custom", "metrics", ref.metric)
        if found is None:
            found = at(report, "averages", "macro", "metrics", ref.metric)
    else:
        entries = at(report, "classes")
        found = next(
            (
                at(entry, "metrics", ref.metric)
                for entry in (entries if isinstance(entries, list) else [])
                if at(entry, "label") == ref.cls
            ),
            None,
        )
    is_number = isinstance(found, (int, float)) and not isinstance(found, bool)
    return found if is_number else None


def custom_metrics(config: Config) -> dict[str, Any]:
    """The project's ``CUSTOM_METRICS`` from ``metrics.module`` (empty when it has none)."""
    if config.metrics.module is None:
        return {}
    from mlprod_cli.core.code import import_object

    module = import_object(config, config.metrics.module, "metrics.module")
    found = getattr(module, "CUSTOM_METRICS", {}) or {}
    return dict(found) if isinstance(found, dict) else {}


def report_for(
    y_true: Any, scored: Scored, custom: dict[str, Any] | None = None, mask: Any = None
) -> Any:
    from mlprod_cli.core.metrics import classification_report, regression_report

    y_pred, scores = scored.y_pred, scored.scores
    if not scored.labels:  # a regressor's numbers
        quantiles = scored.quantiles
        if mask is not None:
            y_true, y_pred = y_true[mask], y_pred[mask]
            quantiles = {q: v[mask] for q, v in quantiles.items()} if quantiles else None
        return regression_report(y_true, y_pred, quantiles=quantiles, custom=custom)
    if mask is not None:
        y_true, y_pred = y_true[mask], y_pred[mask]
        scores = scores[mask] if scores is not None else None
    return classification_report(y_true, y_pred, labels=scored.labels, scores=scores, custom=custom)


def slice_reports(
    frame: Any, y_true: Any, scored: Scored, columns: tuple[str, ...], custom=None
) -> dict[str, dict[str, Any]]:
    """``{column: {value: report}}`` for every slice column present in ``frame``."""
    from mlprod_cli.errors import DataError

    out: dict[str, dict[str, Any]] = {}
    for column in columns:
        if column not in frame.columns:
            raise DataError(
                f"slice column '{column}' is not in the data (columns: {', '.join(map(str, frame.columns))})"
            )
        values = frame[column].astype(str).where(frame[column].notna(), "(missing)").to_numpy()
        out[column] = {
            value: report_for(y_true, scored, custom, values == value)
            for value in sorted(set(values.tolist()))
        }
    return out


@dataclass
class Evaluated:
    """One set of predictions evaluated: a registered version, or a predictions file."""

    name: str  # "model v0003", "baseline v0001", "active v0002", or the predictions file
    version: str | None
    kind: str  # "model", "baseline", "active", "predictions"
    report: Any  # metrics.Report
    slices: dict[str, dict[str, Any]] = field(default_factory=dict)  # {column: {value: Report}}


@dataclass
class EvaluationResult:
    """What ``mlprod evaluate`` found; every renderer (table, json, markdown, junit, html) takes this."""

    project: str | None
    data: dict[str, Any]  # {"source": ..., "rows": n, "sha256": ...}
    primary: Evaluated
    comparisons: list[Evaluated] = field(
        default_factory=list
    )  # baseline and active model, when there
    gates: list[GateResult] = field(default_factory=list)
    gates_enforced: bool = True
    run_id: str | None = None
    created_at: str | None = None
    stored: bool = False
    warnings: list[str] = field(default_factory=list)
    # How the evaluated version was chosen: "given" (--model), "active" (the default),
    # "newest" (no model is active); None for a predictions file.
    selected: str | None = None
    # The primary beside itself with the project's rules (core/evaluate/_rules.py's
    # RulesEvaluation); None when the project has no rules file or was not asked.
    rules: Any | None = None

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def status(self) -> str:
        """``fail`` (an enforced gate failed), ``warn`` (a warning, such as a class never
        predicted), or ``pass``: a report with warnings is not green."""
        if self.gates_enforced and not self.passed:
            return "fail"
        return "warn" if self.warnings else "pass"


MAJORITY_HAIR = 0.005
"""Accuracy this close to the majority class's share reads as "predicts only the majority"."""


def metric_lessons(report: Any) -> list[str]:
    """The first lesson of metrics, as warnings: what a good-looking number can hide.

    A class that is never predicted, a class whose recall is 0, and an accuracy
    within a hair of the majority class's share (on 10,000 benign moles and 100
    melanomas, predicting "benign" always is 99 % accurate and finds nothing).
    They hold whatever the gates say, with or without a project.
    """
    if getattr(report, "task", None) == "regression":
        return regression_lessons(report)
    out: list[str] = []
    n = report.n_samples
    for cls in report.classes:
        predicted = cls.tp + cls.fp
        if cls.support and predicted == 0:
            out.append(f"'{cls.label}' is never predicted ({cls.support} of its rows, none found)")
        elif cls.support and cls.tp == 0:
            out.append(f"recall of '{cls.label}' is 0: none of its {cls.support} rows is found")
    accuracy = report.accuracy.value
    if n and accuracy is not None and len(report.classes) > 1:
        majority = max(report.classes, key=lambda c: c.support)
        share = majority.support / n
        if abs(accuracy - share) <= MAJORITY_HAIR and share < 1:
            out.append(
                f"accuracy {accuracy:.3f} equals the share of '{majority.label}' ({share:.3f}): "
                "the model may be predicting only the majority class"
            )
    return out


NEAR_CONSTANT = 0.01
"""Predictions whose spread is under this share of the truth's spread read as a constant."""


def regression_lessons(report: Any) -> list[str]:
    """What a regression's good-looking number can hide: no skill, a constant, a bias.

    R² at or below 0 is no better than predicting the mean; D² at or below 0 no
    better than the median; predictions that barely vary are a constant in
    disguise; and a mean error that is a large share of the MAE is a bias.
    """
    out: list[str] = []
    r2 = report.value("r2").value
    d2 = report.value("d2_absolute_error").value
    if r2 is not None and r2 <= 0:
        out.append(f"R² is {r2:.3f}: the model does no better than predicting the mean")
    if d2 is not None and d2 <= 0:
        out.append(
            f"D² absolute error is {d2:.3f}: the model does no better than predicting the median"
        )
    if report.std_true > 0 and report.std_pred <= NEAR_CONSTANT * report.std_true:
        out.append("the predictions barely vary: the model may be predicting a constant")
    bias = report.mean_pred - report.mean_true
    mae = report.value("mae").value
    if mae and abs(bias) >= 0.5 * mae:
        side = "above" if bias > 0 else "below"
        out.append(
            f"the predictions are on average {abs(bias):.4g} {side} the truth "
            f"(half the MAE or more): a bias, not noise"
        )
    return out
