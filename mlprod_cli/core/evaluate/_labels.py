"""Confident learning (Northcutt, Jiang & Chuang 2021; ``cleanlab``): rows whose label is doubtful.

It needs probabilities the model gave without having seen the row: on the
training split they are out of fold (the version's recipe, its estimator with
its parameters, cloned and cross-validated in stratified, shuffled folds), on
the test split they are the version's own scores. ``cleanlab`` flags the rows
whose given label it doubts, ranked by self-confidence (the probability of the
given label: lowest first), and estimates the joint distribution of given and
true labels, from which each class's noise rate is read. ``analyze`` lists the
rows; the ``max_label_issue_rate`` gate bounds their share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlprod_cli.errors import DataError, UsageError

FOLDS = 5


@dataclass
class LabelCheck:
    """Confident learning over the rows of both splits whose label the model knows."""

    ranked: Any  # indices into ``where``, most doubtful first
    quality: Any  # each row's label quality (self-confidence)
    suggested: Any  # each row's most probable class (index into the labels)
    given: Any  # each row's given class (index)
    noise_rates: dict[str, float]  # per given class: the estimated share mislabelled
    positions: dict[str, Any]  # per split, in order (train, test): the rows examined in it
    rows: dict[str, int]  # rows examined per split
    unseen: dict[str, tuple[int, list[str]]]  # per split: rows left out, their labels

    @property
    def rate(self) -> float:
        return len(self.ranked) / max(sum(self.rows.values()), 1)

    def where(self, i: int) -> tuple[str, int]:
        """The split and the position in it of the ``i``-th row examined."""
        for name, positions in self.positions.items():
            if i < len(positions):
                return name, int(positions[i])
            i -= len(positions)
        raise IndexError(i)


def _cleanlab() -> Any:
    try:
        import cleanlab.count
        import cleanlab.filter
        import cleanlab.rank
    except ImportError:
        raise UsageError(
            "analyze needs cleanlab for the suspected label errors, which is not installed",
            hint="pip install 'mlprod[analyze]' (or cleanlab) into the environment mlprod runs in",
        ) from None
    return cleanlab


def check_labels(
    model, X_train, y_train, test_scores, y_test, labels, *, folds=FOLDS
) -> LabelCheck:
    """Confident learning over the training split (out of fold) and the test split (scores)."""
    import warnings

    import numpy as np

    cleanlab = _cleanlab()
    probabilities = {
        "train": out_of_fold(model, X_train, y_train, labels, folds),
        "test": np.asarray(test_scores, dtype=float),
    }
    given, probs, positions, rows, unseen = [], [], {}, {}, {}
    for name, y in (("train", y_train), ("test", y_test)):
        codes = _codes(y, labels)  # -1: a label the model was not trained on
        known = codes >= 0
        if not known.all():
            left = np.asarray(y, dtype=object)[~known]
            unseen[name] = (int((~known).sum()), sorted({str(v) for v in left}))
        kept = np.flatnonzero(known)
        given.append(codes[kept])
        probs.append(probabilities[name][kept] if len(kept) < len(codes) else probabilities[name])
        positions[name] = kept
        rows[name] = len(kept)
    del probabilities
    given_all, probs_all = np.concatenate(given), np.vstack(probs)
    probs_all = probs_all / probs_all.sum(axis=1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab's notes on classes with few rows
        ranked = cleanlab.filter.find_label_issues(
            given_all, probs_all, return_indices_ranked_by="self_confidence"
        )
        quality = cleanlab.rank.get_label_quality_scores(given_all, probs_all)
        joint = cleanlab.count.estimate_joint(given_all, probs_all)
    noise = {}
    for k, label in enumerate(labels):
        row_sum = float(joint[k].sum())
        noise[label] = (1 - float(joint[k, k]) / row_sum) if row_sum > 0 else 0.0
    suggested = probs_all.argmax(axis=1)
    return LabelCheck(
        np.asarray(ranked), quality, suggested, given_all, noise, positions, rows, unseen
    )


def out_of_fold(model, X, y, labels, folds) -> Any:
    """Class probabilities for each training row from a fold that did not see it, in ``labels``' order."""
    import warnings

    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = _text(y)
    values, counts = np.unique(y, return_counts=True)
    rare = sorted(
        (int(n), str(label)) for label, n in zip(values, counts, strict=True) if n < folds
    )
    if rare:
        n, label = rare[0]
        raise DataError(
            f"training split: class {label!r} has {n} row{'s' if n != 1 else ''}, too few for "
            f"{folds} folds of out-of-fold probabilities (--folds, at most {n} for it; 2 at least)"
        )
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probs = cross_val_predict(clone(model), X, y, cv=cv, method="predict_proba")
    out = np.zeros((len(y), len(labels)))
    for j, label in enumerate(values):  # cross_val_predict's columns: the sorted classes
        if label in labels:
            out[:, labels.index(label)] = probs[:, j]
    return out


def _text(y: Any) -> Any:
    """Labels as an object array of text; rows with the same label share one string."""
    import numpy as np
    import pandas as pd

    series = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y, dtype=object))
    return np.asarray(pd.Categorical(series.astype(str).fillna("nan")), dtype=object)


def _codes(y: Any, labels: list[str]) -> Any:
    """Each label's position in ``labels``, -1 for one not in it."""
    import pandas as pd

    return pd.Index(labels, dtype=object).get_indexer(_text(y))


def label_issue_gate(limit: float, check: LabelCheck) -> Any:
    """``max_label_issue_rate``: the share of rows examined that confident learning flags."""
    from mlprod_cli.core.evaluate._gates import GateResult

    rate = check.rate
    examined = sum(check.rows.values())
    return GateResult(
        name=f"label issue rate <= {limit:g}",
        kind="max_label_issue_rate",
        passed=rate <= limit,
        value=rate,
        detail=f"needs <= {limit:g}, measured {rate:.4f} ({len(check.ranked):,} of {examined:,} "
        "rows suspected of a wrong label by confident learning; mlprod analyze lists them)",
    )
