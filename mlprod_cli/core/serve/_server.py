"""``mlprod serve``: online predictions over HTTP, with a request log for skew.

The pieces, each owning one idea:

* :class:`LoadedModel` — a registry version loaded (hash-checked, trusted types
  only) with its training schema compiled into plain-Python row checks.
* :class:`ModelWatcher` — a thread that stats ``models/active.json`` once per
  ``reload_seconds`` and swaps in a newly activated version; a version that
  fails to load is logged and the old one keeps serving. ``SIGHUP`` asks for a
  check at once. ``--model VERSION`` pins the version (no switching).
* :class:`Batcher` — one inference thread. A scikit-learn pipeline costs about
  the same for 1 row as for 500 (its per-call overhead dominates), so requests
  that arrive while the model is busy are scored together in one call; a lone
  request is scored at once, so batching adds no wait.
* :class:`RequestLog` — every served row and its prediction as JSON Lines,
  written by a background thread from a bounded queue (a full queue drops and
  counts rather than block a request).
* :class:`Metrics` — counters and a latency histogram in the Prometheus text
  format, written here (no client library needed).
* :func:`openapi_document` — ``GET /openapi.json``, with ``/predict``'s body
  described from the served version's schema and the server's limits.
* :func:`create_app` — the FastAPI application; :func:`prepare` and
  :meth:`PreparedServer.run` — uvicorn around it.

This module is imported by the serve command only. FastAPI, uvicorn, numpy
and pandas are imported inside the functions that use them, so that the
names other commands may want from here (:func:`request_log_files`) cost
only the standard library. Unlike the rest of core, a server reports what happens
while it runs (reloads, failed loads, bugs) through :mod:`logging` on stderr;
the command decides nothing about it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import math
import os
import queue
import re
import signal
import socket
import threading
import time
import uuid
from bisect import bisect_left
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.core import request_log
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import MlprodError, UsageError

logger = logging.getLogger("mlprod.serve")

DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB
DEFAULT_MAX_BATCH_ROWS = 256
DEFAULT_MAX_REQUEST_ROWS = 10_000  # rows in one /predict body; more is a 422
DEFAULT_LOG_MAX_BYTES = 100_000_000  # then requests-DAY.N.jsonl
DEFAULT_LOG_QUEUE_ROWS = 100_000  # rows waiting for the writer; beyond: dropped, counted
DEFAULT_RELOAD_SECONDS = 1.0
MAX_ERRORS_SHOWN = 100  # per 422 answer
MAX_UNKNOWN_FIELD_NAMES = 50  # distinct names counted in /metrics; the rest as "_other"
MAX_FIELD_NAME_CHARS = 64  # a longer unknown field name is counted as "_other"
MAX_FIELD_DEPTH = 32  # nesting of a field the model does not use (it is logged; skew reads it)
MAX_DRAIN_BYTES = 16 << 20  # of a body over the limit, read and dropped before the 413
MAX_DRAIN_SECONDS = 5.0  # and for at most this long
MAX_NUMBER = 1e100  # |x| above it is refused: no measurement; a scaler would overflow to inf
SETTINGS_ENV = "MLPROD_SERVE_SETTINGS"  # how --workers N hands settings to each worker

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
ENDPOINTS = ("/predict", "/health", "/ready", "/metadata", "/metrics", "/openapi.json")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_NUMERIC, _CATEGORICAL, _DATETIME = 0, 1, 2
# A lone surrogate: JSON may escape one ("\ud800"), UTF-8 cannot hold it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``mlprod serve`` can be told; ``None`` means "from mlprod.yaml"."""

    host: str | None = None
    port: int | None = None
    workers: int = 1
    log_dir: Path | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    model: str | None = None  # a pinned version; None follows active.json
    max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS
    max_request_rows: int = DEFAULT_MAX_REQUEST_ROWS
    log_max_bytes: int = DEFAULT_LOG_MAX_BYTES
    log_queue_rows: int = DEFAULT_LOG_QUEUE_ROWS
    reload_seconds: float = DEFAULT_RELOAD_SECONDS


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class _Feature:
    name: str
    kind: int
    low: float | None = None
    high: float | None = None
    categories: frozenset[str] | None = None


