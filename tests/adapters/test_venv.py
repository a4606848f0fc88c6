"""``adapters/venv.py``: virtualenvs, a hashed lock installed by uv or pip, wheels built and fetched.

The installs run offline: the lock pins a tiny wheel made here, found through
``--find-links``, with the package indexes switched off.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mlprod_cli.adapters import venv
from mlprod_cli.adapters.venv import (
    build_project_wheel,
    create_venv,
    download_wheels,
    find_interpreter,
    install_lock,
    venv_executable,
)
from mlprod_cli.errors import EnvironmentProblem, UsageError


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, str]:
    """A folder holding the wheel of ``tinypkg`` 0.1 (``tinypkg.VALUE == 42``), and its sha256."""
    folder = tmp_path_factory.mktemp("wheels")
    files = {
        "tinypkg/__init__.py": b"VALUE = 42\n",
        "tinypkg-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n",
        "tinypkg-0.1.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files.items())
    path = folder / "tinypkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(
            "tinypkg-0.1.dist-info/RECORD", record + "tinypkg-0.1.dist-info/RECORD,,\n"
        )
    return folder, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def offline(monkeypatch):
    """No package index for uv or pip: only ``--find-links``."""
    monkeypatch.setenv("UV_NO_INDEX", "1")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("MLPROD_INSTALLER", raising=False)


@pytest.fixture
def python(tmp_path) -> Path:
    return create_venv(tmp_path / "venv", find_interpreter(None))


def lock(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "requirements.lock"
    path.write_text(line + "\n")
    return path


def tinypkg(python: Path) -> str:
    done = subprocess.run([str(python), "-c", "import tinypkg; print(tinypkg.VALUE)"], capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip()


# --------------------------------------------------------------------------- interpreters and venvs


def test_venv_executable():
    if os.name == "nt":
        assert venv_executable(Path("v"), "python") == Path("v/Scripts/python.exe")
    else:
        assert venv_executable(Path("v"), "mlprod") == Path("v/bin/mlprod")


def test_find_interpreter():
    running = find_interpreter(None)
    assert running.executable == sys.executable
    assert running.version == ".".join(map(str, sys.version_info[:3]))
    for spec in ("/nonexistent/python9", "2.1"):
        with pytest.raises(UsageError, match=f"--python {spec}: no such Python interpreter found"):
            find_interpreter(spec)


def test_an_interpreter_older_than_mlprod_supports_is_refused(monkeypatch):
    import types

    import virtualenv.discovery.builtin as builtin

    old = types.SimpleNamespace(
        executable="/usr/bin/python3.10", version_info=(3, 10, 13, "final", 0)
    )
    monkeypatch.setattr(builtin, "get_interpreter", lambda spec, try_first_with: old)
    with pytest.raises(
        UsageError, match=r"--python 3\.10: Python 3\.10\.13; a project needs Python 3\.11"
    ):
        find_interpreter("3.10")


def test_a_venv_that_cannot_be_made_is_one_line_saying_why(tmp_path, capfd):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(EnvironmentProblem) as info:
        create_venv(tmp_path / "afile" / "venv", find_interpreter(None))
    message = info.value.message
    assert message.startswith(f"creating the virtualenv {tmp_path}/afile/venv failed: ")
    assert "not a directory" in message and "\n" not in message
    assert "usage:" not in capfd.readouterr().err  # virtualenv's own usage text is not shown


@pytest.mark.slow
def test_create_venv_has_pip_and_no_setuptools(python):
    assert python == python.parent.parent / "bin" / "python" and python.exists()
    done = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(bool(u.find_spec('pip')), bool(u.find_spec('setuptools')))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.split() == ["True", "False"]


# --------------------------------------------------------------------------- installing the lock


@pytest.mark.slow
@pytest.mark.parametrize("prefer_uv", [True, False])
def test_install_lock_with_hashes(python, wheel, offline, tmp_path, prefer_uv):
    folder, sha = wheel
    used = install_lock(python, lock(tmp_path, f"tinypkg==0.1 --hash=sha256:{sha}"), find_links=folder, prefer_uv=prefer_uv)  # fmt: skip
    assert used == ("uv" if prefer_uv else "pip")
    assert tinypkg(python) == "42"


@pytest.mark.slow
@pytest.mark.parametrize("prefer_uv", [True, False])
def test_a_wrong_hash_installs_nothing(python, wheel, offline, tmp_path, prefer_uv):
    folder, _ = wheel
    tool = "uv" if prefer_uv else "pip"
    with pytest.raises(EnvironmentProblem) as info:
        install_lock(python, lock(tmp_path, f"tinypkg==0.1 --hash=sha256:{'0' * 64}"), find_links=folder, prefer_uv=prefer_uv)  # fmt: skip
    assert info.value.message.startswith(f"installing requirements.lock with {tool} failed: ")
    assert "\n" not in info.value.message
    assert tinypkg(python) == ""


@pytest.mark.slow
def test_pip_when_asked_or_when_uv_cannot_run(python, wheel, offline, tmp_path, monkeypatch):
    folder, sha = wheel
    pinned = lock(tmp_path, f"tinypkg==0.1 --hash=sha256:{sha}")
    monkeypatch.setenv("MLPROD_INSTALLER", "pip")
    assert install_lock(python, pinned, find_links=folder) == "pip"
    monkeypatch.delenv("MLPROD_INSTALLER")
    broken = tmp_path / "uv"
    broken.write_text("not a program")  # not executable: OSError when run
    monkeypatch.setattr(venv, "_uv_binary", lambda: str(broken))
    assert install_lock(python, pinned, find_links=folder) == "pip"


@pytest.mark.parametrize(
    ("output", "gist"),
    [
        ("error: Failed to build `x`\n  Caused by: y\ncause: no pyproject.toml\n", "Failed to build `x`: no pyproject.toml"),
        ("Resolved 3\nerror: No solution found\ncause: Because a was not found, we can conclude that b\n", "No solution found: Because a was not found"),
        ("ERROR: Could not find a version that satisfies tinypkg\nERROR: No matching distribution\n", "Could not find a version that satisfies tinypkg"),
        ("Collecting x\n  Downloading\nsomething broke\nhint: try again\n", "something broke"),
        ("hint: only a hint\n", "hint: only a hint"),
        ("", "(no output)"),
    ],
)  # fmt: skip
def test_the_gist_of_an_installers_failure(output, gist):
    assert venv._last_line(output) == gist


# --------------------------------------------------------------------------- wheels


def test_building_a_folder_without_a_project_names_its_pyproject(tmp_path):
    with pytest.raises(EnvironmentProblem) as info:
        build_project_wheel(tmp_path, tmp_path / "dist")
    assert info.value.message.startswith(
        f"building the wheel of {tmp_path / 'pyproject.toml'} failed: "
    )
    assert "\n" not in info.value.message


def test_download_wheels_needs_pip(tmp_path, monkeypatch):
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True
    )
    requirements = lock(tmp_path, "tinypkg==0.1 --hash=sha256:" + "0" * 64)
    monkeypatch.setattr(sys, "executable", str(venv_executable(tmp_path / "bare", "python")))
    with pytest.raises(EnvironmentProblem) as info:
        download_wheels(
            requirements, tmp_path / "w", platforms=["manylinux2014_x86_64"], python="3.12"
        )
    assert info.value.message.endswith("has no pip")
    assert info.value.hint == "install pip into the project's venv, or package without --offline"
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    with pytest.raises(EnvironmentProblem, match=r"pip cannot be started for --offline \("):
        download_wheels(requirements, tmp_path / "w", platforms=["any"], python="3.12")


def test_download_wheels_refuses_what_the_lock_does_not_pin(wheel, offline, tmp_path, monkeypatch):
    folder, _ = wheel
    requirements = lock(tmp_path, "tinypkg==0.1")  # no hash
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    with pytest.raises(EnvironmentProblem, match="downloading the wheels of the lock failed: "):
        download_wheels(requirements, tmp_path / "w", platforms=["any"], python="3.12")
    assert not list((tmp_path / "w").glob("*.whl"))


def test_pyenv_interpreters_newest_first_respecting_pyenv_root(tmp_path, monkeypatch):
    from mlprod_cli.adapters.venv import pyenv_interpreters

    for version in ("3.12.1", "3.12.10", "3.11.7", "3.12-dev", "miniconda3-latest"):
        folder = tmp_path / "versions" / version / "bin"
        folder.mkdir(parents=True)
        (folder / f"python{'.'.join(version.split('.')[:2])}").write_text("")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    versions = tmp_path / "versions"
    assert pyenv_interpreters("3.12") == [
        versions / "3.12.10" / "bin" / "python3.12",
        versions / "3.12.1" / "bin" / "python3.12",
    ]
    assert pyenv_interpreters("3.12.1") == [versions / "3.12.1" / "bin" / "python3.12"]
    assert pyenv_interpreters("3.1") == []  # not 3.11 or 3.12
    assert pyenv_interpreters("python3.12") == []  # a name is for PATH


def test_python_version_found_in_pyenv_when_not_on_path(tmp_path, monkeypatch):
    from mlprod_cli.adapters.venv import find_interpreter, pyenv_interpreters

    real = pyenv_interpreters("3.12")
    if not real:
        pytest.skip("no pyenv Python 3.12 on this machine")
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH, no pyenv shims
    found = find_interpreter("3.12")
    assert found.version.startswith("3.12.") and found.executable == str(real[0])
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "none"))
    with pytest.raises(UsageError, match=r"^--python 3\.12: no such Python interpreter found"):
        find_interpreter("3.12")
