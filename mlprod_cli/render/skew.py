"""``mlprod skew``'s result as a table, JSON, Markdown, JUnit XML or one HTML file.

Every format renders the same :class:`~mlprod_cli.core.skew.SkewRun` from the same
sections, built once here: the features (a row each, the statistics that have a
threshold, the null rates and the value counts), the schema findings, the predictions
(drift, prediction mismatch, score difference; for a regression the drift of its
values, how many served values differ from the offline ones, and both sides' values
side by side: :mod:`._regression_skew`), the rules' fire rates (a version with
rules) and the notes. An undefined statistic is
``—`` with its reason listed under the table (in HTML, on hover). The HTML report adds,
per feature, the training and serving distributions overlaid as an embedded PNG: the
share of values in each PSI bin (the training deciles) for a numeric feature, the share
of the categories that moved most for a categorical one (``templates/skew.html.j2``).

docs/skew.md documents every format and every JSON key.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlprod_cli.core.words import plural
from mlprod_cli.render import _regression_skew, charts
from mlprod_cli.render.grid import (
    UNDEFINED,
    Cell,
    Grid,
    md,
    md_grid,
    reason_notes,
    text_grid,
    xml_text,
)
from mlprod_cli.render.html import render_page
from mlprod_cli.render.text import REPORT_FORMATS, json_ready, number, to_json

if TYPE_CHECKING:
    from mlprod_cli.core.skew import FeatureSkew, SkewRun

__all__ = [
    "FEATURE_COLUMNS",
    "FORMATS",
    "check_html",
    "failed",
    "headline",
    "json_data",
    "render",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_table",
]

FORMATS = REPORT_FORMATS

FEATURE_COLUMNS: tuple[str, ...] = ("psi", "ks", "wasserstein", "js", "linf")
"""The statistics shown as columns of the feature table (null rates have their own)."""

_PREDICTION_STATS = ("psi", "js", "linf", "prediction_mismatch", "score_diff")
_RANK = {"ok": 0, "warn": 1, "fail": 2}
_MAX_BARS = 15  # categories drawn per categorical plot


def check_html() -> None:
    """UsageError when ``--format html`` cannot be drawn (no matplotlib): before any work."""
    charts.require_matplotlib("--format html")


def failed(run: SkewRun, fail_on: str = "fail") -> bool:
    """Whether the run should exit 1: something fails, or with ``fail_on="warn"`` warns."""
    return _RANK[run.report.status] >= _RANK[fail_on]


def _flagged(run: SkewRun) -> dict[str, list[str]]:
    """Names of what fails and what warns: features, extra columns, the predictions."""
    out: dict[str, list[str]] = {"fail": [], "warn": []}
    report = run.report
    for f in report.features:
        if f.status in out:
            out[f.status].append(f.name)
    for x in report.schema:
        if x.kind == "extra_column" and x.status in out:
            out[x.status].append(x.column)
    if report.predictions is not None and report.predictions.status in out:
        out[report.predictions.status].append("prediction")
    return out


def headline(run: SkewRun, fail_on: str = "fail") -> str:
    """``skew FAIL: 2 failures (diameter_mm, sex), 1 warning (color_count); 8 features compared``."""
    flagged = _flagged(run)
    n = len(run.report.features)
    parts = []
    if flagged["fail"]:
        parts.append(f"{plural(len(flagged['fail']), 'failure')} ({_names(flagged['fail'])})")
    if flagged["warn"]:
        parts.append(f"{plural(len(flagged['warn']), 'warning')} ({_names(flagged['warn'])})")
    text = ", ".join(parts) if parts else "all ok"
    status = run.report.status.upper()
    suffix = " (--fail-on warn)" if fail_on == "warn" and run.report.status == "warn" else ""
    return f"skew {status}{suffix}: {text}; {plural(n, 'feature')} compared"


def _names(items: list[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _meta(run: SkewRun) -> list[str]:
    ref, cur = run.reference, run.current
    lines = []
    who = [f"model {run.version}" if run.version else "no model version"]
    if run.project:
        who.append(f"project {run.project}")
    lines.append(", ".join(who))
    facts = [plural(ref.get("rows", 0), "row")]
    if ref.get("sha256"):
        facts.append(f"sha256 {str(ref['sha256'])[:12]}")
    if ref.get("cached"):
        facts.append("summary from the cache")
    what = ref.get("kind", "file")
    source = ref.get("source", "")
    lines.append(
        f"reference: {what + ' ' + source if what == 'file' else f'{what} of {run.version} ({source})'}, {', '.join(facts)}"
    )
    files = cur.get("files") or []
    shown = f"{cur.get('kind', 'files')} {cur.get('source', '')}".strip()
    count = f"{plural(len(files), 'file')}, " if cur.get("kind") == "request log" else ""
    lines.append(f"current: {shown} ({count}{plural(cur.get('rows', 0), 'row')})")
    return lines


def _prediction_line(run: SkewRun) -> str:
    info = run.prediction_skew
    if info.get("checked"):
        text = f"prediction skew: {plural(info['rows'], 'served row')} re-scored offline with {run.version}"
        if info.get("score_rows"):
            text += f" ({info['score_rows']:,} with scores)"
        return text
    return f"prediction skew: not checked ({info.get('reason') or 'no served predictions'})"


# --- the sections, built once for every format -----------------------------------------------


def _stat_cell(f: FeatureSkew, name: str) -> Cell:
    stat = f.statistics.get(name)
    if stat is None:
        return Cell("")
    if stat.value is None:
        return Cell(UNDEFINED, stat.reason or "undefined")
    text = number(stat.value)
    if stat.status != "ok":
        text += f" {stat.status}"
    elif name in _overridden(f):
        text += "*"  # over its threshold, but not significant for this sample (a note says so)
    return Cell(text, status=stat.status)


def _overridden(f: FeatureSkew) -> dict[str, str]:
    return (f.significance or {}).get("overridden") or {}


_TESTS = {"ks": "KS", "chi2": "chi-square"}


def _significance_notes(features: list[FeatureSkew]) -> list[str]:
    """``* age: psi above its fail level, but not significant at n=51 (KS p = 0.84 ≥ 0.01): judged ok``."""
    notes = []
    for f in features:
        overridden = _overridden(f)
        if not overridden:
            continue
        sig = f.significance or {}
        above = ", ".join(f"{name} above its {status} level" for name, status in overridden.items())
        test = _TESTS.get(sig.get("test"), sig.get("test"))
        notes.append(
            f"* {f.name}: {above}, but not significant at n={sig.get('values', 0):,} "
            f"({test} p = {sig.get('pvalue', 0):.2g} ≥ {sig.get('level')}): judged ok"
        )
    return notes


def _null_cell(f: FeatureSkew) -> Cell:
    ref = f.null_rate_reference
    cur = f.null_rate_current
    stat = f.statistics.get("null_rate")
    if cur is None:
        return Cell(UNDEFINED, (stat.reason if stat else None) or "no serving values")
    text = f"{ref:.1%} → {cur:.1%}"
    status = stat.status if stat is not None else "ok"
    return Cell(text + ("" if status == "ok" else f" {status}"), status=status)


def _status_text(status: str) -> str:
    return status if status == "ok" else status.upper()


def _feature_grid(run: SkewRun) -> Grid:
    headers = ["feature", "kind", "status", *FEATURE_COLUMNS, "null rate", "values ref / cur"]
    rows = []
    for f in run.report.features:
        row = [Cell(f.name), Cell(f.kind), Cell(_status_text(f.status), status=f.status)]
        row += [_stat_cell(f, name) for name in FEATURE_COLUMNS]
        row.append(_null_cell(f))
        row.append(Cell(f"{f.values_reference:,} / {f.values_current:,}"))
        rows.append(row)
    grid = Grid(
        f"features ({len(rows)})",
        headers,
        rows,
        right=set(range(3, len(headers))),
    )
    grid.notes = reason_notes(grid, names=_names)
    grid.notes += _significance_notes(run.report.features)
    sampled = [f.name for f in run.report.features if f.sampled]
    if sampled:
        grid.notes.append(
            f"ks and wasserstein of {_names(sampled)} are estimated from samples of {plural(run.report.sample_size, 'value')}"
        )
    return grid


def _schema_grid(run: SkewRun) -> Grid | None:
    findings = run.report.schema
    if not findings:
        return None
    rows = [
        [
            Cell(_status_text(x.status), status=x.status),
            Cell(x.kind),
            Cell(x.column),
            Cell(x.message),
        ]
        for x in findings
    ]
    return Grid(f"schema findings ({len(rows)})", ["status", "finding", "column", "detail"], rows)


def _prediction_grid(run: SkewRun) -> Grid | None:
    p = run.report.predictions
    if p is None:
        return None
    numeric = _regression_skew.is_numeric(p)
    rows = []
    for name in _regression_skew.STATISTICS if numeric else _PREDICTION_STATS:
        stat = p.statistics.get(name)
        if stat is None:
            continue
        value = _stat_cell(p, name)
        rows.append(
            [
                Cell(name),
                value,
                Cell("" if stat.warn is None else f"{stat.warn:g}"),
                Cell("" if stat.fail is None else f"{stat.fail:g}"),
                Cell(_status_text(stat.status), status=stat.status),
            ]
        )
    grid = Grid(
        f"predictions: {_status_text(p.status)}",
        ["statistic", "value", "warn above", "fail above", "status"],
        rows,
        right={1, 2, 3},
    )
    grid.notes = reason_notes(grid, names=_names)
    grid.notes += _significance_notes([p])
    summary = p.summary or {}
    if numeric:
        grid.notes += _regression_skew.notes(p)
    elif summary.get("compared"):
        grid.notes.append(
            f"{summary['mismatches']:,} of {summary['compared']:,} served classes differ from the offline ones"
        )
    if not numeric and summary.get("score_diff_max") is not None:
        grid.notes.append(f"largest score difference: {summary['score_diff_max']:.6f}")
    grid.notes.append(_prediction_line(run))
    return grid


def _rules_grid(run: SkewRun) -> Grid | None:
    """Each rule's fire rate on the reference rows and on the serving rows (reported, not gated)."""
    entry = run.rules
    if entry is None:
        return None

    def share(value: float | None) -> Cell:
        return Cell(UNDEFINED, "no rows") if value is None else Cell(f"{value:.1%}")

    rows = []
    for rate in entry["rates"]:
        diff = rate["difference"]
        rows.append(
            [
                Cell(rate["rule"]),
                share(rate["reference"]),
                share(rate["serving"]),
                Cell(UNDEFINED, "no rows") if diff is None else Cell(f"{diff * 100:+.1f} pts"),
            ]
        )
    rows.append(
        [
            Cell("(abstained)"),
            share(entry["abstained_reference"]),
            share(entry["abstained_serving"]),
            Cell(""),
        ]
    )
    grid = Grid(
        f"rules: fire rates ({entry['policy']} policy, sha256 {entry['sha256'][:12]})",
        ["rule", "reference", "serving", "difference"],
        rows,
        right={1, 2, 3},
    )
    how = "as served" if entry["source"] == "served" else "applied again to the re-scored rows"
    grid.notes = [
        f"serving rates {how}, on {plural(entry['rows_serving'], 'row')}; reference on "
        f"{plural(entry['rows_reference'], 'row')}; reported, not gated"
    ]
    return grid


