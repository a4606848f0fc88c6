"""mlprod_cli.core.skew against SciPy (hypothesis), streaming, scenarios, memory, bad input."""

from __future__ import annotations

import itertools
import json
import math
import tracemalloc
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from mlprod_cli.core.dataset import infer_schema
from mlprod_cli.core.skew import (
    DEFAULT_THRESHOLDS,
    PSI_EPSILON,
    CurrentAccumulator,
    ReferenceSummary,
    Threshold,
    compare,
    jensen_shannon_distance,
    ks_2samp,
    linf_distance,
    population_stability_index,
    quantile_edges,
    resolve_thresholds,
    to_dict,
    wasserstein_distance,
)
from mlprod_cli.errors import DataError

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# --------------------------------------------------------------------------- strategies

# Values as they come: ordinary, tied on a few points, heavy-tailed over 15 decades.
_value = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, -2.5, 3.0, 1e-300]),
    st.builds(
        lambda exponent, sign: sign * 10.0**exponent,
        st.floats(-3, 12),
        st.sampled_from([-1.0, 1.0]),
    ),
)
_sample = st.one_of(
    st.lists(_value, min_size=1, max_size=150),
    st.builds(lambda v, n: [v] * n, _value, st.integers(1, 60)),  # a constant column
    st.lists(st.sampled_from([0.0, 1.0, 2.0]), min_size=1, max_size=150),  # heavy ties
)
_categories = st.lists(st.sampled_from(list("abcdefg")), min_size=1, max_size=150)


def _direct_psi(ref: np.ndarray, cur: np.ndarray) -> float:
    """PSI the long way: decile edges, (lo, hi] bins counted with Python comparisons."""
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    if edges.size == 1:
        edges = np.array([np.nextafter(edges[0], -np.inf), edges[0]])
    bounds = [-math.inf, *edges.tolist(), math.inf]
    pairs = list(itertools.pairwise(bounds))
    r = np.array([sum(lo < x <= hi for x in ref) for lo, hi in pairs]) / len(ref)
    c = np.array([sum(lo < x <= hi for x in cur) for lo, hi in pairs]) / len(cur)
    r, c = np.maximum(r, PSI_EPSILON), np.maximum(c, PSI_EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def _report(ref: dict, cur: dict, *, batches: int = 1, sample_size: int = 200_000, **kw):
    reference = pd.DataFrame(ref)
    summary = ReferenceSummary.build(reference, infer_schema(reference), sample_size=sample_size)
    acc = CurrentAccumulator(summary, sample_size=sample_size)
    current = pd.DataFrame(cur)
    for part in np.array_split(np.arange(len(current)), batches):
        acc.add(current.iloc[part])
    return compare(summary, acc, **kw)


# --------------------------------------------------------------------------- against SciPy

# SciPy's own exact KS p-value falls back to the asymptotic one with a warning, at times.
scipy_fallback = pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")


@scipy_fallback
@PROPERTY
@given(_sample, _sample)
def test_ks_and_wasserstein_equal_scipy(ref, cur):
    d, p = ks_2samp(ref, cur)
    expected = stats.ks_2samp(ref, cur)
    assert close(d, expected.statistic)
    assert close(p, expected.pvalue)
    assert close(wasserstein_distance(ref, cur), stats.wasserstein_distance(ref, cur))


@scipy_fallback
@PROPERTY
@given(_sample, _sample)
def test_numeric_feature_statistics_equal_scipy_and_the_psi_formula(ref, cur):
    report = _report({"x": ref}, {"x": cur}, batches=3 if len(cur) >= 3 else 1)
    stat = report.feature("x").statistics
    ref_a, cur_a = np.asarray(ref), np.asarray(cur)
    assert close(stat["psi"].value, _direct_psi(ref_a, cur_a))
    assert close(stat["ks"].value, stats.ks_2samp(ref_a, cur_a).statistic)
    assert close(stat["ks_pvalue"].value, stats.ks_2samp(ref_a, cur_a).pvalue)
    raw = stats.wasserstein_distance(ref_a, cur_a)
    assert close(stat["wasserstein_raw"].value, raw)
    if np.std(ref_a) == 0:
        assert stat["wasserstein"].value is None
        assert (
            stat["wasserstein"].reason == "the training values are constant (standard deviation 0)"
        )
    else:
        assert close(stat["wasserstein"].value, raw / np.std(ref_a))
    json.dumps(to_dict(report), allow_nan=False)


@PROPERTY
@given(_categories, _categories)
def test_categorical_feature_statistics_equal_scipy(ref, cur):
    report = _report({"c": ref}, {"c": cur}, batches=2 if len(cur) >= 2 else 1)
    stat = report.feature("c").statistics
    union = sorted(set(ref) | set(cur))
    r = np.array([Counter(ref)[k] for k in union], dtype=float)
    c = np.array([Counter(cur)[k] for k in union], dtype=float)
    p, q = r / r.sum(), c / c.sum()
    assert close(stat["js"].value, distance.jensenshannon(p, q, base=2))
    assert close(stat["linf"].value, distance.chebyshev(p, q))
    fp, fq = np.maximum(p, PSI_EPSILON), np.maximum(q, PSI_EPSILON)
    assert close(stat["psi"].value, float(np.sum((fq - fp) * np.log(fq / fp))))
    unseen = sorted(set(cur) - set(ref))
    findings = [x for x in report.schema if x.kind == "unseen_categories"]
    if unseen:
        assert findings[0].count == sum(Counter(cur)[k] for k in unseen)
        assert set(findings[0].examples) <= set(unseen)
    else:
        assert not findings


@PROPERTY
@given(
    st.lists(st.integers(0, 50), min_size=2, max_size=12).filter(lambda v: sum(v) > 0),
    st.data(),
)
def test_distances_on_count_vectors(ref, data):
    cur = data.draw(
        st.lists(st.integers(0, 50), min_size=len(ref), max_size=len(ref)).filter(
            lambda v: sum(v) > 0
        )
    )
    p, q = np.asarray(ref) / sum(ref), np.asarray(cur) / sum(cur)
    assert close(jensen_shannon_distance(ref, cur), distance.jensenshannon(ref, cur, base=2))
    assert close(linf_distance(ref, cur), distance.chebyshev(p, q))
    fp, fq = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    assert close(population_stability_index(ref, cur), float(np.sum((fq - fp) * np.log(fq / fp))))
    assert population_stability_index(ref, ref) == 0.0


def test_large_samples_use_kolmogorovs_limit_for_the_p_value():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=30_000), rng.normal(0.01, size=30_000)
    d, p = ks_2samp(a, b)
    expected = stats.ks_2samp(a, b)  # method="auto" is "asymp" at this size
    assert d == expected.statistic
    assert abs(p - expected.pvalue) < 3e-3


