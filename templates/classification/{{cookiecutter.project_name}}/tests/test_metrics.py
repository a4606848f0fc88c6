from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import recall_score

from {{ cookiecutter.package_name }} import metrics

CLASSES = np.array(["nevus", "seborrheic_keratosis", "melanoma"])


def test_objective_names_a_metric_of_the_positive_class() -> None:
    name, _, klass = metrics.OBJECTIVE.partition("@")
    assert name == "recall"
    assert klass == metrics.POSITIVE_CLASS == "melanoma"


def test_custom_metrics_are_registered_by_name() -> None:
    assert metrics.CUSTOM_METRICS == {"missed_melanoma_rate": metrics.missed_melanoma_rate}


@pytest.mark.parametrize("seed", range(5))
def test_missed_melanoma_rate_is_one_minus_recall(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.choice(CLASSES, size=200, p=[0.7, 0.18, 0.12])
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.choice(CLASSES, size=200))
    expected = 1.0 - recall_score(y_true == "melanoma", y_pred == "melanoma")
    assert metrics.missed_melanoma_rate(y_true, y_pred) == pytest.approx(expected)


def test_missed_melanoma_rate_counts() -> None:
    y_true = ["melanoma", "melanoma", "melanoma", "melanoma", "nevus"]
    y_pred = ["melanoma", "nevus", "seborrheic_keratosis", "melanoma", "melanoma"]
    # Two of four melanomas missed; the false alarm on the nevus does not count.
    assert metrics.missed_melanoma_rate(y_true, y_pred, y_score=np.zeros((5, 3))) == 0.5


def test_missed_melanoma_rate_is_undefined_without_melanoma() -> None:
    assert math.isnan(metrics.missed_melanoma_rate(["nevus", "nevus"], ["nevus", "melanoma"]))


def test_missed_melanoma_rate_checks_lengths() -> None:
    with pytest.raises(ValueError, match="shape"):
        metrics.missed_melanoma_rate(["melanoma"], ["melanoma", "nevus"])
