"""The distances between two distributions: PSI, Jensen–Shannon, L-infinity, KS and Wasserstein.

Plain functions on count vectors (PSI, JS, L-inf) or on samples (KS, Wasserstein),
and the quantile edges that turn a numeric reference into PSI bins. Every one equals
SciPy's on the same data (tests/core/skew/test_distances.py proves it with
hypothesis); bad input is a :class:`~mlprod_cli.errors.DataError`, never NaN or inf.
docs/skew.md has every definition.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from mlprod_cli.errors import DataError

PSI_BINS = 10
"""Numeric PSI uses the reference's deciles as bin edges (fewer when quantiles tie)."""
PSI_EPSILON = 1e-4
"""Proportions below this are raised to it in PSI, so an empty bin gives a large, finite term."""
KS_EXACT_SIZE = 10_000
"""Up to this sample size the KS p-value is SciPy's; beyond it, Kolmogorov's limit."""


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


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
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
    :func:`ks_pvalue`); it is ``None`` when SciPy is not installed.
    """
    ref, cur = _sample_pair(reference, current)
    d, _ = ks_and_wasserstein(ref, cur)
    return d, ks_pvalue(ref, cur, d)


def wasserstein_distance(reference: Any, current: Any) -> float:
    """First Wasserstein (earth mover's) distance between two 1-D samples.

    Equal to ``scipy.stats.wasserstein_distance(reference, current)``.
    """
    return ks_and_wasserstein(*_sample_pair(reference, current))[1]


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


def proportions(counts: Any) -> np.ndarray:
    """``counts`` divided by their sum (counts that are all zero stay zeros)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def _kl_terms(p: np.ndarray, m: np.ndarray) -> float:
    """``Σ p·ln(p/m)`` over ``p > 0`` (``m > 0`` there), as ``scipy.special.rel_entr`` sums."""
    terms = np.zeros_like(p)
    positive = p > 0
    terms[positive] = p[positive] * np.log(p[positive] / m[positive])
    return float(np.sum(terms))


def ks_and_wasserstein(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
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


def chi2_pvalue(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float | None:
    """Pearson's chi-square test of homogeneity of two count vectors, its p-value.

    The 2 × k table of both sides' counts over the categories either side holds
    (empty columns dropped), no continuity correction: equal to
    ``scipy.stats.chi2_contingency(table, correction=False).pvalue``. ``None``
    without SciPy; 1.0 when fewer than two categories hold values (nothing can differ).
    """
    table = np.vstack([np.asarray(ref_counts, float), np.asarray(cur_counts, float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0
    try:
        from scipy.special import chdtrc  # chi2.sf, without importing scipy.stats
    except ImportError:
        return None
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return float(np.clip(chdtrc(table.shape[1] - 1, statistic), 0.0, 1.0))


def ks_pvalue(ref: np.ndarray, cur: np.ndarray, d: float) -> float | None:
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
