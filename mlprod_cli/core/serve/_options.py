"""What ``mlprod serve`` can be told (:class:`ServeOptions`) and the limits it applies.

The limits are named here, once, because the checks of a row, the app's
refusals, the OpenAPI document and the metrics all state them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB
DEFAULT_MAX_BATCH_ROWS = 256
DEFAULT_BATCH_WAIT_SECONDS = 0.001  # for requests in flight to join a model call
MAX_BATCH_WAIT_SECONDS = 0.1
DEFAULT_MAX_REQUEST_ROWS = 10_000  # rows in one /predict body; more is a 422
DEFAULT_LOG_MAX_BYTES = 100_000_000  # then requests-DAY.N.jsonl
DEFAULT_LOG_QUEUE_ROWS = 100_000  # rows waiting for the writer; beyond: dropped, counted
DEFAULT_LOG_CHECK_SECONDS = 1.0  # how often the log file's identity is checked (deleted, rotated)
DEFAULT_RELOAD_SECONDS = 1.0
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0  # a request's headers, from the connection or the last answer
MAX_ERRORS_SHOWN = 100  # per 422 answer
MAX_UNKNOWN_FIELD_NAMES = 50  # distinct names counted in /metrics; the rest as "_other"
MAX_FIELD_NAME_CHARS = 64  # a longer unknown field name is counted as "_other"
MAX_FIELD_DEPTH = 32  # nesting of a field the model does not use (it is logged; skew reads it)
MAX_DRAIN_BYTES = 16 << 20  # of a body over the limit, read and dropped before the 413
MAX_DRAIN_SECONDS = 5.0  # and for at most this long
MAX_NUMBER = 1e100  # |x| above it is refused: no measurement; a scaler would overflow to inf

DROP_REASONS = ("queue_full", "disk_full", "io_error", "not_permitted", "file_deleted", "error")
"""Why rows were not logged: the ``reason`` label of ``mlprod_request_log_dropped_total``."""

ENDPOINTS = ("/predict", "/health", "/ready", "/metadata", "/metrics", "/openapi.json")


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
    batch_wait: float = DEFAULT_BATCH_WAIT_SECONDS  # seconds; --batch-wait-ms
    max_request_rows: int = DEFAULT_MAX_REQUEST_ROWS
    log_max_bytes: int = DEFAULT_LOG_MAX_BYTES
    log_queue_rows: int = DEFAULT_LOG_QUEUE_ROWS
    reload_seconds: float = DEFAULT_RELOAD_SECONDS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    rules_from_file: bool = (
        False  # serve with the project's rules file even when a version's differ
    )
