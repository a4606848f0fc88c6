"""Scoring on one inference thread (:class:`Batcher`), requests that queue up
merged into one model call.

A scikit-learn pipeline costs about the same for 1 row as for 500 (its
per-call overhead dominates), so requests that arrive while the model is busy
are scored together; a lone request is scored at once, so batching adds no
wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import queue
import threading
from typing import TYPE_CHECKING, Any

from mlprod_cli.core.serve._model import LoadedModel
from mlprod_cli.core.serve._options import DEFAULT_MAX_BATCH_ROWS

if TYPE_CHECKING:
    from mlprod_cli.core.serve._metrics import Metrics


class _Job:
    __slots__ = ("columns", "future", "loop", "model", "rows", "rule_columns")

    def __init__(
        self,
        model: LoadedModel,
        columns: dict[str, list[Any]],
        rows: int,
        future,
        loop,
        rule_columns: dict[str, list[Any]] | None = None,
    ):
        self.model = model
        self.columns = columns
        self.rule_columns = rule_columns
        self.rows = rows
        self.future = future
        self.loop = loop


_STOP = object()


def _settle(outcomes: list[tuple[Any, Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        if future.done():  # the client went away and the request was cancelled
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class Batcher:
    """Scores requests on one inference thread, merging those that queue up.

    The thread takes the oldest waiting request and every other one already
    waiting for the same model, up to ``max_rows`` rows, and scores them in one
    ``predict_batch`` call. Nothing ever waits for a batch to fill: a lone
    request is scored at once. Rows are scored independently by a fitted
    scikit-learn estimator, so merging changes no prediction; if a merged call
    raises, each request is scored alone so that only the faulty one fails.
    Every call and its rows are counted in ``metrics``.
    """

    def __init__(self, max_rows: int = DEFAULT_MAX_BATCH_ROWS, *, metrics: Metrics):
        self.max_rows = max(1, max_rows)
        self.metrics = metrics
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="mlprod-inference", daemon=True
                    )
                    self._thread.start()

    async def predict(
        self,
        model: LoadedModel,
        columns: dict[str, list[Any]],
        rows: int,
        rule_columns: dict[str, list[Any]] | None = None,
    ):
        """``(classes, scores, fired)`` as Python lists.

        ``scores`` is None without predict_proba. With the model's rules
        (``rule_columns``: the fields they read), the classes and scores are the
        rules' answers (a class is None where they abstain) and ``fired`` holds
        each row's fired rule ids; without rules ``fired`` is None.
        """
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put(_Job(model, columns, rows, future, loop, rule_columns))
        return await future

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(_STOP)
            self._thread.join(timeout=10)

    def _run(self) -> None:
        held = None
        while True:
            job = held if held is not None else self._jobs.get()
            held = None
            if job is _STOP:
                return
            batch, rows = [job], job.rows
            while rows < self.max_rows:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP or more.model is not job.model or rows + more.rows > self.max_rows:
                    held = more
                    break
                batch.append(more)
                rows += more.rows
            self._score(batch, rows)

    def _score(self, batch: list[_Job], rows: int) -> None:
        outcomes: list[tuple[Any, Any, BaseException | None]] = []
        try:
            results = self._predict(batch, rows)
        except Exception as exc:
            if len(batch) == 1:
                outcomes.append((batch[0].future, None, exc))
            else:
                for job in batch:
                    try:
                        outcomes.append((job.future, self._predict([job], job.rows)[0], None))
                    except Exception as single:
                        outcomes.append((job.future, None, single))
        else:
            outcomes = [
                (job.future, result, None) for job, result in zip(batch, results, strict=True)
            ]
        by_loop: dict[Any, list] = {}
        for job, outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(job.loop, []).append(outcome)
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                loop.call_soon_threadsafe(_settle, items)

    def _predict(self, batch: list[_Job], rows: int) -> list[tuple[list[Any], Any, Any]]:
        from mlprod_cli.core.predict import predict_batch

        model = batch[0].model
        columns = _merged([job.columns for job in batch])
        classes, scores = predict_batch(model.estimator, model.frame(columns), model.labels)
        self.metrics.scored(rows)
        fired = None
        if model.regression:  # numbers; a NaN or infinity (a broken model) is null: JSON has none
            classes = [v if math.isfinite(v) else None for v in classes.tolist()]
        elif model.rules is not None:
            from mlprod_cli.core.rules import apply_rules

            rule_columns = _merged([job.rule_columns or {} for job in batch])
            outcome = apply_rules(model.rules, rule_columns, classes, scores)
            self.metrics.rules_applied(outcome)
            classes, scores, fired = outcome.prediction, outcome.scores, outcome.fired
        else:
            classes = classes.tolist()
        scores = _clean_scores(scores.tolist()) if scores is not None else None
        out, start = [], 0
        for job in batch:
            end = start + job.rows
            out.append(
                (
                    classes[start:end],
                    scores[start:end] if scores is not None else None,
                    fired[start:end] if fired is not None else None,
                )
            )
            start = end
        return out


def _merged(parts: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """The columns of several requests, one after the other (the first's own for one)."""
    if len(parts) == 1:
        return parts[0]
    columns: dict[str, list[Any]] = {name: [] for name in parts[0]}
    for part in parts:
        for name, values in part.items():
            columns[name].extend(values)
    return columns


def _clean_scores(rows: list[list[float]]) -> list[list[float | None]]:
    """NaN or infinite scores (a broken model) become null: JSON has no NaN."""
    for row in rows:
        for j, value in enumerate(row):
            if not math.isfinite(value):
                row[j] = None
    return rows
