"""The layering of mlprod_cli/ is a test: import-linter's contracts, and that they cover everything.

docs/architecture.md is the map; ``[tool.importlinter]`` in pyproject.toml is
the same map as rules. A new package or module of ``core`` must be given its
place in the layers, or this test says so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "mlprod_cli"


def _contracts() -> list[dict]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _layer_names(contract: dict) -> set[str]:
    return {name.strip() for layer in contract["layers"] for name in layer.split("|")}


def test_the_import_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is in the test extra"
    done = subprocess.run(
        [lint, "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 4 kept, 0 broken." in done.stdout


def test_every_part_of_core_has_a_layer():
    core = next(c for c in _contracts() if c.get("containers") == ["mlprod_cli.core"])
    parts = {
        p.stem if p.is_file() else p.name
        for p in (PACKAGE / "core").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert parts == _layer_names(core)


def test_every_top_level_module_has_a_layer():
    top = next(c for c in _contracts() if c["type"] == "layers" and "containers" not in c)
    modules = {
        f"mlprod_cli.{p.stem if p.is_file() else p.name}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
        or (p / "__init__.py").is_file()
    }
    assert modules == _layer_names(top)


@pytest.mark.parametrize(
    "package",
    sorted(
        p.relative_to(REPO).as_posix().replace("/", ".")
        for p in (PACKAGE / "core").iterdir()
        if (p / "__init__.py").is_file()
    ),
)
def test_every_capability_package_names_its_public_face(package):
    """A package of core says what other packages may use: ``__all__``, every name there."""
    import importlib

    module = importlib.import_module(package)
    assert module.__doc__, f"{package} has no docstring saying what it is"
    exported = getattr(module, "__all__", None)
    assert exported, f"{package}/__init__.py names no public face (__all__)"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == []
    assert not [name for name in exported if name.startswith("_")]


def test_tests_mirror_the_tree():
    """Each test folder is a package (no name collisions) and mirrors a folder of mlprod_cli."""
    tests = REPO / "tests"
    for folder in [tests, *(p for p in tests.rglob("*") if p.is_dir())]:
        if folder.name == "__pycache__" or folder.name.startswith("."):
            continue
        assert (folder / "__init__.py").is_file(), f"{folder} has no __init__.py"
    for folder in (tests / "core").rglob("*"):
        if folder.is_dir() and folder.name != "__pycache__":
            assert (PACKAGE / folder.relative_to(tests)).is_dir(), f"{folder} mirrors nothing"
