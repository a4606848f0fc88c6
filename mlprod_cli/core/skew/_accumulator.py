"""The current side: serving data counted batch by batch in memory that does not grow with rows.

A :class:`CurrentAccumulator` is built for one :class:`ReferenceSummary` and fed
pandas batches; :meth:`~CurrentAccumulator.result` is the :class:`CurrentSummary`
that :func:`~mlprod_cli.core.skew.compare` reads. What is exact and what is sampled:

* PSI bin counts, category counts, null counts, out-of-range counts, unparseable values,
  prediction mismatches and score differences accumulate exactly, whatever the size.
* A regression's served values (the reference's predictions are numeric) are counted as
  a numeric feature's are, and compared with the offline ones within a tolerance
  (:mod:`~mlprod_cli.core.skew._differences`).
* KS and Wasserstein need the values themselves. Each numeric feature keeps every value
  up to ``sample_size`` (default 200,000), so the statistics are exact up to that size;
  beyond it they are computed from a uniform sample of ``sample_size`` values (the
  reservoir: Algorithm R, vectorised per batch).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlprod_cli.core.dataset import parse_datetimes
from mlprod_cli.core.skew._differences import ValueDifferences, scale_of
from mlprod_cli.core.skew._messages import listing
from mlprod_cli.core.skew._reference import (
    MAX_CATEGORIES,
    SAMPLE_SIZE,
    ReferenceFeature,
    ReferenceSummary,
    check_sample_size,
)
from mlprod_cli.core.skew._values import (
    MAX_EXAMPLES,
    category_text,
    column_lookup,
    parse_numbers,
    text_counts,
)
from mlprod_cli.core.words import plural
from mlprod_cli.errors import DataError


class _Reservoir:
    """A uniform sample of at most ``capacity`` values of a stream (Algorithm R).

    The first ``capacity`` values are kept as they come; value number ``i`` (0-based)
    after that replaces slot ``j ~ U{0..i}`` when ``j < capacity``. A batch draws all its
    ``j`` at once and applies the replacements in stream order (the last write to a slot
    wins), which is exactly the sequential algorithm.
    """

    __slots__ = ("capacity", "rng", "seen", "size", "values")

    def __init__(self, capacity: int, rng: np.random.Generator):
        self.capacity = capacity
        self.rng = rng
        self.seen = 0
        self.size = 0
        self.values = np.empty(0)

    def add(self, x: np.ndarray) -> None:
        if x.size == 0:
            return
        fill = min(self.capacity - self.size, x.size)
        if fill > 0:
            if self.size + fill > self.values.size:  # grow by doubling, up to capacity
                grown = np.empty(min(self.capacity, max(self.size + fill, 2 * self.values.size)))
                grown[: self.size] = self.values[: self.size]
                self.values = grown
            self.values[self.size : self.size + fill] = x[:fill]
            self.size += fill
        rest = x[fill:]
        if rest.size:
            first = self.seen + fill
            slots = self.rng.integers(0, np.arange(first + 1, first + rest.size + 1))
            hit = np.flatnonzero(slots < self.capacity)
            if hit.size:
                # The last write to a slot wins: the largest stream position per slot.
                # (ufunc.at is unbuffered, unlike fancy assignment with repeated indices.)
                winner = np.full(self.capacity, -1, dtype=np.int64)
                np.maximum.at(winner, slots[hit], hit)
                written = np.flatnonzero(winner >= 0)
                self.values[written] = rest[winner[written]]
        self.seen += x.size

    def sorted(self) -> np.ndarray:
        return np.sort(self.values[: self.size])


@dataclass
class NumericState:
    """What one numeric feature's serving values came to: bins, range, moments, sample."""

    rng: np.random.Generator
    capacity: int
    bins: np.ndarray
    present_rows: int = 0
    nulls: int = 0
    invalid: int = 0
    examples: list[str] = field(default_factory=list)
    dtypes: set[str] = field(default_factory=set)
    text: bool = False
    below: int = 0
    above: int = 0
    finite: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    reservoir: _Reservoir | None = None

    def __post_init__(self) -> None:
        self.reservoir = _Reservoir(self.capacity, self.rng)


@dataclass
class CategoricalState:
    """What one categorical feature's serving values came to: counts, unseen ones."""

    counts: np.ndarray  # per reference category (+ "other" when the reference is pooled)
    present_rows: int = 0
    nulls: int = 0
    unseen: dict[str, int] = field(default_factory=dict)
    unseen_pooled: int = 0  # unseen values beyond MAX_CATEGORIES distinct ones


