"""One prediction step shared by ``predict``, ``evaluate``, ``serve`` and ``skew``.

``predict`` and ``predict_proba`` on a scikit-learn Pipeline would each run
every transformer again; for a pipeline the features are computed once and
the final estimator gives both. The class is the estimator's own ``predict``
(not an argmax that could disagree with it), and the scores are reordered to
the registry's class list.
"""

from __future__ import annotations

from typing import Any


def is_regressor(estimator: Any) -> bool:
    """Whether ``estimator`` predicts a number (scikit-learn's estimator type, or a pipeline's last step)."""
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    return getattr(final, "_estimator_type", None) == "regressor" or (
        hasattr(final, "__sklearn_tags__")
        and getattr(final.__sklearn_tags__(), "estimator_type", None) == "regressor"
    )


def predict_batch(estimator: Any, X: Any, labels: list[str]) -> tuple[Any, Any | None]:
    """``(classes as text, scores (n, len(labels)) or None)`` for the rows of ``X``.

    A regressor (``labels`` empty) gives ``(values as float64, None)``.
    """
    import numpy as np

    final = estimator
    features = X
    steps = getattr(estimator, "steps", None)
    if steps and len(steps) > 1:
        head = estimator[:-1]
        features = head.transform(X)
        final = steps[-1][1]
    if not labels and is_regressor(estimator):
        return np.asarray(final.predict(features), dtype=float).reshape(-1), None
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


def predict_quantiles(estimator: Any, X: Any) -> dict[float, Any] | None:
    """A regressor's 0.1 and 0.9 quantiles, when its last step gives them; else None.

    The convention: ``predict_quantiles(X)`` returns an array of shape (n, 2) for the
    quantiles listed in its ``quantiles_`` attribute, which holds 0.1 and 0.9.
    """
    import numpy as np

    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    method = getattr(final, "predict_quantiles", None)
    wanted = tuple(getattr(final, "quantiles_", ()))
    if method is None or 0.1 not in wanted or 0.9 not in wanted:
        return None
    features = estimator[:-1].transform(X) if steps and len(steps) > 1 else X
    values = np.asarray(method(features), dtype=float)
    return {q: values[:, wanted.index(q)] for q in (0.1, 0.9)}
