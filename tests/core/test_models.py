"""``core/models.py``: listing, showing, activating behind the gates, rolling back, diffing."""

from __future__ import annotations

import re

import pytest

from mlprod_cli.core import models
from mlprod_cli.core.registry import RegistryError
from mlprod_cli.core.train import train
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import CheckFailed


@pytest.fixture
def workspace(trained) -> Workspace:
    """The trained project: baseline v0001, model v0002, none active."""
    return Workspace.load(trained)


def _raise_the_auroc_gate(root):
    """The workspace with the baseline active and an AUROC gate the model cannot meet."""
    path = root / "mlprod.yaml"
    path.write_text(
        re.sub(r"\{metric: auroc, min: [0-9.]+\}", "{metric: auroc, min: 0.99}", path.read_text())
    )
    workspace = Workspace.load(root)
    models.activate(workspace, "v0001")
    return workspace


def test_list_versions_with_the_active_ones_and_the_broken_folders(workspace):
    listing = models.list_versions(workspace)
    assert [(v.id, v.kind) for v in listing.versions] == [("v0001", "baseline"), ("v0002", "model")]
    assert listing.active == {"model": None, "baseline": None} and listing.broken == {}
    (workspace.root / "models" / "v0007").mkdir()  # a half-written version
    listing = models.list_versions(workspace, "model")
    assert [v.id for v in listing.versions] == ["v0002"]
    assert list(listing.broken) == ["v0007"]


def test_show_reads_one_version(workspace):
    version = models.show(workspace, "v0002")
    assert version.kind == "model" and version.metadata["classes"] == [
        "melanoma",
        "nevus",
        "seborrheic_keratosis",
    ]
    with pytest.raises(RegistryError, match="'v0009' not found"):
        models.show(workspace, "v0009")


def test_a_baseline_is_activated_without_gates(workspace):
    activation = models.activate(workspace, "v0001")
    assert (activation.version, activation.kind, activation.previous) == ("v0001", "baseline", None)
    assert activation.gates == [] and not activation.forced and activation.warnings == []
    assert workspace.registry.active_id("baseline") == "v0001"


def test_without_an_active_baseline_the_newest_is_beaten_as_evaluate_does(workspace):
    from mlprod_cli.core.evaluate import evaluate_version

    evaluated = evaluate_version(workspace, version_id="v0002").result.gates
    activation = models.activate(workspace, "v0002")  # right after train: nothing active
    assert activation.gates == evaluated
    [beat] = [g for g in activation.gates if g.kind == "beat_baseline"]
    assert beat.passed and beat.name == "recall@melanoma beats baseline v0001"


def test_without_any_baseline_the_baseline_gate_fails(workspace):
    import shutil

    shutil.rmtree(workspace.root / "models" / "v0001")
    with pytest.raises(CheckFailed, match="cannot be checked: no baseline to compare with"):
        models.activate(workspace, "v0002")


def test_a_model_is_activated_when_every_gate_passes(workspace):
    models.activate(workspace, "v0001")
    activation = models.activate(workspace, "v0002")
    assert activation.previous is None and activation.gates
    assert all(g.passed for g in activation.gates) and not activation.forced
    assert workspace.registry.active_id("model") == "v0002"


def test_a_model_failing_a_gate_is_refused_unless_forced(trained):
    workspace = _raise_the_auroc_gate(trained)
    with pytest.raises(CheckFailed) as info:
        models.activate(workspace, "v0002")
    assert info.value.exit_code == 1
    assert info.value.message.startswith("v0002 fails 1 gate, not activated: auroc >= 0.99: ")
    assert info.value.hint == "'mlprod models activate v0002 --force' overrides the gates"
    assert workspace.registry.active_id("model") is None
    forced = models.activate(workspace, "v0002", force=True)
    assert forced.forced and forced.warnings == ["v0002 activated although 1 gate failed (--force)"]
    assert [g.passed for g in forced.gates].count(False) == 1
    assert workspace.registry.active_id("model") == "v0002"


def test_force_on_a_model_that_passes_is_not_forced(workspace):
    models.activate(workspace, "v0001")
    activation = models.activate(workspace, "v0002", force=True)
    assert not activation.forced and activation.warnings == []


def test_a_tampered_artifact_is_refused_before_the_gates(workspace, tree_snapshot):
    with (workspace.root / "models" / "v0001" / "model.skops").open("ab") as handle:
        handle.write(b"x")
    before = tree_snapshot(workspace.root)
    with pytest.raises(RegistryError, match="does not match its metadata"):
        models.activate(workspace, "v0001")
    assert tree_snapshot(workspace.root) == before


def test_rollback_goes_back_to_the_model_active_before(active):
    workspace = Workspace.load(active)
    with pytest.raises(
        RegistryError, match=r"no earlier active model to roll back to \(v0002 is the first\)"
    ):
        models.rollback(workspace)
    newer = train(workspace, kinds=("model",), cv=0).versions[0]
    assert models.activate(workspace, newer.id).previous == "v0002"
    back = models.rollback(workspace)
    assert (back.previous, back.version, back.rules) == (newer.id, "v0002", None)
    assert workspace.registry.active_id("model") == "v0002"
    with pytest.raises(RegistryError, match="no earlier active baseline"):
        models.rollback(workspace, "baseline")


def test_diff_lists_what_differs_but_ids_and_times(workspace):
    changes = dict((key, (a, b)) for key, a, b in models.diff(workspace, "v0001", "v0002"))
    assert changes["kind"] == ("baseline", "model")
    assert not {"version", "created_at", "artifact_sha256", "fit_seconds"} & set(changes)
    assert models.diff(workspace, "v0002", "v0002") == []
