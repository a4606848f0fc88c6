"""``mlprod skew``: training data against serving data, feature by feature."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import ModelOption, OutputOption, ReportFormat, ReportFormatOption

HELP = """Compare the training data with what the model is served: schema, distributions, predictions.

Reference: the training split of the model version that served the request log
(else the active model, or --model VERSION), or --reference FILE. Current: the
request log under skew.serving_log in mlprod.yaml (every *.jsonl file, as
'mlprod serve' writes it), or --current FILE (CSV, Parquet or JSON Lines;
repeatable). Logged rows are re-scored offline with the version that served
them: a served class or score that differs means serving computes a feature
differently from training (prediction skew).

Every feature gets ok, warn or fail by the thresholds of skew.thresholds and
skew.features (docs/skew.md). Exit code 1 when something fails (--fail-on warn:
when something warns), 2 on bad input.
"""


class FailOn(str, Enum):
    fail = "fail"
    warn = "warn"


def register(app: typer.Typer) -> None:
    app.command("skew", help=HELP)(skew)


def skew(
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            "-r",
            help="Training data to compare with (.csv or .parquet) instead of the model's training split.",
            dir_okay=False,
        ),
    ] = None,
    current: Annotated[
        list[Path] | None,
        typer.Option(
            "--current",
            "-c",
            help="Serving data (.csv, .parquet or .jsonl) instead of the request log; repeatable.",
            dir_okay=False,
        ),
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option(
            "--log",
            help="Read the request log from this folder instead of skew.serving_log.",
            file_okay=False,
        ),
    ] = None,
    model: ModelOption(
        "The model version (default: the one that served the newest log line, else the active model)."
    ) = None,
    fail_on: Annotated[
        FailOn,
        typer.Option("--fail-on", help="Exit 1 on 'fail' (default) or already on 'warn'."),
    ] = FailOn.fail,
    batch_rows: Annotated[
        int,
        typer.Option("--batch-rows", min=1, help="Rows per batch of CSV and Parquet serving data."),
    ] = 131_072,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Rebuild the training summary instead of reading .mlprod/skew-cache/.",
        ),
    ] = False,
    format: ReportFormatOption = ReportFormat.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import skew as core
    from mlprod_cli.errors import UsageError
    from mlprod_cli.render import skew as render

    if format is ReportFormat.html:
        render.check_html()  # before anything is read
    if current and log is not None:
        raise UsageError("--current and --log exclude each other")
    request = core.SkewRequest(
        reference=reference,
        current=tuple(current or ()),
        log_dir=log,
        version_id=model,
        batch_rows=batch_rows,
        use_cache=not no_cache,
        step_per_file=console.is_interactive(),
    )
    workspace = core.project_workspace()
    with console.steps() as report:
        run = core.run_skew(workspace, request, progress=report)
    console.write_result(render.render(run, format.value, fail_on=fail_on.value), output)
    console.warn(run.notes, kind="note")
    if render.failed(run, fail_on.value):
        console.status(render.headline(run, fail_on.value))
        return 1
    return 0
