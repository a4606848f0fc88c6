"""Gates: the thresholds in ``mlprod.yaml`` a model must meet before it ships.

Four kinds, each listed with its numbers whether it passed or not:

* ``metrics.gates``: ``{metric, class?, min?, max?, slice?}`` on the test split;
* ``beat_baseline``: the model must be strictly better than the active
  heuristic baseline on each named metric (direction from the metric);
* ``max_regression``: at most this much worse than the active model;
* ``max_slice_gap``: the largest difference of a metric between the slices of
  each ``slices`` column.

An undefined value (a class with no support, say) fails its gate, with the
reason: a gate that cannot be checked is not a gate that passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlprod_cli.core.config import Config, Gate, MetricRef
from mlprod_cli.core.words import plural


@dataclass(frozen=True)
class GateResult:
    """One gate, checked: what it required, what was measured, and whether that sufficed.

    ``name`` is the gate's stable identity (JSON, JUnit test names); ``detail`` says
    in words what was required and what was measured (``needs >= 0.72, measured
    0.6500``), or why the gate could not be checked (``reason``), which fails it.
    """

    name: str  # e.g. "recall@melanoma >= 0.72"
    kind: str  # threshold | beat_baseline | max_regression | max_slice_gap
    passed: bool
    value: float | None  # what was measured (the evaluated model's value, or the gap)
    detail: str
    subject: str = ""  # what is measured: "recall@melanoma [sex=female]"
    required: str = ""  # ">= 0.72", "> 0.5000 (baseline v0001)"
    limit: float | None = None  # the number the measured value was held against
    reason: str | None = None  # why the gate could not be checked, when it could not


def _higher_is_better(metric: str) -> bool:
    from mlprod_cli.core.names import higher_is_better

    return higher_is_better(metric)


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4f}"


def _measured(
    name: str,
    kind: str,
    subject: str,
    required: str,
    *,
    passed: bool,
    value: float,
    limit: float | None,
    measured: str | None = None,
) -> GateResult:
    detail = f"needs {required}, measured {measured or _fmt(value)}"
    return GateResult(name, kind, passed, value, detail, subject, required, limit)


def unchecked(
    name: str, kind: str, subject: str, required: str, reason: str, value: float | None = None
) -> GateResult:
    """A gate that cannot be checked: listed, not passed, with the reason."""
    detail = f"needs {required}, cannot be checked: {reason}"
    return GateResult(name, kind, False, value, detail, subject, required, None, reason)


def _bounds(gate: Gate) -> str:
    return " and ".join(
        part
        for part in (
            f">= {gate.min:g}" if gate.min is not None else "",
            f"<= {gate.max:g}" if gate.max is not None else "",
        )
        if part
    )


def threshold_gate(
    gate: Gate,
    report: Any,
    slices: dict[str, dict[str, Any]] | None = None,
    unavailable: Mapping[str, str] | None = None,
) -> list[GateResult]:
    """``gate`` on ``report`` (or on each slice it names); ``unavailable``: column → why not sliced."""
    ref = MetricRef(gate.metric, gate.cls)
    bounds = _bounds(gate)
    targets = [("", report)]
    if gate.slice is not None:
        column, _, wanted = gate.slice.partition("=")

        def cannot(reason: str) -> list[GateResult]:
            name, subject = f"{ref} {bounds} [{gate.slice}]", f"{ref} [{gate.slice}]"
            return [unchecked(name, "threshold", subject, bounds, reason)]

        if column in (unavailable or {}):
            return cannot(unavailable[column])
        groups = (slices or {}).get(column, {})
        targets = [
            (f" [{column}={value}]", r)
            for value, r in groups.items()
            if not wanted or value == wanted
        ]
        if not targets:
            return cannot(f"no slice {gate.slice} in the data")
    limit = gate.min if gate.min is not None else gate.max
    out = []
    for suffix, target in targets:
        value = target.value(gate.metric, label=gate.cls)
        name = f"{ref} {bounds}{suffix}"
        subject = f"{ref}{suffix}"
        if value.value is None:
            out.append(unchecked(name, "threshold", subject, bounds, f"undefined: {value.reason}"))
            continue
        ok = (gate.min is None or value.value >= gate.min) and (
            gate.max is None or value.value <= gate.max
        )
        out.append(
            _measured(name, "threshold", subject, bounds, passed=ok, value=value.value, limit=limit)
        )
    return out


def compare_gate(
    ref: MetricRef, report: Any, other: Any, *, kind: str, tolerance: float, other_name: str
) -> GateResult:
    """``kind`` beat_baseline (strictly better) or max_regression (no worse than ``tolerance``)."""
    mine = report.value(ref.metric, label=ref.cls)
    theirs = other.value(ref.metric, label=ref.cls)
    higher = _higher_is_better(ref.metric)
    if kind == "beat_baseline":
        name = f"{ref} beats {other_name}"
        wording = f"{'>' if higher else '<'} {other_name}"
    else:
        name = f"{ref} regression <= {tolerance:g} vs {other_name}"
        wording = f"{'>=' if higher else '<='} {other_name} {'-' if higher else '+'} {tolerance:g}"
    subject = str(ref)
    if mine.value is None or theirs.value is None:
        reason = mine.reason if mine.value is None else theirs.reason
        whose = "" if mine.value is None else f" for {other_name}"
        return unchecked(name, kind, subject, wording, f"undefined{whose}: {reason}", mine.value)
    sign = 1.0 if higher else -1.0
    gain = sign * (mine.value - theirs.value)
    ok = gain > 0 if kind == "beat_baseline" else gain >= -tolerance
    if kind == "beat_baseline":
        limit = theirs.value
        required = f"{'>' if higher else '<'} {_fmt(limit)} ({other_name})"
    else:
        limit = theirs.value - sign * tolerance
        required = f"{'>=' if higher else '<='} {_fmt(limit)} ({other_name} {_fmt(theirs.value)} {'-' if higher else '+'} {tolerance:g})"
    measured = f"{_fmt(mine.value)} ({'+' if gain >= 0 else ''}{gain:.4f})"
    return _measured(
        name, kind, subject, required, passed=ok, value=mine.value, limit=limit, measured=measured
    )


def slice_gap_gate(ref: MetricRef, column: str, groups: dict[str, Any], bound: float) -> GateResult:
    name = f"{ref} gap across {column} <= {bound:g}"
    subject = f"{ref} gap across {column}"
    required = f"<= {bound:g}"
    values = {}
    for value, report in groups.items():
        v = report.value(ref.metric, label=ref.cls)
        if v.value is None:
            return unchecked(
                name,
                "max_slice_gap",
                subject,
                required,
                f"undefined for {column}={value}: {v.reason}",
            )
        values[value] = v.value
    if len(values) < 2:
        return GateResult(
            name,
            "max_slice_gap",
            True,
            0.0,
            f"needs {required}, measured no gap: only {plural(len(values), 'slice')} of {column} in the data",
            subject,
            required,
            bound,
        )
    ordered = sorted(values, key=values.get)  # ties keep slice order: low and high differ
    low, high = ordered[0], ordered[-1]
    gap = values[high] - values[low]
    measured = f"{gap:.4f} ({column}={low} {values[low]:.4f}, {column}={high} {values[high]:.4f})"
    return _measured(
        name,
        "max_slice_gap",
        subject,
        required,
        passed=gap <= bound,
        value=gap,
        limit=bound,
        measured=measured,
    )


def check_gates(
    config: Config,
    report: Any,
    *,
    baseline: Any | None = None,
    baseline_name: str = "baseline",
    active: Any | None = None,
    active_name: str = "active model",
    slices: dict[str, dict[str, Any]] | None = None,
    unavailable: Mapping[str, str] | None = None,
) -> list[GateResult]:
    """Every gate of ``config`` checked on ``report`` (and the comparison reports given).

    ``unavailable`` maps a slice column the rows do not have to the reason (``predictions
    have no column 'sex'``): its gates are listed as not passed with that reason, never
    dropped.
    """
    spec = config.metrics
    unavailable = unavailable or {}
    results: list[GateResult] = []
    for gate in spec.gates:
        results += threshold_gate(gate, report, slices, unavailable)
    for ref in spec.beat_baseline:
        if baseline is None:
            results.append(
                unchecked(
                    f"{ref} beats baseline",
                    "beat_baseline",
                    str(ref),
                    f"{'>' if _higher_is_better(ref.metric) else '<'} the baseline",
                    "no baseline to compare with (train one)",
                )
            )
        else:
            results.append(
                compare_gate(
                    ref,
                    report,
                    baseline,
                    kind="beat_baseline",
                    tolerance=0.0,
                    other_name=baseline_name,
                )
            )
    if active is not None:
        for ref, tolerance in spec.max_regression.items():
            results.append(
                compare_gate(
                    ref,
                    report,
                    active,
                    kind="max_regression",
                    tolerance=tolerance,
                    other_name=active_name,
                )
            )
    # Gaps are gated over the configured slice columns; --slice-by adds columns to the
    # report, not gates.
    for ref, bound in spec.max_slice_gap.items():
        for column in spec.slices:
            if column in (slices or {}):
                results.append(slice_gap_gate(ref, column, slices[column], bound))
            elif column in unavailable:
                results.append(
                    unchecked(
                        f"{ref} gap across {column} <= {bound:g}",
                        "max_slice_gap",
                        f"{ref} gap across {column}",
                        f"<= {bound:g}",
                        unavailable[column],
                    )
                )
    return results
