"""``mlprod evaluate --predictions`` end to end beside pandas + scikit-learn, in one run.

    python bench/bench_evaluate.py [--n 10000000] [--classes 5]

A predictions CSV of ``--n`` rows (label, prediction, one score column per
class) is written once. Then, each in its own process (so start-up and
imports count for both, as a user would see them):

* ``mlprod evaluate --predictions FILE ... --format json --no-store``: read the
  file, validate it, compute every per-class metric and AUROC, render JSON;
* the same by hand: ``pandas.read_csv`` + scikit-learn's ``confusion_matrix``,
  ``classification_report`` and ``roc_auc_score`` per class (one-vs-rest).

The core metric computation alone (arrays already in memory) is compared in
``bench_metrics.py``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SKLEARN = """
import sys, numpy as np, pandas as pd
from sklearn.metrics import classification_report, confusion_matrix, roc_auc_score
frame = pd.read_csv(sys.argv[1])
labels = [c[len("score_"):] for c in frame.columns if c.startswith("score_")]
y, p = frame["label"].astype(str), frame["prediction"].astype(str)
confusion_matrix(y, p, labels=labels)
classification_report(y, p, labels=labels, output_dict=True, zero_division=0)
for label in labels:
    roc_auc_score(y == label, frame[f"score_{label}"])
"""


def write_predictions(path: Path, n: int, k: int, seed: int = 0) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    labels = np.array([f"class_{i}" for i in range(k)])
    writer = None
    for start in range(0, n, 1_000_000):
        m = min(1_000_000, n - start)
        y = rng.integers(0, k, m)
        scores = rng.dirichlet(np.ones(k), m)
        scores[np.arange(m), y] += rng.uniform(0, 0.6, m)
        scores /= scores.sum(axis=1, keepdims=True)
        columns = {"label": labels[y], "prediction": labels[scores.argmax(axis=1)]}
        columns.update({f"score_{label}": scores[:, j].round(6) for j, label in enumerate(labels)})
        table = pa.table(columns)
        writer = writer or pacsv.CSVWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def timed(command: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"failed: {command}: {process.stderr.read().decode()[-400:]}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--classes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.csv"
        write_predictions(path, args.n, args.classes)
        scores = ",".join(f"score_class_{i}" for i in range(args.classes))
        ours = timed([sys.executable, "-m", "mlprod_cli", "evaluate", "--predictions", str(path), "--label-col", "label",
                      "--pred-col", "prediction", "--score-cols", scores, "--format", "json", "--no-store"])  # fmt: skip
        theirs = timed([sys.executable, "-c", SKLEARN, str(path)])
        size = path.stat().st_size / 2**20
    print(f"{args.n:,} predictions, {args.classes} classes, {size:.0f} MiB CSV")
    print(f"{'path':<40} {'seconds':>8} {'peak MiB':>9}")
    print(f"{'mlprod evaluate --predictions':<40} {ours[0]:>8.2f} {ours[1]:>9.0f}")
    print(f"{'pandas.read_csv + scikit-learn':<40} {theirs[0]:>8.2f} {theirs[1]:>9.0f}")
    print(f"ratio mlprod / pandas+scikit-learn: {ours[0] / theirs[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