def test_quantile_edges():
    assert (
        quantile_edges(np.arange(1.0, 101.0)).tolist()
        == np.quantile(np.arange(1.0, 101.0), np.arange(1, 10) / 10).tolist()
    )
    ties = [0.0, 0.0, 0.0, 0.0, 1.0]
    assert (
        quantile_edges(ties).tolist()
        == np.unique(np.quantile(ties, np.arange(1, 10) / 10)).tolist()
    )
    assert quantile_edges(ties).size == 3
    constant = quantile_edges([5.0, 5.0])
    assert constant.tolist() == [np.nextafter(5.0, -np.inf), 5.0]
    assert quantile_edges([np.nan, np.inf]).size == 0


# --------------------------------------------------------------------------- streaming


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "heavy": rng.pareto(1.5, n),
            "ties": rng.integers(0, 4, n).astype(float),
            "colour": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def _stream(summary, frame, cuts, **kw):
    acc = CurrentAccumulator(summary, **kw)
    for start, stop in itertools.pairwise([0, *cuts, len(frame)]):
        acc.add(frame.iloc[start:stop])
    return acc


def test_one_batch_or_37_uneven_batches_give_the_same_report():
    train, serving = _frame(3000, 1), _frame(5000, 2, shift=0.1)
    serving.loc[7, "colour"] = "purple"
    summary = ReferenceSummary.build(train, infer_schema(train))
    cuts = np.sort(np.random.default_rng(0).choice(np.arange(1, 5000), 36, replace=False))
    one = to_dict(compare(summary, _stream(summary, serving, [])))
    many = to_dict(compare(summary, _stream(summary, serving, cuts)))
    # The descriptive mean and std are combined batch by batch: equal to the last digit or so.
    for a, b in zip(one["features"], many["features"], strict=True):
        x, y = a["summary"].pop("current", {}), b["summary"].pop("current", {})
        assert x == pytest.approx(y, rel=1e-12)
    assert one == many
    assert not one["features"][0]["sampled"]


