"""``mlprod evaluate``'s result as a table, JSON, Markdown, JUnit XML or one HTML file.

One concept, the evaluation report, in every format: the same
:class:`~mlprod_cli.core.evaluate.EvaluationResult` is drawn from the same sections,
built once here: the per-class table of the primary model (with its averages and
accuracy), the side-by-side comparison with the baseline and the active model, a table
per slice column with the largest gaps, and the gates. A section is a
:class:`~mlprod_cli.render.grid.Grid` of cells; each cell keeps the reason when its
value is undefined, so the table lists the reasons under it and the HTML shows them on
hover. The HTML page is ``templates/evaluate.html.j2`` with the confusion heatmap and
the ROC and precision–recall curves drawn here.

docs/evaluate.md documents every format and every JSON key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlprod_cli.core.words import plural
from mlprod_cli.render import _regression_report, _rules_report, charts
from mlprod_cli.render.grid import (
    UNDEFINED,
    Cell,
    Grid,
    md,
    md_grid,
    reason_notes,
    text_cell,
    text_grid,
    xml_text,
)
from mlprod_cli.render.html import render_page
from mlprod_cli.render.text import REPORT_FORMATS, json_ready, number, to_json

if TYPE_CHECKING:
    from mlprod_cli.core.evaluate import Evaluated, EvaluationResult
    from mlprod_cli.core.metrics import Report, Value

__all__ = [
    "ALL_METRICS_COLUMNS",
    "FORMATS",
    "KEY_METRICS",
    "TABLE_COLUMNS",
    "check_html",
    "json_data",
    "render",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_table",
]

FORMATS = REPORT_FORMATS

TABLE_COLUMNS: tuple[str, ...] = (
    "class",
    "sensitivity",
    "precision",
    "f1_score",
    "specificity",
    "FDR",
    "AUROC",
    "TP",
    "FP",
    "FN",
    "% of samples",
)
"""The per-class table's columns, in order."""

ALL_METRICS_COLUMNS: tuple[str, ...] = (
    "NPV",
    "FOR",
    "FPR",
    "FNR",
    "LR+",
    "LR-",
    "DOR",
    "prevalence",
    "TN",
    "support",
)
"""The columns ``--all-metrics`` appends to :data:`TABLE_COLUMNS`."""

KEY_METRICS: tuple[str, ...] = ("recall", "precision", "f1_score", "auroc")
"""The metrics compared side by side, per slice, and in ``slice_gaps``."""

# Column header -> (what it shows, the key in ClassMetrics.metrics or the count attribute).
_COLUMN_SOURCES: dict[str, tuple[str, str]] = {
    "sensitivity": ("metric", "sensitivity"),
    "precision": ("metric", "precision"),
    "f1_score": ("metric", "f1_score"),
    "specificity": ("metric", "specificity"),
    "FDR": ("metric", "fdr"),
    "AUROC": ("metric", "auroc"),
    "TP": ("count", "tp"),
    "FP": ("count", "fp"),
    "FN": ("count", "fn"),
    "% of samples": ("share", "share"),
    "NPV": ("metric", "npv"),
    "FOR": ("metric", "for"),
    "FPR": ("metric", "fpr"),
    "FNR": ("metric", "fnr"),
    "LR+": ("metric", "lr_plus"),
    "LR-": ("metric", "lr_minus"),
    "DOR": ("metric", "dor"),
    "prevalence": ("metric", "prevalence"),
    "TN": ("count", "tn"),
    "support": ("count", "support"),
}

# Scikit-learn's classification_report puts accuracy in the F1 column; so do we.
_ACCURACY_COLUMN = "f1_score"
_AVERAGE_ROWS = (("macro", "macro avg"), ("weighted", "weighted avg"))
# Above this many classes a slice table shows macro averages instead of every class.
_MAX_SLICE_CLASSES = 3
# ROC and PR curves: one panel per class, at most this many panels.
_MAX_CURVE_CLASSES = 12


# --- the sections, built once for every format -----------------------------------------------


def _number_cell(value: Value, digits: int = 4) -> Cell:
    if value.value is None:
        return Cell(UNDEFINED, value.reason or "undefined")
    return Cell(number(value.value, digits))


