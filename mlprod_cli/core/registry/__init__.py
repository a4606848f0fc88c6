"""The model registry: versioned, hash-checked estimators with their metadata.

See :mod:`._registry` for the layout on disk and its guarantees, and
:mod:`._ondisk` for how what is on disk is read without trusting it.
"""

from __future__ import annotations

from mlprod_cli.core.registry._ondisk import (
    ACTIVE,
    ARTIFACT,
    KINDS,
    METADATA,
    RegistryError,
    Version,
    check_version_id,
    is_version_id,
    read_json,
)
from mlprod_cli.core.registry._registry import Registry, diff_metadata

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
    "is_version_id",
    "read_json",
]
