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
    from mlprod_cli.errors import MlprodError
    from mlprod_cli.render.tune import render

    workspace = Workspace.load()
    # --output's temporary first: an output that cannot be written is said before the search.
    result_file = console.open_output(output) if output is not None else None
    try:
        with console.progress("searching") as advance:
            result = do_tune(workspace, progress=advance, n_jobs=jobs)
        text = render(result, format.value)
        if result_file is None:
            console.write_result(text)
            return 0
        try:
            console.commit_output(result_file, text)
        except MlprodError as exc:
            raise MlprodError(
                f"{exc.message}; tune registered {result.version.id}",
                hint=f"'mlprod models show {result.version.id}' shows the search",
            ) from None
    finally:
        if result_file is not None:
            result_file.abort()  # (after a commit, nothing is left to remove)
    return 0
