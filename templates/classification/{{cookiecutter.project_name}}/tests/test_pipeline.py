"""End to end on the sample data, as ``mlprod train`` and ``evaluate`` will run it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score, roc_auc_score

from {{ cookiecutter.package_name }} import baseline, data, metrics, model

EXCLUDE = ["lesion_id", "visit_date"]


@dataclass
class Fitted:
    name: str
    classes: np.ndarray
    y_test: pd.Series
    y_pred: np.ndarray
    y_score: np.ndarray

    def recall(self, klass: str = "melanoma") -> float:
        return recall_score(self.y_test == klass, self.y_pred == klass)

    def auroc(self) -> float:
        return roc_auc_score(self.y_test, self.y_score, multi_class="ovr", labels=self.classes)


@pytest.fixture(scope="module")
def fitted(sample_data_path) -> dict[str, Fitted]:
    df = data.load(sample_data_path)
    train, test = data.split(df, by="time", column="visit_date", cutoff="2024-07-01")
    X_train, y_train = data.features_and_target(train, data.TARGET, EXCLUDE)
    X_test, y_test = data.features_and_target(test, data.TARGET, EXCLUDE)
    results = {}
    for name, build in [("baseline", baseline.build), ("model", model.build)]:
        estimator = build().fit(X_train, y_train)
        results[name] = Fitted(
            name,
            estimator.classes_,
            y_test,
            estimator.predict(X_test),
            estimator.predict_proba(X_test),
        )
    return results


@pytest.mark.parametrize("name", ["baseline", "model"])
def test_predictions_have_the_right_shape_and_classes(fitted: dict[str, Fitted], name: str) -> None:
    result = fitted[name]
    n = len(result.y_test)
    assert result.classes.tolist() == ["melanoma", "nevus", "seborrheic_keratosis"]
    assert result.y_pred.shape == (n,)
    assert set(result.y_pred) <= set(result.classes)
    assert result.y_score.shape == (n, 3)
    assert np.allclose(result.y_score.sum(axis=1), 1.0)


def test_model_beats_the_baseline_on_melanoma_recall(fitted: dict[str, Fitted]) -> None:
    assert fitted["model"].recall() > fitted["baseline"].recall() + 0.1


def test_model_ranks_better_than_the_baseline(fitted: dict[str, Fitted]) -> None:
    assert fitted["model"].auroc() > fitted["baseline"].auroc()
    assert fitted["model"].auroc() > 0.8


def test_model_is_useful_but_not_suspiciously_perfect(fitted: dict[str, Fitted]) -> None:
    # A perfect score on this noisy data would mean a leak (id, date or label).
    assert 0.6 < fitted["model"].recall() < 0.98


def test_custom_metric_agrees_with_the_objective(fitted: dict[str, Fitted]) -> None:
    result = fitted["model"]
    missed = metrics.missed_melanoma_rate(result.y_test, result.y_pred, result.y_score)
    assert missed == pytest.approx(1.0 - result.recall())
