"""``mlprod new --data``: a project made for the user's own table, with zero hand edits."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from mlprod_cli.cli import main
from mlprod_cli.core.config import load_config
from mlprod_cli.core.scaffold import PROVENANCE, DataRequest, NewRequest, _data, create_project
from mlprod_cli.core.scaffold._config_text import scalar


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory):
    from sklearn.datasets import load_wine

    path = tmp_path_factory.mktemp("data") / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def wine(wine_csv, tmp_path_factory):
    """A project made for the wine data, measured (no venv: this interpreter measures)."""
    out = tmp_path_factory.mktemp("made")
    result = create_project(
        NewRequest(
            "wine",
            output_dir=out,
            no_input=True,
            venv=False,
            git=False,
            data=DataRequest(path=wine_csv, target="target"),
        )
    )
    return result


def test_the_data_is_copied_and_the_sample_is_gone(wine, wine_csv):
    project = wine.project_dir
    assert (project / "data" / "wine.csv").read_bytes() == wine_csv.read_bytes()
    assert not (project / "data" / "lesions.csv").exists()
    readme = (project / "data" / "README.md").read_text()
    assert "| `proline` | numeric |" in readme and "**target**" in readme
    provenance = json.loads((project / PROVENANCE).read_text())
    assert provenance["data"]["file"] == "data/wine.csv"
    assert provenance["data"]["rows"] == 178 and len(provenance["data"]["sha256"]) == 64


def test_mlprod_yaml_is_valid_and_says_why(wine):
    config = load_config(wine.project_dir)
    assert config.data.target == "target" and config.data.positive_class is None
    assert config.features.numeric[0] == "alcohol" and config.features.categorical == ()
    assert str(config.metrics.objective) == "f1_score"
    assert config.data.split.by == "random"
    text = (wine.project_dir / "mlprod.yaml").read_text()
    assert "# macro F1: each of the 3 classes counts the same" in text
    assert "# at random, stratified by class: no date column" in text


def test_gates_sit_a_stated_margin_below_the_measured_model(wine):
    assert wine.gates_measured
    config = load_config(wine.project_dir)
    raw = yaml.safe_load((wine.project_dir / "mlprod.yaml").read_text())
    gates = {g["metric"]: g["min"] for g in raw["metrics"]["gates"]}
    assert set(gates) == {"f1_score", "auroc"}
    assert 0.5 < gates["f1_score"] < 1 and 0.5 < gates["auroc"] < 1
    assert [str(r) for r in config.metrics.beat_baseline] == ["f1_score"]
    text = (wine.project_dir / "mlprod.yaml").read_text()
    line = next(x for x in text.splitlines() if "{metric: f1_score, min:" in x)
    model, margin = (
        float(x)
        for x in __import__("re").search(r"model ([0-9.]+); margin ([0-9.]+)", line).groups()
    )
    assert gates["f1_score"] == pytest.approx(int((model - margin) * 100) / 100, abs=0.011)
    assert "two standard errors" in line or "the smallest margin" in line


def test_the_projects_own_tests_pass_at_once(wine):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=wine.project_dir,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def test_the_profile_and_decisions_are_printed(wine_csv, tmp_path, capsys):
    code = main(["new", "w", "--data", str(wine_csv), "--target", "target", "--no-input",
                 "--no-venv", "--no-git", "--no-measure", "-o", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("profile of wine.csv: 178 rows, 14 columns")
    assert "decided (each with its reason in mlprod.yaml):" in out
    assert "objective       f1_score: macro F1" in out


def test_link_refers_to_the_file_where_it_is(wine_csv, tmp_path):
    result = create_project(
        NewRequest("w", output_dir=tmp_path, no_input=True, venv=False, git=False,
                   measure=False, data=DataRequest(wine_csv, "target", link=True))
    )  # fmt: skip
    assert not (result.project_dir / "data" / "wine.csv").exists()
    assert load_config(result.project_dir).data.train == wine_csv.resolve()


def test_a_large_file_is_kept_out_of_git(wine_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(_data, "LARGE_DATA_BYTES", 1000)
    result = create_project(
        NewRequest("w", output_dir=tmp_path, no_input=True, venv=False, git=False,
                   measure=False, data=DataRequest(wine_csv, "target"))
    )  # fmt: skip
    assert "/data/wine.csv" in (result.project_dir / ".gitignore").read_text()
    assert any("not committed to git" in w for w in result.warnings)


def test_no_measurement_leaves_no_gates_and_says_so(wine_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(_data, "measure", lambda *a: (None, "scikit-learn is not installed"))
    from mlprod_cli.core.scaffold import _scaffold

    monkeypatch.setattr(_scaffold, "measure", _data.measure)
    result = create_project(
        NewRequest("w", output_dir=tmp_path, no_input=True, venv=False, git=False,
                   data=DataRequest(wine_csv, "target"))
    )  # fmt: skip
    assert "no gates were proposed: scikit-learn is not installed" in result.warnings
    config = load_config(result.project_dir)
    assert config.metrics.gates == () and [str(r) for r in config.metrics.beat_baseline] == [
        "f1_score"
    ]
    assert "No gates on the numbers yet" in (result.project_dir / "mlprod.yaml").read_text()


def test_the_sample_project_is_the_same_path_on_the_bundled_file(tmp_path):
    from mlprod_cli.adapters.wheel import templates_dir

    sample = (
        templates_dir()
        / "classification"
        / "{{cookiecutter.project_name}}"
        / "data"
        / "lesions.csv"
    )
    common = dict(no_input=True, venv=False, git=False, measure=False)
    made = create_project(NewRequest("skin", output_dir=tmp_path / "a", **common))
    own = create_project(
        NewRequest("skin", output_dir=tmp_path / "b", **common,
                   data=DataRequest(sample, "diagnosis", positive_class="melanoma",
                                    slice_by=("sex",)))
    )  # fmt: skip

    def body(result):
        lines = (result.project_dir / "mlprod.yaml").read_text().splitlines()
        return [x for x in lines if not x.startswith(("# Written by", "rules:"))]

    assert body(made) == body(own)
    # The example rule is the sample's, on a column a user's table need not have:
    # --data leaves it out, even given the bundled file.
    assert (made.project_dir / "rules.yaml").is_file()
    assert "rules: rules.yaml" in (made.project_dir / "mlprod.yaml").read_text()
    assert not (own.project_dir / "rules.yaml").exists()
    assert "rules:" not in (own.project_dir / "mlprod.yaml").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{missing}"], "--data needs --target COL"),
        (["--data", "{missing}", "--target", "y"], "--data {missing}: no such file"),
        (["--target", "y"], "--target goes with --data FILE"),
        (["--data", "{csv}", "--target", "nope"], "--target nope: no such column in t.csv"),
        (["--data", "{csv}", "--target", "same"], "--target same: one class only"),
        (["--data", "{csv}", "--target", "blank"], "--target blank: every value is missing"),
        (
            ["--data", "{csv}", "--target", "y", "--time-column", "x"],
            "--time-column x: is not a date column",
        ),
        (["--data", "{junk}", "--target", "y"], "cannot read it as Parquet"),
        (["--data", "{csv}", "--target", "y", "--slice-by", "x"], "--slice-by x:"),
        (["--data", "{folder}", "--target", "y"], "is a directory"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_made(tmp_path, capsys, args, message):
    files = tmp_path / "files"
    files.mkdir()
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=50), "y": rng.choice(["a", "b"], 50), "same": "s",
                  "blank": np.nan}).to_csv(files / "t.csv", index=False)  # fmt: skip
    (files / "junk.parquet").write_bytes(b"PAR1 not a table")
    names = {"csv": files / "t.csv", "junk": files / "junk.parquet", "missing": files / "no.csv",
             "folder": files}  # fmt: skip
    args = [a.format(**names) for a in args]
    out = tmp_path / "out"
    out.mkdir()
    code = main(["new", "p", "--no-input", "--no-venv", "--no-git", "-o", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert message.format(**names) in err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    "text",
    ["plain", "two words", "2024-07-01", "1", "yes", "null", "a: b", "#x", "[x]", "é", "a/b.c",
     "recall@melanoma", " lead", "it's", 'say "hi"'],
)  # fmt: skip
def test_scalars_read_back_as_written(text):
    assert yaml.safe_load(f"k: {scalar(text)}")["k"] == text
    assert yaml.safe_load(f"k: [{scalar(text)}]")["k"] == [text]