def _class_value(report: Report, label: str | None, metric: str) -> Value:
    """The metric of class ``label``, or its macro average when ``label`` is None."""
    from mlprod_cli.core.metrics import Value

    if label is None:
        return report.averages["macro"][metric]
    for cls in report.classes:
        if cls.label == label:
            return cls.metrics[metric]
    return Value(None, "class not in this report")


def _ref(metric: str, label: str | None) -> str:
    """``recall@melanoma``, or ``recall`` for the macro average: the gate syntax."""
    return metric if label is None else f"{metric}@{label}"


def _class_grid(evaluated: Evaluated, *, all_metrics: bool = False) -> Grid:
    report = evaluated.report
    headers = list(TABLE_COLUMNS) + (list(ALL_METRICS_COLUMNS) if all_metrics else [])
    rows: list[list[Cell]] = []
    for cls in report.classes:
        row = [text_cell(cls.label)]
        for header in headers[1:]:
            source, key = _COLUMN_SOURCES[header]
            if source == "metric":
                row.append(_number_cell(cls.metrics[key]))
            elif source == "count":
                row.append(text_cell(getattr(cls, key)))
            else:
                row.append(text_cell(f"{cls.share * 100:.1f}"))
        rows.append(row)
    for kind, name in _AVERAGE_ROWS:
        averages = report.averages[kind]
        row = [text_cell(name)]
        for header in headers[1:]:
            source, key = _COLUMN_SOURCES[header]
            row.append(_number_cell(averages[key]) if source == "metric" else Cell(""))
        rows.append(row)
    accuracy_row = [text_cell("accuracy")] + [
        _number_cell(report.accuracy) if header == _ACCURACY_COLUMN else Cell("")
        for header in headers[1:]
    ]
    rows.append(accuracy_row)
    grid = Grid(
        f"{evaluated.name}: per class ({plural(report.n_samples, 'sample')})",
        headers,
        rows,
        right=set(range(1, len(headers))),
    )
    grid.notes = reason_notes(grid)
    for header in headers[1:]:
        source, key = _COLUMN_SOURCES[header]
        average = report.averages["macro"][key] if source == "metric" else None
        # Both averages skip the same classes; say so once, and only when they are defined.
        if average is not None and average.defined and average.skipped:
            grid.notes.append(
                f"{header} averages leave out {', '.join(average.skipped)} (undefined there)"
            )
    for name, value in report.custom.items():
        text = number(value.value) if value.defined else f"{UNDEFINED} ({value.reason})"
        grid.notes.append(f"custom metric {name}: {text}")
    return grid


def _comparison_grid(result: EvaluationResult) -> Grid | None:
    if not result.comparisons:
        return None
    primary = result.primary
    headers = ["class", "metric", primary.name]
    for other in result.comparisons:
        headers += [other.name, f"Δ vs {other.name}"]
    targets: list[str | None] = [*primary.report.labels, None]
    rows: list[list[Cell]] = []
    for label in targets:
        for metric in KEY_METRICS:
            mine = _class_value(primary.report, label, metric)
            row = [text_cell("macro avg" if label is None else label), text_cell(metric)]
            row.append(_number_cell(mine))
            for other in result.comparisons:
                theirs = _class_value(other.report, label, metric)
                row += [_number_cell(theirs), _difference(mine, theirs)]
            rows.append(row)
    accuracy = primary.report.accuracy
    row = [text_cell("accuracy"), Cell(""), _number_cell(accuracy)]
    for other in result.comparisons:
        row += [_number_cell(other.report.accuracy), _difference(accuracy, other.report.accuracy)]
    rows.append(row)
    names = ", ".join(other.name for other in result.comparisons)
    grid = Grid(
        f"{primary.name} compared with {names}",
        headers,
        rows,
        right=set(range(2, len(headers))),
    )
    # Reasons of the comparison models only: the primary's are under its own table.
    for i, other in enumerate(result.comparisons):
        column = 3 + 2 * i
        grouped: dict[tuple[str, str], list[str]] = {}
        for row in rows:
            reason = row[column].reason
            if reason is not None and reason != "not defined on both sides":
                grouped.setdefault((row[1].text, reason), []).append(row[0].text)
        grid.notes += [
            f"{UNDEFINED} {metric} of {', '.join(labels)} ({other.name}): {reason}"
            for (metric, reason), labels in grouped.items()
        ]
    return grid


