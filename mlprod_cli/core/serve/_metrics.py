"""The Prometheus metrics of ``GET /metrics`` (:class:`Metrics`), kept by
``prometheus_client``, and the middleware that counts and times every request
(:class:`Instrumented`).

Why the library rather than a few counters written out by hand: with
``--workers N`` each worker is a process of its own and a scrape reaches one
of them. In the library's multiprocess mode every worker keeps its values in
files of a folder the runner made for the server run, and a scrape adds up the
files of all of them, so ``/metrics`` tells the whole server's counts whichever
worker answers, and a worker that restarts loses none.

The mode is the library's to choose, once, when it is first imported in a
process: ``PROMETHEUS_MULTIPROC_DIR`` set means values in files. The runner
sets it for the workers it starts and never for one process.
"""

from __future__ import annotations

import collections
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlprod_cli.core.serve._json import without_surrogates
from mlprod_cli.core.serve._options import (
    DROP_REASONS,
    ENDPOINTS,
    MAX_FIELD_NAME_CHARS,
    MAX_UNKNOWN_FIELD_NAMES,
)

if TYPE_CHECKING:
    from mlprod_cli.core.serve._model import Checked, LoadedModel

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes


class Metrics:
    """The server's counters, a latency histogram and the model gauges.

    The metrics are registered in a registry of this app's own (tests make
    many apps in one process). With one process a scrape reads that registry;
    with ``multiprocess_dir`` (one of ``--workers N``) it reads every worker's
    files in that folder. Each event is counted where it happens (the event
    loop, the watcher, the inference and log threads); the library locks each
    value, and the children of labelled metrics are looked up once and kept.
    """

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            Summary,
            disable_created_metrics,
        )

        # A _created series per counter would double the exposition for a
        # timestamp that the process start already tells.
        disable_created_metrics()
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()

        def counter(name: str, help_text: str, labels: tuple[str, ...] = ()) -> Any:
            return Counter(name, help_text, labels, registry=self.registry)

        self._requests = counter(
            "mlprod_requests_total",
            "HTTP requests answered, by endpoint and status.",
            ("endpoint", "status"),
        )
        self._seconds = Histogram(
            "mlprod_request_seconds",
            "Time to answer a request, by endpoint.",
            ("endpoint",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._predictions = counter(
            "mlprod_predictions_total", "Rows predicted, by predicted class.", ("class",)
        )
        self._values = Summary(
            "mlprod_predicted_value",
            "The numbers a regression predicted (sum and count: their mean drifts as they do).",
            registry=self.registry,
        )
        self._validation_failures = counter(
            "mlprod_validation_failures_total",
            "Prediction requests refused with 422 (the rows do not fit the training schema).",
        )
        self._unseen = counter(
            "mlprod_unseen_category_total",
            "Rows served with a category never seen in training, by feature.",
            ("feature",),
        )
        self._out_of_range = counter(
            "mlprod_out_of_range_total",
            "Rows served with a number outside the training min..max, by feature.",
            ("feature",),
        )
        self._unknown = counter(
            "mlprod_unknown_fields_total",
            f"Fields the model does not use (ignored), by name; past {MAX_UNKNOWN_FIELD_NAMES} names (or {MAX_FIELD_NAME_CHARS} characters), _other.",
            ("field",),
        )
        # Across workers: a version is listed while one of them serves it
        # (livemax), and the server is ready when all of them are (livemin).
        # "live": the values of a worker that stopped are left out.
        self._model_info = Gauge(
            "mlprod_model_info",
            "The version being served (value 1).",
            ("version", "kind"),
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self._model_ready = Gauge(
            "mlprod_model_ready",
            "1 when a model is loaded, else 0.",
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self._reloads = counter(
            "mlprod_model_reloads_total", "Versions loaded and swapped in, the first one included."
        )
        self._reload_failures = counter(
            "mlprod_model_reload_failures_total",
            "Loads that failed; the model being served kept serving.",
        )
        self._batches = counter(
            "mlprod_inference_batches_total",
            "Calls to the model; requests queued together share one call.",
        )
        self._rows = counter("mlprod_inference_rows_total", "Rows given to the model.")
        self._batch_rows = Histogram(
            "mlprod_inference_batch_rows",
            "Rows in each call to the model: how much concurrent requests were merged.",
            buckets=BATCH_ROW_BUCKETS,
            registry=self.registry,
        )
        self._log_lines = counter(
            "mlprod_request_log_lines_total", "Rows written to the request log."
        )
        self._log_dropped = counter(
            "mlprod_request_log_dropped_total",
            "Rows not logged, by reason: queue_full, disk_full, io_error, not_permitted, "
            "file_deleted (written to a file deleted before it was checked), error.",
            ("reason",),
        )
        self._log_errors = counter(
            "mlprod_request_log_errors_total",
            "Failed writes, truncations and fsyncs of the request log (disk full, I/O error, permissions).",
        )
        self._accept_errors = counter(
            "mlprod_accept_errors_total",
            "Failed accepts of a connection, by errno (EMFILE: out of file descriptors); "
            "retried every second.",
            ("errno",),
        )
        self._rule_fired = counter(
            "mlprod_rule_fired_total",
            "Rows a rule of the version's rule layer fired on, by rule id.",
            ("rule",),
        )
        self._rule_errors = counter(
            "mlprod_rule_errors_total",
            "Rows a rule's condition could not be evaluated on (it did not fire), by rule id.",
            ("rule",),
        )
        self._abstained = counter(
            "mlprod_abstained_total",
            "Rows the rules sent to a person (abstain) instead of answering a class.",
        )
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}
        for reason in DROP_REASONS:  # listed from 0, so that a rate can be taken at once
            self._child(self._log_dropped, reason)
        self._unknown_names: set[str] = set()  # counted under their own name
        if multiprocess_dir is None:
            self._source: Any = self.registry
        else:
            from prometheus_client.multiprocess import MultiProcessCollector

            _forget_stopped_workers(multiprocess_dir)
            self._source = MultiProcessCollector(None, path=str(multiprocess_dir))

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, looked up once: the library's lookup is slower."""
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            # A field named "\ud800" is valid JSON but not UTF-8 text.
            child = metric.labels(*(without_surrogates(label) for label in labels))
            self._children[key] = child
        return child

    # ------------------------------------------------------------------ events

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        """A request answered: counted by endpoint and status, and timed."""
        self._child(self._requests, endpoint, str(status)).inc()
        self._child(self._seconds, endpoint).observe(seconds)

    def count_checked(self, checked: Checked) -> None:
        """The soft findings of rows that were served: unseen categories, numbers out of
        range, fields the model does not use (the first names; then ``_other``)."""
        for name, n in checked.unseen.items():
            self._child(self._unseen, name).inc(n)
        for name, n in checked.out_of_range.items():
            self._child(self._out_of_range, name).inc(n)
        names = self._unknown_names
        for name, n in checked.unknown.items():
            if name not in names:
                if len(names) >= MAX_UNKNOWN_FIELD_NAMES or len(name) > MAX_FIELD_NAME_CHARS:
                    name = "_other"
                names.add(name)
            self._child(self._unknown, name).inc(n)

    def count_predictions(self, classes: list[str | None]) -> None:
        """Rows predicted, by class (one increment per class of the request); a class
        of None (the rules abstained) is counted in ``mlprod_abstained_total``."""
        for label, n in collections.Counter(classes).items():
            if label is None:
                self._abstained.inc(n)
            else:
                self._child(self._predictions, label).inc(n)

    def count_values(self, values: list[float | None]) -> None:
        """A regression's predictions, each finite one observed (a null one is not a number)."""
        for value in values:
            if value is not None:
                self._values.observe(value)

    def rules_applied(self, outcome: Any) -> None:
        """What the rules did to a batch (a :class:`~mlprod_cli.core.rules.Outcome`)."""
        fired = collections.Counter(rule for ids in outcome.fired for rule in ids)
        for rule, n in fired.items():
            self._child(self._rule_fired, rule).inc(n)
        for rule, n in outcome.errors.items():
            self._child(self._rule_errors, rule).inc(n)

    def refused(self) -> None:
        """A ``/predict`` request refused with 422."""
        self._validation_failures.inc()

    def loaded(self, model: LoadedModel, *, previous: LoadedModel | None) -> None:
        """``model`` swapped in for ``previous`` (None: the first one).

        Counted as a reload; the gauges name it. Its classes and the features
        it has counters for are listed from 0, so that a rate can be taken
        before the first event.
        """
        self._reloads.inc()
        if previous is not None:
            # Set to 0 rather than removed: in multiprocess mode a value cannot be
            # removed from the files. The exposition leaves out a version at 0.
            self._info(previous).set(0)
        self._info(model).set(1)
        self._model_ready.set(1)
        for label in model.labels:
            self._child(self._predictions, label)
        for rule in model.rules.ids if model.rules is not None else ():
            self._child(self._rule_fired, rule)
        for feature in model.features:
            if feature.categories is not None:
                self._child(self._unseen, feature.name)
            elif feature.low is not None:
                self._child(self._out_of_range, feature.name)

    def _info(self, model: LoadedModel) -> Any:
        return self._child(self._model_info, model.id, str(model.metadata.get("kind", "")))

    def reload_failed(self) -> None:
        """A version that did not load (the one being served kept serving)."""
        self._reload_failures.inc()

    def scored(self, rows: int) -> None:
        """One call to the model, with ``rows`` rows."""
        self._batches.inc()
        self._rows.inc(rows)
        self._batch_rows.observe(rows)

    def logged(self, lines: int) -> None:
        """Lines written to the request log (and seen in a file still there)."""
        if lines:
            self._log_lines.inc(lines)

    def log_dropped(self, rows: int, reason: str) -> None:
        """Rows not logged, for ``reason`` (one of ``DROP_REASONS`` of the log writer)."""
        self._child(self._log_dropped, reason).inc(rows)

    def log_failed(self) -> None:
        """A write to the request log that failed."""
        self._log_errors.inc()

    def accept_failed(self, errno_name: str) -> None:
        """An ``accept()`` that failed (out of descriptors, of memory)."""
        self._child(self._accept_errors, errno_name).inc()

    # ------------------------------------------------------------------ reading

    def value(self, name: str, **labels: str) -> float:
        """A sample of this process's own metrics (0 when absent), e.g.
        ``value("mlprod_requests_total", endpoint="/predict", status="200")``."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def render(self) -> bytes:
        """The Prometheus text exposition format (version 0.0.4): this process's
        metrics, or in multiprocess mode every worker's added up."""
        from prometheus_client import generate_latest

        return generate_latest(_Served(self._source))

    def close(self) -> None:
        """At the end of a worker: its gauges stop counting (its counters stay)."""
        if self.multiprocess_dir is not None:
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid(), str(self.multiprocess_dir))


class _Served:
    """A collector of ``source`` without the versions no longer served
    (``mlprod_model_info`` at 0), so that the exposition names only those served."""

    def __init__(self, source: Any):
        self.source = source

    def collect(self) -> Any:
        for family in self.source.collect():
            if family.name == "mlprod_model_info":
                family.samples = [s for s in family.samples if s.value]
            yield family


def _forget_stopped_workers(folder: Path) -> None:
    """Mark dead the workers whose gauge files are there but whose process is gone.

    A worker that stops normally does so itself (:meth:`Metrics.close`); one
    that was killed cannot, and uvicorn's supervisor starts a new one in its
    place, which calls this.
    """
    from prometheus_client.multiprocess import mark_process_dead

    for path in folder.glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            mark_process_dead(int(pid), str(folder))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


class Instrumented:
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
