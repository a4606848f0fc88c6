"""A lighter student trained on a teacher's outputs, beside the same student trained on labels.

Soft labels without a custom estimator: each training row is repeated once per
class, labelled with that class and weighted by the teacher's probability of it,
so a student fitted by log-loss (logistic regression, gradient boosting, an
MLP) or by entropy (a tree) minimises its cross-entropy against the teacher's
probabilities exactly, and stays a plain scikit-learn pipeline the registry,
``serve`` and ``package`` take as any. For a regression the student is fitted
on the teacher's values. The *control* is the same student fitted directly on
the labels: on tabular data it often does as well, and then distillation has
not earned its place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.core.distill._measure import Budget, Cost, measure
from mlprod_cli.core.registry import Version
from mlprod_cli.core.words import plural
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import DataError, UsageError

STUDENTS = ("tree", "linear", "boosting", "mlp")
# The one knob of each student kind: its default, and what --budget tries.
KNOBS: dict[str, tuple[str, Any, tuple[Any, ...]]] = {
    "tree": ("max_depth", 6, (3, 6, 10)),
    "linear": ("C", 1.0, (0.1, 1.0)),
    "boosting": ("max_iter", 100, (25, 100, 300)),
    "mlp": ("hidden", 32, (8, 32, 128)),
}
#: How much of the objective the distilled student may lose to its control.
TOLERANCE = 0.01
_MIN_WEIGHT = 1e-6  # soft labels below this are dropped (they weigh nothing)


@dataclass
class Scorecard:
    """One model of the comparison, measured on the test split."""

    role: str  # teacher, distilled, control
    name: str  # "teacher v0004", "tree max_depth=6"
    kind: str | None
    knob: dict[str, Any]
    cost: Cost
    objective: float | None
    gates_passed: int
    gates: int
    failed_gates: list[str]
    agreement: float | None  # with the teacher: same class (or R² against its values)
    slices: dict[str, dict[str, float | None]] = field(default_factory=dict)
    budget_misses: list[str] = field(default_factory=list)
    estimator: Any = None

    def figures(self) -> dict[str, Any]:
        """What was measured, as JSON (the report and the lineage's copy of it)."""
        return {
            "size_bytes": self.cost.size_bytes,
            "p50_ms": self.cost.p50_ms,
            "p99_ms": self.cost.p99_ms,
            "bulk_us_per_row": self.cost.bulk_us_per_row,
            "objective": self.objective,
            "gates_passed": self.gates_passed,
            "gates": self.gates,
            "failed_gates": self.failed_gates,
            "agreement_with_teacher": self.agreement,
        }


@dataclass
class DistillResult:
    teacher: Scorecard
    pairs: list[tuple[Scorecard, Scorecard]]  # (distilled, control) per student tried
    objective: str
    front: list[str] = field(default_factory=list)  # names on the Pareto front, in budget
    chosen: Scorecard | None = None
    registered: Version | None = None
    reason: str = ""
    budget: Budget | None = None
    tolerance: float = TOLERANCE
    training_rows: int = 0
    unlabelled_rows: int = 0
    unlabelled_files: list[dict[str, Any]] = field(default_factory=list)  # [{path, sha256, rows}]
    warnings: list[str] = field(default_factory=list)

    @property
    def versions(self) -> list[Version]:
        return [self.registered] if self.registered is not None else []

    @property
    def activated(self) -> list[str]:
        return []  # a student is activated behind its gates by 'models activate'


def distill(
    workspace: Workspace,
    teacher_id: str,
    *,
    students: tuple[str, ...] = (),
    unlabelled: tuple[Any, ...] = (),
    budget: Budget | None = None,
    register_anyway: bool = False,
    progress: Any = None,
) -> DistillResult:
    """Distil ``teacher_id`` into each student tried; register the best that earns it."""
    import numpy as np
    import pandas as pd

    from mlprod_cli.core import dataset
    from mlprod_cli.core.ensemble import check_model_of_project
    from mlprod_cli.core.names import higher_is_better
    from mlprod_cli.core.registry import check_version_id

    step = progress or (lambda _text: None)
    for kind in students:
        if kind not in STUDENTS:
            raise UsageError(f"--student: expected one of {', '.join(STUDENTS)}, got {kind!r}")
    students = tuple(dict.fromkeys(students)) or (STUDENTS if budget else ("tree",))
    config = workspace.config
    registry = workspace.registry
    try:
        checked_id = check_version_id(teacher_id)
    except UsageError:
        raise UsageError(f"--teacher {teacher_id!r}: expected a version id like v0003") from None
    twice = [
        str(p)
        for i, p in enumerate(unlabelled)
        if Path(p).resolve() in {Path(q).resolve() for q in unlabelled[:i]}
    ]
    if twice:
        raise UsageError(f"--unlabelled {twice[0]} is given twice: each file's rows count once")
    teacher_version = registry.get(checked_id)
    check_model_of_project(teacher_version, config, "the teacher must be a model version")
    regression = config.task == "regression"
    teacher = registry.load(teacher_version)
    if not regression and not hasattr(teacher, "predict_proba"):
        raise UsageError(
            f"{teacher_version.id} gives no class probabilities (predict_proba): nothing to distil"
        )
    schema = teacher_version.metadata["schema"]
    labels = [] if regression else [str(c) for c in teacher_version.metadata.get("classes", [])]
    objective = config.metrics.objective
    if objective is None:
        raise UsageError(f"{config.path.name}: metrics.objective is needed to compare the students")

    step("loading data")
    result_warnings: list[str] = []
    extra = [
        _unlabelled(config, path, schema, result_warnings) for path in unlabelled
    ]  # bad files: before any fit
    files = [dataset.describe_file(Path(path), len(rows), config.root) for path, rows in zip(unlabelled, extra, strict=True)]  # fmt: skip
    train_data, test_data = dataset.load_training_data(config)
    parts = dataset.split(config, train_data, test_data)
    X_train, y_train = dataset.features_and_target(config, parts.train, "training split")
    X_train, _ = dataset.conform(X_train, schema, source="training split")
    X_test, y_test = dataset.features_and_target(config, parts.test, "test split")
    X_test, _ = dataset.conform(X_test, schema, source="test split")
    y_train = y_train if regression else y_train.astype(str)
    y_true = np.asarray(y_test if regression else y_test.astype(str))
    pool = pd.concat([X_train, *extra], ignore_index=True) if extra else X_train

    step(f"scoring {plural(len(pool), 'row')} with the teacher {teacher_version.id}")
    soft = teacher.predict(pool) if regression else teacher.predict_proba(pool)
    if not regression:
        order = [list(map(str, teacher.classes_)).index(c) for c in labels]
        soft = np.asarray(soft)[:, order]
        given = [
            c for c, weight in zip(labels, soft.max(axis=0), strict=True) if weight >= _MIN_WEIGHT
        ]
        if len(given) < 2:
            raise UsageError(
                f"{teacher_version.id} gives probability to only one class "
                f"({', '.join(given) or 'none'}): nothing to distil"
            )
    step(f"measuring the teacher {teacher_version.id} (and the active versions, for the gates)")
    judge = _Judge(workspace, parts.test, y_true, labels, teacher, X_test)
    result = DistillResult(
        teacher=judge.card("teacher", f"teacher {teacher_version.id}", None, {}, teacher, teacher_version.metadata),
        pairs=[],
        objective=str(objective),
        budget=budget,
        training_rows=len(X_train),
        unlabelled_rows=len(pool) - len(X_train),
        unlabelled_files=files,
        warnings=result_warnings,
    )  # fmt: skip
    result.teacher.budget_misses = budget.misses(result.teacher.cost) if budget else []
    higher = higher_is_better(objective.metric)
    for kind in students:
        name, default, grid = KNOBS[kind]
        for value in grid if budget else (default,):
            knob = {name: value}
            label = f"{kind} {name}={value}"
            step(f"fitting the student {label} on the teacher's outputs and on the labels")
            student = _student(kind, value, schema, regression)
            with _converging(f"{label}, distilled", result.warnings):
                distilled = _fit_soft(_clone(student), pool, soft, labels)
            with _converging(f"{label}, control", result.warnings):
                control = _clone(student).fit(X_train, y_train)
            step(f"measuring {label}")
            pair = (
                judge.card("distilled", label, kind, knob, distilled, teacher_version.metadata),
                judge.card("control", label, kind, knob, control, teacher_version.metadata),
            )
            for card in pair:
                card.budget_misses = budget.misses(card.cost) if budget else []
            result.pairs.append(pair)
    _choose(result, higher)
    if result.chosen is not None and (result.reason == "" or register_anyway):
        result.registered = _register(workspace, result, teacher_version, pool, soft, labels, step)
    return result


def _choose(result: DistillResult, higher: bool) -> None:
    """The Pareto front of the distilled students within budget, and the one to register."""

    def better(a: float | None, b: float | None) -> bool:
        if a is None or b is None:
            return False
        return a > b if higher else a < b

    fits = [(d, c) for d, c in result.pairs if not d.budget_misses and d.objective is not None]
    front = []
    for d, c in fits:
        dominated = any(
            (o.objective == d.objective or better(o.objective, d.objective))
            and o.cost.size_bytes <= d.cost.size_bytes
            and o.cost.p99_ms <= d.cost.p99_ms
            and (better(o.objective, d.objective) or o.cost.size_bytes < d.cost.size_bytes or o.cost.p99_ms < d.cost.p99_ms)
            for o, _ in fits
            if o is not d
        )  # fmt: skip
        if not dominated:
            front.append((d, c))
    result.front = [d.name for d, _ in front]
    if not front:
        candidates = [d for d, _ in result.pairs]
        result.chosen = min(candidates, key=lambda d: len(d.budget_misses)) if candidates else None
        misses = "; ".join(
            f"{d.name}: {', '.join(d.budget_misses) or 'no objective'}" for d in candidates
        )
        result.reason = (
            f"no student meets the budget {result.budget.text if result.budget else ''} ({misses})"
        )
        return
    # the best objective; between equals, the smaller and then the faster
    chosen, control = max(
        front,
        key=lambda p: (p[0].objective if higher else -p[0].objective, -p[0].cost.size_bytes, -p[0].cost.p99_ms),
    )  # fmt: skip
    result.chosen = chosen
    loss = (
        (control.objective - chosen.objective) if higher else (chosen.objective - control.objective)
    )
    if control.objective is not None and loss > result.tolerance:
        result.reason = (
            f"the control (the same student on the labels) scores {control.objective:.4f} against "
            f"the distilled {chosen.objective:.4f} on {result.objective}: distillation loses "
            f"more than the tolerance {result.tolerance}"
        )


class _Judge:
    """Scores a model on the test split as evaluate does, beside the active baseline and model."""

    def __init__(self, workspace, test_frame, y_true, labels, teacher, X_test):
        from mlprod_cli.core.evaluate import (
            custom_metrics,
            gate_baseline,
            gate_slice_columns,
            predict_with_scores,
            readable_active,
            report_for,
        )

        config = workspace.config
        registry = workspace.registry
        self.config, self.labels, self.y_true, self.X = config, labels, y_true, X_test
        self.test_frame = test_frame
        self.custom = custom_metrics(config)
        self.slices = tuple(dict.fromkeys(config.metrics.slices + gate_slice_columns(config)))
        self.teacher_pred = predict_with_scores(teacher, X_test, labels).y_pred
        self.compare = {}
        baseline = gate_baseline(registry)
        active, _ = readable_active(registry, "model")
        for role, version in (("baseline", baseline), ("active", active)):
            if version is not None:
                from mlprod_cli.core import dataset

                Xc, _ = dataset.conform(X_test, version.metadata["schema"], source="test split")
                scored = predict_with_scores(registry.load(version), Xc, labels)
                self.compare[role] = (
                    f"{role} {version.id}",
                    report_for(y_true, scored, self.custom),
                )

    def card(self, role, name, kind, knob, estimator, metadata) -> Scorecard:
        import numpy as np

        from mlprod_cli.core.evaluate import (
            check_gates,
            predict_with_scores,
            report_for,
            slice_reports,
            value_from_dict,
        )
        from mlprod_cli.core.metrics import to_dict

        scored = predict_with_scores(estimator, self.X, self.labels)
        report = report_for(self.y_true, scored, self.custom)
        slices = slice_reports(self.test_frame, self.y_true, scored, self.slices, self.custom)
        baseline = self.compare.get("baseline")
        active = self.compare.get("active")
        gates = check_gates(
            self.config, report,
            baseline=baseline[1] if baseline else None, baseline_name=baseline[0] if baseline else "baseline",
            active=active[1] if active else None, active_name=active[0] if active else "active model",
            slices=slices,
        )  # fmt: skip
        objective = self.config.metrics.objective
        if self.labels:
            agreement = float(np.mean(np.asarray(scored.y_pred) == np.asarray(self.teacher_pred)))
        else:
            spread = float(np.var(self.teacher_pred)) or 1.0
            agreement = 1 - float(np.mean((scored.y_pred - self.teacher_pred) ** 2)) / spread
        return Scorecard(
            role=role, name=name, kind=kind, knob=knob,
            cost=measure(estimator, metadata, self.X),
            objective=value_from_dict(to_dict(report), objective),
            gates_passed=sum(g.passed for g in gates), gates=len(gates),
            failed_gates=[g.name for g in gates if not g.passed],
            agreement=agreement,
            slices={
                column: {value: value_from_dict(to_dict(r), objective) for value, r in groups.items()}
                for column, groups in slices.items()
            },
            estimator=estimator,
        )  # fmt: skip


def _unlabelled(config: Any, path: Any, schema: dict[str, Any], warnings: list[str]) -> Any:
    """An --unlabelled file's rows, checked as ``predict`` checks a file to score."""
    from mlprod_cli.core import dataset

    path = Path(path)
    dataset.check_regular(path, f"{path}: no such unlabelled file")
    dataset.check_feature_file(config, path, "unlabelled file")
    frame = dataset.read_table(path, what="unlabelled file")
    dataset.require_features(frame.columns, schema, str(path))
    rows, findings = dataset.conform(frame, schema, source=str(path))
    if rows.empty:
        raise DataError(f"{path}: no rows")
    warnings.extend(f"{path}: {text}" for text in findings.warnings())
    return rows


def _student(kind: str, value: Any, schema: dict[str, Any], regression: bool) -> Any:
    """An unfitted student: the schema's features (scaled numbers, one-hot categories), then ``kind``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [f["name"] for f in schema["features"] if f["kind"] == "numeric"]
    categorical = [f["name"] for f in schema["features"] if f["kind"] == "categorical"]
    features = ColumnTransformer(
        [
            ("numeric", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
            ("categorical", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
                                      ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical),
        ]
    )  # fmt: skip
    return Pipeline([("features", features), ("student", _final(kind, value, regression))])


def _final(kind: str, value: Any, regression: bool) -> Any:
    if kind == "tree":
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        if regression:
            return DecisionTreeRegressor(max_depth=value, min_samples_leaf=5, random_state=0)
        return DecisionTreeClassifier(
            max_depth=value, min_samples_leaf=5, criterion="log_loss", random_state=0
        )
    if kind == "linear":
        from sklearn.linear_model import LogisticRegression, Ridge

        return Ridge(alpha=1 / value) if regression else LogisticRegression(C=value, max_iter=2000)
    if kind == "boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        return cls(max_iter=value, early_stopping=False, random_state=0)
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPRegressor if regression else MLPClassifier
    return cls(hidden_layer_sizes=(value,), max_iter=500, early_stopping=False, random_state=0)


@contextmanager
def _converging(label: str, warnings_out: list[str]) -> Iterator[None]:
    """Turn scikit-learn's ConvergenceWarning into one line of the result's warnings."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category=ConvergenceWarning)
        yield
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        warnings_out.append(
            f"{label}: the solver stopped before converging; its scores are as measured"
        )
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _clone(estimator: Any) -> Any:
    from sklearn.base import clone

    return clone(estimator)


def _fit_soft(student: Any, X: Any, soft: Any, labels: list[str]) -> Any:
    """Fit ``student`` on the teacher's outputs (see the module): values, or weighted classes."""
    import numpy as np
    import pandas as pd

    if not labels:
        return student.fit(X, np.asarray(soft, dtype=float))
    soft = np.asarray(soft, dtype=float)
    rows, classes = np.nonzero(soft >= _MIN_WEIGHT)
    expanded = X.iloc[rows].reset_index(drop=True)
    y = pd.Series(np.asarray(labels, dtype=object)[classes])
    steps = getattr(student, "steps", None)  # a Pipeline routes the weights to its last step
    key = f"{steps[-1][0]}__sample_weight" if steps else "sample_weight"
    return student.fit(expanded, y, **{key: soft[rows, classes]})


def _register(workspace, result, teacher_version, pool, soft, labels, step) -> Version:
    from mlprod_cli.core.train import train

    chosen = result.chosen
    lineage = {
        "teacher": teacher_version.id,
        "teacher_artifact_sha256": teacher_version.metadata.get("artifact_sha256"),
        "student": chosen.kind,
        "knob": chosen.knob,
        "unlabelled_rows": result.unlabelled_rows,
        "unlabelled_files": result.unlabelled_files,
        "registered_anyway": bool(result.reason),
        "report": {
            "objective": result.objective,
            "teacher": result.teacher.figures(),
            "distilled": chosen.figures(),
            "control": next(c for d, c in result.pairs if d is chosen).figures(),
        },
    }

    def on_the_teacher(estimator: Any, X: Any, y: Any) -> None:
        # The training split train loads is the one distilled on (``pool`` starts with it);
        # the student's fit is seeded, so this is the student measured above.
        with _converging(chosen.name, []):  # reported when it was first fitted
            _fit_soft(estimator, pool, soft, labels)

    step(f"registering the student {chosen.name}")
    trained = train(
        workspace,
        kinds=("model",),
        cv=0,
        estimators={"model": _clone(chosen.estimator)},
        fits={"model": on_the_teacher},
        extra_metadata={"model": {"distilled": lineage}},
    )
    return trained.versions[0]