def _difference(mine: Value, theirs: Value) -> Cell:
    if mine.value is None or theirs.value is None:
        return Cell(UNDEFINED, "not defined on both sides")
    return Cell(f"{mine.value - theirs.value:+.4f}")


@dataclass(frozen=True)
class _Gap:
    """The spread of one metric over the values of a slice column."""

    ref: str
    gap: float | None
    low: tuple[str, float] | None
    high: tuple[str, float] | None
    undefined: tuple[str, ...]  # slice values where the metric is undefined


def _gap(groups: Mapping[str, Report], metric: str, label: str | None) -> _Gap:
    values: dict[str, float] = {}
    undefined = []
    for value, report in groups.items():
        v = _class_value(report, label, metric)
        if v.value is None:
            undefined.append(value)
        else:
            values[value] = v.value
    ref = _ref(metric, label)
    if len(values) < 2:
        return _Gap(ref, None, None, None, tuple(undefined))
    low = min(values, key=values.__getitem__)
    # The last of equal maxima: with no gap at all, lowest and highest are still two slices.
    high = max(reversed(list(values)), key=values.__getitem__)
    return _Gap(
        ref, values[high] - values[low], (low, values[low]), (high, values[high]), tuple(undefined)
    )


def _gaps(groups: Mapping[str, Report], labels: Sequence[str | None]) -> list[_Gap]:
    return [_gap(groups, metric, label) for label in labels for metric in KEY_METRICS]


def _slice_labels(report: Report) -> list[str | None]:
    """The classes a slice table shows: each class, or only the macro average when many."""
    return list(report.labels) if len(report.labels) <= _MAX_SLICE_CLASSES else [None]


def _slice_grids(evaluated: Evaluated) -> list[Grid]:
    grids = []
    shown = _slice_labels(evaluated.report)
    for column, groups in evaluated.slices.items():
        headers = [column, "support"] + [
            _ref(metric, label) if label is not None else f"macro {metric}"
            for label in shown
            for metric in KEY_METRICS
        ]
        rows = []
        for value, report in groups.items():
            row = [text_cell(value), text_cell(report.n_samples)]
            row += [
                _number_cell(_class_value(report, label, m)) for label in shown for m in KEY_METRICS
            ]
            rows.append(row)
        grid = Grid(
            f"{evaluated.name} by {column}", headers, rows, right=set(range(1, len(headers)))
        )
        grid.notes = reason_notes(grid)
        grids.append(grid)
        gap_rows = []
        for gap in _gaps(groups, shown):
            gap_rows.append(
                [
                    text_cell(gap.ref if "@" in gap.ref else f"macro {gap.ref}"),
                    Cell(UNDEFINED, "fewer than two slices define it")
                    if gap.gap is None
                    else Cell(number(gap.gap)),
                    text_cell("" if gap.low is None else f"{gap.low[0]} {number(gap.low[1])}"),
                    text_cell("" if gap.high is None else f"{gap.high[0]} {number(gap.high[1])}"),
                    text_cell(", ".join(gap.undefined)),
                ]
            )
        grids.append(
            Grid(
                f"largest gap across {column}",
                ["metric", "gap", "lowest", "highest", "undefined in"],
                gap_rows,
                right={1},
            )
        )
    return grids


def _gate_grid(result: EvaluationResult) -> Grid | None:
    if not result.gates:
        return None
    rows = [
        [
            text_cell("PASS" if gate.passed else "FAIL"),
            text_cell(gate.subject or gate.name),
            text_cell(gate.detail),
        ]
        for gate in result.gates
    ]
    return Grid("gates", ["result", "gate", "detail"], rows)


def _gate_summary(result: EvaluationResult) -> str:
    if not result.gates:
        return "gates: none configured (metrics.gates in mlprod.yaml)"
    failed = sum(not g.passed for g in result.gates)
    counts = f"{len(result.gates) - failed} passed, {failed} failed"
    if not result.gates_enforced:
        return f"gates: not enforced (--no-gate); {counts}"
    return f"gates: {counts}"


_SELECTED = {
    "active": "the active model (default; --model picks another)",
    "newest": "the newest model (none is active)",
}


