"""A heuristic baseline: what a dermatologist's rule of thumb achieves.

Before any model, ask what a simple rule gets. The ABCD rule of dermatoscopy
says a lesion is suspicious when it is Asymmetric, has an irregular Border,
several Colours and a Diameter over 6 mm. This baseline keeps the two easiest
criteria to measure:

    melanoma  if  diameter_mm > 6  and  asymmetry >= 2 (asymmetric on both axes)
    otherwise the majority class seen in training (nevus)

It is trained, versioned and evaluated exactly like the model, and the model
must beat it (``beat_baseline`` in ``mlprod.yaml``) to be worth its
complexity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted


class AbcdRuleBaseline(ClassifierMixin, BaseEstimator):
    """Flag a lesion as the positive class when it is large and asymmetric.

    Parameters
    ----------
    min_diameter_mm : float
        A lesion is large when ``diameter_mm`` is strictly above this. A
        missing diameter does not count as large.
    min_asymmetry : int
        A lesion is asymmetric when ``asymmetry`` is at least this (0-2).
    positive_class : str
        The class the rule flags.

    Attributes
    ----------
    classes_ : ndarray
        The classes seen in ``fit``, sorted.
    majority_class_ : str
        The most frequent training class, predicted when the rule does not fire.
    score_table_ : ndarray of shape (3, n_classes)
        Row ``k``: the class frequencies (Laplace-smoothed) among training
        lesions meeting ``k`` of the two criteria. ``predict_proba`` returns
        these, so the scores rank lesions by how suspicious the rule finds
        them and AUROC is defined.

    Notes
    -----
    ``predict`` applies the rule as a clinician would, so it is not always the
    argmax of ``predict_proba``: a large asymmetric lesion is flagged even if
    most such lesions were benign in training. That is the point of a
    sensitive screening rule.
    """

    COLUMNS = ("diameter_mm", "asymmetry")

    def __init__(
        self,
        min_diameter_mm: float = 6.0,
        min_asymmetry: int = 2,
        positive_class: str = "melanoma",
    ) -> None:
        self.min_diameter_mm = min_diameter_mm
        self.min_asymmetry = min_asymmetry
        self.positive_class = positive_class

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> AbcdRuleBaseline:
        """Record the classes, the majority class and the rule's score table."""
        met = self._criteria_met(X)
        y = np.asarray(y, dtype=object)
        if len(y) != len(met):
            raise ValueError(f"X has {len(met)} rows but y has {len(y)}")
        self.classes_, counts = np.unique(y, return_counts=True)
        if self.positive_class not in self.classes_:
            raise ValueError(
                f"positive class {self.positive_class!r} is not among the training "
                f"labels {self.classes_.tolist()}"
            )
        self.majority_class_ = self.classes_[np.argmax(counts)]
        table = np.ones((3, len(self.classes_)))  # +1: no score is ever exactly 0 or 1
        for k in range(3):
            labels, label_counts = np.unique(y[met == k], return_counts=True)
            table[k, np.searchsorted(self.classes_, labels)] += label_counts
        self.score_table_ = table / table.sum(axis=1, keepdims=True)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Return the positive class where the rule fires, else the majority class."""
        check_is_fitted(self)
        fires = self._criteria_met(X) == 2
        return np.where(fires, self.positive_class, self.majority_class_).astype(object)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Return class frequencies of training lesions meeting as many criteria."""
        check_is_fitted(self)
        return self.score_table_[self._criteria_met(X)]

    def describe(self) -> str:
        """Return the rule in words, for reports."""
        return (
            f"{self.positive_class} if diameter_mm > {self.min_diameter_mm:g} and "
            f"asymmetry >= {self.min_asymmetry}, else "
            f"{getattr(self, 'majority_class_', 'the majority class')}"
        )

    def _criteria_met(self, X: pd.DataFrame) -> np.ndarray:
        """Count, per row, how many of the two criteria hold (0, 1 or 2)."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{type(self).__name__} needs a pandas DataFrame, got {type(X)}")
        missing = [c for c in self.COLUMNS if c not in X]
        if missing:
            raise ValueError(f"{type(self).__name__} needs the columns {missing}")
        # NaN compares False: a missing measurement never makes a lesion suspicious.
        large = pd.to_numeric(X["diameter_mm"]).to_numpy(dtype=float) > self.min_diameter_mm
        asym = pd.to_numeric(X["asymmetry"]).to_numpy(dtype=float) >= self.min_asymmetry
        return large.astype(int) + asym.astype(int)


def build() -> AbcdRuleBaseline:
    """Return the unfitted baseline with the textbook thresholds."""
    return AbcdRuleBaseline()