@dataclass
class Checked:
    """Rows checked against the schema: feature columns, or the errors that refuse them."""

    columns: dict[str, list[Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    unseen: dict[str, int] = field(default_factory=dict)
    out_of_range: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int) and not -(10**40) < value < 10**40:
        return f"a number of {len(str(abs(value)))} digits"
    return repr(value)


def _finite(value: Any) -> float | None:
    """``value`` as a float within ±:data:`MAX_NUMBER`, or None (NaN, ±Infinity, too large)."""
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        return None
    return number if -MAX_NUMBER <= number <= MAX_NUMBER else None


def _nested_deeper(value: Any, limit: int) -> bool:
    """True when arrays and objects in ``value`` nest more than ``limit`` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


class LoadedModel:
    """A registry version ready to serve: the estimator and its compiled schema."""

    def __init__(self, version: Any, estimator: Any, *, pinned: bool = False):
        self.version = version
        self.id: str = version.id
        self.estimator = estimator
        self.metadata: dict[str, Any] = version.metadata
        self.labels = [
            str(c) for c in self.metadata.get("classes", getattr(estimator, "classes_", None)) or []
        ]
        schema = self.metadata.get("schema") or {}
        self.features: list[_Feature] = []
        for entry in schema.get("features") or []:
            kind = entry.get("kind")
            if kind == "numeric":
                low, high = entry.get("min"), entry.get("max")
                self.features.append(_Feature(entry["name"], _NUMERIC, low, high))
            elif kind == "datetime":
                self.features.append(_Feature(entry["name"], _DATETIME))
            else:
                listed = entry.get("categories")
                categories = frozenset(str(c) for c in listed) if listed is not None else None
                self.features.append(_Feature(entry["name"], _CATEGORICAL, categories=categories))
        if not self.features:
            raise MlprodError(
                f"{self.id}: its metadata has no training schema (schema.features); retrain it"
            )
        self.names = frozenset(f.name for f in self.features)
        self.loaded_at = _utc_now()
        self.pinned = pinned

    def info(self) -> dict[str, Any]:
        """What ``GET /metadata`` answers."""
        m = self.metadata
        return {
            "version": self.id,
            "kind": m.get("kind"),
            "project": m.get("project"),
            "estimator": m.get("estimator"),
            "created_at": m.get("created_at"),
            "target": m.get("target"),
            "positive_class": m.get("positive_class"),
            "classes": self.labels,
            "schema": m.get("schema"),
            "validation": m.get("validation"),
            "artifact_sha256": m.get("artifact_sha256"),
            "loaded_at": self.loaded_at,
            "pinned": self.pinned,
        }

    def check(self, rows: list[Any], *, single: bool) -> Checked:
        """Validate parsed JSON rows with plain Python (no DataFrame for a request).

        A missing feature, a wrong type (text, a boolean, an object or an array
        where a number belongs; NaN or ±Infinity) is an error located as
        ``["body", row, feature]`` (``["body", feature]`` for a single object).
        Null is a missing value, as an empty cell is in training. Text columns
        take numbers and booleans as their text, as ``predict`` does. Unseen
        categories, values outside the training range and fields the model does
        not know are counted, not refused; a field it does not know that nests
        arrays or objects more than :data:`MAX_FIELD_DEPTH` levels deep is an
        error (it would go to the request log as it is). Checking stops once
        :data:`MAX_ERRORS_SHOWN` errors are found: a refused body costs no more.
        """
        out = Checked()
        columns: dict[str, list[Any]] = {f.name: [] for f in self.features}
        out.columns = columns
        errors = out.errors
        names = self.names
        nan = math.nan
        for index, row in enumerate(rows):
            if len(errors) >= MAX_ERRORS_SHOWN:
                break
            where: list[Any] = ["body"] if single else ["body", index]
            if not isinstance(row, dict):
                errors.append(
                    {
                        "type": "dict_type",
                        "loc": where,
                        "msg": f"expected an object of features, got {_describe(row)}",
                    }
                )
                continue
            for feature in self.features:
                name = feature.name
                value = row.get(name, _MISSING)
                if value is _MISSING:
                    errors.append(
                        {
                            "type": "missing",
                            "loc": [*where, name],
                            "msg": f"field required: the model needs '{name}'",
                        }
                    )
                    continue
                kind = feature.kind
                if value is None:
                    columns[name].append(None if kind == _DATETIME else nan)
                    continue
                if kind == _NUMERIC:
                    number = None
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        number = _finite(value)
                        if number is None:
                            errors.append(
                                {
                                    "type": "finite_number",
                                    "loc": [*where, name],
                                    "msg": f"expected a finite number within ±{MAX_NUMBER:g}, got {_describe(value)}",
                                }
                            )
                            continue
                    else:
                        errors.append(
                            {
                                "type": "float_type",
                                "loc": [*where, name],
                                "msg": f"expected a number, got {_describe(value)}",
                            }
                        )
                        continue
                    low, high = feature.low, feature.high
                    if low is not None and high is not None and not (low <= number <= high):
                        out.out_of_range[name] = out.out_of_range.get(name, 0) + 1
                    columns[name].append(number)
                elif kind == _CATEGORICAL:
                    if isinstance(value, str):
                        text = value
                    elif isinstance(value, (int, float)):  # bool is an int
                        if isinstance(value, float) and not math.isfinite(value):
                            errors.append(
                                {
                                    "type": "string_type",
                                    "loc": [*where, name],
                                    "msg": f"expected a string, got {_describe(value)}",
                                }
                            )
                            continue
                        text = str(value)
                    else:
                        errors.append(
                            {
                                "type": "string_type",
                                "loc": [*where, name],
                                "msg": f"expected a string, got {_describe(value)}",
                            }
                        )
                        continue
                    categories = feature.categories
                    if categories is not None and text not in categories:
                        out.unseen[name] = out.unseen.get(name, 0) + 1
                    columns[name].append(text)
                else:
                    if not isinstance(value, str):
                        errors.append(
                            {
                                "type": "datetime_type",
                                "loc": [*where, name],
                                "msg": f"expected a date and time as text (ISO 8601), got {_describe(value)}",
                            }
                        )
                        continue
                    columns[name].append(value)
            # Every feature is in the row (or it was refused above): more keys are unknown.
            if len(row) > len(names):
                for key, value in row.items():
                    if key not in names:
                        out.unknown[key] = out.unknown.get(key, 0) + 1
                        if isinstance(value, (dict, list)) and _nested_deeper(
                            value, MAX_FIELD_DEPTH
                        ):
                            errors.append(
                                {
                                    "type": "nested_too_deeply",
                                    "loc": [*where, key],
                                    "msg": f"a field the model does not use may nest arrays and objects {MAX_FIELD_DEPTH} levels deep at most",
                                }
                            )
        return out

    def frame(self, columns: dict[str, list[Any]]) -> Any:
        """The checked columns as the DataFrame the estimator saw in training.

        Numbers are float64 and text is ``object`` holding ``str`` with NaN for
        missing, as ``dataset.conform`` gives; dates are parsed by pandas.
        """
        import numpy as np
        import pandas as pd

        data = {}
        for feature in self.features:
            values = columns[feature.name]
            if feature.kind == _NUMERIC:
                data[feature.name] = np.asarray(values, dtype=np.float64)
            elif feature.kind == _CATEGORICAL:
                data[feature.name] = pd.Series(values, dtype=object)
            else:
                data[feature.name] = pd.to_datetime(
                    pd.Series(values, dtype=object), errors="coerce"
                )
        return pd.DataFrame(data, copy=False)


_MISSING = object()


def load_model(registry: Any, version_id: str | None, *, pinned: bool = False) -> LoadedModel:
    """Resolve (``version_id`` or the active model), hash-check, load and compile a version."""
    version = registry.resolve(version_id)
    estimator = registry.load(version)
    return LoadedModel(version, estimator, pinned=pinned)


class ModelHolder:
    """The model being served. Swapping is one reference assignment, so it is atomic:
    a request takes ``current`` once and uses that model from start to end."""

    def __init__(self, model: LoadedModel | None = None):
        self.current = model


class ModelWatcher:
    """Follows ``active.json``: a thread stats it every ``interval`` seconds and, when
    it changed and names another version, loads that one and swaps it in.

    A load that fails (tampered artifact, untrusted type, a version removed) is
    logged and counted; the old model keeps serving and the same change is not
    retried until ``active.json`` changes again or :meth:`request` is called
    (``SIGHUP``). With a pinned version nothing is switched; a failed first
    load is retried on request only.
    """

    def __init__(
        self,
        registry: Any,
        holder: ModelHolder,
        metrics: Metrics,
        *,
        pinned: str | None = None,
        interval: float = DEFAULT_RELOAD_SECONDS,
    ):
        self.registry = registry
        self.holder = holder
        self.metrics = metrics
        self.pinned = pinned
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._forced = False
        self._seen: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mlprod-model-watcher", daemon=True)
        self._thread.start()

    def request(self) -> None:
        """Check now and retry a failed load (what SIGHUP does); safe from a signal handler."""
        self._forced = True
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                forced, self._forced = self._forced, False
                self.check(force=forced)
            except Exception:  # never let the watcher die: the server would stop following
                logger.exception("checking the active model failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def _signature(self) -> Any:
        try:
            st = os.stat(self.registry.root / "active.json")
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def check(self, *, force: bool = False) -> bool:
        """Load and swap in the active (or pinned) version if it changed; True if swapped."""
        current = self.holder.current
        if self.pinned is not None:
            if current is not None:
                if force:
                    logger.info("serving %s, pinned by --model: nothing to reload", current.id)
                return False
            if self._seen is not None and not force:
                return False  # its load failed: retried on request only
            self._seen = self.pinned
            return self._load(self.pinned, pinned=True)
        signature = self._signature()
        if signature == self._seen and not force:
            return False
        self._seen = signature
        try:
            wanted = self.registry.active_id("model")
        except MlprodError as exc:
            self._failed(f"cannot read the active model: {exc.message}", current)
            return False
        if wanted is None:
            if current is not None:
                logger.warning("active.json names no active model; still serving %s", current.id)
            return False
        if current is not None and wanted == current.id:
            if force:
                logger.info("%s is the active model and is being served", wanted)
            return False
        return self._load(wanted, pinned=False)

    def _load(self, version_id: str, *, pinned: bool) -> bool:
        current = self.holder.current
        try:
            model = load_model(self.registry, version_id, pinned=pinned)
        except MlprodError as exc:
            self._failed(f"cannot load {version_id}: {exc.message}", current)
            return False
        except Exception as exc:
            self._failed(f"cannot load {version_id}: {type(exc).__name__}: {exc}", current)
            return False
        self.holder.current = model
        self.metrics.reloads += 1
        if current is None:
            logger.info("serving %s", model.id)
        else:
            logger.info("now serving %s (was %s)", model.id, current.id)
        return True

    def _failed(self, reason: str, current: LoadedModel | None) -> None:
        self.metrics.reload_failures += 1
        still = f"; still serving {current.id}" if current is not None else "; not ready"
        logger.warning("%s%s", reason, still)


# --------------------------------------------------------------------------- batching


class _Job:
    __slots__ = ("columns", "future", "loop", "model", "rows")

    def __init__(self, model: LoadedModel, columns: dict[str, list[Any]], rows: int, future, loop):
        self.model = model
        self.columns = columns
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
    """

    def __init__(self, max_rows: int = DEFAULT_MAX_BATCH_ROWS):
        self.max_rows = max(1, max_rows)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # written by the inference thread only
        self.rows = 0

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="mlprod-inference", daemon=True
                    )
                    self._thread.start()

    async def predict(self, model: LoadedModel, columns: dict[str, list[Any]], rows: int):
        """``(classes, scores)`` as Python lists (``scores`` None without predict_proba)."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put(_Job(model, columns, rows, future, loop))
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

    def _predict(self, batch: list[_Job], rows: int) -> list[tuple[list[str], Any]]:
        from mlprod_cli.core.predict import predict_batch

        model = batch[0].model
        if len(batch) == 1:
            columns = batch[0].columns
        else:
            columns = {name: [] for name in batch[0].columns}
            for job in batch:
                for name, values in job.columns.items():
                    columns[name].extend(values)
        classes, scores = predict_batch(model.estimator, model.frame(columns), model.labels)
        self.batches += 1
        self.rows += rows
        classes = classes.tolist()
        scores = _clean_scores(scores.tolist()) if scores is not None else None
        out, start = [], 0
        for job in batch:
            end = start + job.rows
            out.append((classes[start:end], scores[start:end] if scores is not None else None))
            start = end
        return out


def _clean_scores(rows: list[list[float]]) -> list[list[float | None]]:
    """NaN or infinite scores (a broken model) become null: JSON has no NaN."""
    for row in rows:
        for j, value in enumerate(row):
            if not math.isfinite(value):
                row[j] = None
    return rows


# --------------------------------------------------------------------------- request log


def request_log_files(folder: Path) -> list[Path]:
    """The request log files under ``folder``: by day, then worker, then part (write order)."""
    return request_log.log_files(folder)


class RequestLog:
    """Appends one JSON line per served row, off the request path.

    Files: ``requests-YYYY-MM-DD.jsonl`` per UTC day (the day of the request),
    then ``requests-YYYY-MM-DD.1.jsonl``, ``.2``… once a file would pass
    ``max_bytes``. With ``per_process`` (several workers) every name carries
    ``.pid<PID>`` before the part number, so no two processes write one file.
    A restart appends to the day's newest file while it has room.

    :meth:`submit` never blocks: when ``max_pending_rows`` rows already wait
    for the writer, the rows are dropped and counted (``dropped``). The writer
    flushes whenever the queue runs empty; :meth:`close` writes what is queued,
    flushes, fsyncs and closes.
    """

    def __init__(
        self,
        folder: Path,
        *,
        max_bytes: int = DEFAULT_LOG_MAX_BYTES,
        max_pending_rows: int = DEFAULT_LOG_QUEUE_ROWS,
        per_process: bool = False,
    ):
        self.folder = folder
        self.max_bytes = max(1, max_bytes)
        self.max_pending_rows = max_pending_rows
        self.pid_part = f".pid{os.getpid()}" if per_process else ""
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._handle: Any = None
        self._day: str | None = None
        self._part = 0
        self._size = 0
        self._last_error = 0.0
        self.dropped = 0  # written by the submitting (event loop) thread only
        self.written = 0  # written by the writer thread only
        self.errors = 0

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="mlprod-request-log", daemon=True
                    )
                    self._thread.start()

    def submit(
        self,
        ts: str,
        request_id: str,
        version: str,
        rows: list[dict[str, Any]],
        classes: list[str],
        scores: list[dict[str, Any] | None],
    ) -> bool:
        """Queue a request's rows for writing; False (and counted) when the queue is full."""
        n = len(rows)
        with self._lock:
            if self._pending + n > self.max_pending_rows:
                full = True
            else:
                full = False
                self._pending += n
        if full:
            self.dropped += n
            return False
        self._ensure_started()
        self._queue.put((ts, request_id, version, rows, classes, scores))
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then flush, fsync and close the file."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout=timeout)
        self._thread = None

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                try:
                    self._write(item)
                except Exception:  # a bug must not stop the log for good
                    self.errors += 1
                    logger.exception("writing the request log failed")
                if self._queue.empty():
                    self._flush()
        finally:
            self._close_file()

    def _write(self, item: tuple) -> None:
        ts, request_id, version, rows, classes, scores = item
        day = ts[:10]
        try:
            for row, predicted, row_scores in zip(rows, classes, scores, strict=True):
                record = request_log.record(ts, request_id, version, row, predicted, row_scores)
                try:
                    line = _json_line(record)
                except ValueError:  # NaN, Infinity or a lone surrogate ("\ud800") sent to us
                    line = _json_line(_json_safe(record))
                self._file_for(day, len(line)).write(line)
                self._size += len(line)
                self.written += 1
        except OSError as exc:
            self._error(exc)
        finally:
            with self._lock:
                self._pending -= len(rows)

    def _file_for(self, day: str, incoming: int) -> Any:
        if self._handle is None or day != self._day:
            self._close_file()
            self._day = day
            self._part = self._newest_part(day)
            self._open()
        if self._size > 0 and self._size + incoming > self.max_bytes:
            self._close_file()
            self._part += 1
            self._open()
        return self._handle

    def path_for(self, day: str, part: int) -> Path:
        return self.folder / request_log.file_name(day, worker=self.pid_part, part=part)

    def _newest_part(self, day: str) -> int:
        part = 0
        while self.path_for(day, part + 1).exists():
            part += 1
        return part

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path_for(self._day, self._part), "ab")  # noqa: SIM115
        self._size = self._handle.tell()

    def _flush(self) -> None:
        if self._handle is not None:
            try:
                self._handle.flush()
            except OSError as exc:
                self._error(exc)

    def _close_file(self) -> None:
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        try:
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            self._error(exc)
        finally:
            with contextlib.suppress(OSError):
                handle.close()

    def _error(self, exc: OSError) -> None:
        self.errors += 1
        if self._handle is not None:  # reopened for the next line
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
        now = time.monotonic()
        if now - self._last_error > 60:  # a full disk must not flood the log
            self._last_error = now
            logger.warning("cannot write the request log in %s: %s", self.folder, exc)


