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

from dataclasses import dataclass
from typing import Any

from mlprod_cli.core.config import Config, Gate, MetricRef


@dataclass(frozen=True)
class GateResult:
    name: str  # e.g. "recall@melanoma >= 0.72"
    kind: str  # threshold | beat_baseline | max_regression | max_slice_gap
    passed: bool
    value: float | None
    detail: str


def _lookup(report: Any, metric: str, cls: str | None):
    return report.value(metric, label=cls)


def _higher_is_better(metric: str) -> bool:
    from mlprod_cli.core.metrics import HIGHER_IS_BETTER

    return HIGHER_IS_BETTER.get(metric, True)


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4f}"


def threshold_gate(
    gate: Gate, report: Any, slices: dict[str, dict[str, Any]] | None = None
) -> list[GateResult]:
    ref = MetricRef(gate.metric, gate.cls)
    bounds = " and ".join(
        part
        for part in (
            f">= {gate.min:g}" if gate.min is not None else "",
            f"<= {gate.max:g}" if gate.max is not None else "",
        )
        if part
    )
    targets = [("", report)]
    if gate.slice is not None:
        column, _, wanted = gate.slice.partition("=")
        groups = (slices or {}).get(column, {})
        targets = [
            (f" [{column}={value}]", r)
            for value, r in groups.items()
            if not wanted or value == wanted
        ]
        if not targets:
            return [
                GateResult(
                    f"{ref} {bounds} [{gate.slice}]",
                    "threshold",
                    False,
                    None,
                    f"no slice {gate.slice} in the data",
                )
            ]
    out = []
    for suffix, target in targets:
        value = _lookup(target, gate.metric, gate.cls)
        name = f"{ref} {bounds}{suffix}"
        if value.value is None:
            out.append(GateResult(name, "threshold", False, None, f"undefined: {value.reason}"))
            continue
        ok = (gate.min is None or value.value >= gate.min) and (
            gate.max is None or value.value <= gate.max
        )
        out.append(GateResult(name, "threshold", ok, value.value, f"{_fmt(value.value)} {bounds}"))
    return out


def compare_gate(
    ref: MetricRef, report: Any, other: Any, *, kind: str, tolerance: float, other_name: str
) -> GateResult:
    """``kind`` beat_baseline (strictly better) or max_regression (no worse than ``tolerance``)."""
    mine = _lookup(report, ref.metric, ref.cls)
    theirs = _lookup(other, ref.metric, ref.cls)
    name = (
        f"{ref} beats {other_name}"
        if kind == "beat_baseline"
        else f"{ref} regression <= {tolerance:g} vs {other_name}"
    )
    if mine.value is None or theirs.value is None:
        reason = mine.reason if mine.value is None else theirs.reason
        return GateResult(name, kind, False, mine.value, f"undefined: {reason}")
    sign = 1.0 if _higher_is_better(ref.metric) else -1.0
    gain = sign * (mine.value - theirs.value)
    ok = gain > 0 if kind == "beat_baseline" else gain >= -tolerance
    detail = f"{_fmt(mine.value)} vs {_fmt(theirs.value)} ({'+' if gain >= 0 else ''}{gain:.4f})"
    return GateResult(name, kind, ok, mine.value, detail)


def slice_gap_gate(ref: MetricRef, column: str, groups: dict[str, Any], bound: float) -> GateResult:
    name = f"{ref} gap across {column} <= {bound:g}"
    values = {}
    for value, report in groups.items():
        v = _lookup(report, ref.metric, ref.cls)
        if v.value is None:
            return GateResult(
                name, "max_slice_gap", False, None, f"undefined for {column}={value}: {v.reason}"
            )
        values[value] = v.value
    if len(values) < 2:
        return GateResult(
            name, "max_slice_gap", True, 0.0, f"only {len(values)} slice of {column} in the data"
        )
    ordered = sorted(values, key=values.get)  # ties keep slice order: low and high differ
    low, high = ordered[0], ordered[-1]
    gap = values[high] - values[low]
    return GateResult(
        name,
        "max_slice_gap",
        gap <= bound,
        gap,
        f"{gap:.4f} ({column}={low} {values[low]:.4f}, {column}={high} {values[high]:.4f})",
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
) -> list[GateResult]:
    """Every gate of ``config`` checked on ``report`` (and the comparison reports given)."""
    spec = config.metrics
    results: list[GateResult] = []
    for gate in spec.gates:
        results += threshold_gate(gate, report, slices)
    for ref in spec.beat_baseline:
        if baseline is None:
            results.append(
                GateResult(
                    f"{ref} beats baseline",
                    "beat_baseline",
                    False,
                    None,
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
    return results
