"""``mlprod ensemble`` on the command line: activated, predicted with, listed, refused."""

from __future__ import annotations

import json

import pytest

from mlprod_cli.cli import main


def test_the_cli_activates_an_ensemble_that_passes_its_gates_and_predicts_with_it(
    two_models, monkeypatch, capsys
):
    monkeypatch.chdir(two_models)
    assert main(["ensemble", "v0002", "v0003", "--activate", "--cv", "0", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["activated"] == ["v0004"] and out["ensemble"]["method"] == "vote"
    active = json.loads((two_models / "models" / "active.json").read_text())
    assert active["model"] == "v0004"
    rows = two_models / "data" / "lesions.csv"
    assert main(["predict", str(rows), "--output", str(two_models / "out.csv")]) == 0
    assert (two_models / "out.csv").read_text().count("\n") > 10
    capsys.readouterr()
    assert main(["models", "list", "--format", "json"]) == 0
    listed = {v["version"]: v for v in json.loads(capsys.readouterr().out)["versions"]}
    assert listed["v0004"]["made_as"] == "ensemble" and listed["v0004"]["kind"] == "model"
    assert listed["v0001"]["made_as"] == "baseline"
    sizes = {v: (two_models / "models" / v / "model.skops").stat().st_size for v in listed}
    assert {v: e["size_bytes"] for v, e in listed.items()} == sizes
    assert sizes["v0004"] > sizes["v0002"]  # two pipelines weigh more than one
    assert main(["models", "list"]) == 0
    table = capsys.readouterr().out
    assert "ensemble" in table and "kB" in table
    assert main(["models", "show", "v0004"]) == 0
    assert "soft vote of v0002, v0003" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["v0002", "v0009"], "model version 'v0009' not found in models/"),
        (["v0002"], "an ensemble needs two versions or more, got 1 version"),
        (["v0002", "v0002"], "VERSION v0002 is named twice"),
        (["v0001", "v0002"], "v0001 is a baseline: an ensemble is made of model versions"),
        (["v0002", "v0003", "--method", "boost"], "--method: expected one of vote, stack"),
        (["v0002", "latest"], "VERSION 'latest': expected a version id like v0003"),
    ],
)
def test_bad_members_are_one_line_exit_2_and_nothing_written(
    two_models, monkeypatch, capsys, tree_snapshot, args, message
):
    monkeypatch.chdir(two_models)
    before = tree_snapshot(two_models)
    assert main(["ensemble", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert tree_snapshot(two_models) == before


def test_a_served_stack_answers_what_its_artifact_predicts(two_models, monkeypatch, tmp_path):
    import warnings

    import pandas as pd

    from mlprod_cli.core.serve import ServeOptions, create_app
    from mlprod_cli.core.workspace import Workspace
    from tests.serving import ROW

    monkeypatch.chdir(two_models)
    assert main(["ensemble", "v0002", "v0003", "--method", "stack", "--cv", "0"]) == 0
    assert main(["models", "activate", "v0004", "--force"]) == 0
    workspace = Workspace.load(two_models)
    stack = workspace.registry.load(workspace.registry.get("v0004"))
    expected = stack.predict_proba(pd.DataFrame([ROW]))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    app = create_app(workspace, ServeOptions(log_dir=tmp_path / "requests"))
    with TestClient(app) as client:
        answer = client.post("/predict", json=ROW).json()
    assert answer["model_version"] == "v0004"
    scores = [answer["scores"][c] for c in stack.classes_]
    assert scores == pytest.approx(list(expected), abs=1e-12)


def test_a_regression_vote_is_the_mean_of_its_members_values(regression_project, capsys):
    from mlprod_cli.core.code import build_estimator
    from mlprod_cli.core.train import train
    from mlprod_cli.core.workspace import Workspace
    from tests.core.ensemble.test_ensemble import _test_features

    assert main(["train", "--model-only", "--cv", "0"]) == 0  # v0001: Ridge(alpha=1)
    workspace = Workspace.load(regression_project)
    other = build_estimator(workspace.config, "model").set_params(regressor__alpha=30.0)
    train(workspace, kinds=("model",), cv=0, estimators={"model": other})  # v0002
    capsys.readouterr()
    assert main(["ensemble", "v0001", "v0002", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    validation = out["versions"][0]["validation"]
    assert validation["folds"] == 5 and 30 < validation["report"]["metrics"]["mae"] < 60
    registry = workspace.registry
    X = _test_features(workspace)
    members = [registry.load(registry.get(v)).predict(X) for v in ("v0001", "v0002")]
    assert abs(members[0] - members[1]).max() > 1e-3
    vote = registry.load(registry.get("v0003")).predict(X)
    assert vote == pytest.approx((members[0] + members[1]) / 2, abs=1e-9)
    assert main(["ensemble", "v0001", "v0002", "--method", "stack", "--cv", "0"]) == 0
    stack = registry.get("v0004")
    assert stack.metadata["estimator"] == "sklearn.ensemble._stacking.StackingRegressor"
    assert stack.metadata["ensemble"]["final_estimator"] == "sklearn.linear_model._ridge.RidgeCV"
    assert registry.load(stack).predict(X).shape == (len(X),)
