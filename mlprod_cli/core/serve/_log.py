"""The request log writer (:class:`RequestLog`): every served row and its
prediction as a line of JSON, written by a background thread off the request
path.

File names and the shape of a line come from :mod:`mlprod_cli.core.request_log`,
which ``mlprod skew`` reads with.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlprod_cli.core import request_log
from mlprod_cli.core.serve._json import json_safe
from mlprod_cli.core.serve._options import DEFAULT_LOG_MAX_BYTES, DEFAULT_LOG_QUEUE_ROWS

if TYPE_CHECKING:
    from mlprod_cli.core.serve._metrics import Metrics

logger = logging.getLogger("mlprod.serve")

_STOP = object()


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
    for the writer, the rows are dropped. The writer flushes whenever the
    queue runs empty; :meth:`close` writes what is queued, flushes, fsyncs and
    closes. Lines written, rows dropped and failed writes are counted in
    ``metrics``.
    """

    def __init__(
        self,
        folder: Path,
        *,
        metrics: Metrics,
        max_bytes: int = DEFAULT_LOG_MAX_BYTES,
        max_pending_rows: int = DEFAULT_LOG_QUEUE_ROWS,
        per_process: bool = False,
    ):
        self.folder = folder
        self.metrics = metrics
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
            self.metrics.log_dropped(n)
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
                    self.metrics.log_failed()
                    logger.exception("writing the request log failed")
                if self._queue.empty():
                    self._flush()
        finally:
            self._close_file()

    def _write(self, item: tuple) -> None:
        ts, request_id, version, rows, classes, scores = item
        day = ts[:10]
        written = 0
        try:
            for row, predicted, row_scores in zip(rows, classes, scores, strict=True):
                record = request_log.record(ts, request_id, version, row, predicted, row_scores)
                try:
                    line = _json_line(record)
                except ValueError:  # NaN, Infinity or a lone surrogate ("\ud800") sent to us
                    line = _json_line(json_safe(record))
                self._file_for(day, len(line)).write(line)
                self._size += len(line)
                written += 1
        except OSError as exc:
            self._error(exc)
        finally:
            self.metrics.logged(written)  # once per request: a counter's lock is not free
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
        self.metrics.log_failed()
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
