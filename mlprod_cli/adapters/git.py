"""git, as ``new`` needs it: init, add everything, first commit."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "mlprod",
    "GIT_AUTHOR_EMAIL": "mlprod@localhost",
    "GIT_COMMITTER_NAME": "mlprod",
    "GIT_COMMITTER_EMAIL": "mlprod@localhost",
}


def available() -> bool:
    return shutil.which("git") is not None


def _run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)


def _has_identity(cwd: Path) -> bool:
    return bool(_run(["config", "user.email"], cwd).stdout.strip())


def init_and_commit(path: Path, message: str, *, exclude: tuple[str, ...] = ()) -> str | None:
    """``git init`` + first commit of everything in ``path``; return a warning or None."""
    if _run(["init", "-q"], path).returncode != 0:
        return "git init failed; the project is not a git repository"
    _run(["checkout", "-q", "-b", "main"], path)  # older gits default to master
    pathspec = ["--", ".", *(f":(exclude){name}" for name in exclude)]
    if _run(["add", "-A", *pathspec], path).returncode != 0:
        return "git add failed; nothing was committed"
    env = None
    warning = None
    if not _has_identity(path):
        env = dict(os.environ, **_FALLBACK_IDENTITY)
        warning = "git has no user.name/user.email; the first commit is authored by 'mlprod'"
    done = _run(["commit", "-q", "--no-verify", "-m", message], path, env)
    if done.returncode != 0:
        return f"git commit failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no output'}"
    return warning


def head_commit(path: Path) -> str | None:
    """The commit of the repository at ``path``, or None outside git."""
    if not available():
        return None
    done = _run(["rev-parse", "HEAD"], path)
    return done.stdout.strip() if done.returncode == 0 else None
