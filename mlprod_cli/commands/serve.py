"""``mlprod serve``: online predictions over HTTP for the active model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import ModelOption, RulesFromFileOption

HELP = """Serve the active model (or --model VERSION) over HTTP until stopped.

POST /predict takes one row (a JSON object keyed by feature name) or a list
of rows, checks them against the training schema and answers the class and a
score per class; with the version's rules (rules.yaml), the rules' answer and
the ids of the rules that fired. GET /health, /ready, /metadata and /metrics (Prometheus) are
for probes and monitoring; GET /openapi.json describes the API. Every served row and its prediction is appended to
the request log (JSON Lines under --log-dir), which 'mlprod skew' reads.
'mlprod models activate' is picked up without a restart; SIGHUP checks at
once and reopens the request log (after logrotate).
See docs/serve.md.
"""


def register(app: typer.Typer) -> None:
    app.command("serve", help=HELP)(serve)


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Address to listen on [default: serve.host of mlprod.yaml, 127.0.0.1]. "
            "0.0.0.0 listens on every interface (in a container).",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", "-p", min=0, max=65535, help="Port [default: serve.port, 8000]."),
    ] = None,
    model: ModelOption("Serve this version, pinned: activations are not followed.") = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Server processes (uvicorn workers).")
    ] = 1,
    log_dir: Annotated[
        Path | None,
        typer.Option(
            "--log-dir",
            file_okay=False,
            help="Folder of the request log [default: skew.serving_log of mlprod.yaml].",
        ),
    ] = None,
    max_body_bytes: Annotated[
        int,
        typer.Option("--max-body-bytes", min=1, help="Larger request bodies get 413."),
    ] = 1 << 20,
    max_batch_rows: Annotated[
        int,
        typer.Option(
            "--max-batch-rows",
            min=1,
            help="Rows of queued requests scored in one model call (1: one request per call).",
        ),
    ] = 256,
    batch_wait_ms: Annotated[
        float,
        typer.Option(
            "--batch-wait-ms",
            min=0,
            max=100,
            help="Milliseconds the inference thread waits for requests in flight to join a "
            "model call (only while other requests are in flight; 0: never waits).",
        ),
    ] = 1.0,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Do every start-up step (config, hash, model load, port, log folder), then exit "
            "instead of serving: a smoke test, and how an image build compiles what serving imports.",
        ),
    ] = False,
    max_request_rows: Annotated[
        int,
        typer.Option(
            "--max-request-rows",
            min=1,
            help="Rows one /predict request may send; more get 422.",
        ),
    ] = 10_000,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            min=0.1,
            max=3600,
            help="Seconds a client has to send a request's headers (from connecting, or from "
            "the previous answer); slower connections are closed.",
        ),
    ] = 10.0,
    rules_from_file: RulesFromFileOption = False,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.registry import check_version_id
    from mlprod_cli.core.serve import ServeOptions, prepare
    from mlprod_cli.core.workspace import Workspace

    workspace = Workspace.load(need_data=False)
    options = ServeOptions(
        host=host,
        port=port,
        workers=1 if check else workers,  # --check loads the model in this process
        log_dir=log_dir.resolve() if log_dir is not None else None,
        max_body_bytes=max_body_bytes,
        model=check_version_id(model) if model else None,
        max_batch_rows=max_batch_rows,
        batch_wait=batch_wait_ms / 1000,
        max_request_rows=max_request_rows,
        header_timeout=header_timeout,
        rules_from_file=rules_from_file,
    )
    server = prepare(workspace, options)
    version = server.version
    rules = _rules_words(server)
    if check:
        server.socket.close()
        console.status(f"ready to serve {version.id} ({version.kind}){rules} at {server.url}")
        return 0
    pinned = " (pinned)" if model else ""
    console.status(
        f"serving {version.id}{pinned}, {version.kind}{rules}, at {server.url} "
        f"with {workers} worker{'s' if workers > 1 else ''}; "
        f"request log in {server.log_dir}; Ctrl-C stops"
    )
    server.run()
    console.status("stopped")
    return 0


def _rules_words(server) -> str:
    """ ", with 3 rules (rules.yaml)" for a version served with rules, else ""."""
    from mlprod_cli.core.words import plural

    ruleset = server.rules
    if ruleset is None:
        return ""
    return f", with {plural(len(ruleset.ids), 'rule')} ({ruleset.path.name})"
