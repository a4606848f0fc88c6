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

    labels: list[str]
    y_pred: Any
    scores: Any | None


def predict_with_scores(estimator: Any, X: Any, labels: list[str] | None = None) -> Scored:
    """Predicted labels as text, and scores reordered to ``labels``."""
    from mlprod_cli.core.predict import predict_batch

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

    if ref.metric == "accuracy" and ref.cls is None:
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
    from mlprod_cli.core.metrics import classification_report

    y_pred, scores = scored.y_pred, scored.scores
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

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)
