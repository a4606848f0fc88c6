"""A metric over time: which series to read from the store, and its trend.

:func:`load_history` turns what a user typed (``--metric recall --class
melanoma``, or ``recall@melanoma``, or nothing: the project's objective) into
one series of the store, checks that the name means something, and returns a
:class:`History`: one :class:`Point` per run, oldest first, each with its change
from the run before, plus a :class:`Trend` (first → last, min, max) and a
terminal :func:`sparkline`. Nothing here prints; rendering is the command's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mlprod_cli.adapters.store import HistoryPoint, MetricKey, Store
from mlprod_cli.errors import UsageError

__all__ = ["History", "Point", "Trend", "load_history", "sparkline"]

DEFAULT_METRIC = "f1_score"
DEFAULT_CLASS = "macro"
BLOCKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Point:
    run_id: str
    created_at: datetime
    model_version: str | None
    value: float | None
    change: float | None  # from the run before; None when either value is undefined
    kind: str | None = None  # the run's kind: model, baseline, predictions
    source: str | None = None  # the data or predictions file the run read

    @property
    def model(self) -> str | None:
        """The version, or for a predictions file (no version) the file."""
        return self.model_version or (self.source if self.kind == "predictions" else None)


@dataclass(frozen=True)
class Extreme:
    value: float
    run_id: str
    model_version: str | None


@dataclass(frozen=True)
class Trend:
    """The defined values of a series, summed up."""

    first: float
    last: float
    change: float | None  # None when it is no number (an infinite value at either end)
    min: Extreme
    max: Extreme
    runs: int  # runs in the series
    undefined: int  # runs whose value is undefined (None)


@dataclass(frozen=True)
class History:
    project: str
    metric: str
    cls: str | None
    slice: str | None
    store: str  # the store's URL, password redacted
    points: tuple[Point, ...]
    note: str | None = None  # why there are no points, when there are none
    kind: str | None = None  # --kind: only runs of this kind
    model: str | None = None  # --model: only runs of this version or predictions file

    @property
    def label(self) -> str:
        """``recall@melanoma``, ``f1_score@macro``, ``accuracy``; ``[sex=female]`` for a slice."""
        text = self.metric if self.cls is None else f"{self.metric}@{self.cls}"
        return text if self.slice is None else f"{text} [{self.slice}]"

    @property
    def trend(self) -> Trend | None:
        defined = [p for p in self.points if p.value is not None]
        if not defined:
            return None
        low = min(defined, key=lambda p: p.value)
        high = max(defined, key=lambda p: p.value)
        return Trend(
            first=defined[0].value,
            last=defined[-1].value,
            change=_diff(defined[-1].value, defined[0].value),
            min=Extreme(low.value, low.run_id, low.model_version),
            max=Extreme(high.value, high.run_id, high.model_version),
            runs=len(self.points),
            undefined=len(self.points) - len(defined),
        )


def _diff(a: float, b: float) -> float | None:
    """``a - b`` as metrics have it, or None when it is no number (±inf on either side, or
    1e308 - -1e308, which overflows): a custom metric may return anything finite or not."""
    change = a - b
    if not math.isfinite(change):
        return None
    # 0.81 - 0.80 is 0.010000000000000009 in binary; metrics carry no such digits.
    return round(change, 12)


def series(points: Sequence[HistoryPoint]) -> tuple[Point, ...]:
    """Store points → Points with the change from the run before."""
    out: list[Point] = []
    previous: float | None = None
    for i, p in enumerate(points):
        change = None if i == 0 or previous is None or p.value is None else _diff(p.value, previous)
        out.append(
            Point(p.run_id, p.created_at, p.model_version, p.value, change, p.model_kind, p.source)
        )
        previous = p.value
    return tuple(out)


def sparkline(values: Sequence[float | None], *, width: int = 60) -> str:
    """``▁▂▃▅▇``: one block per value (a space when undefined), at most ``width`` wide.

    Longer series are averaged into ``width`` buckets. A flat series is a flat
    line at mid height, not a row of minimums. +inf is drawn as the top block and
    -inf as the bottom one; the scale is that of the finite values, computed in
    halves so that ±1e308 cannot overflow it.
    """
    values = list(values)
    if len(values) > width:
        buckets: list[float | None] = []
        for b in range(width):
            chunk = values[b * len(values) // width : (b + 1) * len(values) // width]
            defined = [v for v in chunk if v is not None]
            mean = sum(v / len(defined) for v in defined) if defined else None
            buckets.append(None if mean is None or math.isnan(mean) else mean)
        values = buckets
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not any(v is not None for v in values):
        return " " * len(values)
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    span = high / 2 - low / 2
    top = len(BLOCKS) - 1

    def block(v: float | None) -> str:
        if v is None:
            return " "
        if math.isinf(v):
            return BLOCKS[top] if v > 0 else BLOCKS[0]
        if span == 0:
            return BLOCKS[top // 2]
        return BLOCKS[min(top, int((v / 2 - low / 2) / span * top + 0.5))]

    return "".join(block(v) for v in values)


def _runs_of(kind: str | None, model: str | None) -> str:
    """``predictions`` / ``model v0002`` / ``model`` for the note of an empty filtered history."""
    return " ".join(part for part in (kind, model) if part) or "stored"


def _describe(keys: Sequence[MetricKey], metric: str) -> str:
    classes = sorted({k.cls for k in keys if k.metric == metric and k.cls is not None})
    slices = sorted({k.slice for k in keys if k.metric == metric and k.slice is not None})
    parts = []
    if any(k.metric == metric and k.cls is None for k in keys):
        parts.append("the overall value")
    if classes:
        parts.append("classes " + ", ".join(classes))
    if slices:
        parts.append("slices " + ", ".join(slices))
    return "; ".join(parts)


def load_history(
    store: Store,
    project: str,
    *,
    metric: str | None,
    cls: str | None = None,
    slice: str | None = None,
    last: int | None = None,
    objective: tuple[str, str | None] | None = None,
    known_metrics: Sequence[str] = (),
    kind: str | None = None,
    model: str | None = None,
) -> History:
    """Read one series of ``project`` from ``store``, oldest run first.

    ``metric`` may be ``name`` or ``name@class``; without it the ``objective``
    (metric, class) is used, else f1_score macro. Without a class the macro
    average is read, or the overall value for a metric that has no average
    (accuracy, custom metrics). Raises UsageError (exit 2) for a metric that is
    neither known nor stored, and for a class or slice the project never stored
    for that metric, naming what there is instead. A project without runs, or a
    known metric no run has stored yet, gives an empty history with a ``note``.

    ``kind`` (model, baseline, predictions) and ``model`` (a version, or a
    predictions file as stored) keep only those runs; a ``model`` no run has is a
    UsageError naming ``--model`` and what there is.
    """
    if metric is None:
        metric, default_cls = objective if objective is not None else (DEFAULT_METRIC, None)
        cls = cls if cls is not None else default_cls
    elif "@" in metric:
        metric, _, at_cls = metric.partition("@")
        if cls is not None and at_cls != cls:
            raise UsageError(f"--metric {metric}@{at_cls} and --class {cls} disagree; give one")
        cls = at_cls or None
    if not metric:
        raise UsageError("--metric must name a metric")

    keys = store.metric_keys(project)
    stored_names = {k.metric for k in keys}
    if model is not None:
        known = store.run_models(project)
        if model not in {name for _, name in known}:
            listing = ", ".join(name for _, name in known) or "none yet"
            raise UsageError(
                f"--model {model}: no stored run of project '{project}' is of it (stored: {listing})"
            )
    if metric not in known_metrics and metric not in stored_names:
        names = ", ".join(sorted(set(known_metrics) | stored_names))
        raise UsageError(f"unknown metric '{metric}' (known: {names})")

    def empty(resolved_cls: str | None, note: str) -> History:
        return History(project, metric, resolved_cls, slice, store.url, (), note, kind, model)

    if not keys:
        return empty(
            cls if cls is not None else DEFAULT_CLASS,
            f"no runs stored yet for project '{project}' in {store.url}; "
            "'mlprod evaluate' stores one",
        )
    if metric not in stored_names:
        return empty(
            cls if cls is not None else DEFAULT_CLASS,
            f"no run of project '{project}' has stored {metric} yet",
        )
    wanted = [cls] if cls is not None else [DEFAULT_CLASS, None]
    for candidate in wanted:
        if MetricKey(metric, candidate, slice) in keys:
            points = store.history(
                project, metric, cls=candidate, slice=slice, last=last, kind=kind, model=model
            )
            note = None
            if not points:
                label = metric if candidate is None else f"{metric}@{candidate}"
                note = f"no {_runs_of(kind, model)} run of project '{project}' has stored {label}"
            return History(
                project, metric, candidate, slice, store.url, series(points), note, kind, model
            )
    label = metric if cls is None else f"{metric}@{cls}"
    where = "" if slice is None else f" on slice {slice}"
    raise UsageError(
        f"no stored values of {label}{where} for project '{project}'; "
        f"stored for {metric}: {_describe(keys, metric)}"
    )
