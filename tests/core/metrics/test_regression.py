"""The regression metrics: equal to scikit-learn to 1e-12, and undefined with a reason where they must be."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as sk

from mlprod_cli.core.metrics import regression_report, to_dict
from mlprod_cli.core.names import REGRESSION_METRIC_NAMES, higher_is_better
from mlprod_cli.errors import DataError

SKLEARN = {
    "mae": sk.mean_absolute_error,
    "rmse": sk.root_mean_squared_error,
    "r2": sk.r2_score,
    "median_ae": sk.median_absolute_error,
    "max_error": sk.max_error,
    "d2_absolute_error": sk.d2_absolute_error_score,
    "mape": sk.mean_absolute_percentage_error,
}


def _data(seed: int, n: int, shift: float = 0.5):
    rng = np.random.default_rng(seed)
    y = rng.gamma(2.0, 3.0, n) + shift
    return y, y + rng.normal(0.0, 1.5, n)


@pytest.mark.parametrize("seed,n", [(0, 7), (1, 100), (2, 10_001), (3, 200_000)])
def test_every_metric_equals_scikit_learn(seed, n):
    y, p = _data(seed, n)
    low, high = p - 1.3, p + 1.1
    report = regression_report(y, p, quantiles={0.1: low, 0.9: high})
    for name, fn in SKLEARN.items():
        assert report.value(name).value == pytest.approx(fn(y, p), rel=1e-12, abs=1e-12), name
    assert report.value("pinball_10").value == pytest.approx(
        sk.mean_pinball_loss(y, low, alpha=0.1), rel=1e-12
    )
    assert report.value("pinball_90").value == pytest.approx(
        sk.mean_pinball_loss(y, high, alpha=0.9), rel=1e-12
    )
    assert report.value("coverage_80").value == np.mean((y >= low) & (y <= high))
    assert report.value("wape").value == pytest.approx(np.abs(p - y).sum() / np.abs(y).sum())
    assert list(report.metrics) == list(REGRESSION_METRIC_NAMES)


def test_the_constant_median_has_no_skill():
    y, _ = _data(4, 1001)
    report = regression_report(y, np.full_like(y, np.median(y)))
    assert report.value("d2_absolute_error").value == pytest.approx(0.0, abs=1e-12)
    assert report.value("r2").value <= 0


def test_mape_is_undefined_with_a_zero_true_value_and_wape_is_read_instead():
    y = np.array([0.0, 2.0, -1.0, 4.0])
    report = regression_report(y, y + 1)
    mape = report.value("mape")
    assert mape.value is None and "zero or negative" in mape.reason
    assert report.value("wape").value == pytest.approx(4 / 7)
    assert "2 true values are zero or negative" in report.percentage_note
    assert "WAPE" in report.percentage_note


def test_a_constant_target_follows_scikit_learn():
    y = np.full(5, 3.0)
    assert regression_report(y, y).value("r2").value == sk.r2_score(y, y) == 1.0
    off = regression_report(y, y + 1)
    assert off.value("r2").value is None and off.value("r2").reason
    assert off.value("d2_absolute_error").value is None


def test_quantile_metrics_need_quantiles():
    y, p = _data(5, 50)
    report = regression_report(y, p)
    for name in ("pinball_10", "pinball_90", "coverage_80"):
        assert report.value(name).value is None
        assert report.value(name).reason == "the model gives no quantiles"


def test_deciles_cover_every_row_and_say_where_the_model_fails():
    y = np.arange(1, 1001, dtype=float)
    p = np.where(y > 900, y - 50, y)  # wrong only on the dearest tenth
    report = regression_report(y, p)
    assert [d.decile for d in report.deciles] == list(range(1, 11))
    assert sum(d.rows for d in report.deciles) == 1000
    assert all(d.mae == 0 for d in report.deciles[:9])
    assert report.deciles[9].mae == 50 and report.deciles[9].mean_error == -50
    assert report.deciles[0].low == 1 and report.deciles[9].high == 1000


def test_few_distinct_values_share_bins():
    y = np.array([1.0] * 50 + [2.0] * 50)
    report = regression_report(y, y)
    assert sum(d.rows for d in report.deciles) == 100
    assert len(report.deciles) == 2


@pytest.mark.parametrize(
    "y,p,message",
    [
        ([1.0, math.inf], [1.0, 2.0], "y_true has an infinite value (row 2)"),
        ([1.0, 2.0], [math.nan, 2.0], "y_pred has a missing value (row 1)"),
        (["a", "b"], [1.0, 2.0], "y_true must hold numbers"),
        ([1.0, 2.0], [1.0], "y_true has 2 rows but y_pred has 1"),
        ([], [], "no samples"),
    ],
)
def test_bad_input_is_one_data_error(y, p, message):
    with pytest.raises(DataError, match="^" + __import__("re").escape(message)):
        regression_report(y, p)


def test_a_class_or_an_unknown_metric_is_an_error():
    report = regression_report([1.0, 2.0], [1.0, 2.5])
    with pytest.raises(DataError, match="no classes"):
        report.value("mae", label="high")
    with pytest.raises(DataError, match="unknown metric"):
        report.value("recall")


def test_custom_metrics_and_the_json_shape():
    report = regression_report(
        [1.0, 2.0, 3.0],
        [1.0, 2.0, 4.0],
        custom={"big_misses": lambda t, p: float(np.sum(abs(t - p) > 0.5))},
    )
    assert report.value("big_misses").value == 1.0
    data = to_dict(report)
    assert data["task"] == "regression"
    assert data["metrics"]["mae"] == pytest.approx(1 / 3)
    assert data["undefined"]["pinball_10"] == "the model gives no quantiles"
    assert data["custom"]["metrics"] == {"big_misses": 1.0}
    assert sum(d["rows"] for d in data["deciles"]) == 3


def test_directions():
    assert not higher_is_better("mae") and not higher_is_better("rmse")
    assert higher_is_better("r2") and higher_is_better("d2_absolute_error")
    assert higher_is_better("recall") and not higher_is_better("fpr")
