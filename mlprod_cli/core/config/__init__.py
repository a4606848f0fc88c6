"""``mlprod.yaml``, the contract between a project and mlprod: its values and their validation.

The public face: :func:`load_config` (find the file at or above a folder and
validate it), :func:`parse_config` (one given file) and the frozen values they
return. Importing this package costs PyYAML and the standard library only, so
``mlprod check`` in a pre-commit hook stays fast.
"""

from __future__ import annotations

from mlprod_cli.core.config._model import (
    CONFIG_NAME,
    Config,
    DataSpec,
    FeatureSpec,
    Gate,
    MetricRef,
    MetricsSpec,
    ServeSpec,
    SkewSpec,
    Split,
    TuneSpec,
)
from mlprod_cli.core.config._parse import KNOWN_METRICS, load_config, parse_config
from mlprod_cli.core.config._yaml import read_yaml, read_yaml_bytes

__all__ = [
    "CONFIG_NAME",
    "KNOWN_METRICS",
    "Config",
    "DataSpec",
    "FeatureSpec",
    "Gate",
    "MetricRef",
    "MetricsSpec",
    "ServeSpec",
    "SkewSpec",
    "Split",
    "TuneSpec",
    "load_config",
    "parse_config",
    "read_yaml",
    "read_yaml_bytes",
]
