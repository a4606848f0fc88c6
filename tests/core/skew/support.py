"""What the skew tests share: hypothesis strategies and made-up frames for the statistics,
and one way to run ``mlprod skew`` on a project for the tests of the run."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from mlprod_cli.core.dataset import infer_schema
from mlprod_cli.core.skew import (
    CurrentAccumulator,
    ReferenceSummary,
    SkewRequest,
    SkewRun,
    compare,
    run_skew,
)
from mlprod_cli.core.workspace import Workspace

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# SciPy's own exact KS p-value falls back to the asymptotic one with a warning, at times.
scipy_fallback = pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# --------------------------------------------------------------------------- strategies

# Values as they come: ordinary, tied on a few points, heavy-tailed over 15 decades.
values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, -2.5, 3.0, 1e-300]),
    st.builds(
        lambda exponent, sign: sign * 10.0**exponent,
        st.floats(-3, 12),
        st.sampled_from([-1.0, 1.0]),
    ),
)
samples = st.one_of(
    st.lists(values, min_size=1, max_size=150),
    st.builds(lambda v, n: [v] * n, values, st.integers(1, 60)),  # a constant column
    st.lists(st.sampled_from([0.0, 1.0, 2.0]), min_size=1, max_size=150),  # heavy ties
)
categories = st.lists(st.sampled_from(list("abcdefg")), min_size=1, max_size=150)


# --------------------------------------------------------------------------- made-up data


def frame_of(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """``n`` rows: a normal ``x`` (5% null, moved by ``shift``), a heavy tail, ties, a colour."""
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


def skew_report(ref: dict, cur: dict, *, batches: int = 1, sample_size: int = 200_000, **kw):
    """The report of ``cur`` against ``ref`` (columns as lists), fed in ``batches``."""
    reference = pd.DataFrame(ref)
    summary = ReferenceSummary.build(reference, infer_schema(reference), sample_size=sample_size)
    acc = CurrentAccumulator(summary, sample_size=sample_size)
    current = pd.DataFrame(cur)
    for part in np.array_split(np.arange(len(current)), batches):
        acc.add(current.iloc[part])
    return compare(summary, acc, **kw)


def streamed(summary, frame, cuts, **kw) -> CurrentAccumulator:
    """An accumulator fed ``frame`` in the batches that ``cuts`` (row numbers) delimit."""
    acc = CurrentAccumulator(summary, **kw)
    for start, stop in itertools.pairwise([0, *cuts, len(frame)]):
        acc.add(frame.iloc[start:stop])
    return acc


# --------------------------------------------------------------------------- the run


def run(project: Path, **request) -> SkewRun:
    """``mlprod skew`` in ``project`` with the options of ``request`` (SkewRequest's fields)."""
    return run_skew(Workspace.load(project), SkewRequest(**request))
