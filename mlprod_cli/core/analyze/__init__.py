"""``mlprod analyze``: where a classifier is wrong, and where its data may be.

:func:`analyze` scores a model version on a split and reports its most
confident errors, the most frequent confusions, the slices whose error rate
differs from the rest beyond chance (Wilson intervals, over every
low-cardinality column and the deciles of numeric ones), and the rows whose
given label confident learning (``cleanlab``) suspects, from out-of-fold
probabilities on the training split and the model's scores on the test split.
"""

from __future__ import annotations

from mlprod_cli.core.analyze._analyze import (
    Analysis,
    Confusion,
    FoundSlice,
    LabelIssue,
    WorstError,
    analyze,
)
from mlprod_cli.core.analyze._labels import write_label_issues

__all__ = [
    "Analysis",
    "Confusion",
    "FoundSlice",
    "LabelIssue",
    "WorstError",
    "analyze",
    "write_label_issues",
]
