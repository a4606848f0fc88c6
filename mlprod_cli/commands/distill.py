"""``mlprod distill``: train a lighter student on a teacher version's outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import Format, FormatOption, OutputOption

HELP = """Distil a model version (the teacher) into a lighter student, beside a control.

The student learns the teacher's class probabilities (its values, for a
regression) over the training split and any --unlabelled rows; the same student
trained on the labels is the control. Teacher, student and control are compared
on the test split: artifact size, single-row p50/p99 through serving's path,
bulk µs per row, the objective, the gates, agreement with the teacher, slices.
The student is registered only if it meets --budget and is not worse than the
control beyond the tolerance (--register-anyway overrides).
"""


def register(app: typer.Typer) -> None:
    app.command("distill", help=HELP)(distill)


def distill(
    teacher: Annotated[str, typer.Option("--teacher", help="The model version to distil (v0004).")],
    student: Annotated[
        list[str] | None,
        typer.Option(
            "--student",
            help="tree, linear, boosting or mlp (repeat to try several; default tree, "
            "or all four with --budget).",
        ),
    ] = None,
    unlabelled: Annotated[
        list[Path] | None,
        typer.Option(
            "--unlabelled",
            help="More rows to learn the teacher on (CSV/Parquet, the features).",
            dir_okay=False,
        ),
    ] = None,
    budget: Annotated[
        str | None,
        typer.Option(
            "--budget",
            help="Bounds a student must meet, e.g. p99=5ms,size=5MB (p50, p99, size, bulk); "
            "tries each student in several sizes and keeps the Pareto front.",
        ),
    ] = None,
    register_anyway: Annotated[
        bool,
        typer.Option(
            "--register-anyway", help="Register the best student even if it has not earned it."
        ),
    ] = False,
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli.commands.train import run_registering
    from mlprod_cli.core.distill import distill as do_distill
    from mlprod_cli.core.distill import parse_budget
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.render.distill import render

    bounds = parse_budget(budget) if budget is not None else None
    workspace = Workspace.load()
    return run_registering(
        output,
        "distill",
        lambda report: do_distill(
            workspace,
            teacher,
            students=tuple(student or ()),
            unlabelled=tuple(unlabelled or ()),
            budget=bounds,
            register_anyway=register_anyway,
            progress=report,
        ),
        lambda result: render(result, format.value),
    )