def test_beyond_sample_size_the_estimate_is_close_and_the_counts_exact():
    train, serving = _frame(40_000, 1), _frame(60_000, 2, shift=0.3)
    summary = ReferenceSummary.build(train, infer_schema(train), sample_size=5000)
    cuts = np.arange(7000, 60_000, 7000)
    sampled = compare(summary, _stream(summary, serving, cuts, sample_size=5000))
    exact_ref = ReferenceSummary.build(train, infer_schema(train))
    exact = compare(exact_ref, _stream(exact_ref, serving, cuts))
    for name in ("x", "heavy", "ties"):
        got, want = sampled.feature(name), exact.feature(name)
        assert got.sampled and not want.sampled
        assert got.statistics["psi"].value == want.statistics["psi"].value  # bins: exact
        assert got.null_rate_current == want.null_rate_current
        # KS from two uniform samples of 5000: standard error about 0.01
        assert abs(got.statistics["ks"].value - want.statistics["ks"].value) < 0.04
    x_got, x_want = sampled.feature("x").statistics, exact.feature("x").statistics
    assert abs(x_got["wasserstein"].value - x_want["wasserstein"].value) < 0.06
    want_ks = stats.ks_2samp(train["x"].dropna(), serving["x"].dropna()).statistic
    assert x_want["ks"].value == pytest.approx(want_ks, rel=1e-12)


def test_the_reservoir_is_a_uniform_sample_even_of_sorted_data():
    n, k = 200_000, 2000
    train = pd.DataFrame({"x": np.arange(float(n))})
    summary = ReferenceSummary.build(train, infer_schema(train), sample_size=k)
    acc = CurrentAccumulator(summary, sample_size=k, seed=7)
    for part in np.array_split(np.arange(n), 23):  # the stream arrives in increasing order
        acc.add(train.iloc[part])
    sample = acc.result().sample("x")
    assert sample.size == k and np.unique(sample).size == k
    assert stats.kstest(sample / n, "uniform").pvalue > 1e-3
    assert stats.kstest(summary.by_name["x"].sample / n, "uniform").pvalue > 1e-3


# --------------------------------------------------------------------------- scenarios


def test_identical_distributions_are_ok():
    train, serving = _frame(20_000, 1), _frame(20_000, 2)
    report = _report(train.to_dict("list"), serving.to_dict("list"), batches=5)
    assert report.status == "ok", to_dict(report)
    assert all(f.status == "ok" for f in report.features)
    assert {x.kind for x in report.schema} <= {"out_of_range"}


def test_a_shifted_feature_fails_by_name():
    train, serving = _frame(10_000, 1), _frame(10_000, 2)
    serving["x"] += 1.0
    report = _report(train.to_dict("list"), serving.to_dict("list"))
    x = report.feature("x")
    assert report.status == "fail" and x.status == "fail"
    assert {n for n, s in x.statistics.items() if s.status == "fail"} == {
        "psi",
        "ks",
        "wasserstein",
    }
    assert [f.name for f in report.features if f.status != "ok"] == ["x"]


def test_a_new_category_is_reported_by_name():
    train, serving = _frame(5000, 1), _frame(5000, 2)
    serving.loc[:49, "colour"] = "ultraviolet"
    report = _report(train.to_dict("list"), serving.to_dict("list"))
    (finding,) = [x for x in report.schema if x.kind == "unseen_categories"]
    assert finding.column == "colour" and finding.status == "warn"
    assert finding.count == 50 and finding.examples == ("ultraviolet",)
    assert "ultraviolet" in finding.message
    assert report.feature("colour").status == "warn"


def test_a_unit_change_fails_psi_ks_wasserstein_and_the_range():
    rng = np.random.default_rng(5)
    grams = rng.normal(2.5, 0.5, 8000)
    report = _report({"weight": grams}, {"weight": rng.normal(2.5, 0.5, 8000) * 1000})
    stat = report.feature("weight").statistics
    assert {n for n in ("psi", "ks", "wasserstein") if stat[n].status == "fail"} == {
        "psi",
        "ks",
        "wasserstein",
    }
    (finding,) = [x for x in report.schema if x.kind == "out_of_range"]
    assert finding.column == "weight" and finding.status == "fail"
    assert finding.count == 8000 and finding.share == 1.0


