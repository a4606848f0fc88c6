"""End to end: ``mlprod new`` in a subprocess, a real venv, a real install.

These need the package index or a warm uv/pip cache, and take seconds to a
minute each, so they are marked slow; ``.ci/run`` runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "classification"


def mlprod(*args: str, cwd: Path, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlprod_cli", *args],
        cwd=cwd,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        **kwargs,
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("e2e")
    done = mlprod("new", "skin-lesions", "--no-input", cwd=out)
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout and "cd skin-lesions" in done.stdout
    return out / "skin-lesions"


def test_project_is_ready(made):
    venv = made / ".venv"
    assert (venv / "bin" / "mlprod").is_file()
    # its own tests pass at once, in its own venv
    tests = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=made,
        capture_output=True,
        text=True,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout
    # the first commit holds everything, and the tree is clean after using it
    log = subprocess.run(["git", "log", "--oneline"], cwd=made, capture_output=True, text=True)
    assert len(log.stdout.splitlines()) == 1
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=made, capture_output=True, text=True
    )
    assert status.stdout == ""
    # bytecode for what the project imports is there (PYTHONDONTWRITEBYTECODE notwithstanding)
    site = next(venv.glob("lib/python*/site-packages"))
    assert list((site / "sklearn" / "linear_model" / "__pycache__").glob("*.pyc"))
    assert list((site / "pandas" / "__pycache__").glob("*.pyc"))


def test_outer_mlprod_hands_over_to_the_project_venv(made):
    env = {k: v for k, v in os.environ.items() if k != "MLPROD_NO_DELEGATE"}
    done = mlprod("check", "--format", "json", cwd=made / "src", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert Path(report["mlprod"]["prefix"]).resolve() == (made / ".venv").resolve()
    assert all(c["ok"] for c in report["checks"])


def test_check_notices_a_venv_drifting_from_the_lock(made, tmp_path):
    venv_python = made / ".venv" / "bin" / "python"
    site = next((made / ".venv").glob("lib/python*/site-packages"))
    info = next(site.glob("text_unidecode-*.dist-info"))
    moved = tmp_path / info.name
    shutil.move(info, moved)
    try:
        done = subprocess.run(
            [str(made / ".venv" / "bin" / "mlprod"), "check"],
            cwd=made,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1
        assert "text-unidecode==" in done.stdout and "is not installed in .venv" in done.stdout
    finally:
        shutil.move(moved, info)
    assert venv_python.exists()


def _copy_template(tmp_path: Path, edit) -> Path:
    copy = tmp_path / "template"
    shutil.copytree(TEMPLATE, copy)
    lock = copy / "{{cookiecutter.project_name}}" / "requirements.lock"
    lock.write_text(edit(lock.read_text()))
    return copy


def test_hash_mismatch_removes_the_half_made_project(tmp_path):
    template = _copy_template(
        tmp_path, lambda text: text.replace("{{ cookiecutter._mlprod_wheel_sha256 }}", "0" * 64)
    )
    out = tmp_path / "out"
    out.mkdir()
    done = mlprod("new", "demo", "--no-input", "--template", str(template), cwd=out)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [done.stderr.splitlines()[-1]]
    assert errors[0].startswith("error: installing requirements.lock with uv failed")
    assert "Hash mismatch for `mlprod==" in errors[0]
    assert list(out.iterdir()) == []


def test_no_network_and_no_cache_removes_the_half_made_project(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, UV_OFFLINE="1", UV_CACHE_DIR=str(tmp_path / "empty-cache"))
    done = mlprod("new", "demo", "--no-input", cwd=out, env=env)
    assert done.returncode == 2
    assert "error: installing requirements.lock with uv failed" in done.stderr
    assert list(out.iterdir()) == []


def test_pip_fallback_installs_the_same_lock(tmp_path):
    env = dict(os.environ, MLPROD_INSTALLER="pip")
    done = mlprod(
        "new", "demo", "--no-input", "--no-git", "--format", "json", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["installer"] == "pip"
    check = subprocess.run(
        [str(tmp_path / "demo" / ".venv" / "bin" / "mlprod"), "check"],
        cwd=tmp_path / "demo",
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def _start_slow_new(out: Path) -> subprocess.Popen:
    env = dict(os.environ, MLPROD_INSTALLER="pip")  # pip is slow enough to be caught mid-install
    return subprocess.Popen(
        [sys.executable, "-m", "mlprod_cli", "new", "demo", "--no-input"],
        cwd=out,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_ctrl_c_during_install_removes_the_project(tmp_path):
    process = _start_slow_new(tmp_path)
    _wait_for(tmp_path / "demo" / ".venv" / "bin" / "python", process)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "error: interrupted" in err
    assert list(tmp_path.iterdir()) == []


def test_sigkill_leaves_a_folder_a_rerun_explains(tmp_path):
    process = _start_slow_new(tmp_path)
    _wait_for(tmp_path / "demo" / ".venv" / "bin" / "python", process)
    process.kill()
    process.communicate(timeout=60)
    assert (tmp_path / "demo" / ".mlprod-incomplete").exists()
    done = mlprod("new", "demo", "--no-input", cwd=tmp_path)
    assert done.returncode == 2
    assert "left half-made by an 'mlprod new' that was killed" in done.stderr
    assert "rm -rf" in done.stderr
    assert (tmp_path / "demo" / "mlprod.yaml").exists()  # untouched


def test_second_project_reuses_the_bytecode_listing(made, tmp_path):
    done = mlprod("new", "again", "--no-input", "--no-git", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    project = tmp_path / "again"
    site = next((project / ".venv").glob("lib/python*/site-packages"))
    assert list((site / "sklearn" / "linear_model" / "__pycache__").glob("*.pyc"))
    # the first project (same lock) recorded what it imported; this one reused it
    timings = json.loads(done.stdout)["timings"]
    assert timings["bytecode"] < 2.0, timings


def test_train_activate_predict_rollback_in_the_generated_project(made, tmp_path):
    """The issue's flow, with the project's own mlprod in its own venv."""
    project_mlprod = str(made / ".venv" / "bin" / "mlprod")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([project_mlprod, *args], cwd=made, capture_output=True, text=True)

    done = run("train", "--activate", "--format", "json")
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)
    assert [v["kind"] for v in first["versions"]] == ["baseline", "model"]
    assert len(first["activated"]) == 2
    listing = json.loads(run("models", "list", "--format", "json").stdout)
    model = listing["active"]["model"]
    out = tmp_path / "predictions.csv"
    done = run("predict", "data/lesions.csv", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 3001
    done = run("train", "--model-only", "--activate", "--cv", "0")
    assert done.returncode == 0, done.stderr
    done = run("models", "rollback")
    assert done.returncode == 0 and f"{model} is the active model again" in done.stdout


def test_pre_commit_try_repo_runs_mlprod_hooks_in_the_project(made, tmp_path):
    """The real pre-commit tool takes mlprod's hooks from this repository.

    pre-commit installs mlprod into a hook environment of its own; that mlprod
    hands over to the project's ``.venv/bin/mlprod``, whose ML stack runs the
    evaluation. A failing gate must fail the hook.
    """
    repo = TEMPLATE.parents[1]
    project_mlprod = str(made / ".venv" / "bin" / "mlprod")
    done = subprocess.run([project_mlprod, "train", "--activate"], cwd=made, capture_output=True)
    assert done.returncode == 0, done.stderr
    env = {k: v for k, v in os.environ.items() if k != "MLPROD_NO_DELEGATE"}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    pre_commit = [sys.executable, "-m", "pre_commit", "try-repo", str(repo)]

    def hook(hook_id: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*pre_commit, hook_id, "--all-files", "--verbose"],
            cwd=made,
            env=env,
            capture_output=True,
            text=True,
        )

    done = hook("mlprod-check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mlprod check" in done.stdout and "Passed" in done.stdout
    assert "venv" in done.stdout  # check's own report, printed with --verbose

    done = hook("mlprod-evaluate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed" in done.stdout and "gate" in done.stdout.lower()

    # An impossible gate: the same hook now fails the commit.
    config = made / "mlprod.yaml"
    saved = config.read_text()
    try:
        config.write_text(
            saved.replace("gates:\n", "gates:\n    - {metric: auroc, min: 0.999}\n", 1)
        )
        done = hook("mlprod-evaluate")
        assert done.returncode == 1, done.stdout + done.stderr
        assert "Failed" in done.stdout
    finally:
        config.write_text(saved)


def test_the_readme_s_html_report_and_plot_work_in_the_project_venv(made, tmp_path):
    """The generated README advertises ``evaluate --format html`` and ``metrics history``
    (``--plot`` draws it): both need matplotlib, which the lock now carries."""
    project_mlprod = str(made / ".venv" / "bin" / "mlprod")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([project_mlprod, *args], cwd=made, capture_output=True, text=True)

    readme = (made / "README.md").read_text()
    assert "also json, junit, html" in readme and "metrics history --plot" in readme
    done = run("train", "--activate")
    assert done.returncode == 0, done.stderr
    report = tmp_path / "report.html"
    done = run("evaluate", "--format", "html", "--output", str(report))
    assert done.returncode in (0, 1), done.stderr  # 1: a gate failed, the report is still there
    assert report.read_text().lstrip().lower().startswith("<!doctype html")
    plot = tmp_path / "history.png"
    done = run("metrics", "history", "--plot", str(plot))
    assert done.returncode == 0, done.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
