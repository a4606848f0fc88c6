"""The parts of ``mlprod evaluate``'s report that differ for a regression: the grids, JSON, JUnit and plots.

:mod:`.evaluate` builds the document around them (meta lines, warnings, gates,
headline) for every format, as for classification; this module gives it the
metric table, the comparison with the baseline and the active model, the slices
with their gaps, the deciles of the true value, and the two HTML plots
(predicted against true, residuals by slice).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlprod_cli.core.names import REGRESSION_METRIC_NAMES
from mlprod_cli.core.words import plural
from mlprod_cli.render import charts
from mlprod_cli.render.grid import UNDEFINED, Cell, Grid, reason_notes, text_cell
from mlprod_cli.render.text import number

if TYPE_CHECKING:
    from mlprod_cli.core.evaluate import Evaluated, EvaluationResult
    from mlprod_cli.core.metrics import RegressionReport, Value

SLICE_METRICS = ("mae", "rmse", "r2", "median_ae")
"""The metrics a slice table shows (with its rows and mean error)."""
GAP_METRICS = ("mae", "rmse", "r2")
_MAX_POINTS = 20_000
"""A scatter of more points than this is a hexbin: a million dots draw as one blot."""
_MAX_BOXES = 12


def is_regression(result: EvaluationResult) -> bool:
    return getattr(result.primary.report, "task", None) == "regression"


def _cell(value: Value) -> Cell:
    if value.value is None:
        return Cell(UNDEFINED, value.reason or "undefined")
    return Cell(number(value.value))


def _shown(report: RegressionReport) -> list[str]:
    """Every built-in metric, and the custom ones after them."""
    return [*REGRESSION_METRIC_NAMES, *report.custom]


def metric_grid(evaluated: Evaluated) -> Grid:
    report = evaluated.report
    rows = [[text_cell(name), _cell(report.value(name))] for name in _shown(report)]
    rows.append([text_cell("mean error (bias)"), Cell(number(report.mean_pred - report.mean_true))])
    grid = Grid(
        f"{evaluated.name}: regression metrics ({plural(report.n_samples, 'row')})",
        ["metric", "value"],
        rows,
        right={1},
    )
    grid.notes = reason_notes(grid)
    if report.percentage_note:
        grid.notes.append(report.percentage_note)
    return grid


def comparison_grid(result: EvaluationResult) -> Grid | None:
    if not result.comparisons:
        return None
    primary = result.primary
    headers = ["metric", primary.name]
    for other in result.comparisons:
        headers += [other.name, f"Δ vs {other.name}"]
    rows = []
    for name in _shown(primary.report):
        mine = primary.report.value(name)
        row = [text_cell(name), _cell(mine)]
        for other in result.comparisons:
            theirs = other.report.metrics.get(name) or other.report.custom.get(name)
            if theirs is None or theirs.value is None or mine.value is None:
                row += [_cell(theirs) if theirs else Cell(UNDEFINED, "not in this report")]
                row.append(Cell(UNDEFINED, "not defined on both sides"))
            else:
                row += [_cell(theirs), Cell(f"{mine.value - theirs.value:+.4f}")]
        rows.append(row)
    names = ", ".join(other.name for other in result.comparisons)
    return Grid(
        f"{primary.name} compared with {names}", headers, rows, right=set(range(1, len(headers)))
    )


def _gap(groups: Mapping[str, RegressionReport], metric: str) -> tuple[float, str, str] | None:
    values = {k: r.value(metric).value for k, r in groups.items()}
    defined = {k: v for k, v in values.items() if v is not None}
    if len(defined) < 2:
        return None
    low = min(defined, key=defined.__getitem__)
    high = max(reversed(list(defined)), key=defined.__getitem__)
    return defined[high] - defined[low], low, high


def slice_grids(evaluated: Evaluated) -> list[Grid]:
    grids = []
    for column, groups in evaluated.slices.items():
        headers = [column, "rows", *SLICE_METRICS, "mean error"]
        rows = []
        for value, report in groups.items():
            row = [text_cell(value), text_cell(report.n_samples)]
            row += [_cell(report.value(m)) for m in SLICE_METRICS]
            row.append(Cell(number(report.mean_pred - report.mean_true)))
            rows.append(row)
        grid = Grid(
            f"{evaluated.name} by {column}", headers, rows, right=set(range(1, len(headers)))
        )
        grid.notes = reason_notes(grid)
        grids.append(grid)
        gap_rows = []
        for metric in GAP_METRICS:
            found = _gap(groups, metric)
            if found is None:
                gap_rows.append(
                    [
                        text_cell(metric),
                        Cell(UNDEFINED, "fewer than two slices define it"),
                        Cell(""),
                        Cell(""),
                    ]
                )
                continue
            gap, low, high = found
            gap_rows.append(
                [
                    text_cell(metric),
                    Cell(number(gap)),
                    text_cell(f"{low} {number(groups[low].value(metric).value)}"),
                    text_cell(f"{high} {number(groups[high].value(metric).value)}"),
                ]
            )
        grids.append(
            Grid(
                f"largest gap across {column}",
                ["metric", "gap", "lowest", "highest"],
                gap_rows,
                {1},
            )
        )
    return grids


def decile_grid(evaluated: Evaluated) -> Grid:
    report = evaluated.report
    rows = [
        [
            text_cell(row.decile),
            text_cell(f"{number(row.low)} – {number(row.high)}"),
            text_cell(row.rows),
            Cell(number(row.mae)),
            Cell(number(row.mean_error)),
        ]
        for row in report.deciles
    ]
    grid = Grid(
        f"{evaluated.name} by decile of the true value",
        ["decile", "true value", "rows", "mae", "mean error"],
        rows,
        right={2, 3, 4},
    )
    grid.notes = ["mean error > 0: the model predicts too high there; < 0: too low"]
    return grid


def sections(result: EvaluationResult) -> list[Grid]:
    """The grids every text format shows, in order."""
    grids = [metric_grid(result.primary)]
    comparison = comparison_grid(result)
    if comparison is not None:
        grids.append(comparison)
    grids.append(decile_grid(result.primary))
    return grids + slice_grids(result.primary)


# --- json and junit ----------------------------------------------------------------------------


def report_json(report: RegressionReport) -> dict[str, Any]:
    from mlprod_cli.core.metrics import to_dict

    return to_dict(report)


def json_body(result: EvaluationResult) -> dict[str, Any]:
    """The keys of the JSON document that describe the numbers (the rest is shared)."""
    primary = result.primary
    body = report_json(primary.report)
    return {
        "task": "regression",
        "n_samples": body["n_samples"],
        "metrics": body["metrics"],
        "undefined": body["undefined"],
        "percentage_note": body["percentage_note"],
        "mean_true": body["mean_true"],
        "mean_pred": body["mean_pred"],
        "deciles": body["deciles"],
        "custom": body["custom"],
        "comparisons": [
            {"name": o.name, "version": o.version, "kind": o.kind, **report_json(o.report)}
            for o in result.comparisons
        ],
        "slices": {
            column: {value: report_json(r) for value, r in groups.items()}
            for column, groups in primary.slices.items()
        },
        "slice_gaps": {
            column: {m: (g[0] if (g := _gap(groups, m)) else None) for m in GAP_METRICS}
            for column, groups in primary.slices.items()
        },
    }


def junit_lines(report: RegressionReport) -> str:
    lines = [f"rows={report.n_samples}"]
    for name in _shown(report):
        value = report.value(name)
        lines.append(
            f"{name}={number(value.value)}"
            if value.defined
            else f"{name}=undefined ({value.reason})"
        )
    return "\n".join(lines)


# --- html --------------------------------------------------------------------------------------


def predicted_png(curves: Mapping[str, tuple[Any, Any, Any]]) -> str:
    """Predicted against true, one panel per model, the diagonal y = x drawn."""
    import numpy as np

    models = [
        (name, np.asarray(t, float), np.asarray(p, float)) for name, (t, p, _) in curves.items()
    ]
    if not models:
        return ""
    figure = charts.figure(4.4 * len(models), 4.2)
    low = min(float(min(t.min(), p.min())) for _, t, p in models)
    high = max(float(max(t.max(), p.max())) for _, t, p in models)
    for index, (name, truth, predicted) in enumerate(models):
        axes = figure.add_subplot(1, len(models), index + 1)
        if len(truth) > _MAX_POINTS:
            axes.hexbin(truth, predicted, gridsize=60, bins="log", cmap="Blues", mincnt=1)
        else:
            axes.scatter(truth, predicted, s=6, alpha=0.5)
        axes.plot([low, high], [low, high], linestyle=":", color="grey", linewidth=1)
        axes.set_xlabel("true")
        axes.set_ylabel("predicted")
        axes.set_title(charts.literal(name, 40), fontsize=10)
        axes.grid(True, alpha=0.3)
    return charts.png_data_uri(figure)


def residuals_png(
    curves: Mapping[str, tuple[Any, Any, Any]], name: str, rows: Mapping[str, Any]
) -> str:
    """Residuals (predicted - true) of model ``name``, one box per value of each slice column."""
    import numpy as np

    if name not in curves or not rows:
        return ""
    truth, predicted, _ = curves[name]
    residual = np.asarray(predicted, float) - np.asarray(truth, float)
    figure = charts.figure(5.0 * len(rows), 4.0)
    for index, (column, values) in enumerate(rows.items()):
        values = np.asarray(values).astype(str)
        groups = sorted(set(values.tolist()))[:_MAX_BOXES]
        axes = figure.add_subplot(1, len(rows), index + 1)
        axes.boxplot([residual[values == g] for g in groups], showfliers=False)
        axes.set_xticks(
            range(1, len(groups) + 1), [charts.literal(g, 15) for g in groups], rotation=30
        )
        axes.axhline(0.0, linestyle=":", color="grey", linewidth=1)
        axes.set_xlabel(charts.literal(column, 30))
        axes.set_ylabel("predicted - true")
        axes.grid(True, alpha=0.3)
    return charts.png_data_uri(figure)
