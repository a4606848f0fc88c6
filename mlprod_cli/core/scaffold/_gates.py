"""Gates proposed from what was measured when the project was made.

``mlprod new`` cross-validates the first model and the baseline on the
training split (``mlprod train --dry-run``) and proposes gates a stated
margin below what the model reached, so the first ``evaluate`` is green for
a model like this one and red for a worse one. The margin is statistical, not
a guess: two standard errors of the metric on a test split of the size this
data gives (``sqrt(v (1 - v) / n)`` for a rate measured on ``n`` test rows,
Hanley and McNeil's bound for AUROC), and at least :data:`MIN_MARGIN`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core.config import MetricRef
from mlprod_cli.core.names import higher_is_better

MIN_MARGIN = 0.02
MAX_REGRESSION = 0.02


@dataclass(frozen=True)
class Measured:
    """What ``train --dry-run`` measured on the new project's data."""

    model: dict[str, Any]  # the validation report (metrics.to_dict form)
    baseline: dict[str, Any] | None
    folds: int
    scheme: str  # "time" (each fold trains on the past) or "stratified"
    validated_rows: int
    train_rows: int
    test_rows: int
    test_counts: dict[str, int]


@dataclass
class ProposedGate:
    gate: dict[str, Any]  # as written in mlprod.yaml's metrics.gates
    comment: str


@dataclass
class Proposal:
    gates: list[ProposedGate] = field(default_factory=list)
    beat_baseline: list[str] = field(default_factory=list)
    beat_comment: str = ""
    max_regression: dict[str, float] = field(default_factory=dict)
    max_slice_gap: tuple[float, str] | None = None  # bound on the objective's gap, and why
    headline: str = ""
    model_value: float | None = None  # the objective, as validated
    baseline_value: float | None = None


def parse_ref(text: str) -> MetricRef:
    metric, _, cls = text.partition("@")
    return MetricRef(metric, cls or None)


def _value(report: dict[str, Any] | None, ref: MetricRef) -> float | None:
    from mlprod_cli.core.evaluate import value_from_dict

    return None if report is None else value_from_dict(report, ref)


def _floor2(value: float) -> float:
    return max(0.0, math.floor(value * 100 + 1e-9) / 100)


def _margin_rate(value: float, n: int) -> tuple[float, str]:
    se = math.sqrt(max(value * (1 - value), 0.0) / max(n, 1))
    margin = max(MIN_MARGIN, 2 * se)
    return (
        margin,
        f"two standard errors on {n:,} test rows"
        if 2 * se >= MIN_MARGIN
        else "the smallest margin",
    )


def _margin_auc(value: float, n_pos: int, n_neg: int) -> tuple[float, str]:
    # Hanley & McNeil (1982): the variance of AUROC from the two group sizes.
    q1, q2 = value / (2 - value), 2 * value * value / (1 + value)
    variance = (
        value * (1 - value) + (n_pos - 1) * (q1 - value**2) + (n_neg - 1) * (q2 - value**2)
    ) / max(n_pos * n_neg, 1)
    se = math.sqrt(max(variance, 0.0))
    margin = max(MIN_MARGIN, 2 * se)
    return margin, (
        f"two standard errors (Hanley-McNeil) on {n_pos:,} vs {n_neg:,} test rows"
        if 2 * se >= MIN_MARGIN
        else "the smallest margin"
    )