def _sections(run: SkewRun) -> list[Grid]:
    grids = [_feature_grid(run)]
    values = None
    if _regression_skew.is_numeric(run.report.predictions):
        values = _regression_skew.values_grid(run.report.predictions)
    for grid in (_schema_grid(run), _prediction_grid(run), values, _rules_grid(run)):
        if grid is not None:
            grids.append(grid)
    return grids


def _threshold_line(run: SkewRun) -> str:
    shown = []
    for name, t in run.report.thresholds.items():
        warn = "—" if t.warn is None else f"{t.warn:g}"
        fail = "—" if t.fail is None else f"{t.fail:g}"
        shown.append(f"{name} {warn}/{fail}")
    return "thresholds (warn/fail above): " + ", ".join(shown)


# --- table -------------------------------------------------------------------------------------


def render_table(run: SkewRun, *, fail_on: str = "fail") -> str:
    """The report for people: plain-text tables, undefined values as ``—`` with the reason."""
    parts = [headline(run, fail_on), "\n".join(_meta(run))]
    parts += [text_grid(grid) for grid in _sections(run)]
    if run.report.predictions is None:
        parts.append(_prediction_line(run))
    if run.notes:
        parts.append("\n".join(f"note: {n}" for n in run.notes))
    parts.append(_threshold_line(run))
    return "\n\n".join(parts) + "\n"


