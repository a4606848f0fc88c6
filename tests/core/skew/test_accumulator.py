"""mlprod_cli.core.skew._accumulator: streaming in batches, the reservoir, memory, bad input."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlprod_cli.core.dataset import infer_schema
from mlprod_cli.core.skew import (
    CurrentAccumulator,
    ReferenceSummary,
    compare,
    to_dict,
)
from mlprod_cli.errors import DataError
from tests.core.skew.support import (
    frame_of,
    streamed,
)

# --------------------------------------------------------------------------- streaming


def test_one_batch_or_37_uneven_batches_give_the_same_report():
    train, serving = frame_of(3000, 1), frame_of(5000, 2, shift=0.1)
    serving.loc[7, "colour"] = "purple"
    summary = ReferenceSummary.build(train, infer_schema(train))
    cuts = np.sort(np.random.default_rng(0).choice(np.arange(1, 5000), 36, replace=False))
    one = to_dict(compare(summary, streamed(summary, serving, [])))
    many = to_dict(compare(summary, streamed(summary, serving, cuts)))
    # The descriptive mean and std are combined batch by batch: equal to the last digit or so.
    for a, b in zip(one["features"], many["features"], strict=True):
        x, y = a["summary"].pop("current", {}), b["summary"].pop("current", {})
        assert x == pytest.approx(y, rel=1e-12)
    assert one == many
    assert not one["features"][0]["sampled"]


def test_beyond_sample_size_the_estimate_is_close_and_the_counts_exact():
    train, serving = frame_of(40_000, 1), frame_of(60_000, 2, shift=0.3)
    summary = ReferenceSummary.build(train, infer_schema(train), sample_size=5000)
    cuts = np.arange(7000, 60_000, 7000)
    sampled = compare(summary, streamed(summary, serving, cuts, sample_size=5000))
    exact_ref = ReferenceSummary.build(train, infer_schema(train))
    exact = compare(exact_ref, streamed(exact_ref, serving, cuts))
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


# --------------------------------------------------------------------------- bad input


def test_serving_data_with_none_of_the_features():
    train = pd.DataFrame({"a": [1.0], "b": [2.0], "c": ["x"]})
    acc = CurrentAccumulator(ReferenceSummary.build(train, infer_schema(train)))
    with pytest.raises(
        DataError, match=r"^the serving data has none of the training features: a, b, c$"
    ):
        acc.add(pd.DataFrame({"z": [1]}))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, a: a.add(pd.DataFrame({"a": [1.0]}), predictions=["x", "y"]), "2 predictions for a batch of 1 row"),
        (lambda s, a: a.add(pd.DataFrame({"a": [1.0]}), scores=[0.5]), "need both scores and offline_scores"),
        (lambda s, a: a.add(pd.DataFrame({"a": [1.0]}), scores=[np.nan], offline_scores=[0.1]), "scores hold NaN"),
        (lambda s, a: a.add(pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])), "the column 'a' more than once"),
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


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: a.add(pd.DataFrame({"a": [1.0]}), predictions=["high"]), "the predictions of a regression must be numbers, got 1 value that is not one, e.g. 'high'"),
        (lambda a: a.add(pd.DataFrame({"a": [1.0]}), predictions=[1.0], offline_predictions=["x"]), "the offline_predictions of a regression must be numbers"),
        (lambda a: a.add(pd.DataFrame({"a": [1.0]}), predictions=[1.0, 2.0]), "2 predictions for a batch of 1 row"),
        (lambda a: a.add(pd.DataFrame({"a": [1.0]}), offline_predictions=[1.0]), "offline_predictions need the served predictions too"),
    ],
)  # fmt: skip
def test_a_regressions_bad_predictions_are_one_line(call, message):
    train = pd.DataFrame({"a": [1.0, 2.0]})
    summary = ReferenceSummary.build(
        train, infer_schema(train), predictions=[10.0, 20.0], task="regression"
    )
    acc = CurrentAccumulator(summary)
    with pytest.raises(DataError, match=message) as info:
        call(acc)
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


def test_dates_with_offsets_that_differ_are_read_not_a_crash():
    # Issue 11, item 2: two single-row requests, each served, made every later skew exit 70.
    train = pd.DataFrame({"seen": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    acc = CurrentAccumulator(ReferenceSummary.build(train, infer_schema(train)))
    acc.add(pd.DataFrame({"seen": ["2024-08-01T10:00:00+02:00", "2024-08-01T08:00:00Z", "never"]}))
    state = acc.states["seen"]
    assert acc.rows == 3 and state.invalid == 1 and list(state.examples) == ["never"]
