"""A registered version scored on the project's test split, with the actives beside it.

The version (default: the active model, else the newest) is scored on the test
split, with the gate baseline and the active model beside it, per slice, and the
gates of ``mlprod.yaml`` are checked against its report. ``models activate``
calls the same function, so a model is activated exactly when ``evaluate``
passes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core import dataset
from mlprod_cli.core.evaluate._gates import check_gates
from mlprod_cli.core.evaluate._scoring import (
    Evaluated,
    EvaluationResult,
    Scored,
    custom_metrics,
    metric_lessons,
    predict_with_scores,
    report_for,
    slice_reports,
)
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import DataError

Progress = Callable[[str], None]


@dataclass
class Outcome:
    """The result plus the per-sample arrays the HTML report draws curves from."""

    result: EvaluationResult
    # {model name: (y_true, scores, labels)}; for a regression (y_true, y_pred, [])
    curves: dict[str, tuple[Any, Any, list[str]]] = field(default_factory=dict)
    rows: dict[str, Any] = field(default_factory=dict)  # {slice column: each row's value}


def unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def gate_slice_columns(config: Any) -> tuple[str, ...]:
    """The columns ``metrics.gates`` slice by (``slice: sex`` or ``slice: sex=female``)."""
    return tuple(g.slice.partition("=")[0] for g in config.metrics.gates if g.slice)


def gate_baseline(registry: Any) -> Any | None:
    """The baseline a model's ``beat_baseline`` gates compare with: the active one, else the newest.

    One lookup for ``evaluate`` and ``models activate``: right after ``mlprod train``
    nothing is active, and the baseline trained beside the model is the one to beat.
    """
    return registry.active("baseline") or registry.latest("baseline")


def readable_active(registry: Any, kind: str) -> tuple[Any | None, str | None]:
    """(the active version of ``kind``, or None; why the one ``active.json`` names cannot be used).

    An active version whose folder was deleted or broken is no reason to refuse
    the activation that replaces it: the comparison it would have been part of
    is listed as not checked instead (an ``active.json`` that cannot be read
    still stops, as everywhere).
    """
    from mlprod_cli.core.registry import RegistryError

    version_id = registry.active_id(kind)
    if version_id is None:
        return None, None
    try:
        version = registry.get(version_id)
        registry.verify(version)
    except RegistryError as exc:
        if not os.path.lexists(registry.root / version_id):
            return None, f"the active {kind} {version_id} is not in {registry.root.name}/ any more"
        return None, f"the active {kind} {version_id} cannot be used: {exc.message}"
    return version, None


def select_version(registry: Any, version_id: str | None, registry_name: str) -> tuple[Any, str]:
    """(the version to evaluate, how it was chosen): given, else the active model, else the newest."""
    from mlprod_cli.core.registry import RegistryError

    if version_id is not None:
        return registry.get(version_id), "given"
    active = registry.active("model")
    if active is not None:
        return active, "active"
    newest = registry.latest("model")
    if newest is None:
        raise RegistryError(
            f"no model in {registry_name}/ to evaluate", hint="run 'mlprod train' first"
        )
    return newest, "newest"


def evaluate_version(
    workspace: Workspace,
    *,
    version_id: str | None = None,
    slice_by: tuple[str, ...] = (),
    enforce_gates: bool = True,
    progress: Progress | None = None,
    baseline: Any | None = None,
    with_rules: bool = False,
) -> Outcome:
    """Score a version (default: the active model, else the newest) on the test split.

    Beside it, the baseline of :func:`gate_baseline` (or ``baseline``, for one
    about to be activated with the model) and the active model: ``evaluate`` and
    ``models activate`` judge the ``beat_baseline`` gates alike. An active version
    that is gone or broken is left out of the comparison, with a warning, and a
    gate that needed it is listed as not checked (so not passed).

    ``with_rules`` (``evaluate``; not ``models activate``, whose gates are the
    model's): the project's rules file is applied to the version's answers and
    reported beside them (:mod:`._rules`); the gates stay the model's.
    """
    import numpy as np

    step = progress or (lambda _text: None)
    config = workspace.config
    registry = workspace.registry
    version, selected = select_version(registry, version_id, config.registry.name)
    step("loading the test split")
    train, test = dataset.load_training_data(config)
    parts = dataset.split(config, train, test)
    X, y = dataset.features_and_target(config, parts.test, "test split")
    y_true = np.asarray(y)
    regression = config.task == "regression"
    if regression != (version.metadata.get("task") == "regression"):
        raise DataError(
            f"{version.id} was trained for {version.metadata.get('task') or 'classification'}; "
            f"mlprod.yaml says task: {config.task}"
        )
    labels = [] if regression else _labels(config, version, y_true)
    slices = unique(config.metrics.slices + gate_slice_columns(config) + slice_by)
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
    patch = next((f for f in train.files if f.get("patches")), None)
    if patch is not None:  # the labels scored are the patched ones: the run says so
        data["label_patch"] = patch
        data["source"] += f" (label patch {patch['path']}, sha256 {patch['sha256'][:12]})"

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
    outcome = Outcome(
        EvaluationResult(
            config.project, data, primary, gates_enforced=enforce_gates, selected=selected
        )
    )
    if with_rules:
        outcome.result.rules = _with_rules(config, version, parts.test, y_true, primary_scores,
                                           slices, custom, outcome.result.warnings, step)  # fmt: skip
    outcome.result.warnings += metric_lessons(primary.report)
    outcome.curves[primary.name] = _curve(y_true, primary_scores, labels)
    if regression:
        outcome.rows = {c: parts.test[c].astype(str).to_numpy() for c in slices}
    unusable: dict[str, str] = {}
    baseline_version = baseline
    if baseline_version is None:
        baseline_version, unusable["baseline"] = readable_active(registry, "baseline")
        if baseline_version is None:
            baseline_version = registry.latest("baseline")
    active_version, unusable["model"] = readable_active(registry, "model")
    outcome.result.warnings += [why for why in unusable.values() if why]
    for other in (baseline_version, active_version):
        if other is None or other.id == version.id:
            continue
        evaluated, scored = score(other)
        outcome.result.comparisons.append(evaluated)
        outcome.curves[evaluated.name] = _curve(y_true, scored, labels)
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
        if unusable["model"] and version.id != registry.active_id("model"):
            outcome.result.gates += _unchecked_regressions(config, unusable["model"])
        limit = config.metrics.max_label_issue_rate
        if limit is not None and not regression:
            from mlprod_cli.core.evaluate._labels import check_labels, label_issue_gate

            step("confident learning over both splits, for max_label_issue_rate (cleanlab)")
            X_train, y_train = dataset.features_and_target(config, parts.train, "training split")
            X_train, _ = dataset.conform(
                X_train, version.metadata["schema"], source="training split"
            )
            check = check_labels(
                registry.load(version), X_train, y_train, primary_scores.scores, y_true, labels
            )
            outcome.result.gates.append(label_issue_gate(limit, check))
    return outcome


def _curve(y_true: Any, scored: Scored, labels: list[str]) -> tuple[Any, Any, list[str]]:
    """What the HTML report draws for one model: its scores, or a regressor's numbers."""
    return (y_true, scored.y_pred if not labels else scored.scores, labels)


def _labels(config: Any, version: Any, y_true: Any) -> list[str]:
    """The classes the version knows; a test label it does not know is an error."""
    labels = list(version.metadata.get("classes") or sorted(set(y_true.tolist())))
    config.check_classes(labels)  # a misspelled class in the objective or a gate
    unknown = sorted(set(y_true.tolist()) - set(labels))
    if unknown:
        raise DataError(
            f"test split: label {unknown[0]!r} is not among the model's classes: {', '.join(labels)}"
        )
    return labels


def _with_rules(config, version, frame, y_true, scored, slices, custom, warnings, step):
    from mlprod_cli.core.evaluate._rules import evaluate_rules, project_rules
    from mlprod_cli.core.predict import recorded_rules

    ruleset, shown, warning = project_rules(config, version)
    if warning:
        warnings.append(warning)
    if ruleset is None:
        return None
    step(f"applying {shown} to {version.id}")
    recorded = recorded_rules(version)
    # The target is the answer: a rule may not read it.
    fields = frame.drop(columns=[config.data.target], errors="ignore")
    return evaluate_rules(
        ruleset, fields, y_true, scored, slices, custom, file=shown,
        version_sha256=recorded["sha256"] if recorded else None,
        objective=config.metrics.objective,
    )  # fmt: skip


def _unchecked_regressions(config: Any, reason: str) -> list[Any]:
    """The ``max_regression`` gates, not checked: the active model they compare with is unusable."""
    from mlprod_cli.core.evaluate._gates import unchecked

    return [
        unchecked(
            f"{ref} regression <= {tolerance:g} vs active model",
            "max_regression",
            str(ref),
            f"at most {tolerance:g} worse than the active model",
            reason,
        )
        for ref, tolerance in config.metrics.max_regression.items()
    ]