def _json_line(record: dict[str, Any]) -> bytes:
    text = json.dumps(record, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _json_safe(value: Any) -> Any:
    """``value`` with what JSON in UTF-8 cannot hold replaced: NaN and ±Infinity by null,
    lone surrogates in text (valid JSON escapes, not Unicode) by U+FFFD.

    Recursive: what reaches it is nested :data:`MAX_FIELD_DEPTH` levels at most.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


# --------------------------------------------------------------------------- metrics


def _escape(value: str) -> str:
    value = _SURROGATE.sub("\ufffd", value)  # a field name sent as "\ud800": not UTF-8
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    """Counters for ``GET /metrics``.

    Each counter has one writer thread (the event loop for request counts, the
    watcher for reloads, the writer and inference threads for theirs), so no
    lock is taken on the request path.
    """

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str], int] = {}
        self.latency: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = {}
        self.predictions: dict[str, int] = {}
        self.validation_failures = 0
        self.unseen: dict[str, int] = {}
        self.out_of_range: dict[str, int] = {}
        self.unknown_fields: dict[str, int] = {}
        self.reloads = 0
        self.reload_failures = 0

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        key = (endpoint, str(status))
        self.requests[key] = self.requests.get(key, 0) + 1
        counts = self.latency.get(endpoint)
        if counts is None:
            counts = self.latency[endpoint] = [0] * (len(LATENCY_BUCKETS) + 1)
            self.latency_sum[endpoint] = 0.0
        counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum[endpoint] += seconds

    def count_checked(self, checked: Checked) -> None:
        for mine, theirs in (
            (self.unseen, checked.unseen),
            (self.out_of_range, checked.out_of_range),
        ):
            for name, n in theirs.items():
                mine[name] = mine.get(name, 0) + n
        for name, n in checked.unknown.items():
            if name not in self.unknown_fields and (
                len(self.unknown_fields) >= MAX_UNKNOWN_FIELD_NAMES
                or len(name) > MAX_FIELD_NAME_CHARS
            ):
                name = "_other"
            self.unknown_fields[name] = self.unknown_fields.get(name, 0) + n

    def count_predictions(self, classes: list[str]) -> None:
        counts = self.predictions
        for cls in classes:
            counts[cls] = counts.get(cls, 0) + 1

    def render(self, model: LoadedModel | None, log: RequestLog, batcher: Batcher) -> str:
        """The Prometheus text exposition format (version 0.0.4).

        Counters of the current model's classes and features are shown from 0,
        so that a rate can be taken before the first event.
        """
        out: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        def single(name: str, kind: str, help_text: str, value: int) -> None:
            family(name, kind, help_text)
            out.append(f"{name} {value}")

        def labelled(name: str, label: str, counts: dict[str, int], known=()) -> None:
            merged = dict.fromkeys(known, 0)
            merged.update(counts)
            for key in sorted(merged):
                out.append(f'{name}{{{label}="{_escape(key)}"}} {merged[key]}')

        features = model.features if model is not None else []
        family(
            "mlprod_requests_total", "counter", "HTTP requests answered, by endpoint and status."
        )
        for (endpoint, status), n in sorted(self.requests.items()):
            e = _escape(endpoint)
            out.append(f'mlprod_requests_total{{endpoint="{e}",status="{status}"}} {n}')
        family("mlprod_request_seconds", "histogram", "Time to answer a request, by endpoint.")
        for endpoint in sorted(self.latency):
            e, cumulative = _escape(endpoint), 0
            for bound, n in zip((*LATENCY_BUCKETS, math.inf), self.latency[endpoint], strict=True):
                cumulative += n
                le = "+Inf" if bound == math.inf else repr(bound)
                out.append(
                    f'mlprod_request_seconds_bucket{{endpoint="{e}",le="{le}"}} {cumulative}'
                )
            total = repr(self.latency_sum[endpoint])
            out.append(f'mlprod_request_seconds_sum{{endpoint="{e}"}} {total}')
            out.append(f'mlprod_request_seconds_count{{endpoint="{e}"}} {cumulative}')
        family("mlprod_predictions_total", "counter", "Rows predicted, by predicted class.")
        labelled(
            "mlprod_predictions_total", "class", self.predictions, model.labels if model else ()
        )
        single(
            "mlprod_validation_failures_total", "counter",
            "Prediction requests refused with 422 (the rows do not fit the training schema).",
            self.validation_failures,
        )  # fmt: skip
        family(
            "mlprod_unseen_category_total", "counter",
            "Rows served with a category never seen in training, by feature.",
        )  # fmt: skip
        known = [f.name for f in features if f.categories is not None]
        labelled("mlprod_unseen_category_total", "feature", self.unseen, known)
        family(
            "mlprod_out_of_range_total", "counter",
            "Rows served with a number outside the training min..max, by feature.",
        )  # fmt: skip
        known = [f.name for f in features if f.kind == _NUMERIC and f.low is not None]
        labelled("mlprod_out_of_range_total", "feature", self.out_of_range, known)
        family(
            "mlprod_unknown_fields_total", "counter",
            f"Fields the model does not use (ignored), by name; past {MAX_UNKNOWN_FIELD_NAMES} names (or {MAX_FIELD_NAME_CHARS} characters), _other.",
        )  # fmt: skip
        labelled("mlprod_unknown_fields_total", "field", self.unknown_fields)
        family("mlprod_model_info", "gauge", "The version being served (value 1).")
        if model is not None:
            kind = _escape(str(model.metadata.get("kind", "")))
            out.append(f'mlprod_model_info{{version="{_escape(model.id)}",kind="{kind}"}} 1')
        single(
            "mlprod_model_ready", "gauge", "1 when a model is loaded, else 0.",
            int(model is not None),
        )  # fmt: skip
        single(
            "mlprod_model_reloads_total", "counter",
            "Versions loaded and swapped in, the first one included.", self.reloads,
        )  # fmt: skip
        single(
            "mlprod_model_reload_failures_total", "counter",
            "Loads that failed; the model being served kept serving.", self.reload_failures,
        )  # fmt: skip
        single(
            "mlprod_inference_batches_total", "counter",
            "Calls to the model; requests queued together share one call.", batcher.batches,
        )  # fmt: skip
        single("mlprod_inference_rows_total", "counter", "Rows given to the model.", batcher.rows)
        single(
            "mlprod_request_log_lines_total", "counter",
            "Rows written to the request log.", log.written,
        )  # fmt: skip
        single(
            "mlprod_request_log_dropped_total", "counter",
            "Rows not logged because the log queue was full.", log.dropped,
        )  # fmt: skip
        single(
            "mlprod_request_log_errors_total", "counter",
            "Failed writes to the request log (disk full, permissions).", log.errors,
        )  # fmt: skip
        return "\n".join(out) + "\n"


class _Instrumented:
    """ASGI middleware: every HTTP request counted by endpoint and status, and timed."""

    def __init__(self, app: Any, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaped

        async def send_and_note(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            path = scope.get("path", "")
            endpoint = path if path in ENDPOINTS else "other"
            self.metrics.observe(endpoint, status, time.perf_counter() - started)


# --------------------------------------------------------------------------- the application


def _utc_now() -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_constant(name: str) -> float:
    # NaN, Infinity and -Infinity are not JSON; Python's parser accepts them. They
    # become floats here so that validation refuses them naming the field.
    return float(name.replace("Infinity", "inf"))


class _State:
    """What the routes share; ``app.state.mlprod`` in tests."""

    def __init__(self, workspace: Workspace, options: ServeOptions, *, per_process_logs: bool):
        self.workspace = workspace
        self.config = workspace.config
        self.options = options
        self.registry = workspace.registry
        self.metrics = Metrics()
        self.holder = ModelHolder()
        self.batcher = Batcher(options.max_batch_rows)
        log_dir = workspace.request_log(options.log_dir)
        self.log = RequestLog(
            log_dir,
            max_bytes=options.log_max_bytes,
            max_pending_rows=options.log_queue_rows,
            per_process=per_process_logs,
        )
        self.watcher = ModelWatcher(
            self.registry,
            self.holder,
            self.metrics,
            pinned=options.model,
            interval=options.reload_seconds,
        )


def create_app(
    workspace: Workspace,
    options: ServeOptions | None = None,
    *,
    model: LoadedModel | None = None,
    per_process_logs: bool = False,
) -> Any:
    """The FastAPI application serving the workspace's registry.

    ``model``: an already loaded version (the command loads it before binding
    the port, to fail fast). Without one, the active (or pinned) version is
    loaded here; if that fails the app starts anyway, answers 503 on
    ``/ready`` and ``/predict``, and the watcher keeps trying as
    ``active.json`` changes. The lifespan starts the watcher (and a SIGHUP
    handler when run in the main thread) and, at shutdown, stops it, lets the
    inference thread finish and flushes and closes the request log.
    """
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, Response

    options = options or ServeOptions()
    state = _State(workspace, options, per_process_logs=per_process_logs)
    if model is not None:
        state.holder.current = model
        state.metrics.reloads += 1
    else:
        try:
            state.watcher.check()
        except Exception:  # the app still starts: /ready says 503, the watcher retries
            logger.exception("loading the model failed")
    max_body = options.max_body_bytes
    max_rows = options.max_request_rows

    @contextlib.asynccontextmanager
    async def lifespan(app) -> AsyncIterator[None]:
        state.watcher.start()
        previous = None
        if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGHUP, lambda signum, frame: state.watcher.request())
        try:
            yield
        finally:
            if previous is not None:
                signal.signal(signal.SIGHUP, previous)
            state.watcher.stop()
            state.batcher.stop()
            state.log.close()

    app = FastAPI(
        title="mlprod serve",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.mlprod = state
    app.add_middleware(_Instrumented, metrics=state.metrics)

    def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        try:
            content = json.dumps(
                body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode("utf-8")
        except ValueError:  # NaN in a version's metadata, a field named "\ud800" in a 422
            content = json.dumps(_json_safe(body), ensure_ascii=False).encode("utf-8")
        return Response(content, status_code=status, media_type="application/json", headers=headers)

    async def internal_error(request, exc: Exception) -> Response:
        # Starlette logs the traceback after this answer is sent; the client gets no detail.
        return JSONResponse({"detail": "internal server error"}, status_code=500)

    app.add_exception_handler(Exception, internal_error)

    async def health(request) -> Response:
        return answer(200, {"status": "alive"})

    async def ready(request) -> Response:
        model = state.holder.current
        if model is None:
            return answer(503, {"status": "not ready", "detail": "no model is loaded"})
        return answer(200, {"status": "ready", "model_version": model.id})

    async def metadata(request) -> Response:
        model = state.holder.current
        if model is None:
            return answer(503, {"detail": "no model is loaded"})
        return answer(200, model.info())

    async def metrics(request) -> Response:
        text = state.metrics.render(state.holder.current, state.log, state.batcher)
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    described: list[Any] = [None, b""]  # the model last described, its document

    async def openapi(request) -> Response:
        model = state.holder.current
        if described[0] is not model or not described[1]:
            described[1] = json.dumps(openapi_document(model, options)).encode("utf-8")
            described[0] = model
        return Response(described[1], media_type="application/json")

    async def predict(request) -> Response:
        given = request.headers.get("x-request-id")
        request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        headers = {"x-request-id": request_id}
        model = state.holder.current
        if model is None:
            return answer(503, {"detail": "no model is loaded yet"}, headers)
        length = request.headers.get("content-length")
        if length is not None:
            if not (length.isascii() and length.isdigit()):
                return answer(400, {"detail": "Content-Length is not a number"}, headers)
            if int(length) > max_body:
                await _drain(request, int(length))
                return answer(413, _too_large(max_body), headers)
        chunks = []
        size = 0
        more = True
        while more:  # ASGI messages, not request.stream(): a drain must know if more is coming
            message = await request.receive()
            if message["type"] != "http.request":  # nobody is left to answer; counted as a 400
                return answer(400, {"detail": "the client went away before sending the body"})
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            if size > max_body:
                if more:
                    await _drain(request, None)
                return answer(413, _too_large(max_body), headers)
            chunks.append(chunk)
        body = b"".join(chunks)
        if not body.strip():
            return answer(400, {"detail": "empty body: send a JSON object or an array of objects"}, headers)  # fmt: skip
        try:
            payload = json.loads(body, parse_constant=_parse_constant)
        except RecursionError:
            return answer(400, {"detail": "malformed JSON: nested too deeply"}, headers)
        except ValueError as exc:
            return answer(400, {"detail": f"malformed JSON: {_json_error(exc)}"}, headers)
        single = isinstance(payload, dict)
        if single:
            rows = [payload]
        elif isinstance(payload, list) and payload:
            rows = payload
        else:
            state.metrics.validation_failures += 1
            what = "an empty array" if isinstance(payload, list) else _describe(payload)
            error = {
                "type": "body_type",
                "loc": ["body"],
                "msg": f"expected a JSON object (one row) or a non-empty array of objects, got {what}",
            }
            return answer(422, {"detail": [error]}, headers)
        if len(rows) > max_rows:
            state.metrics.validation_failures += 1
            error = {
                "type": "too_many_rows",
                "loc": ["body"],
                "msg": f"{len(rows)} rows: at most {max_rows} in one request (--max-request-rows); send them in several requests",
            }
            return answer(422, {"detail": [error]}, headers)
        checked = model.check(rows, single=single)
        if checked.errors:
            state.metrics.validation_failures += 1
            return answer(422, {"detail": checked.errors[:MAX_ERRORS_SHOWN]}, headers)
        state.metrics.count_checked(checked)
        try:
            classes, scores = await state.batcher.predict(model, checked.columns, len(rows))
        except Exception:
            logger.exception("request %s: %s failed to score %d rows", request_id, model.id, len(rows))  # fmt: skip
            return answer(500, {"detail": "prediction failed", "request_id": request_id}, headers)
        labels = model.labels
        if scores is None:
            score_maps = [None] * len(classes)
        else:
            score_maps = [dict(zip(labels, row, strict=True)) for row in scores]
        state.metrics.count_predictions(classes)
        state.log.submit(_utc_now(), request_id, model.id, rows, classes, score_maps)
        if single:
            result = {"model_version": model.id, "class": classes[0], "scores": score_maps[0]}
        else:
            result = {
                "model_version": model.id,
                "predictions": [
                    {"class": c, "scores": s} for c, s in zip(classes, score_maps, strict=True)
                ],
            }
        return answer(200, result, headers)

    # Plain Starlette routes: FastAPI's dependency injection and pydantic models
    # would parse and validate the body a second time on every request, and the
    # schema comes from the version being served, not from Python types.
    app.add_route("/health", health, methods=["GET"])
    app.add_route("/ready", ready, methods=["GET"])
    app.add_route("/metadata", metadata, methods=["GET"])
    app.add_route("/metrics", metrics, methods=["GET"])
    app.add_route("/predict", predict, methods=["POST"])
    app.add_route("/openapi.json", openapi, methods=["GET"])
    return app


def _json_error(exc: ValueError) -> str:
    """What is wrong with a body ``json.loads`` refused, without Python's wording."""
    if isinstance(exc, json.JSONDecodeError):
        return str(exc)  # "Expecting ',' delimiter: line 1 column 9 (char 8)"
    if isinstance(exc, UnicodeDecodeError):
        return f"the body is not {exc.encoding.upper()} text (byte {exc.start})"
    # int() refuses a number with more digits than sys.get_int_max_str_digits() (4300).
    return "a number has too many digits"


# --------------------------------------------------------------------------- OpenAPI


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_DETAIL = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}
_ERRORS = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "loc", "msg"],
                "properties": {
                    "type": {"type": "string"},
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                },
            },
        }
    },
}


