"""The request log writer (:class:`RequestLog`): every served row and its
prediction as a line of JSON, written by a background thread off the request
path.

File names and the shape of a line come from :mod:`mlprod_cli.core.request_log`,
which ``mlprod skew`` reads with.

Why the writer is made the way it is (issue 11, a full disk and a deleted folder):

* **Only whole lines.** A request's lines are written with ``os.write`` on an
  ``O_APPEND`` descriptor, no buffer in between, so the writer knows exactly
  which bytes reached the file. A disk that fills up mid-write gives a short
  write and then ENOSPC; the writer then truncates the file back to the end of
  its last whole line. Truncating was chosen over starting the next write with
  a newline: a newline guard keeps the half record in the file, where ``skew``
  finds a line that is not JSON; cutting it back leaves only whole records, and
  shrinking a file works on a full disk. Should the truncation fail too (EIO),
  nothing more is appended to that file until it succeeds; a file found ending
  in a partial line when opened (a run killed mid-write) is left as it is and
  the next part is started.
* **Counted, never blocking.** Rows that cannot be written are dropped and
  counted in ``mlprod_request_log_dropped_total`` by reason; the server keeps
  answering. A failure is logged once when it starts and once when writing
  works again (with the count lost), not once per row.
* **One log for every worker.** The workers of ``--workers N`` (and two
  servers given one folder) append to the same files. Each append holds an
  exclusive ``flock`` on the file from the size check to the last byte (and
  the cut back of a failed write), so lines of two processes never
  interleave, a failed write is always cut back (no other process appended
  after it meanwhile), and a file is rolled to the next part by whichever
  process finds it full, the others following to that part. Files kept per
  process (``.pid<N>`` in the name, what earlier releases wrote) are still
  read by ``skew``.
* **Deleted or rotated files.** At most once every ``check_seconds`` (and on
  :meth:`reopen`, which SIGHUP calls) the open descriptor's device and inode are
  compared with the path's. A file renamed away (logrotate) is closed and the
  path opened anew: its rows are in the renamed file. A file deleted (its
  folder removed) is reopened too, the folder made again, and the rows written
  to it since the last check are counted as dropped (``file_deleted``). Lines
  are counted as written (``mlprod_request_log_lines_total``) once such a check
  has seen them in a file that is still there.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
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
from mlprod_cli.core.serve._options import (
    DEFAULT_LOG_CHECK_SECONDS,
    DEFAULT_LOG_MAX_BYTES,
    DEFAULT_LOG_QUEUE_ROWS,
)

if TYPE_CHECKING:
    from mlprod_cli.core.serve._metrics import Metrics

logger = logging.getLogger("mlprod.serve")

_STOP = object()
_REOPEN = object()

_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


def drop_reason(exc: OSError) -> str:
    """The :data:`DROP_REASONS` entry for a failed write."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "disk_full"
    if exc.errno == errno.EIO:
        return "io_error"
    if exc.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
        return "not_permitted"
    return "error"


def request_log_files(folder: Path) -> list[Path]:
    """The request log files under ``folder``: by day, then worker, then part (write order)."""
    return request_log.log_files(folder)