@dataclass
class DatetimeState:
    """What one date feature's serving values came to: nulls and what did not parse."""

    present_rows: int = 0
    nulls: int = 0
    invalid: int = 0
    examples: list[str] = field(default_factory=list)
    dtypes: set[str] = field(default_factory=set)


@dataclass
class PredictionState:
    """The served classes (drift) and, where re-scored, mismatches and score gaps.

    For a regression, ``numeric`` counts the served values as a numeric feature and
    ``values`` compares them with the offline ones (``categorical`` stays empty).
    """

    categorical: CategoricalState
    given: bool = False
    compared: int = 0
    mismatches: int = 0
    score_rows: int = 0
    score_diff_sum: float = 0.0
    score_diff_max: float = 0.0
    numeric: NumericState | None = None
    values: ValueDifferences | None = None


class CurrentAccumulator:
    """The serving side, fed batch by batch in memory that does not grow with the rows.

    ``ignore_columns``: columns of the serving data that are not features and should not
    be reported as unexpected (a request id, a timestamp, the logged prediction).
    """

    def __init__(
        self,
        reference: ReferenceSummary,
        *,
        sample_size: int = SAMPLE_SIZE,
        seed: int = 0,
        ignore_columns: Iterable[str] = (),
    ):
        check_sample_size(sample_size)
        self.reference = reference
        self.sample_size = sample_size
        self.rows = 0
        self.ignore = {str(c) for c in ignore_columns}
        self.extra: dict[str, int] = {}  # unexpected column -> rows it came with
        self.states: dict[str, Any] = {}
        for index, f in enumerate(reference.features):
            if f.kind == "numeric":
                rng = np.random.default_rng([seed, 1, index])
                self.states[f.name] = NumericState(
                    rng, sample_size, np.zeros(f.edges.size + 1, dtype=np.int64)
                )
            elif f.kind == "categorical":
                self.states[f.name] = CategoricalState(np.zeros(f.counts.size, dtype=np.int64))
            else:
                self.states[f.name] = DatetimeState()
        predicted = reference.predictions
        self.numeric_predictions = predicted is not None and predicted.kind == "numeric"
        if self.numeric_predictions:
            self.predictions = PredictionState(
                CategoricalState(np.zeros(0, np.int64)),
                numeric=NumericState(
                    np.random.default_rng([seed, 3]),
                    sample_size,
                    np.zeros(predicted.edges.size + 1, dtype=np.int64),
                ),
                values=ValueDifferences(scale_of(predicted.std)),
            )
        else:
            pred_counts = 0 if predicted is None else predicted.counts.size
            self.predictions = PredictionState(CategoricalState(np.zeros(pred_counts, np.int64)))
        self._prediction_index = (
            None
            if reference.predictions is None or self.numeric_predictions
            else pd.Index(reference.predictions.categories)
        )
        self._category_index = {
            f.name: pd.Index(f.categories) for f in reference.features if f.kind == "categorical"
        }

    def add(
        self,
        frame: Any,
        *,
        predictions: Any = None,
        offline_predictions: Any = None,
        scores: Any = None,
        offline_scores: Any = None,
    ) -> None:
        """Count one batch (a pandas DataFrame) of serving rows.

        ``predictions``: the classes served for these rows (prediction drift against the
        training predictions). ``offline_predictions`` / ``scores`` / ``offline_scores``:
        the served outputs next to the same model re-run offline on the logged features
        (prediction mismatch and score difference), one row per row of ``frame``. When the
        reference's predictions are a regression's values, ``predictions`` and
        ``offline_predictions`` are numbers (``None``/NaN where nothing finite was served).
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"a batch must be a pandas DataFrame, not {type(frame).__name__}")
        n = len(frame)
        if n == 0:
            return
        columns = column_lookup(frame)
        names = [f.name for f in self.reference.features]
        if not any(name in columns for name in names):
            raise DataError(f"the serving data has none of the training features: {listing(names)}")
        duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        if duplicated:
            raise DataError(f"the serving data has the column '{duplicated[0]}' more than once")
        if self.numeric_predictions:
            self._add_values(*_check_values(n, predictions, offline_predictions))
        else:
            checked = self._check_predictions(
                n, predictions, offline_predictions, scores, offline_scores
            )
            self._add_predictions(n, *checked)
        for f in self.reference.features:
            state = self.states[f.name]
            if f.name not in columns:
                continue  # rows without the column count as nulls (_null_rate in _compare.py)
            column = frame[columns[f.name]]
            state.present_rows += n
            if f.kind == "numeric":
                self._add_numeric(f, state, column)
            elif f.kind == "categorical":
                self._add_categorical(self._category_index[f.name], f, state, column)
            else:
                self._add_datetime(state, column)
        for text in columns:
            if text not in self.reference.by_name and text not in self.ignore:
                self.extra[text] = self.extra.get(text, 0) + n
        self.rows += n

    def _add_numeric(self, f: ReferenceFeature, state: NumericState, column: Any) -> None:
        parsed = parse_numbers(column)
        values = parsed.values
        if parsed.text:
            state.text = True
            state.dtypes.add(_dtype_text(column))
            state.invalid += parsed.invalid
            _add_examples(state.examples, parsed.examples)
        missing = np.isnan(values)
        state.nulls += int(missing.sum()) - parsed.invalid
        present = values[~missing] if missing.any() else values
        state.bins += np.bincount(
            np.searchsorted(f.edges, present, side="left"), minlength=state.bins.size
        )
        if f.low is not None:
            state.below += int(np.count_nonzero(present < f.low))
            state.above += int(np.count_nonzero(present > f.high))
        finite = present if np.isfinite(present).all() else present[np.isfinite(present)]
        if finite.size:
            # Chan et al.'s pairwise update: a running mean and variance, batch by batch.
            # Values near the float limit (1e300) make them infinite: so be it, quietly
            # (numpy's RuntimeWarning would land in the middle of the report's stderr).
            with np.errstate(over="ignore", invalid="ignore"):
                mean, m2 = float(finite.mean()), float(np.square(finite - finite.mean()).sum())
                total = state.finite + finite.size
                delta = mean - state.mean
                state.mean += delta * finite.size / total
                state.m2 += m2 + delta * delta * state.finite * finite.size / total
            state.finite = total
            state.low = min(state.low, float(finite.min()))
            state.high = max(state.high, float(finite.max()))
            state.reservoir.add(finite)

    @staticmethod
    def _add_categorical(
        index: pd.Index, f: ReferenceFeature, state: CategoricalState, column: Any
    ) -> None:
        counts = text_counts(column)
        state.nulls += len(column) - sum(counts.values())
        _count_categories(index, f, state, counts)

    @staticmethod
    def _add_datetime(state: DatetimeState, column: Any) -> None:
        present = column.notna().to_numpy()
        state.nulls += int((~present).sum())
        if pd.api.types.is_datetime64_any_dtype(column):
            return
        state.dtypes.add(_dtype_text(column))
        # Read as predict and serve read dates: offsets that differ are UTC, not an error.
        bad = present & parse_datetimes(column).isna().to_numpy()
        if bad.any():
            state.invalid += int(bad.sum())
            _add_examples(
                state.examples, [str(v) for v in column[bad].drop_duplicates().head(MAX_EXAMPLES)]
            )

    @staticmethod
    def _check_predictions(
        n: int, predictions: Any, offline: Any, scores: Any, offline_scores: Any
    ) -> tuple[Any, Any, Any]:
        """The prediction inputs of one batch, checked before anything is counted."""
        labels = redone = diff = None
        if predictions is not None:
            labels = pd.Series(np.asarray(predictions, dtype=object))
            _check_length("predictions", labels, n)
            if offline is not None:
                redone = pd.Series(np.asarray(offline, dtype=object))
                _check_length("offline_predictions", redone, n)
        elif offline is not None:
            raise DataError("offline_predictions need the served predictions too")
        if (scores is None) != (offline_scores is None):
            raise DataError("score differences need both scores and offline_scores")
        if scores is not None:
            served_scores = _score_array("scores", scores, n)
            redone_scores = _score_array("offline_scores", offline_scores, n)
            if served_scores.shape != redone_scores.shape:
                raise DataError(
                    f"scores have shape {served_scores.shape} but offline_scores {redone_scores.shape}"
                )
            diff = np.abs(served_scores - redone_scores)
            diff = diff.max(axis=1) if diff.ndim == 2 else diff
        return labels, redone, diff

    def _add_predictions(self, n: int, labels: Any, redone: Any, diff: Any) -> None:
        state = self.predictions
        if labels is not None:
            state.given = True
            counts = text_counts(labels)
            state.categorical.present_rows += n
            state.categorical.nulls += n - sum(counts.values())
            if self.reference.predictions is not None:
                _count_categories(
                    self._prediction_index, self.reference.predictions, state.categorical, counts
                )
        if redone is not None:
            served = labels.map(category_text, na_action="ignore").to_numpy(dtype=object)
            again = redone.map(category_text, na_action="ignore").to_numpy(dtype=object)
            state.compared += n
            state.mismatches += int(np.count_nonzero(served != again))
        if diff is not None:
            state.score_rows += n
            state.score_diff_sum += float(diff.sum())
            state.score_diff_max = max(state.score_diff_max, float(diff.max()))

    def _add_values(self, served: Any, offline: Any) -> None:
        """A regression's served values: counted as a numeric feature, compared with offline."""
        state = self.predictions
        if served is None:
            return
        state.given = True
        state.numeric.present_rows += served.size
        self._add_numeric(self.reference.predictions, state.numeric, pd.Series(served))
        if offline is not None:
            state.values.add(served, offline)

    def result(self) -> CurrentSummary:
        """What has been counted so far, for :func:`compare` (a view: no copies)."""
        return CurrentSummary(
            rows=self.rows,
            states=self.states,
            extra=dict(self.extra),
            predictions=self.predictions,
            sample_size=self.sample_size,
        )


