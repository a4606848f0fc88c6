"""Features not contributing: permutation importance on the test split, with an interval.

Each feature's column of the test split is shuffled ``REPEATS`` times
(``sklearn.inspection.permutation_importance``) and the drop of the project's
objective measured each time. The interval is the mean drop ± 2 standard
deviations of the repeats, scikit-learn's own rule in its permutation
importance guide; a feature whose interval holds 0 is *not contributing*: the
model scores as well without it. Above ``MAX_ROWS`` test rows a seeded sample of
that many is used (the report says so): each repeat re-scores every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REPEATS = 10
MAX_ROWS = 20_000


@dataclass
class Importance:
    feature: str
    mean: float  # the mean drop of the objective when the feature is shuffled
    low: float  # mean ± 2 standard deviations of the repeats
    high: float
    contributing: bool  # the interval lies above 0


def permutation_importances(
    model, X, y_true, labels, objective, custom
) -> tuple[list[Importance], int]:
    """(each feature's importance, most important first; the rows used)."""
    import warnings

    import numpy as np
    from sklearn.inspection import permutation_importance

    from mlprod_cli.core.evaluate import predict_with_scores, report_for, value_from_dict
    from mlprod_cli.core.metrics import to_dict
    from mlprod_cli.core.names import higher_is_better

    if len(X) > MAX_ROWS:
        rows = np.random.default_rng(0).choice(len(X), size=MAX_ROWS, replace=False)
        X, y_true = X.iloc[np.sort(rows)], np.asarray(y_true)[np.sort(rows)]
    sign = 1.0 if higher_is_better(objective.metric) else -1.0

    def score(estimator: Any, X_: Any, y_: Any) -> float:
        value = value_from_dict(
            to_dict(report_for(np.asarray(y_), predict_with_scores(estimator, X_, labels), custom)),
            objective,
        )
        return sign * (value if value is not None else float("nan"))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = permutation_importance(
            model, X, np.asarray(y_true), scoring=score, n_repeats=REPEATS, random_state=0, n_jobs=1
        )
    out = []
    for name, mean, std in zip(
        X.columns, found.importances_mean, found.importances_std, strict=True
    ):
        low, high = float(mean - 2 * std), float(mean + 2 * std)
        out.append(Importance(str(name), float(mean), low, high, contributing=low > 0))
    out.sort(key=lambda i: (-i.mean, i.feature))
    return out, len(X)
