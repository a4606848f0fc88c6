from __future__ import annotations

import pickle

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }} import model


def test_build_returns_the_documented_pipeline() -> None:
    pipeline = model.build()
    assert isinstance(pipeline, Pipeline)
    assert list(pipeline.named_steps) == ["features", "classifier"]
    classifier = pipeline.named_steps["classifier"]
    assert isinstance(classifier, LogisticRegression)
    assert classifier.class_weight == "balanced"


def test_build_returns_a_fresh_estimator_each_time() -> None:
    assert model.build() is not model.build()


def test_tuned_parameter_exists() -> None:
    # mlprod.yaml tunes classifier__C; a renamed step would break tuning.
    pipeline = clone(model.build()).set_params(classifier__C=0.3)
    assert pipeline.named_steps["classifier"].C == 0.3


def test_fitted_model_pickles_to_the_same_predictions(xy) -> None:
    X, y = xy
    X, y = X.head(2000), y.head(2000)
    fitted = model.build().fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    assert set(fitted.classes_) == set(y)
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
