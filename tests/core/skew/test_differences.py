"""mlprod_cli.core.skew._differences: served against re-scored values of a regression."""

from __future__ import annotations

import numpy as np
import pytest

from mlprod_cli.core.skew._differences import (
    RELATIVE_TOLERANCE,
    ValueDifferences,
    quantiles,
    scale_of,
)


def test_float_noise_agrees_and_a_real_difference_differs():
    offline = np.array([1e6, 250.0, 0.0, -3.5])
    diffs = ValueDifferences(scale=50.0)
    # noise at float64 precision on every row: no difference counted
    diffs.add(offline * (1 + 1e-13) + 1e-12, offline)
    assert (diffs.compared, diffs.differing, diffs.served_null) == (4, 0, 0)
    assert 0 < diffs.largest < 1e-6
    # the tolerance is 1e-6 · (|offline| + scale): 1.00005 at 1e6, 5e-5 at 0
    at_million = RELATIVE_TOLERANCE * (1e6 + 50.0)
    at_zero = RELATIVE_TOLERANCE * 50.0
    served = offline + np.array([0.9 * at_million, 0.0, 1.1 * at_zero, 0.5])
    again = ValueDifferences(scale=50.0)
    again.add(served, offline)
    assert again.differing == 2  # the zero just beyond its tolerance, and -3.5 off by 0.5
    assert again.largest == pytest.approx(0.9 * at_million)
    assert again.total / again.finite == pytest.approx((0.9 * at_million + 1.1 * at_zero + 0.5) / 4)


def test_a_value_missing_on_one_side_differs_on_both_agrees():
    diffs = ValueDifferences(scale=1.0)
    served = np.array([np.nan, 2.0, np.nan, 4.0])
    offline = np.array([1.0, np.inf, np.nan, 4.0])
    diffs.add(served, offline)
    # row 0: served null, a number offline; row 1: the other way; row 2: neither
    assert (diffs.compared, diffs.differing, diffs.served_null, diffs.finite) == (4, 2, 2, 1)
    summary = diffs.summary()
    assert summary == {
        "compared": 4,
        "mismatches": 2,
        "served_null": 2,
        "abs_diff_mean": 0.0,
        "abs_diff_max": 0.0,
        "tolerance": {"relative": RELATIVE_TOLERANCE, "scale": 1.0},
    }


def test_no_finite_pair_leaves_the_differences_undefined():
    diffs = ValueDifferences()
    diffs.add(np.array([np.nan]), np.array([1.0]))
    summary = diffs.summary()
    assert summary["abs_diff_mean"] is None and summary["abs_diff_max"] is None
    assert summary["mismatches"] == 1


def test_a_constant_model_needs_exact_equality_at_zero():
    diffs = ValueDifferences(scale=scale_of(0.0))
    diffs.add(np.array([0.0, 5e-324]), np.array([0.0, 0.0]))
    assert diffs.differing == 1


def test_scale_and_quantiles():
    assert scale_of(None) == 0.0 and scale_of(float("nan")) == 0.0 and scale_of(2.5) == 2.5
    sample = np.arange(1.0, 102.0)
    assert quantiles(sample) == [11.0, 26.0, 51.0, 76.0, 91.0]
    assert quantiles(np.empty(0)) is None
