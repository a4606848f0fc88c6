"""Benchmark: mlprod's regression report against scikit-learn's calls, on the same arrays.

For ``--n`` true values (fixed seed), a prediction and its 0.1 and 0.9 quantiles, it times

* ours:    ``mlprod_cli.core.metrics.regression_report(y_true, y_pred, quantiles=...)``,
           which computes every metric and the ten deciles of the true value;
* sklearn: ``mean_absolute_error``, ``root_mean_squared_error``, ``r2_score``,
           ``median_absolute_error``, ``max_error``, ``d2_absolute_error_score``,
           ``mean_absolute_percentage_error`` and ``mean_pinball_loss`` at 0.1 and 0.9,
           plus with numpy what scikit-learn has no call for: WAPE, the coverage of the
           interval, the means and standard deviations, and per decile of the true value
           (``np.quantile`` edges, ``np.digitize``, a mask per bin) its MAE and mean error;

on two problems: every true value positive (MAPE is computed) and a shifted one with
zero and negative true values (MAPE is undefined, WAPE is read; the sklearn side skips
``mean_absolute_percentage_error``). It checks that every value both compute is equal
within a relative 1e-9 (see ``TOLERANCE``), and prints the best time of ``--repeat``
runs with the ratio ours / sklearn, and each side's peak memory above its inputs
(``tracemalloc``, which numpy reports its arrays to, measured in one more, untimed run).

    PYTHONPATH=. python bench/bench_regression_report.py --n 10000000 --repeat 3
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn import metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_metrics import best_of

from mlprod_cli.core.metrics import RegressionReport, regression_report

# Relative. The two sides sum 10**7 terms in different orders: numpy's pairwise sums
# against ``bincount``'s running sums (the deciles) and scikit-learn's own arrangements
# (0.5 * |e| for D², a weighted average for MAE). A running sum of n terms of one sign
# is off by at most n * 2**-53 relative, 1.1e-9 for n = 10**7; 1e-9 stays under that
# bound without hiding a wrong formula (those are off by far more). The unit tests hold
# 1e-12 on up to 200,000 rows. The largest difference seen is printed.
TOLERANCE = 1e-9
DECILES = np.linspace(0.1, 0.9, 9)


def make_problem(n: int, seed: int, shift: float) -> tuple[np.ndarray, ...]:
    """Skewed true values (a gamma, like prices), a noisy prediction and its 80 % interval."""
    rng = np.random.default_rng(seed)
    y_true = rng.gamma(2.0, 3.0, n) + shift
    y_pred = y_true + rng.normal(0.0, 1.5, n)
    low = y_pred - rng.uniform(1.0, 2.5, n)
    high = y_pred + rng.uniform(1.0, 2.5, n)
    return y_true, y_pred, low, high


def ours(y_true: np.ndarray, y_pred: np.ndarray, low: np.ndarray, high: np.ndarray) -> Any:
    return regression_report(y_true, y_pred, quantiles={0.1: low, 0.9: high})


def sklearn_equivalent(
    y_true: np.ndarray, y_pred: np.ndarray, low: np.ndarray, high: np.ndarray
) -> dict:
    out = {
        "mae": skm.mean_absolute_error(y_true, y_pred),
        "rmse": skm.root_mean_squared_error(y_true, y_pred),
        "r2": skm.r2_score(y_true, y_pred),
        "median_ae": skm.median_absolute_error(y_true, y_pred),
        "max_error": skm.max_error(y_true, y_pred),
        "d2_absolute_error": skm.d2_absolute_error_score(y_true, y_pred),
        "wape": float(np.abs(y_pred - y_true).sum() / np.abs(y_true).sum()),
        "pinball_10": skm.mean_pinball_loss(y_true, low, alpha=0.1),
        "pinball_90": skm.mean_pinball_loss(y_true, high, alpha=0.9),
        "coverage_80": float(np.mean((y_true >= low) & (y_true <= high))),
        "mean_true": float(np.mean(y_true)),
        "mean_pred": float(np.mean(y_pred)),
        "std_true": float(np.std(y_true)),
        "std_pred": float(np.std(y_pred)),
    }
    if (y_true > 0).all():
        out["mape"] = skm.mean_absolute_percentage_error(y_true, y_pred)
    edges = np.quantile(y_true, DECILES)
    bounds = [float(y_true.min()), *map(float, edges), float(y_true.max())]
    bins = np.digitize(y_true, edges, right=True)  # edges[k-1] < y <= edges[k]
    deciles = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(10):
            mask = bins == k
            if not mask.any():
                continue
            t, p = y_true[mask], y_pred[mask]
            mae, mean_error = skm.mean_absolute_error(t, p), float(np.mean(p - t))
            deciles.append((k + 1, int(mask.sum()), bounds[k], bounds[k + 1], mae, mean_error))
    out["deciles"] = deciles
    return out


def peak_mib(fn: Callable[..., Any], *args: Any) -> float:
    """The most memory ``fn(*args)`` held at once beyond what was allocated before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fn(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - before) / 2**20


