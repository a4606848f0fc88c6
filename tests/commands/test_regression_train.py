"""A regression project: mlprod.yaml, train (versions, cross-validation) and evaluate (gates, slices)."""

from __future__ import annotations

import pytest

from mlprod_cli.core.config import parse_config
from mlprod_cli.errors import ConfigError


def _edit(root, old, new):
    path = root / "mlprod.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_the_config_reads_as_regression(regression_project):
    config = parse_config(regression_project / "mlprod.yaml")
    assert config.task == "regression"
    assert str(config.metrics.objective) == "mae"


@pytest.mark.parametrize(
    "old,new,message",
    [
        (
            "objective: mae",
            "objective: mae@high",
            "metrics.objective: mae@high: a regression project has no classes",
        ),
        ("objective: mae", "objective: recall", "metrics.objective: unknown metric 'recall'"),
        (
            "{metric: r2, min: 0.2}",
            "{metric: r2, min: 0.2, class: x}",
            "metrics.gates[0].class: a regression project has no classes",
        ),
        (
            "  target: progression",
            "  target: progression\n  positive_class: x",
            "data.positive_class: a regression project has no classes",
        ),
        ("task: regression", "task: regresion", "task:"),
    ],
)
def test_a_classification_word_in_a_regression_config_is_one_error(
    regression_project, old, new, message
):
    _edit(regression_project, old, new)
    with pytest.raises(ConfigError) as caught:
        parse_config(regression_project / "mlprod.yaml")
    assert message in caught.value.message


def test_rules_are_refused_for_regression(regression_project):
    (regression_project / "rules.yaml").write_text("rules: []\n")
    _edit(regression_project, "metrics:", "rules: rules.yaml\nmetrics:")
    with pytest.raises(ConfigError, match="rules: a regression project has no rules layer"):
        parse_config(regression_project / "mlprod.yaml")


def test_train_then_evaluate_a_regression(regression_project):
    from mlprod_cli.core.evaluate import evaluate_version
    from mlprod_cli.core.train import train
    from mlprod_cli.core.workspace import Workspace

    workspace = Workspace.load(regression_project)
    result = train(workspace)
    kinds = {v.kind: v for v in result.versions}
    model = kinds["model"]
    assert model.metadata["task"] == "regression" and model.metadata["classes"] == []
    validation = model.metadata["validation"]
    assert validation["scheme"] == "shuffled" and validation["report"]["task"] == "regression"
    assert 30 < validation["report"]["metrics"]["mae"] < 60

    outcome = evaluate_version(workspace, version_id=model.id)
    report = outcome.result.primary.report
    assert report.task == "regression" and 30 < report.value("mae").value < 60
    assert set(outcome.result.primary.slices["sex"]) == {"a", "b"}
    baseline = next(c for c in outcome.result.comparisons if c.kind == "baseline")
    assert baseline.report.value("mae").value > report.value("mae").value
    gates = {g.name: g for g in outcome.result.gates}
    assert gates["r2 >= 0.2"].passed and gates["mae <= 60"].passed
    assert gates["mae beats baseline " + baseline.version].passed
    assert "mae gap across sex <= 30" in gates
    assert outcome.result.passed


def test_tune_ranks_a_regression_by_its_error_lowest_first(regression_project, capsys):
    import json

    from mlprod_cli.cli import main

    with (regression_project / "mlprod.yaml").open("a") as handle:
        handle.write("tune:\n  cv: 3\n  params:\n    regressor__alpha: [0.01, 1.0, 1000.0]\n")
    assert main(["tune", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ranked = report["candidates"]
    means = [row["mean"] for row in ranked]
    assert means == sorted(means)  # MAE: the lowest is the best
    assert ranked[-1]["params"] == {"regressor__alpha": 1000.0}  # the flattest line is worst
    assert len(ranked[0]["folds"]) == 3
