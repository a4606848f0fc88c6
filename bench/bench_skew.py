"""``mlprod skew`` beside Evidently's data drift report, and on a 20-million-row request log.

    python bench/bench_skew.py [--rows 1000000] [--log-rows 20000000] [--work DIR]
                               [--skip-evidently] [--skip-log]

1. **Against Evidently.** A reference and a current Parquet file of ``--rows`` rows
   and 25 features (20 numeric, 5 categorical; the current side drifts in six of
   them) are compared twice, each in its own process so that peak memory (max RSS,
   from ``os.wait4``) is measured cleanly:

   * ``mlprod skew --reference ref.parquet --current cur.parquet --format json``,
     with this interpreter, outside any project (so no model: every feature's
     statistics, the schema findings, no prediction skew);
   * Evidently's ``DataDriftPreset`` (per-column drift of all 25 columns, with the
     dataset drift share), on the same two files read with pandas, in a virtualenv
     of its own (``/tmp/mlprod-bench-evidently``, created on first use with
     ``pip install evidently==0.7.23 'pandas>=2.2,<3' pyarrow``), never in mlprod's.

   The targets: mlprod at least 10x faster, at most a third of Evidently's peak memory.

2. **A 20-million-row request log.** A project with a 25-feature model is made and
   trained (its own small package, a scikit-learn pipeline), then a request log of
   ``--log-rows`` lines in ``mlprod serve``'s format is written in chunks (the same
   1,000,000 distinct lines repeated, about 11 GB), and ``mlprod skew`` reads it:
   every line parsed, counted and re-scored by the model. The target: peak memory
   under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

EVIDENTLY_VERSION = "0.7.23"
# Evidently 0.7.23 imports pandas.core.dtypes.common.infer_dtype_from_object, which
# pandas 3 removed: it needs pandas 2.
EVIDENTLY_REQUIREMENTS = [f"evidently=={EVIDENTLY_VERSION}", "pandas>=2.2,<3", "pyarrow"]
EVIDENTLY_VENV = Path("/tmp/mlprod-bench-evidently")
NUMERIC = [f"n{i:02d}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
DRIFTED = ["n00", "n01", "n02", "n05", "c0", "c3"]

# ``mlprod`` with this interpreter; registers the skew command if cli.build_app does not yet.
MLPROD = r"""
import sys
from mlprod_cli import cli
build = cli.build_app
def build_app():
    app = build()
    if not any(command.name == "skew" for command in app.registered_commands):
        from mlprod_cli.commands import skew
        skew.register(app)
    return app
cli.build_app = build_app
sys.exit(cli.main(sys.argv[1:]))
"""

EVIDENTLY = r"""
import json, sys, time
import pandas as pd
import evidently
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

reference_path, current_path, numeric, categorical = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
definition = DataDefinition(
    numerical_columns=numeric.split(","), categorical_columns=categorical.split(",")
)
started = time.perf_counter()
reference = Dataset.from_pandas(pd.read_parquet(reference_path), data_definition=definition)
current = Dataset.from_pandas(pd.read_parquet(current_path), data_definition=definition)
snapshot = Report([DataDriftPreset()]).run(current, reference)
result = snapshot.dict()
drifted = []
for metric in result["metrics"]:
    name = metric.get("metric_name") or metric.get("metric_id") or ""
    config = metric.get("config") or {}
    value = metric.get("value")
    if name.startswith("ValueDrift") and isinstance(value, (int, float)):
        column = config.get("column")
        threshold = config.get("threshold")
        method = config.get("method")
        drifted.append({"column": column, "method": method, "value": value, "threshold": threshold})
print(json.dumps({"evidently": evidently.__version__, "seconds": time.perf_counter() - started,
                  "metrics": len(result["metrics"]), "columns": drifted}))
"""


# --------------------------------------------------------------------------- measuring


def measure(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> dict:
    """Run ``argv``; its wall time, peak memory (max RSS of the process) and output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "seconds": seconds,
            "peak_mib": usage.ru_maxrss / 1024,  # kilobytes on Linux
            "code": process.returncode,
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace"),
        }