def check_equal(report: RegressionReport, theirs: dict) -> tuple[int, float]:
    """Compare every value both sides compute; return how many, and the largest difference."""
    compared = 0
    worst = 0.0

    def same(what: str, a: float | None, b: float, scale: float | None = None) -> None:
        # A signed mean (the mean error) can be near 0: its error is bounded by the mean
        # of the absolute terms, so it is compared relative to that ``scale``.
        nonlocal compared, worst
        scale = abs(b) if scale is None else scale
        if a is None or not math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE * scale):
            raise SystemExit(f"MISMATCH {what}: ours {a!r}, sklearn {b!r}")
        if scale:
            worst = max(worst, abs(a - b) / scale)
        compared += 1

    for name, value in theirs.items():
        if name == "deciles":
            continue
        ours_value = getattr(report, name) if name.startswith(("mean_", "std_")) else None
        if ours_value is None:
            ours_value = report.value(name).value
        same(name, ours_value, value)
    if "mape" not in theirs and report.value("mape").value is not None:
        raise SystemExit("MISMATCH mape: ours computed it with non-positive true values")
    if len(report.deciles) != len(theirs["deciles"]):
        counts = len(report.deciles), len(theirs["deciles"])
        raise SystemExit(f"MISMATCH deciles: ours {counts[0]}, sklearn {counts[1]}")
    for row, theirs_row in zip(report.deciles, theirs["deciles"], strict=True):
        decile, rows, low, high, mae, mean_error = theirs_row
        if (row.decile, row.rows, row.low, row.high) != (decile, rows, low, high):
            raise SystemExit(f"MISMATCH decile {decile}: ours {row}, sklearn {theirs_row}")
        same(f"decile {decile} mae", row.mae, mae)
        same(f"decile {decile} mean error", row.mean_error, mean_error, scale=mae)
        compared += 4  # its rows and range (exactly equal), MAE and mean error
    return compared, worst


def bench(n: int, repeat: int, seed: int) -> list[tuple]:
    rows = []
    for shift, name in ((0.5, "MAPE"), (-2.0, "WAPE")):
        problem = make_problem(n, seed, shift)
        ours_best, ours_median, report = best_of(repeat, ours, *problem)
        sk_best, sk_median, theirs = best_of(repeat, sklearn_equivalent, *problem)
        compared, worst = check_equal(report, theirs)
        del report, theirs
        ours_peak = peak_mib(ours, *problem)
        sk_peak = peak_mib(sklearn_equivalent, *problem)
        rows.append((name, ours_best, ours_median, sk_best, sk_median, ours_peak, sk_peak))
        print(
            f"  {name}: ours {ours_best:.3f}s, sklearn {sk_best:.3f}s, {compared} values"
            f" equal within {TOLERANCE:g} relative (largest difference {worst:.1e})",
            file=sys.stderr,
        )
        del problem  # free ~300 MB before the next problem
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="rows per problem")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; best is shown")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, numpy {np.__version__},"
        f" scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs, n={args.n:,},"
        f" best of {args.repeat}, load average {os.getloadavg()[0]:.1f} at start"
    )
    rows = bench(args.n, args.repeat, args.seed)
    print()
    print("full regression report (with quantiles, deciles) vs the scikit-learn calls + numpy")
    print(
        f"{'problem':<10}{'ours s':>10}{'sklearn s':>12}{'ratio':>8}"
        f"{'ours MiB':>10}{'sklearn MiB':>13}"
    )
    for name, ours_best, _, sk_best, _, ours_peak, sk_peak in rows:
        print(
            f"{name:<10}{ours_best:>10.3f}{sk_best:>12.3f}{ours_best / sk_best:>8.3f}"
            f"{ours_peak:>10.0f}{sk_peak:>13.0f}"
        )
    print(f"values equal within {TOLERANCE:g} relative; MiB = peak above the inputs")


if __name__ == "__main__":
    main()
