"""``mlprod train``: fit the heuristic baseline and the model; register both."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import CvOption, ForceOption, Format, FormatOption, OutputOption

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
    force: ForceOption = False,
    cv: CvOption = 5,
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
    from mlprod_cli.core.train import train as do_train
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.errors import UsageError
    from mlprod_cli.render.train import render

    if model_only and baseline_only:
        raise UsageError("--model-only and --baseline-only exclude each other")
    kinds = ("model",) if model_only else ("baseline",) if baseline_only else ("baseline", "model")
    workspace = Workspace.load()
    return run_registering(
        output,
        "train",
        lambda report: do_train(
            workspace,
            data_path=data,
            kinds=kinds,
            activate=activate,
            force=force,
            cv=cv,
            progress=report,
            register=not dry_run,
        ),
        lambda result: render(result, workspace.config.metrics.objective, format.value),
    )


def run_registering(output, command: str, work, render) -> int:
    """Run a command that registers versions: ``work(report)``, then ``render(result)`` out.

    ``--output``'s temporary is made first: an output that cannot be written at
    all is said before anything is fitted or registered. ``train``, ``ensemble``
    and ``distill`` register before they write their result.
    """
    from mlprod_cli import console

    result_file = console.open_output(output) if output is not None else None
    try:
        with console.steps() as report:
            result = work(report)
        text = render(result)
        if result_file is None:
            console.write_result(text)
        else:
            commit_registered_output(result_file, text, result, command)
    finally:
        if result_file is not None:
            result_file.abort()  # (after a commit, nothing is left to remove)
    console.warn(result.warnings)
    return 0


def commit_registered_output(result_file, text: str, result, command: str) -> None:
    """Write --output; when that fails after versions were registered, the error says which.

    ``train``, ``ensemble`` and ``distill`` register before they write their result.
    """
    from mlprod_cli import console
    from mlprod_cli.core.words import plural
    from mlprod_cli.errors import MlprodError

    try:
        console.commit_output(result_file, text)
    except MlprodError as exc:
        if not result.versions:
            raise
        ids = ", ".join(v.id for v in result.versions)
        done = f"registered {plural(len(result.versions), 'version')} ({ids})"
        if result.activated:
            done += f" and activated {', '.join(result.activated)}"
        raise MlprodError(
            f"{exc.message}; {command} {done}",
            hint="'mlprod models list' shows them; 'mlprod models show VERSION' the report",
        ) from None
