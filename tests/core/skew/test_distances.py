"""mlprod_cli.core.skew._distances: every distance equals SciPy's (hypothesis); bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from mlprod_cli.core.skew import (
    jensen_shannon_distance,
    ks_2samp,
    linf_distance,
    population_stability_index,
    quantile_edges,
    wasserstein_distance,
)
from mlprod_cli.errors import DataError
from tests.core.skew.support import (
    PROPERTY,
    close,
    samples,
    scipy_fallback,
)

# --------------------------------------------------------------------------- against SciPy


@scipy_fallback
@PROPERTY
@given(samples, samples)
def test_ks_and_wasserstein_equal_scipy(ref, cur):
    d, p = ks_2samp(ref, cur)
    expected = stats.ks_2samp(ref, cur)
    assert close(d, expected.statistic)
    assert close(p, expected.pvalue)
    assert close(wasserstein_distance(ref, cur), stats.wasserstein_distance(ref, cur))


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


# --------------------------------------------------------------------------- bad input


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
