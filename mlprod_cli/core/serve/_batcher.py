"""Scoring on one inference thread (:class:`Batcher`), concurrent requests
merged into one model call.

A scikit-learn pipeline costs about the same for 1 row as for 500 (its
per-call overhead dominates), so requests that arrive together are scored
together. Requests that queued up while the model was busy are merged without
waiting; and when more requests were in the server at once than the queue
holds, the thread waits a bounded time (``--batch-wait-ms``, 1 ms) for them
to join. A lone client never waits: it is the only request in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

from mlprod_cli.core.serve._model import LoadedModel
from mlprod_cli.core.serve._options import DEFAULT_BATCH_WAIT_SECONDS, DEFAULT_MAX_BATCH_ROWS

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
    """Scores requests on one inference thread, merging concurrent ones.

    The thread takes the oldest waiting request and every other one already
    waiting for the same model, up to ``max_rows`` rows. If fewer requests
    are in that batch than were in flight at once since the previous call
    (:meth:`arrived` to :meth:`left`: the requests being read, checked,
    scored or answered), the others are on their way: the thread waits for
    them up to ``wait`` seconds, and scores as soon as they have all joined.
    A lone client is never made to wait, nor is a request once the batch is
    full. Rows are scored independently by a fitted scikit-learn estimator,
    so merging changes no prediction; if a merged call raises, each request is
    scored alone so that only the faulty one fails. Every call and its rows
    are counted in ``metrics``.
    """

    def __init__(
        self,
        max_rows: int = DEFAULT_MAX_BATCH_ROWS,
        *,
        metrics: Metrics,
        wait: float = DEFAULT_BATCH_WAIT_SECONDS,
    ):
        self.max_rows = max(1, max_rows)
        self.wait = max(0.0, wait)
        self.metrics = metrics
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Requests in the server now, and the most at once since the last call.
        # Written on the event loop, read by the inference thread: a stale read
        # costs at most one wait, or one batch that could have been larger.
        self.in_flight = 0
        self._peak = 0

    def arrived(self) -> None:
        """A prediction request came in (the event loop calls it; :meth:`left` at its end)."""
        self.in_flight += 1
        if self.in_flight > self._peak:
            self._peak = self.in_flight

    def left(self) -> None:
        """A prediction request was answered or refused."""
        self.in_flight -= 1

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
            expected = self._peak  # requests in flight at once since the last call
            self._peak = self.in_flight
            batch, rows = [job], job.rows
            deadline = None
            while rows < self.max_rows:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    if len(batch) >= expected or self.wait <= 0:
                        break
                    if deadline is None:
                        deadline = time.monotonic() + self.wait
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:  # blocking here lets the event loop run: the others can arrive
                        more = self._jobs.get(timeout=left)
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
