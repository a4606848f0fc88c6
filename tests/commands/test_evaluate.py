"""``mlprod evaluate``: project mode, predictions files, gates, store, formats, bad input."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from mlprod_cli.cli import main


@pytest.fixture
def here(trained, monkeypatch, capsys):
    monkeypatch.chdir(trained)
    monkeypatch.delenv("MLPROD_STORE_URL", raising=False)
    assert main(["models", "activate", "v0001"]) == 0
    capsys.readouterr()
    return trained


def test_project_mode_json_is_stored_and_has_history(here, capsys):
    assert main(["evaluate", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"]["version"] == "v0002" and report["passed"] is True
    assert [c["label"] for c in report["classes"]] == ["melanoma", "nevus", "seborrheic_keratosis"]
    melanoma = report["classes"][0]
    for key in (
        "sensitivity",
        "precision",
        "f1_score",
        "specificity",
        "fdr",
        "auroc",
        "tp",
        "fp",
        "fn",
        "share",
    ):
        assert key in melanoma
    assert [c["name"] for c in report["comparisons"]] == ["baseline v0001"]
    assert set(report["slices"]) == {"sex"}
    assert {g["kind"] for g in report["gates"]} == {"threshold", "beat_baseline", "max_slice_gap"}
    assert report["run_id"] and report["data"]["rows"] == 635
    assert (here / ".mlprod" / "metrics.db").is_file()
    assert main(["metrics", "history", "--format", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert len(history["points"]) == 1
    assert history["points"][0]["value"] == pytest.approx(melanoma["recall"])


def test_gate_failure_exits_1_and_still_reports(here, capsys, tmp_path):
    path = here / "mlprod.yaml"
    path.write_text(
        re.sub(r"\{metric: auroc, min: [0-9.]+\}", "{metric: auroc, min: 0.99}", path.read_text())
    )
    out = tmp_path / "gates.xml"
    assert main(["evaluate", "--format", "junit", "--output", str(out), "--no-store"]) == 1
    suite = ET.parse(out).getroot()
    failures = [tc.get("name") for tc in suite.iter("testcase") if tc.find("failure") is not None]
    assert failures == ["auroc >= 0.99"]
    assert "1 of 4 gates failed" in capsys.readouterr().err
    assert main(["evaluate", "--no-gate", "--no-store", "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("## ❌") and "auroc &gt;= 0.99" in markdown
    assert not (here / ".mlprod" / "metrics.db").exists()  # --no-store wrote nothing


def test_table_and_html(here, capsys, tmp_path):
    assert main(["evaluate", "--no-store", "--slice-by", "anatomic_site"]) == 0
    table = capsys.readouterr().out
    assert "class" in table and "% of samples" in table and "by anatomic_site" in table
    html = tmp_path / "report.html"
    assert main(["evaluate", "--no-store", "--format", "html", "--output", str(html)]) == 0
    text = html.read_text()
    assert text.count("data:image/png;base64,") >= 3 and "https://" not in text


def _predictions(tmp_path, n=400, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.array(["cat", "dog", "eel"])
    y = labels[rng.integers(0, 3, n)]
    scores = rng.dirichlet([1, 1, 1], n)
    scores[np.arange(n), rng.integers(0, 3, n)] += 0.5
    scores /= scores.sum(axis=1, keepdims=True)
    pred = labels[scores.argmax(axis=1)]
    frame = pd.DataFrame({"y": y, "p": pred, "score_cat": scores[:, 0], "score_dog": scores[:, 1], "score_eel": scores[:, 2],
                          "region": rng.choice(["north", "south"], n)})  # fmt: skip
    path = tmp_path / "preds.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_predictions_file_anywhere_equals_sklearn(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path, frame = _predictions(tmp_path)
    args = ["evaluate", "--predictions", str(path), "--label-col", "y", "--pred-col", "p",
            "--score-cols", "score_cat,score_dog,score_eel", "--slice-by", "region", "--format", "json"]  # fmt: skip
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    labels = ["cat", "dog", "eel"]
    recall = recall_score(frame["y"], frame["p"], labels=labels, average=None)
    precision = precision_score(frame["y"], frame["p"], labels=labels, average=None)
    for j, cls in enumerate(report["classes"]):
        assert cls["recall"] == pytest.approx(recall[j], abs=1e-12)
        assert cls["precision"] == pytest.approx(precision[j], abs=1e-12)
        auroc = roc_auc_score(frame["y"] == labels[j], frame[f"score_{labels[j]}"])
        assert cls["auroc"] == pytest.approx(auroc, abs=1e-12)
    assert set(report["slices"]["region"]) == {"north", "south"}
    assert (
        report["gates"] == [] and report["run_id"] is None
    )  # outside a project: no gates, no store
    assert not list(tmp_path.glob(".mlprod*"))


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        (lambda f: f.drop(columns="y"), [], "--label-col column 'y' is missing"),
        (lambda f: f.drop(columns="p"), [], "--pred-col column 'p' is missing"),
        (
            lambda f: f.assign(y=f["y"].where(f.index != 7)),
            [],
            "column 'y' has 1 empty values (row 8 first)",
        ),
        (
            lambda f: f.assign(p=f["p"].where(f.index != 3, "emu")),
            [],
            "p holds 'emu', not among the known classes: cat, dog, eel",
        ),
        (lambda f: f.assign(score_dog="high"), [], "score column 'score_dog' is not numeric"),
        (lambda f: f, ["--score-cols", "score_cat,score_dog"], None),
        (lambda f: f, ["--slice-by", "planet"], "slice column 'planet' is not in the file"),
        (lambda f: f.head(0), [], "no rows"),
    ],
)
def test_bad_predictions_files(tmp_path, monkeypatch, capsys, change, extra, message):
    monkeypatch.chdir(tmp_path)
    path, frame = _predictions(tmp_path)
    change(frame).to_csv(path, index=False)
    scores = [] if "--score-cols" in extra else ["--score-cols", "score_cat,score_dog,score_eel"]
    code = main(
        [
            "evaluate",
            "--predictions",
            str(path),
            "--label-col",
            "y",
            "--pred-col",
            "p",
            *scores,
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert message is None or message in err, err


def test_labels_file_of_another_length(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path, frame = _predictions(tmp_path)
    frame[["y"]].head(10).to_csv(tmp_path / "labels.csv", index=False)
    frame.drop(columns="y").to_csv(path, index=False)
    assert (
        main(
            [
                "evaluate",
                "--predictions",
                str(path),
                "--labels",
                str(tmp_path / "labels.csv"),
                "--label-col",
                "y",
                "--pred-col",
                "p",
            ]
        )
        == 2
    )
    assert "has 10 rows but" in capsys.readouterr().err


def test_empty_predictions_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.csv").write_text("")
    assert main(["evaluate", "--predictions", "e.csv", "--label-col", "y", "--pred-col", "p"]) == 2
    assert "the file is empty" in capsys.readouterr().err


def test_unreachable_store_names_the_host_not_the_password(
    here, monkeypatch, capsys, tree_snapshot
):
    monkeypatch.setenv("MLPROD_STORE_URL", "postgresql://mlprod:s3cr3t-pw@127.0.0.1:9/metrics")
    before = tree_snapshot(here)
    assert main(["evaluate"]) == 2
    captured = capsys.readouterr()
    assert "127.0.0.1" in captured.err and "s3cr3t-pw" not in captured.err + captured.out
    assert tree_snapshot(here) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "--model", "v0009"], "model version 'v0009' not found"),
        (["evaluate", "--slice-by", "planet"], "slice column 'planet' is not in the data"),
        (["evaluate", "--label-col", "y"], "--label-col goes with --predictions FILE"),
        (["evaluate", "--predictions", "x.csv"], "--predictions needs --label-col and --pred-col"),
        (["evaluate", "--format", "pdf"], "pdf"),
    ],
)
def test_bad_usage_in_a_project(here, capsys, tree_snapshot, args, message):
    before = tree_snapshot(here)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert tree_snapshot(here) == before


def test_gate_naming_an_unknown_class(here, capsys):
    path = here / "mlprod.yaml"
    path.write_text(
        path.read_text().replace(
            "{metric: recall, class: melanoma,", "{metric: recall, class: melanomma,"
        )
    )
    assert main(["evaluate", "--no-store"]) == 2
    assert 'class "melanomma" is not among the known classes' in capsys.readouterr().err


def test_a_majority_only_predictor_is_warn_not_pass_in_every_format(tmp_path, monkeypatch, capsys):
    import xml.etree.ElementTree as ET

    monkeypatch.chdir(tmp_path)  # outside any project: no gates at all
    preds = tmp_path / "preds.csv"
    preds.write_text("y,yhat\n" + "benign,benign\n" * 99 + "melanoma,benign\n")
    base = ["evaluate", "--predictions", str(preds), "--label-col", "y", "--pred-col", "yhat"]
    assert main([*base, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "warn" and report["passed"] is True
    assert any("never predicted" in w for w in report["warnings"])
    assert main([*base, "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("## ⚠️ preds.csv: no gates; 2 warnings")
    assert main([*base]) == 0
    assert "warning: accuracy 0.990 equals the share of 'benign'" in capsys.readouterr().out
    assert main([*base, "--format", "junit"]) == 0
    suite = ET.fromstring(capsys.readouterr().out).find("testsuite")
    assert suite.get("skipped") == "2"
