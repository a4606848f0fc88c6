"""Start-up time of ``mlprod --version`` and ``--help`` beside a bare interpreter.

    python bench/bench_startup.py [--runs 30] [--mlprod PATH]

Every command runs ``--runs`` times, interleaved round-robin in one process so
that machine noise hits all of them alike; the table shows medians and the
overhead over ``python -c pass`` with the same interpreter. A bare Typer app
with two commands is timed too, as the floor any Typer CLI pays for ``--help``.
Before timing, one run of each with bytecode writing on makes sure ``.pyc``
files exist (as after a normal install), even where PYTHONDONTWRITEBYTECODE=1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_TYPER = """\
import typer
app = typer.Typer()
@app.command()
def one(x: int = 1):
    "One."
@app.command()
def two(y: str = "q"):
    "Two."
app()
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--mlprod", default=str(Path(sys.executable).with_name("mlprod")))
    args = parser.parse_args()
    python = str(Path(args.mlprod).with_name("python"))
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp, "bare_typer.py")
        bare.write_text(BARE_TYPER)
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "mlprod --version": [args.mlprod, "--version"],
            "mlprod --help": [args.mlprod, "--help"],
            "bare Typer app --help": [python, str(bare), "--help"],
        }
        warm = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for command in commands.values():
            subprocess.run(command, env=warm, stdout=subprocess.DEVNULL, check=True)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times["python -c pass"])
    print(
        f"{'command':<24} {'median s':>9} {'over python':>12}   ({args.runs} runs each, interleaved)"
    )
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<24} {median:>9.3f} {median - base:>+12.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
