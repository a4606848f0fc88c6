"""``mlprod analyze``'s result: worst errors, confusions, slices, shares, importance, labels.

The sections are built once as :class:`~mlprod_cli.render.grid.Grid`\\ s; the
text table, Markdown and the HTML page (``templates/analyze.html.j2``, with the
error rate per slice and the permutation importance drawn with their intervals)
draw the same grids. JSON holds every field.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlprod_cli.core.words import plural
from mlprod_cli.render.grid import UNDEFINED, Cell, Grid, md, md_grid, text_cell, text_grid
from mlprod_cli.render.text import number, to_json

if TYPE_CHECKING:
    from mlprod_cli.core.analyze import Analysis

__all__ = ["FORMATS", "check_format", "render"]

FORMATS = ("table", "json", "markdown", "html")
_VALUES_WIDTH = 70


def check_format(fmt: str) -> None:
    """A UsageError before any work: an unknown format, or HTML without matplotlib."""
    from mlprod_cli.errors import UsageError

    if fmt not in FORMATS:
        raise UsageError(f"--format: analyze writes {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "html":
        from mlprod_cli.render import charts

        charts.require_matplotlib("--format html")


def _values(values: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in values.items())
    return text if len(text) <= _VALUES_WIDTH else text[: _VALUES_WIDTH - 1] + "…"


def _percent(value: float | None) -> str:
    return UNDEFINED if value is None else f"{value * 100:.1f} %"


def _points(value: float) -> str:
    return f"{value * 100:+.1f}"


def _cells(*texts: Any) -> list[Cell]:
    return [text_cell(t) for t in texts]


def headline(result: Analysis) -> str:
    share = result.errors / result.rows if result.rows else 0.0
    return (
        f"{result.version} on the {result.split} split: {result.errors:,} of "
        f"{plural(result.rows, 'row')} wrong ({_percent(share)})"
    )


def sections(result: Analysis) -> list[Grid]:
    named = result.id_column or "row"
    grids = []
    if result.worst:
        grids.append(Grid(
            "most confident errors",
            [named, "given", "predicted", "confidence", "p(given)", "values"],
            [_cells(w.row_id, w.true, w.predicted, number(w.confidence),
                    number(w.p_true) if w.p_true is not None else UNDEFINED, _values(w.values))
             for w in result.worst],
            right={3, 4},
        ))  # fmt: skip
        grids.append(Grid(
            "confusions, most frequent first",
            ["given", "predicted", "rows", "share of the given class"],
            [_cells(c.true, c.predicted, f"{c.count:,}", _percent(c.rate)) for c in result.confusion],
            right={2, 3},
        ))  # fmt: skip
    beyond = sum(s.beyond_chance for s in result.slices)
    grids.append(Grid(
        f"slices by their gap to the rest: {beyond} of {len(result.slices)} shown beyond chance "
        f"(*: the gap's interval excludes 0; {result.slices_examined:,} slices examined, each "
        f"interval at {result.slice_confidence * 100:.2f} %, 95 % over all)",
        ["", "column", "slice", "rows", "errors", "error rate", "interval", "the rest", "gap",
         "gap interval"],
        [_cells("*" if s.beyond_chance else "", s.column, s.value, f"{s.rows:,}", f"{s.errors:,}",
                _percent(s.rate), f"{_percent(s.low)} – {_percent(s.high)}", _percent(s.rest_rate),
                _points(s.rate - s.rest_rate), f"{_points(s.gap_low)} – {_points(s.gap_high)}")
         for s in result.slices],
        right={3, 4, 5, 7, 8},
    ))  # fmt: skip
    if result.shares:
        sides = ["train", "test"] + (["serving"] if not result.serving_note else [])
        rows = ", ".join(f"{side} {result.side_rows.get(side, 0):,}" for side in sides)
        grid = Grid(
            f"each slice's share of the rows ({rows}; *: a share differs from training's beyond "
            "chance)",
            ["", "column", "slice", *(f"share of {side}" for side in sides)],
            [_cells("*" if x.differs else "", x.column, x.value,
                    *(_percent(x.shares.get(side)) for side in sides))
             for x in result.shares],
            right=set(range(3, 3 + len(sides))),
        )  # fmt: skip
        if result.serving_note:
            grid.notes.append(f"serving log not compared: {result.serving_note}")
        grids.append(grid)
    if result.importances:
        idle = [i.feature for i in result.importances if not i.contributing]
        grids.append(Grid(
            f"permutation importance on {plural(result.importance_rows, 'test row')}: "
            + (f"{len(idle)} not contributing (-: the interval holds 0): {', '.join(idle)}"
               if idle else "every feature contributes"),
            ["", "feature", f"drop of {result.objective}", "interval (± 2 sd of the repeats)"],
            [_cells("" if i.contributing else "-", i.feature, number(i.mean),
                    f"{number(i.low)} – {number(i.high)}")
             for i in result.importances],
            right={2},
        ))  # fmt: skip
    examined = ", ".join(f"{n} {r:,}" for n, r in result.label_rows.items())
    noise = ", ".join(f"{c} {_percent(r)}" for c, r in result.noise_rates.items())
    shown = result.label_issues[: len(result.worst) or 10]
    grid = Grid(
        f"suspected label errors: {len(result.label_issues):,} of "
        f"{sum(result.label_rows.values()):,} rows ({examined}; out of fold in {result.folds} "
        "folds on train), lowest label quality first",
        [named, "split", "given", "suggested", "label quality", "values"],
        [_cells(i.row_id, i.split, i.given, i.suggested, number(i.quality), _values(i.values))
         for i in shown],
        right={4},
    )  # fmt: skip
    grid.notes.append(f"estimated share of each given class that is mislabelled: {noise}")
    grids.append(grid)
    return grids


def _footer(result: Analysis, export: Path | None) -> str:
    if export is not None:
        return f"wrote {plural(len(result.label_issues), 'suspected label error')} to {export}"
    if result.label_issues:
        return "next: mlprod analyze --export label-issues.csv (every suspect, for review)"
    return ""


def render(result: Analysis, fmt: str, *, export: Path | None = None) -> str:
    if fmt == "json":
        return _json(result, export)
    grids = sections(result)
    footer = _footer(result, export)
    if fmt == "markdown":
        parts = [f"## {md(headline(result))}", *(md_grid(g) for g in grids)]
        return "\n\n".join(parts + ([md(footer)] if footer else [])) + "\n"
    if fmt == "html":
        return _html(result, grids, footer)
    parts = [headline(result), *(text_grid(g) for g in grids)]
    return "\n\n".join(parts + ([footer] if footer else [])) + "\n"


def _json(result: Analysis, export: Path | None) -> str:
    return to_json(
        {
            "version": result.version,
            "split": result.split,
            "rows": result.rows,
            "errors": result.errors,
            "id_column": result.id_column,
            "worst_errors": [asdict(w) for w in result.worst],
            "confusions": [asdict(c) for c in result.confusion],
            "slices": [asdict(s) for s in result.slices],
            "slices_examined": result.slices_examined,
            "slice_confidence": result.slice_confidence,
            "label_issues": [asdict(i) for i in result.label_issues],
            "label_rows": result.label_rows,
            "noise_rates": result.noise_rates,
            "folds": result.folds,
            "objective": result.objective or None,
            "importances": [asdict(i) for i in result.importances],
            "importance_rows": result.importance_rows,
            "not_contributing": [i.feature for i in result.importances if not i.contributing],
            "shares": [asdict(x) for x in result.shares],
            "side_rows": result.side_rows,
            "serving_note": result.serving_note or None,
            "exported_to": str(export) if export is not None else None,
        }
    )


def _html(result: Analysis, grids: list[Grid], footer: str) -> str:
    from mlprod_cli.render.html import render_page

    return render_page(
        "analyze.html.j2",
        title=result.version,
        headline=headline(result),
        notes=result.warnings,
        grids=grids,
        slices_png=_intervals_png(
            [f"{s.column}={s.value}" for s in result.slices],
            [s.rate for s in result.slices], [(s.low, s.high) for s in result.slices],
            reference=result.errors / result.rows if result.rows else None,
            xlabel="error rate (the line: the whole split)",
        ) if result.slices else None,
        importance_png=_intervals_png(
            [i.feature for i in result.importances], [i.mean for i in result.importances],
            [(i.low, i.high) for i in result.importances], reference=0.0,
            xlabel=f"drop of {result.objective} when shuffled",
        ) if result.importances else None,
        footer=footer,
    )  # fmt: skip


def _intervals_png(names, values, intervals, *, reference, xlabel) -> str:
    """One row per name: the value as a dot and its interval as a bar, a reference line."""
    from mlprod_cli.render import charts

    drawn = charts.figure(7.5, 0.5 + 0.32 * len(names))
    axes = drawn.add_subplot()
    ys = list(range(len(names)))[::-1]
    for y, value, (low, high) in zip(ys, values, intervals, strict=True):
        axes.plot([low, high], [y, y], color="#57606a", linewidth=2)
        axes.plot([value], [y], "o", color="#0969da")
    if reference is not None:
        axes.axvline(reference, color="#cf222e", linewidth=1, linestyle="--")
    axes.set_yticks(ys, [charts.literal(n) for n in names])
    axes.set_xlabel(charts.literal(xlabel, 80))
    return charts.png_data_uri(drawn)