@dataclass(frozen=True)
class CurrentSummary:
    """What :meth:`CurrentAccumulator.result` returns: the counts per feature, and the
    values kept for KS and Wasserstein through :meth:`sample`."""

    rows: int
    states: dict[str, Any]
    extra: dict[str, int]
    predictions: PredictionState
    sample_size: int

    def sample(self, name: str) -> np.ndarray:
        """The values of numeric feature ``name`` kept so far, sorted (a new array).

        Sorted one feature at a time, so that :func:`compare` holds one copy at most.
        """
        return self.states[name].reservoir.sorted()


def _count_categories(
    index: pd.Index, f: ReferenceFeature, state: CategoricalState, counts: dict[str, int]
) -> None:
    if not counts:
        return
    labels = list(counts)
    tallies = np.fromiter(counts.values(), dtype=np.int64, count=len(labels))
    where = index.get_indexer(labels)
    known = where >= 0
    state.counts[where[known]] += tallies[known]  # labels are distinct: no repeated index
    if known.all():
        return
    if f.pooled:
        state.counts[-1] += int(tallies[~known].sum())
        return
    for i in np.flatnonzero(~known):
        label = labels[i]
        if label in state.unseen or len(state.unseen) < MAX_CATEGORIES:
            state.unseen[label] = state.unseen.get(label, 0) + int(tallies[i])
        else:
            state.unseen_pooled += int(tallies[i])


