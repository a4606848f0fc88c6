"""The first hour, timed: from ``pip install`` to a served model that beats its baseline.

    python bench/bench_first_hour.py [--datasets breast_cancer,wine,iris,cars]

For each data set (the ones tests/e2e/test_own_data.py uses: scikit-learn's
breast cancer, wine and iris, vega_datasets' cars), as a new user would, in a
fresh folder:

1. ``python -m venv venv && venv/bin/pip install MLPROD`` (this checkout);
2. ``mlprod new NAME --data FILE --target COL --no-input``;
3. ``mlprod train --activate`` in the project (the model is activated only if
   it passes its gates, beating the baseline among them);
4. ``mlprod serve``, until ``/predict`` answers a row of the file.

It prints the wall time of each step, their sum, and the number of commands
typed (``cd`` not counted). The first data set pays the cold caches (pip's,
uv's, mlprod's bytecode and measurement caches); the others reuse what a
second project on the same machine would.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"breast_cancer": "target", "wine": "target", "iris": "target", "cars": "Origin"}


def write_dataset(name: str, folder: Path) -> Path:
    import pandas as pd

    path = folder / f"{name}.csv"
    if name == "cars":
        import vega_datasets

        pd.read_json(Path(vega_datasets.__file__).parent / "_data" / "cars.json").to_csv(
            path, index=False
        )
    else:
        from sklearn import datasets

        getattr(datasets, f"load_{name}")(as_frame=True).frame.to_csv(path, index=False)
    return path


def step(command: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def serve_until_answered(mlprod: Path, project: Path, env: dict, row: dict) -> float:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(mlprod), "serve", "--port", str(port)], cwd=project, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        body = json.dumps(row).encode()
        while True:
            if server.poll() is not None:
                raise SystemExit("serve exited before answering")
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/predict", data=body,
                    headers={"Content-Type": "application/json"},
                )  # fmt: skip
                with urllib.request.urlopen(request, timeout=5) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(TARGETS))
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLPROD_")}
    print(
        f"{'data set':<14} {'install':>8} {'new':>7} {'train':>7} {'serve':>7} {'total':>8}  commands"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets.split(","):
            home = Path(tmp) / name
            home.mkdir()
            data = write_dataset(name, home)
            venv = home / "venv"
            install = step([sys.executable, "-m", "venv", str(venv)], home, env)
            install += step([str(venv / "bin" / "pip"), "install", "-q", str(REPO)], home, env)
            mlprod = venv / "bin" / "mlprod"
            project_name = name.replace("_", "-")
            new = step([str(mlprod), "new", project_name, "--data", str(data), "--target",
                        TARGETS[name], "--no-input"], home, env)  # fmt: skip
            project = home / project_name
            train = step([str(mlprod), "train", "--activate"], project, env)
            row = json.loads(
                pd.read_csv(data).drop(columns=[TARGETS[name]]).head(1).to_json(orient="records")
            )[0]
            serve = serve_until_answered(mlprod, project, env, row)
            total = install + new + train + serve
            print(
                f"{name:<14} {install:7.1f}s {new:6.1f}s {train:6.1f}s {serve:6.1f}s {total:7.1f}s  4 (pip install, new, train --activate, serve)"
            )
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
