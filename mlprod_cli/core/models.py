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


def activate(workspace: Workspace, version_id: str, *, force: bool = False) -> Activation:
    """Make a version active; a model must pass every gate on the test split unless ``force``."""
    registry = workspace.registry
    version = registry.get(version_id)
    registry.verify(version)  # a tampered artifact is refused before anything else
    gates: list[GateResult] = []
    if version.kind == "model":
        gates = evaluate_version(workspace, version_id=version.id).result.gates
        failed = [g for g in gates if not g.passed]
        if failed and not force:
            listing = "; ".join(f"{g.name}: {g.detail}" for g in failed)
            raise CheckFailed(
                f"{version.id} fails {plural(len(failed), 'gate')}, not activated: {listing}",
                hint=f"'mlprod models activate {version.id} --force' overrides the gates",
            )
    else:
        registry.load(version)  # proves it loads (trusted types) before it is served
    previous = registry.activate(version)
    forced = force and any(not g.passed for g in gates)
    warnings = (
        [
            f"{version.id} activated although {plural(sum(not g.passed for g in gates), 'gate')} failed (--force)"
        ]
        if forced
        else []
    )
    return Activation(version.id, version.kind, previous, gates, forced, warnings)


def rollback(workspace: Workspace, kind: str = "model") -> tuple[str, str]:
    return workspace.registry.rollback(kind)


def diff(workspace: Workspace, a: str, b: str) -> list[tuple[str, Any, Any]]:
    registry = workspace.registry
    return diff_metadata(registry.get(a), registry.get(b))
