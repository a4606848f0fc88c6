"""End to end on the project's data, as ``mlprod train`` and ``evaluate`` run it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from {{ cookiecutter.package_name }} import baseline, data, metrics, model


@pytest.fixture(scope="module")
def split(_sample_frame, schema):
    train, test = data.split(_sample_frame, **schema.split, target=schema.target)
    X_train, y_train = data.features_and_target(train, schema.target, schema.exclude)
    X_test, y_test = data.features_and_target(test, schema.target, schema.exclude)
    return X_train, y_train, X_test, y_test


@pytest.fixture(scope="module", params=["baseline", "model"])
def fitted(request, split):
    X_train, y_train, X_test, y_test = split
    build = baseline.build if request.param == "baseline" else model.build
    estimator = build().fit(X_train, y_train)
    return estimator, X_test, y_test


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
