"""``mlprod distill``: a lighter student that must earn its place against a control.

:func:`distill` fits each student tried on a teacher version's outputs over the
training split (and unlabelled rows), fits the same student on the labels as
the control, measures all three (:mod:`._measure`: artifact bytes, single-row
p50/p99 through serving's path, bulk µs per row; the objective, the gates,
agreement with the teacher, per slice), keeps the Pareto front within a
``--budget``, and registers the best distilled student only when it is not
worse than its control beyond :data:`TOLERANCE`.
"""

from __future__ import annotations

from mlprod_cli.core.distill._distill import (
    KNOBS,
    STUDENTS,
    TOLERANCE,
    DistillResult,
    Scorecard,
    distill,
)
from mlprod_cli.core.distill._measure import Budget, Cost, measure, parse_budget

__all__ = [
    "KNOBS",
    "STUDENTS",
    "TOLERANCE",
    "Budget",
    "Cost",
    "DistillResult",
    "Scorecard",
    "distill",
    "measure",
    "parse_budget",
]
