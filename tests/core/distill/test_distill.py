"""``mlprod distill``: soft labels, the measured costs, the Pareto front and the registration rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlprod_cli.core.distill import (
    Budget,
    Cost,
    Scorecard,
    _measure,
    distill,
    measure,
    parse_budget,
)
from mlprod_cli.core.distill import _distill as distill_module
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import UsageError


@pytest.fixture
def quick(monkeypatch):
    """Fewer timed single-row calls: the tests check what is measured, not how fast."""
    monkeypatch.setattr(_measure, "WARM_UP", 2)
    monkeypatch.setattr(_measure, "TIMED", 20)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("p99=5ms,size=5MB", Budget(None, 5.0, 5e6, None, "p99=5ms,size=5MB")),
        ("size=2MiB", Budget(None, None, 2 * 1024**2, None, "size=2MiB")),
        ("p50=250us, bulk=20µs", Budget(0.25, None, None, 0.02, "p50=250us, bulk=20µs")),
        ("P99=1s", Budget(None, 1000.0, None, None, "P99=1s")),
        ("size=1500", Budget(None, None, 1500.0, None, "size=1500")),
        ("p99=2.5", Budget(None, 2.5, None, None, "p99=2.5")),
    ],
)
def test_a_budget_reads_keys_and_units(text, expected):
    assert parse_budget(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("latency=5ms", "expected KEY=VALUE pairs with keys p50, p99, size, bulk"),
        ("p99", "expected KEY=VALUE pairs"),
        ("p99=5ms,p99=6ms", "p99 is given twice"),
        ("p99=5MB", "p99='5MB': expected a number and a unit (us, ms, s)"),
        ("size=5ms", "size='5ms': expected a number and a unit (B, kB, MB"),
        ("size=0", "size='0': must be more than 0"),
        ("p99=fast", "expected a number and a unit"),
        ("", "expected KEY=VALUE pairs"),
    ],
)
def test_a_bad_budget_is_one_usage_error_naming_the_option(text, message):
    with pytest.raises(UsageError, match=r"^--budget") as raised:
        parse_budget(text)
    assert message in str(raised.value)


def test_a_budget_names_each_bound_a_cost_breaks():
    budget = parse_budget("p99=5ms,size=1kB,bulk=10us")
    cost = Cost(size_bytes=2000, p50_ms=1.0, p99_ms=4.0, bulk_us_per_row=12.5)
    assert budget.misses(cost) == ["size 2,000 bytes", "bulk 12.5 µs/row"]
    assert budget.misses(Cost(900, 1.0, 4.0, 9.0)) == []


def _card(name, objective, size, p99, control=None):
    cost = Cost(size_bytes=size, p50_ms=p99 / 2, p99_ms=p99, bulk_us_per_row=1.0)
    card = Scorecard("distilled", name, "tree", {}, cost, objective, 1, 1, [], 0.9)
    twin = Scorecard("control", name, "tree", {}, cost, control, 1, 1, [], 0.8)
    return card, twin


def _choose(pairs, budget=None, higher=True):
    result = distill_module.DistillResult(teacher=pairs[0][0], pairs=pairs, objective="recall")
    result.budget = budget
    for d, _ in pairs:
        d.budget_misses = budget.misses(d.cost) if budget else []
    distill_module._choose(result, higher)
    return result


def test_the_front_drops_dominated_students_and_the_best_objective_is_chosen():
    small = _card("small", 0.70, 1_000, 1.0, control=0.70)
    big = _card("big", 0.80, 9_000, 3.0, control=0.79)
    worse = _card("worse", 0.65, 5_000, 2.0, control=0.6)  # bigger and slower than small
    result = _choose([small, big, worse])
    assert result.front == ["small", "big"]
    assert result.chosen is big[0] and result.reason == ""


def test_between_equal_objectives_the_smaller_student_is_chosen():
    slow_small = _card("slow small", 0.80, 1_000, 3.0, control=0.7)
    fast_big = _card("fast big", 0.80, 2_000, 1.0, control=0.7)
    result = _choose([fast_big, slow_small])
    assert result.front == ["fast big", "slow small"] and result.chosen is slow_small[0]


def test_the_budget_keeps_the_front_to_students_within_it():
    small = _card("small", 0.70, 1_000, 1.0, control=0.70)
    big = _card("big", 0.80, 9_000, 3.0, control=0.79)
    result = _choose([small, big], budget=parse_budget("size=5kB"))
    assert result.front == ["small"] and result.chosen is small[0] and result.reason == ""


def test_a_control_better_beyond_the_tolerance_stops_the_registration():
    pair = _card("tree", 0.70, 1_000, 1.0, control=0.70 + distill_module.TOLERANCE + 0.005)
    result = _choose([pair])
    assert result.chosen is pair[0]
    assert "the control (the same student on the labels) scores 0.7150" in result.reason
    within = _choose([_card("tree", 0.70, 1_000, 1.0, control=0.705)])
    assert within.reason == ""


def test_lower_is_better_objectives_are_compared_the_other_way():
    good = _card("good", 30.0, 1_000, 1.0, control=30.5)
    bad = _card("bad", 40.0, 800, 1.0, control=20.0)
    result = _choose([good, bad], higher=False)
    assert result.chosen is good[0] and result.reason == ""
    alone = _choose([_card("bad", 40.0, 800, 1.0, control=20.0)], higher=False)
    assert "distillation loses more than the tolerance" in alone.reason


def test_no_student_in_budget_is_said_with_what_each_breaks():
    result = _choose([_card("tree", 0.7, 9_000, 1.0, control=0.6)], budget=parse_budget("size=1kB"))
    assert result.front == []
    assert result.reason == "no student meets the budget size=1kB (tree: size 9,000 bytes)"


def test_soft_labels_recover_a_logistic_teacher_exactly():
    """Cross-entropy against the teacher's probabilities is minimised by the teacher itself."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    y = np.where(X["a"] - 0.5 * X["b"] + rng.normal(scale=0.8, size=600) > 0, "yes", "no")
    teacher = LogisticRegression(C=1e6, max_iter=5000).fit(X, y)
    soft = teacher.predict_proba(X)
    student = distill_module._fit_soft(
        LogisticRegression(C=1e6, max_iter=5000, tol=1e-10), X, soft, ["no", "yes"]
    )
    np.testing.assert_allclose(student.coef_, teacher.coef_, rtol=1e-3)
    np.testing.assert_allclose(student.predict_proba(X), soft, atol=1e-4)


