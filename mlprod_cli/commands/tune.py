"""``mlprod tune``: hyperparameter search on the training split, by the objective."""

from __future__ import annotations

from typing import Annotated

import typer

from mlprod_cli.options import Format, FormatOption, OutputOption

HELP = """Search the model's parameters ('tune:' in mlprod.yaml) with cross-validation.

Scored by the project's objective metric on the training split only (the test
split is never used), on every core. The best candidate is refitted and
registered as a new model version holding the whole search in its metadata.
"""


def register(app: typer.Typer) -> None:
    app.command("tune", help=HELP)(tune)


def tune(
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel fits (-1: every core).")] = -1,
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.train import tune as do_tune
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.render.tune import render

    workspace = Workspace.load()
    with console.progress("searching") as advance:
        result = do_tune(workspace, progress=advance, n_jobs=jobs)
    console.write_result(render(result, format.value), output)
    return 0