def _meta(result: EvaluationResult) -> list[str]:
    """Where the numbers come from: model, data, project, run."""
    primary = result.primary
    data = result.data or {}
    lines = [f"{primary.name} ({primary.kind}) on {data.get('source') or 'the data'}"]
    facts = []
    if data.get("rows") is not None:
        facts.append(plural(data["rows"], "row"))
    if data.get("sha256"):
        facts.append(f"sha256 {str(data['sha256'])[:12]}")
    if facts:
        lines[0] += f" ({', '.join(facts)})"
    chosen = _SELECTED.get(result.selected or "")
    if chosen:
        lines.append(f"{primary.name} is {chosen}")
    run = [f"project {result.project}"] if result.project else []
    if result.run_id:
        run.append(f"run {result.run_id}" + (" (stored)" if result.stored else ""))
    if result.created_at:
        run.append(str(result.created_at))
    if run:
        lines.append(", ".join(run))
    if result.rules is not None:
        lines += _rules_report.rules_meta(result.rules)[:1]
    return lines


def _sections(result: EvaluationResult, *, all_metrics: bool) -> list[Grid]:
    if _regression_report.is_regression(result):
        return _regression_report.sections(result)
    grids = [_class_grid(result.primary, all_metrics=all_metrics)]
    comparison = _comparison_grid(result)
    if comparison is not None:
        grids.append(comparison)
    grids += _slice_grids(result.primary)
    return grids + _rules_report.rules_grids(result)


# --- table -------------------------------------------------------------------------------------


def _split_columns(grid: Grid, at: int) -> list[Grid]:
    """The grid as two: its columns before ``at``, then the first column and the rest."""
    first = Grid(grid.title, grid.headers[:at], [row[:at] for row in grid.rows], grid.right)
    second = Grid(
        f"{grid.title}, more metrics",
        [grid.headers[0], *grid.headers[at:]],
        [[row[0], *row[at:]] for row in grid.rows if any(c.text for c in row[at:])],
        {i - at + 1 for i in grid.right if i >= at},
        grid.notes,
    )
    return [first, second]


def _warning_lines(result: EvaluationResult) -> list[str]:
    return [f"warning: {w}" for w in result.warnings]


def render_table(result: EvaluationResult, *, all_metrics: bool = False) -> str:
    """The report for people: plain-text tables, undefined values as ``—`` with the reason."""
    parts = ["\n".join(_meta(result) + _warning_lines(result))]
    grids = _sections(result, all_metrics=all_metrics)
    if all_metrics and not _regression_report.is_regression(result):
        # 21 columns do not fit a terminal: the extra metrics get a table of their own.
        grids[0:1] = _split_columns(grids[0], len(TABLE_COLUMNS))
    parts += [text_grid(grid) for grid in grids]
    gates = _gate_grid(result)
    summary = _gate_summary(result)
    parts.append(summary if gates is None else f"{text_grid(gates)}\n{summary}")
    return "\n\n".join(parts) + "\n"


# --- json --------------------------------------------------------------------------------------


def _classes_json(report: Report) -> list[dict[str, Any]]:
    from mlprod_cli.core.metrics import METRIC_NAMES

    return [
        {
            "label": cls.label,
            "tp": cls.tp,
            "fp": cls.fp,
            "fn": cls.fn,
            "tn": cls.tn,
            "support": cls.support,
            "share": cls.share,
            **{name: cls.metrics[name].value for name in METRIC_NAMES},
            "undefined": {
                name: cls.metrics[name].reason
                for name in METRIC_NAMES
                if not cls.metrics[name].defined
            },
        }
        for cls in report.classes
    ]


def _averages_json(report: Report) -> dict[str, Any]:
    out = {}
    for kind, values in report.averages.items():
        out[kind] = {
            **{name: v.value for name, v in values.items()},
            "undefined": {name: v.reason for name, v in values.items() if not v.defined},
            "skipped": {name: list(v.skipped) for name, v in values.items() if v.skipped},
        }
    return out


def _custom_json(report: Report) -> dict[str, Any]:
    # Nested, not flat: a custom metric may be called anything, even "undefined".
    return {
        "metrics": {name: v.value for name, v in report.custom.items()},
        "undefined": {name: v.reason for name, v in report.custom.items() if not v.defined},
    }


def _report_json(report: Report) -> dict[str, Any]:
    return {
        "n_samples": report.n_samples,
        "classes": _classes_json(report),
        "averages": _averages_json(report),
        "accuracy": report.accuracy.value,
        "custom": _custom_json(report),
    }