def _add_examples(examples: list[str], new: list[str]) -> None:
    for value in new:
        if len(examples) >= MAX_EXAMPLES:
            return
        if value not in examples:
            examples.append(value)


def _check_length(what: str, values: Any, n: int) -> None:
    if len(values) != n:
        raise DataError(f"{len(values)} {what} for a batch of {plural(n, 'row')}")


def _check_values(n: int, served: Any, offline: Any) -> tuple[Any, Any]:
    """A regression's served and offline values of one batch as float64 (NaN for none),
    checked before anything is counted."""
    if served is None:
        if offline is not None:
            raise DataError("offline_predictions need the served predictions too")
        return None, None
    out = []
    for what, values in (("predictions", served), ("offline_predictions", offline)):
        if values is None:
            out.append(None)
            continue
        array = np.asarray(values)
        _check_length(what, array, n)
        if array.dtype.kind in "fiu":  # numbers already (what the run hands over)
            out.append(array.astype(np.float64, copy=False))
            continue
        parsed = parse_numbers(pd.Series(array.astype(object)))
        if parsed.invalid:
            raise DataError(
                f"the {what} of a regression must be numbers, got {plural(parsed.invalid, 'value that is not one', 'values that are not')}, e.g. {parsed.examples[0]!r}"
            )
        out.append(parsed.values)
    return out[0], out[1]


def _score_array(what: str, scores: Any, n: int) -> np.ndarray:
    try:
        array = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be numbers") from None
    if array.ndim not in (1, 2) or array.shape[0] != n:
        raise DataError(
            f"{what} must have one row per row of the batch ({n}), got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise DataError(f"{what} hold NaN or infinite values")
    return array


def _dtype_text(column: Any) -> str:
    if pd.api.types.is_string_dtype(column) or column.dtype == object:
        return f"text ({column.dtype})"
    return str(column.dtype)
