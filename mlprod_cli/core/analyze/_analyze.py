"""A classifier's errors on a split: the most confident ones, the confusions, the slices.

The rows are named by the data's identifier (an excluded column whose values
are all different, such as the sample's ``lesion_id``), or by their position in
the loaded data, from 1, when it has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core.dataset import cell_value
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import UsageError

SPLITS = ("test", "train")


@dataclass
class WorstError:
    row_id: str
    true: str
    predicted: str
    confidence: float  # the model's probability of what it predicted
    p_true: float | None  # its probability of the given label (None: a label it never saw)
    values: dict[str, Any]  # the row's features and slice columns


@dataclass
class Confusion:
    true: str
    predicted: str
    count: int
    rate: float  # of the rows labelled ``true``


@dataclass
class FoundSlice:
    column: str
    value: str  # a value, or a decile's range ``[12.5, 14.0)``
    rows: int
    errors: int
    rate: float
    low: float  # Wilson interval of ``rate``, 95 % over all the slices (see ._slices)
    high: float
    rest_rate: float  # the error rate of every other row
    gap_low: float  # Newcombe's interval of rate − rest_rate, at the same confidence
    gap_high: float
    beyond_chance: bool  # the gap's interval excludes 0


@dataclass
class LabelIssue:
    row_id: str
    split: str
    given: str
    suggested: str
    quality: float  # cleanlab's label quality score (self-confidence): low is suspect
    values: dict[str, Any]


@dataclass
class Analysis:
    version: str
    split: str
    rows: int
    errors: int
    id_column: str | None
    labels: list[str]
    worst: list[WorstError]
    confusion: list[Confusion]
    slices: list[FoundSlice]
    slices_examined: int
    slice_confidence: float  # of each interval: 95 % over all the slices examined
    label_issues: list[LabelIssue]
    label_rows: dict[str, int]  # rows examined for label errors, per split
    noise_rates: dict[str, float]  # estimated share of each given class that is mislabelled
    folds: int
    objective: str = ""
    importances: list[Any] = field(default_factory=list)  # ._importance.Importance, highest first
    importance_rows: int = 0
    shares: list[Any] = field(default_factory=list)  # ._shares.Share, most different first
    side_rows: dict[str, int] = field(default_factory=dict)  # train, test, serving
    serving_note: str = ""  # why the serving log is not compared
    warnings: list[str] = field(default_factory=list)


def analyze(
    workspace: Workspace,
    *,
    version_id: str | None = None,
    split: str = "test",
    top: int = 10,
    folds: int = 5,
    progress: Any = None,
) -> Analysis:
    """Analyse ``version_id`` (default: the active model, else the newest) on ``split``."""
    import numpy as np

    from mlprod_cli.core import dataset
    from mlprod_cli.core.analyze._labels import suspect_labels
    from mlprod_cli.core.analyze._slices import find_slices, slice_confidence
    from mlprod_cli.core.evaluate import predict_with_scores, select_version
    from mlprod_cli.core.label_patch import identifier_column, row_ids

    step = progress or (lambda _text: None)
    if split not in SPLITS:
        raise UsageError(f"--split: expected test or train, got {split!r}")
    if top < 1:
        raise UsageError(f"--top: must be 1 or more, got {top}")
    if folds < 2:
        raise UsageError(f"--folds: must be 2 or more, got {folds}")
    config = workspace.config
    if config.task == "regression":
        raise UsageError(
            "analyze looks for a classifier's errors and wrong labels; this project's task is "
            "regression (evaluate reports its errors per decile and slice)"
        )
    registry = workspace.registry
    version, _ = select_version(registry, version_id, config.registry.name)
    if version.kind != "model":
        raise UsageError(f"{version.id} is a {version.kind}: analyze looks at a model version")
    model = registry.load(version)
    if not hasattr(model, "predict_proba"):
        raise UsageError(
            f"{version.id} gives no class probabilities (predict_proba): analyze needs them"
        )
    schema = version.metadata["schema"]
    labels = [str(c) for c in version.metadata.get("classes", [])]

    step("loading data")
    train_data, test_data = dataset.load_training_data(config)
    parts = dataset.split(config, train_data, test_data)
    del train_data, test_data  # the splits are what is kept: one copy of the data, not two
    frames = {"train": parts.train, "test": parts.test}
    id_column = identifier_column(config.data.exclude, list(frames.values()))
    features, truths, ids = {}, {}, {}
    for name, frame in frames.items():
        X, y = dataset.features_and_target(config, frame, f"{name} split")
        features[name], _ = dataset.conform(X, schema, source=f"{name} split")
        del X
        truths[name] = _labels_of(y)
        ids[name] = row_ids(frame, id_column)

    step(f"scoring the {split} split with {version.id}")
    scored = predict_with_scores(model, features[split], labels)
    y_true, y_pred = truths[split], np.asarray(scored.y_pred).astype(str)
    scores = np.asarray(scored.scores, dtype=float)
    shown = _shown_columns(config, frames[split])
    wrong = y_true != y_pred
    analysis = Analysis(
        version=version.id,
        split=split,
        rows=len(y_true),
        errors=int(wrong.sum()),
        id_column=id_column,
        labels=labels,
        worst=_worst(frames[split], ids[split], y_true, y_pred, scores, labels, shown, top),
        confusion=_confusion(y_true, y_pred, top),
        slices=[],
        slices_examined=0,
        slice_confidence=0.95,
        label_issues=[],
        label_rows={},
        noise_rates={},
        folds=folds,
    )
    step(f"looking for slices whose error rate differs, over {len(shown)} columns")
    found, examined = find_slices(frames[split], wrong, exclude={config.data.target, id_column})
    analysis.slices, analysis.slices_examined = found[:top], examined
    analysis.slice_confidence = slice_confidence(examined)

    objective = config.metrics.objective
    if objective is not None:
        from mlprod_cli.core.analyze._importance import REPEATS, permutation_importances
        from mlprod_cli.core.evaluate import custom_metrics

        step(
            f"permutation importance of {len(features['test'].columns)} features on the test split ({REPEATS} repeats)"
        )
        analysis.objective = str(objective)
        known = np.isin(truths["test"], labels)  # a label the model never saw has no score
        analysis.importances, analysis.importance_rows = permutation_importances(
            model, features["test"][known], truths["test"][known], labels, objective,
            custom_metrics(config),
        )  # fmt: skip

    step("each slice's share of training, test and the serving log")
    _shares(analysis, workspace, frames, schema, labels, {config.data.target, id_column}, top)

    test_scores = scores if split == "test" else None
    if test_scores is None:
        test_scores = np.asarray(predict_with_scores(model, features["test"], labels).scores)
    step(
        f"out-of-fold probabilities on the training split ({folds} folds of {version.id}'s recipe)"
    )
    suspect_labels(
        analysis,
        model,
        {name: (features[name], truths[name], ids[name], frames[name]) for name in frames},
        test_scores,
        shown,
        on_step=step,
    )
    return analysis


def _shares(analysis, workspace, frames, schema, labels, exclude, top) -> None:
    from mlprod_cli.core.analyze._shares import slice_shares
    from mlprod_cli.core.skew import serving_frames
    from mlprod_cli.errors import DataError

    serving = serving_frames(workspace, schema, labels)
    try:
        first = next(serving)
    except (DataError, StopIteration) as exc:
        analysis.serving_note = str(getattr(exc, "message", "")) or "the request log has no rows"
        served = None
    else:
        served = _chain(first, serving)
    shares, analysis.side_rows = slice_shares(
        frames["train"], frames["test"], served, exclude=exclude
    )
    analysis.shares = shares[:top]


def _chain(first, rest):
    yield first
    yield from rest


def _labels_of(y: Any) -> Any:
    """``y`` as an array of text whose rows share each class's one string object.

    A million labels are then a million pointers to a few strings, not a million
    strings (what ``np.asarray(y.astype(str))`` would make).
    """
    import numpy as np
    import pandas as pd

    return np.asarray(pd.Categorical(y), dtype=object)


def _shown_columns(config: Any, frame: Any) -> list[str]:
    """The features and slice columns, in the data's order."""
    wanted = {*config.features.numeric, *config.features.categorical, *config.metrics.slices}
    return [c for c in frame.columns if c in wanted]


