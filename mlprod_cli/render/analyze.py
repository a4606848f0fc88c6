"""``mlprod analyze``'s result: worst errors, confusions, slices found, suspected labels."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlprod_cli.core.words import plural
from mlprod_cli.render.grid import UNDEFINED
from mlprod_cli.render.text import number, table, to_json

if TYPE_CHECKING:
    from mlprod_cli.core.analyze import Analysis

__all__ = ["render"]

_VALUES_WIDTH = 70


def _values(values: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in values.items())
    return text if len(text) <= _VALUES_WIDTH else text[: _VALUES_WIDTH - 1] + "…"


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def _points(value: float) -> str:
    return f"{value * 100:+.1f}"


def render(result: Analysis, fmt: str, *, export: Path | None = None) -> str:
    if fmt == "json":
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
    named = result.id_column or "row"
    parts = [
        f"{result.version} on the {result.split} split: {result.errors:,} of "
        f"{plural(result.rows, 'row')} wrong ({_percent(result.errors / result.rows)})\n"
    ]
    if result.worst:
        parts.append(
            table(
                [named, "given", "predicted", "confidence", "p(given)", "values"],
                [
                    (
                        w.row_id,
                        w.true,
                        w.predicted,
                        number(w.confidence),
                        number(w.p_true) if w.p_true is not None else UNDEFINED,
                        _values(w.values),
                    )
                    for w in result.worst
                ],
                title="most confident errors",
                right=(3, 4),
            )
        )
        parts.append(
            table(
                ["given", "predicted", "rows", "share of the given class"],
                [(c.true, c.predicted, f"{c.count:,}", _percent(c.rate)) for c in result.confusion],
                title="confusions, most frequent first",
                right=(2, 3),
            )
        )
    beyond = sum(s.beyond_chance for s in result.slices)
    parts.append(
        table(
            [
                "",
                "column",
                "slice",
                "rows",
                "errors",
                "error rate",
                "interval",
                "the rest",
                "gap",
                "gap interval",
            ],
            [
                (
                    "*" if s.beyond_chance else "",
                    s.column,
                    s.value,
                    f"{s.rows:,}",
                    f"{s.errors:,}",
                    _percent(s.rate),
                    f"{_percent(s.low)} – {_percent(s.high)}",
                    _percent(s.rest_rate),
                    _points(s.rate - s.rest_rate),
                    f"{_points(s.gap_low)} – {_points(s.gap_high)}",
                )
                for s in result.slices
            ],
            title=f"slices by their gap to the rest: {beyond} of {len(result.slices)} shown beyond "
            f"chance (*: the gap's interval excludes 0; {result.slices_examined:,} slices examined, "
            f"each interval at {result.slice_confidence * 100:.2f} %, 95 % over all)",
            right=(3, 4, 5, 7, 8),
        )
    )
    if result.shares:
        sides = ["train", "test"] + (["serving"] if not result.serving_note else [])
        rows = ", ".join(f"{side} {result.side_rows.get(side, 0):,}" for side in sides)
        parts.append(
            table(
                ["", "column", "slice", *(f"share of {side}" for side in sides)],
                [
                    ("*" if x.differs else "", x.column, x.value,
                     *(_percent(x.shares[side]) if x.shares.get(side) is not None else UNDEFINED
                       for side in sides))
                    for x in result.shares
                ],
                title=f"each slice's share of the rows ({rows}; *: a share differs from training's "
                "beyond chance)" + (f"; serving log not compared: {result.serving_note}"
                                    if result.serving_note else ""),
                right=tuple(range(3, 3 + len(sides))),
            )
        )  # fmt: skip
    if result.importances:
        idle = [i.feature for i in result.importances if not i.contributing]
        parts.append(
            table(
                ["", "feature", f"drop of {result.objective}", "interval (± 2 sd of the repeats)"],
                [
                    ("" if i.contributing else "-", i.feature, number(i.mean),
                     f"{number(i.low)} – {number(i.high)}")
                    for i in result.importances
                ],
                title=f"permutation importance on {plural(result.importance_rows, 'test row')}: "
                + (f"{len(idle)} not contributing (-: the interval holds 0): {', '.join(idle)}"
                   if idle else "every feature contributes"),
                right=(2,),
            )
        )  # fmt: skip
    examined = ", ".join(f"{n} {r:,}" for n, r in result.label_rows.items())
    noise = ", ".join(f"{c} {_percent(r)}" for c, r in result.noise_rates.items())
    title = (
        f"suspected label errors: {len(result.label_issues):,} of {sum(result.label_rows.values()):,} "
        f"rows ({examined}; out of fold in {result.folds} folds on train), lowest label quality first"
    )
    if result.label_issues:
        parts.append(
            table(
                [named, "split", "given", "suggested", "label quality", "values"],
                [
                    (i.row_id, i.split, i.given, i.suggested, number(i.quality), _values(i.values))
                    for i in result.label_issues[: len(result.worst) or 10]
                ],
                title=title,
                right=(4,),
            )
        )
    else:
        parts.append(title + "\n")
    parts.append(f"estimated share of each given class that is mislabelled: {noise}\n")
    if export is not None:
        parts.append(
            f"wrote {plural(len(result.label_issues), 'suspected label error')} to {export}\n"
        )
    elif result.label_issues:
        parts.append("next: mlprod analyze --export label-issues.csv (every suspect, for review)\n")
    return "\n".join(parts)
