"""Suspected label errors by confident learning (Northcutt, Jiang & Chuang 2021; ``cleanlab``).

Confident learning needs probabilities the model gave without having seen the
row: on the training split they are out of fold (the version's recipe, its
estimator with its parameters, cloned and cross-validated in stratified folds),
on the test split they are the version's own scores. ``cleanlab`` flags the
rows whose given label it doubts, ranked by self-confidence (the probability of
the given label: lowest first), and estimates the joint distribution of given
and true labels, from which each class's noise rate is read.
"""

from __future__ import annotations

from typing import Any

from mlprod_cli.errors import DataError, UsageError


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


def suspect_labels(analysis, model, splits, test_scores, shown, *, on_step) -> None:
    """Fill ``analysis``'s label issues, rows examined and noise rates (see the module)."""
    import warnings

    import numpy as np

    cleanlab = _cleanlab()
    labels = analysis.labels
    index = {label: i for i, label in enumerate(labels)}
    X_train, y_train, _, _ = splits["train"]
    probabilities = {"train": _out_of_fold(model, X_train, y_train, labels, analysis.folds)}
    probabilities["test"] = np.asarray(test_scores, dtype=float)
    given, probs, where = [], [], []
    for name in ("train", "test"):
        _, y, ids, frame = splits[name]
        known = np.asarray([label in index for label in y])
        if not known.all():
            unseen = sorted(set(np.asarray(y)[~known]))
            analysis.warnings.append(
                f"{name} split: {int((~known).sum())} rows labelled {', '.join(map(repr, unseen))}, "
                f"a class {analysis.version} was not trained on, are not examined for label errors"
            )
        rows = np.flatnonzero(known)
        given.append(np.asarray([index[label] for label in np.asarray(y)[rows]]))
        probs.append(probabilities[name][rows])
        where.extend((name, int(i)) for i in rows)
        analysis.label_rows[name] = len(rows)
    given_all, probs_all = np.concatenate(given), np.vstack(probs)
    probs_all = probs_all / probs_all.sum(axis=1, keepdims=True)
    on_step(f"confident learning over {len(given_all):,} rows (cleanlab)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab's notes on classes with few rows
        ranked = cleanlab.filter.find_label_issues(
            given_all, probs_all, return_indices_ranked_by="self_confidence"
        )
        quality = cleanlab.rank.get_label_quality_scores(given_all, probs_all)
        joint = cleanlab.count.estimate_joint(given_all, probs_all)
    for k, label in enumerate(labels):
        row_sum = float(joint[k].sum())
        analysis.noise_rates[label] = (1 - float(joint[k, k]) / row_sum) if row_sum > 0 else 0.0
    suggested = probs_all.argmax(axis=1)
    for i in ranked:
        name, position = where[i]
        _, _, ids, frame = splits[name]
        row = frame.iloc[position]
        analysis.label_issues.append(
            _issue(ids[position], name, labels[given_all[i]], labels[suggested[i]], quality[i], row, shown)
        )  # fmt: skip


def _issue(row_id, split, given, suggested, quality, row, shown):
    from mlprod_cli.core.analyze._analyze import LabelIssue
    from mlprod_cli.core.dataset import cell_value

    return LabelIssue(
        row_id=str(row_id),
        split=split,
        given=given,
        suggested=suggested,
        quality=float(quality),
        values={c: cell_value(row[c]) for c in shown},
    )


def _out_of_fold(model, X, y, labels, folds) -> Any:
    """Class probabilities for each training row from a fold that did not see it, in ``labels``' order."""
    import warnings

    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    counts = {label: int((np.asarray(y) == label).sum()) for label in set(np.asarray(y))}
    rare = sorted((n, label) for label, n in counts.items() if n < folds)
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
    seen = sorted(set(np.asarray(y)))  # cross_val_predict's columns: the sorted classes
    out = np.zeros((len(y), len(labels)))
    for j, label in enumerate(seen):
        if label in labels:
            out[:, labels.index(label)] = probs[:, j]
    return out


def write_label_issues(analysis) -> str:
    """The suspected label errors as CSV for review, in the label patch's columns.

    ``corrected_label`` and ``reason`` are left empty for the reviewer: the rows
    filled in are a patch ``data.label_patch`` applies, the others are kept as
    they are (see core/label_patch.py).
    """
    import pandas as pd

    records = [
        {"row_id": i.row_id, "given_label": i.given, "corrected_label": "", "reason": "",
         "suggested_label": i.suggested, "label_quality": round(i.quality, 6), "split": i.split,
         **i.values}
        for i in analysis.label_issues
    ]  # fmt: skip
    columns = ["row_id", "given_label", "corrected_label", "reason", "suggested_label",
               "label_quality", "split"]  # fmt: skip
    return pd.DataFrame(records, columns=columns if not records else None).to_csv(index=False)
