"""The comparison: a reference summary and the serving data counted so far, into a report.

:func:`compare` judges every feature by its kind (numeric: PSI, KS, Wasserstein;
categorical: PSI, Jensen–Shannon, L-infinity; dates: the null rate only), finds the
schema anomalies (a missing feature, an extra column, a type change, unseen
categories, values out of the training range) and the prediction drift, mismatch
and score difference, each against its threshold. A regression's predicted values
are judged as a numeric feature is, with the share of served values that differ
from the offline ones as the mismatch. A statistic that has no answer
(no values on one side, a constant reference for the normalised Wasserstein
distance) is ``None`` with a reason, never NaN or inf.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from mlprod_cli.core.skew._accumulator import (
    CategoricalState,
    CurrentAccumulator,
    CurrentSummary,
    DatetimeState,
    NumericState,
)
from mlprod_cli.core.skew._differences import QUANTILES, quantiles
from mlprod_cli.core.skew._distances import (
    chi2_pvalue,
    jensen_shannon_distance,
    ks_and_wasserstein,
    ks_pvalue,
    linf_distance,
    population_stability_index,
    proportions,
)
from mlprod_cli.core.skew._messages import quoted
from mlprod_cli.core.skew._reference import PREDICTION, ReferenceFeature, ReferenceSummary
from mlprod_cli.core.skew._report import FeatureSkew, SchemaFinding, SkewReport, Statistic
from mlprod_cli.core.skew._thresholds import (
    FAIL,
    OK,
    SIGNIFICANCE,
    WARN,
    Threshold,
    resolve_thresholds,
    worst,
)
from mlprod_cli.core.skew._values import MAX_EXAMPLES
from mlprod_cli.core.words import plural
from mlprod_cli.errors import DataError

# The statistics of a report per kind of feature, in report order (null_rate comes last).
_NUMERIC_STATS = ("psi", "ks", "ks_pvalue", "wasserstein", "wasserstein_raw")
_CATEGORICAL_STATS = ("psi", "js", "linf")
# The distances whose status needs a significant drift (the rest: null rate, mismatch,
# score difference, schema findings, are judged on their value alone).
_DISTANCES = ("psi", "ks", "wasserstein", "js", "linf")

# Reasons a statistic is undefined, shown to users as they are.
MISSING_IN_SERVING = "the feature is missing in the serving data"
NO_CURRENT_VALUES = "no values in the serving data"
NO_REFERENCE_VALUES = "no values in the training data"
NO_FINITE_VALUES = "no finite values on one side"
CONSTANT_REFERENCE = "the training values are constant (standard deviation 0)"
NO_SCIPY = "scipy is not installed"
NO_REFERENCE_PREDICTIONS = "no predictions on the training data were given"
NO_CURRENT_PREDICTIONS = "no serving predictions were given"


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
            sizes = (reference.sample_size, seen.sample_size)
            skew = _numeric_skew(f, state, seen.rows, sizes, limits, own)
        elif f.kind == "categorical":
            skew = _categorical_skew(f, state, seen.rows, limits, own)
        else:
            skew = _datetime_skew(f, state, seen.rows, limits, own)
        status = worst([skew.status, *(x.status for x in own)])
        features.append(replace(skew, status=status))
        findings.extend(own)
    for column, rows in seen.extra.items():
        findings.append(
            SchemaFinding(
                "extra_column",
                column,
                WARN,
                f"'{column}' is in the serving data ({plural(rows, 'row')}) but not among the training features",
                count=rows,
            )
        )
    predictions = _prediction_skew(reference, seen, base)
    status = worst(
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
    state: NumericState,
    rows: int,
    sample_sizes: tuple[int, int],
    limits: dict[str, Threshold],
    own: list[SchemaFinding],
) -> FeatureSkew:
    """A numeric feature (or a regression's predicted values) over ``rows`` serving rows;
    ``sample_sizes``: the reference's and the accumulator's, to say what was sampled."""
    rate, null_stat = _null_rate(f, state, rows, limits)
    values = int(state.bins.sum())
    stats: dict[str, Statistic] = {}
    significance = None
    if values == 0 or f.values == 0:
        reason = NO_REFERENCE_VALUES if f.values == 0 else NO_CURRENT_VALUES
        for name in _NUMERIC_STATS:
            stats[name] = Statistic(None, reason)
    else:
        stats["psi"] = _judged(population_stability_index(f.counts, state.bins), limits["psi"])
        cur = state.reservoir.sorted()
        if f.sample.size == 0 or cur.size == 0:
            for name in ("ks", "ks_pvalue", "wasserstein", "wasserstein_raw"):
                stats[name] = Statistic(None, NO_FINITE_VALUES)
        else:
            d, w = ks_and_wasserstein(f.sample, cur)
            stats["ks"] = _judged(d, limits["ks"])
            p = ks_pvalue(f.sample, cur, d)
            stats["ks_pvalue"] = Statistic(p, NO_SCIPY if p is None else None)
            if f.std is None or f.std == 0:
                stats["wasserstein"] = Statistic(None, CONSTANT_REFERENCE)
            else:
                stats["wasserstein"] = _judged(w / f.std, limits["wasserstein"])
            stats["wasserstein_raw"] = Statistic(w)
            significance = _significance(stats, "ks", p, values)
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
                    f"'{f.name}' is numeric in training but arrives as {dtypes}: {plural(state.invalid, 'value is not a number', 'values are not numbers')}, e.g. {quoted(state.examples)}",
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
                f"{plural(outside, 'value')} of '{f.name}' ({share:.2%}) {'is' if outside == 1 else 'are'} outside the training range [{f.low:g}, {f.high:g}]: {state.below} below, {state.above} above",
                count=outside,
                share=share,
            )
        )
    sampled = f.finite > sample_sizes[0] or state.finite > sample_sizes[1]
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
        "reference": proportions(f.counts).tolist(),
        "current": proportions(state.bins).tolist(),
    }
    return FeatureSkew(
        f.name,
        f.kind,
        worst(s.status for s in stats.values()),
        stats,
        f.values,
        values,
        f.null_rate,
        rate,
        sampled=sampled,
        summary=summary,
        distribution=distribution,
        significance=significance,
    )


def _frequency_vectors(
    f: ReferenceFeature, state: CategoricalState
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
    f: ReferenceFeature, state: CategoricalState, limits: dict[str, Threshold]
) -> tuple[dict[str, Statistic], dict[str, Any], int, dict[str, Any] | None]:
    labels, ref, cur = _frequency_vectors(f, state)
    values = int(cur.sum())
    if values == 0 or ref.sum() == 0:
        reason = NO_CURRENT_VALUES if values == 0 else NO_REFERENCE_VALUES
        if f.kind == "prediction" and values == 0:
            reason = NO_CURRENT_PREDICTIONS
        return {n: Statistic(None, reason) for n in _CATEGORICAL_STATS}, {}, values, None
    stats = {
        "psi": _judged(population_stability_index(ref, cur), limits["psi"]),
        "js": _judged(jensen_shannon_distance(ref, cur), limits["js"]),
        "linf": _judged(linf_distance(ref, cur), limits["linf"]),
    }
    significance = _significance(stats, "chi2", chi2_pvalue(ref, cur), values)
    p, q = proportions(ref), proportions(cur)
    # The 50 categories that moved most, for tables and plots.
    order = np.argsort(-np.abs(p - q), kind="stable")[:50]
    distribution = {
        "categories": [labels[i] for i in order],
        "reference": p[order].tolist(),
        "current": q[order].tolist(),
        "shown": int(order.size),
        "total": len(labels),
    }
    return stats, distribution, values, significance


def _categorical_skew(
    f: ReferenceFeature,
    state: CategoricalState,
    rows: int,
    limits: dict[str, Threshold],
    own: list[SchemaFinding],
) -> FeatureSkew:
    rate, null_stat = _null_rate(f, state, rows, limits)
    stats, distribution, values, significance = _categorical_stats(f, state, limits)
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
                f"{plural(unseen_total, 'value')} of '{f.name}' ({unseen_total / values:.2%}) {'is a category' if unseen_total == 1 else 'are categories'} never seen in training ({distinct}{more} distinct), e.g. {quoted([c for c, _ in top])}",
                count=unseen_total,
                share=unseen_total / values,
                examples=tuple(c for c, _ in top),
            )
        )
    return FeatureSkew(
        f.name,
        f.kind,
        worst(s.status for s in stats.values()),
        stats,
        f.values,
        values,
        f.null_rate,
        rate,
        distribution=distribution,
        significance=significance,
    )


def _datetime_skew(
    f: ReferenceFeature,
    state: DatetimeState,
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
                f"'{f.name}' holds dates in training but {plural(state.invalid, 'serving value is not a date', 'serving values are not dates')}, e.g. {quoted(state.examples)}",
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
    if state.numeric is not None:
        return _value_skew(reference, seen, limits)
    stats: dict[str, Statistic] = {}
    ref = reference.predictions
    distribution: dict[str, Any] = {}
    significance = None
    values = state.categorical.present_rows - state.categorical.nulls
    if ref is None:
        stats = {n: Statistic(None, NO_REFERENCE_PREDICTIONS) for n in _CATEGORICAL_STATS}
    elif not state.given:
        stats = {n: Statistic(None, NO_CURRENT_PREDICTIONS) for n in _CATEGORICAL_STATS}
    else:
        stats, distribution, values, significance = _categorical_stats(
            ref, state.categorical, limits
        )
    if state.compared:
        stats["prediction_mismatch"] = _judged(
            state.mismatches / state.compared, limits["prediction_mismatch"]
        )
    if state.score_rows:
        stats["score_diff"] = _judged(state.score_diff_sum / state.score_rows, limits["score_diff"])
    return FeatureSkew(
        PREDICTION,
        "prediction",
        worst(s.status for s in stats.values()),
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
        significance=significance,
    )


def _value_skew(
    reference: ReferenceSummary, seen: CurrentSummary, limits: dict[str, Threshold]
) -> FeatureSkew:
    """A regression's predicted values: drift as a numeric feature's (over the rows that
    came with a served value), the share of served values that differ from the offline
    ones as ``prediction_mismatch``, the quantiles and the differences in ``summary``."""
    ref, state = reference.predictions, seen.predictions
    numeric = state.numeric
    if not state.given:
        stats = {n: Statistic(None, NO_CURRENT_PREDICTIONS) for n in _NUMERIC_STATS}
        skew = FeatureSkew(PREDICTION, ref.kind, OK, stats, ref.values, 0, ref.null_rate, None)
    else:
        sizes = (reference.sample_size, seen.sample_size)
        skew = _numeric_skew(ref, numeric, numeric.present_rows, sizes, limits, [])
    stats = dict(skew.statistics)
    if state.values.compared:
        stats["prediction_mismatch"] = _judged(
            state.values.differing / state.values.compared, limits["prediction_mismatch"]
        )
    summary = dict(skew.summary)
    summary["quantiles"] = {
        "levels": list(QUANTILES),
        "reference": quantiles(ref.sample),
        "current": quantiles(numeric.reservoir.sorted()) if state.given else None,
    }
    summary.update(state.values.summary())
    return replace(
        skew,
        status=worst(s.status for s in stats.values()),
        statistics=stats,
        summary=summary,
    )


def _significance(
    stats: dict[str, Statistic], test: str, pvalue: float | None, values: int
) -> dict[str, Any]:
    """Judge the distances ok when their drift is not significant for this sample; say so.

    With few serving values a distance is noisy (PSI of 51 rows drawn from the
    training distribution is often above 0.25): a distance over its threshold
    warns or fails only when the test (``ks`` or ``chi2``) rejects "same
    distribution" at :data:`SIGNIFICANCE`. Without SciPy (no p-value) the
    thresholds alone judge, as before. ``stats`` is changed in place.
    """
    significant = pvalue is None or pvalue < SIGNIFICANCE
    overridden: dict[str, str] = {}
    if not significant:
        for name in _DISTANCES:
            stat = stats.get(name)
            if stat is not None and stat.status != OK:
                overridden[name] = stat.status
                stats[name] = replace(stat, status=OK)
    return {
        "test": test,
        "pvalue": pvalue,
        "level": SIGNIFICANCE,
        "values": values,
        "significant": significant,
        "overridden": overridden,
    }


def _judged(value: float, threshold: Threshold, *, magnitude: float | None = None) -> Statistic:
    value = float(value)
    return Statistic(
        value,
        None,
        threshold.status(value if magnitude is None else magnitude),
        threshold.warn,
        threshold.fail,
    )
