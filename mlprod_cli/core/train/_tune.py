"""``mlprod tune``: hyperparameter search scored by the project's objective.

The search (``tune:`` in ``mlprod.yaml``: a grid, or a random sample of it)
is cross-validated on the training split only — the test split is never
loaded into the search — and every (candidate, fold) fit runs in parallel on
all cores. Candidates are ranked by the objective metric (``recall@melanoma``,
say), not by accuracy. The best is refitted on the whole training split and
registered as a new model version whose metadata holds the whole search.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlprod_cli.core import dataset
from mlprod_cli.core.code import build_estimator
from mlprod_cli.core.config import Config, MetricRef
from mlprod_cli.core.registry import Version
from mlprod_cli.core.train._train import train
from mlprod_cli.core.words import plural
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import ConfigError, DataError, UsageError


@dataclass
class TuneResult:
    version: Version
    objective: str
    search: str
    candidates: list[dict[str, Any]]  # ranked, best first
    best_params: dict[str, Any]


def objective_of(config: Config) -> MetricRef:
    return config.metrics.objective or MetricRef("f1_score")


def _score_fold(
    estimator: Any,
    params: dict,
    X: Any,
    y: Any,
    train_idx: Any,
    test_idx: Any,
    labels: list[str],
    objective: MetricRef,
) -> float | str:
    """The objective on one fold, or why fitting or predicting failed (as text)."""
    import numpy as np
    from sklearn.base import clone

    from mlprod_cli.core.evaluate import predict_with_scores, report_for

    try:
        model = clone(estimator).set_params(**params)
        model.fit(X.iloc[train_idx], y.iloc[train_idx])
        scored = predict_with_scores(model, X.iloc[test_idx], labels)
    except Exception as exc:  # said as text: it crosses a process boundary
        text = str(exc).strip()
        return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
    report = report_for(np.asarray(y.iloc[test_idx]), scored)
    value = report.value(objective.metric, label=objective.cls)
    return float("nan") if value.value is None else float(value.value)


def candidates_for(config: Config, estimator: Any) -> list[dict[str, Any]]:
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    spec = config.tune
    if spec is None:
        raise ConfigError(
            f"{config.path.name}: no 'tune:' section (a grid of model parameters to search)"
        )
    known = estimator.get_params(deep=True)
    for name in spec.params:
        if name not in known:
            close = [k for k in known if k.endswith(name.rsplit("__", 1)[-1])][:5]
            raise config.error(
                f"tune.params.{name}",
                f"the model has no parameter {name!r}"
                + (f" (did you mean {', '.join(close)}?)" if close else ""),
            )
    grid = ParameterGrid(spec.params)
    if spec.search == "grid" or len(grid) <= spec.n_iter:
        return list(grid)
    return list(ParameterSampler(spec.params, n_iter=spec.n_iter, random_state=spec.seed))


def tune(
    workspace: Workspace, *, progress: Callable[[int, int], None] | None = None, n_jobs: int = -1
) -> TuneResult:
    """Search, rank, refit the best on the training split, and register it."""
    import numpy as np
    from joblib import Parallel, delayed
    from sklearn.model_selection import KFold, StratifiedKFold

    config = workspace.config
    if n_jobs == 0:
        raise UsageError("--jobs 0: give a number of parallel fits, or -1 for every core")
    objective = objective_of(config)
    estimator = build_estimator(config, "model")
    candidates = candidates_for(config, estimator)
    train_data, test_data = dataset.load_training_data(config)
    parts = dataset.split(config, train_data, test_data)
    X, y = dataset.features_and_target(config, parts.train)
    source = train_data.files[0]["path"]
    dataset.check_feature_types(X, source)
    labels = dataset.check_training_target(config, y, source)
    config.check_classes(labels)
    if not labels:  # a regression: plain shuffled folds, no classes to stratify by
        folds = min(config.tune.cv, len(y))
        if folds < 2:
            raise DataError(f"{source}: {plural(len(y), 'training row')}; tuning needs 2 or more")
        chosen = KFold(n_splits=folds, shuffle=True, random_state=config.tune.seed)
    else:
        folds = min(config.tune.cv, int(y.value_counts().min()))
        if folds < 2:
            raise DataError(
                f"{source}: the rarest class has {plural(int(y.value_counts().min()), 'row')}; cross-validation needs 2 or more"
            )
        chosen = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.tune.seed)
    splits = list(chosen.split(X, y))
    jobs = [
        (i, j, params, tr, te)
        for i, params in enumerate(candidates)
        for j, (tr, te) in enumerate(splits)
    ]
    scores = np.full((len(candidates), folds), np.nan)
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    results = runner(
        delayed(_score_fold)(estimator, params, X, y, tr, te, labels, objective)
        for _, _, params, tr, te in jobs
    )
    for done, ((i, j, params, *_), value) in enumerate(zip(jobs, results, strict=True), start=1):
        if isinstance(value, str):
            # A value of tune.params the model refuses (C: abc), or the project's code failing.
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
            with warnings.catch_warnings():  # joblib warns that it cancels the other fits
                warnings.simplefilter("ignore")
                results.close()
            raise config.error("tune.params", f"fitting the model with {shown} failed: {value}")
        scores[i, j] = value
        if progress is not None:
            progress(done, len(jobs))
    ranked = _rank(candidates, scores, objective)
    best = ranked[0]
    if best["mean"] is None:
        raise DataError(
            f"{objective} is undefined in every fold of every candidate; check the objective's class"
        )
    search = {
        "search": config.tune.search,
        "cv": folds,
        "objective": str(objective),
        "n_candidates": len(candidates),
        "best_params": best["params"],
        "candidates": ranked,
    }
    chosen = estimator.set_params(**best["params"])
    trained = train(
        workspace,
        kinds=("model",),
        cv=0,
        estimators={"model": chosen},
        extra_metadata={"model": {"tune": search}},
    )
    version = trained.versions[0]
    return TuneResult(version, str(objective), config.tune.search, ranked, best["params"])


def _rank(candidates: list[dict], scores: Any, objective: MetricRef) -> list[dict[str, Any]]:
    import numpy as np

    from mlprod_cli.core.names import higher_is_better

    sign = 1.0 if higher_is_better(objective.metric) else -1.0
    rows = []
    for params, fold_scores in zip(candidates, scores, strict=True):
        defined = fold_scores[~np.isnan(fold_scores)]
        mean = float(defined.mean()) if len(defined) else None
        std = float(defined.std()) if len(defined) else None
        rows.append(
            {
                "params": params,
                "mean": mean,
                "std": std,
                "folds": [None if math.isnan(v) else float(v) for v in fold_scores],
            }
        )
    rows.sort(
        key=lambda r: (r["mean"] is None, -(sign * r["mean"]) if r["mean"] is not None else 0.0)
    )
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows
