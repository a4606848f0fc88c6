"""A reviewed label patch: applied as the data loads, in the lineage, refused when it does not fit."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlprod_cli.cli import main
from mlprod_cli.core import dataset
from mlprod_cli.core.workspace import Workspace


def _use_patch(root, rows, header="row_id,given_label,corrected_label,reason"):
    (root / "data" / "labels.patch.csv").write_text(header + "\n" + "".join(r + "\n" for r in rows))
    config = root / "mlprod.yaml"
    text = config.read_text()
    config.write_text(
        text.replace("  exclude:", "  label_patch: data/labels.patch.csv\n  exclude:", 1)
    )


def _label(root, lesion):
    data = pd.read_csv(root / "data" / "lesions.csv").set_index("lesion_id")
    return data.loc[lesion, "diagnosis"]


def test_the_patch_corrects_the_loaded_labels_and_joins_the_lineage(trained, monkeypatch, capsys):
    before = (trained / "data" / "lesions.csv").read_bytes()
    given = _label(trained, "L00160")
    other = "melanoma" if given != "melanoma" else "nevus"
    _use_patch(trained, [f"L00160,{given},{other},dermatologist 2024-08", "L00161,nevus,,kept"])
    train, _ = dataset.load_training_data(Workspace.load(trained).config)
    frame = train.frame.set_index("lesion_id")
    assert frame.loc["L00160", "diagnosis"] == other
    assert (trained / "data" / "lesions.csv").read_bytes() == before  # the data file is not changed
    patch_entry = train.files[1]
    assert patch_entry["path"] == "data/labels.patch.csv" and patch_entry["patches"] == "labels"
    assert patch_entry["rows"] == 1  # the empty corrected_label is reviewed and kept

    monkeypatch.chdir(trained)
    assert main(["train", "--model-only", "--cv", "0"]) == 0
    meta = json.loads((trained / "models" / "v0003" / "metadata.json").read_text())
    unpatched = json.loads((trained / "models" / "v0002" / "metadata.json").read_text())
    assert [d["path"] for d in meta["data"]] == ["data/lesions.csv", "data/labels.patch.csv"]
    assert {d["sha256"] for d in meta["data"]} != {d["sha256"] for d in unpatched["data"]}
    capsys.readouterr()
    assert main(["models", "show", "v0003"]) == 0
    assert "data/labels.patch.csv (1 row, sha256" in capsys.readouterr().out


def test_a_patched_retrain_is_compared_with_the_unpatched_in_metrics_history(here, capsys):
    # a test-split row (the split is by time: the last rows), so that evaluate scores it
    test_rows = pd.read_csv(here / "data" / "lesions.csv").tail(5)
    lesion, given = test_rows.iloc[0]["lesion_id"], test_rows.iloc[0]["diagnosis"]
    other = "melanoma" if given != "melanoma" else "nevus"
    assert main(["evaluate", "--model", "v0002"]) in (0, 1)
    _use_patch(here, [f"{lesion},{given},{other},review"])
    assert main(["train", "--model-only", "--cv", "0"]) == 0
    assert main(["evaluate", "--model", "v0003"]) in (0, 1)
    capsys.readouterr()
    assert main(["metrics", "history", "--metric", "recall@melanoma", "--format", "json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert [p["model_version"] for p in points] == ["v0002", "v0003"]
    assert points[0]["source"] == "data/lesions.csv"
    assert points[1]["source"].startswith(
        "data/lesions.csv (label patch data/labels.patch.csv, sha256 "
    )


@pytest.mark.parametrize(
    "rows, header, message",
    [
        (["L99999,nevus,melanoma,x"], None, "line 2: row_id 'L99999' is not a lesion_id in the data"),
        (["L00160,{wrong},melanoma,x"], None, "line 2: L00160 is labelled '{given}' in data/lesions.csv, not '{wrong}' (given_label)"),
        (["L00160,{given},melanomma,x"], None, "line 2: corrected_label 'melanomma' is not a class of the data (melanoma, nevus, seborrheic_keratosis)"),
        (["L00160,{given},{other},x", "L00160,{given},{other},y"], None, "line 3: row_id 'L00160' is on line 2 too"),
        (["L00160,{given},{given},x"], None, "line 2: corrected_label is the given label"),
        ([",{given},{other},x"], None, "line 2: row_id is empty"),
        (["L00160,{given}"], "row_id,given_label", "needs the columns row_id, given_label, corrected_label (missing: corrected_label)"),
    ],
)  # fmt: skip
def test_a_patch_that_does_not_fit_is_one_line_exit_2_and_nothing_trained(
    here, capsys, tree_snapshot, rows, header, message
):
    given = _label(here, "L00160")
    names = {"given": given, "other": "melanoma" if given != "melanoma" else "nevus",
             "wrong": "seborrheic_keratosis" if given != "seborrheic_keratosis" else "nevus"}  # fmt: skip
    _use_patch(here, [r.format(**names) for r in rows], **({"header": header} if header else {}))
    before = tree_snapshot(here)
    for command in (["train"], ["evaluate"], ["analyze"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: data/labels.patch.csv") or err.startswith("error: "), err
        assert message.format(**names) in err and err.count("\n") == 1, err
    assert tree_snapshot(here) == before


def test_a_patch_that_is_not_there_is_a_config_error(here, capsys):
    _use_patch_config_only(here)
    assert main(["train"]) == 2
    err = capsys.readouterr().err
    assert "data.label_patch" in err and "labels.patch.csv" in err and err.count("\n") == 1, err


def test_the_export_of_analyze_is_a_patch_once_reviewed(here, capsys):
    assert main(["analyze", "--export", "data/labels.patch.csv"]) == 0
    review = pd.read_csv(
        here / "data" / "labels.patch.csv", dtype={"corrected_label": object, "reason": object}
    )
    review.loc[0, "corrected_label"] = review.loc[0, "suggested_label"]
    review.loc[0, "reason"] = "confirmed by a second reader"
    review.to_csv(here / "data" / "labels.patch.csv", index=False)
    _use_patch_config_only(here)
    train, _ = dataset.load_training_data(Workspace.load(here).config)
    assert train.files[1]["rows"] == 1
    frame = train.frame.set_index("lesion_id")
    assert frame.loc[review.loc[0, "row_id"], "diagnosis"] == review.loc[0, "suggested_label"]


def _use_patch_config_only(root):
    config = root / "mlprod.yaml"
    config.write_text(
        config.read_text().replace(
            "  exclude:", "  label_patch: data/labels.patch.csv\n  exclude:", 1
        )
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["models", "list", "--output", "mlprod.yaml"], "--output mlprod.yaml is the project file"),
        (["evaluate", "--output", "data/lesions.csv"], "--output data/lesions.csv is the project's data.train"),
        (["analyze", "--export", "data/lesions.csv"], "--export data/lesions.csv is the project's data.train"),
        (["analyze", "--export", "data/labels.patch.csv"], "is the project's data.label_patch"),
        (["train", "--output", "./data/../mlprod.yaml"], "is the project file"),
    ],
)  # fmt: skip
def test_no_result_is_written_over_the_projects_own_inputs(
    here, capsys, tree_snapshot, args, message
):
    given = _label(here, "L00160")
    other = "melanoma" if given != "melanoma" else "nevus"
    _use_patch(here, [f"L00160,{given},{other},review"])
    before = tree_snapshot(here)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert tree_snapshot(here) == before


def test_the_rules_file_is_not_written_over_either(rules_trained, monkeypatch, capsys):
    monkeypatch.chdir(rules_trained)
    before = (rules_trained / "rules.yaml").read_bytes()
    assert main(["models", "list", "--output", "rules.yaml"]) == 2
    assert "--output rules.yaml is the project's rules" in capsys.readouterr().err
    assert (rules_trained / "rules.yaml").read_bytes() == before


@pytest.mark.parametrize(
    "output", ["a" * 250 + ".txt", "/proc/mlprod-report.txt"], ids=["name-past-the-limit", "proc"]
)
def test_an_output_the_system_cannot_hold_is_one_line_exit_2(here, capsys, tree_snapshot, output):
    before = tree_snapshot(here)
    assert main(["models", "list", "--output", output]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write ") and err.count("\n") == 1, err
    assert tree_snapshot(here) == before
