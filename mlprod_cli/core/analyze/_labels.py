"""Suspected label errors as rows: confident learning's verdict (core/evaluate/_labels.py) named.

Each row flagged is given its identifier, split, given and suggested label, its
label quality and its values; :func:`write_label_issues` writes them as CSV in
the label patch's columns (core/label_patch.py), for review.
"""

from __future__ import annotations


def suspect_labels(analysis, model, splits, test_scores, shown, *, on_step) -> None:
    """Fill ``analysis``'s label issues, rows examined and noise rates."""
    from mlprod_cli.core.analyze._analyze import LabelIssue
    from mlprod_cli.core.dataset import cell_value
    from mlprod_cli.core.evaluate import check_labels

    labels = analysis.labels
    X_train, y_train, _, _ = splits["train"]
    _, y_test, _, _ = splits["test"]
    on_step(f"confident learning over both splits ({analysis.folds} folds on train; cleanlab)")
    check = check_labels(model, X_train, y_train, test_scores, y_test, labels, folds=analysis.folds)
    for name, (count, unseen) in check.unseen.items():
        analysis.warnings.append(
            f"{name} split: {count} rows labelled {', '.join(map(repr, unseen))}, a class "
            f"{analysis.version} was not trained on, are not examined for label errors"
        )
    analysis.label_rows = dict(check.rows)
    analysis.noise_rates = dict(check.noise_rates)
    for i in check.ranked:
        name, position = check.where(i)
        _, _, ids, frame = splits[name]
        row = frame.iloc[position]
        analysis.label_issues.append(
            LabelIssue(
                row_id=str(ids[position]),
                split=name,
                given=labels[check.given[i]],
                suggested=labels[check.suggested[i]],
                quality=float(check.quality[i]),
                values={c: cell_value(row[c]) for c in shown},
            )
        )


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
