"""``mlprod predict``: offline batch predictions of a registered version, through the real entry point.

The happy path (an activated model predicting a table) is part of the lifecycle in
test_models.py.
"""

from __future__ import annotations

import pytest

from mlprod_cli.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "data/lesions.csv", "-o", "out.csv"], "no active model"),
        (["predict", "nope.csv", "-o", "out.csv", "--model", "v0002"], "no such input file"),
    ],
)
def test_bad_input_is_one_line_exit_2(refuses, args, message):
    refuses(args, message)


def test_outside_a_project(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "x.csv", "-o", "y.csv"]) == 2
    assert "no mlprod.yaml" in capsys.readouterr().err


def test_mlprod_format_is_the_default_of_the_summary(here, capsys, monkeypatch, tmp_path):
    # As for every reporting command: MLPROD_FORMAT=json makes the summary JSON;
    # the predictions file keeps the format of its suffix.
    import json

    import pandas as pd

    out = tmp_path / "preds.csv"
    monkeypatch.setenv("MLPROD_FORMAT", "json")
    assert main(["predict", "data/lesions.csv", "-o", str(out), "--model", "v0002"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 3000 and summary["version"] == "v0002"
    assert len(pd.read_csv(out)) == 3000
    # --format still wins over the environment
    assert main(["predict", "data/lesions.csv", "-o", str(out), "-m", "v0002", "-f", "table"]) == 0
    assert capsys.readouterr().out.startswith("wrote 3,000 predictions of v0002")
