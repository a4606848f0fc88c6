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
    from mlprod_cli.render import number, table, to_json

    workspace = Workspace.load()
    with console.progress("searching") as advance:
        result = do_tune(workspace, progress=advance, n_jobs=jobs)
    if format is Format.json:
        data = {"version": result.version.id, "objective": result.objective, "search": result.search,
                "best_params": result.best_params, "candidates": result.candidates}  # fmt: skip
        console.write_result(to_json(data), output)
        return 0
    rows = [
        (
            c["rank"],
            ", ".join(f"{k}={v}" for k, v in c["params"].items()),
            number(c["mean"]),
            number(c["std"]),
        )
        for c in result.candidates
    ]
    title = f"{result.search} search: {len(rows)} candidates, ranked by {result.objective} (cross-validated)"
    text = table(
        ["rank", "parameters", f"{result.objective} mean", "std"],
        rows,
        title=title,
        right=(0, 2, 3),
    )
    text += f"\nregistered {result.version.id} with {', '.join(f'{k}={v}' for k, v in result.best_params.items())}"
    text += f"\nnext: mlprod models activate {result.version.id}"
    console.write_result(text, output)
    return 0
