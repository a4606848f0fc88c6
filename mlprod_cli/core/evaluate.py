"""``mlprod evaluate``: the per-class report, side by side, per slice, behind the gates.

Two sources:

* a registered version (default: the newest model) scored on the project's
  test split, with the active baseline and the active model beside it;
* any predictions file (``--predictions``): a label column, a prediction
  column and optionally one score column per class, from any model in any
  language. Inside a project its gates apply and the run is stored too.

Every run is stored in the metrics store (unless ``--no-store``), in one
transaction, so ``metrics history`` shows trends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.core import dataset
from mlprod_cli.core.config import Config
from mlprod_cli.core.evaluation import (
    Evaluated,
    EvaluationResult,
    Scored,
    custom_metrics,
    predict_with_scores,
    report_for,
    slice_reports,
)
from mlprod_cli.core.gates import check_gates
from mlprod_cli.errors import DataError, UsageError

Progress = Callable[[str], None]


@dataclass
class Outcome:
    """The result plus the per-sample arrays the HTML report draws curves from."""

    result: EvaluationResult
    curves: dict[str, tuple[Any, Any, list[str]]] = field(default_factory=dict)


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def evaluate_version(
    config: Config,
    *,
    version_id: str | None = None,
    slice_by: tuple[str, ...] = (),
    enforce_gates: bool = True,
    baseline_fallback: bool = True,
    progress: Progress | None = None,
) -> Outcome:
    """Score a version (default: the newest model) on the test split, with the actives beside it.

    The baseline compared with is the active one, else (``baseline_fallback``)
    the newest; ``models activate`` passes False, so a model is activated only
    against a baseline that is itself active.
    """
    import numpy as np

    from mlprod_cli.core.registry import RegistryError
    from mlprod_cli.core.train import registry_for

    step = progress or (lambda _text: None)
    registry = registry_for(config)
    if version_id is not None:
        version = registry.get(version_id)
    else:
        version = registry.latest("model")
        if version is None:
            raise RegistryError(
                f"no model in {config.registry.name}/ to evaluate", hint="run 'mlprod train' first"
            )
    step("loading the test split")
    train, test = dataset.load_training_data(config)
    parts = dataset.split(config, train, test)
    X, y = dataset.features_and_target(config, parts.test)
    y_true = np.asarray(y)
    labels = list(version.metadata.get("classes") or sorted(set(y_true.tolist())))
    unknown = sorted(set(y_true.tolist()) - set(labels))
    if unknown:
        raise DataError(
            f"test split: label {unknown[0]!r} is not among the model's classes: {', '.join(labels)}"
        )
    slices = _unique(config.metrics.slices + slice_by)
    missing = [c for c in slices if c not in parts.test.columns]
    if missing:
        raise DataError(
            f"slice column '{missing[0]}' is not in the data (columns: {', '.join(map(str, parts.test.columns))})"
        )
    custom = custom_metrics(config)
    source = test.files[0] if test else train.files[0]
    data = {
        "source": source["path"],
        "split": parts.info,
        "rows": len(y_true),
        "sha256": source["sha256"],
    }

    def score(v) -> tuple[Evaluated, Scored]:
        step(f"scoring {v.id} ({v.kind})")
        estimator = registry.load(v)
        Xc, _ = dataset.conform(X, v.metadata["schema"], source="test split")
        scored = predict_with_scores(estimator, Xc, labels)
        kind = v.kind if v.id == version.id else ("active" if v.kind == "model" else "baseline")
        name = f"{'active ' if kind == 'active' else v.kind + ' '}{v.id}"
        report = report_for(y_true, scored, custom)
        return Evaluated(
            name, v.id, kind, report, slice_reports(parts.test, y_true, scored, slices, custom)
        ), scored

    primary, primary_scores = score(version)
    outcome = Outcome(EvaluationResult(config.project, data, primary, gates_enforced=enforce_gates))
    outcome.curves[primary.name] = (y_true, primary_scores.scores, labels)
    baseline_version = registry.active("baseline") or (
        registry.latest("baseline") if baseline_fallback else None
    )
    active_version = registry.active("model")
    for other in (baseline_version, active_version):
        if other is None or other.id == version.id:
            continue
        evaluated, scored = score(other)
        outcome.result.comparisons.append(evaluated)
        outcome.curves[evaluated.name] = (y_true, scored.scores, labels)
    if version.kind == "model":
        baseline = next((c for c in outcome.result.comparisons if c.kind == "baseline"), None)
        active = next((c for c in outcome.result.comparisons if c.kind == "active"), None)
        outcome.result.gates = check_gates(
            config,
            primary.report,
            baseline=baseline.report if baseline else None,
            baseline_name=baseline.name if baseline else "baseline",
            active=active.report if active else None,
            active_name=active.name if active else "active model",
            slices=primary.slices,
        )
    return outcome


# --------------------------------------------------------------------------- predictions files


@dataclass(frozen=True)
class PredictionsSpec:
    path: Path
    label_col: str
    pred_col: str
    score_cols: tuple[str, ...] = ()
    labels_path: Path | None = None
    classes: tuple[str, ...] = ()


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
            f"{spec.labels_path}: has {len(truth_frame)} rows but {spec.path} has {len(frame)}; they must align row by row"
        )
    truth_path = spec.labels_path or spec.path
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
        labels = sorted(set(y_true.tolist()))
    if spec.score_cols and len(spec.score_cols) != len(labels):
        raise UsageError(
            f"--score-cols: {len(spec.score_cols)} columns for {len(labels)} classes ({', '.join(labels)})"
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
    from mlprod_cli.core.registry import sha256_file

    slices = _unique((config.metrics.slices if config else ()) + slice_by)
    slice_frame = frame
    for column in slices:
        if column not in frame.columns and column in truth_frame.columns:
            slice_frame = slice_frame.assign(**{column: truth_frame[column].to_numpy()})
    missing = [c for c in slices if c not in slice_frame.columns]
    if missing and slice_by and missing[0] in slice_by:
        raise DataError(f"{spec.path}: slice column '{missing[0]}' is not in the file (--slice-by)")
    slices = tuple(c for c in slices if c in slice_frame.columns)
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
    if config is not None:
        # Comparisons need the registry; a predictions file stands alone, so those gates are not checked.
        result.gates = [
            g
            for g in check_gates(config, report, slices=primary.slices)
            if g.kind != "beat_baseline"
        ]
    return Outcome(result, {primary.name: (y_true, scores, labels)})


# --------------------------------------------------------------------------- storing


def metric_rows(result: EvaluationResult) -> list[Any]:
    """Every number of the primary report (whole data and slices) as store rows."""
    from mlprod_cli.adapters.store import MetricRow

    rows = []
    seen: set[tuple] = set()

    def keep(row: Any) -> None:
        # A class named "macro", or a custom metric named like a built-in one, would
        # repeat a key; the first (the per-class or built-in value) is the one stored.
        key = (row.metric, row.cls, row.slice)
        if key not in seen:
            seen.add(key)
            rows.append(row)

    def add(report: Any, slice_name: str | None) -> None:
        keep(MetricRow("accuracy", report.accuracy.value, None, slice_name))
        for cls in report.classes:
            for name, value in cls.metrics.items():
                keep(MetricRow(name, value.value, cls.label, slice_name))
        for average, values in report.averages.items():
            for name, value in values.items():
                keep(MetricRow(name, value.value, average, slice_name))
        for name, value in report.custom.items():
            keep(MetricRow(name, value.value, None, slice_name))

    add(result.primary.report, None)
    for column, groups in result.primary.slices.items():
        for value, report in groups.items():
            add(report, f"{column}={value}")
    return rows


def open_result_store(config: Config) -> Any:
    """The project's metrics store, opened and checked before anything is evaluated."""
    from mlprod_cli.adapters.store import open_store

    store = open_store(config.store, root=config.root)
    try:
        store.check_writable()
    except BaseException:
        store.close()
        raise
    return store


def store_result(result: EvaluationResult, store: Any) -> None:
    """Write the run in one transaction; fills ``run_id`` and ``created_at``."""
    from mlprod_cli.adapters.store import Run, new_run_id

    run_id = new_run_id()
    created = dt.datetime.now(dt.timezone.utc)
    run = Run(
        run_id=run_id,
        created_at=created,
        project=result.project or "predictions",
        model_version=result.primary.version,
        model_kind=result.primary.kind,
        data_hash=result.data.get("sha256"),
        source=str(result.data.get("source")),
        gates_passed=result.passed if result.gates else None,
        rows=tuple(metric_rows(result)),
    )
    store.add_run(run)
    result.run_id = run_id
    result.created_at = created.isoformat(timespec="seconds")
    result.stored = True
