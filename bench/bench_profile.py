"""The profile ``mlprod new --data`` makes of a 1 GB CSV, beside pandas doing the same by hand.

    python bench/bench_profile.py [--gb 1.0] [--keep PATH]

A CSV of about ``--gb`` GB is written (deterministic: 14 columns of numbers,
categories, dates, identifiers, text and missing values, as a user's table
has). Then, each in its own process so that peak memory (max RSS) is measured
cleanly, in one run:

* mlprod's profile (``mlprod_cli.core.profile.profile_table``): each column's
  kind, missing share, distinct values, value counts and a date sample, in one
  streaming pass;
* pandas, as a user would profile a table by hand: ``read_csv`` of the whole
  file, then per column its dtype, ``isna().sum()``, ``nunique()`` and
  ``value_counts()`` of the low-cardinality ones.

It prints seconds and peak RSS of each and the ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MLPROD = """
import sys
from pathlib import Path
from mlprod_cli.core.profile import profile_table
profile = profile_table(Path(sys.argv[1]), target="churned")
print(profile.rows, sum(c.missing for c in profile.columns))
"""

PANDAS = """
import sys
import pandas as pd
frame = pd.read_csv(sys.argv[1], low_memory=False)
missing = 0
for name in frame.columns:
    column = frame[name]
    missing += int(column.isna().sum())
    distinct = column.nunique()
    if distinct <= 50:
        column.value_counts()
print(len(frame), missing)
"""


def write_table(path: Path, gigabytes: float) -> int:
    """About ``gigabytes`` of CSV in blocks of 200,000 rows; returns the row count."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    rows, written, block = 0, 0, 200_000
    regions = np.array(["north", "south", "east", "west", "centre"])
    plans = np.array(["basic", "plus", "pro"])
    with path.open("w", encoding="utf-8") as handle:
        while written < gigabytes * 1e9:
            ids = np.arange(rows, rows + block)
            frame = pd.DataFrame(
                {
                    "customer_id": [f"C{i:09d}" for i in ids],
                    "signup": pd.to_datetime("2020-01-01")
                    + pd.to_timedelta(rng.integers(0, 1500, block), unit="D"),
                    "age": rng.integers(18, 90, block),
                    "income": rng.normal(52_000, 12_000, block).round(2),
                    "balance": np.where(
                        rng.random(block) < 0.05, np.nan, rng.gamma(2, 900, block).round(2)
                    ),
                    "visits": rng.poisson(4, block),
                    "tenure_months": rng.integers(0, 120, block),
                    "region": regions[rng.integers(0, 5, block)],
                    "plan": plans[rng.integers(0, 3, block)],
                    "autopay": rng.random(block) < 0.6,
                    "score": rng.random(block).round(4),
                    "support_calls": rng.poisson(1, block),
                    "note": np.where(
                        rng.random(block) < 0.3, "called about the bill, asked for a discount", ""
                    ),
                    "churned": np.where(rng.random(block) < 0.14, "yes", "no"),
                }
            )
            text = frame.to_csv(index=False, header=rows == 0)
            handle.write(text)
            written += len(text.encode())
            rows += block
    return rows


def timed(code: str, path: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, stdout) of ``code`` in a fresh interpreter."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"{code}\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    *out, rss_kib = done.stdout.strip().splitlines()
    return seconds, int(rss_kib) / 1024, " ".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--keep", type=Path, help="write (or reuse) the CSV here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "customers.csv"
        if not path.exists():
            started = time.perf_counter()
            rows = write_table(path, args.gb)
            print(
                f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB, {rows:,} rows) in {time.perf_counter() - started:.0f} s"
            )
        size = path.stat().st_size
        print(f"file: {size / 1e9:.2f} GB; cpus: {os.cpu_count()}")
        results = {}
        for name, code in (
            ("mlprod profile", MLPROD),
            ("pandas read_csv + describe by hand", PANDAS),
        ):
            results[name] = timed(code, path)
            seconds, rss, out = results[name]
            print(f"{name:<36} {seconds:8.1f} s {rss:9.0f} MiB peak   ({out})")
        (ms, mr, mo), (ps, pr, po) = results.values()
        assert mo == po, f"the two disagree on rows and missing values: {mo} vs {po}"
        print(f"mlprod / pandas: time {ms / ps:.2f}, peak memory {mr / pr:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
