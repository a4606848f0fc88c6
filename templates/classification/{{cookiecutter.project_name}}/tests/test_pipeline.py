"""End to end on the project's data, as ``mlprod train`` and ``evaluate`` run it.

The ``split`` and ``fitted`` fixtures (the baseline and the model, each fitted on
the training split of ``mlprod.yaml``) are in ``conftest.py``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from {{ cookiecutter.package_name }} import metrics


def test_predictions_have_the_right_shape_and_classes(fitted) -> None:
    estimator, X_test, y_test = fitted
    n, classes = len(y_test), list(estimator.classes_)
    assert sorted(classes) == sorted(set(estimator.classes_))
    y_pred = estimator.predict(X_test)
    assert y_pred.shape == (n,)
    assert set(y_pred) <= set(classes)
    scores = estimator.predict_proba(X_test)
    assert scores.shape == (n, len(classes))
    assert np.allclose(scores.sum(axis=1), 1.0)


def test_a_refit_gives_the_same_predictions(fitted, split) -> None:
    estimator, X_test, _ = fitted
    X_train, y_train, _, _ = split
    again = clone(estimator).fit(X_train, y_train)
    np.testing.assert_array_equal(again.predict(X_test), estimator.predict(X_test))


def test_the_custom_metric_is_a_rate(fitted) -> None:
    estimator, X_test, y_test = fitted
    value = metrics.worst_class_recall(y_test, estimator.predict(X_test))
    assert 0.0 <= value <= 1.0