class RequestLog:
    """Appends one JSON line per served row, off the request path.

    Files: ``requests-YYYY-MM-DD.jsonl`` per UTC day (the day of the request),
    then ``requests-YYYY-MM-DD.1.jsonl``, ``.2``… once a file would pass
    ``max_bytes``. Several processes may write one folder (the workers of
    ``--workers N``): each append holds a lock on the file. A restart appends
    to the day's newest file while it has room.

    :meth:`submit` never blocks: when ``max_pending_rows`` rows already wait
    for the writer, the rows are dropped. :meth:`close` writes what is queued,
    fsyncs and closes. What happens on a failed write, a deleted or a rotated
    file is in the module's docstring.
    """

    def __init__(
        self,
        folder: Path,
        *,
        metrics: Metrics,
        max_bytes: int = DEFAULT_LOG_MAX_BYTES,
        max_pending_rows: int = DEFAULT_LOG_QUEUE_ROWS,
        check_seconds: float = DEFAULT_LOG_CHECK_SECONDS,
    ):
        self.folder = folder
        self.metrics = metrics
        self.max_bytes = max(1, max_bytes)
        self.max_pending_rows = max_pending_rows
        self.check_seconds = check_seconds
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._thread: threading.Thread | None = None
        # The writer thread's own state.
        self._fd: int | None = None
        self._path: Path | None = None
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of _fd
        self._day: str | None = None
        self._part = 0
        self._size = 0  # where the next line starts: the end of the last whole line
        # After a failed write: (cut to here, the file's size then); see _cut_back.
        self._cut: tuple[int, int] | None = None
        self._unchecked = 0  # lines written since the last check that their file is there
        self._checked_at = 0.0
        self._failing: str | None = None  # the reason of the failure going on
        self._lost = 0  # rows dropped since it began

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
        fired: list[tuple[str, ...]] | None = None,
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
            self.metrics.log_dropped(n, "queue_full")
            return False
        self._ensure_started()
        self._queue.put((ts, request_id, version, rows, classes, scores, fired))
        return True

    def reopen(self) -> None:
        """Close the file and open its path again before the next line (SIGHUP,
        after logrotate moved the file). Safe to call from a signal handler."""
        if self._thread is not None:
            self._queue.put(_REOPEN)  # SimpleQueue.put is reentrant

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then fsync and close the file."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout=timeout)
        self._thread = None

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        try:
            while True:
                try:
                    item = self._queue.get(timeout=max(self.check_seconds, 0.01))
                except queue.Empty:
                    item = None
                if item is _STOP:
                    break
                try:
                    if item is _REOPEN:
                        self._check(reopen=True)
                    elif item is not None:
                        self._write(item)
                    if time.monotonic() - self._checked_at >= self.check_seconds:
                        self._check()
                except Exception:  # a bug must not stop the log for good
                    with contextlib.suppress(Exception):  # nor a logging handler that fails
                        self.metrics.log_failed()
                        logger.exception("writing the request log failed")
        finally:
            with contextlib.suppress(Exception):
                self._check(reopen=True)  # counts the last lines, then closes

    def _write(self, item: tuple) -> None:
        ts, request_id, version, rows, classes, scores, fired = item
        day = ts[:10]
        try:
            lines = []
            each_fired = fired if fired is not None else [None] * len(rows)
            for row, predicted, row_scores, row_fired in zip(
                rows, classes, scores, each_fired, strict=True
            ):
                record = request_log.record(
                    ts, request_id, version, row, predicted, row_scores, rules=row_fired
                )
                try:
                    lines.append(_json_line(record))
                except ValueError:  # NaN, Infinity or a lone surrogate ("\ud800") sent to us
                    lines.append(_json_line(json_safe(record)))
            start = 0
            while start < len(lines):
                try:
                    end = self._ready_for(day, lines, start)
                    self._append(lines[start:end])
                except _Full:  # another process filled the file: the next part
                    self._close_file()
                    self._open(self._part + 1)
                    continue
                except OSError as exc:
                    self._failed(exc, len(lines) - start)
                    return
                except _WriteFailed as failed:
                    self._failed(failed.error, len(lines) - start - failed.kept)
                    return
                start = end
            self._recovered()
        finally:
            with self._lock:
                self._pending -= len(rows)

    def _ready_for(self, day: str, lines: list[bytes], start: int) -> int:
        """Open (or roll to) the file the lines from ``start`` go to; the end of those that fit."""
        if self._fd is None or day != self._day:
            self._close_file()
            self._day = day
            self._open(self._newest_part(day))
        if self._cut is not None:
            self._cut_back(self._fd)  # what a failed write left past the last line
        size, end = self._size, start
        while end < len(lines) and (size == 0 or size + len(lines[end]) <= self.max_bytes):
            size += len(lines[end])
            end += 1
        if end == start:  # the file is full: the next part
            self._close_file()
            self._open(self._part + 1)
            return self._ready_for(day, lines, start)
        return end

    def _append(self, lines: list[bytes]) -> None:
        """Write ``lines`` at the end of the file, holding its lock; on a failure, cut
        back to whole lines. :class:`_Full` when the file has no room for them (the
        lines other processes appended since this one's last write filled it)."""
        data = memoryview(b"".join(lines))
        fd = self._fd
        with _locked(fd):
            size = os.fstat(fd).st_size
            if size and size + len(data) > self.max_bytes:
                self._size = size
                raise _Full
            done = 0
            try:
                while done < len(data):
                    done += os.write(fd, data[done:])
            except OSError as exc:
                whole, kept = 0, 0
                for line in lines:
                    if whole + len(line) > done:
                        break
                    whole += len(line)
                    kept += 1
                self._unchecked += kept
                # O_APPEND: the descriptor's offset is the end of the bytes written here.
                end = os.lseek(fd, 0, os.SEEK_CUR)
                self._size = end - done + whole
                if done > whole:  # part of a record reached the file: cut it off
                    self._cut = (self._size, end)
                    with contextlib.suppress(OSError):
                        self._cut_back(fd)
                raise _WriteFailed(exc, kept) from exc
            self._size = os.lseek(fd, 0, os.SEEK_CUR)
            self._unchecked += len(lines)

    def _cut_back(self, fd: int) -> None:
        """Cut off the part of a record a failed write left (raises if it cannot).

        Only while the file still ends where that write ended: bytes appended
        after it (another process writing the same file) are not ours to cut;
        the file is then left as it is and the next line goes to the next part.
        """
        cut_to, end = self._cut
        if os.fstat(fd).st_size == end:
            os.ftruncate(fd, cut_to)
        elif fd == self._fd:
            self._cut = None
            self._close_file()
            self._open(self._part + 1)
        self._cut = None

    def _open(self, part: int) -> None:
        """Open part ``part`` of the day (or a later one, past a file ending in a partial line)."""
        with contextlib.suppress(FileExistsError):
            os.makedirs(self.folder, exist_ok=True)
        while True:
            path = self.path_for(self._day, part)
            fd = os.open(path, _OPEN_FLAGS, 0o644)
            try:
                st = os.fstat(fd)
                if st.st_size == 0 or os.pread(fd, 1, st.st_size - 1) == b"\n":
                    break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # not ours to cut: left as it is
            logger.warning("%s ends in a partial line; continuing in the next part", path)
            part += 1
        self._fd, self._path, self._part, self._size = fd, path, part, st.st_size
        self._identity = (st.st_dev, st.st_ino)
        self._checked_at = time.monotonic()

    def path_for(self, day: str, part: int) -> Path:
        return self.folder / request_log.file_name(day, part=part)

    def _newest_part(self, day: str) -> int:
        part = 0
        while self.path_for(day, part + 1).exists():
            part += 1
        return part

    def _check(self, *, reopen: bool = False) -> None:
        """Count the lines written since the last check, lost if their file was
        deleted; close the file if it was, if its path now names another file, or
        on ``reopen``. The next line opens the path again."""
        self._checked_at = time.monotonic()
        if self._fd is None:
            return
        try:
            deleted = os.fstat(self._fd).st_nlink == 0
        except OSError:
            deleted = False
        if deleted:
            lost, self._unchecked = self._unchecked, 0
            if lost:
                self.metrics.log_dropped(lost, "file_deleted")
            logger.warning(
                "%s was deleted while being written: %d rows lost; writing a new one",
                self._path,
                lost,
            )
            self._close_file(sync=False)
            return
        self._count_checked()
        if not reopen:
            try:
                st = os.stat(self._path)
                moved = (st.st_dev, st.st_ino) != self._identity
            except OSError:
                moved = True
            if not moved:
                return
            logger.info("%s was moved away (rotated); writing a new one", self._path)
        self._close_file()

    def _count_checked(self) -> None:
        if self._unchecked:
            self.metrics.logged(self._unchecked)
            self._unchecked = 0

    def _close_file(self, *, sync: bool = True) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self._cut is not None:
                self._cut_back(fd)
            self._count_checked()
            if sync:
                os.fsync(fd)
        except OSError as exc:
            self._failed(exc, 0)
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
            self._cut = None

    def _failed(self, exc: OSError, rows: int) -> None:
        """``rows`` not written because of ``exc``: counted, and logged if a failure begins."""
        reason = drop_reason(exc)
        self.metrics.log_failed()
        if rows:
            self.metrics.log_dropped(rows, reason)
        self._lost += rows
        if self._failing is None:
            self._failing = reason
            logger.warning(
                "cannot write the request log in %s: %s; rows are dropped and counted "
                "(mlprod_request_log_dropped_total) until it can",
                self.folder,
                exc.strerror or exc,
            )

    def _recovered(self) -> None:
        if self._failing is not None:
            logger.warning(
                "the request log in %s is written again; %d rows were dropped meanwhile",
                self.folder,
                self._lost,
            )
            self._failing, self._lost = None, 0


@contextlib.contextmanager
def _locked(fd: int):
    """An exclusive ``flock`` on ``fd`` (released at the end). A file system that
    has no such locks (ENOLCK) is written without: one process's lines stay whole."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        locked = False
    else:
        locked = True
    try:
        yield
    finally:
        if locked:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)


class _Full(Exception):
    """The file has no room for the lines: they go to the next part."""


class _WriteFailed(Exception):
    """A write that failed with ``error`` after ``kept`` whole lines reached the file."""

    def __init__(self, error: OSError, kept: int):
        super().__init__(error)
        self.error = error
        self.kept = kept


def _json_line(record: dict[str, Any]) -> bytes:
    text = json.dumps(record, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")
