"""mlprod_cli.render.new: what was made, or would be, and what to run next."""

from __future__ import annotations

import json

from mlprod_cli.render.new import render
from tests.render.results import new_result


def test_created_with_an_installed_venv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = render(new_result(tmp_path)).splitlines()
    assert lines[0] == f"created {tmp_path / 'skin-lesions'} (3 files)"
    assert lines[1:3] == [
        "  .venv: Python 3.12.0, installed with uv",
        "  git: first commit 0123456789ab",
    ]
    assert lines[3:5] == ["next:", "  cd skin-lesions"]  # relative to where the user is
    assert lines[5].startswith("  mlprod check ")


def test_created_without_installing_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path / "..")
    text = render(new_result(tmp_path, installed=False))
    assert f"  cd {tmp_path.name}/skin-lesions" in text
    assert text.splitlines()[-1].startswith("  .venv/bin/python -m pip install --require-hashes")
    assert "installed with" not in text


def test_dry_run_lists_the_files(tmp_path):
    assert render(new_result(tmp_path, dry_run=True)).splitlines() == [
        f"would create {tmp_path / 'skin-lesions'} from template classification:",
        "  mlprod.yaml",
        "  pyproject.toml",
        "  src/skin_lesions/model.py",
        "  .venv/ (installed from requirements.lock)",
    ]


def test_json_rounds_the_timings(tmp_path):
    data = json.loads(render(new_result(tmp_path), "json"))
    assert data["timings"] == {"render": 0.123, "venv": 1.5}
    assert data["project_dir"] == str(tmp_path / "skin-lesions") and data["dry_run"] is False


def test_without_a_lock_next_steps_and_dry_run_never_speak_of_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain = new_result(tmp_path, installed=False)
    plain.lock, plain.files = None, ["README.md"]
    text = render(plain)
    assert "requirements.lock" not in text
    assert "  .venv: Python 3.12.0, nothing installed (no lock, not a package)" in text
    package = new_result(tmp_path)
    package.lock, package.package, package.installed = None, True, ["the project (editable)"]
    text = render(package)
    assert "requirements.lock" not in text and "mlprod check" not in text
    assert "the project installed editable with uv (no lock)" in text
    dry = new_result(tmp_path, dry_run=True)
    dry.lock, dry.package, dry.hooks = None, True, True
    lines = render(dry).splitlines()
    assert lines[-2:] == [
        "  .venv/ (no requirements.lock: the project itself, pip install -e .)",
        "the template's hooks were not run (a dry run runs none)",
    ]
