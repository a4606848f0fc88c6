"""``mlprod evaluate``: metrics you can trust, gates for CI, every run stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import ModelOption, OutputOption, ReportFormat, ReportFormatOption

HELP = """Evaluate a model version on the test split, or any predictions file, behind the gates.

In a project: the active model (else the newest; or --model VERSION) on the
test split, with the baseline it must beat and the active model side by side,
per slice, and every gate of mlprod.yaml (the gates models activate checks). Anywhere: --predictions FILE --label-col C --pred-col C
[--score-cols ...]. Exit code 1 when a gate fails (unless --no-gate), 2 on bad
input. Each run is stored in the metrics store unless --no-store. With a
rules file (rules: in mlprod.yaml), the model and the model with the file's
rules as it is now are reported side by side (the gates stay the model's).
"""


def register(app: typer.Typer) -> None:
    app.command("evaluate", help=HELP)(evaluate)


def _split_list(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for value in values or []:
        out += [part.strip() for part in value.split(",") if part.strip()]
    return tuple(out)


def evaluate(
    model: ModelOption("A version id (default: the active model, else the newest).") = None,
    predictions: Annotated[
        Path | None,
        typer.Option(
            "--predictions",
            help="Evaluate this CSV/Parquet of predictions instead.",
            dir_okay=False,
        ),
    ] = None,
    label_col: Annotated[
        str | None, typer.Option("--label-col", help="With --predictions: the true label column.")
    ] = None,
    pred_col: Annotated[
        str | None,
        typer.Option("--pred-col", help="With --predictions: the predicted label column."),
    ] = None,
    score_cols: Annotated[
        list[str] | None,
        typer.Option(
            "--score-cols",
            help="With --predictions: score columns, one per class (score_<class>, or in --classes order).",
        ),
    ] = None,
    classes: Annotated[
        list[str] | None,
        typer.Option("--classes", help="With --predictions: every class, in order."),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="With --predictions: the true labels are in this file (same rows).",
            dir_okay=False,
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            "--task",
            help="With --predictions outside a project: classification or regression "
            "(default: regression when both columns are numbers that are not a few whole classes).",
        ),
    ] = None,
    slice_by: Annotated[
        list[str] | None,
        typer.Option("--slice-by", help="Also report per value of this column (repeatable)."),
    ] = None,
    no_gate: Annotated[
        bool, typer.Option("--no-gate", help="Report the gates but never fail on them.")
    ] = False,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not write this run to the metrics store.")
    ] = False,
    all_metrics: Annotated[
        bool, typer.Option("--all-metrics", help="Every metric in the table, not the usual few.")
    ] = False,
    format: ReportFormatOption = ReportFormat.table,
    output: OutputOption = None,
) -> int:
    import contextlib

    from mlprod_cli import console
    from mlprod_cli.core import evaluate as core
    from mlprod_cli.core.project import find_project_root
    from mlprod_cli.core.words import plural
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.errors import UsageError
    from mlprod_cli.render import evaluate as render

    slices = _split_list(slice_by)
    if format is ReportFormat.html:
        render.check_html()  # before anything is computed or stored
    if predictions is None:
        for name, value in (
            ("--label-col", label_col),
            ("--pred-col", pred_col),
            ("--labels", labels),
            ("--task", task),
        ):
            if value:
                raise UsageError(f"{name} goes with --predictions FILE")
        workspace = Workspace.load()
    else:
        if model is not None:
            raise UsageError("--model and --predictions exclude each other")
        if not label_col or not pred_col:
            raise UsageError("--predictions needs --label-col and --pred-col")
        if task is not None and task not in ("classification", "regression"):
            raise UsageError(f"--task {task}: use classification or regression")
        workspace = Workspace.load() if find_project_root() else None
    # Opened first: a bad or unreachable store is said before anything is computed,
    # and so is an --output that cannot be written (its temporary is made now).
    with contextlib.ExitStack() as cleanup:
        result_file = console.open_output(output) if output is not None else None
        if result_file is not None:
            cleanup.callback(result_file.abort)  # (after a commit, nothing is left to remove)
        if not no_store and workspace is not None:
            store = cleanup.enter_context(workspace.open_store(writable=True))
        else:
            store = None
        if predictions is None:
            with console.steps() as report:
                outcome = core.evaluate_version(
                    workspace,
                    version_id=model,
                    slice_by=slices,
                    enforce_gates=not no_gate,
                    progress=report,
                    with_rules=True,
                )
        else:
            spec = core.PredictionsSpec(
                predictions, label_col, pred_col, _split_list(score_cols), labels, _split_list(classes),
                task,
            )  # fmt: skip
            outcome = core.evaluate_predictions(
                spec,
                config=None if workspace is None else workspace.config,
                slice_by=slices,
                enforce_gates=not no_gate,
            )
        result = outcome.result
        if store is not None:
            core.store_result(result, store)
        text = render.render(
            result,
            format.value,
            all_metrics=all_metrics,
            curves=outcome.curves,
            rows=getattr(outcome, "rows", None),
        )
        if result_file is None:
            console.write_result(text)
        else:
            _commit_output(result_file, text, result)
    console.warn(result.warnings)
    failed = [g for g in result.gates if not g.passed]
    if failed and not no_gate:
        console.status(f"{len(failed)} of {plural(len(result.gates), 'gate')} failed")
        return 1
    return 0


def _commit_output(result_file, text: str, result) -> None:
    """Write --output; when that fails after the run was stored, the error says so."""
    from mlprod_cli import console
    from mlprod_cli.errors import MlprodError

    try:
        console.commit_output(result_file, text)
    except MlprodError as exc:
        if not result.stored:
            raise
        raise MlprodError(
            f"{exc.message}; the run is stored in the metrics store as {result.run_id}",
            hint="'mlprod metrics history' shows it; evaluate again for the file",
        ) from None
