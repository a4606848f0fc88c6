"""What a model costs, measured: artifact bytes, single-row latency, bulk time per row.

Latency is taken through serving's own path (:class:`~mlprod_cli.core.serve`'s
``LoadedModel``: the row checked against the schema, made a frame, then
``predict_batch``), after a warm-up, on rows of the test split in turn. Bulk
time is the best of three passes over the whole test split, per row.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any

from mlprod_cli.errors import UsageError

WARM_UP = 20
TIMED = 200

_UNITS = {
    "size": {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1024, "mib": 1024**2, "gib": 1024**3},
    "time": {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3},
}
_KEYS = {"p50": "time", "p99": "time", "size": "size", "bulk": "time"}
# Without a unit: milliseconds a call, bytes, microseconds a row (as the table shows each).
_DEFAULT_UNIT = {"p50": "ms", "p99": "ms", "size": "b", "bulk": "us"}
_TERM = re.compile(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-zµ]*)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Budget:
    """Upper bounds a student must meet: milliseconds, bytes, bulk µs per row as ms/1000."""

    p50_ms: float | None = None
    p99_ms: float | None = None
    size_bytes: float | None = None
    bulk_ms_per_row: float | None = None
    text: str = ""

    def misses(self, cost: Cost) -> list[str]:
        """The bounds ``cost`` breaks, in words (empty: within the budget)."""
        out = []
        for bound, value, name, shown in (
            (self.p50_ms, cost.p50_ms, "p50", f"{cost.p50_ms:.2f} ms"),
            (self.p99_ms, cost.p99_ms, "p99", f"{cost.p99_ms:.2f} ms"),
            (self.size_bytes, cost.size_bytes, "size", f"{cost.size_bytes:,} bytes"),
            (self.bulk_ms_per_row, cost.bulk_us_per_row / 1000, "bulk", f"{cost.bulk_us_per_row:.1f} µs/row"),
        ):  # fmt: skip
            if bound is not None and value > bound:
                out.append(f"{name} {shown}")
        return out


def parse_budget(text: str) -> Budget:
    """``p99=5ms,size=5MB`` (keys p50, p99, size, bulk; units us/ms/s, B/kB/MB/GB/KiB/MiB/GiB;
    without one: ms for p50 and p99, bytes for size, µs a row for bulk)."""
    values: dict[str, float] = {}
    for part in text.split(","):
        key, sep, rest = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in _KEYS:
            raise UsageError(
                f"--budget {text!r}: expected KEY=VALUE pairs with keys p50, p99, size, bulk "
                "(e.g. p99=5ms,size=5MB)"
            )
        if key in values:
            raise UsageError(f"--budget {text!r}: {key} is given twice")
        match = _TERM.fullmatch(rest)
        units = _UNITS[_KEYS[key]]
        unit = match.group(2).lower() if match else ""
        if match is None or (unit or _DEFAULT_UNIT[key]) not in units:
            wanted = "B, kB, MB, GB, KiB, MiB, GiB" if _KEYS[key] == "size" else "us, ms, s"
            raise UsageError(
                f"--budget {key}={rest.strip()!r}: expected a number and a unit ({wanted})"
            )
        factor = units[unit or _DEFAULT_UNIT[key]]
        amount = float(match.group(1)) * factor
        if not math.isfinite(amount):
            raise UsageError(f"--budget {key}={rest.strip()!r}: expected a finite number")
        if amount <= 0:
            raise UsageError(f"--budget {key}={rest.strip()!r}: must be more than 0")
        values[key] = amount
    return Budget(
        values.get("p50"), values.get("p99"), values.get("size"), values.get("bulk"), text
    )


@dataclass
class Cost:
    size_bytes: int
    p50_ms: float
    p99_ms: float
    bulk_us_per_row: float


def measure(estimator: Any, metadata: dict[str, Any], X: Any) -> Cost:
    """Size, single-row p50/p99 and bulk µs per row of ``estimator`` (see the module)."""
    import numpy as np
    import skops.io as sio

    from mlprod_cli.core.dataset import cell_value
    from mlprod_cli.core.predict import predict_batch
    from mlprod_cli.core.registry import Version
    from mlprod_cli.core.serve import LoadedModel

    loaded = LoadedModel(Version("candidate", None, metadata), estimator)  # type: ignore[arg-type]
    rows = X.to_dict(orient="records")
    rows = [{k: cell_value(v) for k, v in row.items()} for row in rows]

    def one(row: dict[str, Any]) -> None:
        checked = loaded.check([row], single=True)
        predict_batch(estimator, loaded.frame(checked.columns), loaded.labels)

    for i in range(WARM_UP):
        one(rows[i % len(rows)])
    times = np.empty(TIMED)
    for i in range(TIMED):
        started = time.perf_counter()
        one(rows[i % len(rows)])
        times[i] = time.perf_counter() - started
    bulk = []
    for _ in range(3):
        started = time.perf_counter()
        predict_batch(estimator, X, loaded.labels)
        bulk.append(time.perf_counter() - started)
    return Cost(
        size_bytes=len(sio.dumps(estimator)),
        p50_ms=float(np.percentile(times, 50) * 1e3),
        p99_ms=float(np.percentile(times, 99) * 1e3),
        bulk_us_per_row=min(bulk) / len(X) * 1e6,
    )
