"""``train``: data as mlprod.yaml says, whole versions with full metadata, clear bad-input errors."""

from __future__ import annotations

import pandas as pd
import pytest

from mlprod_cli.core.config import load_config
from mlprod_cli.core.train import train
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import DataError


def test_trains_and_registers_both_kinds_with_metadata(project):
    result = train(Workspace.load(project), cv=3)
    assert [(v.id, v.kind) for v in result.versions] == [("v0001", "baseline"), ("v0002", "model")]
    meta = result.versions[1].metadata
    for key in ("version", "kind", "created_at", "git", "data", "split", "schema", "params", "libraries",
                "lock_sha256", "fit_seconds", "validation", "artifact_sha256", "classes", "estimator"):  # fmt: skip
        assert key in meta, key
    assert meta["git"] == {"commit": None, "dirty": None}  # not a git repository
    assert meta["data"][0]["path"] == "data/lesions.csv" and meta["data"][0]["rows"] == 3000
    assert len(meta["data"][0]["sha256"]) == 64 and len(meta["lock_sha256"]) == 64
    assert meta["split"] == {
        "by": "time",
        "column": "visit_date",
        "cutoff": "2024-07-01",
        "train_rows": 2365,
        "test_rows": 635,
    }
    features = {f["name"]: f for f in meta["schema"]["features"]}
    assert (
        "lesion_id" not in features and "visit_date" not in features and "diagnosis" not in features
    )
    assert features["sex"]["categories"] == ["female", "male"]
    assert (
        features["age"]["kind"] == "numeric"
        and 18 <= features["age"]["min"] < features["age"]["max"] <= 90
    )
    assert 0 < features["diameter_mm"]["null_rate"] < 0.05
    assert meta["classes"] == ["melanoma", "nevus", "seborrheic_keratosis"]
    assert meta["validation"]["folds"] == 3
    recall = next(c for c in meta["validation"]["report"]["classes"] if c["label"] == "melanoma")[
        "metrics"
    ]["recall"]
    assert 0.6 < recall < 0.95
    assert "classifier__C" in meta["params"] and " at 0x" not in "".join(meta["params"].values())
    assert Workspace.load(project).registry.active_id() is None  # nothing active until asked


def test_model_only_and_activate(project):
    config = load_config(project)
    result = train(Workspace(config), kinds=("baseline",), cv=0, activate=True)
    result = train(Workspace(config), kinds=("model",), cv=0, activate=True)
    assert result.activated == ["v0002"]
    registry = Workspace(config).registry
    assert registry.active_id("model") == "v0002" and registry.active_id("baseline") == "v0001"


def _write(project, frame: pd.DataFrame, name="data.csv"):
    path = project / "data" / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def frame(project) -> pd.DataFrame:
    return pd.read_csv(project / "data" / "lesions.csv")


def test_bad_data_is_named(project, frame):
    config = load_config(project)
    with pytest.raises(DataError, match="no such data file"):
        train(Workspace(config), data_path=project / "nope.csv", cv=0)
    empty = project / "data" / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="the file is empty"):
        train(Workspace(config), data_path=empty, cv=0)
    with pytest.raises(DataError, match="target column 'diagnosis' is missing"):
        train(Workspace(config), data_path=_write(project, frame.drop(columns="diagnosis")), cv=0)
    with pytest.raises(DataError, match="has one class only"):
        train(Workspace(config), data_path=_write(project, frame.assign(diagnosis="nevus")), cv=0)
    broken = frame.copy()
    broken["age"] = broken["age"].astype(object)
    broken.loc[5, "age"] = "forty"
    with pytest.raises(
        DataError,
        match=r"the loader skin_lesions.data:load failed: ValueError: column 'age' must be numeric: .*'forty'",
    ):
        train(Workspace(config), data_path=_write(project, broken), cv=0)
    late = frame.assign(visit_date="2025-01-01")
    with pytest.raises(DataError, match="leaves no training rows"):
        train(Workspace(config), data_path=_write(project, late), cv=0)
    assert Workspace(config).registry.versions() == []  # nothing half-registered


def test_random_split(project):
    path = project / "mlprod.yaml"
    path.write_text(
        path.read_text().replace(
            '{by: time, column: visit_date, cutoff: "2024-07-01"}',
            "{by: random, test_size: 0.3, seed: 1}",
        )
    )
    result = train(Workspace.load(project), kinds=("model",), cv=0)
    assert (
        result.split["by"] == "random"
        and result.split["test_rows"] == 900
        and result.split["stratified"]
    )


def test_a_dry_run_fits_and_validates_but_registers_nothing(project):
    workspace = Workspace.load(project)
    result = train(workspace, cv=3, register=False)
    assert result.versions == [] and workspace.registry.versions() == []
    assert set(result.unregistered) == {"baseline", "model"}
    validation = result.unregistered["model"]["validation"]
    assert validation["folds"] == 3 and "report" in validation
    assert sum(result.test_counts.values()) == result.split["test_rows"]
    assert result.unregistered["baseline"]["description"].startswith("if ")


def test_a_dry_run_cannot_activate(project):
    from mlprod_cli.errors import UsageError

    with pytest.raises(UsageError, match="--activate and --dry-run exclude each other"):
        train(Workspace.load(project), register=False, activate=True)


def test_validation_folds_follow_the_split(project):
    """By time: each fold trains on the rows before it; at random: stratified and shuffled."""
    timed = train(Workspace.load(project), cv=3, register=False).unregistered["model"]
    assert timed["validation"]["scheme"] == "time"
    train_rows = timed["split"]["train_rows"]
    # three blocks of a quarter each are scored; the first (and the remainder) never is
    assert timed["validation"]["rows"] == 3 * (train_rows // 4)
    path = project / "mlprod.yaml"
    text = path.read_text()
    start = text.index("  split: {by: time")
    end = text.index("\n", start)
    path.write_text(text[:start] + "  split: {by: random, test_size: 0.2, seed: 42}" + text[end:])
    shuffled = train(Workspace.load(project), cv=3, register=False).unregistered["model"]
    assert shuffled["validation"]["scheme"] == "stratified"
    assert shuffled["validation"]["rows"] == shuffled["split"]["train_rows"]


def test_the_baseline_rules_are_kept_in_words(project):
    result = train(Workspace.load(project), kinds=("baseline",), cv=0)
    description = result.versions[0].metadata["description"]
    assert description.startswith("if ") and description.endswith("else nevus")
