"""A regression project through predict, serve (answers, OpenAPI, metrics, log), models show and evaluate's formats."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

ROW = {
    "age": 50,
    "sex": "a",
    "bmi": 30.0,
    "bp": 90.0,
    "s1": 200,
    "s2": 120.0,
    "s3": 50.0,
    "s4": 4.0,
    "s5": 4.5,
    "s6": 90,
}


@pytest.fixture
def trained(regression_project):
    from mlprod_cli.cli import main

    assert main(["train", "--activate"]) == 0
    return regression_project


def _model(root):
    from mlprod_cli.core.workspace import Workspace

    workspace = Workspace.load(root)
    version = workspace.registry.active("model")
    return workspace, version, workspace.registry.load(version)


def test_predict_writes_the_numbers_the_model_gives(trained, tmp_path, capsys):
    from mlprod_cli.cli import main

    out = tmp_path / "predictions.csv"
    assert main(["predict", "data/diabetes.csv", "--output", str(out)]) == 0
    assert "values " in capsys.readouterr().out
    written = pd.read_csv(out)
    assert list(written.columns) == ["prediction", "model_version"]
    _, _, estimator = _model(trained)
    frame = pd.read_csv(trained / "data" / "diabetes.csv")
    expected = estimator.predict(frame.drop(columns=["progression"]))
    np.testing.assert_allclose(written["prediction"].to_numpy(), expected, rtol=1e-12)


def test_serve_answers_the_value_and_says_so(trained, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from mlprod_cli.core.serve import ServeOptions, create_app

    workspace, version, estimator = _model(trained)
    app = create_app(workspace, ServeOptions(log_dir=tmp_path / "requests"))
    with TestClient(app) as client:
        one = client.post("/predict", json=ROW)
        assert one.status_code == 200, one.text
        expected = float(estimator.predict(pd.DataFrame([ROW]))[0])
        assert one.json() == {
            "model_version": version.id,
            "value": pytest.approx(expected, rel=1e-12),
        }
        many = client.post("/predict", json=[ROW, {**ROW, "bmi": 20.0}]).json()
        assert [set(p) for p in many["predictions"]] == [{"value"}, {"value"}]
        assert many["predictions"][1]["value"] < many["predictions"][0]["value"]
        schema = client.get("/openapi.json").json()
        assert "value" in json.dumps(schema) and '"class"' not in json.dumps(schema)
        assert client.get("/metadata").json()["task"] == "regression"
        metrics = client.get("/metrics").text
        assert "mlprod_predicted_value_count 3.0" in metrics
    lines = [
        json.loads(line)
        for f in (tmp_path / "requests").glob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    assert len(lines) == 3 and all(isinstance(line["prediction"], float) for line in lines)


def test_models_show_says_what_is_predicted(trained, capsys):
    from mlprod_cli.cli import main

    _, version, _ = _model(trained)
    assert main(["models", "show", version.id]) == 0
    assert "regression of progression" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "junit", "html"])
def test_evaluate_in_every_format(trained, capsys, fmt):
    from mlprod_cli.cli import main

    assert main(["evaluate", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        data = json.loads(out)
        assert data["task"] == "regression" and data["passed"] is True
        assert data["metrics"]["mae"] < data["comparisons"][0]["metrics"]["mae"]
        assert sum(d["rows"] for d in data["deciles"]) == data["n_samples"]
        assert set(data["slices"]["sex"]) == {"a", "b"}
    elif fmt == "html":
        assert out.count("data:image/png") == 2  # predicted against true, residuals by slice
    else:
        assert "mae" in out and ("d2_absolute_error" in out)


def test_a_failed_gate_exits_1(trained, capsys):
    from mlprod_cli.cli import main

    path = trained / "mlprod.yaml"
    path.write_text(path.read_text().replace("{metric: mae, max: 60}", "{metric: mae, max: 1}"))
    assert main(["evaluate"]) == 1
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.parametrize(
    "value,message",
    [
        ("high", "'high' (row 3) is not a number"),
        ("", "1 row has no value"),
        ("inf", "an infinite value (row 3)"),
    ],
)
def test_a_bad_target_is_one_line(regression_project, capsys, value, message):
    from mlprod_cli.cli import main

    path = regression_project / "data" / "diabetes.csv"
    frame = pd.read_csv(path)
    frame["progression"] = frame["progression"].astype(object)
    frame.loc[2, "progression"] = value
    frame.to_csv(path, index=False)
    assert main(["train"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert not (regression_project / "models").exists() or not any(
        (regression_project / "models").glob("v*")
    )
