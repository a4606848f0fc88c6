"""``mlprod models``: list, show, activate (behind the gates), roll back, diff."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core.evaluate import GateResult, evaluate_version
from mlprod_cli.core.registry import Version, diff_metadata
from mlprod_cli.core.words import plural
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import CheckFailed


@dataclass
class Listing:
    versions: list[Version]
    active: dict[str, str | None]
    broken: dict[str, str] = field(default_factory=dict)  # skipped folders: id -> why
    sizes: dict[str, int | None] = field(default_factory=dict)  # id -> artifact bytes


@dataclass
class Activation:
    version: str
    kind: str
    previous: str | None
    gates: list[GateResult] = field(default_factory=list)
    forced: bool = False
    warnings: list[str] = field(default_factory=list)
    rules: dict[str, Any] | None = None  # what happened to the rules file (RulesRestore.to_dict)


@dataclass
class Rollback:
    kind: str
    version: str
    previous: str
    rules: dict[str, Any] | None = None


def list_versions(workspace: Workspace, kind: str | None = None) -> Listing:
    registry = workspace.registry
    versions = registry.versions(kind)
    return Listing(
        versions,
        {k: registry.active_id(k) for k in ("model", "baseline")},
        registry.broken(),
        {v.id: v.artifact_bytes() for v in versions},
    )


def show(workspace: Workspace, version_id: str) -> Version:
    return workspace.registry.get(version_id)


def check_activation(
    workspace: Workspace, version: Version, *, force: bool = False, baseline: Version | None = None
) -> Activation:
    """Everything that can refuse activating ``version``, with nothing written.

    A model must pass every gate on the test split unless ``force`` (compared with
    ``baseline`` when given: the one to be activated with it); a baseline must
    load. ``active.json`` must be readable. The version it would replace need not
    exist any more: activating another is how a deleted active version is repaired.
    """
    registry = workspace.registry
    registry.verify(version)  # a tampered artifact is refused before anything else
    registry.check_active()
    gates: list[GateResult] = []
    warnings: list[str] = []
    if version.kind == "model":
        result = evaluate_version(workspace, version_id=version.id, baseline=baseline).result
        gates, warnings = result.gates, list(result.warnings)
        failed = [g for g in gates if not g.passed]
        if failed and not force:
            listing = "; ".join(f"{g.name}: {g.detail}" for g in failed)
            raise CheckFailed(
                f"{version.id} fails {plural(len(failed), 'gate')}, not activated: {listing}",
                hint=f"'mlprod models activate {version.id} --force' overrides the gates",
            )
    else:
        registry.load(version)  # proves it loads (trusted types) before it is served
    forced = force and any(not g.passed for g in gates)
    if forced:
        failed = plural(sum(not g.passed for g in gates), "gate")
        warnings.append(f"{version.id} activated although {failed} failed (--force)")
    return Activation(version.id, version.kind, None, gates, forced, warnings)


def activate(
    workspace: Workspace, version_id: str, *, force: bool = False, replace_rules: bool = False
) -> Activation:
    """Make a version active; a model must pass every gate on the test split unless ``force``.

    A model's rules go with it: the project's rules file is made to hold the
    version's copy (see :func:`_with_rules`).
    """
    registry = workspace.registry
    version = registry.get(version_id)
    plan = _rules_plan(workspace, version, replace_rules)  # refusals before the gates' work
    activation = check_activation(workspace, version, force=force)
    activation.previous = _with_rules(workspace, plan, lambda: registry.activate(version))
    activation.rules = None if plan is None else plan.to_dict(workspace.config.root)
    return activation


def rollback(workspace: Workspace, kind: str = "model", *, replace_rules: bool = False) -> Rollback:
    """Make the previously active version active again, a model with its rules."""
    registry = workspace.registry
    current, target = registry.rollback_target(kind)
    plan = _rules_plan(workspace, registry.get(target), replace_rules)
    _with_rules(workspace, plan, lambda: registry.rollback(kind, expected=target))
    rules = None if plan is None else plan.to_dict(workspace.config.root)
    return Rollback(kind, target, current, rules)


def _rules_plan(workspace: Workspace, version: Version, replace: bool) -> Any:
    """How the rules file must change for ``version`` to be served (models only), or None."""
    if version.kind != "model":
        return None  # what is served is the model; a baseline's rules are its own record
    from mlprod_cli.core.predict import plan_rules_restore

    return plan_rules_restore(workspace, version, replace=replace)


def _with_rules(workspace: Workspace, plan: Any, change: Any) -> Any:
    """Write the rules file, then ``change()`` ``active.json``; the old file back if it fails.

    In this order a server following ``active.json`` that loads the new version
    finds its rules in the file already.
    """
    if plan is None:
        return change()
    plan.write()
    try:
        return change()
    except BaseException:
        plan.undo()
        raise


def diff(workspace: Workspace, a: str, b: str) -> list[tuple[str, Any, Any]]:
    registry = workspace.registry
    return diff_metadata(registry.get(a), registry.get(b))
