"""mlprod_cli.render.train and render.tune: the versions registered, as a table or JSON."""

from __future__ import annotations

import json

from mlprod_cli.core.config import MetricRef
from mlprod_cli.render.train import objective_score, render
from mlprod_cli.render.tune import render as render_tune
from tests.render.results import OBJECTIVE, train_result, tune_result, version


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()[3:] if line.strip()]


def test_the_objective_score_comes_from_the_validation_report():
    assert objective_score(version(2), OBJECTIVE) == "0.5000"  # recall of melanoma: 1 of 2
    assert objective_score(version(2), MetricRef("accuracy")) == "0.6667"
    assert objective_score(version(1, "baseline"), OBJECTIVE) == "—"  # no validation
    assert objective_score(version(2), None) == "—"


def test_table_a_row_per_version_and_what_to_run_next():
    text = render(train_result(), OBJECTIVE, "table")
    lines = text.splitlines()
    assert lines[0] == "trained on 480 rows, test split 120 rows held out"
    assert lines[1].split() == [
        "version",
        "kind",
        "estimator",
        "fit",
        "s",
        "recall@melanoma",
        "(cv)",
        "active",
    ]
    assert rows(text)[:2] == [
        ["v0001", "baseline", "DummyRules", "0.50", "—", "no"],
        ["v0002", "model", "Pipeline", "1.00", "0.5000", "no"],
    ]
    assert lines[-1] == "next: mlprod models activate VERSION   (new: v0001 / v0002)"


def test_table_when_activated_and_without_an_objective():
    text = render(train_result(activated=True), None, "table")
    assert "objective (cv)" in text and "next:" not in text
    assert [row[-1] for row in rows(text)] == ["yes", "yes"]


def test_json():
    data = json.loads(render(train_result(activated=True), OBJECTIVE, "json"))
    assert list(data) == ["versions", "activated", "split", "data"]
    assert [list(v) for v in data["versions"]] == [
        ["version", "kind", "fit_seconds", "validation"]
    ] * 2
    assert data["versions"][0]["validation"] is None
    assert data["versions"][1]["validation"]["folds"] == 5
    assert data["activated"] == ["v0001", "v0002"]


def test_tune_table_ranks_the_candidates():
    text = render_tune(tune_result(), "table")
    lines = text.splitlines()
    assert lines[0] == "grid search: 2 candidates, ranked by recall@melanoma (cross-validated)"
    assert lines[3].split() == ["1", "C=1.0,", "penalty=l2", "0.8123", "0.0412"]
    assert lines[4].split()[-1] == "—"  # no spread: one fold
    assert lines[-2:] == [
        "registered v0003 with C=1.0, penalty=l2",
        "next: mlprod models activate v0003",
    ]


def test_tune_json():
    data = json.loads(render_tune(tune_result(), "json"))
    assert list(data) == ["version", "objective", "search", "best_params", "candidates"]
    assert data["version"] == "v0003" and data["candidates"][1]["std"] is None
