"""``mlprod train``: fit the heuristic baseline and the model; register both."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import Format, FormatOption, OutputOption

HELP = """Fit the baseline and the model on the training split and register both as versions.

New versions are not active until 'mlprod models activate' (or --activate here),
and a model is activated only if it passes the gates in mlprod.yaml.
"""


def register(app: typer.Typer) -> None:
    app.command("train", help=HELP)(train)


def train(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Train on this CSV/Parquet file instead of data.train.", dir_okay=False
        ),
    ] = None,
    model_only: Annotated[bool, typer.Option("--model-only", help="Fit only the model.")] = False,
    baseline_only: Annotated[
        bool, typer.Option("--baseline-only", help="Fit only the baseline.")
    ] = False,
    activate: Annotated[
        bool,
        typer.Option("--activate", help="Activate the new versions (model: if its gates pass)."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --activate: activate even if gates fail.")
    ] = False,
    cv: Annotated[
        int,
        typer.Option(
            "--cv", min=0, help="Folds for validation metrics on the training split (0: none)."
        ),
    ] = 5,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Fit and cross-validate, register nothing: what a train would give.",
        ),
    ] = False,
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.train import train as do_train
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.errors import UsageError
    from mlprod_cli.render.train import render

    if model_only and baseline_only:
        raise UsageError("--model-only and --baseline-only exclude each other")
    kinds = ("model",) if model_only else ("baseline",) if baseline_only else ("baseline", "model")
    workspace = Workspace.load()
    with console.steps() as report:
        result = do_train(
            workspace,
            data_path=data,
            kinds=kinds,
            activate=activate,
            force=force,
            cv=cv,
            progress=report,
            register=not dry_run,
        )
    console.warn(result.warnings)
    console.write_result(render(result, workspace.config.metrics.objective, format.value), output)
    return 0
