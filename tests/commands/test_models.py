"""``mlprod models``: list, show, diff, activate (with its gates), rollback, through the real entry point."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from mlprod_cli.cli import main


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_lifecycle(here, capsys, tmp_path):
    assert main(["models", "list", "--format", "json"]) == 0
    listing = _json(capsys)
    assert [v["version"] for v in listing["versions"]] == ["v0001", "v0002"]
    assert listing["active"] == {"model": None, "baseline": None}

    assert main(["models", "activate", "v0001"]) == 0
    assert "v0001 is the active baseline" in capsys.readouterr().out
    assert main(["models", "activate", "v0002", "--format", "json"]) == 0
    activation = _json(capsys)
    assert activation["previous"] is None and all(g["passed"] for g in activation["gates"])
    assert {g["kind"] for g in activation["gates"]} == {
        "threshold",
        "beat_baseline",
        "max_slice_gap",
    }

    out = tmp_path / "preds.parquet"
    assert main(["predict", "data/lesions.csv", "--output", str(out)]) == 0
    assert "wrote 3,000 predictions of v0002" in capsys.readouterr().out
    assert len(pd.read_parquet(out)) == 3000

    assert main(["train", "--model-only", "--cv", "0", "--activate", "--format", "json"]) == 0
    trained = _json(capsys)
    assert trained["activated"] == ["v0003"]
    assert main(["models", "rollback"]) == 0
    assert "v0002 is the active model again (was v0003)" in capsys.readouterr().out
    # rollback reports like the other subcommands: JSON, to stdout or --output
    assert main(["models", "activate", "v0003", "--force"]) == 0
    capsys.readouterr()
    assert main(["models", "rollback", "--format", "json"]) == 0
    assert _json(capsys) == {
        "kind": "model",
        "version": "v0002",
        "previous": "v0003",
        "rules": None,
    }
    assert main(["models", "activate", "v0003", "--force"]) == 0
    capsys.readouterr()
    report = tmp_path / "rollback.json"
    assert main(["models", "rollback", "--format", "json", "--output", str(report)]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(report.read_text()) == {
        "kind": "model",
        "version": "v0002",
        "previous": "v0003",
        "rules": None,
    }
    assert main(["models", "list"]) == 0
    table = capsys.readouterr().out
    assert "*   v0002" in table and "*   v0001" in table

    assert main(["models", "diff", "v0002", "v0003"]) == 0
    assert "differ only in id, time and artifact" in capsys.readouterr().out  # same code, same data
    assert main(["models", "show", "v0003", "--format", "json"]) == 0
    assert _json(capsys)["kind"] == "model"


def test_activate_refuses_failing_gates_unless_forced(here, capsys):
    path = here / "mlprod.yaml"
    path.write_text(
        re.sub(r"\{metric: auroc, min: [0-9.]+\}", "{metric: auroc, min: 0.99}", path.read_text())
    )
    assert main(["models", "activate", "v0001"]) == 0
    capsys.readouterr()
    assert main(["models", "activate", "v0002"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: v0002 fails 1 gate, not activated: auroc >= 0.99:")
    assert main(["models", "list", "--format", "json"]) == 0
    assert _json(capsys)["active"]["model"] is None
    assert main(["models", "activate", "v0002", "--force"]) == 0
    assert "activated although 1 gate failed" in capsys.readouterr().err


def test_tampered_artifact_cannot_be_activated(here, capsys, tree_snapshot):
    with (here / "models" / "v0002" / "model.skops").open("ab") as handle:
        handle.write(b"x")
    before = tree_snapshot(here)
    assert main(["models", "activate", "v0002"]) == 2
    assert "does not match its metadata" in capsys.readouterr().err
    assert tree_snapshot(here) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "show", "v0042"], "model version 'v0042' not found"),
        (["models", "activate", "v0099"], "model version 'v0099' not found"),
        (["models", "rollback"], "no active model to roll back from"),
    ],
)
def test_bad_input_is_one_line_exit_2(refuses, args, message):
    refuses(args, message)


def test_outside_a_project(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["models", "list"]) == 2
    assert "no mlprod.yaml" in capsys.readouterr().err


# --------------------------------------------------------------------------- a deleted active version (issue 11, item 6)


@pytest.fixture
def active_here(active, monkeypatch):
    """A private project with v0001 (baseline) and v0002 (model) active, as the working folder."""
    monkeypatch.chdir(active)
    return active


def _active_json(root):
    return json.loads((root / "models" / "active.json").read_text())


def test_activate_force_replaces_an_active_model_whose_folder_is_gone(active_here, capsys):
    import shutil

    models = active_here / "models"
    shutil.copytree(models / "v0002", models / "v0003")  # a second model, the same estimator
    shutil.rmtree(models / "v0002")

    # Without --force: the regression gate against v0002 cannot be checked, so it fails.
    assert main(["models", "activate", "v0003"]) == 1
    err = capsys.readouterr().err
    assert "the active model v0002 is not in models/ any more" in err
    assert _active_json(active_here)["model"] == "v0002"

    assert main(["models", "activate", "v0003", "--force", "--format", "json"]) == 0
    captured = capsys.readouterr()
    activation = json.loads(captured.out)
    assert activation["version"] == "v0003" and activation["previous"] == "v0002"
    assert "the active model v0002 is not in models/ any more" in captured.err
    assert _active_json(active_here)["model"] == "v0003"
    assert _active_json(active_here)["history"]["model"] == ["v0002", "v0003"]


@pytest.mark.slow
def test_train_activate_force_replaces_an_active_model_whose_folder_is_gone(active_here, capsys):
    import shutil

    shutil.rmtree(active_here / "models" / "v0002")
    assert main(["train", "--cv", "0", "--activate", "--force", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["activated"] == ["v0003", "v0004"]
    state = _active_json(active_here)
    assert (state["baseline"], state["model"]) == ("v0003", "v0004")


@pytest.mark.slow
def test_train_activate_that_exits_2_changes_nothing(active_here, capsys, tree_snapshot):
    """A refusal met only when activating (the gates' slice column is not in the data)."""
    path = active_here / "mlprod.yaml"
    text = path.read_text()
    assert "  slices: [sex]" in text
    path.write_text(text.replace("  slices: [sex]", "  slices: [nope]"))
    before = tree_snapshot(active_here)
    listing = sorted(p.name for p in (active_here / "models").iterdir())

    assert main(["train", "--cv", "0", "--activate", "--force"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: slice column 'nope' is not in the data") and err.count("\n") == 1
    assert sorted(p.name for p in (active_here / "models").iterdir()) == listing
    assert tree_snapshot(active_here) == before


@pytest.mark.slow
def test_train_activate_with_failing_gates_registers_and_activates_nothing(active_here, capsys):
    path = active_here / "mlprod.yaml"
    path.write_text(
        re.sub(r"\{metric: auroc, min: [0-9.]+\}", "{metric: auroc, min: 0.999}", path.read_text())
    )
    assert main(["train", "--cv", "0", "--activate"]) == 1
    err = capsys.readouterr().err
    assert "v0004 fails 1 gate, not activated" in err
    assert "v0003 and v0004 registered, none activated" in err
    state = _active_json(active_here)
    assert (state["baseline"], state["model"]) == ("v0001", "v0002")
    assert (active_here / "models" / "v0004" / "model.skops").is_file()


def test_list_skips_a_broken_version_with_one_warning_line(here, capsys):
    """40 good versions and one broken: the list, and one line naming the broken one (item 12)."""
    (here / "models" / "v0002" / "metadata.json").write_text("[" * 100_000 + "]" * 100_000)
    (here / "models" / "v0003").write_text("not a folder")
    assert main(["models", "list", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert [v["version"] for v in json.loads(captured.out)["versions"]] == ["v0001"]
    assert captured.err.splitlines() == [
        "mlprod: warning: not listed: v0002/metadata.json is unreadable: nested more than 64 levels deep",
        "mlprod: warning: not listed: v0003 is a file, not a version folder; the registry holds no others",
    ]
