"""``mlprod distill`` on the command line: the comparison, the registration, bad input refused."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlprod_cli.cli import main
from mlprod_cli.core.distill import _measure


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(_measure, "WARM_UP", 2)
    monkeypatch.setattr(_measure, "TIMED", 20)


def test_the_table_compares_teacher_distilled_and_control_and_models_list_says_distilled(
    here, capsys
):
    code = main(["distill", "--teacher", "v0002", "--student", "linear", "--register-anyway"])
    assert code == 0
    out = capsys.readouterr().out
    for word in ("teacher v0002", "distilled", "control", "linear C=1.0", "recall@melanoma"):
        assert word in out, out
    assert "p99 ms" in out and "agrees" in out and "per slice" in out
    assert "registered v0003" in out
    assert main(["models", "list", "--format", "json"]) == 0
    listed = {v["version"]: v for v in json.loads(capsys.readouterr().out)["versions"]}
    assert listed["v0003"]["made_as"] == "distilled" and listed["v0003"]["kind"] == "model"
    assert main(["models", "show", "v0003"]) == 0
    assert "linear C=1.0, distilled from v0002" in capsys.readouterr().out
    assert main(["models", "activate", "v0003", "--force"]) == 0
    assert main(["predict", "data/lesions.csv", "--output", "scored.csv"]) == 0
    assert (here / "scored.csv").read_text().count("\n") > 10


def test_json_holds_every_model_and_the_budget(here, capsys):
    args = ["distill", "--teacher", "v0002", "--student", "tree", "--budget", "size=1GB"]
    assert main([*args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["budget"] == "size=1GB" and out["tolerance"] == 0.01
    roles = [(m["role"], m["name"]) for m in out["models"]]
    assert roles[0] == ("teacher", "teacher v0002")
    # with a budget each student is tried at every size of its knob
    assert [n for r, n in roles if r == "distilled"] == [
        "tree max_depth=3",
        "tree max_depth=6",
        "tree max_depth=10",
    ]
    sizes = [m["size_bytes"] for m in out["models"] if m["role"] == "distilled"]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert out["chosen"] in out["front"]
    assert out["models"][0]["over_budget"] == []  # the teacher is held to the budget too
    capsys.readouterr()
    assert main([*args[:-1], "size=1kB", "--format", "json"]) == 0
    tight = json.loads(capsys.readouterr().out)
    assert tight["models"][0]["over_budget"][0].startswith("size ")
    assert tight["registered"] is None and tight["front"] == []
    assert tight["not_registered_because"].startswith("no student meets the budget size=1kB")
    registered = out["registered"]
    assert (registered is None) == (out["not_registered_because"] is not None)
    if registered is not None:
        meta = json.loads((here / "models" / registered / "metadata.json").read_text())
        assert meta["distilled"]["teacher"] == "v0002"


def test_output_file_is_written_only_whole(here, capsys):
    args = ["distill", "--teacher", "v0002", "--student", "tree", "--register-anyway"]
    assert main([*args, "--format", "json", "--output", "distill.json"]) == 0
    written = json.loads((here / "distill.json").read_text())
    assert written["registered"] == "v0003" and capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["--teacher", "v0001"], "v0001 is a baseline: the teacher must be a model version"),
        (["--teacher", "v0009"], "model version 'v0009' not found in models/"),
        (["--teacher", "latest"], "'latest': expected a version id like v0003"),
        (["--teacher", "v0002", "--student", "forest"], "--student: expected one of tree, linear"),
        (["--teacher", "v0002", "--budget", "p99=5kg"], "--budget p99='5kg'"),
        (["--teacher", "v0002", "--budget", "size=1kB,size=2kB"], "size is given twice"),
        (["--teacher", "v0002", "--unlabelled", "nowhere.csv"], "nowhere.csv: no such unlabelled"),
        (["--teacher", "v0002", "--unlabelled", "mlprod.yaml"], "must be .csv or .parquet"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(refuses, args, message):
    refuses(["distill", *args], message)


def test_unlabelled_rows_without_the_features_are_refused(refuses, here):
    (here / "extra.csv").write_text("colour,size\nred,3\n")
    refuses(["distill", "--teacher", "v0002", "--unlabelled", "extra.csv"], "extra.csv")


@pytest.mark.parametrize(
    "entry, text",
    [
        ({"teacher": "v0004", "student": "mlp", "knob": {"hidden": 32}}, "mlp hidden=32, distilled from v0004"),
        ({"teacher": "v0004", "unlabelled_rows": 300, "registered_anyway": True},
         "a student, distilled from v0004 (+ 300 unlabelled rows), registered with --register-anyway"),
        ({"teacher": "v0004", "student": "tree", "knob": [1], "unlabelled_rows": True}, "tree, distilled from v0004"),
        ({"teacher": 4}, None),
        ([1], None),
    ],
)  # fmt: skip
def test_models_show_reads_any_distilled_lineage_from_disk(entry, text):
    from mlprod_cli.render.models import distilled_text

    assert distilled_text(entry) == text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--teacher", "v2"], "--teacher 'v2': expected a version id like v0003"),
        (["--teacher", "v0002", "--budget", "size=1e400"], "size='1e400': expected a finite number"),
        (["--teacher", "v0002", "--output", "mlprod.yaml"], "--output mlprod.yaml is the project file"),
        (["--teacher", "v0002", "--output", "models/v0002/model.skops"], "is inside the registry (models/)"),
        (["--teacher", "v0002", "--unlabelled", "x.csv", "--unlabelled", "./x.csv"], "--unlabelled x.csv is given twice"),
    ],
)  # fmt: skip
def test_what_the_hostile_review_found_is_refused(refuses, here, args, message):
    (here / "x.csv").write_text("age\n1\n")
    refuses(["distill", *args], message)


def test_a_column_named_twice_in_an_unlabelled_file_is_refused(refuses, here):
    header = pd.read_csv(here / "data" / "lesions.csv", nrows=1)
    text = (here / "data" / "lesions.csv").read_text().splitlines()
    (here / "twice.csv").write_text(
        "\n".join([text[0] + ",age", *(line + ",3" for line in text[1:20])]) + "\n"
    )
    assert "age" in header.columns
    refuses(
        ["distill", "--teacher", "v0002", "--unlabelled", "twice.csv"],
        "twice.csv: column 'age' appears more than once",
    )


def test_a_teacher_certain_of_one_class_is_refused(refuses, here):
    from sklearn.dummy import DummyClassifier

    from mlprod_cli.core.train import train
    from mlprod_cli.core.workspace import Workspace

    train(
        Workspace.load(here),
        kinds=("model",),
        cv=0,
        estimators={"model": DummyClassifier(strategy="most_frequent")},
    )
    refuses(["distill", "--teacher", "v0003"], "v0003 gives probability to only one class (nevus)")


def test_bulk_without_a_unit_is_microseconds_a_row():
    from mlprod_cli.core.distill import parse_budget

    assert parse_budget("bulk=20").bulk_ms_per_row == pytest.approx(0.02)