def _model_json(evaluated: Evaluated) -> dict[str, Any]:
    return {"name": evaluated.name, "version": evaluated.version, "kind": evaluated.kind}


def json_data(result: EvaluationResult) -> dict[str, Any]:
    """The JSON document as Python data (what :func:`render_json` serialises)."""
    primary = result.primary
    report = primary.report
    if _regression_report.is_regression(result):
        return json_ready(_shared_json(result) | _regression_report.json_body(result))
    body = _report_json(report)
    all_labels: list[str | None] = [*report.labels, None]
    data = {
        "project": result.project,
        "run_id": result.run_id,
        "created_at": result.created_at,
        "stored": result.stored,
        "data": result.data,
        "model": _model_json(primary),
        "selected": result.selected,
        "n_samples": body["n_samples"],
        "classes": body["classes"],
        "averages": body["averages"],
        "accuracy": body["accuracy"],
        "custom": body["custom"],
        "confusion": {"labels": list(report.labels), "matrix": report.confusion.tolist()},
        "comparisons": [
            {**_model_json(other), **_report_json(other.report)} for other in result.comparisons
        ],
        "slices": {
            column: {
                value: {
                    "support": r.n_samples,
                    "accuracy": r.accuracy.value,
                    "classes": _classes_json(r),
                    "averages": _averages_json(r),
                }
                for value, r in groups.items()
            }
            for column, groups in primary.slices.items()
        },
        "slice_gaps": {
            column: {gap.ref: gap.gap for gap in _gaps(groups, all_labels)}
            for column, groups in primary.slices.items()
        },
        **_gates_json(result),
    }
    if result.rules is not None:  # only then: a project without rules keeps its document
        data["rules"] = _rules_report.rules_json(result.rules, _report_json, _slice_json, report)
    return json_ready(data)


def _shared_json(result: EvaluationResult) -> dict[str, Any]:
    """The keys every evaluate document has, whatever the task."""
    return {
        "project": result.project,
        "run_id": result.run_id,
        "created_at": result.created_at,
        "stored": result.stored,
        "data": result.data,
        "model": _model_json(result.primary),
        "selected": result.selected,
        **_gates_json(result),
    }


def _gates_json(result: EvaluationResult) -> dict[str, Any]:
    return {
        "gates": [
            {
                "name": g.name,
                "kind": g.kind,
                "passed": g.passed,
                "value": g.value,
                "detail": g.detail,
                "subject": g.subject or g.name,
                "required": g.required or None,
                "limit": g.limit,
                "checked": g.reason is None,
                "reason": g.reason,
            }
            for g in result.gates
        ],
        "gates_enforced": result.gates_enforced,
        "passed": result.passed,
        "status": result.status,
        "warnings": list(result.warnings),
    }


def _slice_json(report: Report) -> dict[str, Any]:
    return {
        "support": report.n_samples,
        "accuracy": report.accuracy.value,
        "classes": _classes_json(report),
        "averages": _averages_json(report),
    }


def render_json(result: EvaluationResult) -> str:
    """The report for machines: stable keys (docs/evaluate.md), ``null`` for undefined values."""
    return to_json(json_data(result)) + "\n"


# --- markdown ----------------------------------------------------------------------------------


def _headline(result: EvaluationResult) -> tuple[bool, str]:
    """(passed, ``model v0003: 1 of 3 gates failed``)."""
    name = result.primary.name
    failed = sum(not g.passed for g in result.gates)
    if not result.gates:
        text = f"{name}: no gates"
    elif failed:
        text = f"{name}: {failed} of {plural(len(result.gates), 'gate')} failed"
    elif len(result.gates) == 1:
        text = f"{name}: its one gate passed"
    else:
        text = f"{name}: all {plural(len(result.gates), 'gate')} passed"
    if result.gates and not result.gates_enforced:
        text += " (not enforced)"
    if result.warnings:
        text += f"; {plural(len(result.warnings), 'warning')}"
    return not failed, text


