"""The project's own code: the dotted paths of ``mlprod.yaml`` imported and called.

The project owns its loader, features, baseline, model and metrics; mlprod
imports them the way the project's tests do (``src/`` layout or flat) and turns
any failure into a ConfigError naming the key of ``mlprod.yaml`` that points there.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from mlprod_cli.core.config import Config
from mlprod_cli.errors import ConfigError


def add_project_to_path(config: Config) -> None:
    """Make the project's code importable (``src/`` layout or flat), as its tests see it."""
    for folder in (config.root, config.root / "src"):
        if folder.is_dir() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


def import_object(config: Config, dotted: str, key: str) -> Any:
    """Import ``package.module:attribute`` from the project."""
    add_project_to_path(config)
    module_name, _, attribute = dotted.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise config.error(
            key, f"importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from None
    try:
        return getattr(module, attribute) if attribute else module
    except AttributeError:
        raise config.error(key, f"{module_name} has no attribute {attribute!r}") from None


def build_estimator(config: Config, kind: str) -> Any:
    """Call the project's ``model:`` or ``baseline:`` factory."""
    dotted = config.model if kind == "model" else config.baseline
    if dotted is None:
        raise ConfigError(f"{config.path.name}: no '{kind}' is configured")
    factory = import_object(config, dotted, kind)
    try:
        estimator = factory()
    except Exception as exc:
        raise config.error(kind, f"{dotted}() failed: {type(exc).__name__}: {exc}") from None
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise config.error(
            kind,
            f"{dotted}() returned {type(estimator).__name__}, not an estimator with fit/predict",
        )
    return estimator


def project_package(config: Config) -> str:
    """The top-level package of the project's code (its types are trusted in artifacts)."""
    return config.model.split(":", 1)[0].split(".", 1)[0]
