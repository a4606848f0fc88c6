"""``mlprod serve`` beside ``mlflow models serve`` on the same model, in one run.

    python bench/bench_serve.py [--seconds 20] [--connections 8,16] [--workers 1,2]

Needs ``wrk`` (Debian's package ``wrk``) as the load generator, and builds
MLflow's own environment once under /tmp/mlprod-bench-mlflow (``pip install
mlflow`` and the same scikit-learn as mlprod's), never mlprod's.

A project is made from the classification template and its model trained.
The very same fitted pipeline (loaded from mlprod's registry, hash-checked)
is saved as an MLflow model whose pyfunc returns ``predict_proba`` (mlprod
answers the class and a score per class, so both compute the same). Each
server runs on loopback with each number of ``--workers``; wrk sends POST
requests of one row, with each number of ``--connections``, and of 100 rows
at the first, for ``--seconds`` each (after 3 s of warm-up). Throughput and
p50/p99 latency come from wrk's own report; mlprod's rows per model call
from its ``/metrics``.

In the same run, before and after the servers, the model's own single-row
call is timed in this process (``predict_proba`` of a one-row DataFrame, the
median of 300 calls). Requests answered per model-call time (req/s x that
time) says how much of the model's capacity the server turns into answers:
1 is a server that scores one request per call and does nothing else.

The answers are checked: mlprod's for the row must be the class and scores
the model computes for it in this process, bit for bit; for the 100 rows,
the same classes and the largest difference of a score is printed (a matrix
product of 100 rows may round the last bit otherwise than one of 1 row).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MLFLOW_ENV = Path("/tmp/mlprod-bench-mlflow")
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%s]==]
"""
EXPORT = """
import sys, skops.io as sio, mlflow.sklearn
from mlprod_cli.core.workspace import Workspace
path, out = sys.argv[1], sys.argv[2]
model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
mlflow.sklearn.save_model(model, out, pyfunc_predict_fn="predict_proba", serialization_format="cloudpickle")
"""
BATCH_ROWS = 100


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
        ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = done.stdout

    def millis(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": millis("50"),
        "p99": millis("99"),
        "errors": float(errors.group(1)) if errors else 0.0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def model_call_seconds(project: Path, features: dict) -> float:
    """The median time of the active model's ``predict_proba`` on one row, in this process."""
    from mlprod_cli.core.config import load_config
    from mlprod_cli.core.serve import load_model
    from mlprod_cli.core.workspace import Workspace

    model = load_model(Workspace(load_config(project)).registry, None)
    frame = model.frame(model.check([features], single=True).columns)
    model.estimator.predict_proba(frame)
    times = []
    for _ in range(300):
        started = time.perf_counter()
        model.estimator.predict_proba(frame)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def expected_answer(project: Path, features: dict) -> dict:
    """What mlprod must answer for ``features``: the model's class and scores, computed here."""
    from mlprod_cli.core.config import load_config
    from mlprod_cli.core.predict import predict_batch
    from mlprod_cli.core.serve import load_model
    from mlprod_cli.core.workspace import Workspace

    model = load_model(Workspace(load_config(project)).registry, None)
    frame = model.frame(model.check([features], single=True).columns)
    classes, scores = predict_batch(model.estimator, frame, model.labels)
    return {"class": classes[0], "scores": dict(zip(model.labels, scores[0].tolist(), strict=True))}


def post(url: str, body: str) -> dict:
    request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def inference_counts(base: str) -> tuple[float, float]:
    """(model calls, rows) from mlprod's /metrics."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as answer:
        text = answer.read().decode()

    def value(name: str) -> float:
        return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))

    return value("mlprod_inference_batches_total"), value("mlprod_inference_rows_total")


@contextlib.contextmanager
def running(command: list[str], cwd: Path, env: dict, ready: str):
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(ready)
        time.sleep(2 if "--workers" in command else 0)  # every worker listening
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument(
        "--connections", default="8,16", help="comma-separated; the first is the headline"
    )
    parser.add_argument("--workers", default="1,2", help="comma-separated")
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    if shutil.which("wrk") is None:
        raise SystemExit("error: wrk is not installed (apt-get install wrk)")
    python = mlflow_env()
    rows: list[dict] = []
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
        import pandas as pd

        row = json.loads(json.dumps(pd.read_csv(project / "data" / "lesions.csv").iloc[0].to_dict(), default=str))  # fmt: skip
        features = {
            k: v for k, v in row.items() if k not in ("diagnosis", "lesion_id", "visit_date")
        }
        expected = expected_answer(project, features)
        call_before = model_call_seconds(project, features)
        # mlflow starts `uvicorn` by name: its environment's bin/ must be on PATH.
        mlflow_path = f"{MLFLOW_ENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        servers = {
            "mlprod": (
                [sys.executable, "-m", "mlprod_cli", "serve"], "/ready", "/predict",
                json.dumps(features), json.dumps([features] * BATCH_ROWS), env,
            ),
            "mlflow": (
                [str(MLFLOW_ENV / "bin" / "mlflow"), "models", "serve", "-m", str(exported), "--env-manager", "local"],
                "/ping", "/invocations", json.dumps({"dataframe_records": [features]}),
                json.dumps({"dataframe_records": [features] * BATCH_ROWS}), dict(env, PATH=mlflow_path),
            ),
        }  # fmt: skip
        checks: list[str] = []
        for name, (command, ready, path, one, batch, server_env) in servers.items():
            for n in workers:
                port = free_port()
                flag = (
                    ["--port", str(port), "--host", "127.0.0.1"]
                    if name == "mlprod"
                    else ["-p", str(port), "-h", "127.0.0.1"]
                )
                base = f"http://127.0.0.1:{port}"
                with running(
                    [*command, "--workers", str(n), *flag], project, server_env, base + ready
                ):
                    if name == "mlprod":
                        single, many = post(base + path, one), post(base + path, batch)
                        same = {k: single[k] for k in ("class", "scores")} == expected
                        classes = all(p["class"] == expected["class"] for p in many["predictions"])
                        worst = max(
                            abs(p["scores"][k] - v)
                            for p in many["predictions"]
                            for k, v in expected["scores"].items()
                        )
                        checks.append(
                            f"mlprod, {n} worker(s): the row's answer {'is' if same else 'IS NOT'} the model's own, "
                            f"bit for bit; the {BATCH_ROWS}-row answer has {'its' if classes else 'NOT ITS'} class "
                            f"in every row, scores within {worst:.1e}"
                        )
                    loads = [(c, "1 row", one, 1) for c in connections]
                    loads.append((connections[0], f"{BATCH_ROWS} rows", batch, BATCH_ROWS))
                    for conns, shape, body, per_request in loads:
                        wrk(base + path, body, 3, conns, work)  # warm-up
                        before = inference_counts(base) if name == "mlprod" else None
                        result = wrk(base + path, body, args.seconds, conns, work)
                        if before is not None:
                            calls, scored = (a - b for a, b in zip(inference_counts(base), before, strict=True))  # fmt: skip
                            result["rows_per_call"] = scored / calls if calls else 0.0
                        result.update(server=name, workers=n, connections=conns, shape=shape)
                        result["rows_s"] = result["rps"] * per_request
                        rows.append(result)
        call_after = model_call_seconds(project, features)
    call = (call_before + call_after) / 2

    def find(server: str, workers_: int, conns: int, shape: str = "1 row") -> dict | None:
        for r in rows:
            if (r["server"], r["workers"], r["connections"], r["shape"]) == (server, workers_, conns, shape):  # fmt: skip
                return r
        return None

    print(f"{args.seconds} s per load, wrk on the same machine; os.cpu_count() = {os.cpu_count()}")
    print(
        f"the model's single-row predict_proba in this process: {call * 1000:.2f} ms "
        f"(median of 300; {call_before * 1000:.2f} before the servers, {call_after * 1000:.2f} after)"
    )
    header = f"{'server':<7} {'workers':>7} {'conns':>5} {'body':>8} {'req/s':>8} {'rows/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'rows/call':>9} {'req x call':>10} {'non-2xx':>7}"  # fmt: skip
    print(header)
    for r in rows:
        per_call = f"{r['rows_per_call']:.1f}" if "rows_per_call" in r else "-"
        product = f"{r['rps'] * call:.2f}" if r["shape"] == "1 row" else "-"
        print(
            f"{r['server']:<7} {r['workers']:>7} {r['connections']:>5} {r['shape']:>8} {r['rps']:>8.0f} {r['rows_s']:>9.0f} "
            f"{r['p50']:>7.2f} {r['p99']:>7.2f} {per_call:>9} {product:>10} {r['errors']:>7.0f}"
            + (f"  socket errors: {r['socket_errors']}" if r["socket_errors"] else "")
        )  # fmt: skip
    print()
    for n in workers:
        for conns in connections:
            ours, theirs = find("mlprod", n, conns), find("mlflow", n, conns)
            print(f"{n} worker(s), {conns} connections, 1 row: mlprod / mlflow throughput {ours['rps'] / theirs['rps']:.1f}")  # fmt: skip
        ours = find("mlprod", n, connections[0], f"{BATCH_ROWS} rows")
        theirs = find("mlflow", n, connections[0], f"{BATCH_ROWS} rows")
        print(f"{n} worker(s), {connections[0]} connections, {BATCH_ROWS} rows: mlprod / mlflow rows/s {ours['rows_s'] / theirs['rows_s']:.1f}")  # fmt: skip
    if len(workers) > 1:
        low, high = workers[0], workers[-1]
        for conns in connections:
            a, b = find("mlprod", low, conns), find("mlprod", high, conns)
            print(
                f"mlprod {high} workers / {low} at {conns} connections: {b['rps'] / a['rps']:.2f}"
            )
        a, b = find("mlprod", low, connections[0]), find("mlprod", high, connections[-1])
        print(
            f"mlprod {high} workers at {connections[-1]} connections / {low} at {connections[0]} "
            f"(the same connections per worker): {b['rps'] / a['rps']:.2f}"
        )
    for line in checks:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
