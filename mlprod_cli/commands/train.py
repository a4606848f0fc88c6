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
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.train import train as do_train
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.errors import UsageError

    if model_only and baseline_only:
        raise UsageError("--model-only and --baseline-only exclude each other")
    kinds = ("model",) if model_only else ("baseline",) if baseline_only else ("baseline", "model")
    workspace = Workspace.load()
    config = workspace.config
    with console.steps() as report:
        result = do_train(
            workspace,
            data_path=data,
            kinds=kinds,
            activate=activate,
            force=force,
            cv=cv,
            progress=report,
        )
    for warning in result.warnings:
        console.status(f"warning: {warning}")
    console.write_result(render(config, result, format), output)
    return 0


def _objective(config, version) -> str:
    from mlprod_cli.core.evaluate import value_from_dict
    from mlprod_cli.render import number

    validation = version.metadata.get("validation", {}).get("report")
    if config.metrics.objective is None or not validation:
        return "—"
    return number(value_from_dict(validation, config.metrics.objective))


def render(config, result, format: Format) -> str:
    from mlprod_cli.render import table, to_json

    if format is Format.json:
        return to_json(
            {
                "versions": [
                    {
                        "version": v.id,
                        "kind": v.kind,
                        "fit_seconds": v.metadata.get("fit_seconds"),
                        "validation": v.metadata.get("validation"),
                    }
                    for v in result.versions
                ],
                "activated": result.activated,
                "split": result.split,
                "data": result.data,
            }
        )
    objective = str(config.metrics.objective) if config.metrics.objective else "objective"
    rows = [
        (
            v.id,
            v.kind,
            v.metadata.get("estimator", "").rsplit(".", 1)[-1],
            f"{v.metadata.get('fit_seconds', 0):.2f}",
            _objective(config, v),
            "yes" if v.id in result.activated else "no",
        )
        for v in result.versions
    ]
    split = result.split
    title = f"trained on {split.get('train_rows')} rows, test split {split.get('test_rows')} rows held out"
    text = table(
        ["version", "kind", "estimator", "fit s", f"{objective} (cv)", "active"],
        rows,
        title=title,
        right=(3, 4),
    )
    if not result.activated:
        ids = " / ".join(v.id for v in result.versions)
        text += f"\nnext: mlprod models activate VERSION   (new: {ids})"
    return text
