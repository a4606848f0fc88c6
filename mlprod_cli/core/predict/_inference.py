"""One prediction step shared by ``predict``, ``evaluate``, ``serve`` and ``skew``.

``predict`` and ``predict_proba`` on a scikit-learn Pipeline would each run
every transformer again; for a pipeline the features are computed once and
the final estimator gives both. The class is the estimator's own ``predict``
(not an argmax that could disagree with it), and the scores are reordered to
the registry's class list.
"""

from __future__ import annotations

from typing import Any


def predict_batch(estimator: Any, X: Any, labels: list[str]) -> tuple[Any, Any | None]:
    """``(classes as text, scores (n, len(labels)) or None)`` for the rows of ``X``."""
    import numpy as np

    final = estimator
    features = X
    steps = getattr(estimator, "steps", None)
    if steps and len(steps) > 1:
        head = estimator[:-1]
        features = head.transform(X)
        final = steps[-1][1]
    y_pred = np.asarray(final.predict(features)).astype(str)
    if not hasattr(final, "predict_proba"):
        return y_pred, None
    proba = np.asarray(final.predict_proba(features), dtype=float)
    classes = [str(c) for c in getattr(final, "classes_", getattr(estimator, "classes_", []))]
    if classes == list(labels):
        return y_pred, proba
    scores = np.zeros((proba.shape[0], len(labels)))
    for j, label in enumerate(labels):
        if label in classes:
            scores[:, j] = proba[:, classes.index(label)]
    return y_pred, scores
