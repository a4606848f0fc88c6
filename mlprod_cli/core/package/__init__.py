"""``mlprod package``: a hash-checked Docker build context, and the image built from it.

:func:`make_context` writes the context (see :mod:`._context` for what it
holds); :func:`build_image` runs ``docker build`` on it; :func:`runtime_pins`
works out what the image installs.
"""

from __future__ import annotations

from mlprod_cli.core.package._closure import AUTHORING_ONLY, runtime_pins
from mlprod_cli.core.package._context import (
    DEFAULT_OUTPUT,
    MANIFEST,
    OFFLINE_MARKER,
    TAG_RECORD,
    ContextFile,
    PackageRequest,
    PackageResult,
    Retag,
    build_image,
    check_tag,
    image_name,
    make_context,
    retag_deploy,
    retag_manifests,
    target_environment,
)

__all__ = [
    "AUTHORING_ONLY",
    "DEFAULT_OUTPUT",
    "MANIFEST",
    "OFFLINE_MARKER",
    "TAG_RECORD",
    "ContextFile",
    "PackageRequest",
    "PackageResult",
    "Retag",
    "build_image",
    "check_tag",
    "image_name",
    "make_context",
    "retag_deploy",
    "retag_manifests",
    "runtime_pins",
    "target_environment",
]
