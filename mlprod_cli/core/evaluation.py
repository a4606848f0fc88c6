"""Scoring a registered version on the test split: reports per class and per slice, and gates.

``activate`` uses this to refuse a version whose gates fail; ``evaluate``
builds its full report on the same functions, so both always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core.config import Config
from mlprod_cli.core.gates import GateResult, check_gates


@dataclass
class Scored:
    """One estimator's predictions on a frame, aligned with ``labels``."""

    labels: list[str]
    y_pred: Any
    scores: Any | None


def predict_with_scores(estimator: Any, X: Any, labels: list[str] | None = None) -> Scored:
    """Predicted labels as text, and scores reordered to ``labels``."""
    from mlprod_cli.core.inference import predict_batch

    labels = labels or [str(c) for c in getattr(estimator, "classes_", [])]
    y_pred, scores = predict_batch(estimator, X, labels)
    return Scored(labels, y_pred, scores)


def value_from_dict(report: dict[str, Any], ref: Any) -> float | None:
    """``ref`` (a MetricRef) looked up in a report stored as ``metrics.to_dict`` made it."""
    if ref.metric == "accuracy" and ref.cls is None:
        return report.get("accuracy")
    if ref.cls is None:
        found = report.get("custom", {}).get("metrics", {}).get(ref.metric)
        if found is not None:
            return found
        return report.get("averages", {}).get("macro", {}).get("metrics", {}).get(ref.metric)
    for entry in report.get("classes", []):
        if entry.get("label") == ref.cls:
            return entry.get("metrics", {}).get(ref.metric)
    return None


def custom_metrics(config: Config) -> dict[str, Any]:
    """The project's ``CUSTOM_METRICS`` from ``metrics.module`` (empty when it has none)."""
    if config.metrics.module is None:
        return {}
    from mlprod_cli.core.dataset import import_object

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
class VersionEvaluation:
    version: str
    report: Any
    slices: dict[str, dict[str, Any]] = field(default_factory=dict)
    gates: list[GateResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)


def evaluate_on_test(
    config: Config, registry: Any, version: Any, *, with_gates: bool = True
) -> VersionEvaluation:
    """Load ``version``, score it on the test split, and check every gate against the actives."""
    import numpy as np

    from mlprod_cli.core import dataset

    train, test = dataset.load_training_data(config)
    parts = dataset.split(config, train, test)
    X, y = dataset.features_and_target(config, parts.test)
    labels = version.metadata.get("classes") or sorted(y.unique().tolist())
    y_true = np.asarray(y)
    custom = custom_metrics(config)
    estimator = registry.load(version)
    Xc, _ = dataset.conform(X, version.metadata["schema"], source="test split")
    scored = predict_with_scores(estimator, Xc, labels)
    report = report_for(y_true, scored, custom)
    slices = slice_reports(parts.test, y_true, scored, config.metrics.slices, custom)
    result = VersionEvaluation(version.id, report, slices)
    if not with_gates or version.kind != "model":
        return result
    others: dict[str, Any] = {}
    for kind in ("baseline", "model"):
        other = registry.active(kind)
        if other is None or other.id == version.id:
            continue
        est = registry.load(other)
        Xo, _ = dataset.conform(X, other.metadata["schema"], source="test split")
        others[kind] = (other.id, report_for(y_true, predict_with_scores(est, Xo, labels), custom))
    baseline = others.get("baseline")
    active = others.get("model")
    result.gates = check_gates(
        config,
        report,
        baseline=baseline[1] if baseline else None,
        baseline_name=f"baseline {baseline[0]}" if baseline else "baseline",
        active=active[1] if active else None,
        active_name=f"active {active[0]}" if active else "active model",
        slices=slices,
    )
    return result


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
