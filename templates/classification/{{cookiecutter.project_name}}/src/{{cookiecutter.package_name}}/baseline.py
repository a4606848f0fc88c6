"""A heuristic baseline: a few readable rules learned from the data.

Before any model, ask what a simple rule gets. This baseline learns a short
decision list, the kind of rule a domain expert writes on a whiteboard::

    if diameter_mm > 6.1 and asymmetry > 1   then melanoma
    else if age > 62 and color_count <= 2    then seborrheic_keratosis
    else                                          nevus  (the majority class)

Each rule has one or two conditions on one column each (a number above or
below a threshold, or a category), and the whole list reads at most
``max_columns`` columns (two: a rule of thumb a person can hold in mind, not
a model in disguise). Rules are picked greedily: the rule that best finds one
class (by F1 on the rows no earlier rule took) comes first, each class gets
one rule at most, and rules stop when none finds its class better than
chance. It is trained, versioned and evaluated exactly like the model
(``mlprod models show`` prints the rules in words), and the model must beat
it (``beat_baseline`` in ``mlprod.yaml``) to be worth its complexity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from . import schema as schema_module

MAX_TARGET_CLASSES = 5
"""Without ``classes``, rules are searched for the largest classes after the majority only."""
QUANTILES = np.linspace(0.05, 0.95, 19)
"""Where numeric thresholds are tried: the 5th to the 95th percentile."""
SEARCH_ROWS = 100_000
"""Rules are searched on a sample of at most this many rows (then scored on all)."""


@dataclass(frozen=True)
class Condition:
    """``column op value``: ``>`` / ``<=`` a threshold, or ``==`` a category."""

    column: str
    op: str
    value: float | str

    def holds(self, X: pd.DataFrame) -> np.ndarray:
        """Where the condition is true; a missing value never satisfies it."""
        column = X[self.column]
        if self.op == "==":
            return (column.astype(object) == self.value).to_numpy(dtype=bool)
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            return numbers > self.value if self.op == ">" else numbers <= self.value

    def __str__(self) -> str:
        value = self.value if self.op == "==" else _round(float(self.value))
        return (
            f"{self.column} {self.op} {value!r}"
            if self.op == "=="
            else f"{self.column} {self.op} {value}"
        )


@dataclass(frozen=True)
class Rule:
    conditions: tuple[Condition, ...]
    label: str

    def holds(self, X: pd.DataFrame) -> np.ndarray:
        out = np.ones(len(X), dtype=bool)
        for condition in self.conditions:
            out &= condition.holds(X)
        return out

    def __str__(self) -> str:
        return " and ".join(str(c) for c in self.conditions)


def _round(value: float) -> float | int:
    """A threshold a person can read: three significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = 3 - int(math.floor(math.log10(abs(value)))) - 1
    rounded = round(value, max(digits, 0))
    return int(rounded) if float(rounded).is_integer() else rounded


