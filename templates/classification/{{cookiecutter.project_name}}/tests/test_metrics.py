from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import recall_score

from {{ cookiecutter.package_name }} import metrics


def test_custom_metrics_are_registered_by_name() -> None:
    assert metrics.CUSTOM_METRICS == {"worst_class_recall": metrics.worst_class_recall}


@pytest.mark.parametrize("seed", range(5))
def test_worst_class_recall_is_the_smallest_recall(seed: int) -> None:
    rng = np.random.default_rng(seed)
    classes = np.array(["a", "b", "c"])
    y_true = rng.choice(classes, size=200, p=[0.7, 0.2, 0.1])
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.choice(classes, size=200))
    expected = recall_score(y_true, y_pred, labels=classes, average=None).min()
    assert metrics.worst_class_recall(y_true, y_pred) == pytest.approx(expected)


def test_worst_class_recall_counts() -> None:
    y_true = ["a", "a", "a", "a", "b", "b"]
    y_pred = ["a", "a", "a", "b", "a", "a"]
    # 'b' is never found: the average hides it, this metric does not.
    assert metrics.worst_class_recall(y_true, y_pred, y_score=np.zeros((6, 2))) == 0.0


def test_worst_class_recall_is_undefined_without_rows() -> None:
    assert math.isnan(metrics.worst_class_recall([], []))


def test_worst_class_recall_checks_lengths() -> None:
    with pytest.raises(ValueError, match="shape"):
        metrics.worst_class_recall(["a"], ["a", "b"])
