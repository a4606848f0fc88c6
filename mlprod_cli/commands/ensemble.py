"""``mlprod ensemble``: register a soft vote or a stack of model versions."""

from __future__ import annotations

from typing import Annotated

import typer

from mlprod_cli.options import CvOption, ForceOption, Format, FormatOption, OutputOption

HELP = """Combine model versions into one new model version (an ensemble).

--method vote averages the members' probabilities (a soft vote; their values for
a regression); --method stack fits a logistic regression (ridge, for a
regression) on the members' out-of-fold outputs. The members' recipes are fitted
again on the training split and the ensemble is cross-validated, gated,
activated, served and packaged like any version; its metadata names the members.
"""


def register(app: typer.Typer) -> None:
    app.command("ensemble", help=HELP)(ensemble)


def ensemble(
    versions: Annotated[
        list[str], typer.Argument(help="Two model versions or more (v0002 v0004 …).")
    ],
    method: Annotated[
        str, typer.Option("--method", help="vote (soft vote) or stack.", show_default=True)
    ] = "vote",
    activate: Annotated[
        bool, typer.Option("--activate", help="Activate the ensemble if its gates pass.")
    ] = False,
    force: ForceOption = False,
    cv: CvOption = 5,
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli.commands.train import run_registering
    from mlprod_cli.core.ensemble import build_ensemble
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.render.train import render_ensemble

    workspace = Workspace.load()
    return run_registering(
        output,
        "ensemble",
        lambda report: build_ensemble(
            workspace,
            list(versions),
            method=method,
            activate=activate,
            force=force,
            cv=cv,
            progress=report,
        ),
        lambda result: render_ensemble(result, workspace.config.metrics.objective, format.value),
    )
