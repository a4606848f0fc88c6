"""``mlprod analyze`` on the command line: the lists, the export for review, bad input refused."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlprod_cli.cli import main


def test_the_table_lists_errors_confusions_slices_and_suspected_labels(here, capsys):
    assert main(["analyze", "--top", "3", "--export", "review.csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("v0002 on the test split: ")
    for title in ("most confident errors", "confusions, most frequent first",
                  "slices by their gap to the rest", "suspected label errors",
                  "estimated share of each given class that is mislabelled"):  # fmt: skip
        assert title in out, out
    review = pd.read_csv(here / "review.csv")
    assert list(review.columns[:7]) == [
        "row_id", "given_label", "corrected_label", "reason", "suggested_label",
        "label_quality", "split",
    ]  # fmt: skip
    assert review["row_id"].str.match(r"^L\d{5}$").all() and review["corrected_label"].isna().all()
    assert len(review) > 0 and set(review["split"]) <= {"train", "test"}
    assert review["label_quality"].is_monotonic_increasing
    assert f"wrote {len(review)} suspected label errors to review.csv" in out


def test_json_on_the_training_split(here, capsys):
    assert main(["analyze", "--model", "v0002", "--split", "train", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["split"] == "train" and out["version"] == "v0002" and out["id_column"] == "lesion_id"
    assert out["rows"] == out["label_rows"]["train"]
    assert len(out["worst_errors"]) == 10 and out["slices_examined"] >= len(out["slices"])
    assert set(out["noise_rates"]) == {"melanoma", "nevus", "seborrheic_keratosis"}
    assert all(0 <= r <= 1 for r in out["noise_rates"].values())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "v0001"], "v0001 is a baseline: analyze looks at a model version"),
        (["--model", "v0009"], "model version 'v0009' not found in models/"),
        (["--split", "dev"], "--split: expected test or train, got 'dev'"),
        (["--top", "0"], "--top: must be 1 or more"),
        (["--folds", "1"], "--folds: must be 2 or more"),
        (["--folds", "900"], "too few for 900 folds of out-of-fold probabilities (--folds"),
        (["--export", "x.csv", "--output", "x.csv"], "--export and --output both name x.csv"),
        (["--export", "mlprod.yaml/x.csv"], "mlprod.yaml"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(refuses, args, message):
    refuses(["analyze", *args], message)


def test_a_model_without_probabilities_is_refused(refuses, here):
    from sklearn.svm import LinearSVC

    from mlprod_cli.core.code import build_estimator
    from mlprod_cli.core.train import train
    from mlprod_cli.core.workspace import Workspace

    workspace = Workspace.load(here)
    svc = build_estimator(workspace.config, "model").set_params(classifier=LinearSVC())
    train(workspace, kinds=("model",), cv=0, estimators={"model": svc})
    refuses(["analyze", "--model", "v0003"], "v0003 gives no class probabilities (predict_proba)")


def test_a_regression_project_is_told_where_its_errors_are(regression_project, capsys):
    assert main(["analyze"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: analyze looks for a classifier's errors") and err.count("\n") == 1


def _gate(root, limit):
    config = root / "mlprod.yaml"
    text = config.read_text().replace(
        "metrics:\n", f"metrics:\n  max_label_issue_rate: {limit}\n", 1
    )
    config.write_text(text)


def test_the_label_issue_gate_fails_evaluate_and_activation_when_too_many_labels_are_doubtful(
    here, capsys
):
    _gate(here, 0.01)
    assert main(["evaluate", "--model", "v0002", "--format", "json"]) == 1
    gates = {g["kind"]: g for g in json.loads(capsys.readouterr().out)["gates"]}
    gate = gates["max_label_issue_rate"]
    assert not gate["passed"] and gate["name"] == "label issue rate <= 0.01"
    assert 0.01 < gate["value"] < 1
    assert main(["analyze", "--model", "v0002", "--format", "json"]) == 0
    analysis = json.loads(capsys.readouterr().out)
    examined = sum(analysis["label_rows"].values())
    assert gate["value"] == len(analysis["label_issues"]) / examined  # the rows analyze lists
    assert main(["models", "activate", "v0002"]) == 1  # a failed gate, as evaluate's
    assert "label issue rate <= 0.01" in capsys.readouterr().err


def test_the_label_issue_gate_passes_below_its_bound(here, capsys):
    _gate(here, 0.9)
    assert main(["evaluate", "--model", "v0002", "--format", "json"]) == 0
    gates = {g["kind"]: g for g in json.loads(capsys.readouterr().out)["gates"]}
    assert gates["max_label_issue_rate"]["passed"]


@pytest.mark.parametrize(
    "limit, message", [(2, "must be at most 1, got 2"), ("'a'", "expected a number")]
)
def test_a_bad_label_issue_bound_is_a_config_error(here, capsys, limit, message):
    _gate(here, limit)
    assert main(["evaluate"]) == 2
    err = capsys.readouterr().err
    assert "metrics.max_label_issue_rate" in err and message in err and err.count("\n") == 1, err


def test_markdown_and_html_draw_the_same_sections(here, capsys):
    assert main(["analyze", "--top", "3", "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("## v0002 on the test split")
    for title in ("### most confident errors", "### confusions", "### slices by their gap",
                  "### each slice's share", "### permutation importance", "### suspected label errors"):  # fmt: skip
        assert title in markdown, markdown
    assert main(["analyze", "--top", "3", "--format", "html", "--output", "analysis.html"]) == 0
    page = (here / "analysis.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count('src="data:image/png;base64,') == 2
    assert "most confident errors" in page and "<script" not in page


def test_a_class_named_like_markup_reads_as_itself(here, capsys):
    path = here / "data" / "lesions.csv"
    data = pd.read_csv(path)
    data["diagnosis"] = data["diagnosis"].replace("nevus", "<b>[nevus]</b>")
    data.to_csv(path, index=False)
    assert main(["train", "--model-only", "--cv", "0"]) == 0
    assert main(["analyze", "--model", "v0003", "--top", "50"]) == 0
    assert "<b>[nevus]</b>" in capsys.readouterr().out
    assert main(["analyze", "--model", "v0003", "--format", "html", "--output", "a.html"]) == 0
    page = (here / "a.html").read_text()
    assert "&lt;b&gt;[nevus]&lt;/b&gt;" in page and "<b>[nevus]</b>" not in page


def test_junit_is_refused_before_any_work(refuses):
    refuses(
        ["analyze", "--format", "junit"],
        "--format: analyze writes table, json, markdown, html, not 'junit'",
    )
