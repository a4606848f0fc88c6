"""``mlprod metrics history``: a metric over time, from the metrics store."""

from __future__ import annotations

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
without one (accuracy). The store is 'store' of mlprod.yaml, or
MLPROD_STORE_URL when set.

Exit code 0 with the table (or an empty JSON history and a note on stderr when
nothing is stored yet); 2 for an unknown metric, class or slice, or a store
that cannot be reached.
"""

_PLOT_FORMATS = (".png", ".svg", ".pdf")


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

    if plot is not None:
        _check_plot(plot)  # before anything is read: bad input changes nothing
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
        )
    if result.note:
        console.status(result.note)
    if format is Format.json or result.points:
        console.write_result(render(result, format), output)
    if plot is not None:
        if result.points:
            write_plot(result, plot)
            console.status(f"wrote {plot}")
        else:
            console.status(f"no chart written to {plot}: nothing to draw")
    return 0


# --------------------------------------------------------------------------- rendering


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _change(value: float | None) -> str:
    return "" if value is None else f"{value:+.4f}"


def render(result, format: Format) -> str:
    """The history as a table with a trend line, or as JSON with stable keys."""
    trend = result.trend
    if format is Format.json:
        import json

        return json.dumps(
            {
                "project": result.project,
                "metric": result.metric,
                "class": result.cls,
                "slice": result.slice,
                "store": result.store,
                "points": [
                    {
                        "run_id": p.run_id,
                        "created_at": p.created_at.isoformat(),
                        "model_version": p.model_version,
                        "value": p.value,
                        "change": p.change,
                    }
                    for p in result.points
                ],
                "trend": None
                if trend is None
                else {
                    "first": trend.first,
                    "last": trend.last,
                    "change": trend.change,
                    "min": trend.min.value,
                    "max": trend.max.value,
                    "runs": trend.runs,
                    "undefined": trend.undefined,
                },
            },
            indent=2,
            ensure_ascii=False,
        )
    from mlprod_cli.core.history import sparkline

    rows = [
        (
            p.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            p.model_version or "-",
            _num(p.value),
            _change(p.change),
        )
        for p in result.points
    ]
    header = ("when (UTC)", "model version", "value", "change")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(4)]

    def line(cells) -> str:
        left = f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}"
        return f"{left}  {cells[2]:>{widths[2]}}  {cells[3]:>{widths[3]}}".rstrip()

    runs = len(result.points)
    lines = [f"{result.label} of {result.project}, {runs} run{'s' * (runs != 1)}", ""]
    lines += [line(header), *(line(r) for r in rows), ""]
    if trend is None:
        lines.append("trend  no defined values")
    else:
        spark = sparkline([p.value for p in result.points])
        lines.append(
            f"trend  {spark}  {_num(trend.first)} → {_num(trend.last)} ({_change(trend.change)})"
        )
        lines.append(
            f"       min {_num(trend.min.value)} ({trend.min.model_version or trend.min.run_id})"
            f"  max {_num(trend.max.value)} ({trend.max.model_version or trend.max.run_id})"
            + (f"  undefined in {trend.undefined} run(s)" if trend.undefined else "")
        )
    return "\n".join(lines)


def _check_plot(path: Path) -> None:
    from mlprod_cli.errors import UsageError

    if path.suffix.lower() not in _PLOT_FORMATS:
        raise UsageError(f"--plot {path}: the file must end in .png, .svg or .pdf")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib (pip install matplotlib)") from None


def write_plot(result, path: Path) -> None:
    """Draw the history (undefined values as gaps) and write it atomically."""
    import io
    import math

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mlprod_cli import console

    # Figure + Agg canvas, not pyplot: no GUI backend, no global state.
    figure = Figure(figsize=(9, 4), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    xs = [p.created_at for p in result.points]
    ys = [math.nan if p.value is None else p.value for p in result.points]
    axes.plot(xs, ys, marker="o", linewidth=1.5)
    if len(result.points) <= 20:
        for p, y in zip(result.points, ys, strict=True):
            if p.model_version and not math.isnan(y):
                axes.annotate(
                    p.model_version,
                    (p.created_at, y),
                    textcoords="offset points",
                    xytext=(0, 6),
                    ha="center",
                    fontsize=8,
                )
    axes.set_title(f"{result.label} of {result.project}")
    axes.set_ylabel(result.metric)
    axes.set_xlabel("run time (UTC)")
    axes.grid(True, alpha=0.3)
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix.lower().lstrip("."))
    console.write_bytes(buffer.getvalue(), path)
