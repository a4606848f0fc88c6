"""Running a server: :func:`prepare` checks everything it needs and binds its
port, :meth:`PreparedServer.run` runs uvicorn around :func:`create_app` (one
process, or uvicorn's supervisor of ``--workers N``), and
:func:`app_from_environment` is what each of those workers runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import shutil
import signal
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlprod_cli.core.serve._app import create_app
from mlprod_cli.core.serve._connections import HEADER_TIMEOUT_ATTRIBUTE, PROTOCOL, Listener
from mlprod_cli.core.serve._model import LoadedModel
from mlprod_cli.core.serve._options import MAX_BATCH_WAIT_SECONDS, ServeOptions
from mlprod_cli.core.serve._watcher import freeze_heap
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import MlprodError, UsageError

SETTINGS_ENV = "MLPROD_SERVE_SETTINGS"  # how --workers N hands settings to each worker
# prometheus_client's multiprocess mode: the folder of every worker's metric files.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def app_from_environment() -> Any:
    """The app for one of ``--workers N`` processes (uvicorn calls this in each worker)."""
    settings = json.loads(os.environ[SETTINGS_ENV])
    workspace = Workspace.load(Path(settings.pop("root")), need_data=False)
    if settings.get("log_dir"):
        settings["log_dir"] = Path(settings["log_dir"])
    metrics_dir = os.environ.get(METRICS_DIR_ENV)
    app = create_app(
        workspace,
        ServeOptions(**settings),
        metrics_dir=Path(metrics_dir) if metrics_dir else None,
    )
    freeze_heap(start=True)
    return app


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
    rules: Any = None  # the RuleSet the version is served with, or None

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
            http=PROTOCOL,  # uvicorn's, with a time limit on a request's headers
        )
        if self.options.workers > 1:
            self._run_workers(uvicorn, common)
            return
        # One process counts in memory: a PROMETHEUS_MULTIPROC_DIR inherited from the
        # shell would make prometheus_client (imported by create_app) write files there.
        for name in (METRICS_DIR_ENV, METRICS_DIR_ENV.lower()):
            os.environ.pop(name, None)
        app = create_app(self.workspace, self.options, model=self.model)
        freeze_heap(start=True)
        config = uvicorn.Config(app, **common)
        setattr(config, HEADER_TIMEOUT_ATTRIBUTE, self.options.header_timeout)
        server = _server_class()(config)
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
        SIGHUP. Each worker builds its app from :data:`SETTINGS_ENV` and keeps
        its metrics in files of a folder made for this run (:data:`METRICS_DIR_ENV`),
        which a scrape of any worker adds up; the folder is removed at the end.
        """
        import inspect

        from uvicorn.supervisors import Multiprocess

        settings = {
            "root": str(self.workspace.root),
            "model": self.options.model,
            "log_dir": str(self.log_dir),
            "max_body_bytes": self.options.max_body_bytes,
            "max_batch_rows": self.options.max_batch_rows,
            "batch_wait": self.options.batch_wait,
            "max_request_rows": self.options.max_request_rows,
            "log_max_bytes": self.options.log_max_bytes,
            "log_queue_rows": self.options.log_queue_rows,
            "reload_seconds": self.options.reload_seconds,
            "header_timeout": self.options.header_timeout,
            "rules_from_file": self.options.rules_from_file,
        }
        os.environ[SETTINGS_ENV] = json.dumps(settings)
        metrics_dir = tempfile.mkdtemp(prefix="mlprod-serve-metrics-")
        os.environ[METRICS_DIR_ENV] = metrics_dir  # each worker inherits it
        config = uvicorn.Config(
            "mlprod_cli.core.serve:app_from_environment",
            factory=True,
            workers=self.options.workers,
            **common,
        )
        setattr(config, HEADER_TIMEOUT_ATTRIBUTE, self.options.header_timeout)
        # Each worker listens on a socket of its own, bound to the same port with
        # SO_REUSEPORT: the kernel then spreads new connections evenly over the
        # workers. On one shared socket, the first worker to wake up accepted every
        # connection that was waiting (8 of 8, measured), and the other one idled.
        sockets = [_WorkerSocket(self.socket.family, self.socket.getsockname()[:2])]
        try:
            # uvicorn.run would bind a socket of its own without IPPROTO_TCP (see
            # _bind); older uvicorn releases take the worker function as `target`.
            if "target" in inspect.signature(Multiprocess).parameters:
                server = uvicorn.Server(config)
                Multiprocess(config, target=server.run, sockets=sockets).run()
            else:
                Multiprocess(config, sockets=sockets).run()
        finally:
            with contextlib.suppress(OSError):
                self.socket.close()
            os.environ.pop(METRICS_DIR_ENV, None)
            shutil.rmtree(metrics_dir, ignore_errors=True)