class RuleListBaseline(ClassifierMixin, BaseEstimator):
    """A decision list of at most ``max_rules`` rules, with the majority class as fallback.

    Parameters
    ----------
    numeric, categorical : tuple of str, optional
        The columns the rules may use (default: the schema's features).
    max_rules : int
        At most this many rules before the fallback (and one per class).
    max_conditions : int
        Conditions per rule (1 or 2).
    max_columns : int
        Columns the whole list may read.
    min_support : float
        A rule must cover at least this share of the training rows.
    classes : tuple of str, optional
        The classes a rule may predict (default: every class but the majority).
    random_state : int
        Seed of the row sample rules are searched on.

    Attributes
    ----------
    classes_ : ndarray
        The classes seen in ``fit``, sorted.
    rules_ : list of dict
        The learned rules, in order: ``{"if": [[column, op, value], ...], "then": class}``
        (:meth:`rules` gives them as :class:`Rule` objects).
    fallback_ : str
        The class predicted when no rule fires (the majority class of the rows
        no rule covers).
    score_table_ : ndarray of shape (len(rules_) + 1, n_classes)
        Class frequencies (Laplace-smoothed) among the training rows each rule,
        then the fallback, took: ``predict_proba`` returns these, so the scores
        rank rows by what the rule that took them saw, and AUROC is defined.
    """

    def __init__(
        self,
        numeric: tuple[str, ...] | None = None,
        categorical: tuple[str, ...] | None = None,
        max_rules: int = 3,
        max_conditions: int = 2,
        max_columns: int = 2,
        min_support: float = 0.02,
        classes: tuple[str, ...] | None = None,
        random_state: int = 0,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.max_rules = max_rules
        self.max_conditions = max_conditions
        self.max_columns = max_columns
        self.min_support = min_support
        self.classes = classes
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> RuleListBaseline:
        """Learn the rules, the fallback and the score table."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{type(self).__name__} needs a pandas DataFrame, got {type(X)}")
        y = np.asarray(y, dtype=object).astype(str)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError("a classifier needs two or more classes in y")
        numeric, categorical = self._columns(X)
        majority = self.classes_[np.argmax(counts)]
        wanted = [str(c) for c in self.classes] if self.classes else list(self.classes_)
        unknown = [c for c in wanted if c not in self.classes_]
        if unknown:
            raise ValueError(f"class {unknown[0]!r} is not among the training labels")
        by_size = sorted(wanted, key=lambda c: -int(counts[list(self.classes_).index(c)]))
        targets = [c for c in by_size if c != majority]
        if not self.classes:
            targets = targets[:MAX_TARGET_CLASSES]

        rng = np.random.default_rng(self.random_state)
        sample = np.arange(len(X))
        if len(X) > SEARCH_ROWS:
            sample = np.sort(rng.choice(len(X), SEARCH_ROWS, replace=False))
        Xs, ys = X.iloc[sample], y[sample]
        candidates = self._candidates(Xs, numeric, categorical)
        masks = [c.holds(Xs) for c in candidates]
        min_rows = max(1, int(math.ceil(self.min_support * len(Xs))))
        remaining = np.ones(len(Xs), dtype=bool)
        used: set[str] = set()
        # Plain lists and text, not objects: a fitted baseline stores and loads as data.
        self.rules_: list[dict] = []
        for _ in range(self.max_rules):
            best = self._best_rule(candidates, masks, ys, remaining, targets, min_rows, used)
            if best is None:
                break
            rule, covered = best
            used |= {c.column for c in rule.conditions}
            targets = [c for c in targets if c != rule.label]  # one rule per class
            self.rules_.append(
                {"if": [[c.column, c.op, c.value] for c in rule.conditions], "then": rule.label}
            )
            remaining &= ~covered
            if remaining.sum() < min_rows or not targets:
                break
        left = ys[remaining]
        self.fallback_ = (
            str(pd.Series(left).value_counts().idxmax()) if len(left) else str(majority)
        )
        self._fit_scores(X, y)
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

    def _candidates(
        self, X: pd.DataFrame, numeric: list[str], categorical: list[str]
    ) -> list[Condition]:
        out: list[Condition] = []
        for column in numeric:
            values = pd.to_numeric(X[column], errors="coerce").dropna().to_numpy(dtype=float)
            if len(values) == 0:
                continue
            for threshold in np.unique(np.quantile(values, QUANTILES)):
                threshold = float(_round(float(threshold)))
                out += [Condition(column, ">", threshold), Condition(column, "<=", threshold)]
        for column in categorical:
            counts = X[column].dropna().astype(str).value_counts()
            for value in counts.index[:20]:
                out.append(Condition(column, "==", str(value)))
        return list(dict.fromkeys(out))

    def _best_rule(self, candidates, masks, y, remaining, targets, min_rows, used):
        """The (rule, rows it covers) that finds its class best on ``remaining`` rows.

        Its columns and the ``used`` ones together are at most ``max_columns``.
        """
        best, best_score = None, 0.0
        for label in targets:
            positive = (y == label) & remaining
            n_positive = int(positive.sum())
            if n_positive == 0:
                continue
            prior = n_positive / max(int(remaining.sum()), 1)
            chosen: list[int] = []
            covered = remaining.copy()
            score = 0.0
            for _ in range(self.max_conditions):
                step = None
                columns = used | {candidates[j].column for j in chosen}
                for i, mask in enumerate(masks):
                    column = candidates[i].column
                    if i in chosen or any(column == candidates[j].column for j in chosen):
                        continue
                    if column not in columns and len(columns) >= self.max_columns:
                        continue
                    hit = covered & mask
                    n_hit = int(hit.sum())
                    if n_hit < min_rows:
                        continue
                    tp = int((hit & positive).sum())
                    precision = tp / n_hit
                    if precision <= prior:  # no better than chance
                        continue
                    f1 = 2 * tp / (n_hit + n_positive)
                    if f1 > score + 1e-9 and (step is None or f1 > step[1]):
                        step = (i, f1)
                if step is None:
                    break
                chosen.append(step[0])
                covered &= masks[step[0]]
                score = step[1]
            if chosen and score > best_score:
                rule = Rule(tuple(candidates[i] for i in chosen), label)
                best, best_score = (rule, covered), score
        return best

    def _fit_scores(self, X: pd.DataFrame, y: np.ndarray) -> None:
        taken = self._assign(X)
        table = np.ones((len(self.rules_) + 1, len(self.classes_)))  # +1: never 0 or 1
        for k in range(len(self.rules_) + 1):
            labels, counts = np.unique(y[taken == k], return_counts=True)
            table[k, np.searchsorted(self.classes_, labels)] += counts
        self.score_table_ = table / table.sum(axis=1, keepdims=True)

    # ------------------------------------------------------------------ predicting

    def rules(self) -> list[Rule]:
        """The learned rules, in order."""
        check_is_fitted(self)
        return [
            Rule(tuple(Condition(str(c), str(op), v) for c, op, v in rule["if"]), str(rule["then"]))
            for rule in self.rules_
        ]

    def _assign(self, X: pd.DataFrame) -> np.ndarray:
        """Which rule takes each row (``len(rules_)``: the fallback)."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{type(self).__name__} needs a pandas DataFrame, got {type(X)}")
        taken = np.full(len(X), len(self.rules_))
        free = np.ones(len(X), dtype=bool)
        for k, rule in enumerate(self.rules()):
            fires = free & rule.holds(X)
            taken[fires] = k
            free &= ~fires
        return taken

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The class of the first rule that fires, else the fallback."""
        check_is_fitted(self)
        labels = np.asarray([r["then"] for r in self.rules_] + [self.fallback_], dtype=object)
        return labels[self._assign(X)]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class frequencies among the training rows the same rule took."""
        check_is_fitted(self)
        return self.score_table_[self._assign(X)]

    def describe(self) -> str:
        """The rules in words, in order, as ``mlprod models show`` prints them."""
        check_is_fitted(self)
        lines = [
            f"{'if' if k == 0 else 'else if'} {rule} then {rule.label}"
            for k, rule in enumerate(self.rules())
        ]
        lines.append(f"{'else' if self.rules_ else 'always'} {self.fallback_}")
        return "; ".join(lines)


def build() -> RuleListBaseline:
    """Return the unfitted baseline over the schema's features.

    With a positive class in ``mlprod.yaml`` the rules look for that class
    (the one the product exists to find); otherwise for the largest classes.
    """
    schema = schema_module.load()
    classes = (schema.positive_class,) if schema.positive_class else None
    return RuleListBaseline(numeric=schema.numeric, categorical=schema.categorical, classes=classes)
