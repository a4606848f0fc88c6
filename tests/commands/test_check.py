"""``mlprod check`` through the real entry point: exit codes and output."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from mlprod_cli.adapters.lockfile import applies, marker_environment, read_lock
from mlprod_cli.cli import main


def test_check_outside_a_project(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no mlprod.yaml in ") and err.count("\n") == 1


def test_check_without_venv_fails_with_exit_1(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "ok   config" in out and "ok   lock" in out and "ok   pyproject" in out
    assert "FAIL venv      .venv is missing" in out


def test_check_no_venv_json(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    assert main(["check", "--no-venv", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == ["config", "classes", "lock", "pyproject"]
    assert [c["status"] for c in report["checks"]] == ["ok"] * 4


def test_check_malformed_config_is_exit_2_naming_the_line(
    project, monkeypatch, capsys, tree_snapshot
):
    path = project / "mlprod.yaml"
    path.write_text(path.read_text().replace("cv: 5", "cv: five"))
    before = tree_snapshot(project)
    monkeypatch.chdir(project / "src")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: mlprod.yaml:")
        and "tune.cv: expected a whole number, got 'five'" in err
    )
    assert tree_snapshot(project) == before


def test_check_lock_disagreeing_with_pyproject(project, monkeypatch, capsys):
    path = project / "pyproject.toml"
    path.write_text(path.read_text().replace('"pandas>=2.1"', '"pandas>=99"'))
    monkeypatch.chdir(project)
    assert main(["check", "--no-venv"]) == 1
    assert "pyproject.toml needs pandas>=99 but requirements.lock pins" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "data", "expect"),
    [
        (
            "requirements.lock",
            b"# caf\xe9\n",
            "requirements.lock: not UTF-8 text (byte 0xe9 on line 1)",
        ),
        (
            "pyproject.toml",
            b'[project]\nname = "caf\xe9"\n',
            "pyproject.toml: not UTF-8 text (byte 0xe9 on line 2)",
        ),
        (
            "pyproject.toml",
            b'[project]\nname = "x"\ndependencies = 5\n',
            "pyproject.toml:3: project.dependencies: expected a list",
        ),
        ("pyproject.toml", b'project = "x"\n', "pyproject.toml:1: project: expected a table"),
        ("requirements.lock", None, "requirements.lock: cannot read (a FIFO, not a regular file)"),
        ("pyproject.toml", None, "pyproject.toml: cannot read (a FIFO, not a regular file)"),
    ],
    ids=[
        "lock-latin-1",
        "pyproject-latin-1",
        "dependencies-5",
        "project-a-string",
        "lock-fifo",
        "pyproject-fifo",
    ],
)
def test_check_on_a_lock_or_pyproject_it_cannot_read_is_exit_2_naming_the_file(
    project, monkeypatch, capsys, tree_snapshot, name, data, expect
):
    """Issue 11, item 15: these were exit 70 (or, for a FIFO, "missing" / a hang)."""
    import os

    path = project / name
    path.unlink()
    if data is None:
        os.mkfifo(path)
    else:
        path.write_bytes(data)
    monkeypatch.chdir(project)
    capsys.readouterr()
    assert main(["check", "--no-venv"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: {expect}") and captured.err.count("\n") == 1, (
        captured.err
    )


def test_check_unhashed_lock_is_exit_2(project, monkeypatch, capsys):
    path = project / "requirements.lock"
    path.write_text(path.read_text() + "left-pad==1.0\n")
    monkeypatch.chdir(project)
    assert main(["check", "--no-venv"]) == 2
    assert "left-pad has no --hash" in capsys.readouterr().err


def test_check_output_file(project, monkeypatch, tmp_path):
    monkeypatch.chdir(project)
    target = tmp_path / "report.json"
    assert main(["check", "--no-venv", "--format", "json", "--output", str(target)]) == 0
    assert json.loads(target.read_text())["ok"] is True


def _fake_venv(project, extra: dict[str, str]) -> None:
    """A .venv holding exactly the locked versions, plus ``extra`` (name → version)."""
    site = (
        project
        / ".venv"
        / "lib"
        / f"python{sys.version_info[0]}.{sys.version_info[1]}"
        / "site-packages"
    )
    site.mkdir(parents=True)
    version = ".".join(map(str, sys.version_info[:3]))
    (project / ".venv" / "pyvenv.cfg").write_text(f"version_info = {version}\n")
    env = marker_environment(version)
    pins = {
        pin.name: pin.version
        for pin in read_lock(project / "requirements.lock")
        if applies(pin.marker, env)
    }
    for name, number in {**pins, **extra}.items():
        (site / f"{name.replace('-', '_')}-{number}.dist-info").mkdir()


def test_check_warns_of_packages_the_lock_does_not_pin(project, monkeypatch, capsys):
    _fake_venv(
        project,
        {"xgboost": "2.1.0", "Seaborn": "0.13.2", "pip": "24.0", "setuptools": "70.0.0",
         "wheel": "0.43.0", "skin-lesions": "0.1.0"},
    )  # fmt: skip
    monkeypatch.chdir(project)
    assert main(["check"]) == 0  # a warning, not a failure
    out = capsys.readouterr().out.splitlines()
    assert "ok   venv      .venv matches requirements.lock" in out
    at = out.index(
        "warn unlocked  .venv has 2 packages requirements.lock does not pin: "
        "seaborn 0.13.2, xgboost 2.1.0"
    )
    assert out[at + 1].strip() == "xgboost 2.1.0 is not in requirements.lock"
    assert main(["check", "--format", "json"]) == 0
    [item] = [c for c in json.loads(capsys.readouterr().out)["checks"] if c["name"] == "unlocked"]
    assert (item["ok"], item["status"]) == (True, "warn")
    assert item["problems"] == [
        "seaborn 0.13.2 is not in requirements.lock",
        "xgboost 2.1.0 is not in requirements.lock",
    ]


def test_check_says_nothing_of_a_venv_holding_only_the_lock(project, monkeypatch, capsys):
    _fake_venv(project, {"pip": "24.0"})
    monkeypatch.chdir(project)
    assert main(["check"]) == 0
    assert "unlocked" not in capsys.readouterr().out


@pytest.mark.parametrize("loader", [True, False], ids=["registry-classes", "csv-classes"])
def test_check_fails_a_class_the_data_does_not_have(trained, monkeypatch, capsys, loader):
    path = trained / "mlprod.yaml"
    text = path.read_text()
    if not loader:  # nothing registered, no loader: the CSV's target column is read
        text = "\n".join(line for line in text.splitlines() if "loader:" not in line) + "\n"
        shutil.rmtree(trained / "models")
    path.write_text(text)
    monkeypatch.chdir(trained)
    assert main(["check", "--no-venv"]) == 0
    assert "ok   classes   melanoma is in the data (as metrics names them)" in (
        capsys.readouterr().out
    )
    path.write_text(text.replace("recall@melanoma", "recall@melanomma", 1))
    assert main(["check", "--no-venv"]) == 1
    out = capsys.readouterr().out
    line = 1 + text.splitlines().index("  objective: recall@melanoma")
    assert (
        f"FAIL classes   mlprod.yaml:{line}: metrics.objective: class 'melanomma' is not in the data "
        "(classes: melanoma, nevus, seborrheic_keratosis)"
    ) in out.splitlines()
