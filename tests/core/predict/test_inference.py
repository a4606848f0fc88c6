"""``core/predict/_inference.py``: one prediction step, the features computed once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from mlprod_cli.core.predict import predict_batch

X = pd.DataFrame({"a": [0.0, 0.2, 1.0, 1.2, 2.0, 2.2], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
Y = np.array([0, 0, 1, 1, 2, 2])  # integer classes: reported as text


class CountingScaler(TransformerMixin, BaseEstimator):
    """StandardScaler that counts how often it transforms."""

    def fit(self, X, y=None):
        self.scaler_ = StandardScaler().fit(X)
        self.calls_ = 0
        return self

    def transform(self, X):
        self.calls_ += 1
        return self.scaler_.transform(X)


def test_a_pipeline_transforms_once_for_classes_and_scores():
    pipeline = make_pipeline(CountingScaler(), LogisticRegression()).fit(X, Y)
    expected_classes = pipeline.predict(X).astype(str)
    expected_scores = pipeline.predict_proba(X)
    pipeline[0].calls_ = 0
    y_pred, scores = predict_batch(pipeline, X, ["0", "1", "2"])
    assert pipeline[0].calls_ == 1
    assert y_pred.tolist() == expected_classes.tolist()
    np.testing.assert_allclose(scores, expected_scores)


def test_scores_follow_the_labels_given_and_an_unknown_label_scores_zero():
    model = LogisticRegression().fit(X, Y)
    proba = model.predict_proba(X)
    _, scores = predict_batch(model, X, ["2", "0", "1"])
    np.testing.assert_allclose(scores, proba[:, [2, 0, 1]])
    _, scores = predict_batch(model, X, ["1", "9"])
    assert scores.shape == (len(X), 2)
    np.testing.assert_allclose(scores[:, 0], proba[:, 1])
    assert not scores[:, 1].any()


def test_the_class_is_the_estimators_own_prediction():
    # A decision threshold moved by the estimator: argmax of the scores would disagree.
    class Cautious(LogisticRegression):
        def predict(self, X):
            return np.where(self.predict_proba(X)[:, 2] > 0.2, 2, super().predict(X))

    model = Cautious().fit(X, Y)
    y_pred, scores = predict_batch(model, X, ["0", "1", "2"])
    assert y_pred.tolist() == model.predict(X).astype(str).tolist()
    assert (y_pred != scores.argmax(axis=1).astype(str)).any()


def test_an_estimator_without_predict_proba_has_no_scores():
    model = make_pipeline(StandardScaler(), LinearSVC()).fit(X, Y)
    y_pred, scores = predict_batch(model, X, ["0", "1", "2"])
    assert scores is None and y_pred.tolist() == model.predict(X).astype(str).tolist()


def test_one_row():
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    y_pred, scores = predict_batch(model, X.iloc[:1], ["0", "1", "2"])
    assert y_pred.shape == (1,) and scores.shape == (1, 3)
    assert scores.sum() == pytest.approx(1.0)