# --- json --------------------------------------------------------------------------------------


def json_data(run: SkewRun, *, fail_on: str = "fail") -> dict[str, Any]:
    """The JSON document as Python data (what :func:`render_json` serialises)."""
    from mlprod_cli.core.skew import to_dict

    body = to_dict(run.report)
    return json_ready(
        {
            "status": body.pop("status"),
            "failed": failed(run, fail_on),
            "fail_on": fail_on,
            "project": run.project,
            "model_version": run.version,
            "reference": run.reference,
            "current": run.current,
            **body,
            "prediction_skew": run.prediction_skew,
            "rules": run.rules,
            "notes": list(run.notes),
            "seconds": run.seconds,
        }
    )


def render_json(run: SkewRun, *, fail_on: str = "fail") -> str:
    """The report for machines: stable keys (docs/skew.md), ``null`` for undefined values."""
    return to_json(json_data(run, fail_on=fail_on)) + "\n"


# --- markdown ----------------------------------------------------------------------------------


def render_markdown(run: SkewRun, *, fail_on: str = "fail") -> str:
    """GitHub-flavoured Markdown for a PR comment or ``$GITHUB_STEP_SUMMARY``."""
    icon = "❌" if failed(run, fail_on) else ("⚠️" if run.report.status == "warn" else "✅")
    parts = [f"## {icon} {md(headline(run, fail_on))}", "  \n".join(map(md, _meta(run)))]
    parts += [md_grid(grid) for grid in _sections(run)]
    if run.report.predictions is None:
        parts.append(md(_prediction_line(run)))
    if run.notes:
        parts.append("\n".join(f"> **note:** {md(n)}" for n in run.notes))
    parts.append(md(_threshold_line(run)))
    return "\n\n".join(parts) + "\n"


