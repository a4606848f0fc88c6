"""Classification metrics per class, from one confusion matrix, proven equal to scikit-learn.

``classification_report`` turns true labels, predicted labels and (optionally) per-class
scores into a :class:`Report`: for every class, one-vs-rest, the four counts (TP, FP, FN,
TN), support and share, and the rates derived from them (sensitivity, specificity,
precision, NPV, F1, FDR, FOR, FPR, FNR, LR+, LR−, DOR, prevalence, AUROC); accuracy
overall; macro and support-weighted averages of every per-class metric.

A metric that cannot be computed (0/0, AUROC with one class present, LR+ with no false
positives …) is a :class:`Value` with ``value=None`` and a short ``reason``. It is never
a silent 0, never a crash and never a warning. Averages skip undefined classes and name
them. docs/metrics.md has every definition and the comparison with scikit-learn.

The module is written for 10**7 predictions: labels are mapped to integer codes once
(counting for integers, hashing for text), the confusion matrix is one ``bincount`` and
AUROC is the Mann–Whitney U statistic counted exactly in integers from two sorted arrays.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlprod_cli.core.names import HIGHER_IS_BETTER, METRIC_NAMES
from mlprod_cli.errors import DataError

__all__ = [
    "HIGHER_IS_BETTER",
    "METRIC_NAMES",
    "Average",
    "ClassMetrics",
    "Report",
    "Value",
    "classification_report",
    "to_dict",
]

# METRIC_NAMES (report order, JSON keys) and HIGHER_IS_BETTER live in core.names.


AVERAGES: tuple[str, ...] = ("macro", "weighted")

# Reasons a metric is undefined. Short, stable, and shown to users as they are.
NO_ACTUAL_POSITIVES = "no actual positives"
NO_ACTUAL_NEGATIVES = "no actual negatives"
NO_PREDICTED_POSITIVES = "no predicted positives"
NO_PREDICTED_NEGATIVES = "no predicted negatives"
NO_POSITIVES_AT_ALL = "no actual or predicted positives"
NO_FALSE_POSITIVES = "no false positives (FPR is 0)"
NO_TRUE_NEGATIVES = "no true negatives (specificity is 0)"
NO_FALSE_NEGATIVES = "no false negatives (LR- is 0)"
NO_SCORES = "no scores"
ONE_CLASS_PRESENT = "only one class present in y_true"
UNDEFINED_FOR_EVERY_CLASS = "undefined for every class"
NO_WEIGHT = "defined only for classes with no support"

# Integer labels spanning at most this many values are coded with a lookup table.
_MAX_LOOKUP_RANGE = 1 << 22


@dataclass(frozen=True)
class Value:
    """One metric value, or ``None`` with the reason it is undefined."""

    value: float | None
    reason: str | None = None

    @property
    def defined(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Average(Value):
    """An average over classes; ``skipped`` names the classes where the metric is undefined."""

    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClassMetrics:
    """One class against the rest: its counts and every metric in :data:`METRIC_NAMES`."""

    label: str
    tp: int
    fp: int
    fn: int
    tn: int
    support: int
    share: float
    metrics: dict[str, Value]


@dataclass(frozen=True, eq=False)  # holds an array: compare reports with to_dict
class Report:
    """Everything ``classification_report`` computed; render it, store it, gate on it.

    ``confusion[i, j]`` counts samples of class ``labels[i]`` predicted as ``labels[j]``
    (rows true, columns predicted, as in ``sklearn.metrics.confusion_matrix``).
    """

    labels: list[str]
    n_samples: int
    classes: list[ClassMetrics]
    accuracy: Value
    averages: dict[str, dict[str, Average]]
    confusion: np.ndarray
    custom: dict[str, Value] = field(default_factory=dict)

    def value(self, metric: str, *, label: str | None = None, average: str = "macro") -> Value:
        """Look up one number: ``value("recall", label="melanoma")``, ``value("auroc")``.

        ``accuracy`` and custom metrics are overall; any other metric is the one of
        ``label`` when given, else its ``average`` ("macro" or "weighted").
        """
        if metric == "accuracy" and label is None:
            return self.accuracy
        if metric in self.custom and label is None:
            return self.custom[metric]
        if metric not in METRIC_NAMES:
            known = ", ".join(("accuracy", *METRIC_NAMES, *self.custom))
            raise DataError(f'unknown metric "{metric}"; known metrics: {known}')
        if label is None:
            if average not in self.averages:
                raise DataError(f'unknown average "{average}"; use one of: macro, weighted')
            return self.averages[average][metric]
        for cls in self.classes:
            if cls.label == str(label):
                return cls.metrics[metric]
        raise DataError(f'class "{label}" is not among the known classes: {_listing(self.labels)}')


def classification_report(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence[Any] | None = None,
    scores: Any = None,
    custom: Mapping[str, Callable[..., float]] | None = None,
) -> Report:
    """Compute every per-class metric, accuracy and their averages.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels: text, integers or booleans (a list, a numpy array or
        a pandas Series). Labels are reported as text.
    labels : sequence, optional
        The known classes, in report order. Every label in ``y_true`` and ``y_pred``
        must be one of them; a class in ``labels`` may be absent from the data. By
        default the sorted union of the labels in ``y_true`` and ``y_pred``.
    scores : array-like of shape (n_samples, n_labels), optional
        Probabilities or decision scores, column ``j`` for class ``labels[j]``; used for
        AUROC (one-vs-rest). Without them AUROC is undefined ("no scores").
    custom : mapping of name to callable, optional
        Extra overall metrics, each called as ``f(y_true, y_pred)``, or
        ``f(y_true, y_pred, y_score=scores)`` when scores are given and ``f`` takes
        ``y_score``. A NaN, infinite or non-numeric result, or an exception, makes the
        value undefined with the reason.

    Returns
    -------
    Report

    Raises
    ------
    DataError
        Lengths differ, no samples, a missing (NaN/None) label, a label that is not
        among ``labels``, or scores of the wrong shape, non-numeric or not finite.

    Examples
    --------
    >>> r = classification_report(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    >>> r.value("precision", label="b").value
    0.6666666666666666
    >>> r.value("precision", label="a")
    Value(value=1.0, reason=None)
    >>> r.accuracy.value
    0.75
    >>> r.value("auroc", label="a").reason
    'no scores'
    """
    true_arr = _as_labels(y_true, "y_true")
    pred_arr = _as_labels(y_pred, "y_pred")
    n = len(true_arr)
    if len(pred_arr) != n:
        raise DataError(f"y_true has {n} rows but y_pred has {len(pred_arr)}")
    if n == 0:
        raise DataError("no samples: y_true and y_pred are empty")
    given = _check_labels(labels) if labels is not None else None
    custom = _check_custom(custom)

    true_coded = _factorize(true_arr, "y_true")
    pred_coded = _factorize(pred_arr, "y_pred")
    if given is None:
        values = _sorted_union(true_coded.seen, pred_coded.seen)
        texts = [str(v) for v in values]
        _check_unique_texts(texts)
    else:
        values, texts = given
    true_codes = _to_label_codes(true_coded, values, texts, "true")
    pred_codes = _to_label_codes(pred_coded, values, texts, "predicted")
    del true_coded, pred_coded
    k = len(values)
    score_arr, nonnegative = _check_scores(scores, n, k, texts)

    cells = np.multiply(true_codes, k, dtype=np.intp)
    cells += pred_codes
    confusion = np.bincount(cells, minlength=k * k).reshape(k, k).astype(np.int64, copy=False)
    del cells, pred_codes

    support = confusion.sum(axis=1).tolist()
    predicted = confusion.sum(axis=0).tolist()
    diagonal = np.diagonal(confusion).tolist()
    positions = np.arange(n, dtype=np.int64) if score_arr is not None else None
    classes = []
    for j in range(k):
        tp = diagonal[j]
        fp = predicted[j] - tp
        fn = support[j] - tp
        tn = n - tp - fp - fn
        metrics = _rates(tp, fp, fn, tn, n)
        metrics["auroc"] = _auroc_value(
            score_arr, true_codes, j, support[j], n, positions, nonnegative
        )
        classes.append(
            ClassMetrics(
                label=texts[j],
                tp=tp,
                fp=fp,
                fn=fn,
                tn=tn,
                support=support[j],
                share=support[j] / n,
                metrics=metrics,
            )
        )
    return Report(
        labels=texts,
        n_samples=n,
        classes=classes,
        accuracy=Value(sum(diagonal) / n),
        averages=_averages(classes),
        confusion=confusion,
        custom=_custom_values(custom, y_true, y_pred, score_arr),
    )


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data: undefined values are ``None`` (``null``).

    Each class, each average and the custom metrics carry ``metrics`` (name -> number or
    null) and ``undefined`` (name -> reason, only for the null ones); averages also
    carry ``skipped`` (name -> labels of the classes left out of the average).
    """
    averages: dict[str, Any] = {}
    for kind, values in report.averages.items():
        entry = _values_dict(values)
        entry["skipped"] = {name: list(v.skipped) for name, v in values.items() if v.skipped}
        averages[kind] = entry
    return {
        "labels": list(report.labels),
        "n_samples": report.n_samples,
        "accuracy": report.accuracy.value,
        "classes": [
            {
                "label": cls.label,
                "tp": cls.tp,
                "fp": cls.fp,
                "fn": cls.fn,
                "tn": cls.tn,
                "support": cls.support,
                "share": cls.share,
                **_values_dict(cls.metrics),
            }
            for cls in report.classes
        ],
        "averages": averages,
        "confusion": report.confusion.tolist(),
        "custom": _values_dict(report.custom),
    }


# --- the metrics ---------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int, reason: str) -> Value:
    # Python integers: exact counts, one correctly rounded division, as scikit-learn does.
    if denominator == 0:
        return Value(None, reason)
    return Value(numerator / denominator)


def _rates(tp: int, fp: int, fn: int, tn: int, n: int) -> dict[str, Value]:
    """Every metric of one class that needs only its four counts."""
    actual_pos, actual_neg = tp + fn, fp + tn
    sensitivity = _ratio(tp, actual_pos, NO_ACTUAL_POSITIVES)
    specificity = _ratio(tn, actual_neg, NO_ACTUAL_NEGATIVES)
    # LR+ = TPR / FPR and LR- = FNR / TNR, cross-multiplied into integers as
    # sklearn.metrics.class_likelihood_ratios does, so both are one exact division.
    if actual_pos == 0:
        lr_plus = lr_minus = Value(None, NO_ACTUAL_POSITIVES)
    elif actual_neg == 0:
        lr_plus = lr_minus = Value(None, NO_ACTUAL_NEGATIVES)
    else:
        lr_plus = _ratio(tp * actual_neg, fp * actual_pos, NO_FALSE_POSITIVES)
        lr_minus = _ratio(fn * actual_neg, tn * actual_pos, NO_TRUE_NEGATIVES)
    if not lr_plus.defined:
        dor = lr_plus
    elif not lr_minus.defined:
        dor = lr_minus
    else:
        # DOR = LR+ / LR- = (TP * TN) / (FP * FN); FP and TN are > 0 here.
        dor = _ratio(tp * tn, fp * fn, NO_FALSE_NEGATIVES)
    return {
        "sensitivity": sensitivity,
        "recall": sensitivity,
        "specificity": specificity,
        "precision": _ratio(tp, tp + fp, NO_PREDICTED_POSITIVES),
        "npv": _ratio(tn, tn + fn, NO_PREDICTED_NEGATIVES),
        "f1_score": _ratio(2 * tp, 2 * tp + fp + fn, NO_POSITIVES_AT_ALL),
        "fdr": _ratio(fp, tp + fp, NO_PREDICTED_POSITIVES),
        "for": _ratio(fn, fn + tn, NO_PREDICTED_NEGATIVES),
        "fpr": _ratio(fp, actual_neg, NO_ACTUAL_NEGATIVES),
        "fnr": _ratio(fn, actual_pos, NO_ACTUAL_POSITIVES),
        "lr_plus": lr_plus,
        "lr_minus": lr_minus,
        "dor": dor,
        "prevalence": Value(actual_pos / n),
    }


def _auroc_value(
    scores: np.ndarray | None,
    true_codes: np.ndarray,
    j: int,
    n_pos: int,
    n: int,
    positions: np.ndarray | None,
    nonnegative: bool,
) -> Value:
    if scores is None:
        return Value(None, NO_SCORES)
    if n_pos == 0 or n_pos == n:
        return Value(None, ONE_CLASS_PRESENT)
    return Value(_auroc(scores[:, j], true_codes == j, n_pos, positions, nonnegative))


def _auroc(
    column: np.ndarray,
    is_pos: np.ndarray,
    n_pos: int,
    positions: np.ndarray | None = None,
    nonnegative: bool | None = None,
) -> float:
    """Area under the ROC curve, exactly: the Mann–Whitney U over n_pos * n_neg.

    Each (positive, negative) pair counts 1 when the positive scores higher and 1/2 when
    they tie, which is what the trapezoids of scikit-learn's ROC curve add up to. Pair
    counts stay integers, so the only rounding is the final division.

    The scores become order-preserving integer keys with the class in the lowest bit,
    and one sort of the keys merges negatives and positives, negatives first among equal
    scores. A positive at sorted position m then has ``m - (positives before it)``
    negatives at or below it. Scores whose keys need all 64 bits (wide ranges of both
    signs) take a slower path through two sorts and a binary search.
    """
    n = len(column)
    n_neg = n - n_pos
    keys = _order_keys(column, nonnegative)
    if keys is None:
        return _auroc_by_search(column[is_pos], column[~is_pos])
    np.bitwise_or(keys, is_pos, out=keys, casting="unsafe")
    keys.sort()
    if positions is None:
        positions = np.arange(n, dtype=np.int64)
    ties = 0
    # Neighbours with equal scores and different classes differ in the lowest bit only.
    if ((keys[1:] ^ keys[:-1]) == 1).any():
        values = keys >> np.uint64(1)
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        del values
        pos_in_group = np.add.reduceat((keys & np.uint64(1)).view(np.int64), starts)
        group_size = np.diff(np.append(starts, n))
        ties = int(np.dot(pos_in_group, group_size - pos_in_group))
    is_pos_sorted = np.bitwise_and(keys, np.uint64(1), out=keys).view(np.int64)
    # Pairs (negative <= positive): the positives' positions minus the pairs of positives
    # among themselves.
    not_above = int(np.dot(is_pos_sorted, positions)) - n_pos * (n_pos - 1) // 2
    # U = pairs (negative < positive) + ties / 2 = not_above - ties / 2.
    return (2 * not_above - ties) / (2 * n_pos * n_neg)


def _order_keys(column: np.ndarray, nonnegative: bool | None = None) -> np.ndarray | None:
    """New uint64 keys, twice an order-preserving map of the scores, or None if too wide.

    Equal scores get equal keys (-0.0 and 0.0 included) and the lowest bit is left free
    for the class. That needs the map to span less than 2**63: always true for scores of
    one sign (probabilities) and integers, and for signed floats unless their magnitudes
    span more than about 2**1000 (1e-150 to 1e150). None sends the caller to a slower path.
    """
    if column.dtype.kind == "f":
        column = column.astype(np.float64, copy=False)
        if nonnegative or (nonnegative is None and column.min() >= 0):
            # Non-negative floats order as their bits; the shift drops the sign of -0.0.
            return np.left_shift(column.view(np.uint64), np.uint64(1))
        ordered = _signed_float_order(column)
    elif column.dtype.kind == "u" and column.dtype.itemsize == 8:
        ordered = column
    else:
        ordered = column.astype(np.int64)
    low, high = int(ordered.min()), int(ordered.max())
    if high - low >= 1 << 63:
        return None
    # Modular uint64 arithmetic gives the exact difference, which fits.
    keys = ordered.view(np.uint64) - np.uint64(low % (1 << 64))
    keys <<= np.uint64(1)
    return keys


def _signed_float_order(column: np.ndarray) -> np.ndarray:
    """int64 values in the order of the floats: +-(bits of |x|), minus the empty gap at 0.

    The bits of a non-negative float order as the float does. Below the smallest non-zero
    magnitude in the data no value occurs, so that gap is cut out on both sides of zero,
    which keeps the span small enough for the one-sort path.
    """
    bits = np.add(column, 0.0).view(np.int64)  # -0.0 + 0.0 is 0.0
    magnitude = bits & np.int64(0x7FFF_FFFF_FFFF_FFFF)
    nonzero = magnitude != 0
    smallest = int(np.min(magnitude, where=nonzero, initial=np.iinfo(np.int64).max))
    np.subtract(magnitude, np.int64(smallest - 1), out=magnitude, where=nonzero)
    np.negative(magnitude, out=magnitude, where=bits < 0)
    return magnitude


def _auroc_by_search(pos: np.ndarray, neg: np.ndarray) -> float:
    """AUROC from sorted positives and negatives; for scores ``_order_keys`` cannot map."""
    n_pos, n_neg = len(pos), len(neg)
    flipped = n_pos > n_neg
    needles, haystack = (neg, pos) if flipped else (pos, neg)
    needles = np.sort(needles)
    haystack = np.sort(haystack)
    below = np.searchsorted(haystack, needles, side="left")
    pairs_below = int(below.sum(dtype=np.int64))
    nearest = haystack[np.minimum(below, len(haystack) - 1)]
    if np.any(nearest == needles):
        not_above = np.searchsorted(haystack, needles, side="right")
        pairs_not_above = int(not_above.sum(dtype=np.int64))
    else:
        pairs_not_above = pairs_below
    total = 2 * n_pos * n_neg
    if flipped:
        # The needles are the negatives: twice U = total - (below + not_above).
        return (total - pairs_below - pairs_not_above) / total
    return (pairs_below + pairs_not_above) / total


def _averages(classes: list[ClassMetrics]) -> dict[str, dict[str, Average]]:
    """Macro and support-weighted averages over the classes where a metric is defined."""
    macro: dict[str, Average] = {}
    weighted: dict[str, Average] = {}
    for name in METRIC_NAMES:
        defined = [(c.metrics[name].value, c.support) for c in classes if c.metrics[name].defined]
        skipped = tuple(c.label for c in classes if not c.metrics[name].defined)
        if not defined:
            macro[name] = weighted[name] = Average(None, UNDEFINED_FOR_EVERY_CLASS, skipped)
            continue
        macro[name] = Average(math.fsum(v for v, _ in defined) / len(defined), None, skipped)
        weight = sum(s for _, s in defined)
        if weight == 0:
            weighted[name] = Average(None, NO_WEIGHT, skipped)
        else:
            weighted[name] = Average(math.fsum(v * s for v, s in defined) / weight, None, skipped)
    return {"macro": macro, "weighted": weighted}


def _custom_values(
    custom: dict[str, Callable[..., Any]],
    y_true: Any,
    y_pred: Any,
    scores: np.ndarray | None,
) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for name, fn in custom.items():
        try:
            if scores is not None and _takes_y_score(fn):
                result = fn(y_true, y_pred, y_score=scores)
            else:
                result = fn(y_true, y_pred)
        except Exception as exc:  # the project's code: report it, do not crash the run
            message = str(exc).splitlines()[0] if str(exc) else ""
            values[name] = Value(None, f"custom metric raised {type(exc).__name__}: {message}")
            continue
        values[name] = _custom_value(result)
    return values


def _custom_value(result: Any) -> Value:
    if isinstance(result, np.ndarray) and result.shape == ():
        result = result.item()
    if isinstance(result, (bool, np.bool_)) or not isinstance(result, (int, float, np.number)):
        return Value(None, f"custom metric returned {type(result).__name__}, not a number")
    number = float(result)
    if math.isnan(number):
        return Value(None, "custom metric returned NaN")
    if math.isinf(number):
        return Value(None, "custom metric returned infinity")
    return Value(number)


def _takes_y_score(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "y_score" or p.kind is p.VAR_KEYWORD for p in parameters)


def _values_dict(values: Mapping[str, Value]) -> dict[str, Any]:
    return {
        "metrics": {name: v.value for name, v in values.items()},
        "undefined": {name: v.reason for name, v in values.items() if not v.defined},
    }


# --- validation and label codes ------------------------------------------------------------


def _as_labels(y: Any, name: str) -> Any:
    """A 1-D numpy array, or the pandas object itself when pandas hashes it better."""
    if type(y).__module__.split(".")[0] == "pandas" and hasattr(y, "dtype"):
        if isinstance(y.dtype, np.dtype) and y.dtype.kind in "biuf":
            y = y.to_numpy()
        else:
            return y  # text, categorical, nullable: pandas.factorize reads them natively
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind not in "biufUSO":
        raise DataError(f"{name} must hold text, integers or booleans, got dtype {arr.dtype}")
    return arr


def _check_labels(labels: Sequence[Any]) -> tuple[list[Any], list[str]]:
    values = [v.item() if isinstance(v, np.generic) else v for v in labels]
    if not values:
        raise DataError("labels is empty")
    for v in values:
        if _is_missing(v):
            raise DataError("labels contains a missing value (NaN or None)")
    texts = [str(v) for v in values]
    _check_unique_texts(texts)
    return values, texts


def _check_unique_texts(texts: list[str]) -> None:
    seen: set[str] = set()
    for text in texts:
        if text in seen:
            raise DataError(f'label "{text}" appears twice among the known classes')
        seen.add(text)


def _check_custom(custom: Mapping[str, Callable[..., Any]] | None) -> dict[str, Callable]:
    if custom is None:
        return {}
    for name, fn in custom.items():
        if not callable(fn):
            raise DataError(f'custom metric "{name}" is not callable')
        if name in METRIC_NAMES or name == "accuracy":
            raise DataError(f'custom metric "{name}" has the name of a built-in metric')
    return dict(custom)


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN, pandas.NA raises TypeError
    except (TypeError, ValueError):
        return True


@dataclass(frozen=True)
class _Coded:
    """One label array as integer codes and the distinct labels they stand for.

    Without ``slots``, code ``i`` stands for ``seen[i]``. With them (integer labels), the
    codes are the labels minus their minimum, ``n_slots`` of them, and ``seen[i]`` has
    the code ``slots[i]``.
    """

    codes: np.ndarray
    seen: list[Any]
    slots: np.ndarray | None = None
    n_slots: int = 0


def _factorize(y: Any, name: str) -> _Coded:
    """Integer codes and the distinct values seen; one counting pass for integers.

    Integer (and boolean) labels over a small range are counted with ``bincount`` and the
    codes are the values minus the minimum; anything else is hashed by
    ``pandas.factorize`` (sorting, as ``np.unique`` does, is much slower at 10**7 rows).
    """
    if isinstance(y, np.ndarray) and y.dtype.kind in "biu":
        ints = y.view(np.uint8) if y.dtype.kind == "b" else y
        low, high = int(ints.min()), int(ints.max())
        if high - low < _MAX_LOOKUP_RANGE:
            if low == 0 and ints.dtype.itemsize <= np.dtype(np.intp).itemsize:
                offsets = ints if ints.dtype != np.uint64 else ints.astype(np.intp)
            else:
                offsets = np.subtract(ints, low, dtype=np.intp, casting="unsafe")
            present = np.flatnonzero(np.bincount(offsets))
            seen = (present + low).tolist()
            if y.dtype.kind == "b":
                seen = [bool(v) for v in seen]
            return _Coded(offsets, seen, present, high - low + 1)
    if isinstance(y, np.ndarray) and y.dtype.kind == "f":
        missing = np.isnan(y)
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise DataError(f"{name} has a missing label (NaN) at row {row}")
    codes, uniques = _hash_factorize(y)
    if len(codes) and codes.min() < 0:
        row = int(np.flatnonzero(codes < 0)[0])
        raise DataError(f"{name} has a missing label (NaN or None) at row {row}")
    return _Coded(codes, [v.item() if isinstance(v, np.generic) else v for v in uniques])


def _hash_factorize(y: Any) -> tuple[np.ndarray, list[Any]]:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is there wherever mlprod evaluates
        return _python_factorize(y)
    codes, uniques = pd.factorize(y, use_na_sentinel=True)
    if not isinstance(uniques, np.ndarray):
        uniques = np.asarray(uniques, dtype=object)
    return np.asarray(codes), uniques.tolist()


def _python_factorize(y: Any) -> tuple[np.ndarray, list[Any]]:
    index: dict[Any, int] = {}
    codes = np.empty(len(y), dtype=np.intp)
    for i, v in enumerate(y.tolist() if hasattr(y, "tolist") else y):
        codes[i] = -1 if _is_missing(v) else index.setdefault(v, len(index))
    return codes, list(index)


def _sorted_union(a: list[Any], b: list[Any]) -> list[Any]:
    union = list(dict.fromkeys([*a, *b]))
    try:
        return sorted(union)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in union})
        raise DataError(
            f"y_true and y_pred mix label types ({', '.join(kinds)}); "
            "pass labels= to name the known classes"
        ) from None


