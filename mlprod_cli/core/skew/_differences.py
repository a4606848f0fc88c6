"""A regression's served values against the same model's values re-scored offline.

For a classifier, prediction skew counts the rows whose served class differs from
the offline one. A regression serves numbers, and two computations of the same
model on the same features agree only up to floating-point noise (another batch
composition, another BLAS path), so a value *differs* when

    |served − offline| > RELATIVE_TOLERANCE · (|offline| + scale)

with ``scale`` the standard deviation of the model's predictions on the reference
rows: the size of what the model predicts, in the target's units. The ``|offline|``
term makes the tolerance relative for a target far from zero (prices around 10⁶),
the ``scale`` term for values near zero (where a relative tolerance alone would ask
for exact equality). A millionth is nine orders of magnitude above float64 noise
(about 10⁻¹⁶ relative per operation) and far below any difference a feature
computed otherwise makes. A value that is not finite on one side only (the server
logged ``null`` where the model gives a number, or the other way round) differs; on
both sides it agrees. docs/skew.md, "Regression", says the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

RELATIVE_TOLERANCE = 1e-6
"""A served value differs from the offline one beyond this share of ``|offline| + scale``."""


@dataclass
class ValueDifferences:
    """Served against offline values, counted batch by batch (memory does not grow)."""

    scale: float = 0.0  # the reference predictions' standard deviation
    compared: int = 0  # rows re-scored
    differing: int = 0  # of those, beyond the tolerance (or finite on one side only)
    served_null: int = 0  # rows served no finite value
    finite: int = 0  # rows finite on both sides: the absolute differences below
    total: float = 0.0
    largest: float = 0.0

    def add(self, served: np.ndarray, offline: np.ndarray) -> None:
        """Count one batch: ``served`` and ``offline`` float64 arrays of one value per row."""
        served_ok = np.isfinite(served)
        offline_ok = np.isfinite(offline)
        both = served_ok & offline_ok
        diff = np.abs(served[both] - offline[both])
        tolerance = RELATIVE_TOLERANCE * (np.abs(offline[both]) + self.scale)
        self.compared += served.size
        self.served_null += int(np.count_nonzero(~served_ok))
        self.differing += int(np.count_nonzero(diff > tolerance))
        self.differing += int(np.count_nonzero(served_ok != offline_ok))
        if diff.size:
            with np.errstate(over="ignore"):
                self.finite += diff.size
                self.total += float(diff.sum())
                self.largest = max(self.largest, float(diff.max()))

    def summary(self) -> dict[str, Any]:
        """The report's account of the comparison (``None`` where nothing was finite)."""
        return {
            "compared": self.compared,
            "mismatches": self.differing,
            "served_null": self.served_null,
            "abs_diff_mean": self.total / self.finite if self.finite else None,
            "abs_diff_max": self.largest if self.finite else None,
            "tolerance": {"relative": RELATIVE_TOLERANCE, "scale": self.scale},
        }


QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
"""The quantiles of the predicted values the report shows for both sides."""


def quantiles(sample: np.ndarray) -> list[float] | None:
    """:data:`QUANTILES` of a sorted sample (linear interpolation), ``None`` when empty."""
    if sample.size == 0:
        return None
    return [float(v) for v in np.quantile(sample, QUANTILES)]


def scale_of(std: float | None) -> float:
    """The tolerance's scale: the reference predictions' standard deviation, 0 when unknown."""
    return float(std) if std is not None and math.isfinite(std) else 0.0
