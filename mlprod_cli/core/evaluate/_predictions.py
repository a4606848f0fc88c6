"""Any predictions file evaluated: a label column, a prediction column, score columns.

From any model in any language. Inside a project its gates apply (there is no
baseline to compare with) and the run is stored like a model's. The classes are
those of scikit-learn's ``unique_labels``: every value seen as a label or as a
prediction, in value order (numbers numerically), unless ``--classes`` names them.
A configured slice column the file lacks leaves its gates listed as not passed,
with the reason, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlprod_cli.core import dataset
from mlprod_cli.core.config import Config
from mlprod_cli.core.evaluate._gates import check_gates
from mlprod_cli.core.evaluate._scoring import (
    Evaluated,
    EvaluationResult,
    Scored,
    custom_metrics,
    metric_lessons,
    report_for,
    slice_reports,
)
from mlprod_cli.core.evaluate._version import Outcome, gate_slice_columns, unique
from mlprod_cli.core.words import plural
from mlprod_cli.errors import DataError, UsageError


@dataclass(frozen=True)
class PredictionsSpec:
    path: Path
    label_col: str
    pred_col: str
    score_cols: tuple[str, ...] = ()
    labels_path: Path | None = None
    classes: tuple[str, ...] = ()
    task: str | None = None  # None: the project's, else detected from the columns


MAX_CLASS_NUMBERS = 20
"""Whole numbers with at most this many distinct values read as classes, not a regression."""


def detected_task(truth: Any) -> str:
    """``regression`` when the true values are numbers that are not a few whole classes.

    Decided on the truth alone: a prediction column holding text beside numeric
    truth is then the error it is (named, with its row), not a classification.
    """
    import numpy as np
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(truth) or pd.api.types.is_bool_dtype(truth):
        return "classification"
    values = truth.dropna().to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    whole = bool(np.all(np.mod(finite, 1) == 0))
    few = len(np.unique(finite)) <= MAX_CLASS_NUMBERS
    return "classification" if whole and few else "regression"


def _read_columns(path: Path, what: str) -> Any:
    return dataset.read_table(path, what=what)


def _column(frame: Any, name: str, path: Path, option: str) -> Any:
    if name not in frame.columns:
        raise DataError(
            f"{path}: {option} column '{name}' is missing (columns: {', '.join(map(str, frame.columns))})"
        )
    return frame[name]


def _as_text(column: Any, path: Path, name: str, *, allow_missing: bool = False) -> Any:
    import numpy as np

    missing = column.isna().to_numpy()
    if missing.any() and not allow_missing:
        raise DataError(
            f"{path}: column '{name}' has {int(missing.sum())} empty values (row {int(np.flatnonzero(missing)[0]) + 1} first)"
        )
    values = column.to_numpy()
    # Integer-valued floats read from CSV ("1.0") name the same class as "1"; only those
    # a float holds exactly (inf, or 2**63, would not survive the cast, with a RuntimeWarning).
    if (
        column.dtype.kind == "f"
        and not missing.any()
        and (np.isfinite(values) & (np.abs(values) < 2**53)).all()
        and np.all(np.mod(values, 1) == 0)
    ):
        values = values.astype(np.int64)
    return np.asarray(values).astype(str)


def sort_classes(classes: Any) -> list[str]:
    """Classes (as text) in value order: numerically when every one is a number (2, 10, 33)."""
    texts = [str(c) for c in classes]
    try:
        numbers = {t: float(t) for t in texts}
    except ValueError:
        return sorted(texts)
    if any(v != v for v in numbers.values()):  # "nan" is a name here, not a number
        return sorted(texts)
    return sorted(texts, key=lambda t: (numbers[t], t))


def evaluate_predictions(
    spec: PredictionsSpec,
    *,
    config: Config | None = None,
    slice_by: tuple[str, ...] = (),
    enforce_gates: bool = True,
) -> Outcome:
    """Evaluate a predictions file; inside a project, with its gates (no baseline comparison)."""
    import numpy as np

    frame = _read_columns(spec.path, "predictions file")
    truth_frame = (
        frame if spec.labels_path is None else _read_columns(spec.labels_path, "labels file")
    )
    if len(truth_frame) != len(frame):
        raise DataError(
            f"{spec.labels_path}: has {plural(len(truth_frame), 'row')} but {spec.path} has {len(frame):,}; they must align row by row"
        )
    truth_path = spec.labels_path or spec.path
    truth_column = _column(truth_frame, spec.label_col, truth_path, "--label-col")
    pred_column = _column(frame, spec.pred_col, spec.path, "--pred-col")
    task = spec.task or (config.task if config is not None else None)
    task = task or detected_task(truth_column)
    if task == "regression":
        return _regression(spec, frame, truth_frame, truth_column, pred_column, config,
                           slice_by, enforce_gates)  # fmt: skip
    y_true = _as_text(
        _column(truth_frame, spec.label_col, truth_path, "--label-col"), truth_path, spec.label_col
    )
    y_pred = _as_text(
        _column(frame, spec.pred_col, spec.path, "--pred-col"), spec.path, spec.pred_col
    )
    labels = list(spec.classes)
    if spec.score_cols and not labels:
        if all(c.startswith("score_") for c in spec.score_cols):
            labels = [c[len("score_") :] for c in spec.score_cols]
        else:
            raise UsageError(
                "--score-cols: name them score_<class>, or give --classes in the same order"
            )
    if not labels:
        # As scikit-learn's unique_labels: every class seen, as a label or as a prediction.
        labels = sort_classes(set(y_true.tolist()) | set(y_pred.tolist()))
    if config is not None:
        config.check_classes(labels)  # a misspelled class in the objective or a gate
    if spec.score_cols and len(spec.score_cols) != len(labels):
        raise UsageError(
            f"--score-cols: {plural(len(spec.score_cols), 'column')} for {plural(len(labels), 'class', 'classes')} ({', '.join(labels)})"
        )
    known = set(labels)
    for values, what in ((y_true, spec.label_col), (y_pred, spec.pred_col)):
        stray = sorted(set(values.tolist()) - known)
        if stray:
            hint = (
                "" if spec.classes else " (name every class with --classes, or give score columns)"
            )
            raise DataError(
                f"{spec.path}: {what} holds {stray[0]!r}, not among the known classes: {', '.join(labels)}{hint}"
            )
    scores = None
    if spec.score_cols:
        columns = []
        for name in spec.score_cols:
            column = _column(frame, name, spec.path, "--score-cols")
            if column.dtype.kind not in "fiu":
                raise DataError(f"{spec.path}: score column '{name}' is not numeric")
            values = column.to_numpy(dtype=float)
            if not np.isfinite(values).all():
                raise DataError(f"{spec.path}: score column '{name}' has empty or infinite values")
            columns.append(values)
        scores = np.column_stack(columns)
    from mlprod_cli.adapters.files import sha256_file

    slice_frame, slices, unavailable = _slice_frame(spec, frame, truth_frame, config, slice_by)
    custom = custom_metrics(config) if config else {}
    scored = Scored(labels, y_pred, scores)
    report = report_for(y_true, scored, custom)
    primary = Evaluated(
        spec.path.name,
        None,
        "predictions",
        report,
        slice_reports(slice_frame, y_true, scored, slices, custom),
    )
    data = {"source": str(spec.path), "rows": len(y_true), "sha256": sha256_file(spec.path)}
    result = EvaluationResult(
        config.project if config else None, data, primary, gates_enforced=enforce_gates
    )
    result.warnings += metric_lessons(report)
    if config is not None:
        # Comparisons need the registry; a predictions file stands alone, so those gates are not checked.
        result.gates = [
            g
            for g in check_gates(config, report, slices=primary.slices, unavailable=unavailable)
            if g.kind != "beat_baseline"
        ]
    return Outcome(result, {primary.name: (y_true, scores, labels)})


def _numbers(column: Any, path: Path, name: str, what: str) -> Any:
    """A regression column as float64: text, a missing or an infinite value is one error."""
    return dataset.numeric_target(column.to_frame(name), name, str(path), what).to_numpy()


def _slice_frame(spec, frame, truth_frame, config, slice_by):
    """The frame to slice (slice columns taken from the truth file when the predictions lack
    them), the slice columns present, and ``{column: why}`` for configured ones missing: a
    configured slice the file lacks cannot be gated, and its gates say so instead of vanishing."""
    configured = unique(config.metrics.slices + gate_slice_columns(config)) if config else ()
    slices = unique(configured + slice_by)
    slice_frame = frame
    for column in slices:
        if column not in frame.columns and column in truth_frame.columns:
            slice_frame = slice_frame.assign(**{column: truth_frame[column].to_numpy()})
    missing = [c for c in slices if c not in slice_frame.columns]
    asked = [c for c in missing if c in slice_by]
    if asked:
        raise DataError(f"{spec.path}: slice column '{asked[0]}' is not in the file (--slice-by)")
    unavailable = {c: f"predictions have no column '{c}'" for c in missing}
    return slice_frame, tuple(c for c in slices if c in slice_frame.columns), unavailable


def _regression(
    spec, frame, truth_frame, truth_column, pred_column, config, slice_by, enforce_gates
):
    """A predictions file of numbers: the regression report, its slices and gates."""
    from mlprod_cli.adapters.files import sha256_file

    if spec.score_cols or spec.classes:
        option = "--score-cols" if spec.score_cols else "--classes"
        raise UsageError(f"{option}: a regression has no classes or scores")
    truth_path = spec.labels_path or spec.path
    y_true = _numbers(truth_column, truth_path, spec.label_col, "--label-col")
    y_pred = _numbers(pred_column, spec.path, spec.pred_col, "--pred-col")
    slice_frame, slices, unavailable = _slice_frame(spec, frame, truth_frame, config, slice_by)
    custom = custom_metrics(config) if config else {}
    scored = Scored([], y_pred, None)
    report = report_for(y_true, scored, custom)
    primary = Evaluated(
        spec.path.name, None, "predictions", report,
        slice_reports(slice_frame, y_true, scored, slices, custom),
    )  # fmt: skip
    data = {"source": str(spec.path), "rows": len(y_true), "sha256": sha256_file(spec.path)}
    result = EvaluationResult(
        config.project if config else None, data, primary, gates_enforced=enforce_gates
    )
    result.warnings += metric_lessons(report)
    if config is not None:
        result.gates = [
            g
            for g in check_gates(config, report, slices=primary.slices, unavailable=unavailable)
            if g.kind != "beat_baseline"
        ]
    rows = {c: slice_frame[c].astype(str).to_numpy() for c in slices}
    return Outcome(result, {primary.name: (y_true, y_pred, [])}, rows)
