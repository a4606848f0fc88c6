from __future__ import annotations

import pickle

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }} import model


def test_build_returns_the_documented_pipeline() -> None:
    pipeline = model.build()
    assert isinstance(pipeline, Pipeline)
    assert list(pipeline.named_steps) == ["features", "regressor"]
    regressor = pipeline.named_steps["regressor"]
    assert isinstance(regressor, model.ResidualQuantiles)
    assert isinstance(regressor.estimator, RidgeCV)


def test_build_returns_a_fresh_estimator_each_time() -> None:
    assert model.build() is not model.build()


def test_the_interval_is_ordered_and_holds_the_prediction(xy) -> None:
    X, y = xy
    fitted = model.build().fit(X, y)
    predicted = fitted.predict(X)
    bounds = fitted.named_steps["regressor"].predict_quantiles(fitted[:-1].transform(X))
    assert bounds.shape == (len(X), 2)
    assert (bounds[:, 0] <= predicted).all() and (predicted <= bounds[:, 1]).all()


def test_fitted_model_pickles_to_the_same_predictions(xy) -> None:
    X, y = xy
    fitted = clone(model.build()).fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
