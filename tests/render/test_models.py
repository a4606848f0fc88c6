"""mlprod_cli.render.models: the registry listed, a version shown, an activation, a diff."""

from __future__ import annotations

import json

from mlprod_cli.core.models import Listing, Rollback
from mlprod_cli.render.models import (
    render_activation,
    render_diff,
    render_listing,
    render_rollback,
    render_version,
)
from tests.render.results import OBJECTIVE, activation, changes, listing, version


def cells(line: str) -> list[str]:
    return line.split()


def test_listing_marks_the_active_versions_and_dirty_commits():
    lines = render_listing(listing(), OBJECTIVE, "table").splitlines()
    assert cells(lines[0]) == [
        "version",
        "kind",
        "created",
        "estimator",
        "size",
        "recall@melanoma",
        "(cv)",
        "commit",
    ]
    assert cells(lines[2]) == [
        "*",
        "v0001",
        "baseline",
        "2024-07-01T13:00:00+00:00",
        "DummyRules",
        "812",
        "B",
        "—",
        "0001eeee",
    ]
    assert cells(lines[3])[0] == "*" and cells(lines[3])[-4:] == [
        "1.5",
        "MB",
        "0.5000",
        "0002eeee+",
    ]
    assert cells(lines[4])[0] == "v0003"  # not active: no star
    assert cells(lines[4])[4] == "—"  # an artifact that cannot be read has no size


def test_listing_without_versions_or_objective():
    empty = Listing([], {"model": None, "baseline": None})
    assert render_listing(empty, OBJECTIVE, "table") == "no versions yet (run 'mlprod train')"
    assert json.loads(render_listing(empty, OBJECTIVE, "json")) == {
        "active": {"model": None, "baseline": None},
        "versions": [],
    }
    assert "objective (cv)" in render_listing(listing(), None, "table")


def test_listing_json():
    data = json.loads(render_listing(listing(), OBJECTIVE, "json"))
    assert data["active"] == {"model": "v0002", "baseline": "v0001"}
    assert [v["active"] for v in data["versions"]] == [True, True, False]
    assert [v["size_bytes"] for v in data["versions"]] == [812, 1_540_000, None]
    assert [v["made_as"] for v in data["versions"]] == ["baseline", "model", "model"]
    assert list(data["versions"][0]) == [
        "version",
        "kind",
        "made_as",
        "size_bytes",
        "created_at",
        "active",
        "git_commit",
        "estimator",
        "cv",
    ]
    assert data["versions"][1]["cv"] == {
        "objective": "recall@melanoma",
        "value": 0.5,
        "source": "validation",
    }
    assert data["versions"][0]["cv"] == {
        "objective": "recall@melanoma",
        "value": None,
        "source": None,
    }


def test_a_tuned_version_shows_the_cv_score_tune_recorded():
    # tune refits the best candidate with cv off: its score is the candidates' rank 1 mean.
    tune = {
        "search": "grid",
        "cv": 5,
        "objective": "recall@melanoma",
        "n_candidates": 2,
        "best_params": {"C": 1.0},
        "candidates": [
            {"params": {"C": 1.0}, "mean": 0.8123, "std": 0.04, "folds": [0.8] * 5, "rank": 1},
            {"params": {"C": 0.1}, "mean": 0.75, "std": 0.02, "folds": [0.75] * 5, "rank": 2},
        ],
    }
    skipped = {"skipped": "cross-validation needs 2 folds (cv is off)"}
    tuned = version(4, tune=tune, validation=skipped)
    other = version(5, tune={**tune, "objective": "f1_score"}, validation=skipped)
    rows = Listing([version(2), tuned, other], {"model": "v0004", "baseline": None})
    lines = render_listing(rows, OBJECTIVE, "table").splitlines()
    assert cells(lines[3])[0] == "*" and cells(lines[3])[-3:] == ["0.8123", "(tune)", "0004eeee+"]
    assert cells(lines[4])[-2:] == ["—", "0005eeee"]  # tuned for another objective: not this one
    data = json.loads(render_listing(rows, OBJECTIVE, "json"))
    assert [v["cv"] for v in data["versions"]] == [
        {"objective": "recall@melanoma", "value": 0.5, "source": "validation"},
        {"objective": "recall@melanoma", "value": 0.8123, "source": "tune"},
        {"objective": "recall@melanoma", "value": None, "source": None},
    ]
    assert json.loads(render_listing(rows, None, "json"))["versions"][1]["cv"] == {
        "objective": "recall@melanoma",
        "value": 0.8123,
        "source": "tune",
    }


