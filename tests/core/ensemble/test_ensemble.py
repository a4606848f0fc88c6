"""``mlprod ensemble``: a soft vote is the mean of its members; a stack is a version like any."""

from __future__ import annotations

import numpy as np

from mlprod_cli.core import dataset
from mlprod_cli.core.ensemble import build_ensemble
from mlprod_cli.core.workspace import Workspace


def _test_features(workspace):
    config = workspace.config
    train_data, test_data = dataset.load_training_data(config, None)
    parts = dataset.split(config, train_data, test_data)
    X, _ = dataset.features_and_target(config, parts.test, "test")
    return X


def test_a_soft_vote_is_the_mean_of_its_members_probabilities(two_models):
    workspace = Workspace.load(two_models)
    result = build_ensemble(workspace, ["v0002", "v0003"], method="vote", cv=0)
    (version,) = result.versions
    registry = workspace.registry
    X = _test_features(workspace)
    members = [registry.load(registry.get(v)) for v in ("v0002", "v0003")]
    ensemble = registry.load(version)
    assert list(ensemble.classes_) == list(members[0].classes_)
    expected = np.mean([m.predict_proba(X) for m in members], axis=0)
    assert np.abs(members[0].predict_proba(X) - members[1].predict_proba(X)).max() > 1e-3
    np.testing.assert_allclose(ensemble.predict_proba(X), expected, rtol=0, atol=1e-12)
    lineage = version.metadata["ensemble"]
    assert lineage["method"] == "vote"
    assert [m["version"] for m in lineage["members"]] == ["v0002", "v0003"]
    for member, entry in zip(("v0002", "v0003"), lineage["members"], strict=True):
        assert entry["artifact_sha256"] == registry.get(member).metadata["artifact_sha256"]
    assert version.kind == "model" and version.made_as == "ensemble"
    assert result.warnings == []


def test_a_stack_is_cross_validated_registered_and_gated(two_models):
    workspace = Workspace.load(two_models)
    result = build_ensemble(workspace, ["v0002", "v0003"], method="stack", cv=3)
    (version,) = result.versions
    meta = version.metadata
    assert meta["estimator"] == "sklearn.ensemble._stacking.StackingClassifier"
    assert meta["ensemble"]["final_estimator"].endswith("LogisticRegression")
    assert meta["validation"]["folds"] == 3 and meta["validation"]["report"]
    probabilities = workspace.registry.load(version).predict_proba(_test_features(workspace))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    from mlprod_cli.core.evaluate import evaluate_version

    gates = evaluate_version(workspace, version_id=version.id).result.gates
    assert gates and all(g.name for g in gates)
