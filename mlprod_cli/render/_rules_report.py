"""``mlprod evaluate``'s rules section: the model beside the model + rules, in every format.

Built from :class:`~mlprod_cli.core.evaluate.RulesEvaluation` once, as grids
(side by side overall, per slice, per rule) that ``render/evaluate.py`` draws
as text, Markdown and HTML; plus its JSON (``rules`` key) and JUnit suite. A
result without rules has no such section, so its report is what it always was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlprod_cli.core.words import plural
from mlprod_cli.render.grid import UNDEFINED, Cell, Grid, text_cell, xml_text
from mlprod_cli.render.text import number

if TYPE_CHECKING:
    from mlprod_cli.core.evaluate import EvaluationResult, RulesEvaluation

__all__ = ["rules_grids", "rules_json", "rules_junit", "rules_meta"]

_KEY_METRICS = ("recall", "precision", "f1_score", "auroc")


def _value(report: Any, metric: str, label: str | None) -> Any:
    from mlprod_cli.core.metrics import Value

    try:
        return report.value(metric, label=label)
    except (KeyError, ValueError):
        return Value(None, "not in this report")


def _cell(value: Any) -> Cell:
    if value.value is None:
        return Cell(UNDEFINED, value.reason or "undefined")
    return Cell(number(value.value))


def _delta(mine: Any, theirs: Any) -> Cell:
    if mine.value is None or theirs.value is None:
        return Cell(UNDEFINED, "not defined on both sides")
    return Cell(f"{theirs.value - mine.value:+.4f}")


def _rate(part: int, whole: int) -> str:
    return UNDEFINED if not whole else f"{part / whole * 100:.1f} %"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _objective(rules: RulesEvaluation) -> tuple[str, str | None] | None:
    if rules.objective is None:
        return None
    return rules.objective.metric, rules.objective.cls


def rules_meta(rules: RulesEvaluation) -> list[str]:
    """Which rules file, which sha256, whose copy, and how many rows it answered."""
    if rules.version_sha256 is None:
        whose = "the version was trained without rules"
    elif rules.same_as_version:
        whose = "the version's own copy"
    else:
        whose = f"differs from the version's copy (sha256 {rules.version_sha256[:12]})"
    return [
        f"rules {rules.file} (sha256 {rules.sha256[:12]}, {whose}), rules_policy {rules.policy}, "
        f"fallback {rules.fallback}",
        f"the rules abstained on {plural(rules.abstained, 'row')} of {rules.rows:,} "
        f"({_rate(rules.abstained, rules.rows)}); model + rules is scored over the "
        f"{rules.answered:,} rows they answered",
    ]


def rules_grids(result: EvaluationResult) -> list[Grid]:
    """Side by side overall, side by side per slice, and per rule."""
    rules = result.rules
    if rules is None:
        return []
    model = result.primary
    mine, theirs = model.report, rules.report
    rows: list[list[Cell]] = [
        [
            text_cell("rows"),
            Cell(""),
            text_cell(f"{mine.n_samples:,}"),
            text_cell(f"{theirs.n_samples:,}"),
            Cell(""),
        ]
    ]
    objective = _objective(rules)
    refs: list[tuple[str, str | None, str]] = []
    if objective is not None:
        refs.append((*objective, "objective"))
    refs.append(("accuracy", None, ""))
    for label in [*mine.labels, None]:
        refs += [(metric, label, "") for metric in _KEY_METRICS]
    for metric, label, note in refs:
        a, b = _value(mine, metric, label), _value(theirs, metric, label)
        name = "macro avg" if label is None and metric != "accuracy" else (label or "")
        shown = f"{metric} ({note})" if note else metric
        rows.append([text_cell(name), text_cell(shown), _cell(a), _cell(b), _delta(a, b)])
    grids = [
        Grid(
            f"{model.name} and {model.name} + rules",
            ["class", "metric", model.name, "+ rules", "Δ"],
            rows,
            right={2, 3, 4},
            notes=rules_meta(rules)[1:],
        )
    ]
    metric, label = objective if objective is not None else ("accuracy", None)
    ref = metric if label is None else f"{metric}@{label}"
    for column, groups in model.slices.items():
        after = rules.slices.get(column, {})
        slice_rows = []
        for value, report in groups.items():
            other = after.get(value)
            a = _value(report, metric, label)
            b = _value(other, metric, label) if other is not None else _missing()
            answered = other.n_samples if other is not None else 0
            slice_rows.append(
                [text_cell(value), text_cell(f"{report.n_samples:,}"),
                 text_cell(f"{report.n_samples - answered:,}"), _cell(a), _cell(b), _delta(a, b)]
            )  # fmt: skip
        grids.append(
            Grid(
                f"{ref} by {column}, {model.name} and + rules",
                [column, "rows", "abstained", model.name, "+ rules", "Δ"],
                slice_rows,
                right={1, 2, 3, 4, 5},
            )
        )
    rule_rows = []
    for stats in rules.rules:
        rule_rows.append(
            [
                text_cell(stats.id),
                text_cell(stats.effect),
                text_cell(f"{stats.fired:,}"),
                text_cell(_rate(stats.fired, rules.rows)),
                text_cell(f"{stats.changed:,}"),
                text_cell(_rate(stats.changed, stats.fired)),
                text_cell(f"{stats.abstained:,}"),
                _accuracy(stats.rules_correct, stats.changed_answered),
                _accuracy(stats.model_correct, stats.changed),
            ]
        )
    notes = [
        "changed: fired rows whose answer the rules changed (abstaining counts); "
        "accuracy on them: of the rules' answer (rows they answered) and of the model's"
    ]
    if rules.policy == "all":
        notes.append("rules_policy all: a row changed by several rules counts for each of them")
    notes += [
        f"rule {s.id}: its condition could not be evaluated on {plural(s.errors, 'row')} "
        "(it did not fire there)"
        for s in rules.rules
        if s.errors
    ]
    grids.append(
        Grid(
            f"rules on {plural(rules.rows, 'row')}",
            ["rule", "effect", "fired", "fire rate", "changed", "override rate", "abstained",
             "rules acc. on changed", "model acc. on changed"],
            rule_rows,
            right=set(range(2, 9)),
            notes=notes,
        )
    )  # fmt: skip
    return grids


def _missing() -> Any:
    from mlprod_cli.core.metrics import Value

    return Value(None, "every row of the slice abstained")


def _accuracy(correct: int, rows: int) -> Cell:
    if not rows:
        return Cell(UNDEFINED, "no changed row answered")
    return Cell(f"{correct / rows:.4f} ({correct}/{rows})")


def rules_json(
    rules: RulesEvaluation,
    report_json: Callable[[Any], dict[str, Any]],
    slice_json: Callable[[Any], dict[str, Any]],
    model_report: Any = None,
) -> dict[str, Any]:
    """The ``rules`` key of evaluate's JSON (docs/rules-predict.md lists every key)."""
    objective = _objective(rules)
    return {
        "file": rules.file,
        "sha256": rules.sha256,
        "version_sha256": rules.version_sha256,
        "same_as_version": rules.same_as_version,
        "policy": rules.policy,
        "fallback": rules.fallback,
        "rows": rules.rows,
        "answered": rules.answered,
        "abstained": rules.abstained,
        "abstain_rate": _share(rules.abstained, rules.rows),
        "objective": None
        if objective is None
        else {
            "metric": str(rules.objective),
            "model": None if model_report is None else _value(model_report, *objective).value,
            "rules": _value(rules.report, *objective).value,
        },
        "report": report_json(rules.report),
        "slices": {
            column: {value: slice_json(r) for value, r in groups.items()}
            for column, groups in rules.slices.items()
        },
        "per_rule": [
            {
                "id": s.id,
                "effect": s.effect,
                "fired": s.fired,
                "fire_rate": _share(s.fired, rules.rows),
                "changed": s.changed,
                "override_rate": _share(s.changed, s.fired),
                "abstained": s.abstained,
                "errors": s.errors,
                "rules_accuracy_on_changed": _share(s.rules_correct, s.changed_answered),
                "model_accuracy_on_changed": _share(s.model_correct, s.changed),
            }
            for s in rules.rules
        ],
    }


def rules_junit(root: Any, rules: RulesEvaluation, timestamp: str | None) -> int:
    """A suite ``mlprod evaluate rules``: one passing case per rule; returns its case count."""
    import xml.etree.ElementTree as ET

    suite = ET.SubElement(root, "testsuite", name="mlprod evaluate rules")
    properties = ET.SubElement(suite, "properties")
    for key, value in (("file", rules.file), ("sha256", rules.sha256),
                       ("abstained", rules.abstained), ("rows", rules.rows)):  # fmt: skip
        ET.SubElement(properties, "property", name=key, value=xml_text(value))
    for s in rules.rules:
        case = ET.SubElement(suite, "testcase", classname="mlprod.rules", name=xml_text(s.id))
        ET.SubElement(case, "system-out").text = xml_text(
            f"{s.effect}: fired={s.fired} changed={s.changed} abstained={s.abstained} "
            f"errors={s.errors} rules_correct_on_changed={s.rules_correct} "
            f"model_correct_on_changed={s.model_correct}"
        )
    for key, value in (("tests", len(rules.rules)), ("failures", 0), ("errors", 0), ("skipped", 0)):
        suite.set(key, str(value))
    if timestamp:
        suite.set("timestamp", xml_text(timestamp))
    return len(rules.rules)
