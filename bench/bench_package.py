"""The serving image of ``mlprod package`` beside ``mlflow models build-docker``, same model, one run.

    python bench/bench_package.py

Needs root, a docker daemon (classic builder: ``DOCKER_BUILDKIT=0`` is set
here) and debootstrap. No image registry is reachable here, so both images are
built on the same base made from Debian's packages
(``scripts/make_base_image.py``: Debian's Python 3.11 and pip). What each tool
adds on top of that base is the figure that compares them.

* mlprod: a project from the classification template, its model trained and
  activated; ``mlprod package`` (context without wheels) and ``mlprod package
  --offline --build --base-image BASE`` (context with every wheel; the build
  uses no index).
* MLflow: the very same fitted pipeline saved as an MLflow model;
  ``mlflow models generate-dockerfile`` writes the Dockerfile that
  ``build-docker`` builds, whose ``FROM`` is pointed at the same base (plus this
  machine's CA bundle, which its ``pip install`` needs to reach the index from
  a container here); then ``docker build``. Its build installs nginx from
  Debian and mlflow plus the model's requirements from the index.

Sizes are Docker's own (``docker image inspect``, decimal MB); contexts are
the bytes of their files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BASE = "mlprod-bench-base:bookworm"
MLFLOW_BASE = "mlprod-bench-base-ca:bookworm"
sys.path.insert(0, str(HERE))

from bench_serve import EXPORT, MLFLOW_ENV, mlflow_env, trained_project  # noqa: E402


def run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


def image_size(tag: str) -> int:
    out = run("docker", "image", "inspect", "--format", "{{.Size}}", tag, capture_output=True)
    return int(out.stdout.strip())


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def build(context: Path, tag: str, log: Path) -> float:
    started = time.perf_counter()
    with log.open("w") as out:
        run("docker", "build", "--tag", tag, str(context), stdout=out, stderr=subprocess.STDOUT)
    return time.perf_counter() - started


def main() -> int:
    os.environ["DOCKER_BUILDKIT"] = "0"
    os.environ["MLPROD_NO_DELEGATE"] = "1"
    run(sys.executable, str(REPO / "scripts" / "make_base_image.py"), "--tag", BASE)
    python = mlflow_env()
    results: dict[str, float | int | str] = {"base_image_bytes": image_size(BASE)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project, version = trained_project(work, "bench-package")
        mlprod = [sys.executable, "-m", "mlprod_cli", "package", "--format", "json"]

        # ---- mlprod
        online = json.loads(run(*mlprod, cwd=project, capture_output=True, text=True).stdout)
        results["mlprod_context_bytes"] = online["total_bytes"]
        tag = f"bench-package:{version.id}"
        started = time.perf_counter()
        with (work / "mlprod-build.log").open("w") as log:
            offline = json.loads(
                run(
                    *mlprod, "--offline", "--build", "--base-image", BASE, "--tag", tag,
                    cwd=project, stdout=subprocess.PIPE, stderr=log, text=True,
                ).stdout
            )  # fmt: skip
        results["mlprod_package_build_seconds"] = round(time.perf_counter() - started, 1)
        results["mlprod_offline_context_bytes"] = offline["total_bytes"]
        results["mlprod_image_bytes"] = image_size(tag)

        # ---- MLflow, same fitted pipeline
        exported = work / "mlflow-model"
        env = dict(os.environ, PYTHONPATH=str(project / "src"))
        run(str(python), "-c", EXPORT, str(version.path / "model.skops"), str(exported), env=env)
        generated = work / "mlflow-docker"
        run(
            str(MLFLOW_ENV / "bin" / "mlflow"), "models", "generate-dockerfile",
            "-m", str(exported), "--output-directory", str(generated),
            env=env, capture_output=True,
        )  # fmt: skip
        results["mlflow_context_bytes"] = folder_bytes(generated)
        ca = work / "ca-base"
        ca.mkdir()
        (ca / "ca.crt").write_bytes(Path("/etc/ssl/certs/ca-certificates.crt").read_bytes())
        (ca / "Dockerfile").write_text(
            f"FROM {BASE}\nCOPY ca.crt /etc/ssl/certs/ca-certificates.crt\n"
            "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
        )
        build(ca, MLFLOW_BASE, work / "ca.log")
        results["mlflow_base_image_bytes"] = image_size(MLFLOW_BASE)
        dockerfile = generated / "Dockerfile"
        text = dockerfile.read_text()
        results["mlflow_dockerfile_from"] = re.search(r"(?m)^FROM (\S+)", text)[1]
        dockerfile.write_text(re.sub(r"(?m)^FROM \S+", f"FROM {MLFLOW_BASE}", text, count=1))
        seconds = build(generated, "bench-package-mlflow:latest", work / "mlflow-build.log")
        results["mlflow_build_seconds"] = round(seconds, 1)
        results["mlflow_image_bytes"] = image_size("bench-package-mlflow:latest")
        run("docker", "rmi", "-f", tag, "bench-package-mlflow:latest", capture_output=True)

    added_mlprod = results["mlprod_image_bytes"] - results["base_image_bytes"]
    added_mlflow = results["mlflow_image_bytes"] - results["mlflow_base_image_bytes"]
    results.update(mlprod_added_bytes=added_mlprod, mlflow_added_bytes=added_mlflow)
    results["added_ratio_mlprod_to_mlflow"] = round(added_mlprod / added_mlflow, 3)
    print(f"base image (Debian bookworm, python3, pip)   {mb(results['base_image_bytes'])}")
    print(f"mlprod context (package)                     {mb(results['mlprod_context_bytes'])}")
    print(
        f"mlprod context (package --offline)           {mb(results['mlprod_offline_context_bytes'])}"
    )
    print(f"mlprod image                                 {mb(results['mlprod_image_bytes'])}")
    print(f"mlprod adds to the base                      {mb(added_mlprod)}  (target < 250 MB)")
    print(f"mlflow context (generate-dockerfile)         {mb(results['mlflow_context_bytes'])}")
    print(f"mlflow image (FROM {results['mlflow_dockerfile_from']} -> same base)"
          f"   {mb(results['mlflow_image_bytes'])}")  # fmt: skip
    print(f"mlflow adds to the base                      {mb(added_mlflow)}")
    print(f"added, mlprod / mlflow                       {results['added_ratio_mlprod_to_mlflow']}")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
