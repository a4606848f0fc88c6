"""Training/serving skew: schema anomalies, distribution distances and prediction drift.

The training data (the *reference*) is summarised once into a :class:`ReferenceSummary`
(JSON-serialisable, so it can be cached next to a model). The serving data (the
*current* side) is streamed batch by batch into a :class:`CurrentAccumulator`, whose
memory does not grow with the number of rows. :func:`compare` turns the two into a
:class:`SkewReport`: per feature a value and an ok/warn/fail status per statistic, the
schema findings, and the drift of the predicted classes.

What is exact and what is sampled:

* PSI bin counts, category counts, null counts, out-of-range counts, unparseable values,
  prediction mismatches and score differences accumulate exactly, whatever the size.
* KS and Wasserstein need the values themselves. Each side keeps every value up to
  ``sample_size`` per feature (default 200,000), so the statistics are exact up to that
  size; beyond it they are computed from a uniform sample of ``sample_size`` values
  (Algorithm R on the current side, vectorised per batch; a sample without replacement
  on the reference side).

Every statistic equals SciPy's on the same data (tests/core/test_skew.py proves it with
hypothesis). A statistic that has no answer (no values on one side, a constant reference
for the normalised Wasserstein distance) is ``None`` with a reason, never NaN or inf.
docs/skew.md has every definition, the defaults and the status rules.
"""

from __future__ import annotations

import base64
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mlprod_cli.core.names import SKEW_STATISTICS
from mlprod_cli.errors import DataError

__all__ = [
    "DEFAULT_THRESHOLDS",
    "PSI_BINS",
    "PSI_EPSILON",
    "SAMPLE_SIZE",
    "STATISTICS",
    "CurrentAccumulator",
    "CurrentSummary",
    "FeatureSkew",
    "ReferenceFeature",
    "ReferenceSummary",
    "SchemaFinding",
    "SkewReport",
    "Statistic",
    "Threshold",
    "compare",
    "jensen_shannon_distance",
    "ks_2samp",
    "linf_distance",
    "population_stability_index",
    "quantile_edges",
    "resolve_thresholds",
    "to_dict",
    "wasserstein_distance",
]

OK, WARN, FAIL = "ok", "warn", "fail"
_RANK = {OK: 0, WARN: 1, FAIL: 2}

PSI_BINS = 10
"""Numeric PSI uses the reference's deciles as bin edges (fewer when quantiles tie)."""
PSI_EPSILON = 1e-4
"""Proportions below this are raised to it in PSI, so an empty bin gives a large, finite term."""
SAMPLE_SIZE = 200_000
"""Values kept per feature and side for KS and Wasserstein."""
MAX_CATEGORIES = 1000
"""A categorical feature keeps at most this many reference categories (the most frequent)
and tracks at most this many distinct unseen ones; the rest is pooled into one bucket."""
MAX_EXAMPLES = 5
KS_EXACT_SIZE = 10_000
"""Up to this sample size the KS p-value is SciPy's; beyond it, Kolmogorov's limit."""
PREDICTION = "prediction"
"""The name of the predicted-class pseudo-feature in a report."""

# Above a warn value -> warn, above a fail value -> fail. See docs/skew.md for the reasons.
STATISTICS = SKEW_STATISTICS


@dataclass(frozen=True)
class Threshold:
    """The levels above which a statistic warns and fails; ``None`` means never."""

    warn: float | None
    fail: float | None

    def status(self, value: float | None) -> str:
        if value is None:
            return OK
        if self.fail is not None and value > self.fail:
            return FAIL
        if self.warn is not None and value > self.warn:
            return WARN
        return OK


DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "psi": Threshold(0.1, 0.25),
    "ks": Threshold(0.1, 0.2),
    "wasserstein": Threshold(0.1, 0.25),
    "js": Threshold(0.1, 0.2),
    "linf": Threshold(0.1, 0.2),
    "null_rate": Threshold(0.05, 0.1),
    "out_of_range": Threshold(0.01, 0.05),
    "prediction_mismatch": Threshold(0.01, 0.05),
    "score_diff": Threshold(0.01, 0.05),
}

# The statistics of a report per kind of feature, in report order (null_rate comes last).
_NUMERIC_STATS = ("psi", "ks", "ks_pvalue", "wasserstein", "wasserstein_raw")
_CATEGORICAL_STATS = ("psi", "js", "linf")

# Reasons a statistic is undefined, shown to users as they are.
MISSING_IN_SERVING = "the feature is missing in the serving data"
NO_CURRENT_VALUES = "no values in the serving data"
NO_REFERENCE_VALUES = "no values in the training data"
NO_FINITE_VALUES = "no finite values on one side"
CONSTANT_REFERENCE = "the training values are constant (standard deviation 0)"
NO_SCIPY = "scipy is not installed"
NO_REFERENCE_PREDICTIONS = "no predictions on the training data were given"
NO_CURRENT_PREDICTIONS = "no serving predictions were given"


# --------------------------------------------------------------------------- statistics


