"""Benchmark: ``mlprod analyze`` on a million rows, beside the same analysis written by hand.

It makes a project from the sample (``mlprod new --no-input``), replaces its data with
``--rows`` rows drawn from the sample's (with replacement, numeric columns jittered, each
row a new ``lesion_id``; the split by date keeps about a fifth for the test side),
trains the model once, then runs, each in its own process:

* mlprod: ``mlprod analyze --model V --format json --output …`` (worst errors, confusions,
  slices with intervals, slice shares, permutation importance on 20,000 test rows x 10
  repeats, confident learning on out-of-fold probabilities in 5 folds);
* by hand: what a user would write instead with the same libraries: pandas to read and
  split, the registered model, ``cross_val_predict`` (5 stratified folds) and
  ``predict_proba`` on the test split, ``cleanlab.filter.find_label_issues``,
  ``sklearn.inspection.permutation_importance`` on 20,000 test rows x 10 repeats
  (recall of melanoma), the errors sorted by confidence and a ``groupby`` per column for
  the error rates. No intervals, no shares, no report: less work than mlprod does.

It prints each side's wall time and peak resident memory (``os.wait4``'s ``ru_maxrss`` of
that process alone), and the ratios mlprod / by hand. Run it on a quiet machine:

    python bench/bench_analyze.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
MLPROD = [sys.executable, "-m", "mlprod_cli"]

BY_HAND = r"""
import sys, warnings
import numpy as np, pandas as pd, skops.io as sio
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.metrics import recall_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
import cleanlab.filter

warnings.simplefilter("ignore")
root, version = sys.argv[1], sys.argv[2]
data = pd.read_csv(f"{root}/data/lesions.csv")
test_side = pd.to_datetime(data["visit_date"]) >= "2024-07-01"
features = ["age", "sex", "anatomic_site", "diameter_mm", "asymmetry", "border_irregularity",
            "color_count", "evolving"]
path = f"{root}/models/{version}/model.skops"
model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
train, test = data[~test_side], data[test_side]
labels = list(model.classes_)
oof = cross_val_predict(clone(model), train[features], train["diagnosis"],
                        cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
scores = model.predict_proba(test[features])
given = np.concatenate([train["diagnosis"], test["diagnosis"]])
given = np.asarray([labels.index(g) for g in given])
issues = cleanlab.filter.find_label_issues(given, np.vstack([oof, scores]),
                                           return_indices_ranked_by="self_confidence")
predicted = np.asarray(labels)[scores.argmax(axis=1)]
wrong = predicted != test["diagnosis"].to_numpy()
worst = np.argsort(-scores.max(axis=1) * wrong)[:10]
rates = {c: pd.Series(wrong).groupby(test[c].to_numpy()).mean() for c in ["sex", "anatomic_site"]}
sample = test.sample(n=min(20000, len(test)), random_state=0)
scorer = lambda est, X, y: recall_score(y, est.predict(X), labels=["melanoma"], average="macro")
found = permutation_importance(model, sample[features], sample["diagnosis"], scoring=scorer,
                               n_repeats=10, random_state=0)
print(len(issues), "issues;", int(wrong.sum()), "errors")
"""


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, stdout) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({process.returncode}):\n{err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def make_project(folder: Path, rows: int, env: dict[str, str]) -> tuple[Path, str]:
    import numpy as np
    import pandas as pd

    subprocess.run([*MLPROD, "new", "bench", "--no-input"], cwd=folder, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    root = folder / "bench"
    sample = pd.read_csv(root / "data" / "lesions.csv")
    rng = np.random.default_rng(0)
    data = sample.iloc[rng.integers(0, len(sample), size=rows)].reset_index(drop=True)
    data["lesion_id"] = [f"B{i:07d}" for i in range(rows)]
    for column in ("age", "diameter_mm"):
        data[column] = (data[column] + rng.normal(scale=0.5, size=rows)).round(1)
    data.to_csv(root / "data" / "lesions.csv", index=False)
    subprocess.run([*MLPROD, "train", "--model-only", "--cv", "0"], cwd=root, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    version = sorted(p.name for p in (root / "models").iterdir() if p.name.startswith("v"))[-1]
    return root, version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    env = dict(os.environ, MLPROD_NO_DELEGATE="1", PYTHONPATH=str(HERE))
    print(f"load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as tmp:
        started = time.perf_counter()
        root, version = make_project(Path(tmp), args.rows, env)
        print(
            f"project of {args.rows:,} rows, {version} trained in {time.perf_counter() - started:.0f} s"
        )
        ours = run([*MLPROD, "analyze", "--model", version, "--format", "json",
                    "--output", "analysis.json"], root, env)  # fmt: skip
        hand = run([sys.executable, "-c", BY_HAND, str(root), version], root, env)
    print(f"{'':10} {'seconds':>9} {'peak MiB':>9}")
    print(f"{'mlprod':10} {ours[0]:9.1f} {ours[1]:9.0f}")
    print(f"{'by hand':10} {hand[0]:9.1f} {hand[1]:9.0f}   ({hand[2].strip()})")
    print(
        f"ratio mlprod / by hand: time {ours[0] / hand[0]:.2f}, peak memory {ours[1] / hand[1]:.2f}"
    )


if __name__ == "__main__":
    main()