def _feature_schema(feature: _Feature) -> dict[str, Any]:
    """What :meth:`LoadedModel.check` accepts for one feature, as JSON Schema."""
    if feature.kind == _NUMERIC:
        schema: dict[str, Any] = {
            "type": ["number", "null"],
            "minimum": -MAX_NUMBER,
            "maximum": MAX_NUMBER,
        }
        seen = ""
        if feature.low is not None and feature.high is not None:
            seen = f"; training range {feature.low:g} to {feature.high:g} (outside it: served, counted)"
        schema["description"] = f"numeric; null is a missing value{seen}"
        return schema
    if feature.kind == _DATETIME:
        return {
            "type": ["string", "null"],
            "description": "date and time, ISO 8601; text that does not parse is a missing value",
        }
    schema = {
        "type": ["string", "number", "boolean", "null"],
        "description": "categorical; a number or boolean is taken as its text; "
        "a category unseen in training is served and counted",
    }
    if feature.categories is not None:
        schema["examples"] = sorted(feature.categories)
    return schema


def openapi_document(model: LoadedModel | None, options: ServeOptions) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the app, ``GET /openapi.json``.

    ``/predict``'s body is described from the schema of the version being
    served (feature names, kinds, the categories seen in training), with the
    limits the server applies, so that a client generator or a fuzzer (the
    tests use schemathesis) knows what a valid request is and what is refused.
    Without a model the row is any object.
    """
    from mlprod_cli import __version__

    if model is not None:
        row: dict[str, Any] = {
            "type": "object",
            "required": [f.name for f in model.features],
            "properties": {f.name: _feature_schema(f) for f in model.features},
            "additionalProperties": True,
            "description": f"One row for {model.id}. Fields the model does not use are "
            f"ignored (counted, logged); arrays and objects in them nest "
            f"{MAX_FIELD_DEPTH} levels deep at most.",
        }
        labels = model.labels
        version = model.id
    else:
        row, labels, version = {"type": "object"}, [], "none loaded"
    scores: dict[str, Any] = {
        "type": ["object", "null"],
        "additionalProperties": {"type": ["number", "null"]},
        "description": "a probability per class; null without predict_proba",
    }
    label: dict[str, Any] = {"type": "string"}
    if labels:
        label["enum"] = labels
        scores["properties"] = {name: {"type": ["number", "null"]} for name in labels}
    prediction = {
        "type": "object",
        "required": ["class", "scores"],
        "properties": {"class": label, "scores": scores},
    }
    single = {
        "type": "object",
        "required": ["model_version", "class", "scores"],
        "properties": {"model_version": {"type": "string"}, **prediction["properties"]},
    }
    batch = {
        "type": "object",
        "required": ["model_version", "predictions"],
        "properties": {
            "model_version": {"type": "string"},
            "predictions": {"type": "array", "items": prediction},
        },
    }
    body = {
        "oneOf": [
            {"$ref": "#/components/schemas/Row"},
            {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Row"},
                "minItems": 1,
                "maxItems": options.max_request_rows,
            },
        ]
    }
    status = {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mlprod serve",
            "version": __version__,
            "description": f"Online predictions of {version} (docs/serve.md).",
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": "Predict one row (an object) or several (an array of objects)",
                    "operationId": "predict",
                    "requestBody": {
                        "required": True,
                        "description": f"At most {options.max_body_bytes} bytes "
                        f"(--max-body-bytes) and {options.max_request_rows} rows "
                        "(--max-request-rows).",
                        "content": {"application/json": {"schema": body}},
                    },
                    "responses": {
                        "200": _json({"oneOf": [single, batch]}, "scored"),
                        "400": _json(_DETAIL, "malformed JSON or an empty body"),
                        "413": _json(_DETAIL, "the body is larger than --max-body-bytes"),
                        "422": _json(_ERRORS, "the rows do not fit the model's schema"),
                        "500": _json(_DETAIL, "the model failed"),
                        "503": _json(_DETAIL, "no model is loaded"),
                    },
                }
            },
            "/health": {
                "get": {
                    "summary": "Liveness",
                    "operationId": "health",
                    "responses": {"200": _json(status, "the process answers")},
                }
            },
            "/ready": {
                "get": {
                    "summary": "Readiness: a model is loaded",
                    "operationId": "ready",
                    "responses": {
                        "200": _json(status, "a model is loaded"),
                        "503": _json(status, "no model is loaded"),
                    },
                }
            },
            "/metadata": {
                "get": {
                    "summary": "The version being served",
                    "operationId": "metadata",
                    "responses": {
                        "200": _json({"type": "object", "required": ["version"]}, "its metadata"),
                        "503": _json(_DETAIL, "no model is loaded"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "operationId": "metrics",
                    "responses": {
                        "200": {
                            "description": "text exposition format 0.0.4",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": {"Row": row}},
    }


async def _drain(request: Any, declared: int | None) -> None:
    """Read the rest of a body that is too large, dropping it, before the 413.

    Closing a connection with bytes of the request still unread makes the
    kernel reset it (RST): a client that sends its whole body and then reads,
    with ``Connection: close`` (urllib does), would get a broken pipe or a
    reset instead of the 413. So a body of up to :data:`MAX_DRAIN_BYTES` is
    read to its end, chunk by chunk, none of it kept, for at most
    :data:`MAX_DRAIN_SECONDS`. A larger one, or a client that waits for
    ``100 Continue`` before sending, is answered at once. Called only while
    more of the body is to come (a ``receive`` after the last part would wait
    for the client to disconnect).
    """
    if declared is not None and declared > MAX_DRAIN_BYTES:
        return
    if request.headers.get("expect", "").lower() == "100-continue":
        return
    drained = 0
    deadline = time.monotonic() + MAX_DRAIN_SECONDS
    while drained <= MAX_DRAIN_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            message = await asyncio.wait_for(request.receive(), left)
        except asyncio.TimeoutError:  # a slow client: answered now
            return
        if message["type"] != "http.request":  # the client went away
            return
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _too_large(limit: int) -> dict[str, Any]:
    return {"detail": f"request body larger than {limit} bytes (--max-body-bytes); send fewer rows per request"}  # fmt: skip


def app_from_environment() -> Any:
    """The app for one of ``--workers N`` processes (uvicorn calls this in each worker)."""
    settings = json.loads(os.environ[SETTINGS_ENV])
    workspace = Workspace.load(Path(settings.pop("root")), need_data=False)
    if settings.get("log_dir"):
        settings["log_dir"] = Path(settings["log_dir"])
    return create_app(workspace, ServeOptions(**settings), per_process_logs=True)


# --------------------------------------------------------------------------- running it


LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "mlprod: %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        # uvicorn's start-up chatter stays quiet; its warnings and errors (and the
        # traceback of a bug in a request) are shown.
        "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "uvicorn.error": {"level": "WARNING"},
        # One line per request costs throughput; /metrics and the request log say more.
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "mlprod.serve": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


@dataclass
class PreparedServer:
    """A server ready to run: the port is bound, the model checked (and loaded, one worker)."""

    workspace: Workspace
    options: ServeOptions
    host: str
    port: int
    log_dir: Path
    version: Any
    model: LoadedModel | None
    socket: socket.socket

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM; then finish the requests in flight and return."""
        import uvicorn

        common = dict(
            log_config=LOG_CONFIG,
            access_log=False,
            server_header=False,
            lifespan="on",
            timeout_graceful_shutdown=20,
        )
        if self.options.workers > 1:
            self._run_workers(uvicorn, common)
            return
        app = create_app(self.workspace, self.options, model=self.model)
        server = _server_class()(uvicorn.Config(app, **common))
        try:
            server.run(sockets=[self.socket])
        finally:
            with contextlib.suppress(OSError):
                self.socket.close()
        if not server.started and not server.should_exit:
            raise MlprodError("the server did not start (see the messages above)", exit_code=70)

    def _run_workers(self, uvicorn: Any, common: dict[str, Any]) -> None:
        """``--workers N``: uvicorn's supervisor, on the socket bound here.

        The supervisor restarts a worker that dies and replaces every worker on
        SIGHUP. Each worker builds its app from :data:`SETTINGS_ENV`.
        """
        import inspect

        from uvicorn.supervisors import Multiprocess

        settings = {
            "root": str(self.workspace.root),
            "model": self.options.model,
            "log_dir": str(self.log_dir),
            "max_body_bytes": self.options.max_body_bytes,
            "max_batch_rows": self.options.max_batch_rows,
            "max_request_rows": self.options.max_request_rows,
            "log_max_bytes": self.options.log_max_bytes,
            "log_queue_rows": self.options.log_queue_rows,
            "reload_seconds": self.options.reload_seconds,
        }
        os.environ[SETTINGS_ENV] = json.dumps(settings)
        config = uvicorn.Config(
            "mlprod_cli.core.serve:app_from_environment",
            factory=True,
            workers=self.options.workers,
            **common,
        )
        try:
            # uvicorn.run would bind a socket of its own without IPPROTO_TCP (see
            # _bind); older uvicorn releases take the worker function as `target`.
            if "target" in inspect.signature(Multiprocess).parameters:
                server = uvicorn.Server(config)
                Multiprocess(config, target=server.run, sockets=[self.socket]).run()
            else:
                Multiprocess(config, sockets=[self.socket]).run()
        finally:
            with contextlib.suppress(OSError):
                self.socket.close()


