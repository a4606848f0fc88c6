"""End to end on the project's data, as ``mlprod train`` and ``evaluate`` run it.

The ``split`` and ``fitted`` fixtures (the baseline and the model, each fitted on
the training split of ``mlprod.yaml``) are in ``conftest.py``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from {{ cookiecutter.package_name }} import metrics, model


def test_predictions_are_finite_numbers_one_per_row(fitted) -> None:
    estimator, X_test, y_test = fitted
    y_pred = np.asarray(estimator.predict(X_test))
    assert y_pred.shape == (len(y_test),)
    assert y_pred.dtype.kind == "f" and np.isfinite(y_pred).all()


def test_the_model_beats_the_median_of_the_training_rows(split) -> None:
    X_train, y_train, X_test, y_test = split
    fitted = model.build().fit(X_train, y_train)
    constant = np.mean(np.abs(y_test - np.median(y_train)))
    assert np.mean(np.abs(y_test - fitted.predict(X_test))) < constant


def test_a_refit_gives_the_same_predictions(fitted, split) -> None:
    estimator, X_test, _ = fitted
    X_train, y_train, _, _ = split
    again = clone(estimator).fit(X_train, y_train)
    np.testing.assert_allclose(again.predict(X_test), estimator.predict(X_test))


def test_the_custom_metric_is_a_share(fitted) -> None:
    estimator, X_test, y_test = fitted
    value = metrics.within_10_percent(y_test, estimator.predict(X_test))
    assert 0.0 <= value <= 1.0