def test_a_missing_feature_fails_the_schema():
    train, serving = _frame(2000, 1), _frame(2000, 2).drop(columns=["heavy"])
    report = _report(train.to_dict("list"), serving.to_dict("list"))
    (finding,) = [x for x in report.schema if x.kind == "missing_feature"]
    assert finding.column == "heavy" and finding.status == "fail"
    heavy = report.feature("heavy")
    assert heavy.status == "fail" and heavy.statistics["psi"].value is None
    assert heavy.statistics["psi"].reason == "the feature is missing in the serving data"
    assert report.status == "fail"


def test_a_column_missing_from_some_batches_counts_as_nulls():
    train = _frame(2000, 1)
    summary = ReferenceSummary.build(train, infer_schema(train))
    acc = CurrentAccumulator(summary)
    serving = _frame(2000, 2)
    acc.add(serving.iloc[:1500])
    acc.add(serving.iloc[1500:].drop(columns=["ties"]))
    ties = compare(summary, acc).feature("ties")
    assert ties.null_rate_current == 0.25 and ties.statistics["null_rate"].status == "fail"


def test_numbers_arriving_as_text():
    train = pd.DataFrame({"age": np.arange(100.0)})
    summary = ReferenceSummary.build(train, infer_schema(train))
    acc = CurrentAccumulator(summary)
    acc.add(pd.DataFrame({"age": ["1", "2", "n/a", "forty", None, "3.5"]}))
    report = compare(summary, acc)
    (finding,) = [x for x in report.schema if x.kind == "type_change"]
    assert finding.status == "fail" and finding.count == 2
    assert finding.examples == ("n/a", "forty")
    assert "arrives as text (str)" in finding.message
    age = report.feature("age")
    assert age.values_current == 3 and age.null_rate_current == pytest.approx(1 / 6)
    # numbers that are all readable but sent as text: a warning
    acc = CurrentAccumulator(summary)
    acc.add(pd.DataFrame({"age": ["1", "2", "3"]}))
    (finding,) = compare(summary, acc).schema
    assert finding.kind == "type_change" and finding.status == "warn"


def test_dates_that_do_not_parse():
    train = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=50), "x": np.arange(50.0)})
    summary = ReferenceSummary.build(train, infer_schema(train))
    acc = CurrentAccumulator(summary)
    acc.add(pd.DataFrame({"when": ["2024-03-01", "01/04/2024", "soon"], "x": [1.0, 2.0, 3.0]}))
    (finding,) = [x for x in compare(summary, acc).schema if x.kind == "type_change"]
    assert finding.column == "when" and finding.count == 1 and finding.examples == ("soon",)


def test_extra_columns_warn_unless_ignored():
    train = _frame(1000, 1)
    summary = ReferenceSummary.build(train, infer_schema(train))
    serving = _frame(1000, 2).assign(request_id=1, surprise=2)
    acc = CurrentAccumulator(summary, ignore_columns=["request_id"])
    acc.add(serving)
    report = compare(summary, acc)
    assert [(x.kind, x.column, x.status) for x in report.schema if x.kind != "out_of_range"] == [
        ("extra_column", "surprise", "warn")
    ]


def test_integer_categories_that_became_floats_are_not_new():
    train = pd.DataFrame({"code": pd.Series([1, 2, 3, 1], dtype=object)})
    summary = ReferenceSummary.build(train, infer_schema(train))
    acc = CurrentAccumulator(summary)
    acc.add(pd.DataFrame({"code": [1.0, 2.0, np.nan, 3.0]}))  # a null made the column float
    report = compare(summary, acc)
    assert not [x for x in report.schema if x.kind == "unseen_categories"]


def test_python_numbers_in_an_object_column_are_not_a_type_change():
    report = _report({"x": np.arange(10.0)}, {"x": pd.Series([1.0, None, 3], dtype=object)})
    assert not report.schema and report.feature("x").values_current == 2