def quantile_edges(values: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Interior bin edges: the reference's ``1/bins … (bins-1)/bins`` quantiles, de-duplicated.

    The bins are ``(-inf, e1], (e1, e2], …, (ek, +inf)``. A constant reference ``c``
    gets the edges ``[c⁻, c]`` (``c⁻`` the float just below ``c``) so that the bins are
    "below", "equal to" and "above" the constant value.

    >>> quantile_edges(np.arange(1.0, 101.0)).tolist()[:3]
    [10.9, 20.8, 30.7]
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.empty(0)
    edges = np.unique(np.quantile(values, np.arange(1, bins) / bins))
    if edges.size == 1:
        edges = np.array([np.nextafter(edges[0], -np.inf), edges[0]])
    return edges


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of ``values`` (no NaN) in the bins ``(-inf, e1], …, (ek, +inf)``."""
    return np.bincount(np.searchsorted(edges, values, side="left"), minlength=edges.size + 1)


def population_stability_index(
    reference: Any, current: Any, *, epsilon: float = PSI_EPSILON
) -> float:
    """PSI between two count (or proportion) vectors over the same bins.

    ``PSI = Σ (c_i - r_i) · ln(c_i / r_i)`` with ``r``, ``c`` the proportions, each
    raised to at least ``epsilon`` (not renormalised) so that empty bins stay finite.

    >>> round(population_stability_index([50, 50], [90, 10]), 4)
    0.8789
    """
    r, c = _frequency_pair(reference, current)
    r = np.maximum(r, epsilon)
    c = np.maximum(c, epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def jensen_shannon_distance(reference: Any, current: Any) -> float:
    """Jensen–Shannon *distance* (the square root of the divergence), base 2, in [0, 1].

    Equal to ``scipy.spatial.distance.jensenshannon(reference, current, base=2)``.

    >>> jensen_shannon_distance([1, 0], [0, 1])
    1.0
    """
    p, q = _frequency_pair(reference, current)
    m = (p + q) / 2.0
    js = _kl_terms(p, m) + _kl_terms(q, m)
    js /= np.log(2.0)
    return float(np.sqrt(max(js, 0.0) / 2.0))


def linf_distance(reference: Any, current: Any) -> float:
    """The largest absolute difference between two frequency vectors (L-infinity).

    >>> linf_distance([3, 1], [1, 1])
    0.25
    """
    p, q = _frequency_pair(reference, current)
    return float(np.max(np.abs(p - q)))


def ks_2samp(reference: Any, current: Any) -> tuple[float, float | None]:
    """Two-sample, two-sided Kolmogorov–Smirnov statistic and p-value.

    The statistic equals ``scipy.stats.ks_2samp(reference, current).statistic``. The
    p-value equals SciPy's (``method="auto"``) up to an effective sample size
    ``n·m/(n+m)`` of 10,000 and uses Kolmogorov's limiting distribution beyond it (see
    :func:`_ks_pvalue`); it is ``None`` when SciPy is not installed.
    """
    ref, cur = _sample_pair(reference, current)
    d, _ = _ks_and_wasserstein(ref, cur)
    return d, _ks_pvalue(ref, cur, d)


def wasserstein_distance(reference: Any, current: Any) -> float:
    """First Wasserstein (earth mover's) distance between two 1-D samples.

    Equal to ``scipy.stats.wasserstein_distance(reference, current)``.
    """
    return _ks_and_wasserstein(*_sample_pair(reference, current))[1]


def _frequency_pair(reference: Any, current: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two count vectors over the same bins as proportions; DataError when that is not so."""
    out = []
    for what, counts in (("reference", reference), ("current", current)):
        counts = np.asarray(counts, dtype=np.float64)
        if counts.ndim != 1 or not np.isfinite(counts).all() or (counts < 0).any():
            raise DataError(f"the {what} counts must be a flat list of non-negative numbers")
        if counts.sum() <= 0:
            raise DataError(f"the {what} counts are all zero")
        out.append(counts / counts.sum())
    if out[0].size != out[1].size:
        raise DataError(f"{out[0].size} reference bins but {out[1].size} current bins")
    return out[0], out[1]


def _sample_pair(reference: Any, current: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two samples of finite numbers, sorted; DataError when either is empty or not finite."""
    out = []
    for what, values in (("reference", reference), ("current", current)):
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size == 0:
            raise DataError(f"the {what} sample is empty")
        if not np.isfinite(values).all():
            raise DataError(f"the {what} sample holds NaN or infinite values")
        out.append(np.sort(values))
    return out[0], out[1]


def _proportions(counts: Any) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def _kl_terms(p: np.ndarray, m: np.ndarray) -> float:
    """``Σ p·ln(p/m)`` over ``p > 0`` (``m > 0`` there), as ``scipy.special.rel_entr`` sums."""
    terms = np.zeros_like(p)
    positive = p > 0
    terms[positive] = p[positive] * np.log(p[positive] / m[positive])
    return float(np.sum(terms))


def _ks_and_wasserstein(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """KS statistic and W1 distance from two *sorted* non-empty samples, in one merge.

    As SciPy does, both empirical CDFs are compared at the values of the pooled sample:
    ``D = max |F_ref - F_cur|`` and ``W = Σ |F_ref - F_cur| · Δx`` between successive
    pooled values. Tied values add nothing to either (``Δx = 0``), so only the last of
    each run of equal values is kept; a stable merge tells which side each value is from.
    """
    both = np.concatenate((ref, cur))
    order = np.argsort(both, kind="stable")  # two sorted runs: a linear merge
    pooled = both[order]
    from_ref = np.cumsum(order < ref.size)
    ends = np.flatnonzero(np.append(pooled[1:] != pooled[:-1], True))
    below_ref = from_ref[ends]  # reference values <= pooled[end]
    gaps = np.abs(below_ref / ref.size - (ends + 1 - below_ref) / cur.size)
    return float(gaps.max()), float(np.dot(gaps[:-1], np.diff(pooled[ends])))


def _ks_pvalue(ref: np.ndarray, cur: np.ndarray, d: float) -> float | None:
    """SciPy's two-sided p-value, except for large samples (see docs/skew.md).

    * both samples at most 10,000 values: ``ks_2samp(method="auto")``, the exact p-value;
    * effective size ``en = n·m/(n+m)`` at most 10,000: ``kstwo.sf(d, round(en))``, what
      ``ks_2samp`` computes (``method="auto"`` and ``"asymp"`` alike);
    * larger: Kolmogorov's limiting distribution ``kstwobign.sf(√en · d)``, within 0.003
      of ``kstwo.sf`` there and a thousand times faster (``kstwo.sf`` takes 0.1 s per
      feature at ``en`` = 100,000, the default sample sizes).
    """
    en = float(ref.size) * float(cur.size) / (float(ref.size) + float(cur.size))
    if max(ref.size, cur.size) > KS_EXACT_SIZE and np.round(en) > KS_EXACT_SIZE:
        # kstwobign.sf is scipy.special.kolmogorov; importing scipy.special alone
        # takes a tenth of the second scipy.stats costs.
        try:
            from scipy.special import kolmogorov
        except ImportError:
            return None
        return float(np.clip(kolmogorov(math.sqrt(en) * d), 0.0, 1.0))
    try:
        from scipy import stats
    except ImportError:  # scipy comes with scikit-learn, but mlprod does not require it
        return None
    if max(ref.size, cur.size) <= KS_EXACT_SIZE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # exact -> asymp fallback note
            return float(stats.ks_2samp(ref, cur, method="auto").pvalue)
    return float(np.clip(stats.kstwo.sf(d, np.round(en)), 0.0, 1.0))


# --------------------------------------------------------------------------- thresholds


def resolve_thresholds(
    thresholds: Mapping[str, Any] | None = None,
    feature_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    features: Iterable[str] | None = None,
) -> tuple[dict[str, Threshold], dict[str, dict[str, Threshold]]]:
    """The defaults overlaid with ``skew.thresholds`` and, per feature, ``skew.features``.

    A value is a number ``x`` (fail above ``x``, warn above ``x/2``) or a mapping
    ``{warn, fail}``: a missing ``warn`` is half of ``fail``, a missing ``fail`` means
    the statistic never fails. Bad values raise DataError naming the key.
    """
    base = dict(DEFAULT_THRESHOLDS)
    base.update(_threshold_map("skew.thresholds", thresholds))
    known = None if features is None else list(features)
    per_feature: dict[str, dict[str, Threshold]] = {}
    if feature_overrides is not None and not isinstance(feature_overrides, Mapping):
        raise DataError(
            f"skew.features: expected a mapping of feature names, got {_describe(feature_overrides)}"
        )
    for name, overrides in (feature_overrides or {}).items():
        if known is not None and name not in known:
            raise DataError(
                f"skew.features.{name}: no training feature is named {name!r} (features: {_listing(known)})"
            )
        per_feature[name] = {**base, **_threshold_map(f"skew.features.{name}", overrides)}
    return base, per_feature


def _threshold_map(key: str, value: Any) -> dict[str, Threshold]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DataError(f"{key}: expected a mapping of statistic names, got {_describe(value)}")
    out = {}
    for name, entry in value.items():
        if name not in STATISTICS:
            raise DataError(
                f"{key}.{name}: unknown skew statistic (known: {', '.join(STATISTICS)})"
            )
        out[name] = _threshold(f"{key}.{name}", entry)
    return out


def _threshold(key: str, value: Any) -> Threshold:
    if isinstance(value, Threshold):
        return value
    if isinstance(value, Mapping):
        unknown = sorted(str(k) for k in set(value) - {"warn", "fail"})
        if unknown:
            raise DataError(f"{key}: unknown key {unknown[0]!r} (expected warn and/or fail)")
        warn = None if value.get("warn") is None else _level(f"{key}.warn", value["warn"])
        fail = None if value.get("fail") is None else _level(f"{key}.fail", value["fail"])
        if warn is None and fail is not None:
            warn = fail / 2
        if warn is not None and fail is not None and warn > fail:
            raise DataError(f"{key}: warn ({warn:g}) is above fail ({fail:g})")
        return Threshold(warn, fail)
    fail = _level(key, value)
    return Threshold(fail / 2, fail)


def _level(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DataError(f"{key}: expected a number or {{warn, fail}}, got {_describe(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise DataError(f"{key}: expected a finite number, got {number}")
    if number < 0:
        raise DataError(f"{key}: must be at least 0, got {number:g}")
    return number


# --------------------------------------------------------------------------- the reference


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
    ) -> ReferenceSummary:
        """Summarise the training ``frame`` for the features of ``schema`` (``infer_schema``).

        ``predictions``: the model's predicted classes on ``frame``, for prediction drift.
        """
        _check_sample_size(sample_size)
        entries = _schema_features(schema)
        if len(frame) == 0:
            raise DataError("the training data has no rows")
        columns = _column_lookup(frame)
        missing = [e["name"] for e in entries if e["name"] not in columns]
        if missing:
            raise DataError(
                f"the training data has no column for the schema's feature{'s' if len(missing) > 1 else ''}: {_listing(missing)}"
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
                    f"{len(labels)} training predictions for {len(frame)} training rows"
                )
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
    parsed = _parse_numbers(column)
    if parsed.invalid:
        raise DataError(
            f"the training column '{name}' is numeric in the schema but holds {parsed.invalid} values that are not numbers, e.g. {parsed.examples[0]!r}"
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
        counts=_bin_counts(present, edges),
        low=float(low) if low is not None else (float(finite.min()) if finite.size else None),
        high=float(high) if high is not None else (float(finite.max()) if finite.size else None),
        mean=float(finite.mean()) if finite.size else None,
        std=float(finite.std()) if finite.size else None,
        finite=int(finite.size),
        sample=np.sort(sample),
    )


def _categorical_reference(entry: Mapping[str, Any], column: Any, *, kind: str) -> ReferenceFeature:
    counts = _text_counts(column)
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


# --------------------------------------------------------------------------- the current side


class _Reservoir:
    """A uniform sample of at most ``capacity`` values of a stream (Algorithm R).

    The first ``capacity`` values are kept as they come; value number ``i`` (0-based)
    after that replaces slot ``j ~ U{0..i}`` when ``j < capacity``. A batch draws all its
    ``j`` at once and applies the replacements in stream order (the last write to a slot
    wins), which is exactly the sequential algorithm.
    """

    __slots__ = ("capacity", "rng", "seen", "size", "values")

    def __init__(self, capacity: int, rng: np.random.Generator):
        self.capacity = capacity
        self.rng = rng
        self.seen = 0
        self.size = 0
        self.values = np.empty(0)

    def add(self, x: np.ndarray) -> None:
        if x.size == 0:
            return
        fill = min(self.capacity - self.size, x.size)
        if fill > 0:
            if self.size + fill > self.values.size:  # grow by doubling, up to capacity
                grown = np.empty(min(self.capacity, max(self.size + fill, 2 * self.values.size)))
                grown[: self.size] = self.values[: self.size]
                self.values = grown
            self.values[self.size : self.size + fill] = x[:fill]
            self.size += fill
        rest = x[fill:]
        if rest.size:
            first = self.seen + fill
            slots = self.rng.integers(0, np.arange(first + 1, first + rest.size + 1))
            hit = np.flatnonzero(slots < self.capacity)
            if hit.size:
                # The last write to a slot wins: the largest stream position per slot.
                # (ufunc.at is unbuffered, unlike fancy assignment with repeated indices.)
                winner = np.full(self.capacity, -1, dtype=np.int64)
                np.maximum.at(winner, slots[hit], hit)
                written = np.flatnonzero(winner >= 0)
                self.values[written] = rest[winner[written]]
        self.seen += x.size

    def sorted(self) -> np.ndarray:
        return np.sort(self.values[: self.size])


@dataclass
class _Parsed:
    values: np.ndarray  # float64, NaN for null or unparseable
    invalid: int = 0  # non-null values that are not numbers
    examples: list[str] = field(default_factory=list)
    text: bool = False  # the column is not numeric: text, bool, dates


def _parse_numbers(column: Any) -> _Parsed:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return _Parsed(column.to_numpy(dtype=np.float64, na_value=np.nan))
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in _NUMBERS:
        # Python numbers in an object column (JSON with nulls, say): not a type change.
        values = pd.to_numeric(column, errors="coerce")
        return _Parsed(values.to_numpy(dtype=np.float64, na_value=np.nan))
    present = column.notna().to_numpy()
    if pd.api.types.is_bool_dtype(column):
        values = column.astype("float64").to_numpy(na_value=np.nan)
    elif pd.api.types.is_datetime64_any_dtype(column) or isinstance(column.dtype, pd.PeriodDtype):
        values = np.full(len(column), np.nan)
    else:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = present & np.isnan(values)
    invalid = int(bad.sum())
    examples = []
    if invalid:
        seen = column[bad].drop_duplicates().head(MAX_EXAMPLES)
        examples = [str(v) for v in seen]
    return _Parsed(values, invalid, examples, text=True)


_NUMBERS = {"integer", "floating", "mixed-integer-float", "decimal", "empty"}


def _text(value: Any) -> str:
    """A category as text, as ``infer_schema`` writes it; integral floats lose their ``.0``
    so that an integer column that gained a null (and became float) keeps its categories."""
    if (
        isinstance(value, (float, np.floating))
        and math.isfinite(value)
        and float(value).is_integer()
    ):
        return str(int(value))
    return str(value)


def _text_counts(column: Any) -> dict[str, int]:
    """Non-null values of ``column`` counted by their text, counting distinct values first."""
    counts = column.value_counts(dropna=True, sort=False)
    out: dict[str, int] = {}
    for value, n in zip(counts.index.tolist(), counts.to_numpy().tolist(), strict=True):
        if n:
            key = _text(value)
            out[key] = out.get(key, 0) + int(n)
    return out


@dataclass
class _NumericState:
    rng: np.random.Generator
    capacity: int
    bins: np.ndarray
    present_rows: int = 0
    nulls: int = 0
    invalid: int = 0
    examples: list[str] = field(default_factory=list)
    dtypes: set[str] = field(default_factory=set)
    text: bool = False
    below: int = 0
    above: int = 0
    finite: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    reservoir: _Reservoir | None = None

    def __post_init__(self) -> None:
        self.reservoir = _Reservoir(self.capacity, self.rng)


@dataclass
class _CategoricalState:
    counts: np.ndarray  # per reference category (+ "other" when the reference is pooled)
    present_rows: int = 0
    nulls: int = 0
    unseen: dict[str, int] = field(default_factory=dict)
    unseen_pooled: int = 0  # unseen values beyond MAX_CATEGORIES distinct ones


@dataclass
class _DatetimeState:
    present_rows: int = 0
    nulls: int = 0
    invalid: int = 0
    examples: list[str] = field(default_factory=list)
    dtypes: set[str] = field(default_factory=set)


@dataclass
class _PredictionState:
    categorical: _CategoricalState
    given: bool = False
    compared: int = 0
    mismatches: int = 0
    score_rows: int = 0
    score_diff_sum: float = 0.0
    score_diff_max: float = 0.0


class CurrentAccumulator:
    """The serving side, fed batch by batch in memory that does not grow with the rows.

    ``ignore_columns``: columns of the serving data that are not features and should not
    be reported as unexpected (a request id, a timestamp, the logged prediction).
    """

    def __init__(
        self,
        reference: ReferenceSummary,
        *,
        sample_size: int = SAMPLE_SIZE,
        seed: int = 0,
        ignore_columns: Iterable[str] = (),
    ):
        _check_sample_size(sample_size)
        self.reference = reference
        self.sample_size = sample_size
        self.rows = 0
        self.ignore = {str(c) for c in ignore_columns}
        self.extra: dict[str, int] = {}  # unexpected column -> rows it came with
        self.states: dict[str, Any] = {}
        for index, f in enumerate(reference.features):
            if f.kind == "numeric":
                rng = np.random.default_rng([seed, 1, index])
                self.states[f.name] = _NumericState(
                    rng, sample_size, np.zeros(f.edges.size + 1, dtype=np.int64)
                )
            elif f.kind == "categorical":
                self.states[f.name] = _CategoricalState(np.zeros(f.counts.size, dtype=np.int64))
            else:
                self.states[f.name] = _DatetimeState()
        pred_counts = 0 if reference.predictions is None else reference.predictions.counts.size
        self.predictions = _PredictionState(_CategoricalState(np.zeros(pred_counts, np.int64)))
        self._prediction_index = (
            None if reference.predictions is None else pd.Index(reference.predictions.categories)
        )
        self._category_index = {
            f.name: pd.Index(f.categories) for f in reference.features if f.kind == "categorical"
        }

    def add(
        self,
        frame: Any,
        *,
        predictions: Any = None,
        offline_predictions: Any = None,
        scores: Any = None,
        offline_scores: Any = None,
    ) -> None:
        """Count one batch (a pandas DataFrame) of serving rows.

        ``predictions``: the classes served for these rows (prediction drift against the
        training predictions). ``offline_predictions`` / ``scores`` / ``offline_scores``:
        the served outputs next to the same model re-run offline on the logged features
        (prediction mismatch and score difference), one row per row of ``frame``.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"a batch must be a pandas DataFrame, not {type(frame).__name__}")
        n = len(frame)
        if n == 0:
            return
        columns = _column_lookup(frame)
        names = [f.name for f in self.reference.features]
        if not any(name in columns for name in names):
            raise DataError(
                f"the serving data has none of the training features: {_listing(names)}"
            )
        duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        if duplicated:
            raise DataError(f"the serving data has the column '{duplicated[0]}' more than once")
        checked = self._check_predictions(
            n, predictions, offline_predictions, scores, offline_scores
        )
        self._add_predictions(n, *checked)
        for f in self.reference.features:
            state = self.states[f.name]
            if f.name not in columns:
                continue  # rows without the column count as nulls (see _null_rate)
            column = frame[columns[f.name]]
            state.present_rows += n
            if f.kind == "numeric":
                self._add_numeric(f, state, column)
            elif f.kind == "categorical":
                self._add_categorical(self._category_index[f.name], f, state, column)
            else:
                self._add_datetime(state, column)
        for text in columns:
            if text not in self.reference.by_name and text not in self.ignore:
                self.extra[text] = self.extra.get(text, 0) + n
        self.rows += n

    def _add_numeric(self, f: ReferenceFeature, state: _NumericState, column: Any) -> None:
        parsed = _parse_numbers(column)
        values = parsed.values
        if parsed.text:
            state.text = True
            state.dtypes.add(_dtype_text(column))
            state.invalid += parsed.invalid
            _add_examples(state.examples, parsed.examples)
        missing = np.isnan(values)
        state.nulls += int(missing.sum()) - parsed.invalid
        present = values[~missing] if missing.any() else values
        state.bins += np.bincount(
            np.searchsorted(f.edges, present, side="left"), minlength=state.bins.size
        )
        if f.low is not None:
            state.below += int(np.count_nonzero(present < f.low))
            state.above += int(np.count_nonzero(present > f.high))
        finite = present if np.isfinite(present).all() else present[np.isfinite(present)]
        if finite.size:
            # Chan et al.'s pairwise update: a running mean and variance, batch by batch.
            # Values near the float limit (1e300) make them infinite: so be it, quietly
            # (numpy's RuntimeWarning would land in the middle of the report's stderr).
            with np.errstate(over="ignore", invalid="ignore"):
                mean, m2 = float(finite.mean()), float(np.square(finite - finite.mean()).sum())
                total = state.finite + finite.size
                delta = mean - state.mean
                state.mean += delta * finite.size / total
                state.m2 += m2 + delta * delta * state.finite * finite.size / total
            state.finite = total
            state.low = min(state.low, float(finite.min()))
            state.high = max(state.high, float(finite.max()))
            state.reservoir.add(finite)

    @staticmethod
    def _add_categorical(
        index: pd.Index, f: ReferenceFeature, state: _CategoricalState, column: Any
    ) -> None:
        counts = _text_counts(column)
        state.nulls += len(column) - sum(counts.values())
        _count_categories(index, f, state, counts)

    @staticmethod
    def _add_datetime(state: _DatetimeState, column: Any) -> None:
        present = column.notna().to_numpy()
        state.nulls += int((~present).sum())
        if pd.api.types.is_datetime64_any_dtype(column):
            return
        state.dtypes.add(_dtype_text(column))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(column, errors="coerce", format="ISO8601")
            bad = present & parsed.isna().to_numpy()
            if bad.any():  # not ISO 8601: let pandas guess the format of those values
                again = pd.to_datetime(column[bad], errors="coerce", format="mixed")
                bad[bad] = again.isna().to_numpy()
        if bad.any():
            state.invalid += int(bad.sum())
            _add_examples(
                state.examples, [str(v) for v in column[bad].drop_duplicates().head(MAX_EXAMPLES)]
            )

    @staticmethod
    def _check_predictions(
        n: int, predictions: Any, offline: Any, scores: Any, offline_scores: Any
    ) -> tuple[Any, Any, Any]:
        """The prediction inputs of one batch, checked before anything is counted."""
        labels = redone = diff = None
        if predictions is not None:
            labels = pd.Series(np.asarray(predictions, dtype=object))
            _check_length("predictions", labels, n)
            if offline is not None:
                redone = pd.Series(np.asarray(offline, dtype=object))
                _check_length("offline_predictions", redone, n)
        elif offline is not None:
            raise DataError("offline_predictions need the served predictions too")
        if (scores is None) != (offline_scores is None):
            raise DataError("score differences need both scores and offline_scores")
        if scores is not None:
            served_scores = _score_array("scores", scores, n)
            redone_scores = _score_array("offline_scores", offline_scores, n)
            if served_scores.shape != redone_scores.shape:
                raise DataError(
                    f"scores have shape {served_scores.shape} but offline_scores {redone_scores.shape}"
                )
            diff = np.abs(served_scores - redone_scores)
            diff = diff.max(axis=1) if diff.ndim == 2 else diff
        return labels, redone, diff

    def _add_predictions(self, n: int, labels: Any, redone: Any, diff: Any) -> None:
        state = self.predictions
        if labels is not None:
            state.given = True
            counts = _text_counts(labels)
            state.categorical.present_rows += n
            state.categorical.nulls += n - sum(counts.values())
            if self.reference.predictions is not None:
                _count_categories(
                    self._prediction_index, self.reference.predictions, state.categorical, counts
                )
        if redone is not None:
            served = labels.map(_text, na_action="ignore").to_numpy(dtype=object)
            again = redone.map(_text, na_action="ignore").to_numpy(dtype=object)
            state.compared += n
            state.mismatches += int(np.count_nonzero(served != again))
        if diff is not None:
            state.score_rows += n
            state.score_diff_sum += float(diff.sum())
            state.score_diff_max = max(state.score_diff_max, float(diff.max()))

    def result(self) -> CurrentSummary:
        """What has been counted so far, for :func:`compare` (a view: no copies)."""
        return CurrentSummary(
            rows=self.rows,
            states=self.states,
            extra=dict(self.extra),
            predictions=self.predictions,
            sample_size=self.sample_size,
        )


@dataclass(frozen=True)
class CurrentSummary:
    """What :meth:`CurrentAccumulator.result` returns: the counts per feature, and the
    values kept for KS and Wasserstein through :meth:`sample`."""

    rows: int
    states: dict[str, Any]
    extra: dict[str, int]
    predictions: _PredictionState
    sample_size: int

    def sample(self, name: str) -> np.ndarray:
        """The values of numeric feature ``name`` kept so far, sorted (a new array).

        Sorted one feature at a time, so that :func:`compare` holds one copy at most.
        """
        return self.states[name].reservoir.sorted()


def _count_categories(
    index: pd.Index, f: ReferenceFeature, state: _CategoricalState, counts: dict[str, int]
) -> None:
    if not counts:
        return
    labels = list(counts)
    tallies = np.fromiter(counts.values(), dtype=np.int64, count=len(labels))
    where = index.get_indexer(labels)
    known = where >= 0
    state.counts[where[known]] += tallies[known]  # labels are distinct: no repeated index
    if known.all():
        return
    if f.pooled:
        state.counts[-1] += int(tallies[~known].sum())
        return
    for i in np.flatnonzero(~known):
        label = labels[i]
        if label in state.unseen or len(state.unseen) < MAX_CATEGORIES:
            state.unseen[label] = state.unseen.get(label, 0) + int(tallies[i])
        else:
            state.unseen_pooled += int(tallies[i])


def _add_examples(examples: list[str], new: list[str]) -> None:
    for value in new:
        if len(examples) >= MAX_EXAMPLES:
            return
        if value not in examples:
            examples.append(value)


def _check_length(what: str, values: Any, n: int) -> None:
    if len(values) != n:
        raise DataError(f"{len(values)} {what} for a batch of {n} rows")


def _score_array(what: str, scores: Any, n: int) -> np.ndarray:
    try:
        array = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be numbers") from None
    if array.ndim not in (1, 2) or array.shape[0] != n:
        raise DataError(
            f"{what} must have one row per row of the batch ({n}), got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise DataError(f"{what} hold NaN or infinite values")
    return array


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Statistic:
    """One statistic of one feature: its value (or ``None`` and why) and its status."""

    value: float | None
    reason: str | None = None
    status: str = OK
    warn: float | None = None  # the thresholds applied; None for informative statistics
    fail: float | None = None


@dataclass(frozen=True)
class FeatureSkew:
    """One feature (or the predictions) compared between training and serving."""

    name: str
    kind: str  # numeric | categorical | datetime | prediction
    status: str
    statistics: dict[str, Statistic]
    values_reference: int  # non-null values on each side
    values_current: int
    null_rate_reference: float
    null_rate_current: float | None
    sampled: bool = False  # KS/Wasserstein estimated from a sample of sample_size values
    summary: dict[str, Any] = field(default_factory=dict)  # mean/std/min/max per side
    distribution: dict[str, Any] = field(default_factory=dict)  # bins or categories


@dataclass(frozen=True)
class SchemaFinding:
    """A schema anomaly: kind is missing_feature, extra_column, type_change,
    unseen_categories or out_of_range."""

    kind: str
    column: str
    status: str
    message: str
    count: int | None = None
    share: float | None = None
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkewReport:
    """Everything :func:`compare` found; ``status`` is the worst status in it."""

    features: list[FeatureSkew]
    schema: list[SchemaFinding]
    predictions: FeatureSkew | None
    status: str
    rows_reference: int
    rows_current: int
    sample_size: int = SAMPLE_SIZE
    thresholds: dict[str, Threshold] = field(default_factory=dict)

    def feature(self, name: str) -> FeatureSkew:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)


def compare(
    reference: ReferenceSummary,
    current: CurrentAccumulator,
    thresholds: Mapping[str, Any] | None = None,
    feature_overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> SkewReport:
    """Compare the training summary with the serving data counted so far.

    ``thresholds`` and ``feature_overrides`` are ``skew.thresholds`` and
    ``skew.features`` of ``mlprod.yaml`` (see :func:`resolve_thresholds`).
    """
    if current.reference is not reference:
        raise ValueError("the accumulator was built for another reference summary")
    base, per_feature = resolve_thresholds(
        thresholds, feature_overrides, [f.name for f in reference.features]
    )
    seen = current.result()
    if seen.rows == 0:
        raise DataError("the serving data has no rows")
    findings: list[SchemaFinding] = []
    features = []
    for f in reference.features:
        limits = per_feature.get(f.name, base)
        state = seen.states[f.name]
        own: list[SchemaFinding] = []
        if state.present_rows == 0:
            own.append(
                SchemaFinding(
                    "missing_feature", f.name, FAIL, f"'{f.name}' is missing in the serving data"
                )
            )
            skew = _missing_feature(f)
        elif f.kind == "numeric":
            skew = _numeric_skew(f, state, seen, reference, limits, own)
        elif f.kind == "categorical":
            skew = _categorical_skew(f, state, seen.rows, limits, own)
        else:
            skew = _datetime_skew(f, state, seen.rows, limits, own)
        status = _worst([skew.status, *(x.status for x in own)])
        features.append(replace(skew, status=status))
        findings.extend(own)
    for column, rows in seen.extra.items():
        findings.append(
            SchemaFinding(
                "extra_column",
                column,
                WARN,
                f"'{column}' is in the serving data ({rows} rows) but not among the training features",
                count=rows,
            )
        )
    predictions = _prediction_skew(reference, seen, base)
    status = _worst(
        [f.status for f in features]
        + [x.status for x in findings]
        + ([predictions.status] if predictions else [])
    )
    return SkewReport(
        features=features,
        schema=findings,
        predictions=predictions,
        status=status,
        rows_reference=reference.rows,
        rows_current=seen.rows,
        sample_size=seen.sample_size,
        thresholds=base,
    )


def _missing_feature(f: ReferenceFeature) -> FeatureSkew:
    names = {"numeric": _NUMERIC_STATS, "categorical": _CATEGORICAL_STATS}.get(f.kind, ())
    stats = {name: Statistic(None, MISSING_IN_SERVING) for name in (*names, "null_rate")}
    return FeatureSkew(f.name, f.kind, FAIL, stats, f.values, 0, f.null_rate, None)


def _null_rate(f: ReferenceFeature, state: Any, rows: int, limits: dict[str, Threshold]):
    # Rows of batches that lacked the column count as nulls: the model saw no value there.
    current = (state.nulls + rows - state.present_rows) / rows
    change = current - f.null_rate
    return current, _judged(change, limits["null_rate"], magnitude=abs(change))


def _numeric_skew(
    f: ReferenceFeature,
    state: _NumericState,
    seen: CurrentSummary,
    reference: ReferenceSummary,
    limits: dict[str, Threshold],
    own: list[SchemaFinding],
) -> FeatureSkew:
    rate, null_stat = _null_rate(f, state, seen.rows, limits)
    values = int(state.bins.sum())
    stats: dict[str, Statistic] = {}
    if values == 0 or f.values == 0:
        reason = NO_REFERENCE_VALUES if f.values == 0 else NO_CURRENT_VALUES
        for name in _NUMERIC_STATS:
            stats[name] = Statistic(None, reason)
    else:
        stats["psi"] = _judged(population_stability_index(f.counts, state.bins), limits["psi"])
        cur = seen.sample(f.name)
        if f.sample.size == 0 or cur.size == 0:
            for name in ("ks", "ks_pvalue", "wasserstein", "wasserstein_raw"):
                stats[name] = Statistic(None, NO_FINITE_VALUES)
        else:
            d, w = _ks_and_wasserstein(f.sample, cur)
            stats["ks"] = _judged(d, limits["ks"])
            p = _ks_pvalue(f.sample, cur, d)
            stats["ks_pvalue"] = Statistic(p, NO_SCIPY if p is None else None)
            if f.std is None or f.std == 0:
                stats["wasserstein"] = Statistic(None, CONSTANT_REFERENCE)
            else:
                stats["wasserstein"] = _judged(w / f.std, limits["wasserstein"])
            stats["wasserstein_raw"] = Statistic(w)
    stats["null_rate"] = null_stat
    if state.text:
        dtypes = ", ".join(sorted(state.dtypes))
        if state.invalid:
            share = state.invalid / (state.invalid + values)
            own.append(
                SchemaFinding(
                    "type_change",
                    f.name,
                    FAIL,
                    f"'{f.name}' is numeric in training but arrives as {dtypes}: {state.invalid} values are not numbers, e.g. {_quoted(state.examples)}",
                    count=state.invalid,
                    share=share,
                    examples=tuple(state.examples),
                )
            )
        else:
            own.append(
                SchemaFinding(
                    "type_change",
                    f.name,
                    WARN,
                    f"'{f.name}' is numeric in training but arrives as {dtypes} (every value reads as a number)",
                )
            )
    outside = state.below + state.above
    if outside:
        share = outside / values
        own.append(
            SchemaFinding(
                "out_of_range",
                f.name,
                limits["out_of_range"].status(share),
                f"{outside} values of '{f.name}' ({share:.2%}) are outside the training range [{f.low:g}, {f.high:g}]: {state.below} below, {state.above} above",
                count=outside,
                share=share,
            )
        )
    sampled = f.finite > reference.sample_size or state.finite > seen.sample_size
    summary = {
        "reference": {"mean": f.mean, "std": f.std, "min": f.low, "max": f.high},
        "current": {
            "mean": state.mean if state.finite else None,
            "std": math.sqrt(state.m2 / state.finite) if state.finite else None,
            "min": state.low if state.finite else None,
            "max": state.high if state.finite else None,
        },
    }
    distribution = {
        "edges": f.edges.tolist(),
        "reference": _proportions(f.counts).tolist(),
        "current": _proportions(state.bins).tolist(),
    }
    return FeatureSkew(
        f.name,
        f.kind,
        _worst(s.status for s in stats.values()),
        stats,
        f.values,
        values,
        f.null_rate,
        rate,
        sampled=sampled,
        summary=summary,
        distribution=distribution,
    )


def _frequency_vectors(
    f: ReferenceFeature, state: _CategoricalState
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Both sides' counts over the union of categories (pooled buckets last)."""
    labels = list(f.categories) + (["(other)"] if f.pooled else [])
    unseen = sorted(state.unseen.items(), key=lambda kv: (-kv[1], kv[0]))
    labels += [label for label, _ in unseen]
    ref = np.concatenate([f.counts, np.zeros(len(unseen), dtype=np.int64)])
    cur = np.concatenate([state.counts, np.asarray([n for _, n in unseen], dtype=np.int64)])
    if state.unseen_pooled:
        labels.append("(other unseen)")
        ref = np.append(ref, 0)
        cur = np.append(cur, state.unseen_pooled)
    return labels, ref, cur


def _categorical_stats(
    f: ReferenceFeature, state: _CategoricalState, limits: dict[str, Threshold]
) -> tuple[dict[str, Statistic], dict[str, Any], int]:
    labels, ref, cur = _frequency_vectors(f, state)
    values = int(cur.sum())
    if values == 0 or ref.sum() == 0:
        reason = NO_CURRENT_VALUES if values == 0 else NO_REFERENCE_VALUES
        if f.kind == "prediction" and values == 0:
            reason = NO_CURRENT_PREDICTIONS
        return {n: Statistic(None, reason) for n in _CATEGORICAL_STATS}, {}, values
    stats = {
        "psi": _judged(population_stability_index(ref, cur), limits["psi"]),
        "js": _judged(jensen_shannon_distance(ref, cur), limits["js"]),
        "linf": _judged(linf_distance(ref, cur), limits["linf"]),
    }
    p, q = _proportions(ref), _proportions(cur)
    # The 50 categories that moved most, for tables and plots.
    order = np.argsort(-np.abs(p - q), kind="stable")[:50]
    distribution = {
        "categories": [labels[i] for i in order],
        "reference": p[order].tolist(),
        "current": q[order].tolist(),
        "shown": int(order.size),
        "total": len(labels),
    }
    return stats, distribution, values


def _categorical_skew(
    f: ReferenceFeature,
    state: _CategoricalState,
    rows: int,
    limits: dict[str, Threshold],
    own: list[SchemaFinding],
) -> FeatureSkew:
    rate, null_stat = _null_rate(f, state, rows, limits)
    stats, distribution, values = _categorical_stats(f, state, limits)
    stats["null_rate"] = null_stat
    unseen_total = sum(state.unseen.values()) + state.unseen_pooled
    if f.check_unseen and unseen_total:
        top = sorted(state.unseen.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_EXAMPLES]
        distinct = len(state.unseen) + (1 if state.unseen_pooled else 0)
        more = "+" if state.unseen_pooled else ""
        own.append(
            SchemaFinding(
                "unseen_categories",
                f.name,
                WARN,
                f"{unseen_total} values of '{f.name}' ({unseen_total / values:.2%}) are categories never seen in training ({distinct}{more} distinct), e.g. {_quoted([c for c, _ in top])}",
                count=unseen_total,
                share=unseen_total / values,
                examples=tuple(c for c, _ in top),
            )
        )
    return FeatureSkew(
        f.name,
        f.kind,
        _worst(s.status for s in stats.values()),
        stats,
        f.values,
        values,
        f.null_rate,
        rate,
        distribution=distribution,
    )


def _datetime_skew(
    f: ReferenceFeature,
    state: _DatetimeState,
    rows: int,
    limits: dict[str, Threshold],
    own: list[SchemaFinding],
) -> FeatureSkew:
    rate, null_stat = _null_rate(f, state, rows, limits)
    if state.invalid:
        own.append(
            SchemaFinding(
                "type_change",
                f.name,
                FAIL,
                f"'{f.name}' holds dates in training but {state.invalid} serving values are not dates, e.g. {_quoted(state.examples)}",
                count=state.invalid,
                examples=tuple(state.examples),
            )
        )
    values = state.present_rows - state.nulls - state.invalid
    stats = {"null_rate": null_stat}
    return FeatureSkew(f.name, f.kind, null_stat.status, stats, f.values, values, f.null_rate, rate)


def _prediction_skew(
    reference: ReferenceSummary, seen: CurrentSummary, limits: dict[str, Threshold]
) -> FeatureSkew | None:
    state = seen.predictions
    if not state.given and state.score_rows == 0 and reference.predictions is None:
        return None
    stats: dict[str, Statistic] = {}
    ref = reference.predictions
    distribution: dict[str, Any] = {}
    values = state.categorical.present_rows - state.categorical.nulls
    if ref is None:
        stats = {n: Statistic(None, NO_REFERENCE_PREDICTIONS) for n in _CATEGORICAL_STATS}
    elif not state.given:
        stats = {n: Statistic(None, NO_CURRENT_PREDICTIONS) for n in _CATEGORICAL_STATS}
    else:
        stats, distribution, values = _categorical_stats(ref, state.categorical, limits)
    if state.compared:
        stats["prediction_mismatch"] = _judged(
            state.mismatches / state.compared, limits["prediction_mismatch"]
        )
    if state.score_rows:
        stats["score_diff"] = _judged(state.score_diff_sum / state.score_rows, limits["score_diff"])
    return FeatureSkew(
        PREDICTION,
        "prediction",
        _worst(s.status for s in stats.values()),
        stats,
        0 if ref is None else ref.values,
        values,
        0.0 if ref is None else ref.null_rate,
        None
        if not state.given
        else state.categorical.nulls / max(state.categorical.present_rows, 1),
        summary={
            "mismatches": state.mismatches,
            "compared": state.compared,
            "score_diff_max": state.score_diff_max if state.score_rows else None,
        },
        distribution=distribution,
    )


def _judged(value: float, threshold: Threshold, *, magnitude: float | None = None) -> Statistic:
    value = float(value)
    return Statistic(
        value,
        None,
        threshold.status(value if magnitude is None else magnitude),
        threshold.warn,
        threshold.fail,
    )


def _worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=OK)


# --------------------------------------------------------------------------- JSON


def to_dict(report: SkewReport) -> dict[str, Any]:
    """The report as plain JSON-ready data: an undefined value is ``null`` with a reason."""
    return {
        "status": report.status,
        "rows_reference": report.rows_reference,
        "rows_current": report.rows_current,
        "sample_size": report.sample_size,
        "thresholds": {
            name: {"warn": t.warn, "fail": t.fail} for name, t in report.thresholds.items()
        },
        "features": [_feature_dict(f) for f in report.features],
        "schema": [
            {
                "kind": x.kind,
                "column": x.column,
                "status": x.status,
                "message": x.message,
                "count": x.count,
                "share": _clean(x.share),
                "examples": list(x.examples),
            }
            for x in report.schema
        ],
        "predictions": None if report.predictions is None else _feature_dict(report.predictions),
    }


def _feature_dict(f: FeatureSkew) -> dict[str, Any]:
    return {
        "name": f.name,
        "kind": f.kind,
        "status": f.status,
        "values_reference": f.values_reference,
        "values_current": f.values_current,
        "null_rate_reference": _clean(f.null_rate_reference),
        "null_rate_current": _clean(f.null_rate_current),
        "sampled": f.sampled,
        "statistics": {
            name: {
                "value": _clean(s.value),
                "status": s.status,
                "warn": s.warn,
                "fail": s.fail,
                "reason": s.reason if _clean(s.value) is None else None,
            }
            for name, s in f.statistics.items()
        },
        "summary": _clean(f.summary),
        "distribution": _clean(f.distribution),
    }


def _clean(value: Any) -> Any:
    """Floats that JSON cannot hold (NaN, inf) become ``None``; containers recursively."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# --------------------------------------------------------------------------- small helpers


def _dtype_text(column: Any) -> str:
    if pd.api.types.is_string_dtype(column) or column.dtype == object:
        return f"text ({column.dtype})"
    return str(column.dtype)


def _column_lookup(frame: Any) -> dict[str, Any]:
    """Column labels by their text (a schema names columns as text)."""
    return {str(c): c for c in frame.columns}


def _check_sample_size(sample_size: int) -> None:
    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
        raise DataError(f"sample_size must be a whole number of at least 1, got {sample_size!r}")


def _listing(items: list[Any], limit: int = 12) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")


def _quoted(items: list[str]) -> str:
    return ", ".join(repr(i) for i in items)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"{type(value).__name__} {value!r}"
