from __future__ import annotations

import math

import numpy as np
import pytest

from {{ cookiecutter.package_name }} import metrics


def test_custom_metrics_are_registered_by_name() -> None:
    assert metrics.CUSTOM_METRICS == {"within_10_percent": metrics.within_10_percent}


def test_within_10_percent_counts_the_close_predictions() -> None:
    y_true = [100.0, 200.0, 50.0, 10.0, 0.0]
    y_pred = [110.0, 260.0, 50.0, 8.0, 0.0]
    # 110 is at the edge (10 %), 260 and 8 are not close, 0 is exact.
    assert metrics.within_10_percent(y_true, y_pred) == pytest.approx(3 / 5)


@pytest.mark.parametrize("seed", range(3))
def test_within_10_percent_is_the_share_by_hand(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.uniform(1, 100, 500)
    y_pred = y_true * rng.uniform(0.8, 1.2, 500)
    expected = sum(abs(p - t) <= 0.1 * t for t, p in zip(y_true, y_pred, strict=True)) / 500
    assert metrics.within_10_percent(y_true, y_pred) == pytest.approx(expected)


def test_within_10_percent_is_undefined_without_rows() -> None:
    assert math.isnan(metrics.within_10_percent([], []))


def test_within_10_percent_checks_lengths() -> None:
    with pytest.raises(ValueError, match="shape"):
        metrics.within_10_percent([1.0], [1.0, 2.0])
