"""Virtualenvs: create one and install a hashed lock into it.

uv installs the lock (a warm cache makes a typical ML stack take well under a
second); pip inside the new venv is the fallback where the uv binary cannot
run. Both install with hash checking on and no dependency resolution: the lock
is the whole truth.
Neither compiles bytecode here: see :mod:`mlprod_cli.adapters.bytecode`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mlprod_cli.errors import EnvironmentProblem, UsageError


def venv_executable(venv: Path, name: str) -> Path:
    """The path of console script or interpreter ``name`` inside ``venv``."""
    if os.name == "nt":
        return venv / "Scripts" / f"{name}.exe"
    return venv / "bin" / name


@dataclass(frozen=True)
class Interpreter:
    executable: str
    version: str


#: The oldest Python a project may use: mlprod's own floor (pyproject.toml's requires-python).
MIN_PYTHON = (3, 11)


def find_interpreter(spec: str | None) -> Interpreter:
    """Resolve ``--python`` (a path, a name on PATH, or a version like ``3.12``).

    A version not found on PATH is looked for among pyenv's interpreters
    (``$PYENV_ROOT/versions/3.12.*``, ``~/.pyenv`` by default), newest first.
    """
    import sys

    if spec is None:
        return Interpreter(sys.executable, ".".join(map(str, sys.version_info[:3])))
    from virtualenv.discovery.builtin import get_interpreter

    try:
        info = get_interpreter(spec, try_first_with=[])
    except Exception:  # virtualenv raises plain RuntimeErrors for odd specs
        info = None
    if info is None:
        for candidate in pyenv_interpreters(spec):
            try:
                info = get_interpreter(str(candidate), try_first_with=[])
            except Exception:
                info = None
            if info is not None:
                break
    if info is None:
        raise UsageError(f"--python {spec}: no such Python interpreter found (on PATH or in pyenv)")
    version = ".".join(map(str, info.version_info[:3]))
    if tuple(info.version_info[:2]) < MIN_PYTHON:
        raise UsageError(
            f"--python {spec}: Python {version}; a project needs Python "
            f"{'.'.join(map(str, MIN_PYTHON))} or newer, as mlprod does"
        )
    return Interpreter(info.executable, version)


def pyenv_interpreters(spec: str) -> list[Path]:
    """pyenv's interpreters of version ``spec`` (``3.12`` or ``3.12.1``), newest first."""
    import re

    if not re.fullmatch(r"\d+(\.\d+){0,2}", spec):
        return []
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if not re.fullmatch(r"\d+\.\d+\.\d+", folder.name):
            continue  # a virtualenv, a dev build or another implementation
        if folder.name != spec and not folder.name.startswith(spec + "."):
            continue
        major_minor = ".".join(folder.name.split(".")[:2])
        python = folder / "bin" / f"python{major_minor}"
        if python.is_file():
            found.append((tuple(int(n) for n in folder.name.split(".")), python))
    return [python for _, python in sorted(found, reverse=True)]