def test_many_categories_are_pooled_and_many_unseen_ones_too():
    ids = [f"id{i}" for i in range(3000)]
    train = pd.DataFrame({"user": ids, "shop": ["a", "b", "c"] * 1000})
    schema = infer_schema(train)
    assert schema["features"][0]["categories"] is None  # too many to list
    summary = ReferenceSummary.build(train, schema)
    user = summary.by_name["user"]
    assert user.pooled and len(user.categories) == 1000 and user.counts[-1] == 2000
    acc = CurrentAccumulator(summary)
    new_shops = [f"s{i}" for i in range(1500)]
    acc.add(
        pd.DataFrame({"user": [f"new{i}" for i in range(3000)], "shop": ["a"] * 1500 + new_shops})
    )
    report = compare(summary, acc)
    # an id column: no unseen-category finding, everything new is "other"
    assert [x.column for x in report.schema] == ["shop"]
    assert report.feature("user").distribution["categories"][0] == "(other)"
    # 1500 new shops: 1000 tracked by name, the rest pooled; all counted
    (finding,) = report.schema
    assert finding.count == 1500 and "(1001+ distinct)" in finding.message
    assert report.feature("shop").distribution["total"] == 3 + 1000 + 1


def test_the_distance_functions_refuse_what_they_cannot_compare():
    with pytest.raises(DataError, match="the current counts are all zero"):
        jensen_shannon_distance([1, 2], [0, 0])
    with pytest.raises(DataError, match="2 reference bins but 3 current bins"):
        population_stability_index([1, 2], [1, 2, 3])
    with pytest.raises(DataError, match="non-negative"):
        linf_distance([1, -2], [1, 2])
    with pytest.raises(DataError, match="the reference sample is empty"):
        ks_2samp([], [1.0])
    with pytest.raises(DataError, match="NaN or infinite"):
        wasserstein_distance([1.0], [np.nan])


def test_bool_features_are_categories():
    train = pd.DataFrame({"flag": [True, False] * 50})
    report = _report(train.to_dict("list"), {"flag": [True] * 90 + [False] * 10})
    flag = report.feature("flag")
    assert flag.kind == "categorical" and flag.statistics["linf"].value == pytest.approx(0.4)
    assert flag.statistics["linf"].status == "fail" and not report.schema


def test_prediction_drift_mismatch_and_score_difference():
    rng = np.random.default_rng(2)
    train = pd.DataFrame({"x": rng.normal(size=1000)})
    summary = ReferenceSummary.build(
        train, infer_schema(train), predictions=np.where(train["x"] > 0, "yes", "no")
    )
    acc = CurrentAccumulator(summary)
    serving = pd.DataFrame({"x": rng.normal(size=1000)})
    served = np.where(serving["x"] > 0, "yes", "no")
    redone = served.copy()
    redone[:30] = np.where(redone[:30] == "yes", "no", "yes")  # 3% disagree
    score = (serving["x"] > 0).to_numpy(float)
    for part in np.array_split(np.arange(1000), 4):
        acc.add(
            serving.iloc[part],
            predictions=served[part],
            offline_predictions=redone[part],
            scores=score[part],
            offline_scores=score[part] + 0.002,
        )
    report = compare(summary, acc)
    pred = report.predictions
    assert pred.name == "prediction" and pred.kind == "prediction"
    assert pred.statistics["linf"].value < 0.1 and pred.statistics["linf"].status == "ok"
    assert pred.statistics["prediction_mismatch"].value == pytest.approx(0.03)
    assert pred.statistics["prediction_mismatch"].status == "warn"
    assert pred.statistics["score_diff"].value == pytest.approx(0.002)
    assert pred.statistics["score_diff"].status == "ok"
    assert report.status == "warn"
    # every serving prediction "yes": drift
    acc = CurrentAccumulator(summary)
    acc.add(serving, predictions=["yes"] * 1000)
    assert compare(summary, acc).predictions.statistics["js"].status == "fail"


def test_no_predictions_no_prediction_section():
    report = _report({"x": [1.0, 2.0, 3.0]}, {"x": [1.0, 2.0]})
    assert report.predictions is None and to_dict(report)["predictions"] is None