def test_version_table_and_json():
    text = render_version(
        version(2, tune={"search": "random", "candidates": [{}] * 3, "best_params": {"C": 1}}),
        "table",
    )
    lines = text.splitlines()
    assert lines[0] == "v0002"
    fields = {line.split()[0] for line in lines[3:]}
    assert {
        "kind",
        "created",
        "estimator",
        "classes",
        "data",
        "split",
        "git",
        "fit",
        "tuned",
    } <= fields
    assert "data/lesions.csv (600 rows, sha256 cdcdcdcdcdcd)" in text
    assert "(dirty)" in text  # even versions are dirty in the fixture
    assert "random search, 3 candidates, best {'C': 1}" in text
    assert "tuned" not in render_version(version(3), "table")
    assert json.loads(render_version(version(2), "json")) == json.loads(
        json.dumps(version(2).metadata)
    )


def test_activation():
    text = render_activation(activation(), "table")
    assert text.splitlines()[0] == "v0002 is the active model (was v0001)"
    assert [line.split()[0] for line in text.splitlines()[3:]] == ["pass", "FAIL"]
    assert render_activation(activation(gates=False), "table") == "v0002 is the active baseline"
    data = json.loads(render_activation(activation(), "json"))
    assert (data["previous"], data["forced"]) == ("v0001", True)
    assert data["gates"][1] == {
        "name": 'precision@a<b & "c"|d [b] >= 0.9',
        "kind": "threshold",
        "passed": False,
        "value": None,
        "detail": "undefined",
        "subject": "",
        "required": "",
        "limit": None,
        "reason": None,
    }


def test_rollback():
    outcome = Rollback("model", "v0002", "v0003")
    assert render_rollback(outcome) == "v0002 is the active model again (was v0003)"
    outcome.rules = {
        "file": "rules.yaml",
        "action": "restored",
        "version": "v0002",
        "sha256": "ab" * 32,
        "backup": ".mlprod/rules-backup/20261203T070000.000000Z-rules.yaml",
    }
    assert render_rollback(outcome).splitlines()[1:] == [
        "rules.yaml now holds v0002's rules (sha256 abababababab)",
        "its edits were kept in .mlprod/rules-backup/20261203T070000.000000Z-rules.yaml",
    ]
    assert json.loads(render_rollback(outcome, "json"))["rules"]["action"] == "restored"


def test_diff_cuts_long_values():
    lines = render_diff(changes(), "v0001", "v0002", "table").splitlines()
    assert cells(lines[0]) == ["field", "v0001", "v0002"]
    assert cells(lines[3]) == ["fit_seconds", "1.0", "—"]
    assert cells(lines[4]) == ["params", "x" * 57 + "...", "{'C':", "1.0}"]
    assert (
        render_diff([], "v0001", "v0002", "table")
        == "v0001 and v0002 differ only in id, time and artifact"
    )
    assert json.loads(render_diff(changes()[:1], "a", "b", "json")) == [
        {"key": "estimator", "a": "sklearn.pipeline.Pipeline", "b": "mlprod.DummyRules"}
    ]


def test_a_version_with_rules_shows_its_rule_layer():
    assert "rules file" not in render_version(version(2), "table")  # trained without rules
    with_rules = version(2)
    with_rules.metadata["rules"] = {
        "sha256": "ab" * 32,
        "file": "rules.yaml",
        "ids": ["minor", "large_lesion"],
        "policy": "all",
        "fallback": "abstain",
    }
    row = next(
        line for line in render_version(with_rules, "table").splitlines() if "rules file" in line
    )
    assert row.split("rules file", 1)[1].strip() == (
        "rules.yaml (sha256 abababababab): 2 rules (minor, large_lesion), policy all, fallback abstain"
    )