_SERVER_CLASS: Any = None


def _server_class() -> Any:
    """uvicorn's Server, except that a stop by SIGINT or SIGTERM is a normal end.

    uvicorn re-raises the signal after its graceful shutdown, so the process
    would die by it (exit 143, or a KeyboardInterrupt). A server told to stop
    has done its job: the command exits 0.
    """
    global _SERVER_CLASS
    if _SERVER_CLASS is None:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):
                if threading.current_thread() is not threading.main_thread():
                    yield
                    return
                handled = [signal.SIGINT, signal.SIGTERM]
                original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
                try:
                    yield
                finally:
                    for sig, handler in original.items():
                        signal.signal(sig, handler)

        _SERVER_CLASS = Server
    return _SERVER_CLASS


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets that say they are TCP. With Nagle on, a response written as headers
    # then body waits for the client's delayed ACK: 40 ms on every request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"--port {port}: port {port} on {host} is already in use",
                hint="stop what holds it, or pick another port with --port",
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise UsageError(
                f"--port {port}: not allowed to listen on port {port} (ports below 1024 need privileges)"
            ) from None
        raise UsageError(f"--host {host}: cannot listen there ({exc.strerror or exc})") from None
    except (socket.gaierror, UnicodeError) as exc:
        sock.close()
        raise UsageError(f"--host {host}: not an address of this machine ({exc})") from None
    sock.set_inheritable(True)
    return sock


