"""The model version a skew run checks: which one, its schema and classes, its predictions.

The version is ``--model``, else the one that served the newest line of the serving
data (the last line of the last file, read from the end), else the active model.
:class:`Model` loads its estimator only when a row is to be scored, and scores rows
as ``predict`` would, on the features as the model saw them in training.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlprod_cli.errors import DataError


class Model:
    """The version being checked, its schema and classes; the estimator loaded when needed."""

    def __init__(self, registry: Any, version: Any, rules: Any = None):
        self.registry = registry
        self.version = version
        self.rules = rules  # the version's RuleSet (what served it), or None
        self._estimator = None
        metadata = {} if version is None else version.metadata
        self.schema = metadata.get("schema")
        self.labels = [str(c) for c in metadata.get("classes") or []]
        # A regression serves numbers: its predictions are compared as a numeric feature.
        self.regression = metadata.get("task") == "regression"
        if version is not None and not (self.schema or {}).get("features"):
            raise DataError(
                f"{version.id}: its metadata has no training schema (schema.features); retrain it"
            )

    @property
    def id(self) -> str | None:
        """The version's id; ``None`` without a model (``--reference`` outside a project)."""
        return None if self.version is None else self.version.id

    def estimator(self) -> Any:
        """The fitted pipeline, loaded (and its artifact checked) on first use."""
        if self._estimator is None:
            self._estimator = self.registry.load(self.version)
            if not self.labels:
                self.labels = [str(c) for c in getattr(self._estimator, "classes_", [])]
        return self._estimator

    @property
    def task(self) -> str:
        return "regression" if self.regression else "classification"

    def predict(self, frame: Any) -> tuple[Any, Any]:
        """``(classes, scores or None)`` for the rows of ``frame`` (features as columns);
        a regression's ``(values as float64, None)``."""
        classes, scores, _ = self.answer(frame)
        return classes, scores

    def answer(self, frame: Any) -> tuple[Any, Any, Any]:
        """``(classes, scores, fired)``: as served, after the version's rules when it has
        them (a class is None where they abstain; ``fired``: each row's fired ids, None
        without rules). The rules read ``frame``'s columns, features or not."""
        import numpy as np

        from mlprod_cli.core.predict import predict_batch

        classes, scores = predict_batch(
            self.estimator(), _model_input(frame, self.schema), self.labels
        )
        if self.rules is None:
            return classes, scores, None
        from mlprod_cli.core.rules import apply_rules

        columns = {
            name: frame[name].to_numpy(dtype=object)
            for name in self.rules.variables
            if name in frame.columns
        }
        outcome = apply_rules(self.rules, columns, classes, scores)
        return np.asarray(outcome.prediction, dtype=object), outcome.scores, outcome.fired


SERVED_LIMIT = 1e100
"""Numbers beyond ± this re-score as missing: ``serve`` refuses them (its ``MAX_NUMBER``),
and a scaler would overflow to infinity on them (a log may hold anything)."""


def _model_input(frame: Any, schema: dict[str, Any]) -> Any:
    """The rows as the model saw them in training (``dataset.conform``), never refusing a
    row: a value that is not a (finite) number where one belongs scores as missing (the
    report flags the column as a type change)."""
    import numpy as np
    import pandas as pd

    from mlprod_cli.core.dataset import conform

    names = [f["name"] for f in schema["features"]]
    data = frame[names]
    numbers = {}
    for feature in schema["features"]:
        column = data[feature["name"]]
        if feature["kind"] != "numeric":
            continue
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            column = pd.to_numeric(column.astype(object), errors="coerce")
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            huge = np.abs(values) > SERVED_LIMIT  # ±inf, and 1e308 that a scaler makes inf
        if column is not data[feature["name"]] or huge.any():
            numbers[feature["name"]] = pd.Series(np.where(huge, np.nan, values), index=column.index)
    if numbers:
        data = data.copy(deep=False)
        for name, values in numbers.items():
            data[name] = values
    return conform(data, schema, source="serving data")[0]


def chosen_version(registry: Any, version_id: str | None) -> Any:
    """The version of ``--model``, if given (an unknown one is an error before any reading)."""
    from mlprod_cli.core.registry import check_version_id

    if registry is None or not version_id:
        return None
    return registry.get(check_version_id(version_id))


def served_or_active_version(registry: Any, jsonl_files: list[Path]) -> Any:
    """The version in the newest line of the JSON Lines files, else the active model."""
    from mlprod_cli.core.registry import RegistryError

    if registry is None:
        return None
    served = _newest_served_version(jsonl_files)
    if served:
        try:
            return registry.get(served)
        except RegistryError:
            known = ", ".join(v.id for v in registry.versions()) or "none yet"
            raise RegistryError(
                f"the serving data was served by {served}, which is not in {registry.root.name}/ (versions: {known})",
                hint="pass --model VERSION to compare with another version",
            ) from None
    return registry.active("model")


def _newest_served_version(files: list[Path]) -> str | None:
    """``model_version`` of the last line of the last non-empty JSON Lines file, if any."""
    for path in reversed(files):
        try:
            with path.open("rb") as handle:
                handle.seek(0, 2)
                size = handle.tell()
                if size == 0:
                    continue
                handle.seek(max(0, size - (1 << 16)))
                tail = handle.read()
        except OSError:
            return None
        for line in reversed(tail.splitlines()):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                return None  # a torn line: the full read names it
            value = record.get("model_version") if isinstance(record, dict) else None
            return value if isinstance(value, str) and value else None
    return None