class _WorkerSocket:
    """What ``--workers N`` hands each worker instead of a socket: pickled to the
    worker, it comes out as a :class:`Listener` of the worker's own, bound to the
    server's address with ``SO_REUSEPORT`` (the parent's bound socket has it too,
    and holds the port; it never listens, so it is given no connections)."""

    def __init__(self, family: int, address: tuple[Any, ...]):
        self.family = family
        self.address = address

    def __reduce__(self) -> tuple[Any, ...]:
        return (_listen_in_worker, (self.family, self.address))


def _listen_in_worker(family: int, address: tuple[Any, ...]) -> socket.socket:
    sock = Listener(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


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


def _bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """The server's socket, bound (not listening). ``reuse_port``: for ``--workers
    N``, whose workers bind sockets of their own to the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets that say they are TCP. With Nagle on, a response written as headers
    # then body waits for the client's delayed ACK: 40 ms on every request.
    sock = Listener(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # see _connections
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
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


def _make_log_dir(log_dir: Path) -> None:
    """Make the log folder and prove that a file can be written there; on a failure
    (a full disk, EPERM), remove the probe and the folders made, then raise."""
    missing = []
    folder = log_dir
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    probe = log_dir / f".write-test-{os.getpid()}"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
    except OSError:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
        for made in missing:  # deepest first
            with contextlib.suppress(OSError):
                made.rmdir()
        raise
    probe.unlink()


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
        missing = exc.name
    else:
        # Found, not imported: its import fixes its process mode (see PreparedServer.run).
        missing = None if importlib.util.find_spec("prometheus_client") else "prometheus_client"
    if missing is not None:
        raise UsageError(
            f"serve needs FastAPI, uvicorn and prometheus_client, which are not installed ({missing} is missing)",
            hint="pip install 'mlprod[serve]'",
        )
    if options.workers < 1:
        raise UsageError(f"--workers {options.workers}: must be at least 1")
    if options.max_body_bytes < 1:
        raise UsageError(f"--max-body-bytes {options.max_body_bytes}: must be at least 1")
    if options.max_request_rows < 1:
        raise UsageError(f"--max-request-rows {options.max_request_rows}: must be at least 1")
    if not 0 <= options.batch_wait <= MAX_BATCH_WAIT_SECONDS:  # NaN too
        raise UsageError(
            f"--batch-wait-ms {options.batch_wait * 1000:g}: must be from 0 to {MAX_BATCH_WAIT_SECONDS * 1000:g}"
        )
    if not 0 < options.header_timeout <= 3600:  # NaN too
        raise UsageError(
            f"--header-timeout {options.header_timeout}: must be more than 0 and at most 3600 seconds"
        )
    config = workspace.config
    host = options.host or config.serve.host
    port = options.port if options.port is not None else config.serve.port
    log_dir = workspace.request_log(options.log_dir)
    registry = workspace.registry
    version = registry.resolve(options.model)
    registry.verify(version)
    from mlprod_cli.core.predict import version_rules

    # Rules that differ from the project's file are refused before the port is bound.
    rules = version_rules(workspace, version, from_file=options.rules_from_file)
    # Bound before the log folder is made: a host or port it cannot use leaves no folder.
    sock = _bind(host, port, reuse_port=options.workers > 1)
    port = sock.getsockname()[1]  # the one the system chose for --port 0
    try:
        _make_log_dir(log_dir)
    except OSError as exc:
        sock.close()
        # Named where it came from: the option, or the key of mlprod.yaml.
        source = "--log-dir" if options.log_dir is not None else "skew.serving_log of mlprod.yaml:"
        import errno

        why = "not a folder" if exc.errno in (errno.EEXIST, errno.ENOTDIR) else exc.strerror or exc
        raise UsageError(
            f"{source} {log_dir}: cannot write the request log there ({why})"
        ) from None
    model = None
    if options.workers == 1:  # several workers load it each, in their own process
        try:
            model = LoadedModel(
                version, registry.load(version), pinned=options.model is not None, rules=rules
            )
        except BaseException:
            sock.close()
            raise
    options = dataclasses.replace(options, log_dir=log_dir)
    return PreparedServer(workspace, options, host, port, log_dir, version, model, sock, rules)