def interpreter_version(python: Path) -> str | None:
    """The version of the interpreter ``python`` (``3.12.1``), or None when it cannot run."""
    try:
        done = subprocess.run(
            [str(python), "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def create_venv(path: Path, interpreter: Interpreter) -> Path:
    """Create a virtualenv at ``path`` (pip seeded, no setuptools/wheel); return its python."""
    import contextlib
    import io

    from virtualenv import cli_run

    # virtualenv refuses a bad destination as a command line would: its usage text on
    # stderr and SystemExit(2). The reason is the last line of that text.
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            cli_run(
                [
                    str(path),
                    "--python",
                    interpreter.executable,
                    "--no-setuptools",
                    "--quiet",
                ],
                setup_logging=False,
            )
    except SystemExit:
        reason = _last_line(said.getvalue()).removeprefix("virtualenv: error: ")
        raise EnvironmentProblem(f"creating the virtualenv {path} failed: {reason}") from None
    except Exception as exc:
        raise EnvironmentProblem(f"creating the virtualenv {path} failed: {exc}") from None
    return venv_executable(path, "python")


def _uv_binary() -> str | None:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _last_line(text: str) -> str:
    """The gist of an installer's failure, on one line.

    uv says ``error: …`` then ``cause: …`` lines; pip puts ``ERROR: …`` first
    and details after. Take the error and its first cause; else the last line.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    error = next((line for line in lines if line.lower().startswith("error:")), None)
    if error is None:
        interesting = [line for line in lines if not line.lower().startswith(("hint:", "note:"))]
        return (interesting or lines or ["(no output)"])[-1]
    gist = error.split(":", 1)[1].strip()
    cause = next((line for line in lines if line.startswith("cause:")), None)
    if cause:
        gist += ": " + cause.split(":", 1)[1].strip().split(", we can conclude")[0]
    return gist


def install_lock(
    python: Path, lock: Path, *, find_links: Path | None, prefer_uv: bool | None = None
) -> str:
    """Install ``lock`` into the venv of ``python`` with hashes required; return the tool used.

    ``MLPROD_INSTALLER=pip`` forces pip (where uv is unwanted or broken).
    """
    if prefer_uv is None:
        prefer_uv = os.environ.get("MLPROD_INSTALLER", "uv").lower() != "pip"
    links = ["--find-links", str(find_links)] if find_links and find_links.is_dir() else []
    uv = _uv_binary() if prefer_uv else None
    if uv is not None:
        command = [
            uv,
            "pip",
            "sync",
            "--require-hashes",
            "--python",
            str(python),
            *links,
            str(lock),
        ]
        env = dict(os.environ, UV_NO_PROGRESS="1")
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env)
        except OSError:
            done = None  # the binary cannot run here (wrong platform, noexec mount): use pip
        if done is not None:
            if done.returncode != 0:
                raise EnvironmentProblem(
                    f"installing {lock.name} with uv failed: {_last_line(done.stderr)}"
                )
            return "uv"
    command = [
        str(python), "-m", "pip", "install", "--require-hashes", "--no-deps", "--no-compile",
        "--disable-pip-version-check", "-q", *links, "-r", str(lock),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise EnvironmentProblem(
            f"installing {lock.name} with pip failed: {_last_line(done.stderr)}"
        )
    return "pip"


def install_editable(python: Path, root: Path, *, prefer_uv: bool | None = None) -> str:
    """Install the project at ``root`` editable (``pip install -e .``); return the tool used.

    For a project without a lock: its own dependencies come as it declares
    them, resolved by the installer.
    """
    if prefer_uv is None:
        prefer_uv = os.environ.get("MLPROD_INSTALLER", "uv").lower() != "pip"
    uv = _uv_binary() if prefer_uv else None
    if uv is not None:
        command = [uv, "pip", "install", "--python", str(python), "-e", str(root)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=_quiet_env())
        except OSError:
            done = None
        if done is not None:
            if done.returncode != 0:
                raise EnvironmentProblem(
                    f"installing {root.name} (pip install -e .) with uv failed: "
                    f"{_last_line(done.stderr)}"
                )
            return "uv"
    command = [
        str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", str(root),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=_quiet_env())
    if done.returncode != 0:
        raise EnvironmentProblem(
            f"installing {root.name} (pip install -e .) with pip failed: {_last_line(done.stderr)}"
        )
    return "pip"


def build_project_wheel(root: Path, out_dir: Path) -> Path:
    """Build the wheel of the project at ``root`` into ``out_dir`` with its own build backend.

    ``uv build`` (pip's ``wheel`` command where uv cannot run) in an isolated
    build environment, so the backend ``pyproject.toml`` names decides what
    the wheel holds, exactly as it would for a release.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    uv = _uv_binary()
    if uv is not None:
        command = [uv, "build", "--wheel", "--quiet", "--out-dir", str(out_dir), str(root)]
    else:
        command = [
            sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
            "--disable-pip-version-check", "-w", str(out_dir), str(root),
        ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=_quiet_env())
    wheels = sorted(out_dir.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        gist = _last_line(done.stderr) if done.returncode else f"{len(wheels)} wheels made"
        raise EnvironmentProblem(f"building the wheel of {root / 'pyproject.toml'} failed: {gist}")
    return wheels[0]


def download_wheels(requirements: Path, dest: Path, *, platforms: list[str], python: str) -> None:
    """Download every wheel ``requirements`` pins, for another platform, hashes checked.

    pip's ``download`` is the one installer command that fetches wheels for a
    platform other than the running one; ``--require-hashes`` makes it refuse
    any file whose hash the lock does not list.
    """
    dest.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--only-binary=:all:", "--require-hashes",
        "--python-version", python, "--implementation", "cp",
        *[arg for platform in platforms for arg in ("--platform", platform)],
        "-d", str(dest), "-r", str(requirements),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=_quiet_env())
    except OSError as exc:
        raise EnvironmentProblem(f"pip cannot be started for --offline ({exc.strerror})") from None
    if done.returncode != 0:
        if "No module named pip" in done.stderr:
            raise EnvironmentProblem(
                f"--offline downloads wheels with pip, and {sys.executable} has no pip",
                hint="install pip into the project's venv, or package without --offline",
            )
        raise EnvironmentProblem(
            f"downloading the wheels of the lock failed: {_last_line(done.stderr)}"
        )


def _quiet_env() -> dict[str, str]:
    return dict(os.environ, UV_NO_PROGRESS="1", PIP_PROGRESS_BAR="off")