def _worst(frame, ids, y_true, y_pred, scores, labels, shown, top) -> list[WorstError]:
    import numpy as np

    index = {label: i for i, label in enumerate(labels)}
    confidence = scores.max(axis=1)
    wrong = np.flatnonzero(y_true != y_pred)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:top]
    out = []
    for i in order:
        row = frame.iloc[i]
        t = index.get(y_true[i])
        out.append(
            WorstError(
                row_id=str(ids[i]),
                true=str(y_true[i]),
                predicted=str(y_pred[i]),
                confidence=float(confidence[i]),
                p_true=float(scores[i, t]) if t is not None else None,
                values={c: cell_value(row[c]) for c in shown},
            )
        )
    return out


def _confusion(y_true, y_pred, top) -> list[Confusion]:
    import pandas as pd

    pairs = pd.DataFrame({"true": y_true, "predicted": y_pred})
    per_class = pairs["true"].value_counts()
    wrong = pairs[pairs["true"] != pairs["predicted"]]
    counts = wrong.value_counts().reset_index(name="count")
    counts = counts.sort_values(["count", "true", "predicted"], ascending=[False, True, True])
    return [
        Confusion(
            str(r.true), str(r.predicted), int(r.count), int(r.count) / int(per_class[r.true])
        )
        for r in counts.head(top).itertuples()
    ]
