"""``mlprod metrics history``: a metric over time, from the metrics store."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import Format, FormatOption, OutputOption

HELP = "The metrics every 'mlprod evaluate' run stored (see docs/store.md)."

HISTORY_HELP = """Show one metric over the stored runs, oldest first, with its trend.

One row per run (when, model version, value, change from the run before) and a
sparkline with first → last, min and max; --plot draws the same as a chart.
The metric defaults to metrics.objective of mlprod.yaml (else f1_score macro);
without --class the macro average is shown, or the overall value for metrics
without one (accuracy). --kind keeps the runs of registered models, baselines
or predictions files (evaluate --predictions); --model keeps one version's runs
(or one predictions file's, as the history shows it). The store is 'store' of
mlprod.yaml, or MLPROD_STORE_URL when set.

Exit code 0 with the table (or an empty JSON history and a note on stderr when
nothing is stored yet); 2 for an unknown metric, class, slice, kind or
model, or a store that cannot be reached.
"""


class RunKind(str, Enum):
    model = "model"
    baseline = "baseline"
    predictions = "predictions"


def register(app: typer.Typer) -> None:
    metrics_app = typer.Typer(name="metrics", help=HELP, no_args_is_help=True)
    metrics_app.command("history", help=HISTORY_HELP)(history)
    app.add_typer(metrics_app, name="metrics")


def history(
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            "-m",
            help="Metric name, or METRIC@CLASS (default: metrics.objective, else f1_score).",
        ),
    ] = None,
    cls: Annotated[
        str | None,
        typer.Option("--class", help="Class name, or macro / weighted (default: macro)."),
    ] = None,
    slice: Annotated[
        str | None,
        typer.Option("--slice", help="A slice such as sex=female (default: the whole test set)."),
    ] = None,
    last: Annotated[
        int | None,
        typer.Option("--last", "-n", min=1, help="Only the newest N runs."),
    ] = None,
    kind: Annotated[
        RunKind | None,
        typer.Option("--kind", help="Only runs of this kind (default: every run)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Only runs of this version (e.g. v0002), or of this predictions file.",
        ),
    ] = None,
    format: FormatOption = Format.table,
    output: OutputOption = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Also draw the history as a chart (.png, .svg or .pdf; needs matplotlib).",
            dir_okay=False,
        ),
    ] = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.config import KNOWN_METRICS
    from mlprod_cli.core.history import load_history
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.render import metrics as render

    if plot is not None:
        render.check_plot(plot)  # before anything is read: bad input changes nothing
    workspace = Workspace.load()
    config = workspace.config
    objective = config.metrics.objective
    with workspace.open_store() as store:
        result = load_history(
            store,
            config.project,
            metric=metric,
            cls=cls,
            slice=slice,
            last=last,
            objective=None if objective is None else (objective.metric, objective.cls),
            known_metrics=KNOWN_METRICS,
            kind=None if kind is None else kind.value,
            model=model,
        )
    if result.note:
        console.status(result.note)
    if format is Format.json or result.points:
        console.write_result(render.render_history(result, format.value), output)
    if plot is not None:
        if result.points:
            console.write_bytes(
                render.plot_history(result, plot.suffix.lower().lstrip(".")), plot, "--plot"
            )
            console.status(f"wrote {plot}")
        else:
            console.status(f"no chart written to {plot}: nothing to draw")
    return 0
