"""Benchmark: mlprod's classification report against scikit-learn's, on the same arrays.

For a binary and a 5-class problem with ``--n`` predictions (fixed seed) it times

* ours:    ``mlprod_cli.core.metrics.classification_report(y_true, y_pred, scores=...)``,
           which computes every per-class metric, averages and AUROC;
* sklearn: ``confusion_matrix`` + ``classification_report`` + ``roc_auc_score`` per class
           (one-vs-rest), i.e. the subset of our report scikit-learn can give;

checks that every value both compute is equal within 1e-12, and prints the best time of
``--repeat`` runs with the ratio ours / sklearn. It then writes a ``--n`` row predictions
CSV (label, pred, 5 score columns) to a temporary folder and times reading it with
``pandas.read_csv`` as is, with pandas' C parser and dtype hints, and with ``pyarrow.csv``
when it is importable (the reader mlprod picks: pyarrow.csv if importable, else pandas
with hints), checking that all read the same values.

    PYTHONPATH=. python bench/bench_metrics.py --n 10000000 --repeat 3
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn import metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlprod_cli.core.metrics import Report, classification_report

TOLERANCE = 1e-12
SCORE_DIGITS = 6


def make_problem(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer labels 0..k-1, imbalanced, with probabilities that favour the true class."""
    rng = np.random.default_rng(seed)
    prior = np.linspace(1.0, 3.0, k)
    y_true = rng.choice(k, size=n, p=prior / prior.sum())
    scores = rng.random((n, k))
    scores[np.arange(n), y_true] += 0.35
    scores /= scores.sum(axis=1, keepdims=True)
    y_pred = scores.argmax(axis=1)
    return y_true, y_pred, scores


def ours(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray) -> Report:
    return classification_report(y_true, y_pred, scores=scores)


