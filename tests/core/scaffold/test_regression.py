"""``mlprod new`` for a number: ``--template regression``, own data, the task's files and gates."""

from __future__ import annotations

import json
import math
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from mlprod_cli.cli import main
from mlprod_cli.core.config import load_config
from mlprod_cli.core.scaffold import DataRequest, NewRequest, create_project
from mlprod_cli.core.scaffold._gates import Measured, _ceil3, propose
from mlprod_cli.core.scaffold._tasks import apply_task, source_name, task_specs
from mlprod_cli.errors import UsageError


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """``mlprod new diab --template regression`` without a venv (this interpreter measures)."""
    out = tmp_path_factory.mktemp("made")
    return create_project(
        NewRequest(
            "diab", output_dir=out, template="regression", no_input=True, venv=False, git=False
        )
    )


@pytest.fixture(scope="module")
def weather_csv(tmp_path_factory):
    import vega_datasets

    source = vega_datasets.__file__.rsplit("/", 1)[0] + "/_data/seattle-weather.csv"
    path = tmp_path_factory.mktemp("data") / "weather.csv"
    shutil.copyfile(source, path)
    return path


def test_apply_task_keeps_one_variant_of_each_file(tmp_path):
    for name in (
        "model.py",
        "regression_model.py",
        "regression_extra.py",
        "keep.py",
        "regression_",
    ):
        (tmp_path / name).write_text(name)
    apply_task(tmp_path, "regression", ["regression"])
    assert (tmp_path / "model.py").read_text() == "regression_model.py"
    assert (tmp_path / "extra.py").is_file() and (tmp_path / "keep.py").is_file()
    assert (tmp_path / "regression_").is_file()  # a bare prefix names no file to stand in for
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.py").write_text("classification")
    (other / "regression_model.py").write_text("regression")
    apply_task(other, "classification", ["regression"])
    assert sorted(p.name for p in other.iterdir()) == ["model.py"]
    assert (other / "model.py").read_text() == "classification"


def test_a_task_s_sample_is_named_by_its_prefix_in_the_template():
    assert source_name("data/diabetes.csv", "regression") == "data/regression_diabetes.csv"
    assert source_name("data/lesions.csv", "classification") == "data/lesions.csv"
    assert task_specs({"tasks": {"classification": {}, "regression": {"sample": "x"}}}) == {
        "regression": {"sample": "x"}
    }
    assert task_specs(None) == {} and task_specs({"tasks": []}) == {}


def test_the_regression_sample_has_its_own_files_only(sample):
    project = sample.project_dir
    files = set(sample.files)
    assert {"data/diabetes.csv", "src/diab/model.py", "tests/test_pipeline.py"} <= files
    assert not any("regression_" in f for f in files)
    assert "data/lesions.csv" not in files and "rules.yaml" not in files
    assert "src/diab/regression_model.py" not in files
    assert "class ResidualQuantiles" in (project / "src/diab/model.py").read_text()
    assert "class GroupMedianBaseline" in (project / "src/diab/baseline.py").read_text()
    assert "within_10_percent" in (project / "src/diab/metrics.py").read_text()
    assert "Least Angle Regression" in (project / "data/README.md").read_text()
    assert "A tabular regression project" in (project / "README.md").read_text()
    readme = (project / "src/diab/__init__.py").read_text()
    assert readme.startswith('"""Predict how far diabetes progresses')


def test_the_dry_run_lists_the_files_a_real_run_writes(sample, tmp_path):
    dry = create_project(
        NewRequest("diab", output_dir=tmp_path, template="regression", no_input=True, dry_run=True)
    )
    made = {f for f in sample.files if not f.endswith(".pyc") and "__pycache__" not in f}
    assert set(dry.files) == made


def test_mlprod_yaml_is_a_regression_with_measured_gates(sample):
    config = load_config(sample.project_dir)
    assert config.task == "regression" and config.data.target == "progression"
    assert config.rules is None and config.data.positive_class is None
    assert config.data.split.by == "random"
    raw = yaml.safe_load((sample.project_dir / "mlprod.yaml").read_text())
    metrics = raw["metrics"]
    assert metrics["objective"] == "mae" and metrics["beat_baseline"] == ["mae"]
    gates = {g["metric"]: g for g in metrics["gates"]}
    assert set(gates) == {"mae", "r2"} and "max" in gates["mae"] and "min" in gates["r2"]
    assert 30 < gates["mae"]["max"] < 70 and 0 < gates["r2"]["min"] < 0.6
    assert metrics["slices"] == ["sex"] and metrics["max_slice_gap"]["mae"] > 0
    assert raw["tune"]["params"] == {"features__numeric__shape__spline__n_knots": [3, 5, 8]}
    text = (sample.project_dir / "mlprod.yaml").read_text()
    assert "target: progression                   # the number to predict" in text
    assert "# mean absolute error: in the target's own unit" in text