def test_a_deeper_tree_measures_bigger(trained_project, quick):
    workspace = Workspace.load(trained_project)
    version = workspace.registry.get("v0002")
    schema = version.metadata["schema"]
    from mlprod_cli.core import dataset

    data, _ = dataset.load_training_data(workspace.config)
    X, y = dataset.features_and_target(workspace.config, data.frame, "data")
    X, _ = dataset.conform(X, schema, source="data")
    costs = {}
    for depth in (2, 10):
        tree = distill_module._student("tree", depth, schema, regression=False)
        costs[depth] = measure(tree.fit(X, y.astype(str)), version.metadata, X)
    import skops.io as sio

    assert costs[2].size_bytes < costs[10].size_bytes
    assert costs[10].size_bytes == len(sio.dumps(tree))
    for cost in costs.values():
        assert 0 < cost.p50_ms <= cost.p99_ms and cost.bulk_us_per_row > 0


def test_distil_registers_the_student_it_measured_with_its_lineage(trained, quick):
    workspace = Workspace.load(trained)
    result = distill(workspace, "v0002", students=("linear",))
    (distilled, control) = result.pairs[0]
    assert result.teacher.name == "teacher v0002" and distilled.name == "linear C=1.0"
    assert result.training_rows > 0 and result.unlabelled_rows == 0
    assert distilled.gates == result.teacher.gates > 0
    assert 0.5 < distilled.agreement <= 1.0
    # registered exactly when the control does not beat it beyond the tolerance
    earned = control.objective - distilled.objective <= distill_module.TOLERANCE
    assert (result.registered is not None) == earned, (distilled.objective, control.objective)
    if result.registered is None:
        result = distill(workspace, "v0002", students=("linear",), register_anyway=True)
    version = result.registered
    assert version.kind == "model" and version.made_as == "distilled"
    lineage = version.metadata["distilled"]
    assert lineage["teacher"] == "v0002" and lineage["student"] == "linear"
    assert lineage["knob"] == {"C": 1.0}
    teacher_sha = workspace.registry.get("v0002").metadata["artifact_sha256"]
    assert lineage["teacher_artifact_sha256"] == teacher_sha
    assert lineage["report"]["distilled"]["objective"] == distilled.objective
    from mlprod_cli.core import dataset

    train_data, test_data = dataset.load_training_data(workspace.config)
    parts = dataset.split(workspace.config, train_data, test_data)
    X, _ = dataset.features_and_target(workspace.config, parts.test, "test")
    registered = workspace.registry.load(version)
    np.testing.assert_allclose(
        registered.predict_proba(X), result.chosen.estimator.predict_proba(X), atol=1e-12
    )
    assert workspace.registry.active("model") is None  # activated behind its gates, by hand


