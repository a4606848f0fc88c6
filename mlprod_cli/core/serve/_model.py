"""A registry version ready to serve (:class:`LoadedModel`): the estimator, and
its training schema compiled into plain-Python row checks.

A request's rows are checked here with no DataFrame (about 10 µs for a row of
8 features); only rows that pass become the DataFrame the estimator saw in
training, on the inference thread (:meth:`LoadedModel.frame`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core.serve._json import describe, utc_now
from mlprod_cli.core.serve._options import MAX_ERRORS_SHOWN, MAX_FIELD_DEPTH, MAX_NUMBER
from mlprod_cli.errors import MlprodError

NUMERIC, CATEGORICAL, DATETIME = 0, 1, 2  # Feature.kind
_MISSING = object()  # a feature absent from a row (None is a missing value, sent as null)


@dataclass(frozen=True)
class Feature:
    """One feature of the training schema, as the checks use it."""

    name: str
    kind: int
    low: float | None = None
    high: float | None = None
    categories: frozenset[str] | None = None
    dtype: str | None = None  # the training column's, for a date's time zone


@dataclass
class Checked:
    """Rows checked against the schema: feature columns, or the errors that refuse them."""

    columns: dict[str, list[Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    unseen: dict[str, int] = field(default_factory=dict)
    out_of_range: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)


def _finite(value: Any) -> float | None:
    """``value`` as a float within ±:data:`MAX_NUMBER`, or None (NaN, ±Infinity, too large)."""
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        return None
    return number if -MAX_NUMBER <= number <= MAX_NUMBER else None


def _nested_deeper(value: Any, limit: int) -> bool:
    """True when arrays and objects in ``value`` nest more than ``limit`` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


