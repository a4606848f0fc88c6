"""The FastAPI application (:func:`create_app`): the routes, what they share
(:class:`_State`), and how each refusal is answered.

Unlike the rest of core, a server reports what happens while it runs (reloads,
failed loads, bugs) through :mod:`logging` on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import signal
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mlprod_cli.core.serve._batcher import Batcher
from mlprod_cli.core.serve._connections import guard_accept
from mlprod_cli.core.serve._json import describe, json_safe, utc_now
from mlprod_cli.core.serve._log import RequestLog
from mlprod_cli.core.serve._metrics import CONTENT_TYPE, Instrumented, Metrics
from mlprod_cli.core.serve._model import LoadedModel
from mlprod_cli.core.serve._openapi import openapi_document
from mlprod_cli.core.serve._options import (
    MAX_DRAIN_BYTES,
    MAX_DRAIN_SECONDS,
    MAX_ERRORS_SHOWN,
    ServeOptions,
)
from mlprod_cli.core.serve._watcher import ModelHolder, ModelWatcher
from mlprod_cli.core.workspace import Workspace

logger = logging.getLogger("mlprod.serve")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _parse_constant(name: str) -> float:
    # NaN, Infinity and -Infinity are not JSON; Python's parser accepts them. They
    # become floats here so that validation refuses them naming the field.
    return float(name.replace("Infinity", "inf"))


class _State:
    """What the routes share; ``app.state.mlprod`` in tests."""

    def __init__(
        self,
        workspace: Workspace,
        options: ServeOptions,
        *,
        metrics_dir: Path | None,
    ):
        self.workspace = workspace
        self.config = workspace.config
        self.options = options
        self.registry = workspace.registry
        self.metrics = Metrics(metrics_dir)
        self.holder = ModelHolder()
        self.batcher = Batcher(
            options.max_batch_rows, metrics=self.metrics, wait=options.batch_wait
        )
        log_dir = workspace.request_log(options.log_dir)
        self.log = RequestLog(
            log_dir,
            metrics=self.metrics,
            max_bytes=options.log_max_bytes,
            max_pending_rows=options.log_queue_rows,
        )
        self.watcher = ModelWatcher(
            self.registry,
            self.holder,
            self.metrics,
            pinned=options.model,
            interval=options.reload_seconds,
            rules_of=rules_of(workspace, from_file=options.rules_from_file),
        )

    def hangup(self) -> None:
        """SIGHUP: check the active model now, and reopen the request log (logrotate)."""
        self.watcher.request()
        self.log.reopen()


def rules_of(workspace: Workspace, *, from_file: bool) -> Any:
    """What a version is served with: its rules, checked against the project's file."""

    def of(version: Any) -> Any:
        from mlprod_cli.core.predict import version_rules

        return version_rules(workspace, version, from_file=from_file)

    return of


