"""``mlprod tune``: a search scored by the objective, the best candidate registered."""

from __future__ import annotations

import json

from mlprod_cli.cli import main


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_tune_ranks_by_the_objective_and_registers_the_best(here, capsys):
    path = here / "mlprod.yaml"
    path.write_text(
        path.read_text()
        .replace("classifier__C: [0.1, 0.3, 1.0, 3.0, 10.0]", "classifier__C: [0.01, 1.0]")
        .replace("cv: 5", "cv: 3")
    )
    assert main(["tune", "--jobs", "1", "--format", "json"]) == 0
    result = _json(capsys)
    assert result["objective"] == "recall@melanoma" and result["version"] == "v0003"
    assert [c["rank"] for c in result["candidates"]] == [1, 2]
    means = [c["mean"] for c in result["candidates"]]
    assert means == sorted(means, reverse=True)
    assert all(len(c["folds"]) == 3 for c in result["candidates"])
    assert main(["models", "show", "v0003", "--format", "json"]) == 0
    meta = _json(capsys)
    assert meta["tune"]["best_params"] == result["best_params"]
    assert meta["params"]["classifier__C"] == repr(result["best_params"]["classifier__C"])
    assert meta["split"]["train_rows"] == 2365  # searched on the training split only


def test_tune_unknown_parameter(here, capsys):
    path = here / "mlprod.yaml"
    path.write_text(path.read_text().replace("classifier__C:", "classifier__Cee:"))
    assert main(["tune"]) == 2
    assert "tune.params.classifier__Cee: the model has no parameter" in capsys.readouterr().err


def test_outside_a_project(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["tune"]) == 2
    assert "no mlprod.yaml" in capsys.readouterr().err