class LoadedModel:
    """A registry version ready to serve: the estimator and its compiled schema."""

    def __init__(
        self, version: Any, estimator: Any, *, pinned: bool = False, rules: Any | None = None
    ):
        self.version = version
        self.rules = rules  # the RuleSet applied after the model (core/rules), or None
        self.id: str = version.id
        self.estimator = estimator
        self.metadata: dict[str, Any] = version.metadata
        self.regression = self.metadata.get("task") == "regression"
        self.labels = [
            str(c) for c in self.metadata.get("classes", getattr(estimator, "classes_", None)) or []
        ]
        schema = self.metadata.get("schema") or {}
        self.features: list[Feature] = []
        for entry in schema.get("features") or []:
            kind = entry.get("kind")
            if kind == "numeric":
                low, high = entry.get("min"), entry.get("max")
                self.features.append(Feature(entry["name"], NUMERIC, low, high))
            elif kind == "datetime":
                self.features.append(Feature(entry["name"], DATETIME, dtype=entry.get("dtype")))
            else:
                listed = entry.get("categories")
                categories = frozenset(str(c) for c in listed) if listed is not None else None
                self.features.append(Feature(entry["name"], CATEGORICAL, categories=categories))
        if not self.features:
            raise MlprodError(
                f"{self.id}: its metadata has no training schema (schema.features); retrain it"
            )
        self.names = frozenset(f.name for f in self.features)
        self.loaded_at = utc_now()
        self.pinned = pinned

    def info(self) -> dict[str, Any]:
        """What ``GET /metadata`` answers."""
        m = self.metadata
        return {
            "version": self.id,
            "kind": m.get("kind"),
            "task": m.get("task", "classification"),
            "project": m.get("project"),
            "estimator": m.get("estimator"),
            "created_at": m.get("created_at"),
            "target": m.get("target"),
            "positive_class": m.get("positive_class"),
            "classes": self.labels,
            "schema": m.get("schema"),
            "validation": m.get("validation"),
            "artifact_sha256": m.get("artifact_sha256"),
            "loaded_at": self.loaded_at,
            "pinned": self.pinned,
            "rules": self._rules_info(),
        }

    def _rules_info(self) -> dict[str, Any] | None:
        ruleset = self.rules
        if ruleset is None:
            return None
        return {
            "sha256": ruleset.sha256,
            "ids": list(ruleset.ids),
            "policy": ruleset.policy,
            "fallback": ruleset.fallback,
        }

    def rule_columns(self, rows: list[dict[str, Any]]) -> dict[str, list[Any]] | None:
        """The fields the rules read, from checked rows as they were sent (None without rules).

        A rule may read a field the model does not use (a body location the user
        chose); a field a row lacks is null, as a missing value is.
        """
        ruleset = self.rules
        if ruleset is None:
            return None
        return {name: [row.get(name) for row in rows] for name in ruleset.variables}

    def check(self, rows: list[Any], *, single: bool) -> Checked:
        """Validate parsed JSON rows with plain Python (no DataFrame for a request).

        A missing feature, a wrong type (text, a boolean, an object or an array
        where a number belongs; NaN or ±Infinity) is an error located as
        ``["body", row, feature]`` (``["body", feature]`` for a single object).
        Null is a missing value, as an empty cell is in training. Text columns
        take numbers and booleans as their text, as ``predict`` does. Unseen
        categories, values outside the training range and fields the model does
        not know are counted, not refused; a field it does not know that nests
        arrays or objects more than :data:`MAX_FIELD_DEPTH` levels deep is an
        error (it would go to the request log as it is). Checking stops once
        :data:`MAX_ERRORS_SHOWN` errors are found: a refused body costs no more.
        """
        out = Checked()
        columns: dict[str, list[Any]] = {f.name: [] for f in self.features}
        out.columns = columns
        errors = out.errors
        names = self.names
        nan = math.nan
        for index, row in enumerate(rows):
            if len(errors) >= MAX_ERRORS_SHOWN:
                break
            where: list[Any] = ["body"] if single else ["body", index]
            if not isinstance(row, dict):
                errors.append(
                    {
                        "type": "dict_type",
                        "loc": where,
                        "msg": f"expected an object of features, got {describe(row)}",
                    }
                )
                continue
            for feature in self.features:
                name = feature.name
                value = row.get(name, _MISSING)
                if value is _MISSING:
                    errors.append(
                        {
                            "type": "missing",
                            "loc": [*where, name],
                            "msg": f"field required: the model needs '{name}'",
                        }
                    )
                    continue
                kind = feature.kind
                if value is None:
                    columns[name].append(None if kind == DATETIME else nan)
                    continue
                if kind == NUMERIC:
                    number = None
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        number = _finite(value)
                        if number is None:
                            errors.append(
                                {
                                    "type": "finite_number",
                                    "loc": [*where, name],
                                    "msg": f"expected a finite number within ±{MAX_NUMBER:g}, got {describe(value)}",
                                }
                            )
                            continue
                    else:
                        errors.append(
                            {
                                "type": "float_type",
                                "loc": [*where, name],
                                "msg": f"expected a number, got {describe(value)}",
                            }
                        )
                        continue
                    low, high = feature.low, feature.high
                    if low is not None and high is not None and not (low <= number <= high):
                        out.out_of_range[name] = out.out_of_range.get(name, 0) + 1
                    columns[name].append(number)
                elif kind == CATEGORICAL:
                    if isinstance(value, str):
                        text = value
                    elif isinstance(value, (int, float)):  # bool is an int
                        if isinstance(value, float) and not math.isfinite(value):
                            errors.append(
                                {
                                    "type": "string_type",
                                    "loc": [*where, name],
                                    "msg": f"expected a string, got {describe(value)}",
                                }
                            )
                            continue
                        text = str(value)
                    else:
                        errors.append(
                            {
                                "type": "string_type",
                                "loc": [*where, name],
                                "msg": f"expected a string, got {describe(value)}",
                            }
                        )
                        continue
                    categories = feature.categories
                    if categories is not None and text not in categories:
                        out.unseen[name] = out.unseen.get(name, 0) + 1
                    columns[name].append(text)
                else:
                    if not isinstance(value, str):
                        errors.append(
                            {
                                "type": "datetime_type",
                                "loc": [*where, name],
                                "msg": f"expected a date and time as text (ISO 8601), got {describe(value)}",
                            }
                        )
                        continue
                    columns[name].append(value)
            # Every feature is in the row (or it was refused above): more keys are unknown.
            if len(row) > len(names):
                for key, value in row.items():
                    if key not in names:
                        out.unknown[key] = out.unknown.get(key, 0) + 1
                        if isinstance(value, (dict, list)) and _nested_deeper(
                            value, MAX_FIELD_DEPTH
                        ):
                            errors.append(
                                {
                                    "type": "nested_too_deeply",
                                    "loc": [*where, key],
                                    "msg": f"a field the model does not use may nest arrays and objects {MAX_FIELD_DEPTH} levels deep at most",
                                }
                            )
        return out

    def frame(self, columns: dict[str, list[Any]]) -> Any:
        """The checked columns as the DataFrame the estimator saw in training.

        Numbers are float64 and text is ``object`` holding ``str`` with NaN for
        missing, as ``dataset.conform`` gives; dates are read as it reads them
        (offsets that differ from row to row become UTC), in the training's zone.
        """
        import numpy as np
        import pandas as pd

        from mlprod_cli.core.dataset import as_trained, parse_datetimes

        data = {}
        for feature in self.features:
            values = columns[feature.name]
            if feature.kind == NUMERIC:
                data[feature.name] = np.asarray(values, dtype=np.float64)
            elif feature.kind == CATEGORICAL:
                data[feature.name] = pd.Series(values, dtype=object)
            else:
                parsed = parse_datetimes(pd.Series(values, dtype=object))
                data[feature.name] = as_trained(parsed, feature.dtype)
        return pd.DataFrame(data, copy=False)


def load_model(
    registry: Any,
    version_id: str | None,
    *,
    pinned: bool = False,
    rules_of: Callable[[Any], Any] | None = None,
) -> LoadedModel:
    """Resolve (``version_id`` or the active model), hash-check, load and compile a version.

    ``rules_of(version)``: the rules to serve it with (see
    :func:`mlprod_cli.core.predict.version_rules`), checked before the estimator
    is loaded; it raises for rules that differ from the project's file.
    """
    version = registry.resolve(version_id)
    rules = rules_of(version) if rules_of is not None else None
    estimator = registry.load(version)
    return LoadedModel(version, estimator, pinned=pinned, rules=rules)
