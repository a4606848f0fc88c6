"""A heuristic baseline for a number: the median of the target within the groups of one column.

Before any model, ask what a rule of thumb gets. This baseline picks the one
column whose groups predict the target best, the kind of table a person keeps
on a whiteboard::

    median price by district: north 310k, centre 540k, south 280k; otherwise 330k

A categorical column's groups are its categories (the rarer ones, under
``min_support`` of the rows, join the fallback); a numeric column's are
``bins`` ranges between its quantiles. The column kept is the one whose group
medians have the lowest mean absolute error on the training rows, and only if
it beats the overall median by ``min_gain``; otherwise the baseline is the
overall median, the constant every model must beat (its D² absolute error is
0). A missing value, or a category never seen, gets the overall median.

It is trained, versioned and evaluated exactly like the model (``mlprod models
show`` prints it in words), and the model must beat it (``beat_baseline`` in
``mlprod.yaml``) to be worth its complexity.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from . import schema as schema_module


def _round(value: float) -> float | int:
    """A number a person can read: three significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = 3 - int(math.floor(math.log10(abs(value)))) - 1
    rounded = round(value, max(digits, 0))
    return int(rounded) if float(rounded).is_integer() else rounded


class GroupMedianBaseline(RegressorMixin, BaseEstimator):
    """The median of the target per group of the most informative column, else the overall median.

    Parameters
    ----------
    numeric, categorical : tuple of str, optional
        The columns the baseline may group by (default: the schema's features).
    bins : int
        Ranges a numeric column is cut into (at its quantiles).
    max_groups : int
        A categorical column with more categories than this groups its largest ones only.
    min_support : float
        A group holds at least this share of the training rows (else it joins the fallback).
    min_gain : float
        The column must lower the MAE of the overall median by at least this share.

    Attributes
    ----------
    column_ : str or None
        The column grouped by (None: the overall median alone).
    kind_ : str or None
        ``"categorical"`` or ``"numeric"``.
    groups_ : list of [key, median]
        A category and its median, or for a numeric column ``[upper edge, median]``
        in increasing order (the last edge is infinity).
    fallback_ : float
        The overall median of the training target.
    """

    def __init__(
        self,
        numeric: tuple[str, ...] | None = None,
        categorical: tuple[str, ...] | None = None,
        bins: int = 5,
        max_groups: int = 20,
        min_support: float = 0.02,
        min_gain: float = 0.01,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.bins = bins
        self.max_groups = max_groups
        self.min_support = min_support
        self.min_gain = min_gain

    def fit(self, X: pd.DataFrame, y) -> GroupMedianBaseline:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{type(self).__name__} needs a pandas DataFrame, got {type(X)}")
        y = np.asarray(y, dtype=float)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        if len(y) == 0:
            raise ValueError("no rows to fit")
        numeric, categorical = self._columns(X)
        self.fallback_ = float(np.median(y))
        best_loss = float(np.mean(np.abs(y - self.fallback_))) * (1 - self.min_gain)
        self.column_, self.kind_, self.groups_ = None, None, []
        min_rows = max(1, int(math.ceil(self.min_support * len(y))))
        candidates = [(c, "categorical") for c in categorical] + [(c, "numeric") for c in numeric]
        for column, kind in candidates:
            groups = self._groups(X[column], y, kind, min_rows)
            if not groups:
                continue
            loss = float(np.mean(np.abs(y - self._lookup(X[column], kind, groups))))
            if loss < best_loss:
                best_loss, self.column_, self.kind_, self.groups_ = loss, column, kind, groups
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def _columns(self, X: pd.DataFrame) -> tuple[list[str], list[str]]:
        if self.numeric is None and self.categorical is None:
            schema = schema_module.load()
            numeric, categorical = list(schema.numeric), list(schema.categorical)
        else:
            numeric, categorical = list(self.numeric or ()), list(self.categorical or ())
        missing = [c for c in [*numeric, *categorical] if c not in X]
        if missing:
            raise ValueError(f"{type(self).__name__} needs the columns {missing}")
        return numeric, categorical

    def _groups(self, column: pd.Series, y: np.ndarray, kind: str, min_rows: int) -> list:
        if kind == "categorical":
            text = column.astype(object).where(column.notna(), None)
            counts = pd.Series(text).value_counts().head(self.max_groups)
            return [
                [str(value), float(np.median(y[(text == value).to_numpy()]))]
                for value, n in counts.items()
                if n >= min_rows
            ]
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        present = ~np.isnan(numbers)
        if present.sum() < 2 * min_rows:
            return []
        edges = np.unique(np.quantile(numbers[present], np.linspace(0, 1, self.bins + 1)[1:-1]))
        edges = [float(_round(float(e))) for e in edges]
        uppers = [*dict.fromkeys(edges), math.inf]
        codes = np.searchsorted(np.asarray(uppers), numbers, side="left")
        groups = []
        for k, upper in enumerate(uppers):
            rows = present & (codes == k)
            if rows.sum() >= min_rows:
                groups.append([upper, float(np.median(y[rows]))])
        return groups if len(groups) >= 2 else []

    def _lookup(self, column: pd.Series, kind: str, groups: list) -> np.ndarray:
        out = np.full(len(column), self.fallback_)
        if kind == "categorical":
            text = column.astype(object).where(column.notna(), None).to_numpy()
            for key, median in groups:
                out[text == key] = median
            return out
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        uppers = np.asarray([upper for upper, _ in groups])
        medians = np.asarray([median for _, median in groups])
        codes = np.searchsorted(uppers, numbers, side="left")
        found = ~np.isnan(numbers) & (codes < len(groups))
        out[found] = medians[codes[found]]
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        if self.column_ is None:
            return np.full(len(X), self.fallback_)
        return self._lookup(X[self.column_], self.kind_, self.groups_)

    def describe(self) -> str:
        """The baseline in words, as ``mlprod models show`` prints it."""
        check_is_fitted(self)
        fallback = _round(self.fallback_)
        if self.column_ is None:
            return f"always {fallback} (the overall median)"
        if self.kind_ == "categorical":
            parts = [f"{key} → {_round(median)}" for key, median in self.groups_]
        else:
            parts, low = [], None
            for upper, median in self.groups_:
                span = (
                    f"≤ {upper}"
                    if low is None
                    else (f"> {low}" if math.isinf(upper) else f"{low}–{upper}")
                )
                parts.append(f"{self.column_} {span} → {_round(median)}")
                low = upper
        groups = ", ".join(parts)
        return f"median by {self.column_}: {groups}; otherwise {fallback} (the overall median)"


def build() -> GroupMedianBaseline:
    """Return the unfitted baseline over the schema's features."""
    schema = schema_module.load()
    return GroupMedianBaseline(numeric=schema.numeric, categorical=schema.categorical)
