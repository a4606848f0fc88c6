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


@dataclass
class Activation:
    version: str
    kind: str
    previous: str | None
    gates: list[GateResult] = field(default_factory=list)
    forced: bool = False
    warnings: list[str] = field(default_factory=list)


def list_versions(workspace: Workspace, kind: str | None = None) -> Listing:
    registry = workspace.registry
    return Listing(
        registry.versions(kind),
        {k: registry.active_id(k) for k in ("model", "baseline")},
        registry.broken(),
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


def activate(workspace: Workspace, version_id: str, *, force: bool = False) -> Activation:
    """Make a version active; a model must pass every gate on the test split unless ``force``."""
    registry = workspace.registry
    version = registry.get(version_id)
    activation = check_activation(workspace, version, force=force)
    activation.previous = registry.activate(version)
    return activation


def rollback(workspace: Workspace, kind: str = "model") -> tuple[str, str]:
    return workspace.registry.rollback(kind)


def diff(workspace: Workspace, a: str, b: str) -> list[tuple[str, Any, Any]]:
    registry = workspace.registry
    return diff_metadata(registry.get(a), registry.get(b))