def _rows_for(ref: MetricRef, measured: Measured) -> int:
    """How many test rows a metric is measured on (about): a class's own rows, else all of them."""
    counts = measured.test_counts
    if ref.cls is not None and ref.cls in counts:
        return counts[ref.cls]
    if ref.metric in ("f1_score", "recall", "sensitivity", "precision") and counts:
        return max(1, measured.test_rows // len(counts))  # a macro average: per class
    return measured.test_rows


def propose(
    objective: str,
    measured: Measured,
    *,
    slices: list[str] | None = None,
    slice_shares: dict[str, float] | None = None,
) -> Proposal:
    """The gates for what was measured: a regression's or a classifier's."""
    if measured.model.get("task") == "regression":
        return _propose_regression(objective, measured, slices or [], slice_shares or {})
    return _propose_classification(objective, measured, slices=slices, slice_shares=slice_shares)


def _propose_classification(
    objective: str,
    measured: Measured,
    *,
    slices: list[str] | None = None,
    slice_shares: dict[str, float] | None = None,
) -> Proposal:
    """Gates on the objective and AUROC, beating the baseline, no regression, slice gaps."""
    ref = parse_ref(objective)
    out = Proposal()
    model_value = _value(measured.model, ref)
    base_value = _value(measured.baseline, ref)
    out.model_value, out.baseline_value = model_value, base_value
    out.headline = _headline(measured)
    if model_value is not None:
        n = _rows_for(ref, measured)
        margin, why = _margin_rate(model_value, n)
        gate = {"metric": ref.metric, **({"class": ref.cls} if ref.cls else {})}
        gate["min"] = _floor2(model_value - margin)
        out.gates.append(ProposedGate(gate, f"model {model_value:.3f}; margin {margin:.3f}: {why}"))
    auroc = _value(measured.model, MetricRef("auroc"))
    counts = sorted(measured.test_counts.values())
    if auroc is not None and len(counts) >= 2:
        n_pos = counts[0]
        n_neg = max(measured.test_rows - n_pos, 1)
        margin, why = _margin_auc(auroc, n_pos, n_neg)
        out.gates.append(
            ProposedGate(
                {"metric": "auroc", "min": _floor2(auroc - margin)},
                f"macro one-vs-rest: model {auroc:.3f}; margin {margin:.3f}: {why} (the rarest class)",
            )
        )
    _beat_baseline(out, objective, measured, ".3f")
    out.max_regression = {objective: MAX_REGRESSION}
    if slices:
        # The smallest group of any slice column decides: the gap between two rates,
        # each on about n test rows, has a standard error of sqrt(2 v (1 - v) / n).
        share = min(min((slice_shares or {}).get(c, 0.5) for c in slices), 0.5)
        value = model_value if model_value is not None else 0.5
        n = max(1, int(_rows_for(ref, measured) * share))
        se = math.sqrt(2 * max(value * (1 - value), 0.0) / n)
        bound = math.ceil(max(0.05, 2 * se) * 100) / 100
        out.max_slice_gap = (
            bound,
            f"two standard errors of the gap between slices of about {n:,} test rows "
            f"(the smallest group, {100 * share:.0f} % of the rows)",
        )
    return out


def _beat_baseline(out: Proposal, objective: str, measured: Measured, style: str) -> None:
    """Propose that the model beat the baseline on the objective, and say whether it did."""
    if measured.baseline is None:
        return
    out.beat_baseline = [objective]
    model, base = out.model_value, out.baseline_value
    if model is not None and base is not None:
        higher = higher_is_better(parse_ref(objective).metric)
        verdict = "beats" if (model > base if higher else model < base) else "does NOT beat"
        out.beat_comment = (
            f"in validation the model ({model:{style}}) {verdict} the baseline ({base:{style}})"
        )


def _headline(measured: Measured) -> str:
    how = (
        f"{measured.folds} folds in time (each trained on the rows before it, scored on the "
        f"next {measured.validated_rows:,} of the {measured.train_rows:,} training rows)"
        if measured.scheme == "time"
        else f"{measured.folds}-fold cross-validation on the {measured.train_rows:,} training rows"
    )
    return f"Proposed from {how} of the first model; the test split holds {measured.test_rows:,}."


def _ceil3(value: float) -> float:
    """``value`` rounded up to three significant digits (a bound a person reads at a glance)."""
    if value <= 0 or not math.isfinite(value):
        return value
    step = 10 ** (math.floor(math.log10(value)) - 2)
    return float(f"{math.ceil(value / step - 1e-9) * step:.6g}")


def _propose_regression(
    objective: str, measured: Measured, slices: list[str], shares: dict[str, float]
) -> Proposal:
    """A ``max`` gate on the objective (MAE), a ``min`` gate on R², no regression, slice gaps.

    The margins are two standard errors on the test split's size: for MAE, of a
    mean of absolute errors, whose spread follows from the validation's RMSE
    and MAE (``var |e| = RMSE² - MAE²``); for R², the large-sample
    ``var R² ≈ 4 R² (1 - R²)² / n`` (Olkin and Finn, 1995).
    """
    ref = parse_ref(objective)
    out = Proposal(headline=_headline(measured))
    n = max(measured.test_rows, 1)
    model_value = _value(measured.model, ref)
    out.model_value = model_value
    out.baseline_value = _value(measured.baseline, ref)
    mae = _value(measured.model, MetricRef("mae"))
    rmse = _value(measured.model, MetricRef("rmse"))
    spread = math.sqrt(max(rmse**2 - mae**2, 0.0)) if mae is not None and rmse is not None else None
    if model_value is not None:
        if ref.metric == "mae" and spread is not None:
            margin = max(2 * spread / math.sqrt(n), 0.02 * model_value)
            why = f"two standard errors on {n:,} test rows"
        else:  # another objective: the smallest relative margin
            margin, why = 0.05 * abs(model_value), "5 % of the model's value"
        if higher_is_better(ref.metric):
            gate = {"metric": ref.metric, "min": _floor2(model_value - margin)}
        else:
            gate = {"metric": ref.metric, "max": _ceil3(model_value + margin)}
        out.gates.append(ProposedGate(gate, f"model {model_value:.4g}; margin {margin:.3g}: {why}"))
    r2 = _value(measured.model, MetricRef("r2"))
    if r2 is not None and r2 > 0 and ref.metric != "r2":
        se = math.sqrt(4 * r2 * (1 - r2) ** 2 / n)
        margin = max(MIN_MARGIN, 2 * se)
        out.gates.append(
            ProposedGate(
                {"metric": "r2", "min": _floor2(r2 - margin)},
                f"model {r2:.3f}; margin {margin:.3f}: two standard errors (Olkin-Finn) on {n:,} rows",
            )
        )
    _beat_baseline(out, objective, measured, ".4g")
    scale = abs(model_value) if model_value is not None else 0.0
    out.max_regression = {objective: _ceil3(MAX_REGRESSION * scale) if scale else MAX_REGRESSION}
    if slices and spread is not None and ref.metric == "mae":
        share = min(min(shares.get(c, 0.5) for c in slices), 0.5)
        rows = max(1, int(n * share))
        bound = _ceil3(max(2 * math.sqrt(2 * spread**2 / rows), 0.05 * (mae or 0.0)))
        out.max_slice_gap = (
            bound,
            f"two standard errors of the gap between slices' MAE on about {rows:,} test rows "
            f"(the smallest group, {100 * share:.0f} % of the rows)",
        )
    return out
