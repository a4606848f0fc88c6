"""The values of a validated ``mlprod.yaml``: frozen dataclasses, paths already absolute.

:mod:`._parse` builds them; everything else reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.core.project import CONFIG_NAME
from mlprod_cli.errors import ConfigError

__all__ = ["CONFIG_NAME"]  # re-exported: the name is the project's, found in core.project


# --------------------------------------------------------------------------- parsed values


@dataclass(frozen=True)
class Split:
    """How the test set is cut from the training file when no test file is given."""

    by: str  # "time" or "random"
    column: str | None = None
    cutoff: str | None = None
    test_size: float = 0.2
    seed: int = 42


@dataclass(frozen=True)
class DataSpec:
    train: Path
    target: str
    test: Path | None = None
    loader: str | None = None
    split: Split | None = None
    positive_class: str | None = None
    exclude: tuple[str, ...] = ()
    label_patch: Path | None = None  # reviewed label corrections (core/label_patch.py)


@dataclass(frozen=True)
class FeatureSpec:
    """The columns the model sees, by kind: the project's feature code reads them from here."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical)


@dataclass(frozen=True)
class Gate:
    """A threshold a metric must meet: ``metric`` of ``cls`` (or the macro average)."""

    metric: str
    cls: str | None = None
    min: float | None = None
    max: float | None = None
    slice: str | None = None


@dataclass(frozen=True)
class MetricRef:
    """``recall@melanoma`` → metric ``recall`` of class ``melanoma``; no class = macro."""

    metric: str
    cls: str | None = None

    def __str__(self) -> str:
        return self.metric if self.cls is None else f"{self.metric}@{self.cls}"


@dataclass(frozen=True)
class MetricsSpec:
    module: str | None = None
    objective: MetricRef | None = None
    gates: tuple[Gate, ...] = ()
    beat_baseline: tuple[MetricRef, ...] = ()
    max_regression: dict[MetricRef, float] = field(default_factory=dict)
    slices: tuple[str, ...] = ()
    max_slice_gap: dict[MetricRef, float] = field(default_factory=dict)
    # the share of rows confident learning suspects of a wrong label (core/evaluate/_labels.py)
    max_label_issue_rate: float | None = None


@dataclass(frozen=True)
class TuneSpec:
    search: str = "grid"
    cv: int = 5
    n_iter: int = 10
    seed: int = 42
    params: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class SkewSpec:
    serving_log: Path
    thresholds: dict[str, Any] = field(default_factory=dict)
    features: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ServeSpec:
    host: str = "127.0.0.1"
    port: int = 8000


@dataclass(frozen=True)
class Config:
    """A validated ``mlprod.yaml``; paths are absolute, resolved against ``root``."""

    root: Path
    path: Path
    project: str
    data: DataSpec
    model: str
    baseline: str | None
    metrics: MetricsSpec
    tune: TuneSpec | None
    store: str
    registry: Path
    skew: SkewSpec
    serve: ServeSpec
    task: str = "classification"
    features: FeatureSpec | None = None
    rules: Path | None = None  # the rules file (core/rules), inside the project
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, key: str) -> int | None:
        """The line in ``mlprod.yaml`` where dotted ``key`` is set, if known."""
        return self.lines.get(key)

    def error(self, key: str, message: str) -> ConfigError:
        """A ConfigError pointing at ``key`` in this file (for checks made after loading)."""
        return config_error(self.path, self.lines.get(key), key, message)

    def named_classes(self) -> list[tuple[str, str]]:
        """Every class ``metrics`` names, as (dotted key, class), in the order of the file."""
        spec = self.metrics
        named: list[tuple[str, str | None]] = [
            ("metrics.objective", spec.objective.cls if spec.objective else None)
        ]
        named += [(f"metrics.gates[{i}].class", gate.cls) for i, gate in enumerate(spec.gates)]
        named += [
            (f"metrics.beat_baseline[{i}]", ref.cls) for i, ref in enumerate(spec.beat_baseline)
        ]
        named += [(f"metrics.max_regression.{ref}", ref.cls) for ref in spec.max_regression]
        named += [(f"metrics.max_slice_gap.{ref}", ref.cls) for ref in spec.max_slice_gap]
        return [(key, cls) for key, cls in named if cls is not None]

    def class_error(self, classes: Sequence[Any]) -> ConfigError | None:
        """The error for the first class ``metrics`` names that ``classes`` (the data's) lacks.

        ``recall@melanomma`` in ``metrics.objective`` or a gate is a typo, not a class:
        train, evaluate, tune and check all call this once the classes are known, so the
        typo is the same one-line error everywhere (``mlprod.yaml:12: metrics.objective:
        class 'melanomma' is not in the data (classes: benign, melanoma)``). None when
        every named class is there.
        """
        known = [str(c) for c in classes]
        for key, cls in self.named_classes():
            if cls not in known:
                listing = ", ".join(known) if known else "none"
                return self.error(key, f"class {cls!r} is not in the data (classes: {listing})")
        return None

    def check_classes(self, classes: Sequence[Any]) -> None:
        """Raise :meth:`class_error` when there is one (exit code 2)."""
        problem = self.class_error(classes)
        if problem is not None:
            raise problem


def config_error(path: Path, line: int | None, key: str, message: str) -> ConfigError:
    where = f"{path.name}:{line}" if line else path.name
    prefix = f"{where}: {key}: " if key else f"{where}: "
    return ConfigError(prefix + message)
