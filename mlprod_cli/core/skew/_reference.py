"""The reference: what the training data says about each feature, built once, cacheable as JSON.

:meth:`ReferenceSummary.build` summarises a training frame for the features of its
schema: per numeric feature the PSI bins (the reference's deciles), the training
range, mean and standard deviation and a sample for KS and Wasserstein (every
finite value up to ``sample_size``, beyond it a uniform sample without
replacement); per categorical feature the count of each category (the
:data:`MAX_CATEGORIES` most frequent, the rest pooled); and the model's predicted
classes on the training rows, for prediction drift (a regression's predicted
values: summarised as a numeric feature is, kind ``numeric``). :meth:`~ReferenceSummary.to_dict`
and :meth:`~ReferenceSummary.from_dict` are its JSON form (the cache of ``mlprod skew``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlprod_cli.core.skew._distances import bin_counts, quantile_edges
from mlprod_cli.core.skew._messages import listing
from mlprod_cli.core.skew._values import column_lookup, parse_numbers, text_counts
from mlprod_cli.core.words import plural
from mlprod_cli.errors import DataError

SAMPLE_SIZE = 200_000
"""Values kept per feature and side for KS and Wasserstein."""
MAX_CATEGORIES = 1000
"""A categorical feature keeps at most this many reference categories (the most frequent)
and tracks at most this many distinct unseen ones; the rest is pooled into one bucket."""
PREDICTION = "prediction"
"""The name of the predicted-class pseudo-feature in a summary and a report."""
TASKS = ("classification", "regression")


def check_sample_size(sample_size: int) -> None:
    """DataError unless ``sample_size`` is a whole number of at least 1."""
    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
        raise DataError(f"sample_size must be a whole number of at least 1, got {sample_size!r}")


@dataclass
class ReferenceFeature:
    """What the training data says about one feature (see :class:`ReferenceSummary`)."""

    name: str
    kind: str  # numeric | categorical | datetime | prediction
    dtype: str
    rows: int
    nulls: int
    # numeric
    edges: np.ndarray | None = None
    counts: np.ndarray | None = None  # PSI bins, or categories (+ pooled "other" last)
    low: float | None = None  # the training range the schema records
    high: float | None = None
    mean: float | None = None
    std: float | None = None
    finite: int = 0  # finite values (the population of the sample)
    sample: np.ndarray | None = None  # sorted; all finite values up to sample_size
    # categorical
    categories: list[str] | None = None
    pooled: bool = False  # more than MAX_CATEGORIES: the rest is counted as "other"
    check_unseen: bool = True

    @property
    def values(self) -> int:
        return self.rows - self.nulls

    @property
    def null_rate(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0


class ReferenceSummary:
    """The training side of a skew comparison, built once and cacheable as JSON."""

    FORMAT = 1

    def __init__(
        self,
        features: list[ReferenceFeature],
        rows: int,
        *,
        predictions: ReferenceFeature | None = None,
        sample_size: int = SAMPLE_SIZE,
        seed: int = 0,
    ):
        self.features = features
        self.rows = rows
        self.predictions = predictions
        self.sample_size = sample_size
        self.seed = seed
        self.by_name = {f.name: f for f in features}

    @classmethod
    def build(
        cls,
        frame: Any,
        schema: Mapping[str, Any],
        *,
        predictions: Any = None,
        sample_size: int = SAMPLE_SIZE,
        seed: int = 0,
        task: str = "classification",
    ) -> ReferenceSummary:
        """Summarise the training ``frame`` for the features of ``schema`` (``infer_schema``).

        ``predictions``: the model's predicted classes on ``frame``, for prediction drift;
        with ``task="regression"`` its predicted values, summarised as a numeric feature
        (PSI bins, moments, a sample), a non-finite value counted as a null.
        """
        check_sample_size(sample_size)
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {task!r}")
        entries = _schema_features(schema)
        if len(frame) == 0:
            raise DataError("the training data has no rows")
        columns = column_lookup(frame)
        missing = [e["name"] for e in entries if e["name"] not in columns]
        if missing:
            raise DataError(
                f"the training data has no column for the schema's feature{'s' if len(missing) > 1 else ''}: {listing(missing)}"
            )
        features = []
        for index, entry in enumerate(entries):
            column = frame[columns[entry["name"]]]
            rng = np.random.default_rng([seed, 0, index])
            features.append(_reference_feature(entry, column, sample_size, rng))
        prediction = None
        if predictions is not None:
            labels = pd.Series(np.asarray(predictions, dtype=object))
            if len(labels) != len(frame):
                raise DataError(
                    f"{plural(len(labels), 'training prediction')} for {plural(len(frame), 'training row')}"
                )
        if predictions is not None and task == "regression":
            prediction = _numeric_predictions(labels, sample_size, np.random.default_rng([seed, 2]))
        elif predictions is not None:
            prediction = _categorical_reference(
                {"name": PREDICTION, "kind": "prediction", "categories": None},
                labels,
                kind="prediction",
            )
        return cls(features, len(frame), predictions=prediction, sample_size=sample_size, seed=seed)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; samples are little-endian float64, base64-encoded."""
        return {
            "format": self.FORMAT,
            "rows": self.rows,
            "sample_size": self.sample_size,
            "seed": self.seed,
            "features": [_feature_to_dict(f) for f in self.features],
            "predictions": None if self.predictions is None else _feature_to_dict(self.predictions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceSummary:
        """The inverse of :meth:`to_dict`; DataError when ``data`` is not such a summary."""
        try:
            if data["format"] != cls.FORMAT:
                raise DataError(
                    f"the skew reference summary has format {data['format']!r}; this mlprod reads format {cls.FORMAT}"
                )
            return cls(
                [_feature_from_dict(f) for f in data["features"]],
                int(data["rows"]),
                predictions=None
                if data.get("predictions") is None
                else _feature_from_dict(data["predictions"]),
                sample_size=int(data["sample_size"]),
                seed=int(data["seed"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"the skew reference summary is damaged ({type(exc).__name__}: {exc})"
            ) from None


def _schema_features(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    features = schema.get("features") if isinstance(schema, Mapping) else None
    if not isinstance(features, list) or not features:
        raise DataError("the training schema lists no features")
    for entry in features:
        if not isinstance(entry, Mapping) or "name" not in entry:
            raise DataError(f"the training schema has a feature without a name: {entry!r}")
        if entry.get("kind") not in ("numeric", "categorical", "datetime"):
            raise DataError(
                f"the training schema gives feature '{entry['name']}' the unknown kind {entry.get('kind')!r}"
            )
    return [dict(entry) for entry in features]


def _reference_feature(
    entry: Mapping[str, Any], column: Any, sample_size: int, rng: np.random.Generator
) -> ReferenceFeature:
    name, kind = entry["name"], entry["kind"]
    if kind == "categorical":
        return _categorical_reference(entry, column, kind="categorical")
    nulls = int(column.isna().sum())
    if kind == "datetime":
        return ReferenceFeature(name, kind, str(column.dtype), len(column), nulls)
    parsed = parse_numbers(column)
    if parsed.invalid:
        raise DataError(
            f"the training column '{name}' is numeric in the schema but holds {plural(parsed.invalid, 'value that is not a number', 'values that are not numbers')}, e.g. {parsed.examples[0]!r}"
        )
    present = parsed.values[~np.isnan(parsed.values)]
    finite = present[np.isfinite(present)]
    edges = quantile_edges(finite)
    sample = finite
    if finite.size > sample_size:
        sample = finite[rng.choice(finite.size, size=sample_size, replace=False)]
    low, high = entry.get("min"), entry.get("max")
    return ReferenceFeature(
        name,
        kind,
        str(column.dtype),
        len(column),
        nulls,
        edges=edges,
        counts=bin_counts(present, edges),
        low=float(low) if low is not None else (float(finite.min()) if finite.size else None),
        high=float(high) if high is not None else (float(finite.max()) if finite.size else None),
        mean=float(finite.mean()) if finite.size else None,
        std=float(finite.std()) if finite.size else None,
        finite=int(finite.size),
        sample=np.sort(sample),
    )


def _numeric_predictions(
    values: Any, sample_size: int, rng: np.random.Generator
) -> ReferenceFeature:
    """A regression's predicted values as a numeric feature; ±inf and NaN count as nulls
    (``serve`` logs a value that is not finite as ``null``)."""
    parsed = parse_numbers(values)
    if parsed.invalid:
        raise DataError(
            f"the training predictions of a regression hold {plural(parsed.invalid, 'value that is not a number', 'values that are not numbers')}, e.g. {parsed.examples[0]!r}"
        )
    numbers = np.where(np.isfinite(parsed.values), parsed.values, np.nan)
    entry = {"name": PREDICTION, "kind": "numeric"}
    return _reference_feature(entry, pd.Series(numbers), sample_size, rng)


def _categorical_reference(entry: Mapping[str, Any], column: Any, *, kind: str) -> ReferenceFeature:
    counts = text_counts(column)
    nulls = int(column.isna().sum())
    listed = entry.get("categories")
    known = dict(counts)
    for category in listed or ():
        known.setdefault(str(category), 0)
    # Most frequent first (ties by name), so that pooling keeps the ones that matter.
    ordered = sorted(known.items(), key=lambda kv: (-kv[1], kv[0]))
    pooled = len(ordered) > MAX_CATEGORIES
    kept = ordered[:MAX_CATEGORIES]
    categories = [c for c, _ in kept]
    tallies = [n for _, n in kept]
    if pooled:
        tallies.append(sum(n for _, n in ordered[MAX_CATEGORIES:]))
    return ReferenceFeature(
        entry["name"],
        kind,
        str(column.dtype),
        len(column),
        nulls,
        counts=np.asarray(tallies, dtype=np.int64),
        categories=categories,
        pooled=pooled,
        # Like conform(): a schema without a category list skips the unseen check.
        check_unseen=not pooled and (listed is not None or kind == "prediction"),
    )


def _feature_to_dict(f: ReferenceFeature) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "kind": f.kind,
        "dtype": f.dtype,
        "rows": f.rows,
        "nulls": f.nulls,
    }
    if f.kind == "numeric":
        out.update(
            edges=f.edges.tolist(),
            counts=f.counts.tolist(),
            low=f.low,
            high=f.high,
            mean=f.mean,
            std=f.std,
            finite=f.finite,
            sample=base64.b64encode(f.sample.astype("<f8").tobytes()).decode("ascii"),
        )
    elif f.kind in ("categorical", "prediction"):
        out.update(
            categories=list(f.categories),
            counts=f.counts.tolist(),
            pooled=f.pooled,
            check_unseen=f.check_unseen,
        )
    return out


def _feature_from_dict(d: Mapping[str, Any]) -> ReferenceFeature:
    f = ReferenceFeature(
        str(d["name"]), str(d["kind"]), str(d["dtype"]), int(d["rows"]), int(d["nulls"])
    )
    if f.kind == "numeric":
        f.edges = np.asarray(d["edges"], dtype=np.float64)
        f.counts = np.asarray(d["counts"], dtype=np.int64)
        f.low, f.high, f.mean, f.std = d["low"], d["high"], d["mean"], d["std"]
        f.finite = int(d["finite"])
        f.sample = np.frombuffer(base64.b64decode(d["sample"]), dtype="<f8").astype(np.float64)
        if f.counts.size != f.edges.size + 1 or f.sample.size > f.finite:
            raise ValueError(f"inconsistent numeric summary for '{f.name}'")
    elif f.kind in ("categorical", "prediction"):
        f.categories = [str(c) for c in d["categories"]]
        f.counts = np.asarray(d["counts"], dtype=np.int64)
        f.pooled = bool(d["pooled"])
        f.check_unseen = bool(d["check_unseen"])
        if f.counts.size != len(f.categories) + f.pooled:
            raise ValueError(f"inconsistent categorical summary for '{f.name}'")
    elif f.kind != "datetime":
        raise ValueError(f"unknown kind {f.kind!r}")
    return f
