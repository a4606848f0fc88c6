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
    assert markdown.startswith("## ❌") and "| auroc | needs &gt;= 0.99, measured " in markdown
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
    err = capsys.readouterr().err
    assert err == (
        "error: mlprod.yaml:33: metrics.gates[0].class: class 'melanomma' is not in the data "
        "(classes: melanoma, nevus, seborrheic_keratosis)\n"
    )


@pytest.mark.parametrize("raise_auroc", [False, True], ids=["passing", "failing"])
def test_train_then_activate_agrees_with_evaluate(project, monkeypatch, capsys, raise_auroc):
    """The README's sequence: train, evaluate, activate; activate passes exactly when evaluate does."""
    monkeypatch.chdir(project)
    monkeypatch.delenv("MLPROD_STORE_URL", raising=False)
    if raise_auroc:
        path = project / "mlprod.yaml"
        path.write_text(
            re.sub(
                r"\{metric: auroc, min: [0-9.]+\}", "{metric: auroc, min: 0.99}", path.read_text()
            )
        )
    assert main(["train", "--cv", "0"]) == 0
    capsys.readouterr()
    evaluated = main(["evaluate", "--no-store", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    [beat] = [g for g in report["gates"] if g["kind"] == "beat_baseline"]
    assert beat["passed"] and beat["name"] == "recall@melanoma beats baseline v0001"
    assert evaluated == (1 if raise_auroc else 0)
    assert main(["models", "activate", "v0002"]) == evaluated  # the same gates, the same verdict
    err = capsys.readouterr().err
    assert ("no baseline to compare with" in err) is False
    assert main(["models", "list", "--format", "json"]) == 0
    active = json.loads(capsys.readouterr().out)["active"]["model"]
    assert active == (None if raise_auroc else "v0002")


def test_evaluate_defaults_to_the_active_model_and_says_so(here, capsys):
    from mlprod_cli.core.train import train
    from mlprod_cli.core.workspace import Workspace

    assert main(["models", "activate", "v0002"]) == 0
    newer = train(Workspace.load(here), kinds=("model",), cv=0).versions[0].id  # v0003
    capsys.readouterr()
    assert main(["evaluate", "--no-store", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["model"]["version"], report["selected"]) == ("v0002", "active")
    assert main(["evaluate", "--no-store"]) in (0, 1)
    assert "model v0002 is the active model (default; --model picks another)" in (
        capsys.readouterr().out
    )
    assert main(["models", "activate", newer]) == 0
    assert main(["models", "rollback"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--no-store", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["model"]["version"], report["selected"]) == ("v0002", "active")
    assert main(["evaluate", "--no-store", "--model", newer, "--format", "json"]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert (report["model"]["version"], report["selected"]) == (newer, "given")


def test_evaluate_without_an_active_model_takes_the_newest_and_says_so(
    trained, monkeypatch, capsys
):
    monkeypatch.chdir(trained)
    assert main(["evaluate", "--no-store", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["model"]["version"], report["selected"]) == ("v0002", "newest")
    assert main(["evaluate", "--no-store"]) == 0
    assert "model v0002 is the newest model (none is active)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("old", "new", "key", "line"),
    [
        ("objective: recall@melanoma", "objective: recall@melanomma", "metrics.objective", 28),
        (
            "beat_baseline: [recall@melanoma]",
            "beat_baseline: [recall@melanomma]",
            "metrics.beat_baseline[0]",
            35,
        ),
    ],
)
def test_a_misspelled_class_is_refused_by_train_evaluate_and_check(
    trained, monkeypatch, capsys, tree_snapshot, old, new, key, line
):
    monkeypatch.chdir(trained)
    path = trained / "mlprod.yaml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    message = (
        f"error: mlprod.yaml:{line}: {key}: class 'melanomma' is not in the data "
        "(classes: melanoma, nevus, seborrheic_keratosis)\n"
    )
    before = tree_snapshot(trained)
    for args in (["train", "--cv", "0"], ["evaluate"], ["evaluate", "--model", "v0002"]):
        assert main(args) == 2, args
        assert capsys.readouterr().err == message, args
    assert tree_snapshot(trained) == before  # no version registered, no run stored
    preds = trained / "preds.csv"
    preds.write_text("y,p\nmelanoma,melanoma\nnevus,nevus\nseborrheic_keratosis,nevus\n")
    assert (
        main(["evaluate", "--predictions", str(preds), "--label-col", "y", "--pred-col", "p"]) == 2
    )
    assert capsys.readouterr().err == message
    assert main(["check", "--no-venv", "--format", "json"]) == 1
    items = {i["name"]: i for i in json.loads(capsys.readouterr().out)["checks"]}
    assert not items["classes"]["ok"]
    assert items["classes"]["detail"] == message.removeprefix("error: ").strip()


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


def _evaluate_json(args, capsys) -> tuple[int, dict]:
    code = main(["evaluate", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_predicted_class_no_row_has_is_reported_as_sklearn_does(tmp_path, monkeypatch, capsys):
    from sklearn.metrics import classification_report, precision_recall_fscore_support

    monkeypatch.chdir(tmp_path)
    y = ["a", "b", "c", "c", "a", "b", "c", "a"]
    p = ["a", "b", "d", "c", "a", "d", "c", "b"]  # 'd' is predicted, never a label
    path = tmp_path / "preds.csv"
    pd.DataFrame({"y": y, "p": p}).to_csv(path, index=False)
    code, report = _evaluate_json(
        ["--predictions", str(path), "--label-col", "y", "--pred-col", "p"], capsys
    )
    assert code == 0
    expected = classification_report(y, p, output_dict=True, zero_division=0)
    labels = [c["label"] for c in report["classes"]]
    assert labels == ["a", "b", "c", "d"] == [k for k in expected if len(k) == 1]
    precision, recall, _, support = precision_recall_fscore_support(y, p, zero_division=0)
    for j, cls in enumerate(report["classes"]):
        assert cls["support"] == support[j]
        assert cls["precision"] == pytest.approx(precision[j], abs=1e-12)
        if support[j]:
            assert cls["recall"] == pytest.approx(recall[j], abs=1e-12)
    d = report["classes"][3]
    assert (d["support"], d["tp"], d["fp"], d["precision"], d["recall"]) == (0, 0, 2, 0.0, None)
    assert report["confusion"]["labels"] == ["a", "b", "c", "d"]


def test_integer_classes_sort_by_value_not_as_text(tmp_path, monkeypatch, capsys):
    from sklearn.metrics import precision_recall_fscore_support

    monkeypatch.chdir(tmp_path)
    y = [2, 10, 33, 2, 10, 33, 2, 10]
    p = [2, 10, 33, 10, 10, 2, 2, 33]
    path = tmp_path / "preds.csv"
    pd.DataFrame({"y": y, "p": p}).to_csv(path, index=False)
    code, report = _evaluate_json(
        ["--predictions", str(path), "--label-col", "y", "--pred-col", "p"], capsys
    )
    assert code == 0
    assert [c["label"] for c in report["classes"]] == ["2", "10", "33"]  # not 10, 2, 33
    precision, recall, f1, support = precision_recall_fscore_support(y, p, labels=[2, 10, 33])
    for j, cls in enumerate(report["classes"]):
        assert (cls["precision"], cls["recall"], cls["support"]) == pytest.approx(
            (precision[j], recall[j], support[j]), abs=1e-12
        )
        assert cls["f1_score"] == pytest.approx(f1[j], abs=1e-12)


def test_a_slice_gate_on_a_column_the_predictions_lack_is_listed_not_passed(here, capsys):
    from mlprod_cli.core import dataset
    from mlprod_cli.core.workspace import Workspace

    path = here / "mlprod.yaml"
    text = path.read_text().replace(
        "  gates:\n", "  gates:\n    - {metric: recall, class: melanoma, min: 0.1, slice: sex}\n", 1
    )
    path.write_text(text)
    config = Workspace.load(here).config
    frame = dataset.load_file(config, config.data.train)
    preds = here / "preds.csv"  # no 'sex' column
    pd.DataFrame({"y": frame["diagnosis"], "p": frame["diagnosis"]}).to_csv(preds, index=False)
    code, report = _evaluate_json(
        ["--predictions", str(preds), "--label-col", "y", "--pred-col", "p", "--no-store"], capsys
    )
    assert code == 1  # a gate that cannot be checked has not passed
    unchecked = [g for g in report["gates"] if "sex" in g["name"]]  # auroc: no scores here
    assert [(g["name"], g["passed"], g["reason"]) for g in unchecked] == [
        ("recall@melanoma >= 0.1 [sex]", False, "predictions have no column 'sex'"),
        ("recall@melanoma gap across sex <= 0.2", False, "predictions have no column 'sex'"),
    ]
    assert main(["evaluate", "--predictions", str(preds), "--label-col", "y", "--pred-col", "p",
                 "--no-store"]) == 1  # fmt: skip
    out = capsys.readouterr().out
    assert (
        "FAIL     recall@melanoma gap across sex   needs <= 0.2, cannot be checked: "
        "predictions have no column 'sex'"
    ) in out
