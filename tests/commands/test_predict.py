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
