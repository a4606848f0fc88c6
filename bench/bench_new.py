"""``mlprod new`` beside the same project made by hand, in one run.

    python bench/bench_new.py [--runs 3]

The manual path is what a user would otherwise type: ``cookiecutter
--no-input`` of the same template, ``python -m venv``, ``pip install
--require-hashes -r requirements.lock`` of the same pinned set (pip compiles
every installed file, so the venv is ready to run), and ``git init`` plus a
first commit. Both start with warm package caches: each path runs once before
timing. Readiness is checked, not assumed: after each run the time of the
project's first command (``pytest --collect-only``, which imports the project
and its stack) is measured in the new venv, and must be close for both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "classification"
BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path) -> None:
    subprocess.run(
        command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def with_mlprod(out: Path) -> Path:
    run([str(BIN / "mlprod"), "new", "demo", "--no-input"], out)
    return out / "demo"


def by_hand(out: Path, wheel_dir: Path, sha256: str, version: str) -> Path:
    run(
        [
            str(BIN / "cookiecutter"), "--no-input", str(TEMPLATE), "-o", str(out),
            "project_name=demo", f"_mlprod_wheel_sha256={sha256}", f"_mlprod_version={version}",
        ],
        out,
    )  # fmt: skip
    project = out / "demo"
    shutil.copytree(wheel_dir, project / "wheels")
    run([sys.executable, "-m", "venv", ".venv"], project)
    run(
        [
            ".venv/bin/pip", "install", "--require-hashes", "--no-deps", "-q",
            "--find-links", "wheels", "-r", "requirements.lock",
        ],
        project,
    )  # fmt: skip
    run(["git", "init", "-q"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-q", "-m", "start"], project)
    return project


def first_command(project: Path) -> float:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    start = time.perf_counter()
    subprocess.run(
        [".venv/bin/python", "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from mlprod_cli.adapters.wheel import build_self_wheel

    results: dict[str, list[float]] = {"mlprod new": [], "by hand": []}
    ready: dict[str, list[float]] = {"mlprod new": [], "by hand": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wheel = build_self_wheel(work / "wheel")
        paths = {
            "mlprod new": with_mlprod,
            "by hand": lambda out: by_hand(out, work / "wheel", wheel.sha256, wheel.version),
        }
        for round_ in range(args.runs + 1):  # round 0 warms every cache
            for name, make in paths.items():
                out = work / f"{name.replace(' ', '-')}-{round_}"
                out.mkdir()
                start = time.perf_counter()
                project = make(out)
                elapsed = time.perf_counter() - start
                if round_:
                    results[name].append(elapsed)
                    ready[name].append(first_command(project))
                shutil.rmtree(out)
    mine = statistics.median(results["mlprod new"])
    theirs = statistics.median(results["by hand"])
    print(
        f"{'path':<12} {'median s':>9} {'first command s':>16}   ({args.runs} runs each, warm caches)"
    )
    for name in results:
        print(
            f"{name:<12} {statistics.median(results[name]):>9.2f} {statistics.median(ready[name]):>16.2f}"
        )
    print(f"ratio mlprod new / by hand: {mine / theirs:.3f} (target <= 0.2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
