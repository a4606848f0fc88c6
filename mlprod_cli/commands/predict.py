"""``mlprod predict IN --output OUT``: offline batch predictions to a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import Format, ModelOption, RulesFromFileOption, SummaryFormatOption

HELP = """Score a CSV or Parquet file with the active model (or --model VERSION).

Reads in batches, so any size fits in memory; checks every batch against the
training schema; writes the predicted class, a score per class and the model
version to OUTPUT (.csv or .parquet), atomically. When the version has rules,
they are applied: the rules' answer (empty when they abstain), the masked
scores, the rules that fired and an abstained column.
"""


def register(app: typer.Typer) -> None:
    app.command("predict", help=HELP)(predict)


def predict(
    input: Annotated[
        Path, typer.Argument(help="Rows to score (.csv or .parquet).", dir_okay=False)
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the predictions (.csv or .parquet).",
            dir_okay=False,
        ),
    ],
    model: ModelOption("A version id instead of the active model.") = None,
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", min=1, help="Rows per batch.")
    ] = 131_072,
    format: SummaryFormatOption = Format.table,
    rules_from_file: RulesFromFileOption = False,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.predict import predict_file
    from mlprod_cli.core.words import plural
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.render.predict import render

    workspace = Workspace.load(need_data=False)
    with console.steps() as report:
        report(f"scoring {input}")
        result = predict_file(
            workspace, input, output, version_id=model, batch_rows=batch_rows, rules_from_file=rules_from_file,
            # A line per batch would flood a CI log: live counts on a terminal only.
            progress=(lambda rows: report(f"scored {plural(rows, 'row')}")) if console.is_interactive() else None,
        )  # fmt: skip
    console.warn(result.warnings)
    console.write_result(render(result, format.value))
    return 0
