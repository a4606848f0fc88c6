"""``core/evaluate/_gates.py``: thresholds, beating the baseline, regressions and slice gaps."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mlprod_cli.core.config import Gate, MetricRef, MetricsSpec, load_config
from mlprod_cli.core.evaluate import check_gates, compare_gate, slice_gap_gate, threshold_gate
from mlprod_cli.core.metrics import classification_report


def report(hits: int, of: int = 4, *, fp: int = 0):
    """Class ``a``: ``hits`` of ``of`` found (recall hits/of), ``fp`` b's taken for a's."""
    y_true = ["a"] * of + ["b"] * 4
    y_pred = ["a"] * hits + ["b"] * (of - hits) + ["a"] * fp + ["b"] * (4 - fp)
    return classification_report(y_true, y_pred, labels=["a", "b"])


NO_A = classification_report(["b", "b"], ["b", "b"], labels=["a", "b"])  # recall@a undefined
RECALL_A = MetricRef("recall", "a")


# --------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    ("low", "high", "hits", "passed", "name"),
    [
        (0.75, None, 3, True, "recall@a >= 0.75"),  # the bound itself passes
        (0.8, None, 3, False, "recall@a >= 0.8"),
        (None, 0.5, 3, False, "recall@a <= 0.5"),
        (0.5, 0.9, 3, True, "recall@a >= 0.5 and <= 0.9"),
        (0.5, 0.9, 4, False, "recall@a >= 0.5 and <= 0.9"),
    ],
)
def test_threshold_gate_bounds(low, high, hits, passed, name):
    [result] = threshold_gate(Gate("recall", "a", min=low, max=high), report(hits))
    assert (result.name, result.kind, result.passed) == (name, "threshold", passed)
    assert result.value == hits / 4
    bounds = name.removeprefix("recall@a ")
    # What was required, then what was measured: never a statement that reads as true.
    assert result.detail == f"needs {bounds}, measured {hits / 4:.4f}"
    assert (result.subject, result.required, result.limit) == ("recall@a", bounds, low or high)


def test_an_undefined_value_fails_its_gate_with_the_reason():
    [result] = threshold_gate(Gate("recall", "a", min=0.1), NO_A)
    assert not result.passed and result.value is None
    reason = f"undefined: {NO_A.value('recall', label='a').reason}"
    assert result.detail == f"needs >= 0.1, cannot be checked: {reason}"
    assert result.reason == reason


def test_a_gate_without_class_is_on_the_macro_average():
    [result] = threshold_gate(Gate("recall", min=0.5), report(2))
    assert result.name == "recall >= 0.5"
    assert result.value == pytest.approx((2 / 4 + 4 / 4) / 2)


def test_a_slice_gate_is_checked_on_each_slice_or_on_the_one_named():
    slices = {"sex": {"female": report(2), "male": report(4)}}
    each = threshold_gate(Gate("recall", "a", min=0.75, slice="sex"), report(3), slices)
    assert [(r.name, r.passed) for r in each] == [
        ("recall@a >= 0.75 [sex=female]", False),
        ("recall@a >= 0.75 [sex=male]", True),
    ]
    [male] = threshold_gate(Gate("recall", "a", min=0.75, slice="sex=male"), report(0), slices)
    assert male.passed and male.value == 1.0
    [absent] = threshold_gate(Gate("recall", "a", min=0.75, slice="sex=other"), report(4), slices)
    assert (absent.name, absent.passed, absent.detail) == (
        "recall@a >= 0.75 [sex=other]",
        False,
        "needs >= 0.75, cannot be checked: no slice sex=other in the data",
    )
    [none] = threshold_gate(Gate("recall", "a", min=0.1, slice="site"), report(4), slices)
    assert not none.passed and none.reason == "no slice site in the data"


def test_a_slice_gate_on_a_column_the_rows_lack_is_listed_as_not_passed():
    why = {"site": "predictions have no column 'site'"}
    [gate] = threshold_gate(Gate("recall", "a", min=0.1, slice="site"), report(4), {}, why)
    assert (gate.name, gate.passed, gate.value) == ("recall@a >= 0.1 [site]", False, None)
    assert gate.detail == "needs >= 0.1, cannot be checked: predictions have no column 'site'"


# --------------------------------------------------------------------------- comparisons


def compare(mine, theirs, *, kind="beat_baseline", tolerance=0.0, ref=RECALL_A):
    return compare_gate(ref, mine, theirs, kind=kind, tolerance=tolerance, other_name="v0001")


def test_beat_baseline_is_strictly_better():
    better = compare(report(3), report(2))
    assert better.passed and better.name == "recall@a beats v0001"
    assert better.detail == "needs > 0.5000 (v0001), measured 0.7500 (+0.2500)"
    assert better.value == 0.75 and better.limit == 0.5
    tie = compare(report(2), report(2))
    assert not tie.passed and tie.detail.endswith("(+0.0000)")


def test_lower_is_better_metrics_turn_the_comparison_round():
    fdr = MetricRef("fdr", "a")  # false discovery rate: fewer b's called a is better
    assert compare(report(4, fp=0), report(4, fp=2), ref=fdr).passed
    more = compare(report(4, fp=2), report(4, fp=0), ref=fdr)
    assert not more.passed and more.detail == "needs < 0.0000 (v0001), measured 0.3333 (-0.3333)"


def test_max_regression_allows_the_tolerance_and_no_more():
    def gate(mine, theirs, tolerance):
        return compare(report(mine), report(theirs), kind="max_regression", tolerance=tolerance)

    assert gate(3, 4, 0.25).passed  # 0.25 worse, 0.25 allowed
    assert not gate(3, 4, 0.2).passed
    assert gate(4, 3, 0.0).passed  # better is fine
    assert gate(3, 4, 0.25).name == "recall@a regression <= 0.25 vs v0001"
    assert gate(3, 4, 0.2).detail == (
        "needs >= 0.8000 (v0001 1.0000 - 0.2), measured 0.7500 (-0.2500)"
    )


def test_a_comparison_with_an_undefined_side_fails():
    mine = compare(NO_A, report(2))
    theirs = compare(report(2), NO_A, kind="max_regression", tolerance=1.0)
    assert not mine.passed and mine.value is None and mine.reason.startswith("undefined: ")
    assert not theirs.passed and theirs.value == 0.5
    assert theirs.reason.startswith("undefined for v0001: ")


# --------------------------------------------------------------------------- slice gaps


def test_slice_gap_names_the_lowest_and_highest_slice():
    groups = {"f": report(2), "m": report(4), "x": report(3)}
    gate = slice_gap_gate(RECALL_A, "sex", groups, 0.6)
    assert gate.passed and gate.value == pytest.approx(0.5)
    assert gate.detail == "needs <= 0.6, measured 0.5000 (sex=f 0.5000, sex=m 1.0000)"
    assert not slice_gap_gate(RECALL_A, "sex", groups, 0.49).passed
    assert slice_gap_gate(RECALL_A, "sex", groups, 0.5).passed  # the bound itself passes


def test_slice_gap_ties_name_two_slices():
    same = classification_report(["a", "b"], ["a", "b"])
    gate = slice_gap_gate(MetricRef("recall", "a"), "sex", {"female": same, "male": same}, 0.1)
    assert gate.passed and gate.value == 0.0
    assert "sex=female" in gate.detail and "sex=male" in gate.detail


def test_slice_gap_with_one_slice_or_an_undefined_one():
    alone = slice_gap_gate(RECALL_A, "sex", {"f": report(1)}, 0.1)
    assert alone.passed
    assert alone.detail == "needs <= 0.1, measured no gap: only 1 slice of sex in the data"
    undefined = slice_gap_gate(RECALL_A, "sex", {"f": report(1), "m": NO_A}, 1.0)
    assert not undefined.passed and undefined.reason.startswith("undefined for sex=m: ")


# --------------------------------------------------------------------------- every gate of a config


@pytest.fixture
def config(project):
    spec = MetricsSpec(
        gates=(Gate("recall", "a", min=0.5),),
        beat_baseline=(RECALL_A,),
        max_regression={RECALL_A: 0.1},
        slices=("sex",),
        max_slice_gap={RECALL_A: 0.3},
    )
    return replace(load_config(project), metrics=spec)


def test_check_gates_runs_every_kind_the_config_names(config):
    slices = {"sex": {"f": report(3), "m": report(4)}, "site": {"arm": report(0), "leg": report(4)}}
    results = check_gates(
        config,
        report(3),
        baseline=report(2),
        active=report(4),
        active_name="active v0002",
        slices=slices,
    )
    assert [(r.kind, r.passed) for r in results] == [
        ("threshold", True),
        ("beat_baseline", True),
        ("max_regression", False),  # 0.25 worse than the active model, 0.1 allowed
        ("max_slice_gap", True),  # sex only: --slice-by site adds a report, not a gate
    ]
    assert results[2].name == "recall@a regression <= 0.1 vs active v0002"


def test_check_gates_without_a_baseline_or_an_active_model(config):
    results = check_gates(config, report(3))
    assert [(r.kind, r.passed, r.detail) for r in results] == [
        ("threshold", True, "needs >= 0.5, measured 0.7500"),
        (
            "beat_baseline",
            False,
            "needs > the baseline, cannot be checked: no baseline to compare with (train one)",
        ),
    ]  # no regression gate without an active model, no gap gate without slices
    assert check_gates(replace(config, metrics=MetricsSpec()), report(0)) == []


def test_a_gap_gate_over_a_slice_column_the_rows_lack_is_not_dropped(config):
    why = {"sex": "predictions have no column 'sex'"}
    results = check_gates(config, report(3), baseline=report(2), slices={}, unavailable=why)
    [gap] = [r for r in results if r.kind == "max_slice_gap"]
    assert (gap.name, gap.passed, gap.value) == ("recall@a gap across sex <= 0.3", False, None)
    assert gap.detail == "needs <= 0.3, cannot be checked: predictions have no column 'sex'"
