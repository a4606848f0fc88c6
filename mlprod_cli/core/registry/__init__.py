"""The model registry: versioned, hash-checked estimators with their metadata.

See :mod:`._registry` for the layout on disk and its guarantees.
"""

from __future__ import annotations

from mlprod_cli.core.registry._registry import (
    ACTIVE,
    ARTIFACT,
    KINDS,
    METADATA,
    Registry,
    RegistryError,
    Version,
    check_version_id,
    diff_metadata,
)

__all__ = [
    "ACTIVE",
    "ARTIFACT",
    "KINDS",
    "METADATA",
    "Registry",
    "RegistryError",
    "Version",
    "check_version_id",
    "diff_metadata",
]