def sklearn_equivalent(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray) -> dict:
    labels = np.arange(scores.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        confusion = skm.confusion_matrix(y_true, y_pred)
        report = skm.classification_report(y_true, y_pred, output_dict=True)
        auroc = [skm.roc_auc_score(y_true == c, scores[:, c]) for c in labels]
    return {"confusion": confusion, "report": report, "auroc": auroc}


def best_of(repeat: int, fn: Callable[..., Any], *args: Any) -> tuple[float, float, Any]:
    """(best seconds, median seconds, last result) of ``repeat`` calls of ``fn(*args)``."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def check_equal(report: Report, theirs: dict) -> int:
    """Compare every value both sides compute; return how many were compared."""
    np.testing.assert_array_equal(report.confusion, theirs["confusion"])
    compared = report.confusion.size
    sk = theirs["report"]

    def same(what: str, a: float | None, b: float) -> None:
        nonlocal compared
        if a is None or not math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE):
            raise SystemExit(f"MISMATCH {what}: ours {a!r}, sklearn {b!r}")
        compared += 1

    same("accuracy", report.accuracy.value, sk["accuracy"])
    names = {"precision": "precision", "recall": "recall", "f1_score": "f1-score"}
    for j, cls in enumerate(report.classes):
        row = sk[cls.label]
        same(f"support {cls.label}", cls.support, row["support"])
        for ours_name, sk_name in names.items():
            same(f"{ours_name} {cls.label}", cls.metrics[ours_name].value, row[sk_name])
        same(f"auroc {cls.label}", cls.metrics["auroc"].value, theirs["auroc"][j])
    for average, key in (("macro", "macro avg"), ("weighted", "weighted avg")):
        for ours_name, sk_name in names.items():
            value = report.averages[average][ours_name].value
            same(f"{average} {ours_name}", value, sk[key][sk_name])
    return compared


def bench_metrics(n: int, repeat: int, seed: int) -> list[tuple]:
    rows = []
    for k, name in ((2, "binary"), (5, "5-class")):
        problem = make_problem(n, k, seed)
        ours_best, ours_median, report = best_of(repeat, ours, *problem)
        sk_best, sk_median, theirs = best_of(repeat, sklearn_equivalent, *problem)
        compared = check_equal(report, theirs)
        rows.append((name, ours_best, ours_median, sk_best, sk_median, compared))
        print(
            f"  {name}: ours {ours_best:.3f}s, sklearn {sk_best:.3f}s, "
            f"{compared} values equal within {TOLERANCE:g}",
            file=sys.stderr,
        )
        del problem, report, theirs  # free ~1 GB before the next problem
    return rows


# --- reading a predictions CSV -------------------------------------------------------------


def write_predictions_csv(path: Path, n: int, seed: int, chunk: int = 1_000_000) -> None:
    """label,pred,score_0..score_4 with 6 decimals, formatted as bytes by numpy.

    ``DataFrame.to_csv`` takes over a minute for 10**7 rows; every field here has a fixed
    width, so each chunk is one byte matrix filled digit by digit.
    """
    y_true, y_pred, scores = make_problem(n, 5, seed)
    names = np.array([list(f"class_{i}".encode()) for i in range(5)], dtype=np.uint8)
    header = "label,pred," + ",".join(f"score_{i}" for i in range(5)) + "\n"
    label_width = names.shape[1]
    score_width = 2 + SCORE_DIGITS  # "0.123456" or "1.000000"
    width = 2 * (label_width + 1) + 5 * (score_width + 1)
    with open(path, "wb") as out:
        out.write(header.encode())
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            rows = np.empty((stop - start, width), dtype=np.uint8)
            rows[:, :label_width] = names[y_true[start:stop]]
            rows[:, label_width] = ord(",")
            at = label_width + 1
            rows[:, at : at + label_width] = names[y_pred[start:stop]]
            at += label_width
            fixed = np.rint(scores[start:stop] * 10**SCORE_DIGITS).astype(np.int64)
            for c in range(5):
                rows[:, at] = ord(",")
                rows[:, at + 1] = ord("0") + fixed[:, c] // 10**SCORE_DIGITS
                rows[:, at + 2] = ord(".")
                for d in range(SCORE_DIGITS):
                    power = 10 ** (SCORE_DIGITS - 1 - d)
                    rows[:, at + 3 + d] = ord("0") + (fixed[:, c] // power) % 10
                at += score_width + 1
            rows[:, at] = ord("\n")
            out.write(rows.tobytes())


SCORE_DTYPES = {f"score_{i}": "float64" for i in range(5)}


def read_plain(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def read_pandas_hinted(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path, engine="c", dtype={"label": "category", "pred": "category"} | SCORE_DTYPES
    )


def read_pyarrow(path: Path) -> pd.DataFrame:
    from pyarrow import csv as pa_csv

    return pa_csv.read_csv(path).to_pandas()


def have_pyarrow() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def bench_csv(n: int, repeat: int, seed: int) -> list[tuple]:
    """Time the readers; the one mlprod would pick is pyarrow.csv when importable."""
    readers = [
        ("pandas.read_csv (defaults)", read_plain, False),
        ("pandas C engine + dtype hints", read_pandas_hinted, not have_pyarrow()),
    ]
    if have_pyarrow():
        readers.append(("pyarrow.csv + to_pandas", read_pyarrow, True))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.csv"
        start = time.perf_counter()
        write_predictions_csv(path, n, seed)
        size = path.stat().st_size
        print(
            f"  wrote {size / 1e6:.0f} MB CSV in {time.perf_counter() - start:.1f}s",
            file=sys.stderr,
        )
        first = None
        for name, reader, picked in readers:
            best, median, frame = best_of(repeat, reader, path)
            if first is None:
                first = frame
            else:
                check_same_frame(first, frame, name)
            rows.append((name, best, median, picked))
            del frame
    return rows


def check_same_frame(expected: pd.DataFrame, frame: pd.DataFrame, name: str) -> None:
    if list(frame.columns) != list(expected.columns) or len(frame) != len(expected):
        raise SystemExit(f"MISMATCH {name}: columns or row count differ")
    for column in expected.columns:
        a, b = expected[column], frame[column]
        if a.dtype.kind == "f":
            equal = np.array_equal(a.to_numpy(), b.to_numpy())
        else:
            equal = bool((a.astype(str).to_numpy() == b.astype(str).to_numpy()).all())
        if not equal:
            raise SystemExit(f"MISMATCH {name}: column {column} differs from pandas defaults")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="predictions per problem")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; best is shown")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-csv", action="store_true", help="skip the CSV reading benchmark")
    parser.add_argument("--no-metrics", action="store_true", help="only the CSV benchmark")
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__},"
        f" scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs, n={args.n:,},"
        f" best of {args.repeat}, load average {os.getloadavg()[0]:.1f} at start"
    )
    if not args.no_metrics:
        rows = bench_metrics(args.n, args.repeat, args.seed)
        print()
        print(
            "full report vs sklearn confusion_matrix + classification_report + roc_auc_score/class"
        )
        print(f"{'problem':<10}{'ours s':>10}{'sklearn s':>12}{'ratio':>8}   values equal")
        for name, ours_best, _, sk_best, _, compared in rows:
            print(
                f"{name:<10}{ours_best:>10.3f}{sk_best:>12.3f}{ours_best / sk_best:>8.3f}"
                f"   yes ({compared} values, within {TOLERANCE:g})"
            )
    if args.no_csv:
        return
    csv_rows = bench_csv(args.n, args.repeat, args.seed)
    print()
    print(f"reading a {args.n:,}-row predictions CSV (label, pred, 5 scores); * = mlprod's pick")
    print(f"{'reader':<34}{'best s':>8}{'median s':>10}{'ratio':>8}")
    baseline = csv_rows[0][1]
    for name, best, median, picked in csv_rows:
        mark = "*" if picked else " "
        print(f"{mark}{name:<33}{best:>8.3f}{median:>10.3f}{best / baseline:>8.3f}")


if __name__ == "__main__":
    main()
