"""``mlprod models``: list, show, activate (behind the gates), roll back, diff."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core.config import Config
from mlprod_cli.core.gates import GateResult
from mlprod_cli.core.registry import Version, diff_metadata
from mlprod_cli.core.train import registry_for
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


def list_versions(config: Config, kind: str | None = None) -> Listing:
    registry = registry_for(config)
    return Listing(
        registry.versions(kind),
        {k: registry.active_id(k) for k in ("model", "baseline")},
        registry.broken(),
    )


def show(config: Config, version_id: str) -> Version:
    return registry_for(config).get(version_id)


def activate(config: Config, version_id: str, *, force: bool = False) -> Activation:
    """Make a version active; a model must pass every gate on the test split unless ``force``."""
    from mlprod_cli.core.evaluate import evaluate_version

    registry = registry_for(config)
    version = registry.get(version_id)
    registry.verify(version)  # a tampered artifact is refused before anything else
    gates: list[GateResult] = []
    if version.kind == "model":
        gates = evaluate_version(
            config, version_id=version.id, baseline_fallback=False
        ).result.gates
        failed = [g for g in gates if not g.passed]
        if failed and not force:
            listing = "; ".join(f"{g.name}: {g.detail}" for g in failed)
            raise CheckFailed(
                f"{version.id} fails {len(failed)} gate{'s' if len(failed) > 1 else ''}, not activated: {listing}",
                hint=f"'mlprod models activate {version.id} --force' overrides the gates",
            )
    else:
        registry.load(version)  # proves it loads (trusted types) before it is served
    previous = registry.activate(version)
    forced = force and any(not g.passed for g in gates)
    warnings = (
        [
            f"{version.id} activated although {sum(not g.passed for g in gates)} gate(s) failed (--force)"
        ]
        if forced
        else []
    )
    return Activation(version.id, version.kind, previous, gates, forced, warnings)


def rollback(config: Config, kind: str = "model") -> tuple[str, str]:
    return registry_for(config).rollback(kind)


def diff(config: Config, a: str, b: str) -> list[tuple[str, Any, Any]]:
    registry = registry_for(config)
    return diff_metadata(registry.get(a), registry.get(b))