def test_unlabelled_rows_are_learnt_and_recorded(trained, quick):
    workspace = Workspace.load(trained)
    data = pd.read_csv(trained / "data" / "lesions.csv")
    extra = trained / "unlabelled.csv"
    data.drop(columns=[workspace.config.data.target]).head(300).to_csv(extra, index=False)
    result = distill(
        workspace, "v0002", students=("tree",), unlabelled=(extra,), register_anyway=True
    )
    assert result.unlabelled_rows == 300
    (entry,) = result.registered.metadata["distilled"]["unlabelled_files"]
    from mlprod_cli.adapters.files import sha256_file

    assert entry == {"path": "unlabelled.csv", "sha256": sha256_file(extra), "rows": 300}


def test_a_regression_teacher_is_distilled_on_its_values(tmp_path, monkeypatch, quick):
    from mlprod_cli.core.train import train
    from tests.regression_project import write_project

    root = write_project(tmp_path / "diabetes")
    monkeypatch.syspath_prepend(str(root))
    workspace = Workspace.load(root)
    train(workspace, cv=0)
    result = distill(workspace, "v0002", students=("tree",), register_anyway=True)
    distilled, control = result.pairs[0]
    assert result.objective == "mae" and distilled.objective > 0 and control.objective > 0
    # lower is better: the control earns the refusal by scoring lower beyond the tolerance
    earned = distilled.objective - control.objective <= distill_module.TOLERANCE
    assert (result.reason == "") == earned
    assert distilled.agreement < 1.0  # R² against the teacher's values
    student = workspace.registry.load(result.registered)
    assert result.registered.metadata["task"] == "regression"
    assert student.__class__.__name__ == "Pipeline"
    assert "DecisionTreeRegressor" in type(student.steps[-1][1]).__name__


def test_an_mlp_that_stops_early_is_one_warning_line(trained, quick, monkeypatch, recwarn):
    monkeypatch.setitem(distill_module.KNOBS, "mlp", ("hidden", 4, (4,)))
    real = distill_module._final

    def few_iterations(kind, value, regression):
        return real(kind, value, regression).set_params(max_iter=2)

    monkeypatch.setattr(distill_module, "_final", few_iterations)
    result = distill(Workspace.load(trained), "v0002", students=("mlp",))
    assert result.warnings == [
        "mlp hidden=4, distilled: the solver stopped before converging; its scores are as measured",
        "mlp hidden=4, control: the solver stopped before converging; its scores are as measured",
    ]
    assert not [w for w in recwarn if "converg" in str(w.message).lower()]
