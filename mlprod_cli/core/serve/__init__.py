"""``mlprod serve``: online predictions over HTTP, with a request log for skew.

:func:`prepare` checks everything a server needs and binds its port;
:meth:`PreparedServer.run` runs uvicorn around :func:`create_app`.
"""

from __future__ import annotations

from mlprod_cli.core.serve._server import (
    ENDPOINTS,
    MAX_ERRORS_SHOWN,
    MAX_FIELD_DEPTH,
    Batcher,
    LoadedModel,
    Metrics,
    ModelHolder,
    ModelWatcher,
    PreparedServer,
    RequestLog,
    ServeOptions,
    app_from_environment,
    create_app,
    load_model,
    openapi_document,
    prepare,
    request_log_files,
)

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