def prepare(workspace: Workspace, options: ServeOptions) -> PreparedServer:
    """Check everything a server needs before it starts; a clear MlprodError otherwise.

    Resolves the version (the pinned one, or the active model: none is an error
    naming the commands that make one), checks its artifact's hash, binds the
    port (in use: an error naming it), makes the log folder, and with one
    worker loads the model, so that ``/ready`` is true from the first request.
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"serve needs FastAPI and uvicorn, which are not installed ({exc.name} is missing)",
            hint="pip install 'mlprod[serve]'",
        ) from None
    if options.workers < 1:
        raise UsageError(f"--workers {options.workers}: must be at least 1")
    if options.max_body_bytes < 1:
        raise UsageError(f"--max-body-bytes {options.max_body_bytes}: must be at least 1")
    if options.max_request_rows < 1:
        raise UsageError(f"--max-request-rows {options.max_request_rows}: must be at least 1")
    config = workspace.config
    host = options.host or config.serve.host
    port = options.port if options.port is not None else config.serve.port
    log_dir = workspace.request_log(options.log_dir)
    registry = workspace.registry
    version = registry.resolve(options.model)
    registry.verify(version)
    # Bound before the log folder is made: a host or port it cannot use leaves no folder.
    sock = _bind(host, port)
    port = sock.getsockname()[1]  # the one the system chose for --port 0
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        probe = log_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"--log-dir {log_dir}: cannot write the request log there ({exc.strerror or exc})"
        ) from None
    model = None
    if options.workers == 1:  # several workers load it each, in their own process
        try:
            model = LoadedModel(version, registry.load(version), pinned=options.model is not None)
        except BaseException:
            sock.close()
            raise
    options = dataclasses.replace(options, log_dir=log_dir)
    return PreparedServer(workspace, options, host, port, log_dir, version, model, sock)
