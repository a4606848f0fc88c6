"""``mlprod train``: fit the baseline and the model, and register both as versions.

Each version records what it takes to trust and reproduce it: the data files'
sha256 and row counts, the split, the training schema, the parameters, the
library versions, the lock file's hash, the git commit (and whether the tree
was dirty), the fit time, and validation metrics. Validation metrics come
from cross-validated predictions on the training split, so training never
looks at the test split; ``evaluate`` is where the test split is used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import platform
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mlprod_cli import __version__
from mlprod_cli.core import dataset
from mlprod_cli.core.config import Config
from mlprod_cli.core.registry import Version
from mlprod_cli.core.words import plural
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import CheckFailed, DataError, MlprodError, UsageError

Progress = Callable[[str], None]


@dataclass
class TrainResult:
    versions: list[Version] = field(default_factory=list)
    activated: list[str] = field(default_factory=list)
    split: dict[str, Any] = field(default_factory=dict)
    data: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # With register=False (``train --dry-run``): what would have been registered, by kind.
    unregistered: dict[str, dict[str, Any]] = field(default_factory=dict)
    test_counts: dict[str, int] = field(default_factory=dict)  # rows per class, test split


def library_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version(), "mlprod": __version__}
    for name in ("scikit-learn", "numpy", "pandas", "scipy", "skops", "pyarrow"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_state(root) -> dict[str, Any]:
    import shutil
    import subprocess

    if shutil.which("git") is None:
        return {"commit": None, "dirty": None}
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def lock_hash(config: Config) -> str | None:
    from mlprod_cli.adapters.files import sha256_file
    from mlprod_cli.adapters.lockfile import LOCK_NAME

    lock = config.root / LOCK_NAME
    return sha256_file(lock) if lock.is_file() else None


def describe_params(estimator: Any) -> dict[str, str]:
    """Every leaf parameter, deep, as stable text (for ``models show`` and ``models diff``).

    Nested estimators and step lists are left out (their own parameters are
    listed under ``step__param``), and memory addresses are dropped from
    reprs so that two identical models have identical parameters.
    """
    import re

    try:
        params = estimator.get_params(deep=True)
    except Exception:
        return {}
    out = {}
    for key, value in sorted(params.items()):
        if hasattr(value, "get_params") or key.rsplit("__", 1)[-1] in (
            "steps",
            "transformers",
            "transformer_list",
        ):
            continue
        out[key] = re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))
    return out


def _description(estimator: Any) -> str | None:
    """The estimator's own account of itself in words (a rule baseline's rules), if it has one.

    A pipeline is asked through its last step. ``models show`` prints it.
    """
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    describe = getattr(final, "describe", None)
    if not callable(describe):
        return None
    try:
        text = describe()
    except Exception:  # the project's code: a broken describe() must not stop training
        return None
    return text if isinstance(text, str) and text.strip() else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


@contextlib.contextmanager
def _project_code(config: Config, kind: str, doing: str) -> Iterator[None]:
    """Turn a failure of the project's estimator into one DataError naming what failed.

    The estimator is the project's code: whatever it raises (scikit-learn's
    ValueError on bad data, the project's own RuntimeError) is the project's
    problem to fix, not a bug in mlprod.
    """
    try:
        yield
    except MlprodError:
        raise
    except Exception as exc:
        factory = config.model if kind == "model" else config.baseline
        raise DataError(
            f"{doing} ({factory}) failed: {type(exc).__name__}: {_first_line(exc)}"
        ) from None


def _fold(estimator: Any, X: Any, y: Any, train_idx: Any, test_idx: Any, labels: list[str]):
    from sklearn.base import clone

    from mlprod_cli.core.predict import predict_batch

    model = clone(estimator).fit(X.iloc[train_idx], y.iloc[train_idx])
    return test_idx, *predict_batch(model, X.iloc[test_idx], labels)


def validation_metrics(
    estimator: Any,
    X: Any,
    y: Any,
    labels: list[str],
    cv: int,
    custom: dict,
    order: Any = None,
) -> dict[str, Any]:
    """Cross-validated metrics on the training split (``cv`` folds; 0 or 1 skips).

    The folds are fitted here rather than with ``cross_val_predict``, which
    re-encodes the labels as integers for ``predict_proba``: a project's
    estimator must see the labels it was written for.

    With ``order`` (the dates of a split by time) the folds are in time, as
    the test split is: each trains on the rows before it and is scored on the
    next block (scikit-learn's ``TimeSeriesSplit``), so drift over time shows
    in the figures instead of being shuffled away; the first block is never
    scored. Otherwise they are stratified and shuffled.
    """
    import numpy as np
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit

    from mlprod_cli.core.evaluate import Scored, report_for
    from mlprod_cli.core.metrics import to_dict

    if order is None and not labels:  # regression: plain folds, no classes to stratify by
        folds = min(cv, len(y))
        if folds < 2:
            return {"skipped": "cross-validation needs 2 folds (cv is off)"}
        from sklearn.model_selection import KFold

        splits = list(KFold(n_splits=folds, shuffle=True, random_state=0).split(X))
        scheme = "shuffled"
    elif order is None:
        smallest = int(y.value_counts().min())
        folds = min(cv, smallest)
        if folds < 2:
            why = "cv is off" if cv < 2 else f"the rarest class has {plural(smallest, 'row')}"
            return {"skipped": f"cross-validation needs 2 folds ({why})"}
        splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(X, y))
        scheme = "stratified"
    else:
        if cv < 2:
            return {"skipped": "cross-validation needs 2 folds (cv is off)"}
        ranked = np.argsort(np.asarray(order), kind="stable")
        y_values = np.asarray(y)
        splits = [
            (ranked[tr], ranked[te])
            for tr, te in TimeSeriesSplit(n_splits=min(cv, len(X) - 1)).split(ranked)
            # a fold must see two classes (or, for regression, two values)
            if len(set(y_values[ranked[tr]].tolist())) >= 2
        ]
        if not splits:
            return {"skipped": "no fold in time has two classes to train on"}
        folds, scheme = len(splits), "time"
    # Worker processes cost seconds to start: worth it only for larger data.
    jobs = 2 if len(X) >= 50_000 else 1
    parts = Parallel(n_jobs=jobs)(
        delayed(_fold)(estimator, X, y, tr, te, labels) for tr, te in splits
    )
    y_pred = np.empty(len(X), dtype=object if labels else float)
    scores = np.zeros((len(X), len(labels))) if parts[0][2] is not None else None
    scored = np.zeros(len(X), dtype=bool)
    for idx, pred, score in parts:
        y_pred[idx] = pred
        scored[idx] = True
        if scores is not None:
            scores[idx] = score
    y_true = np.asarray(y)[scored]
    scored_scores = None if scores is None else scores[scored]
    predicted = y_pred[scored].astype(str) if labels else y_pred[scored]
    report = report_for(y_true, Scored(labels, predicted, scored_scores), custom)
    return {
        "folds": folds,
        "scheme": scheme,
        "rows": int(scored.sum()),
        "report": to_dict(report),
    }


def _rules_snapshot(config: Config, labels: list[str], schema: dict) -> tuple[Any, Any]:
    """The rules every new version keeps a copy of: ``(metadata entry, {file: bytes})``.

    The file is validated against the classes and fields of the data being
    trained on, so a rule naming a class the data does not have stops train
    before it fits anything.
    """
    if config.rules is None:
        return None, None
    from mlprod_cli.core.rules import (
        SNAPSHOT_NAME,
        fields_of,
        parse_rules,
        read_rules_bytes,
        sha256_bytes,
    )

    data = read_rules_bytes(config.rules)
    fields = fields_of(schema, tuple(config.data.exclude))
    ruleset = parse_rules(config.rules, labels=labels, fields=fields, data=data)
    entry = {
        "sha256": sha256_bytes(data),
        "file": config.rules.relative_to(config.root).as_posix(),
        "ids": ruleset.ids,
        "policy": ruleset.policy,
        "fallback": ruleset.fallback,
    }
    return entry, {SNAPSHOT_NAME: data}


def train(
    workspace: Workspace,
    *,
    data_path=None,
    kinds: tuple[str, ...] = ("baseline", "model"),
    activate: bool = False,
    force: bool = False,
    cv: int = 5,
    progress: Progress | None = None,
    estimators: dict[str, Any] | None = None,
    extra_metadata: dict[str, dict[str, Any]] | None = None,
    register: bool = True,
    fits: dict[str, Callable[[Any, Any, Any], Any]] | None = None,
) -> TrainResult:
    """Fit and register ``kinds``; with ``activate``, make them active (gates first, unless ``force``).

    ``fits[kind](estimator, X, y)`` fits that kind instead of ``estimator.fit(X, y)``
    (``distill`` fits a student on its teacher's outputs).

    ``register=False`` fits and cross-validates and registers nothing: the
    metadata each version would have had is in ``result.unregistered``.
    """
    if activate and not register:
        raise UsageError("--activate and --dry-run exclude each other")
    from mlprod_cli.core.code import build_estimator
    from mlprod_cli.core.evaluate import custom_metrics

    config = workspace.config

    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    if "baseline" in kinds and config.baseline is None:
        kinds = tuple(k for k in kinds if k != "baseline")
    step("loading data")
    train_data, test_data = dataset.load_training_data(config, data_path)
    source = train_data.files[0]["path"]
    if (
        config.task == "regression"
    ):  # every row's target, before the split hides one in the test part
        dataset.numeric_target(train_data.frame, config.data.target, source)
        if test_data is not None:
            dataset.numeric_target(test_data.frame, config.data.target, test_data.files[0]["path"])
    parts = dataset.split(config, train_data, test_data)
    X, y = dataset.features_and_target(config, parts.train, source)
    dataset.check_feature_types(X, source)
    labels = dataset.check_training_target(config, y, source)
    config.check_classes(labels)  # a misspelled class in an objective or gate: before fitting
    schema = dataset.infer_schema(X)
    rules_entry, rules_files = _rules_snapshot(config, labels, schema)  # bad rules: before fitting
    custom = custom_metrics(config)
    order = dataset.time_order(config, parts.train)
    files = train_data.files + (test_data.files if test_data else [])
    common = {
        "project": config.project,
        "task": config.task,
        "target": config.data.target,
        "positive_class": config.data.positive_class,
        "classes": labels,
        "data": files,
        "split": parts.info,
        "schema": schema,
        "git": git_state(config.root),
        "lock_sha256": lock_hash(config),
        "libraries": library_versions(),
    }
    if rules_entry is not None:
        common["rules"] = rules_entry
    registry = workspace.registry
    result = TrainResult(split=parts.info, data=files)
    if config.task != "regression":
        y_test = parts.test[config.data.target].astype(str)
        counts = y_test.value_counts().sort_index()
        result.test_counts = {str(k): int(v) for k, v in counts.items()}
    # Every factory is called before anything is fitted, and versions are registered
    # only once every kind is fitted: a model that cannot be built or fitted leaves
    # no baseline version behind.
    built = {kind: (estimators or {}).get(kind) or build_estimator(config, kind) for kind in kinds}
    fitted = []
    for kind, estimator in built.items():
        step(f"fitting the {kind} on {plural(len(X), 'row')}")
        started = time.perf_counter()
        fit = (fits or {}).get(kind)
        with _project_code(config, kind, f"{source}: fitting the {kind}"):
            fit(estimator, X, y) if fit is not None else estimator.fit(X, y)
        fit_seconds = time.perf_counter() - started
        how = "in time" if order is not None else "cross-validation"
        step(f"validating the {kind} ({cv} folds {how} on the training split)")
        with _project_code(config, kind, f"{source}: validating the {kind}"):
            validation = validation_metrics(estimator, X, y, labels, cv, custom, order)
        metadata = dict(
            common,
            kind=kind,
            created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            estimator=f"{type(estimator).__module__}.{type(estimator).__qualname__}",
            params=describe_params(estimator),
            fit_seconds=round(fit_seconds, 4),
            validation=validation,
            **((extra_metadata or {}).get(kind, {})),
        )
        description = _description(estimator)
        if description:
            metadata["description"] = description
        fitted.append((kind, estimator, metadata))
    if not register:
        result.unregistered = {kind: metadata for kind, _, metadata in fitted}
        return result
    if activate:
        registry.check_active()  # an unreadable active.json refuses before anything is written
    try:
        for kind, estimator, metadata in fitted:
            step(f"registering the {kind}")
            try:
                result.versions.append(registry.add(estimator, metadata, rules_files))
            except (TypeError, ValueError, OSError) as exc:  # skops cannot store it, a full disk
                raise DataError(
                    f"registering the {kind} failed: {type(exc).__name__}: {_first_line(exc)}"
                ) from None
        if activate:
            _activate_new(workspace, result, force, step)
    except CheckFailed:
        raise  # gates failed: the versions stay registered, none is active (the message says so)
    except BaseException:
        for version in result.versions:  # none of them is active: remove them whole
            shutil.rmtree(version.path, ignore_errors=True)
        raise
    return result


def _activate_new(workspace: Workspace, result: TrainResult, force: bool, step: Any) -> None:
    """Activate the new versions together, or none of them, having checked all first.

    The model's gates compare with the new baseline (the one it is activated
    with). Gates that fail without ``force`` leave every new version registered
    and inactive; any other refusal raises before ``active.json`` is written, and
    the one write makes them all active at once.
    """
    from mlprod_cli.core.models import check_activation

    registry = workspace.registry
    versions = sorted(result.versions, key=lambda v: v.kind != "baseline")
    baseline = next((v for v in versions if v.kind == "baseline"), None)
    checked = []
    for version in versions:
        step(f"checking {version.id} ({version.kind}) for activation")
        try:
            checked.append(check_activation(workspace, version, force=force, baseline=baseline))
        except CheckFailed as exc:
            ids = " and ".join(v.id for v in versions)
            raise CheckFailed(
                f"{exc.message}; {ids} registered, none activated", hint=exc.hint
            ) from None
    step(f"activating {' and '.join(v.id for v in versions)}")
    registry.activate_all(versions)
    for version, outcome in zip(versions, checked, strict=True):
        result.activated.append(version.id)
        result.warnings += outcome.warnings