def _to_label_codes(coded: _Coded, values: list[Any], texts: list[str], role: str) -> np.ndarray:
    """Map codes into ``seen`` to indices into the known classes, naming any stranger."""
    by_value: dict[Any, int] = {}
    by_text: dict[str, int] = {}
    for j, (v, t) in enumerate(zip(values, texts, strict=True)):
        by_value.setdefault(v, j)
        by_text.setdefault(t, j)
    mapped = []
    for v in coded.seen:
        j = by_value.get(v)
        if j is None:
            # "1" in a YAML file and 1 in a CSV column are the same class.
            j = by_text.get(str(v))
        if j is None:
            raise DataError(f'{role} label "{v}" is not among the known classes: {_listing(texts)}')
        mapped.append(j)
    small = np.int8 if len(values) <= 127 else np.int32 if len(values) < 2**31 else np.intp
    if coded.slots is None:
        lookup = np.asarray(mapped, dtype=small)
    else:
        lookup = np.zeros(coded.n_slots, dtype=small)
        lookup[coded.slots] = mapped
    # Small codes: the per-class masks read 1 byte per sample instead of 8.
    return lookup[coded.codes]


def _listing(texts: list[str], limit: int = 20) -> str:
    shown = ", ".join(texts[:limit])
    return shown + (f", … ({len(texts)} in all)" if len(texts) > limit else "")


def _check_scores(scores: Any, n: int, k: int, texts: list[str]) -> tuple[np.ndarray | None, bool]:
    """The scores as a numeric (n, k) array, and whether they are all >= 0."""
    if scores is None:
        return None, False
    arr = np.asarray(scores)
    if arr.shape != (n, k):
        raise DataError(
            f"scores must have shape ({n}, {k}): one row per sample and one column per "
            f"class ({_listing(texts)}), got {arr.shape}"
        )
    if arr.dtype.kind == "b":
        arr = arr.view(np.uint8)
    elif arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError("scores are not numeric") from None
    elif arr.dtype.kind not in "iuf":
        raise DataError(f"scores are not numeric (dtype {arr.dtype})")
    low, high = arr.min(), arr.max()
    # min and max are NaN if any score is, and infinite if any score is: two fast
    # reductions instead of an isfinite array.
    if arr.dtype.kind == "f" and not (math.isfinite(low) and math.isfinite(high)):
        row, col = (int(i[0]) for i in np.nonzero(~np.isfinite(arr)))
        raise DataError(
            f'scores are not finite at row {row}, column {col} (class "{texts[col]}"):'
            f" {arr[row, col]}"
        )
    return arr, bool(low >= 0)
