"""The first model for a number: a regularised linear model, with an honest 80 % interval.

Ridge regression on the features of ``features.py``, its penalty chosen by
efficient leave-one-out cross-validation (``RidgeCV``): fast, its coefficients
can be read, and the splines in the features let it follow a curve. Replace it
only once the evaluation pipeline shows what a more complex model would buy.

:class:`ResidualQuantiles` adds the 0.1 and 0.9 quantiles: the prediction
plus the 10th and 90th percentiles of the model's out-of-fold residuals on the
training rows (a split-conformal interval, in the spirit of Lei et al. 2018).
mlprod reports their pinball loss and how often the truth falls inside
(``coverage_80``: near 0.8 when the interval is honest), and ``predict`` writes
them as ``prediction_q10`` and ``prediction_q90``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from . import features

ALPHAS = np.logspace(-3, 3, 13)
"""The penalties RidgeCV chooses among."""


class ResidualQuantiles(RegressorMixin, BaseEstimator):
    """``estimator``'s predictions, and its 0.1 and 0.9 quantiles from out-of-fold residuals.

    Parameters
    ----------
    estimator : regressor
        The model (fitted on every row; cloned for the folds).
    cv : int
        Folds of the out-of-fold residuals.

    Attributes
    ----------
    estimator_ : the fitted estimator
    offsets_ : ndarray of shape (2,)
        The 0.1 and 0.9 quantiles of ``y - out-of-fold prediction``.
    quantiles_ : tuple
        ``(0.1, 0.9)``: the columns of :meth:`predict_quantiles`.
    """

    def __init__(self, estimator=None, cv: int = 5) -> None:
        self.estimator = estimator
        self.cv = cv

    def fit(self, X, y) -> ResidualQuantiles:
        y = np.asarray(y, dtype=float)
        base = self.estimator if self.estimator is not None else RidgeCV(alphas=ALPHAS)
        self.estimator_ = clone(base).fit(X, y)
        folds = KFold(n_splits=min(self.cv, len(y)), shuffle=True, random_state=0)
        out_of_fold = cross_val_predict(clone(base), X, y, cv=folds)
        self.offsets_ = np.quantile(y - out_of_fold, [0.1, 0.9])
        self.quantiles_ = (0.1, 0.9)
        self.n_features_in_ = getattr(self.estimator_, "n_features_in_", None)
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray(self.estimator_.predict(X), dtype=float)

    def predict_quantiles(self, X) -> np.ndarray:
        """Shape (n, 2): the 0.1 and the 0.9 quantile of each row."""
        predicted = self.predict(X)
        return np.column_stack([predicted + self.offsets_[0], predicted + self.offsets_[1]])


def build() -> Pipeline:
    """Return the unfitted model pipeline (``features`` then ``regressor``)."""
    return Pipeline(
        [
            ("features", features.build()),
            ("regressor", ResidualQuantiles(RidgeCV(alphas=ALPHAS))),
        ]
    )
