"""``mlprod new --template DIR`` with templates that do what public templates do.

The templates are in ``tests/core/scaffold/templates.py`` (written for these
tests): hooks that print, a hook that makes a virtualenv, hooks that fail with
a message, a hook with an undefined variable, a template without a lock and a
package template. Each that renders is compared file for file with plain
cookiecutter given the same answers, hooks included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.scaffold.templates import TEMPLATES as TEMPLATE_TEXTS
from tests.core.scaffold.templates import write_template

TEMPLATES = Path("/nonexistent")  # where the templates are written, per module (below)


@pytest.fixture(scope="module", autouse=True)
def templates(tmp_path_factory) -> Path:
    """The test templates of tests/core/scaffold/templates.py, written out."""
    global TEMPLATES
    TEMPLATES = tmp_path_factory.mktemp("templates")
    for name in TEMPLATE_TEXTS:
        write_template(name, TEMPLATES)
    return TEMPLATES


# What mlprod adds to a rendered template, left out of the comparison with
# cookiecutter: its virtualenv, its git repository, its provenance file.
MLPROD_ADDS = {".venv", ".git", ".mlprod-template.json"}
NAME = "demo-proj"


def mlprod_new(cwd: Path, template: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLPROD_FORMAT"}
    return subprocess.run(
        [sys.executable, "-m", "mlprod_cli", "new", NAME, "--template", str(TEMPLATES / template),
         "--no-input", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip


def plain_cookiecutter(out: Path, template: str) -> Path:
    """The same template rendered by cookiecutter itself (its CLI, as a user runs it)."""
    out.mkdir(parents=True, exist_ok=True)
    config = out.parent / f"{out.name}-cookiecutter.yaml"
    config.write_text(f"replay_dir: {out.parent / 'replay'}\n")
    cli = Path(sys.executable).with_name("cookiecutter")
    done = subprocess.run(
        [str(cli), str(TEMPLATES / template), "--no-input", "--config-file", str(config),
         "-o", str(out), f"project_name={NAME}"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out / NAME


def tree(root: Path, *, names_only: tuple[str, ...] = ()) -> dict[str, object]:
    """Every file under ``root`` (but mlprod's additions) with its contents.

    Under the folders in ``names_only`` (a virtualenv a hook made) only the
    names are compared: a venv's files record the absolute path it was made at.
    """
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in MLPROD_ADDS:
            continue
        key = rel.as_posix()
        if rel.parts[0] in names_only:
            out[key] = "link" if path.is_symlink() else ("dir" if path.is_dir() else "file")
        elif path.is_symlink():
            out[key] = f"-> {os.readlink(path)}"
        elif path.is_file():
            out[key] = path.read_bytes()
        else:
            out[key] = "dir"
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory, templates):
    """Each template made once per module: ``(process, project folder, cookiecutter's folder)``."""
    cache: dict[str, tuple[subprocess.CompletedProcess, Path, Path]] = {}

    def make(template: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
        if template not in cache:
            base = tmp_path_factory.mktemp(template)
            (base / "mlprod").mkdir()
            process = mlprod_new(base / "mlprod", template, "--format", "json")
            assert process.returncode == 0, process.stderr
            cache[template] = (
                process,
                base / "mlprod" / NAME,
                plain_cookiecutter(base / "cc", template),
            )
        return cache[template]

    return make


def test_hook_output_goes_to_stderr_and_json_stays_json(made):
    process, project, _ = made("hooks_print")
    result = json.loads(process.stdout)  # nothing but the result on stdout
    assert result["project_dir"] == str(project)
    for line in ("pre-gen: checking demo-proj", "pre-gen: a note on stderr",
                 "post-gen: wrote HOOKED.txt"):  # fmt: skip
        assert line in process.stderr.splitlines(), process.stderr
    assert (project / "HOOKED.txt").read_text() == f"written by the post-gen hook in {NAME}\n"


@pytest.mark.parametrize("template", ["hooks_print", "no_lock"])
def test_same_files_as_plain_cookiecutter(made, template):
    _, project, theirs = made(template)
    assert tree(project) == tree(theirs)
    assert (project / ".venv").is_dir() and (project / ".mlprod-template.json").is_file()


@pytest.mark.slow
def test_a_virtualenv_made_by_a_hook_works_after_new(made):
    _, project, theirs = made("hook_venv")
    assert tree(project, names_only=("env",)) == tree(theirs, names_only=("env",))
    pip = subprocess.run([str(project / "env" / "bin" / "pip"), "--version"], capture_output=True)
    assert pip.returncode == 0, pip.stderr
    cfg = (project / "env" / "pyvenv.cfg").read_text()
    assert str(project / "env") in cfg  # made where the project lives, not in a staging folder


@pytest.mark.slow
def test_a_package_template_is_installed_editable(made):
    process, project, theirs = made("package")
    assert tree(project) == tree(theirs)
    result = json.loads(process.stdout)
    assert result["installed"] == ["the project (editable)"]
    assert any("no requirements.lock" in w for w in result["warnings"])
    where = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-c",
         "import demo_proj; print(demo_proj.__file__, demo_proj.VERSION)"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    assert where.stdout.split() == [str(project / "src" / "demo_proj" / "__init__.py"), "0.1.0"]


def test_a_template_without_a_lock_says_nothing_was_installed(tmp_path):
    process = mlprod_new(tmp_path, "no_lock", "--no-git")
    assert process.returncode == 0, process.stderr
    assert "requirements.lock" not in process.stdout
    assert "nothing installed (no lock, not a package)" in process.stdout
    assert "no requirements.lock and is not a Python package" in process.stderr
    (tmp_path / "dry").mkdir()
    dry = mlprod_new(tmp_path / "dry", "no_lock", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "installed from requirements.lock" not in dry.stdout
    assert "nothing to install" in dry.stdout


def test_dry_run_runs_no_hook(tmp_path):
    process = mlprod_new(tmp_path, "hooks_print", "--dry-run")
    assert process.returncode == 0, process.stderr
    assert "pre-gen" not in process.stderr and "post-gen" not in process.stderr
    assert "hooks were not run" in process.stdout
    assert "HOOKED.txt" not in process.stdout  # what only the hook would write
    assert list(tmp_path.iterdir()) == []
    failing = mlprod_new(tmp_path, "hook_exit", "--dry-run")  # would fail if its hook ran
    assert failing.returncode == 0, failing.stderr


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("hook_exit", "hook post_gen_project failed: the project name demo-proj is reserved"),
        ("hook_print_fail", "hook pre_gen_project failed: "
         "no C compiler found; install gcc and try again"),
        ("hook_undefined", "hook post_gen_project failed: it cannot be rendered"),
    ],
)  # fmt: skip
def test_a_failing_hook_is_one_error_line_and_leaves_nothing(tmp_path, template, message):
    process = mlprod_new(tmp_path, template, "--no-venv")
    assert process.returncode == 2, process.stderr
    errors = [line for line in process.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], process.stderr
    assert errors[0].startswith(f"error: {TEMPLATES / template} hook "), errors
    assert "Traceback" not in process.stderr
    assert process.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no project, no staging folder


def test_an_existing_empty_folder_stays_after_a_failing_hook(tmp_path):
    (tmp_path / NAME).mkdir()
    process = mlprod_new(tmp_path, "hook_exit", "--no-venv")
    assert process.returncode == 2, process.stderr
    assert [p.name for p in tmp_path.iterdir()] == [NAME]
    assert list((tmp_path / NAME).iterdir()) == []
