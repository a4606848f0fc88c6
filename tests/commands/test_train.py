"""``mlprod train``: the model and the baseline fitted and registered, through the real entry point.

``train --model-only --activate`` is part of the lifecycle in test_models.py.
"""

from __future__ import annotations

import pytest

from mlprod_cli.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model-only", "--baseline-only"], "exclude each other"),
        (["train", "--data", "missing.csv"], "no such data file"),
    ],
)
def test_bad_input_is_one_line_exit_2(refuses, args, message):
    refuses(args, message)


def test_outside_a_project(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train"]) == 2
    assert "no mlprod.yaml" in capsys.readouterr().err


def test_dry_run_json_says_nothing_was_registered(here, capsys):
    import json

    assert main(["train", "--dry-run", "--cv", "2", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["registered"] is False
    assert [v["version"] for v in report["versions"]] == [None, None]
    assert sum(report["test_counts"].values()) == report["split"]["test_rows"]
    assert sorted(p.name for p in (here / "models").glob("v*")) == ["v0001", "v0002"]