def render_markdown(result: EvaluationResult, *, all_metrics: bool = False) -> str:
    """GitHub-flavoured Markdown for a PR comment or ``$GITHUB_STEP_SUMMARY``."""
    passed, headline = _headline(result)
    mark = {"pass": "✅", "warn": "⚠️", "fail": "❌"}[result.status] if passed else "❌"
    parts = [f"## {mark} {md(headline)}", "  \n".join(map(md, _meta(result)))]
    if result.warnings:
        parts.append("\n".join(f"> **warning:** {md(w)}" for w in result.warnings))
    parts += [md_grid(grid) for grid in _sections(result, all_metrics=all_metrics)]
    gates = _gate_grid(result)
    if gates is not None:
        for row in gates.rows:
            status = row[0].text
            row[0] = Cell(f"{'✅' if status == 'PASS' else '❌'} {status}")
        parts.append(md_grid(gates))
    parts.append(md(_gate_summary(result)))
    return "\n\n".join(parts) + "\n"


# --- junit -------------------------------------------------------------------------------------


def _metric_lines(cls: Any) -> str:
    from mlprod_cli.core.metrics import METRIC_NAMES

    lines = [f"tp={cls.tp} fp={cls.fp} fn={cls.fn} tn={cls.tn} support={cls.support}"]
    for name in METRIC_NAMES:
        value = cls.metrics[name]
        lines.append(
            f"{name}={number(value.value)}"
            if value.defined
            else f"{name}=undefined ({value.reason})"
        )
    return "\n".join(lines)


def render_junit(result: EvaluationResult) -> str:
    """JUnit XML: each gate a ``<testcase>`` (failed ones ``<failure>``), each class one more.

    Gates are the suite ``mlprod evaluate``; with ``--no-gate`` a failed gate is
    ``<skipped message="not enforced">`` instead. The suite ``mlprod evaluate metrics``
    has one passing test case per class, its metrics in ``<system-out>``.
    """
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="mlprod evaluate")
    gates = ET.SubElement(root, "testsuite", name="mlprod evaluate")
    properties = ET.SubElement(gates, "properties")
    facts = {
        "model": result.primary.name,
        "version": result.primary.version,
        "selected": result.selected,
        "project": result.project,
        "run_id": result.run_id,
        "data": (result.data or {}).get("source"),
        "gates_enforced": str(result.gates_enforced).lower(),
    }
    for key, value in facts.items():
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=xml_text(value))
    failures = skipped = 0
    for gate in result.gates:
        case = ET.SubElement(gates, "testcase", classname="mlprod.gates", name=xml_text(gate.name))
        if gate.passed:
            ET.SubElement(case, "system-out").text = xml_text(gate.detail)
        elif result.gates_enforced:
            failures += 1
            failure = ET.SubElement(
                case, "failure", message=xml_text(gate.detail), type=xml_text(gate.kind)
            )
            failure.text = xml_text(f"{gate.name}: {gate.detail}")
        else:
            skipped += 1
            ET.SubElement(case, "skipped", message="not enforced").text = xml_text(gate.detail)
    # Warnings are not failures, but not green either: CI shows a skipped case in yellow.
    for warning in result.warnings:
        case = ET.SubElement(gates, "testcase", classname="mlprod.warnings", name=xml_text(warning))
        ET.SubElement(case, "skipped", message=xml_text(f"warning: {warning}"))
        skipped += 1
    _suite_counts(
        gates, len(result.gates) + len(result.warnings), failures, skipped, result.created_at
    )

    metrics = ET.SubElement(root, "testsuite", name="mlprod evaluate metrics")
    if _regression_report.is_regression(result):
        case = ET.SubElement(metrics, "testcase", classname="mlprod.metrics", name="regression")
        lines = _regression_report.junit_lines(result.primary.report)
        ET.SubElement(case, "system-out").text = xml_text(lines)
        n_classes = 1
    else:
        for cls in result.primary.report.classes:
            case = ET.SubElement(
                metrics, "testcase", classname="mlprod.metrics", name=xml_text(cls.label)
            )
            ET.SubElement(case, "system-out").text = xml_text(_metric_lines(cls))
        n_classes = len(result.primary.report.classes)
    _suite_counts(metrics, n_classes, 0, 0, result.created_at)
    total = len(result.gates) + len(result.warnings) + n_classes
    if result.rules is not None:
        total += _rules_report.rules_junit(root, result.rules, result.created_at)
    _suite_counts(root, total, failures, skipped, None)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite_counts(
    element: Any, tests: int, failures: int, skipped: int, timestamp: str | None
) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", "0")
    element.set("skipped", str(skipped))
    if timestamp:
        element.set("timestamp", xml_text(timestamp))