def test_the_summary_survives_json():
    train, serving = _frame(3000, 1), _frame(3000, 2, shift=0.2)
    summary = ReferenceSummary.build(train, infer_schema(train), predictions=train["colour"])
    again = ReferenceSummary.from_dict(json.loads(json.dumps(summary.to_dict())))
    reports = []
    for s in (summary, again):
        acc = CurrentAccumulator(s)
        acc.add(serving, predictions=serving["colour"])
        reports.append(to_dict(compare(s, acc)))
    assert reports[0] == reports[1]
    with pytest.raises(DataError, match="format 99"):
        ReferenceSummary.from_dict({**summary.to_dict(), "format": 99})
    with pytest.raises(DataError, match="damaged"):
        ReferenceSummary.from_dict({"format": 1})


def test_the_report_is_plain_json_without_nan():
    train = pd.DataFrame({"k": [3.0] * 10, "e": [np.nan] * 10, "c": ["a"] * 10})
    serving = pd.DataFrame({"k": [3.0, 4.0], "e": [1.0, 2.0], "c": [None, None]})
    report = _report(train.to_dict("list"), serving.to_dict("list"))
    out = json.loads(json.dumps(to_dict(report), allow_nan=False))
    k = {f["name"]: f for f in out["features"]}
    assert k["k"]["statistics"]["wasserstein"] == {
        "value": None,
        "status": "ok",
        "warn": None,
        "fail": None,
        "reason": "the training values are constant (standard deviation 0)",
    }
    assert k["e"]["statistics"]["psi"]["reason"] == "no values in the training data"
    assert k["c"]["statistics"]["js"]["reason"] == "no values in the serving data"


# --------------------------------------------------------------------------- thresholds


def test_thresholds_defaults_numbers_and_levels():
    base, per = resolve_thresholds(
        {"psi": 0.2, "ks": {"fail": 0.3}, "js": {"warn": 0.05}},
        {"x": {"psi": {"warn": 0.01, "fail": 0.02}}},
        ["x", "y"],
    )
    assert base["psi"] == Threshold(0.1, 0.2)  # a number: fail above it, warn above half
    assert base["ks"] == Threshold(0.15, 0.3)
    assert base["js"] == Threshold(0.05, None)  # warn only: never fails
    assert base["linf"] == DEFAULT_THRESHOLDS["linf"]
    assert per["x"]["psi"] == Threshold(0.01, 0.02) and per["x"]["ks"] == base["ks"]
    assert Threshold(0.1, 0.25).status(0.25) == "warn"  # above, not at
    assert Threshold(0.0, 0.0).status(0.0) == "ok" and Threshold(0, 0).status(1e-9) == "fail"


def test_feature_overrides_apply_to_their_feature():
    train, serving = _frame(5000, 1), _frame(5000, 2)
    serving["x"] += 0.3
    serving["ties"] += 0.0
    loose = _report(
        train.to_dict("list"),
        serving.to_dict("list"),
        thresholds={"psi": 5, "ks": 5},
        feature_overrides={"x": {"wasserstein": 5}},
    )
    assert loose.feature("x").status == "ok"


@pytest.mark.parametrize(
    ("thresholds", "overrides", "message"),
    [
        (
            {"psi": "high"},
            None,
            "skew.thresholds.psi: expected a number or {warn, fail}, got the text 'high'",
        ),
        ({"psi": True}, None, "skew.thresholds.psi: expected a number"),
        ({"psi": float("nan")}, None, "skew.thresholds.psi: expected a finite number"),
        ({"psi": -1}, None, "skew.thresholds.psi: must be at least 0"),
        ({"psi": {"warn": 0.3, "fail": 0.2}}, None, r"warn \(0.3\) is above fail \(0.2\)"),
        ({"psi": {"alarm": 1}}, None, "unknown key 'alarm'"),
        ({"kl": 0.1}, None, "skew.thresholds.kl: unknown skew statistic"),
        (None, {"colour": {"js": [0.1]}}, "skew.features.colour.js: expected a number"),
        (None, {"color": {"js": 0.1}}, "skew.features.color: no training feature is named 'color'"),
    ],
)
def test_bad_thresholds(thresholds, overrides, message):
    train = _frame(100, 1)
    summary = ReferenceSummary.build(train, infer_schema(train))
    acc = CurrentAccumulator(summary)
    acc.add(train)
    with pytest.raises(DataError, match=message):
        compare(summary, acc, thresholds, overrides)


# --------------------------------------------------------------------------- bad input


