"""Connections the server cannot or should not keep: a time limit on a
request's headers (:data:`PROTOCOL`), and accepting while out of file
descriptors (:func:`guard_accept`).

**Headers.** uvicorn closes an idle keep-alive connection after
``timeout_keep_alive`` (5 s), but neither uvicorn nor h11 sets a limit on the
time a client may take to send a request's headers: a client that opens a
connection and sends nothing, or half a request line, holds a descriptor for
as long as it likes (a few hundred such connections exhaust a server). The
protocol here is uvicorn's own (httptools when installed, else h11) with one
timer more: from a connection's start, and from the end of each response, the
next request's headers must be complete within ``--header-timeout`` seconds
or the connection is closed. A request whose headers arrived is never cut,
however long its body or its prediction takes.

**Out of descriptors.** When ``accept()`` fails with EMFILE (or ENFILE,
ENOBUFS, ENOMEM), asyncio stops listening for a second and retries. But its
accept loop goes on after the failure, up to the listen backlog (2048 with
uvicorn) times per wake-up, and each attempt reports a traceback to the loop's
exception handler and schedules one more retry: tens of thousands of
tracebacks in seconds (measured: 56,037 in 6 s), and as many retries left
pending that fail again once the socket is closed. Two guards:

* :class:`Listener`, the listening socket (one process): after a failure,
  ``accept()`` says "nothing waiting" for :data:`BACKOFF_SECONDS`, so asyncio's
  loop stops at the first failure and one retry is scheduled, a second later.
* :func:`guard_accept`, the loop's exception handler (every worker): one log
  line per episode (failures less than :data:`EPISODE_GAP_SECONDS` apart),
  every failure counted in ``mlprod_accept_errors_total``, and the retries
  still pending when the server stops listening dropped silently.

New connections wait in the kernel's backlog meanwhile, and are accepted once
descriptors are free again (the header timeout frees idle ones).

Importing this module costs the standard library only; the protocol class is
built from uvicorn's on first use (uvicorn finds it by name, :data:`PROTOCOL`).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import time
from typing import Any

from mlprod_cli.core.serve._options import DEFAULT_HEADER_TIMEOUT_SECONDS

logger = logging.getLogger("mlprod.serve")

PROTOCOL = "mlprod_cli.core.serve._connections:HeaderTimeoutProtocol"
"""What ``uvicorn.Config(http=…)`` is given: a name, so that workers can import it."""

HEADER_TIMEOUT_ATTRIBUTE = "mlprod_header_timeout"
"""The attribute of uvicorn's Config that carries ``--header-timeout`` to the protocol."""

EPISODE_GAP_SECONDS = 10.0
BACKOFF_SECONDS = 0.5  # less than asyncio's retry delay (1 s), more than one wake-up
_ACCEPT_ERRNOS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class Listener(socket.socket):
    """A listening socket whose ``accept()``, for :data:`BACKOFF_SECONDS` after
    running out of descriptors, raises BlockingIOError ("nothing waiting")
    instead of failing again: asyncio's accept loop then stops at once."""

    _resting_until = 0.0

    def accept(self) -> tuple[socket.socket, Any]:
        if time.monotonic() < self._resting_until:
            raise BlockingIOError(errno.EAGAIN, "resting after running out of descriptors")
        try:
            return super().accept()
        except OSError as exc:
            if exc.errno in _ACCEPT_ERRNOS:
                self._resting_until = time.monotonic() + BACKOFF_SECONDS
            raise


def guard_accept(loop: Any, metrics: Any) -> Any:
    """Install the loop's exception handler for accept failures; returns the previous one."""
    previous = loop.get_exception_handler()
    last = [float("-inf")]

    def handle(loop: Any, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = str(context.get("message", ""))
        if isinstance(exc, ValueError) and "_start_serving" in message:
            return  # a retry of accept due after the server stopped listening
        if not (isinstance(exc, OSError) and exc.errno in _ACCEPT_ERRNOS and "accept" in message):
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        metrics.accept_failed(errno.errorcode.get(exc.errno, str(exc.errno)))
        now = time.monotonic()
        if now - last[0] > EPISODE_GAP_SECONDS:
            logger.warning(
                "cannot accept connections: %s (%s open, limit %s); new ones wait, retried "
                "every second (mlprod_accept_errors_total counts the attempts)",
                exc.strerror or exc,
                _open_descriptors(),
                _descriptor_limit(),
            )
        last[0] = now

    loop.set_exception_handler(handle)
    return previous


def _open_descriptors() -> str:
    try:
        return str(len(os.listdir("/proc/self/fd")))
    except OSError:  # no /proc, or no descriptor left to read it with
        return "?"


def _descriptor_limit() -> str:
    try:
        import resource

        return str(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    except (ImportError, OSError, ValueError):
        return "?"


def _protocol_class() -> type:
    """uvicorn's HTTP protocol (as ``http="auto"`` picks it) with a header timeout."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class HeaderTimeoutProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            self._header_timeout = getattr(
                config, HEADER_TIMEOUT_ATTRIBUTE, DEFAULT_HEADER_TIMEOUT_SECONDS
            )
            self._header_timer: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self._header_timer = self.loop.call_later(
                    self._header_timeout, self._headers_late, self.cycle
                )

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self, cycle: Any) -> None:
            # No request began since the timer was set (a pipelined one makes a new
            # cycle), and none is being answered: the headers are late.
            self._header_timer = None
            waiting = self.cycle is None or self.cycle.response_complete
            if self.cycle is cycle and waiting and not self.transport.is_closing():
                self.transport.close()

    HeaderTimeoutProtocol.__module__ = __name__
    HeaderTimeoutProtocol.__qualname__ = "HeaderTimeoutProtocol"
    return HeaderTimeoutProtocol


def __getattr__(name: str) -> Any:
    # uvicorn imports the protocol by name (PROTOCOL); it is built on that first use.
    if name == "HeaderTimeoutProtocol":
        cls = _protocol_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
