"""mlprod_cli.core.skew._compare: per-kind statistics against SciPy, scenarios, findings."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from scipy import stats
from scipy.spatial import distance

from mlprod_cli.core.dataset import infer_schema
from mlprod_cli.core.skew import (
    PSI_EPSILON,
    CurrentAccumulator,
    ReferenceSummary,
    compare,
    to_dict,
)
from mlprod_cli.errors import DataError
from tests.core.skew.support import (
    PROPERTY,
    categories,
    close,
    frame_of,
    samples,
    scipy_fallback,
    skew_report,
)

# --------------------------------------------------------------------------- against SciPy


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


@scipy_fallback
@PROPERTY
@given(samples, samples)
def test_numeric_feature_statistics_equal_scipy_and_the_psi_formula(ref, cur):
    report = skew_report({"x": ref}, {"x": cur}, batches=3 if len(cur) >= 3 else 1)
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
@given(categories, categories)
def test_categorical_feature_statistics_equal_scipy(ref, cur):
    report = skew_report({"c": ref}, {"c": cur}, batches=2 if len(cur) >= 2 else 1)
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


# --------------------------------------------------------------------------- scenarios


def test_identical_distributions_are_ok():
    train, serving = frame_of(20_000, 1), frame_of(20_000, 2)
    report = skew_report(train.to_dict("list"), serving.to_dict("list"), batches=5)
    assert report.status == "ok", to_dict(report)
    assert all(f.status == "ok" for f in report.features)
    assert {x.kind for x in report.schema} <= {"out_of_range"}


def test_a_shifted_feature_fails_by_name():
    train, serving = frame_of(10_000, 1), frame_of(10_000, 2)
    serving["x"] += 1.0
    report = skew_report(train.to_dict("list"), serving.to_dict("list"))
    x = report.feature("x")
    assert report.status == "fail" and x.status == "fail"
    assert {n for n, s in x.statistics.items() if s.status == "fail"} == {
        "psi",
        "ks",
        "wasserstein",
    }
    assert [f.name for f in report.features if f.status != "ok"] == ["x"]


def test_a_new_category_is_reported_by_name():
    train, serving = frame_of(5000, 1), frame_of(5000, 2)
    serving.loc[:49, "colour"] = "ultraviolet"
    report = skew_report(train.to_dict("list"), serving.to_dict("list"))
    (finding,) = [x for x in report.schema if x.kind == "unseen_categories"]
    assert finding.column == "colour" and finding.status == "warn"
    assert finding.count == 50 and finding.examples == ("ultraviolet",)
    assert "ultraviolet" in finding.message
    assert report.feature("colour").status == "warn"


def test_a_unit_change_fails_psi_ks_wasserstein_and_the_range():
    rng = np.random.default_rng(5)
    grams = rng.normal(2.5, 0.5, 8000)
    report = skew_report({"weight": grams}, {"weight": rng.normal(2.5, 0.5, 8000) * 1000})
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
    train, serving = frame_of(2000, 1), frame_of(2000, 2).drop(columns=["heavy"])
    report = skew_report(train.to_dict("list"), serving.to_dict("list"))
    (finding,) = [x for x in report.schema if x.kind == "missing_feature"]
    assert finding.column == "heavy" and finding.status == "fail"
    heavy = report.feature("heavy")
    assert heavy.status == "fail" and heavy.statistics["psi"].value is None
    assert heavy.statistics["psi"].reason == "the feature is missing in the serving data"
    assert report.status == "fail"


def test_a_column_missing_from_some_batches_counts_as_nulls():
    train = frame_of(2000, 1)
    summary = ReferenceSummary.build(train, infer_schema(train))
    acc = CurrentAccumulator(summary)
    serving = frame_of(2000, 2)
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
    train = frame_of(1000, 1)
    summary = ReferenceSummary.build(train, infer_schema(train))
    serving = frame_of(1000, 2).assign(request_id=1, surprise=2)
    acc = CurrentAccumulator(summary, ignore_columns=["request_id"])
    acc.add(serving)
    report = compare(summary, acc)
    assert [(x.kind, x.column, x.status) for x in report.schema if x.kind != "out_of_range"] == [
        ("extra_column", "surprise", "warn")
    ]


def test_bool_features_are_categories():
    train = pd.DataFrame({"flag": [True, False] * 50})
    report = skew_report(train.to_dict("list"), {"flag": [True] * 90 + [False] * 10})
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


def _regression(n_train: int = 2000, seed: int = 3):
    """A reference whose feature ``p`` holds the very values the model predicted."""
    rng = np.random.default_rng(seed)
    values = rng.normal(150.0, 50.0, n_train)
    train = pd.DataFrame({"p": values})
    return values, ReferenceSummary.build(
        train, infer_schema(train), predictions=values, task="regression"
    )


def test_a_regressions_prediction_drift_is_a_numeric_features():
    values, summary = _regression()
    rng = np.random.default_rng(4)
    for served in (rng.normal(150.0, 50.0, 800), rng.normal(180.0, 50.0, 800)):
        acc = CurrentAccumulator(summary)
        for part in np.array_split(np.arange(served.size), 3):
            acc.add(pd.DataFrame({"p": served[part]}), predictions=served[part])
        report = compare(summary, acc)
        pred, feature = report.predictions, report.feature("p")
        assert pred.name == "prediction" and pred.kind == "numeric"
        # the same statistics, thresholds and significance as the feature of the same values
        for name in ("psi", "ks", "ks_pvalue", "wasserstein", "wasserstein_raw", "null_rate"):
            assert pred.statistics[name] == feature.statistics[name], name
        assert pred.distribution == feature.distribution
        assert pred.significance == feature.significance
        assert pred.summary["reference"] == feature.summary["reference"]
        assert pred.summary["quantiles"]["reference"] == pytest.approx(
            np.quantile(values, [0.1, 0.25, 0.5, 0.75, 0.9]).tolist()
        )
        assert pred.summary["quantiles"]["current"] == pytest.approx(
            np.quantile(served, [0.1, 0.25, 0.5, 0.75, 0.9]).tolist()
        )
        assert "prediction_mismatch" not in pred.statistics  # nothing re-scored
    # the second: shifted by 0.6 standard deviations
    assert pred.status == "fail" and report.status == "fail"
    assert pred.statistics["wasserstein"].value == pytest.approx(0.6, abs=0.1)


def test_a_regressions_served_values_against_the_offline_ones():
    _, summary = _regression()
    rng = np.random.default_rng(5)
    offline = rng.normal(150.0, 50.0, 1000)
    served = offline * (1 + 1e-12)  # float noise: agrees
    served[:30] += 2.5  # 3% tampered
    served[30:32] = np.nan  # served null where the model gives a number
    acc = CurrentAccumulator(summary)
    acc.add(pd.DataFrame({"p": offline}), predictions=served, offline_predictions=offline)
    pred = compare(summary, acc).predictions
    mismatch = pred.statistics["prediction_mismatch"]
    assert mismatch.value == pytest.approx(0.032) and mismatch.status == "warn"
    assert pred.summary["compared"] == 1000 and pred.summary["mismatches"] == 32
    assert pred.summary["served_null"] == 2
    assert pred.summary["abs_diff_max"] == pytest.approx(2.5)
    assert pred.summary["abs_diff_mean"] == pytest.approx(30 * 2.5 / 998, rel=1e-6)
    # the served nulls are the prediction's null rate, as a feature's nulls are
    assert pred.null_rate_current == pytest.approx(0.002) and pred.values_current == 998
    assert pred.summary["tolerance"]["scale"] == pytest.approx(summary.predictions.std)
    assert json.dumps(to_dict(compare(summary, acc)), allow_nan=False)


def test_a_regression_without_served_values_has_undefined_drift():
    _, summary = _regression()
    acc = CurrentAccumulator(summary)
    acc.add(pd.DataFrame({"p": [1.0, 2.0]}))
    pred = compare(summary, acc).predictions
    assert pred.status == "ok" and pred.statistics["psi"].value is None
    assert pred.statistics["psi"].reason == "no serving predictions were given"


# --------------------------------------------------------------------------- bad input


def test_empty_serving_data():
    train = pd.DataFrame({"a": [1.0, 2.0]})
    summary = ReferenceSummary.build(train, infer_schema(train))
    acc = CurrentAccumulator(summary)
    acc.add(train.iloc[:0])
    with pytest.raises(DataError, match=r"^the serving data has no rows$"):
        compare(summary, acc)


# --------------------------------------------------------------------------- small samples


def test_51_rows_from_the_training_distribution_are_ok_with_a_note():
    # Drawn from the same distribution as training: by the thresholds alone, x's PSI
    # and heavy's PSI fail (51 values spread over ten bins); no test finds a drift.
    train, serving = frame_of(20_000, 1), frame_of(20_000, 2).sample(51, random_state=0)
    report = skew_report(train.to_dict("list"), serving.to_dict("list"))
    assert report.status == "ok", to_dict(report)
    heavy = report.feature("heavy")
    assert heavy.status == "ok" and heavy.statistics["psi"].value > 0.25
    assert heavy.statistics["psi"].status == "ok"
    assert heavy.significance["test"] == "ks" and heavy.significance["significant"] is False
    assert heavy.significance["pvalue"] == heavy.statistics["ks_pvalue"].value > 0.01
    assert heavy.significance["overridden"]["psi"] == "fail"
    assert heavy.significance["values"] == 51 and heavy.significance["level"] == 0.01
    colour = report.feature("colour")
    assert colour.significance["test"] == "chi2" and colour.significance["significant"] is False
    assert to_dict(report)["features"][1]["significance"]["overridden"] == {
        "psi": "fail",
        "ks": "warn",
        "wasserstein": "warn",
    }


def test_51_shifted_rows_still_fail():
    train = frame_of(20_000, 1)
    serving = frame_of(20_000, 2, shift=1.0).sample(51, random_state=0)
    report = skew_report(train.to_dict("list"), serving.to_dict("list"))
    x = report.feature("x")
    assert report.status == "fail" and x.status == "fail"
    assert x.significance["significant"] is True and x.significance["pvalue"] < 1e-4
    assert x.significance["overridden"] == {}
    assert x.statistics["ks"].status == "fail"


def test_a_large_sample_is_judged_by_the_thresholds_as_before():
    # A small shift in 20,000 rows: significant (p ≈ 0), so the thresholds decide.
    train, serving = frame_of(20_000, 1), frame_of(20_000, 2, shift=0.15)
    x = skew_report(train.to_dict("list"), serving.to_dict("list")).feature("x")
    assert x.significance["significant"] is True and x.significance["overridden"] == {}
    assert x.statistics["wasserstein"].status == "warn"


def test_a_category_that_moved_in_few_rows_fails_when_significant():
    ref = ["red"] * 500 + ["blue"] * 500
    report = skew_report({"c": ref}, {"c": ["red"] * 40})
    c = report.feature("c")
    assert c.status == "fail" and c.significance["test"] == "chi2"
    assert c.significance["pvalue"] < 0.01
    noisy = skew_report({"c": ref}, {"c": ["red"] * 7 + ["blue"] * 3}).feature("c")
    assert noisy.statistics["linf"].value == pytest.approx(0.2)
    assert noisy.status == "ok"
    assert noisy.significance["overridden"] == {"psi": "warn", "js": "warn", "linf": "warn"}


@PROPERTY
@given(categories, categories)
def test_chi2_pvalue_equals_scipy(ref, cur):
    from mlprod_cli.core.skew._distances import chi2_pvalue

    union = sorted(set(ref) | set(cur))
    r = np.array([Counter(ref)[k] for k in union])
    c = np.array([Counter(cur)[k] for k in union])
    p = chi2_pvalue(r, c)
    if len(union) < 2:
        assert p == 1.0
    else:
        expected = stats.chi2_contingency(np.vstack([r, c]), correction=False).pvalue
        assert math.isclose(p, expected, rel_tol=1e-9, abs_tol=1e-12)