def test_serving_data_with_none_of_the_features():
    train = pd.DataFrame({"a": [1.0], "b": [2.0], "c": ["x"]})
    acc = CurrentAccumulator(ReferenceSummary.build(train, infer_schema(train)))
    with pytest.raises(
        DataError, match=r"^the serving data has none of the training features: a, b, c$"
    ):
        acc.add(pd.DataFrame({"z": [1]}))


def test_empty_serving_data():
    train = pd.DataFrame({"a": [1.0, 2.0]})
    summary = ReferenceSummary.build(train, infer_schema(train))
    acc = CurrentAccumulator(summary)
    acc.add(train.iloc[:0])
    with pytest.raises(DataError, match=r"^the serving data has no rows$"):
        compare(summary, acc)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, a: a.add(pd.DataFrame({"a": [1.0]}), predictions=["x", "y"]), "2 predictions for a batch of 1 rows"),
        (lambda s, a: a.add(pd.DataFrame({"a": [1.0]}), scores=[0.5]), "need both scores and offline_scores"),
        (lambda s, a: a.add(pd.DataFrame({"a": [1.0]}), scores=[np.nan], offline_scores=[0.1]), "scores hold NaN"),
        (lambda s, a: a.add(pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])), "the column 'a' more than once"),
        (lambda s, a: ReferenceSummary.build(pd.DataFrame({"b": [1]}), infer_schema(pd.DataFrame({"a": [1]}))), "no column for the schema's feature: a"),
        (lambda s, a: ReferenceSummary.build(pd.DataFrame({"a": []}), {"features": [{"name": "a", "kind": "numeric"}]}), "the training data has no rows"),
        (lambda s, a: ReferenceSummary.build(pd.DataFrame({"a": [1]}), {"features": []}), "lists no features"),
        (lambda s, a: CurrentAccumulator(s, sample_size=0), "sample_size must be a whole number of at least 1"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(call, message):
    summary = ReferenceSummary.build(
        pd.DataFrame({"a": [1.0, 2.0]}), infer_schema(pd.DataFrame({"a": [1.0, 2.0]}))
    )
    acc = CurrentAccumulator(summary)
    with pytest.raises(DataError, match=message) as info:
        call(summary, acc)
    assert "\n" not in str(info.value)
    assert acc.rows == 0 and not acc.predictions.given  # nothing half-counted


# --------------------------------------------------------------------------- memory


def test_the_accumulator_memory_stays_bounded():
    """3,000,000 rows x 5 numeric features, in batches: the state stays at its samples."""
    rng = np.random.default_rng(0)
    columns = [f"f{i}" for i in range(5)]
    train = pd.DataFrame(rng.normal(size=(50_000, 5)), columns=columns)
    summary = ReferenceSummary.build(train, infer_schema(train))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        acc = CurrentAccumulator(summary)
        worst_peak = 0
        for _ in range(30):
            batch = pd.DataFrame(rng.normal(0.01, 1, size=(100_000, 5)), columns=columns)
            held = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            acc.add(batch)
            worst_peak = max(worst_peak, tracemalloc.get_traced_memory()[1] - held)
            del batch
        state = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert acc.rows == 3_000_000
    # five samples of 200,000 float64 values are 8 MB; one batch's work a few MB more
    assert state < 12 * 2**20, f"accumulator holds {state / 2**20:.1f} MiB"
    assert worst_peak < 40 * 2**20, f"add() peaked at {worst_peak / 2**20:.1f} MiB"
    report = compare(summary, acc)
    assert report.status == "ok" and all(f.sampled for f in report.features)


def test_large_sample_ks_pvalue_is_kolmogorovs_limit_without_scipy_stats():
    """Above the exact size the p-value is ``kstwobign.sf``, computed via scipy.special alone."""
    import scipy.stats as st

    from mlprod_cli.core.skew._distances import ks_pvalue as _ks_pvalue

    rng = np.random.default_rng(7)
    ref, cur = rng.normal(size=200_000), rng.normal(0.01, 1, size=150_000)
    d = st.ks_2samp(ref, cur).statistic
    en = ref.size * cur.size / (ref.size + cur.size)
    assert math.isclose(
        _ks_pvalue(ref, cur, d), st.kstwobign.sf(math.sqrt(en) * d), rel_tol=0, abs_tol=1e-12
    )
