"""``mlprod check`` through the real entry point: exit codes and output."""

from __future__ import annotations

import json

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
    assert [c["name"] for c in report["checks"]] == ["config", "lock", "pyproject"]


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
