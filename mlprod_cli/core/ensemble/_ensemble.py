"""An ensemble of registered versions, built from their recipes and fitted whole.

Each member is the estimator of a registered version, cloned (its parameters,
tuned or not, without its fit) and fitted again on the training split inside a
scikit-learn ``VotingClassifier``/``StackingClassifier`` (``…Regressor`` for a
regression). Fitting the members again, rather than wrapping the fitted
artifacts, is what makes the ensemble's cross-validated figures honest: in every
fold the members are fitted without the rows they are scored on, as the stack's
final estimator needs. When the training data is the data the members were
trained on, the refitted members are the registered ones (their fits are
deterministic), and a soft vote's probabilities are the mean of theirs
(tests/core/ensemble).
"""

from __future__ import annotations

from typing import Any

from mlprod_cli.core.registry import Version
from mlprod_cli.core.train import TrainResult, train
from mlprod_cli.core.words import plural
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import UsageError

METHODS = ("vote", "stack")
# The stack's final estimator sees each member's out-of-fold outputs (5 folds).
_STACK_FOLDS = 5


def build_ensemble(
    workspace: Workspace,
    version_ids: list[str],
    *,
    method: str = "vote",
    activate: bool = False,
    force: bool = False,
    cv: int = 5,
    progress: Any = None,
) -> TrainResult:
    """Register an ensemble of ``version_ids`` (``vote`` or ``stack``); see the module."""
    if method not in METHODS:
        raise UsageError(f"--method: expected one of {', '.join(METHODS)}, got {method!r}")
    members = _members(workspace, version_ids)
    config = workspace.config
    loaded = [workspace.registry.load(member) for member in members]
    regression = config.task == "regression"
    if not regression:
        for member, estimator in zip(members, loaded, strict=True):
            if not hasattr(estimator, "predict_proba"):
                raise UsageError(
                    f"{member.id} ({_short(member)}) gives no class probabilities "
                    "(predict_proba): a soft vote and a stack need them"
                )
    estimator = _combine(members, loaded, method, regression)
    lineage = {
        "method": method,
        "members": [
            {
                "version": member.id,
                "estimator": member.metadata.get("estimator"),
                "artifact_sha256": member.metadata.get("artifact_sha256"),
                "data_sha256": [d.get("sha256") for d in member.metadata.get("data", [])],
            }
            for member in members
        ],
    }
    if method == "stack":
        final = estimator.final_estimator
        lineage["final_estimator"] = f"{type(final).__module__}.{type(final).__qualname__}"
        lineage["stack_folds"] = _STACK_FOLDS
    result = train(
        workspace,
        kinds=("model",),
        activate=activate,
        force=force,
        cv=cv,
        progress=progress,
        estimators={"model": estimator},
        extra_metadata={"model": {"ensemble": lineage}},
    )
    current = {d.get("sha256") for d in result.data}
    for member in members:
        theirs = {d.get("sha256") for d in member.metadata.get("data", [])}
        if theirs and not theirs <= current:
            result.warnings.append(
                f"{member.id} was trained on other data than this ensemble; "
                "its recipe was fitted again on the current data"
            )
    return result


def _members(workspace: Workspace, version_ids: list[str]) -> list[Version]:
    """The member versions, each a model of this project's task and classes."""
    from mlprod_cli.core.registry import check_version_id

    for version_id in version_ids:
        check_version_id(version_id)
    repeated = sorted({v for v in version_ids if version_ids.count(v) > 1})
    if repeated:
        raise UsageError(f"VERSION {repeated[0]} is named twice: each member counts once")
    if len(version_ids) < 2:
        raise UsageError(
            f"an ensemble needs two versions or more, got {plural(len(version_ids), 'version')}"
        )
    config = workspace.config
    members = [workspace.registry.get(version_id) for version_id in version_ids]
    first = members[0]
    for member in members:
        check_model_of_project(member, config, "an ensemble is made of model versions")
        if member.metadata.get("classes") != first.metadata.get("classes"):
            raise UsageError(
                f"{member.id} and {first.id} predict different classes "
                f"({_classes(member)} against {_classes(first)})"
            )
        if member.metadata.get("target") != first.metadata.get("target"):
            raise UsageError(
                f"{member.id} and {first.id} predict different targets "
                f"({member.metadata.get('target')} against {first.metadata.get('target')})"
            )
    return members


def check_model_of_project(version: Version, config: Any, role: str) -> None:
    """``version`` is a model of this project's task and target, or a UsageError saying so."""
    if version.kind != "model":
        raise UsageError(f"{version.id} is a {version.kind}: {role}")
    task = version.metadata.get("task", "classification")
    if task != config.task:
        raise UsageError(f"{version.id} is a {task} model and this project's task is {config.task}")
    target = version.metadata.get("target")
    if target is not None and target != config.data.target:
        raise UsageError(
            f"{version.id} predicts {target!r} and mlprod.yaml's data.target is "
            f"{config.data.target!r}"
        )


def _combine(members: list[Version], loaded: list[Any], method: str, regression: bool) -> Any:
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    named = [
        (member.id, clone(estimator)) for member, estimator in zip(members, loaded, strict=True)
    ]
    if regression:
        from sklearn.ensemble import StackingRegressor, VotingRegressor
        from sklearn.linear_model import RidgeCV

        if method == "vote":
            return VotingRegressor(named)
        folds = KFold(n_splits=_STACK_FOLDS, shuffle=True, random_state=0)
        return StackingRegressor(named, final_estimator=RidgeCV(), cv=folds)
    from sklearn.ensemble import StackingClassifier, VotingClassifier
    from sklearn.linear_model import LogisticRegression

    if method == "vote":
        return VotingClassifier(named, voting="soft")
    folds = StratifiedKFold(n_splits=_STACK_FOLDS, shuffle=True, random_state=0)
    return StackingClassifier(
        named,
        final_estimator=LogisticRegression(max_iter=1000),
        cv=folds,
        stack_method="predict_proba",
    )


def _short(member: Version) -> str:
    return str(member.metadata.get("estimator", "?")).rsplit(".", 1)[-1]


def _classes(member: Version) -> str:
    return ", ".join(map(str, member.metadata.get("classes") or [])) or "none"
