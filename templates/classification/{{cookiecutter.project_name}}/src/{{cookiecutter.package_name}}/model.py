"""The first model: a plain, well-understood scikit-learn pipeline.

Logistic regression on the features of ``features.py``. It is fast to train,
its coefficients can be read, and ``class_weight="balanced"`` makes a rare
class count as much as a common one. Replace it only once the evaluation
pipeline shows what a more complex model would buy.
"""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from . import features


def build() -> Pipeline:
    """Return the unfitted model pipeline (``features`` then ``classifier``).

    The step names matter: ``mlprod.yaml`` tunes ``classifier__C``.
    """
    return Pipeline(
        [
            ("features", features.build()),
            ("classifier", LogisticRegression(max_iter=1000, class_weight="balanced")),
        ]
    )
