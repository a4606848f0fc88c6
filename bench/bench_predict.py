"""``mlprod predict`` beside pandas + ``predict_proba`` on the same rows, in one run.

    python bench/bench_predict.py [--rows 2000000] [--scale 10]

A project is made from the classification template, its model trained and
activated. The sample data is resampled (with numeric noise) to ``--rows``
rows of CSV. Then, each in its own process so that peak memory (max RSS) is
measured cleanly:

* ``mlprod predict`` of the file to CSV (batches, schema checks, atomic write);
* pandas: ``read_csv`` of the whole file, then the same fitted pipeline's
  ``predict_proba`` on the whole frame (what a user would write by hand);
* the same, plus writing the predictions with ``to_csv`` (the same output).

Finally ``mlprod predict`` on ``--scale`` times as many rows, to show that its
peak memory does not grow with the input.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PANDAS = """
import sys, pandas as pd
from mlprod_cli.core.config import load_config
from mlprod_cli.core.workspace import Workspace
config = load_config()
registry = Workspace(config).registry
version = registry.active()
model = registry.load(version)
features = [f["name"] for f in version.metadata["schema"]["features"]]
frame = pd.read_csv(sys.argv[1])
proba = model.predict_proba(frame[features])
if len(sys.argv) > 2:
    out = pd.DataFrame(proba, columns=[f"score_{c}" for c in model.classes_])
    out.insert(0, "prediction", model.classes_[proba.argmax(axis=1)])
    out.to_csv(sys.argv[2], index=False)
"""


def make_project(work: Path) -> Path:
    from mlprod_cli.core.config import load_config
    from mlprod_cli.core.scaffold import NewRequest, create_project
    from mlprod_cli.core.train import train
    from mlprod_cli.core.workspace import Workspace

    project = create_project(
        NewRequest("scoring-demo", output_dir=work, no_input=True, venv=False, git=False)
    ).project_dir
    config = load_config(project)
    result = train(Workspace(config), kinds=("model",), cv=0)
    Workspace(config).registry.activate(result.versions[0])
    return project


def make_rows(sample: Path, target: Path, rows: int, seed: int = 0) -> None:
    """``rows`` rows resampled from ``sample``, written in chunks (bounded memory)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    base = pd.read_csv(sample)
    rng = np.random.default_rng(seed)
    writer = None
    chunk = 500_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        frame = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
        frame["diameter_mm"] = (frame["diameter_mm"] * rng.normal(1.0, 0.05, n)).round(1)
        frame["age"] = (frame["age"] + rng.integers(-2, 3, n)).clip(18, 90)
        frame["lesion_id"] = [f"B{i:09d}" for i in range(start, start + n)]
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pacsv.CSVWriter(target, table.schema)
        writer.write_table(table)
    writer.close()


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one child process."""
    env = dict(os.environ, MLPROD_NO_DELEGATE="1")
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed: {' '.join(command)}: {process.stderr.read().decode()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = make_project(work)
        small = work / "rows.csv"
        make_rows(project / "data" / "lesions.csv", small, args.rows)
        mlprod = [sys.executable, "-m", "mlprod_cli", "predict"]
        results = {
            "mlprod predict": timed([*mlprod, str(small), "-o", str(work / "out.csv")], project),
            "pandas + predict_proba": timed([sys.executable, "-c", PANDAS, str(small)], project),
            "pandas + predict_proba + to_csv": timed(
                [sys.executable, "-c", PANDAS, str(small), str(work / "p.csv")], project
            ),
        }
        print(f"{'path':<34} {'rows':>11} {'seconds':>8} {'rows/s':>11} {'peak MiB':>9}")
        for name, (seconds, rss) in results.items():
            print(
                f"{name:<34} {args.rows:>11,} {seconds:>8.2f} {args.rows / seconds:>11,.0f} {rss:>9.0f}"
            )
        ours = args.rows / results["mlprod predict"][0]
        theirs = args.rows / results["pandas + predict_proba"][0]
        print(f"throughput mlprod / pandas+predict_proba: {ours / theirs:.2f} (target >= 0.8)")
        small.unlink()
        (work / "p.csv").unlink()
        big = work / "big.csv"
        make_rows(project / "data" / "lesions.csv", big, args.rows * args.scale, seed=1)
        seconds, rss = timed([*mlprod, str(big), "-o", str(work / "big-out.csv")], project)
        rows = args.rows * args.scale
        print(
            f"{'mlprod predict, ' + str(args.scale) + 'x rows':<34} {rows:>11,} {seconds:>8.2f} {rows / seconds:>11,.0f} {rss:>9.0f}"
        )
        print(
            f"peak memory {args.scale}x rows / 1x rows: {rss / results['mlprod predict'][1]:.2f} (flat is about 1)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
