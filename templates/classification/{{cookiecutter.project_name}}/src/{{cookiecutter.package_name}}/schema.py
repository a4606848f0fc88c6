"""The data's schema as ``mlprod.yaml`` declares it: the one place where column names live.

``features.py``, ``data.py``, ``baseline.py`` and the tests read the target,
the feature columns by kind, the excluded columns and the split from here, so
bringing other data means changing ``mlprod.yaml``, not the code.

The file is found from the working directory upwards (mlprod and pytest run
inside the project), else beside this package's ``src/`` folder. It is read
when asked for, never at import: a fitted model loaded in the serving image
does not need it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_NAME = "mlprod.yaml"


@dataclass(frozen=True)
class Schema:
    """What the project's code needs to know about its data."""

    root: Path
    train: Path
    target: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    positive_class: str | None = None
    split: dict[str, Any] = field(default_factory=dict)
    objective: str | None = None
    slices: tuple[str, ...] = ()
    task: str = "classification"  # or "regression": the target is a number

    @property
    def features(self) -> tuple[str, ...]:
        """Every column the model sees, numeric first."""
        return (*self.numeric, *self.categorical)

    @property
    def date_columns(self) -> tuple[str, ...]:
        """Columns read as dates: the one the split is made by, if any."""
        column = self.split.get("column") if self.split.get("by") == "time" else None
        return (column,) if column else ()

    @property
    def stratify_by(self) -> str | None:
        """The column a random split keeps the shares of: a class target (a number: none)."""
        return self.target if self.task == "classification" else None

    @property
    def text_columns(self) -> tuple[str, ...]:
        """Columns read as text: categories, a class target and excluded ones (ids keep zeros)."""
        dates = set(self.date_columns)
        target = [self.target] if self.task == "classification" else []
        return tuple(
            dict.fromkeys(
                [*self.categorical, *target, *(c for c in self.exclude if c not in dates)]
            )
        )


def find_config(start: Path | None = None) -> Path:
    """The ``mlprod.yaml`` at or above ``start`` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    package_root = Path(__file__).resolve().parents[2]
    for folder in (here, *here.parents, package_root):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no {CONFIG_NAME} in {here} or any folder above it")


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> Schema:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data = raw.get("data") or {}
    features = raw.get("features") or {}
    metrics = raw.get("metrics") or {}
    missing = [key for key in ("train", "target") if not data.get(key)]
    if missing:
        raise ValueError(f"{path}: data.{missing[0]} is not set")
    if not (features.get("numeric") or features.get("categorical")):
        raise ValueError(f"{path}: 'features' lists no numeric or categorical column")
    train = Path(data["train"])
    return Schema(
        root=path.parent,
        train=train if train.is_absolute() else path.parent / train,
        target=str(data["target"]),
        numeric=tuple(str(c) for c in features.get("numeric") or ()),
        categorical=tuple(str(c) for c in features.get("categorical") or ()),
        exclude=tuple(str(c) for c in data.get("exclude") or ()),
        positive_class=None if data.get("positive_class") is None else str(data["positive_class"]),
        split=dict(data.get("split") or {}),
        objective=None if metrics.get("objective") is None else str(metrics["objective"]),
        slices=tuple(str(c) for c in metrics.get("slices") or ()),
        task=str(raw.get("task") or "classification"),
    )


def load(path: Path | None = None) -> Schema:
    """The schema of ``path`` (default: the project's ``mlprod.yaml``)."""
    return _load((path or find_config()).resolve())