def test_own_data_of_a_number_makes_a_regression_split_by_time(weather_csv, tmp_path):
    result = create_project(
        NewRequest(
            "weather",
            output_dir=tmp_path,
            no_input=True,
            venv=False,
            git=False,
            data=DataRequest(path=weather_csv, target="temp_max"),
        )
    )
    project = result.project_dir
    assert result.plan.task == "regression" and result.gates_measured
    assert not (project / "data" / "diabetes.csv").exists()
    assert not (project / "data" / "lesions.csv").exists() and not (project / "rules.yaml").exists()
    assert "| `temp_max` | numeric |" in (project / "data" / "README.md").read_text()
    config = load_config(project)
    assert config.task == "regression" and config.data.split.by == "time"
    assert config.features.categorical == ("weather",)
    provenance = json.loads((project / ".mlprod-template.json").read_text())
    assert provenance["data"]["file"] == "data/weather.csv"


def test_task_regression_takes_a_few_whole_numbers_as_a_number(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.integers(0, 3, 200)})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    made = create_project(
        NewRequest(
            "few",
            output_dir=tmp_path,
            no_input=True,
            dry_run=True,
            data=DataRequest(path=path, target="y", task="regression"),
        )
    )
    assert made.plan.task == "regression" and "src/few/model.py" in made.files


def test_the_mae_gate_sits_two_standard_errors_above_the_model():
    # |e| with mean 10 and RMSE sqrt(136): var |e| = 136 - 100 = 36, sd 6; on 100 rows se 0.6.
    report = {"task": "regression", "metrics": {"mae": 10.0, "rmse": math.sqrt(136.0), "r2": 0.5}}
    base = {"task": "regression", "metrics": {"mae": 14.0, "rmse": 18.0, "r2": 0.0}}
    measured = Measured(report, base, 5, "shuffled", 400, 400, 100, {})
    proposal = propose("mae", measured, slices=["s"], slice_shares={"s": 0.25})
    gates = {g.gate["metric"]: g.gate for g in proposal.gates}
    assert gates["mae"] == {"metric": "mae", "max": 11.2}  # 10 + 2 * 0.6
    r2_margin = 2 * math.sqrt(4 * 0.5 * 0.25 / 100)  # Olkin-Finn: 0.1
    assert gates["r2"] == {"metric": "r2", "min": math.floor((0.5 - r2_margin) * 100) / 100}
    assert proposal.beat_baseline == ["mae"] and "beats the baseline (14)" in proposal.beat_comment
    assert proposal.max_regression == {"mae": 0.2}  # 2 % of the model's MAE
    bound, why = proposal.max_slice_gap
    assert bound == _ceil3(2 * math.sqrt(2 * 36 / 25)) and "about 25 test rows" in why


def test_a_model_worse_than_its_baseline_is_said_so():
    report = {"task": "regression", "metrics": {"mae": 20.0, "rmse": 25.0, "r2": -0.1}}
    base = {"task": "regression", "metrics": {"mae": 14.0, "rmse": 18.0, "r2": 0.0}}
    proposal = propose("mae", Measured(report, base, 5, "shuffled", 80, 80, 20, {}))
    assert "does NOT beat" in proposal.beat_comment
    assert [g.gate["metric"] for g in proposal.gates] == ["mae"]  # no R² gate below zero


def test_ceil3_rounds_up_to_three_significant_digits():
    assert [_ceil3(v) for v in (11.2, 11.21, 0.012341, 1234.5, 0.0)] == [
        11.2,
        11.3,
        0.0124,
        1240.0,
        0.0,
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--template", "regression", "--data", "t.csv", "--target", "y", "--task", "classification"],
         "--task classification: template regression makes regression projects"),
        (["--data", "t.csv", "--target", "y", "--task", "regression"],
         "--target y: holds categorical values such as"),
        (["--data", "t.csv", "--target", "x", "--positive-class", "a"],
         "--positive-class a: a regression target has no classes"),
        (["--data", "t.csv", "--target", "y", "--task", "ranking"],
         "--task ranking: choose classification or regression"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_nothing_made(
    tmp_path, capsys, monkeypatch, args, message
):
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=60), "y": rng.choice(["a", "b"], 60)}).to_csv(
        tmp_path / "t.csv", index=False
    )
    monkeypatch.chdir(tmp_path)
    code = main(["new", "p", *args, "--no-input", "--no-venv", "--no-git"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {message}"), err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


def test_a_template_that_makes_classification_only_refuses_a_number(tmp_path):
    from mlprod_cli.adapters.wheel import templates_dir

    template = tmp_path / "tpl"
    shutil.copytree(templates_dir() / "classification", template)
    variables = json.loads((template / "cookiecutter.json").read_text())
    del variables["_mlprod_data"]["tasks"]
    (template / "cookiecutter.json").write_text(json.dumps(variables))
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=60), "y": rng.normal(size=60)}).to_csv(
        tmp_path / "t.csv", index=False
    )
    with pytest.raises(UsageError, match="this template makes classification projects only"):
        create_project(
            NewRequest(
                "p",
                output_dir=tmp_path,
                template=str(template),
                no_input=True,
                dry_run=True,
                data=DataRequest(path=tmp_path / "t.csv", target="y"),
            )
        )


def test_the_regression_project_is_ruff_clean_by_its_own_settings(sample):
    import subprocess

    for command in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=sample.project_dir,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
