"""``mlprod serve`` beside ``mlflow models serve`` on the same model, in one run.

    python bench/bench_serve.py [--seconds 30] [--connections 8] [--workers 1]

Needs ``wrk`` (Debian's package ``wrk``) as the load generator, and builds
MLflow's own environment once under /tmp/mlprod-bench-mlflow (``pip install
mlflow`` and the same scikit-learn as mlprod's), never mlprod's.

A project is made from the classification template and its model trained.
The very same fitted pipeline (loaded from mlprod's registry, hash-checked)
is saved as an MLflow model whose pyfunc returns ``predict_proba`` (mlprod
answers the class and a score per class, so both compute the same). Each
server runs on loopback with the same number of workers; wrk sends
single-row POST requests for ``--seconds`` with ``--connections`` open
connections. Throughput and p50/p99 latency come from wrk's own report.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MLFLOW_ENV = Path("/tmp/mlprod-bench-mlflow")
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[%s]]
"""
EXPORT = """
import sys, skops.io as sio, mlflow.sklearn
from mlprod_cli.core.workspace import Workspace
path, out = sys.argv[1], sys.argv[2]
model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
mlflow.sklearn.save_model(model, out, pyfunc_predict_fn="predict_proba", serialization_format="cloudpickle")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} never became ready")


def mlflow_env() -> Path:
    python = MLFLOW_ENV / "bin" / "python"
    if not (MLFLOW_ENV / "bin" / "mlflow").exists():
        import sklearn

        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_ENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "mlflow",
                f"scikit-learn=={sklearn.__version__}",
                "pandas",
                "pyarrow",
                "skops",
            ],
            check=True,
        )
    return python


def trained_project(work: Path, name: str):
    """A project from the classification template in ``work``, its model trained and active."""
    from mlprod_cli.core.config import load_config
    from mlprod_cli.core.scaffold import NewRequest, create_project
    from mlprod_cli.core.train import train
    from mlprod_cli.core.workspace import Workspace

    request = NewRequest(name, output_dir=work, no_input=True, venv=False, git=False)
    project = create_project(request).project_dir
    config = load_config(project)
    version = train(Workspace(config), kinds=("model",), cv=0).versions[0]
    Workspace(config).registry.activate(version)
    return project, version


def wrk(url: str, body: str, seconds: int, connections: int, work: Path) -> dict[str, float]:
    script = work / "post.lua"
    script.write_text(LUA % body)
    done = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = done.stdout

    def millis(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": millis("50"),
        "p99": millis("99"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("error: wrk is not installed (apt-get install wrk)")
    python = mlflow_env()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project, version = trained_project(work, "serving-demo")
        env = dict(os.environ, PYTHONPATH=str(project / "src"), MLPROD_NO_DELEGATE="1")
        exported = work / "mlflow-model"
        subprocess.run(
            [str(python), "-c", EXPORT, str(version.path / "model.skops"), str(exported)],
            env=env,
            check=True,
        )
        row = json.loads(
            json.dumps(
                __import__("pandas").read_csv(project / "data" / "lesions.csv").iloc[0].to_dict(),
                default=str,
            )
        )
        features = {
            k: v for k, v in row.items() if k not in ("diagnosis", "lesion_id", "visit_date")
        }
        servers = {
            "mlprod serve": (
                [sys.executable, "-m", "mlprod_cli", "serve", "--workers", str(args.workers)],
                "/ready", "/predict", json.dumps(features),
            ),
            "mlflow models serve": (
                [str(MLFLOW_ENV / "bin" / "mlflow"), "models", "serve", "-m", str(exported), "--env-manager", "local",
                 "--workers", str(args.workers)],
                "/ping", "/invocations", json.dumps({"dataframe_records": [features]}),
            ),
        }  # fmt: skip
        results = {}
        for name, (command, ready, path, body) in servers.items():
            port = free_port()
            flag = (
                ["--port", str(port), "--host", "127.0.0.1"]
                if name.startswith("mlprod")
                else ["-p", str(port), "-h", "127.0.0.1"]
            )
            # mlflow starts `uvicorn` by name: its environment's bin/ must be on PATH.
            server_env = dict(env, PATH=f"{MLFLOW_ENV / 'bin'}{os.pathsep}{env.get('PATH', '')}")
            process = subprocess.Popen(
                [*command, *flag],
                cwd=project,
                env=server_env if "mlflow" in name else env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_ready(f"http://127.0.0.1:{port}{ready}")
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}{path}",
                    body.encode(),
                    {"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as answer:
                    sample = answer.read().decode()[:200]
                wrk(f"http://127.0.0.1:{port}{path}", body, 3, args.connections, work)  # warm-up
                results[name] = wrk(
                    f"http://127.0.0.1:{port}{path}", body, args.seconds, args.connections, work
                )
                results[name]["sample"] = sample
            finally:
                process.terminate()
                process.wait(timeout=30)
    print(
        f"single-row requests, {args.connections} connections, {args.seconds} s, {args.workers} worker(s) each"
    )
    print(f"{'server':<22} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, r in results.items():
        print(f"{name:<22} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>8.0f}")
    ours, theirs = results["mlprod serve"], results["mlflow models serve"]
    print(
        f"throughput mlprod / mlflow: {ours['rps'] / theirs['rps']:.2f} (target >= 2); p99 {ours['p99']:.2f} vs {theirs['p99']:.2f} ms"
    )
    for name, r in results.items():
        print(f"{name} answers: {r['sample']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