def create_app(
    workspace: Workspace,
    options: ServeOptions | None = None,
    *,
    model: LoadedModel | None = None,
    metrics_dir: Path | None = None,
) -> Any:
    """The FastAPI application serving the workspace's registry.

    ``model``: an already loaded version (the command loads it before binding
    the port, to fail fast). Without one, the active (or pinned) version is
    loaded here; if that fails the app starts anyway, answers 503 on
    ``/ready`` and ``/predict``, and the watcher keeps trying as
    ``active.json`` changes. The lifespan starts the watcher (and a SIGHUP
    handler when run in the main thread) and, at shutdown, stops it, lets the
    inference thread finish and flushes and closes the request log. SIGHUP
    checks the active model at once and reopens the request log.

    ``metrics_dir`` is for one of ``--workers N``: metrics in the folder all
    the workers share (``PROMETHEUS_MULTIPROC_DIR``, set before
    ``prometheus_client`` is imported). The workers share the request log's
    files too (see :mod:`._log`).
    """
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, Response

    options = options or ServeOptions()
    state = _State(workspace, options, metrics_dir=metrics_dir)
    if model is not None:
        state.holder.current = model
        state.metrics.loaded(model, previous=None)
    else:
        try:
            state.watcher.check()
        except Exception:  # the app still starts: /ready says 503, the watcher retries
            logger.exception("loading the model failed")
    max_body = options.max_body_bytes
    max_rows = options.max_request_rows

    @contextlib.asynccontextmanager
    async def lifespan(app) -> AsyncIterator[None]:
        # Left in place at the end: retries of accept may be due while the loop stops.
        guard_accept(asyncio.get_running_loop(), state.metrics)
        state.watcher.start()
        previous = None
        if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGHUP, lambda signum, frame: state.hangup())
        try:
            yield
        finally:
            if previous is not None:
                signal.signal(signal.SIGHUP, previous)
            state.watcher.stop()
            state.batcher.stop()
            state.log.close()
            state.metrics.close()

    app = FastAPI(
        title="mlprod serve",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.mlprod = state
    app.add_middleware(Instrumented, metrics=state.metrics)

    def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        try:
            content = json.dumps(
                body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode("utf-8")
        except ValueError:  # NaN in a version's metadata, a field named "\ud800" in a 422
            content = json.dumps(json_safe(body), ensure_ascii=False).encode("utf-8")
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
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    described: list[Any] = [None, b""]  # the model last described, its document

    async def openapi(request) -> Response:
        model = state.holder.current
        if described[0] is not model or not described[1]:
            described[1] = json.dumps(openapi_document(model, options)).encode("utf-8")
            described[0] = model
        return Response(described[1], media_type="application/json")

    async def predict(request) -> Response:
        batcher = state.batcher
        batcher.arrived()  # in flight until answered: the inference thread waits for it
        try:
            return await prediction(request)
        finally:
            batcher.left()

    async def prediction(request) -> Response:
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
            state.metrics.refused()
            what = "an empty array" if isinstance(payload, list) else describe(payload)
            error = {
                "type": "body_type",
                "loc": ["body"],
                "msg": f"expected a JSON object (one row) or a non-empty array of objects, got {what}",
            }
            return answer(422, {"detail": [error]}, headers)
        if len(rows) > max_rows:
            state.metrics.refused()
            error = {
                "type": "too_many_rows",
                "loc": ["body"],
                "msg": f"{len(rows)} rows: at most {max_rows} in one request (--max-request-rows); send them in several requests",
            }
            return answer(422, {"detail": [error]}, headers)
        checked = model.check(rows, single=single)
        if checked.errors:
            state.metrics.refused()
            return answer(422, {"detail": checked.errors[:MAX_ERRORS_SHOWN]}, headers)
        state.metrics.count_checked(checked)
        try:
            classes, scores, fired = await state.batcher.predict(
                model, checked.columns, len(rows), model.rule_columns(rows)
            )
        except Exception:
            logger.exception("request %s: %s failed to score %d rows", request_id, model.id, len(rows))  # fmt: skip
            return answer(500, {"detail": "prediction failed", "request_id": request_id}, headers)
        labels = model.labels
        if scores is None:
            score_maps = [None] * len(classes)
        else:
            score_maps = [dict(zip(labels, row, strict=True)) for row in scores]
        if model.regression:
            state.metrics.count_values(classes)
        else:
            state.metrics.count_predictions(classes)
        state.log.submit(utc_now(), request_id, model.id, rows, classes, score_maps, fired)
        if model.regression:
            answers = [{"value": v} for v in classes]
        elif fired is None:
            answers = [{"class": c, "scores": s} for c, s in zip(classes, score_maps, strict=True)]
        else:  # the rules' answers: the ids that fired, and whether they sent the row to a person
            answers = [
                {"class": c, "scores": s, "rules": list(f), "abstained": c is None}
                for c, s, f in zip(classes, score_maps, fired, strict=True)
            ]
        if single:
            result = {"model_version": model.id, **answers[0]}
        else:
            result = {"model_version": model.id, "predictions": answers}
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
