"""``evaluate --predictions`` of numbers, outside a project: detected or asked for, and bad input."""

from __future__ import annotations

import json

import pytest
from sklearn.metrics import mean_absolute_error, r2_score

ROWS = "y,yhat,region\n1.5,1.7,n\n2.0,2.5,s\n3.25,3.0,n\n4.0,4.4,s\n10,9,n\n"


@pytest.fixture
def outside(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.csv").write_text(ROWS)
    return tmp_path


def test_numbers_are_detected_as_a_regression(outside, capsys):
    from mlprod_cli.cli import main

    args = ["evaluate", "--predictions", "p.csv", "--label-col", "y", "--pred-col", "yhat"]
    assert main([*args, "--slice-by", "region", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    truth, predicted = [1.5, 2.0, 3.25, 4.0, 10], [1.7, 2.5, 3.0, 4.4, 9]
    assert data["task"] == "regression"
    assert data["metrics"]["mae"] == pytest.approx(mean_absolute_error(truth, predicted), rel=1e-12)
    assert data["metrics"]["r2"] == pytest.approx(r2_score(truth, predicted), rel=1e-12)
    assert data["slices"]["region"]["n"]["n_samples"] == 3


def test_a_few_whole_numbers_stay_classes(outside, capsys):
    from mlprod_cli.cli import main

    (outside / "c.csv").write_text("y,yhat\n1,1\n2,1\n1,2\n2,2\n")
    assert (
        main(
            [
                "evaluate",
                "--predictions",
                "c.csv",
                "--label-col",
                "y",
                "--pred-col",
                "yhat",
                "-f",
                "json",
            ]
        )
        == 0
    )
    assert "classes" in json.loads(capsys.readouterr().out)
    assert (
        main(
            [
                "evaluate",
                "--predictions",
                "c.csv",
                "--label-col",
                "y",
                "--pred-col",
                "yhat",
                "--task",
                "regression",
                "-f",
                "json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["task"] == "regression"


@pytest.mark.parametrize(
    "text,extra,message",
    [
        ("y,yhat\n1.5,1.7\n2.0,high\n", [], "--pred-col 'yhat': 'high' (row 2) is not a number"),
        ("y,yhat\n1.5,1.7\n2.5,inf\n", [], "--pred-col 'yhat': an infinite value (row 2)"),
        (
            "y,yhat\n1.5,1.7\n,2.0\n",
            ["--task", "regression"],
            "--label-col 'y': 1 row has no value",
        ),
        (
            "y,yhat\n1.5,1.7\n2.5,2.0\n",
            ["--classes", "a"],
            "--classes: a regression has no classes",
        ),
        (
            "y,yhat\n1.5,1.7\n2.5,2.0\n",
            ["--task", "regresion"],
            "--task regresion: use classification or regression",
        ),
    ],
)
def test_bad_input_is_one_line(outside, capsys, text, extra, message):
    from mlprod_cli.cli import main

    (outside / "bad.csv").write_text(text)
    code = main(
        ["evaluate", "--predictions", "bad.csv", "--label-col", "y", "--pred-col", "yhat", *extra]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1, err