# --- junit -------------------------------------------------------------------------------------


def _over(f: FeatureSkew) -> list[str]:
    """``psi 0.3120 > 0.25`` for each statistic of ``f`` that is not ok."""
    out = []
    for name, stat in f.statistics.items():
        if stat.status == "ok" or stat.value is None:
            continue
        level = stat.fail if stat.status == "fail" else stat.warn
        value = abs(stat.value) if name == "null_rate" else stat.value
        out.append(f"{name} {value:.4f} > {level:g} ({stat.status})")
    return out


def _feature_lines(f: FeatureSkew) -> str:
    lines = [f"status={f.status} kind={f.kind} values={f.values_reference}/{f.values_current}"]
    for name, stat in f.statistics.items():
        lines.append(
            f"{name}={number(stat.value)} ({stat.status})"
            if stat.value is not None
            else f"{name}=undefined ({stat.reason})"
        )
    return "\n".join(lines)


def render_junit(run: SkewRun, *, fail_on: str = "fail") -> str:
    """JUnit XML: a ``<testcase>`` per feature, per extra column and for the predictions.

    A case fails (``<failure>``) when its status is fail, or warn with ``--fail-on
    warn``; a warning that does not fail the run is in its ``<system-out>``.
    """
    import xml.etree.ElementTree as ET

    limit = _RANK[fail_on]
    root = ET.Element("testsuites", name="mlprod skew")
    suite = ET.SubElement(root, "testsuite", name="mlprod skew")
    properties = ET.SubElement(suite, "properties")
    facts = {
        "project": run.project,
        "model_version": run.version,
        "reference": run.reference.get("source"),
        "current": run.current.get("source"),
        "rows_reference": run.report.rows_reference,
        "rows_current": run.report.rows_current,
        "status": run.report.status,
        "fail_on": fail_on,
    }
    for key, value in facts.items():
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=xml_text(value))
    findings: dict[str, list[str]] = {}
    for x in run.report.schema:
        findings.setdefault(x.column, []).append(f"{x.kind} ({x.status}): {x.message}")
    failures = 0
    cases = 0

    def case(classname: str, name: str, status: str, problems: list[str], out: str) -> None:
        nonlocal failures, cases
        cases += 1
        element = ET.SubElement(suite, "testcase", classname=classname, name=xml_text(name))
        if _RANK[status] >= limit and status != "ok":
            failures += 1
            message = "; ".join(problems) or status
            failure = ET.SubElement(element, "failure", message=xml_text(message), type=status)
            failure.text = xml_text("\n".join([*problems, "", out]).strip())
        else:
            ET.SubElement(element, "system-out").text = xml_text(
                "\n".join([*(f"warn: {p}" for p in problems), out]).strip()
            )

    names = {f.name for f in run.report.features}
    for f in run.report.features:
        case(
            "mlprod.skew.features",
            f.name,
            f.status,
            _over(f) + findings.get(f.name, []),
            _feature_lines(f),
        )
    for x in run.report.schema:
        if x.column not in names:
            case("mlprod.skew.schema", x.column, x.status, [f"{x.kind}: {x.message}"], "")
    p = run.report.predictions
    if p is not None:
        case(
            "mlprod.skew.predictions",
            "prediction",
            p.status,
            _over(p),
            "\n".join(
                [
                    _feature_lines(p),
                    *(_regression_skew.notes(p) if _regression_skew.is_numeric(p) else ()),
                    _prediction_line(run),
                ]
            ),
        )
    for element in (suite, root):
        element.set("tests", str(cases))
        element.set("failures", str(failures))
        element.set("errors", "0")
        element.set("skipped", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- html --------------------------------------------------------------------------------------


def _edge(value: float) -> str:
    return f"{value:.4g}"


def _numeric_png(f: FeatureSkew) -> str | None:
    d = f.distribution or {}
    edges, ref, cur = d.get("edges"), d.get("reference"), d.get("current")
    if not edges or not ref or not cur:
        return None
    labels = [f"≤ {_edge(edges[0])}"]
    labels += [f"{_edge(a)} – {_edge(b)}" for a, b in itertools.pairwise(edges)]
    labels.append(f"> {_edge(edges[-1])}")
    return _bars_png(f, labels, ref, cur, horizontal=False, xlabel="training decile bins")


def _categorical_png(f: FeatureSkew) -> str | None:
    d = f.distribution or {}
    categories, ref, cur = d.get("categories"), d.get("reference"), d.get("current")
    if not categories:
        return None
    shown = min(len(categories), _MAX_BARS)
    note = ""
    total = d.get("total", len(categories))
    if total > shown:
        note = f"the {shown} of {total} categories that moved most"
    return _bars_png(
        f, [charts.literal(str(c), 30) for c in categories[:shown]], ref[:shown], cur[:shown],
        horizontal=True, xlabel=note,
    )  # fmt: skip


def _bars_png(
    f: FeatureSkew,
    labels: list[str],
    ref: list[float],
    cur: list[float],
    *,
    horizontal: bool,
    xlabel: str,
) -> str:
    import numpy as np

    k = len(labels)
    figure = (
        charts.figure(7.5, 1.2 + 0.32 * k) if horizontal else charts.figure(max(6.5, 0.75 * k), 3.2)
    )
    axes = figure.add_subplot()
    where = np.arange(k)
    width = 0.4
    if horizontal:
        axes.barh(where - width / 2, ref, width, label="training", color="#8c959f")
        axes.barh(where + width / 2, cur, width, label="serving", color="#0969da", alpha=0.85)
        axes.set_yticks(where, labels)
        axes.invert_yaxis()
        axes.set_xlabel(
            charts.literal(("share of values; " + xlabel) if xlabel else "share of values", 80)
        )
    else:
        axes.bar(where - width / 2, ref, width, label="training", color="#8c959f")
        axes.bar(where + width / 2, cur, width, label="serving", color="#0969da", alpha=0.85)
        axes.set_xticks(
            where,
            [charts.literal(label, 24) for label in labels],
            rotation=30,
            ha="right",
            fontsize=8,
        )
        axes.set_ylabel("share of values")
        axes.set_xlabel(xlabel)
    axes.set_title(charts.literal(f"{f.name}: {f.status}", 60), fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(True, alpha=0.3, axis="x" if horizontal else "y")
    return charts.png_data_uri(figure)


def _feature_stats_grid(f: FeatureSkew) -> Grid:
    rows = []
    for name, stat in f.statistics.items():
        value = _stat_cell(f, name)
        if name == "null_rate":
            value = _null_cell(f)
        rows.append(
            [
                Cell(name),
                value,
                Cell("" if stat.warn is None else f"{stat.warn:g}"),
                Cell("" if stat.fail is None else f"{stat.fail:g}"),
            ]
        )
    summary = f.summary or {}
    notes = []
    if "reference" in summary and "current" in summary:
        for side in ("reference", "current"):
            s = summary[side]
            notes.append(
                f"{side}: mean {number(s.get('mean'))}, std {number(s.get('std'))}, min {number(s.get('min'))}, max {number(s.get('max'))}"
            )
    grid = Grid("", ["statistic", "value", "warn above", "fail above"], rows, right={1, 2, 3})
    grid.notes = reason_notes(grid, names=_names) + notes
    return grid


@dataclass(frozen=True)
class _Section:
    """What the HTML shows of one feature (or the predictions)."""

    feature: FeatureSkew
    findings: list[Any]
    statistics: Grid
    png: str | None


def _section(f: FeatureSkew, findings: list[Any]) -> _Section:
    png = _numeric_png(f) if f.kind == "numeric" else _categorical_png(f)
    return _Section(f, findings, _feature_stats_grid(f), png)


def render_html(run: SkewRun, *, fail_on: str = "fail") -> str:
    """One self-contained HTML file: the tables, and per feature both distributions overlaid.

    Images are PNGs in ``data:`` URIs (matplotlib ``Figure`` with an Agg canvas, no
    pyplot state); nothing is loaded from anywhere else.
    """
    check_html()
    by_column: dict[str, list[Any]] = {}
    for x in run.report.schema:
        by_column.setdefault(x.column, []).append(x)
    p = run.report.predictions
    return render_page(
        "skew.html.j2",
        title=run.version or run.reference.get("source"),
        badge="fail" if failed(run, fail_on) else run.report.status,
        status=run.report.status,
        headline=headline(run, fail_on),
        meta=_meta(run),
        notes=run.notes,
        grids=_sections(run),
        prediction_line=_prediction_line(run) if p is None else None,
        threshold_line=_threshold_line(run),
        features=[_section(f, by_column.get(f.name, [])) for f in run.report.features],
        predictions=None if p is None else _section(p, []),
    )


# --- dispatch ----------------------------------------------------------------------------------


def render(run: SkewRun, fmt: str, *, fail_on: str = "fail") -> str:
    """``run`` rendered as ``fmt``: one of :data:`FORMATS`."""
    from mlprod_cli.errors import UsageError

    renderers = {
        "table": render_table,
        "json": render_json,
        "markdown": render_markdown,
        "junit": render_junit,
        "html": render_html,
    }
    if fmt not in renderers:
        raise UsageError(f"unknown format '{fmt}'; use one of: {', '.join(FORMATS)}")
    return renderers[fmt](run, fail_on=fail_on)
