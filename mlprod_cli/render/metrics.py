"""``mlprod metrics history``'s result: a metric over the stored runs, as text, JSON or a chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from mlprod_cli.core.words import plural
from mlprod_cli.render import charts

if TYPE_CHECKING:
    from mlprod_cli.core.history import History

__all__ = ["PLOT_FORMATS", "check_plot", "plot_history", "render_history"]

PLOT_FORMATS = (".png", ".svg", ".pdf")
"""The chart files ``--plot`` writes, by suffix."""

# A label per point only while they can be read.
_MAX_LABELLED_POINTS = 20


def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    # 1e308 with four decimals is 313 characters: past a billion, significant digits.
    return f"{value:.4f}" if abs(value) < 1e9 else f"{value:.4g}"


def _change(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:+.4f}" if abs(value) < 1e9 else f"{value:+.4g}"


def _finite(value: float | None) -> float | None:
    """JSON has no ±Infinity: an infinite value is written as null (undefined), as NaN is."""
    return value if value is None or math.isfinite(value) else None


def _json(result: History) -> str:
    import json

    trend = result.trend
    return json.dumps(
        {
            "project": result.project,
            "metric": result.metric,
            "class": result.cls,
            "slice": result.slice,
            "kind": result.kind,
            "model": result.model,
            "store": result.store,
            "points": [
                {
                    "run_id": p.run_id,
                    "created_at": p.created_at.isoformat(),
                    "model_version": p.model_version,
                    "kind": p.kind,
                    "source": p.source,
                    "value": _finite(p.value),
                    "change": p.change,
                }
                for p in result.points
            ],
            "trend": None
            if trend is None
            else {
                "first": _finite(trend.first),
                "last": _finite(trend.last),
                "change": trend.change,
                "min": _finite(trend.min.value),
                "max": _finite(trend.max.value),
                "runs": trend.runs,
                "undefined": trend.undefined,
            },
        },
        indent=2,
        ensure_ascii=False,
        allow_nan=False,
    )


def render_history(result: History, fmt: str) -> str:
    """The history as a table with a trend line, or as JSON with stable keys (docs/store.md)."""
    if fmt == "json":
        return _json(result)
    from mlprod_cli.core.history import sparkline

    rows = [
        (
            p.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            p.kind or "-",
            p.model or "-",
            _num(p.value),
            _change(p.change),
        )
        for p in result.points
    ]
    header = ("when (UTC)", "kind", "model version", "value", "change")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(5)]

    def line(cells) -> str:
        left = "  ".join(f"{cells[i]:<{widths[i]}}" for i in range(3))
        return f"{left}  {cells[3]:>{widths[3]}}  {cells[4]:>{widths[4]}}".rstrip()

    only = ", ".join(
        f"{name} {value}"
        for name, value in (("kind", result.kind), ("model", result.model))
        if value
    )
    title = f"{result.label} of {result.project}, {plural(len(result.points), 'run')}"
    lines = [title + (f" (only {only})" if only else ""), ""]
    lines += [line(header), *(line(r) for r in rows), ""]
    trend = result.trend
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
            + (f"  undefined in {plural(trend.undefined, 'run')}" if trend.undefined else "")
        )
    return "\n".join(lines)


def check_plot(path: Path) -> None:
    """UsageError when ``--plot path`` cannot be drawn (suffix, matplotlib): before any work."""
    from mlprod_cli.errors import UsageError

    if path.suffix.lower() not in PLOT_FORMATS:
        raise UsageError(f"--plot {path}: the file must end in .png, .svg or .pdf")
    charts.require_matplotlib("--plot")


def plot_history(result: History, fmt: str) -> bytes:
    """The history drawn as a line (undefined values as gaps), as a ``fmt`` file (png, svg, pdf)."""
    figure = charts.figure(9, 4, dpi=120)
    axes = figure.add_subplot()
    xs = [p.created_at for p in result.points]
    # Gaps for undefined and infinite values: an infinite one has no place on an axis.
    ys = [math.nan if _finite(p.value) is None else p.value for p in result.points]
    axes.plot(xs, ys, marker="o", linewidth=1.5)
    if len(result.points) <= _MAX_LABELLED_POINTS:
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
    return charts.image_bytes(figure, fmt)
