"""``mlprod serve``: online predictions over HTTP, with a request log for skew.

:func:`prepare` checks everything a server needs and binds its port;
:meth:`PreparedServer.run` runs uvicorn around :func:`create_app`. The pieces,
a module each:

* ``_options`` — :class:`ServeOptions` and the limits the server applies.
* ``_model`` — :class:`LoadedModel`: a registry version loaded (hash-checked,
  trusted types only) with its training schema compiled into row checks.
* ``_watcher`` — :class:`ModelWatcher` follows ``models/active.json`` and swaps
  a newly activated version into the :class:`ModelHolder`.
* ``_batcher`` — :class:`Batcher`: one inference thread that scores requests
  queued together in one model call.
* ``_log`` — :class:`RequestLog`: every served row and its prediction as JSON
  Lines, written off the request path.
* ``_metrics`` — :class:`Metrics`: the Prometheus metrics of ``/metrics``, through
  ``prometheus_client`` (its multiprocess mode adds up ``--workers N``).
* ``_openapi`` — :func:`openapi_document`, ``GET /openapi.json``.
* ``_app`` — :func:`create_app`, the FastAPI application and its routes.
* ``_runner`` — :func:`prepare`, :class:`PreparedServer` and uvicorn;
  :func:`app_from_environment` for each worker.
* ``_json`` — client values named in errors and made writable as UTF-8.

Imported by the serve command only. FastAPI, uvicorn, prometheus_client, numpy
and pandas are imported inside the functions that use them, so that importing
this package costs only the standard library.
"""

from __future__ import annotations

from mlprod_cli.core.serve._app import create_app
from mlprod_cli.core.serve._batcher import Batcher
from mlprod_cli.core.serve._log import RequestLog, request_log_files
from mlprod_cli.core.serve._metrics import Metrics
from mlprod_cli.core.serve._model import LoadedModel, load_model
from mlprod_cli.core.serve._openapi import openapi_document
from mlprod_cli.core.serve._options import (
    ENDPOINTS,
    MAX_ERRORS_SHOWN,
    MAX_FIELD_DEPTH,
    ServeOptions,
)
from mlprod_cli.core.serve._runner import PreparedServer, app_from_environment, prepare
from mlprod_cli.core.serve._watcher import ModelHolder, ModelWatcher

__all__ = [
    "ENDPOINTS",
    "MAX_ERRORS_SHOWN",
    "MAX_FIELD_DEPTH",
    "Batcher",
    "LoadedModel",
    "Metrics",
    "ModelHolder",
    "ModelWatcher",
    "PreparedServer",
    "RequestLog",
    "ServeOptions",
    "app_from_environment",
    "create_app",
    "load_model",
    "openapi_document",
    "prepare",
    "request_log_files",
]
