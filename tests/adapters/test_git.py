"""``adapters/git.py``: the first commit of a new project, and the commit a version was trained at."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlprod_cli.adapters import git

pytestmark = pytest.mark.skipif(not git.available(), reason="git is not installed")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A git with no global or system configuration: no identity unless a test gives one."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above the test's
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for name in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{name}_NAME", raising=False)
        monkeypatch.delenv(f"GIT_{name}_EMAIL", raising=False)
    return home


def git_out(path: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip


@pytest.fixture
def tree(tmp_path, home) -> Path:
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("A = 1\n")
    (root / "README.md").write_text("# proj\n")
    (root / "wheels").mkdir()
    (root / "wheels" / "big.whl").write_bytes(b"zip")
    return root


def test_first_commit_of_everything_but_the_excluded_on_main(tree, home):
    (home / ".gitconfig").write_text("[user]\n\tname = Ada\n\temail = ada@example.org\n")
    assert git.init_and_commit(tree, "Initial commit", exclude=("wheels",)) is None
    assert git_out(tree, "branch", "--show-current") == "main"
    assert git_out(tree, "log", "--format=%an <%ae>|%s") == "Ada <ada@example.org>|Initial commit"
    assert git_out(tree, "ls-files").splitlines() == ["README.md", "src/a.py"]
    assert git_out(tree, "status", "--porcelain") == "?? wheels/"


def test_without_an_identity_the_commit_is_mlprods_and_says_so(tree):
    warning = git.init_and_commit(tree, "Initial commit")
    assert warning == "git has no user.name/user.email; the first commit is authored by 'mlprod'"
    assert git_out(tree, "log", "--format=%an <%ae>") == "mlprod <mlprod@localhost>"
    assert "wheels/big.whl" in git_out(tree, "ls-files").splitlines()
    # The fallback identity is the commit's only: the repository is not configured with it.
    assert (
        subprocess.run(["git", "config", "user.email"], cwd=tree, capture_output=True).returncode
        == 1
    )


def test_a_commit_hook_is_not_run(tree):
    hooks = tree / ".hooks"
    hooks.mkdir()
    (hooks / "pre-commit").write_text("#!/bin/sh\nexit 1\n")
    (hooks / "pre-commit").chmod(0o755)
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    subprocess.run(["git", "config", "core.hooksPath", str(hooks)], cwd=tree, check=True)
    git.init_and_commit(tree, "Initial commit")  # init again: keeps the config
    assert git_out(tree, "log", "--format=%s") == "Initial commit"


def test_nothing_to_commit_is_a_warning_not_an_error(tmp_path, home):
    empty = tmp_path / "empty"
    empty.mkdir()
    warning = git.init_and_commit(empty, "Initial commit")
    assert warning.startswith("git commit failed: ")
    assert "\n" not in warning
    assert (empty / ".git").is_dir()


def test_head_commit(tree, tmp_path):
    assert (
        git.head_commit(
            tmp_path / "elsewhere" if (tmp_path / "elsewhere").mkdir() is None else tmp_path
        )
        is None
    )
    git.init_and_commit(tree, "Initial commit")
    assert git.head_commit(tree) == git_out(tree, "rev-parse", "HEAD")
    assert len(git.head_commit(tree / "src")) == 40  # from a folder inside too


def test_head_commit_without_git(tree, monkeypatch):
    git.init_and_commit(tree, "Initial commit")
    monkeypatch.setattr(git.shutil, "which", lambda name: None)
    assert not git.available()
    assert git.head_commit(tree) is None