# --- html --------------------------------------------------------------------------------------


def check_html() -> None:
    """UsageError when ``--format html`` cannot be drawn (no matplotlib): before any work."""
    charts.require_matplotlib("--format html")


def _confusion_png(report: Report) -> str:
    """Counts in each cell, coloured by the share of the true class (row) they hold."""
    import numpy as np

    matrix = np.asarray(report.confusion)
    k = len(report.labels)
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    side = min(3.0 + 0.55 * k, 14.0)
    figure = charts.figure(side + 1.5, side)
    axes = figure.add_subplot()
    image = axes.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    names = [charts.literal(label, 25) for label in report.labels]
    axes.set_xticks(range(k), names, rotation=45, ha="right")
    axes.set_yticks(range(k), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if k <= 25:
        for i in range(k):
            for j in range(k):
                axes.text(
                    j,
                    i,
                    str(int(matrix[i, j])),
                    ha="center",
                    va="center",
                    fontsize=9 if k <= 10 else 7,
                    color="white" if share[i, j] > 0.5 else "black",
                )
    figure.colorbar(image, ax=axes, label="share of the true class", shrink=0.8)
    return charts.png_data_uri(figure)


def _curve_inputs(
    curves: Mapping[str, tuple[Any, Any, Sequence[Any]]],
) -> tuple[list[tuple[str, Any, Any, list[str]]], list[str]]:
    """Per model: true labels as text, scores, and the classes of the score columns."""
    import numpy as np

    from mlprod_cli.errors import DataError

    models, skipped = [], []
    for name, (y_true, scores, columns) in curves.items():
        if scores is None:
            skipped.append(f"{name}: no scores")
            continue
        truth = np.asarray(y_true).astype(str)
        arr = np.asarray(scores, dtype=float)
        columns = [str(c) for c in columns]
        if arr.ndim != 2 or arr.shape != (len(truth), len(columns)):
            raise DataError(
                f"curves of {name}: scores must have shape ({len(truth)}, {len(columns)}), got {arr.shape}"
            )
        models.append((name, truth, arr, columns))
    return models, skipped


def _curves_png(
    labels: Sequence[str], models: list[tuple[str, Any, Any, list[str]]], kind: str
) -> tuple[str, list[str]]:
    """One panel per class (one-vs-rest), one line per model; and what was left out."""
    import numpy as np
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    notes = []
    drawable = []
    for label in labels:
        present = [
            m for m in models if label in m[3] and 0 < int(np.sum(m[1] == label)) < len(m[1])
        ]
        if present:
            drawable.append((label, present))
        else:
            notes.append(f"{label}: only one class present in y_true (no curve)")
    if len(drawable) > _MAX_CURVE_CLASSES:
        notes.append(
            f"the first {_MAX_CURVE_CLASSES} of {plural(len(drawable), 'class', 'classes')} are drawn"
        )
        drawable = drawable[:_MAX_CURVE_CLASSES]
    if not drawable:
        return "", notes
    columns = min(3, len(drawable))
    rows = math.ceil(len(drawable) / columns)
    figure = charts.figure(4.2 * columns, 3.8 * rows)
    for index, (label, present) in enumerate(drawable):
        axes = figure.add_subplot(rows, columns, index + 1)
        for name, truth, scores, classes in present:
            positive = truth == label
            score = scores[:, classes.index(label)]
            if kind == "roc":
                fpr, tpr, _ = roc_curve(positive, score)
                axes.plot(fpr, tpr, label=charts.literal(f"{name} (AUROC {auc(fpr, tpr):.3f})", 60))
            else:
                precision, recall, _ = precision_recall_curve(positive, score)
                ap = average_precision_score(positive, score)
                axes.step(
                    recall,
                    precision,
                    where="post",
                    label=charts.literal(f"{name} (AP {ap:.3f})", 60),
                )
        if kind == "roc":
            axes.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1)
            axes.set_xlabel("false positive rate")
            axes.set_ylabel("true positive rate")
        else:
            prevalence = float(np.mean(present[0][1] == label))
            axes.axhline(prevalence, linestyle=":", color="grey", linewidth=1)
            axes.set_xlabel("recall")
            axes.set_ylabel("precision")
        axes.set_xlim(-0.02, 1.02)
        axes.set_ylim(-0.02, 1.02)
        axes.set_title(charts.literal(label), fontsize=10)
        axes.legend(fontsize=7, loc="lower right" if kind == "roc" else "lower left")
        axes.grid(True, alpha=0.3)
    return charts.png_data_uri(figure), notes


