"""``mlprod analyze``: a classifier's worst errors, confusions, found slices, suspected labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import ModelOption, OutputOption, ReportFormat, ReportFormatOption

HELP = """Look for a model's errors, and for errors in the data's labels.

The active model (else the newest; or --model VERSION) on the test split (or
--split train): its most confident errors with their features, the most
frequent confusions, and the slices whose error rate differs from the rest
beyond chance (95 % Wilson intervals, over every column of few values and the
deciles of numeric ones). Suspected label errors come from confident learning
(cleanlab) on out-of-fold probabilities over the training split and the
model's scores on the test split; --export writes them as CSV for review.
"""


def register(app: typer.Typer) -> None:
    app.command("analyze", help=HELP)(analyze)


def analyze(
    model: ModelOption("A version id (default: the active model, else the newest).") = None,
    split: Annotated[
        str, typer.Option("--split", help="The split whose errors are shown: test or train.")
    ] = "test",
    top: Annotated[int, typer.Option("--top", help="Rows of each list shown.")] = 10,
    folds: Annotated[
        int, typer.Option("--folds", help="Folds of the out-of-fold probabilities on training.")
    ] = 5,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export", help="Write every suspected label error to this CSV file, for review."
        ),
    ] = None,
    format: ReportFormatOption = ReportFormat.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.analyze import analyze as do_analyze
    from mlprod_cli.core.analyze import write_label_issues
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.errors import UsageError
    from mlprod_cli.render.analyze import check_format, render

    check_format(format.value)
    if export is not None and output is not None and export.resolve() == output.resolve():
        raise UsageError(f"--export and --output both name {export}: give two files")
    workspace = Workspace.load()
    # both files' temporaries first: one that cannot be written is said before the work
    files = [
        console.open_output(p, option) if p is not None else None
        for p, option in ((export, "--export"), (output, "--output"))
    ]
    try:
        with console.steps() as report:
            result = do_analyze(
                workspace, version_id=model, split=split, top=top, folds=folds, progress=report
            )
        text = render(result, format.value, export=export)
        if files[0] is not None:
            console.commit_output(files[0], write_label_issues(result))
        if files[1] is None:
            console.write_result(text)
        else:
            console.commit_output(files[1], text)
    finally:
        for file in files:
            if file is not None:
                file.abort()
    console.warn(result.warnings)
    return 0