def show(label: str, result: dict) -> None:
    print(
        f"  {label:<34} {result['seconds']:8.2f} s  {result['peak_mib']:8.0f} MiB peak  (exit {result['code']})"
    )


# --------------------------------------------------------------------------- the data


def make_frames(rows: int, seed: int, drift: bool, chunk: int = 250_000):
    """``rows`` rows in chunks: 20 numeric features of assorted shapes, 5 categorical."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    sizes = [5, 12, 30, 3, 50]
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        data = {}
        for i, name in enumerate(NUMERIC):
            kind = i % 4
            if kind == 0:
                values = rng.normal(50 + i, 10, n)
            elif kind == 1:
                values = rng.lognormal(1 + i / 20, 0.6, n)
            elif kind == 2:
                values = rng.uniform(0, 100, n)
            else:
                values = rng.poisson(3 + i / 4, n).astype(np.float64)
            if drift and name == "n00":
                values = values + 3.0  # 0.3 standard deviations
            if drift and name == "n01":
                values = values * 1.5
            if drift and name == "n02":
                values[rng.random(n) < 0.08] = np.nan  # 8 points more missing
            if drift and name == "n05":
                values = values / 10  # a unit change
            data[name] = values
        for name, k in zip(CATEGORICAL, sizes, strict=True):
            weights = np.linspace(1.0, 3.0, k)
            if drift and name == "c0":
                weights = weights[::-1]
            codes = rng.choice(k, size=n, p=weights / weights.sum())
            labels = np.asarray([f"{name}_{j}" for j in range(k)], dtype=object)
            values = labels[codes]
            if drift and name == "c3":
                values[rng.random(n) < 0.05] = f"{name}_new"
            data[name] = values
        yield pd.DataFrame(data)


def write_parquet(path: Path, rows: int, seed: int, drift: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for frame in make_frames(rows, seed, drift):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


# --------------------------------------------------------------------------- Evidently


def evidently_python() -> Path:
    """The benchmark's own virtualenv with Evidently, created on first use."""
    python = EVIDENTLY_VENV / "bin" / "python"
    probe = [
        str(python),
        "-c",
        "import evidently; print(evidently.__version__)",
    ]  # imports: pandas fits
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == EVIDENTLY_VERSION:
            return python
    print(f"creating {EVIDENTLY_VENV} with evidently=={EVIDENTLY_VERSION} (once)…", flush=True)
    subprocess.run(["python3", "-m", "venv", "--clear", str(EVIDENTLY_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *EVIDENTLY_REQUIREMENTS],
        check=True,
    )
    return python


def versus_evidently(work: Path, rows: int) -> None:
    reference, current = work / "reference.parquet", work / "current.parquet"
    if not reference.exists() or not current.exists():
        print(f"writing {rows:,} x 25 reference and current Parquet files…", flush=True)
        write_parquet(reference, rows, seed=1, drift=False)
        write_parquet(current, rows, seed=2, drift=True)
    python = evidently_python()
    version = subprocess.run(
        [str(python), "-c", "import evidently, pandas, pyarrow; print(evidently.__version__, pandas.__version__, pyarrow.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    print(
        f"\n1. {rows:,} rows x 25 features a side; Evidently {version[0]} (pandas {version[1]}, pyarrow {version[2]})"
    )
    outside = work / "outside-any-project"
    outside.mkdir(exist_ok=True)
    env = dict(os.environ, MLPROD_NO_DELEGATE="1", CI="1")
    mlprod_cmd = [sys.executable, "-c", MLPROD, "skew", "--reference", str(reference),
                  "--current", str(current), "--format", "json", "--output", str(work / "mlprod.json")]  # fmt: skip
    print("  $ mlprod " + " ".join(mlprod_cmd[3:]))
    mine = measure(mlprod_cmd, cwd=outside, env=env)
    show("mlprod skew", mine)
    script = work / "evidently_drift.py"
    script.write_text(textwrap.dedent(EVIDENTLY))
    evidently_cmd = [str(python), str(script), str(reference), str(current), ",".join(NUMERIC), ",".join(CATEGORICAL)]  # fmt: skip
    print("  $ " + " ".join(evidently_cmd[1:2]) + " … (DataDriftPreset)")
    theirs = measure(evidently_cmd, cwd=outside, env=dict(os.environ))
    show("Evidently DataDriftPreset", theirs)
    if mine["code"] not in (0, 1) or theirs["code"] != 0:
        print(mine["stderr"][-2000:], theirs["stderr"][-4000:])
        raise SystemExit("a run failed")
    speed = theirs["seconds"] / mine["seconds"]
    memory = mine["peak_mib"] / theirs["peak_mib"]
    print(
        f"  mlprod is {speed:.1f}x faster (target >= 10x) at {memory:.2f} of Evidently's peak memory (target <= 0.33)"
    )
    report = json.loads((work / "mlprod.json").read_text())
    evidence = json.loads(theirs["stdout"].strip().splitlines()[-1])
    flagged = sorted(f["name"] for f in report["features"] if f["status"] != "ok")
    drifted = sorted(
        c["column"] for c in evidence["columns"] if c["threshold"] is not None and c["value"] >= c["threshold"]
    ) if evidence["columns"] and evidence["columns"][0]["method"] else []  # fmt: skip
    print(f"  mlprod flags {flagged} (drift was put in {DRIFTED})")
    methods = sorted({str(c["method"]) for c in evidence["columns"]})
    print(
        f"  Evidently computed {len(evidence['columns'])} per-column drift values ({', '.join(methods)}); over its thresholds: {drifted}"
    )


# --------------------------------------------------------------------------- the big log

PACKAGE = '''
"""A 25-feature classifier for the skew benchmark."""

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = {numeric!r}
CATEGORICAL = {categorical!r}


def build():
    features = ColumnTransformer(
        [
            ("numeric", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), NUMERIC),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )
    return Pipeline([("features", features), ("classifier", LogisticRegression(max_iter=300))])
'''

CONFIG = """
project: skew-bench
data:
  train: data/train.parquet
  target: label
  split: {by: random, test_size: 0.2, seed: 0}
model: skew_bench.model:build
registry: models/
skew:
  serving_log: logs/requests/
"""


def make_project(work: Path, train_rows: int = 200_000) -> Path:
    import numpy as np
    import pandas as pd

    from mlprod_cli.core.config import load_config
    from mlprod_cli.core.train import train
    from mlprod_cli.core.workspace import Workspace

    project = work / "skew-bench"
    if (project / "models" / "active.json").exists():
        return project
    shutil.rmtree(project, ignore_errors=True)
    (project / "src" / "skew_bench").mkdir(parents=True)
    (project / "data").mkdir()
    (project / "src" / "skew_bench" / "__init__.py").write_text("")
    (project / "src" / "skew_bench" / "model.py").write_text(
        PACKAGE.format(numeric=NUMERIC, categorical=CATEGORICAL)
    )
    (project / "mlprod.yaml").write_text(CONFIG)
    frame = next(make_frames(train_rows, seed=3, drift=False, chunk=train_rows))
    score = frame["n00"] / 10 + np.log(frame["n01"]) - (frame["c0"] == "c0_4") * 1.5
    frame["label"] = pd.cut(
        score, [-np.inf, 5.0, 6.0, np.inf], labels=["low", "mid", "high"]
    ).astype(str)
    frame.to_parquet(project / "data" / "train.parquet", index=False)
    config = load_config(project)
    result = train(Workspace(config), kinds=("model",), cv=0)
    Workspace(config).registry.activate(result.versions[0])
    return project


def write_log(project: Path, rows: int, distinct: int = 1_000_000, chunk: int = 100_000) -> Path:
    """``rows`` log lines as ``mlprod serve`` writes them: ``distinct`` lines scored by the
    model, repeated (writing 20 million distinct JSON lines from Python would take longer
    than the benchmark itself)."""
    import numpy as np

    from mlprod_cli.core.config import load_config
    from mlprod_cli.core.predict import predict_batch
    from mlprod_cli.core.workspace import Workspace

    folder = project / "logs" / "requests"
    done = folder / f".done-{rows}"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = load_config(project)
    registry = Workspace(config).registry
    version = registry.active()
    model = registry.load(version)
    labels = version.metadata["classes"]
    print(f"writing {distinct:,} distinct log lines…", flush=True)
    lines = []
    for index, frame in enumerate(make_frames(distinct, seed=4, drift=True, chunk=chunk)):
        classes, scores = predict_batch(model, frame, labels)
        records = frame.to_dict("records")
        for i, (row, predicted, score) in enumerate(zip(records, classes, scores, strict=True)):
            features = {k: (None if isinstance(v, float) and v != v else (round(v, 4) if isinstance(v, float) else v)) for k, v in row.items()}  # fmt: skip
            lines.append(
                json.dumps(
                    {
                        "ts": "2026-11-28T19:00:00.123Z",
                        "request_id": f"{index:04d}{i:06d}",
                        "model_version": version.id,
                        "features": features,
                        "prediction": str(predicted),
                        "scores": dict(zip(labels, np.round(score, 6).tolist(), strict=True)),
                    },
                    separators=(",", ":"),
                )
            )
    block = ("\n".join(lines) + "\n").encode("utf-8")
    del lines
    repeats = -(-rows // distinct)
    per_file = 5
    print(
        f"writing {rows:,} lines ({len(block) * repeats / 1e9:.1f} GB) in {-(-repeats // per_file)} files…",
        flush=True,
    )
    written = 0
    for part in range(-(-repeats // per_file)):
        name = folder / f"requests-2026-11-28{'.' + str(part) if part else ''}.jsonl"
        with open(name, "wb") as handle:
            for _ in range(per_file):
                if written >= rows:
                    break
                take = min(distinct, rows - written)
                if take == distinct:
                    handle.write(block)
                else:
                    handle.write(b"\n".join(block.split(b"\n")[:take]) + b"\n")
                written += take
    done.write_text(str(rows))
    return folder


def big_log(work: Path, rows: int) -> None:
    project = make_project(work)
    folder = write_log(project, rows)
    size = sum(p.stat().st_size for p in folder.glob("*.jsonl"))
    print(
        f"\n2. a request log of {rows:,} lines, 25 features ({size / 1e9:.1f} GB in {len(list(folder.glob('*.jsonl')))} files)"
    )
    env = dict(os.environ, MLPROD_NO_DELEGATE="1", CI="1")
    cmd = [sys.executable, "-c", MLPROD, "skew", "--no-cache", "--format", "json", "--output", str(work / "log.json")]  # fmt: skip
    print(f"  $ cd {project} && mlprod " + " ".join(cmd[3:]))
    result = measure(cmd, cwd=project, env=env)
    show("mlprod skew (log, re-scored)", result)
    if result["code"] not in (0, 1):
        print(result["stderr"][-3000:])
        raise SystemExit("the run failed")
    report = json.loads((work / "log.json").read_text())
    print(
        f"  {report['rows_current']:,} rows compared, {report['prediction_skew']['rows']:,} re-scored; status {report['status']}"
    )
    print(
        f"  {rows / result['seconds']:,.0f} rows/s; peak {result['peak_mib']:.0f} MiB (target < 1024 MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--log-rows", type=int, default=20_000_000)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "mlprod-bench-skew"
    )
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--skip-log", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; data in {args.work}")
    if not args.skip_evidently:
        versus_evidently(args.work, args.rows)
    if not args.skip_log:
        big_log(args.work, args.log_rows)


if __name__ == "__main__":
    main()