def _page_fields(result, passed: bool, headline: str) -> dict:
    """What both evaluate pages show at the top: the model, the verdict, the run, the warnings."""
    return {
        "model": result.primary.name,
        "passed": passed,
        "status": result.status if passed else "fail",
        "headline": headline,
        "meta": _meta(result),
        "warnings": result.warnings,
    }


def _regression_html(result, curves, rows, passed: bool, headline: str) -> str:
    """The regression page: the grids, predicted against true, residuals by slice."""
    grids = _regression_report.sections(result)
    comparison = grids.pop(1) if result.comparisons else None
    return render_page(
        "evaluate_regression.html.j2",
        **_page_fields(result, passed, headline),
        metrics=grids[0],
        predicted=_regression_report.predicted_png(curves),
        residuals=_regression_report.residuals_png(curves, result.primary.name, rows),
        comparison=comparison,
        deciles=grids[1],
        slices=grids[2:],
        gates=_gate_grid(result),
        gate_summary=_gate_summary(result),
    )


def render_html(
    result: EvaluationResult,
    curves: Mapping[str, tuple[Any, Any, Sequence[Any]]] | None = None,
    *,
    all_metrics: bool = False,
    rows: Mapping[str, Any] | None = None,
) -> str:
    """One self-contained HTML file: the tables, a confusion heatmap, ROC and PR curves.

    ``curves`` maps a model name to ``(y_true, scores, labels)``: the true labels, an
    ``(n_samples, len(labels))`` array of scores (column ``j`` for ``labels[j]``) and the
    classes; the report keeps no per-sample scores, so without ``curves`` (or when a
    model's scores are None) only the confusion matrix is drawn. Images are PNGs in
    ``data:`` URIs; nothing is loaded from anywhere else.

    Raises :class:`~mlprod_cli.errors.UsageError` when matplotlib is not installed.
    """
    check_html()
    passed, headline = _headline(result)
    if _regression_report.is_regression(result):
        return _regression_html(result, curves or {}, rows or {}, passed, headline)
    report = result.primary.report
    grids = _sections(result, all_metrics=all_metrics)
    models, skipped = _curve_inputs(curves or {})
    drawn = []
    for kind, title in (("roc", "ROC curves"), ("pr", "Precision–recall curves")) if models else ():
        png, notes = _curves_png(report.labels, models, kind)
        drawn.append((title, png, skipped + notes))
    rules = _rules_report.rules_grids(result)
    if rules:
        del grids[len(grids) - len(rules) :]
    comparison = grids.pop(1) if result.comparisons else None
    return render_page(
        "evaluate.html.j2",
        **_page_fields(result, passed, headline),
        classes=grids[0],
        confusion=_confusion_png(report),
        curves=drawn,
        skipped=skipped,
        comparison=comparison,
        slices=grids[1:],
        gates=_gate_grid(result),
        gate_summary=_gate_summary(result),
        rules=rules,
    )


# --- dispatch ----------------------------------------------------------------------------------


def render(
    result: EvaluationResult,
    fmt: str,
    *,
    all_metrics: bool = False,
    curves: Mapping[str, tuple[Any, Any, Sequence[Any]]] | None = None,
    rows: Mapping[str, Any] | None = None,
) -> str:
    """``result`` rendered as ``fmt``: one of :data:`FORMATS`.

    ``all_metrics`` adds :data:`ALL_METRICS_COLUMNS` to the table, Markdown and HTML
    (JSON and JUnit always carry every metric); ``curves`` is for HTML only.
    """
    from mlprod_cli.errors import UsageError

    if fmt == "table":
        return render_table(result, all_metrics=all_metrics)
    if fmt == "json":
        return render_json(result)
    if fmt == "markdown":
        return render_markdown(result, all_metrics=all_metrics)
    if fmt == "junit":
        return render_junit(result)
    if fmt == "html":
        return render_html(result, curves, all_metrics=all_metrics, rows=rows)
    raise UsageError(f"unknown format '{fmt}'; use one of: {', '.join(FORMATS)}")
