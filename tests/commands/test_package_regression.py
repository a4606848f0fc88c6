"""``mlprod package`` on a regression project made by ``mlprod new --template regression``."""

from __future__ import annotations

import json
import sys

import pytest

from mlprod_cli.cli import main
from mlprod_cli.core.scaffold import NewRequest, create_project
from mlprod_cli.core.train import train
from mlprod_cli.core.workspace import Workspace


@pytest.fixture
def active_regression(tmp_path, monkeypatch):
    """The regression sample, trained, v0001 (baseline) and v0002 (model) active, as the cwd."""
    made = create_project(
        NewRequest(
            "diab",
            output_dir=tmp_path,
            template="regression",
            no_input=True,
            venv=False,
            git=False,
            measure=False,
        )
    )
    root = made.project_dir
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root / "src"))
    train(Workspace.load(root), cv=0)
    registry = Workspace.load(root).registry
    registry.activate(registry.get("v0001"))
    registry.activate(registry.get("v0002"))
    yield root
    for name in [m for m in sys.modules if m == "diab" or m.startswith("diab.")]:
        del sys.modules[name]


def test_the_context_holds_the_active_regression_and_nothing_of_classification(
    active_regression, capsys, monkeypatch
):
    from mlprod_cli.core.package import _context as package

    monkeypatch.setattr(package, "installed_requirements", lambda root: {})
    code = main(["package", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["model_version"] == "v0002" and report["tag"] == "diab:v0002"
    context = active_regression / "dist" / "docker"
    names = {p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()}
    assert {
        "models/v0002/model.skops",
        "mlprod.yaml",
        "wheels/diab-0.1.0-py3-none-any.whl",
    } <= names
    assert "rules.yaml" not in names and not any("lesions" in n for n in names)
    metadata = json.loads((context / "models/v0002/metadata.json").read_text())
    assert metadata["task"] == "regression"
    assert "task: regression" in (context / "mlprod.yaml").read_text()
    # The project's wheel holds the regression model's code, which the artifact refers to.
    import zipfile

    with zipfile.ZipFile(context / "wheels/diab-0.1.0-py3-none-any.whl") as wheel:
        model = wheel.read("diab/model.py").decode()
    assert "class ResidualQuantiles" in model
