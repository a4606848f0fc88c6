"""``package`` killed outright: the context at ``dist/docker`` is always the old or the new one.

A run killed with SIGKILL cannot clean up. Each trial kills a real
``mlprod package`` (a child process) at a chosen moment: while the new context
is being assembled, or right after the old context left its name in the swap
(with the file system's one-step exchange, and without it, where the old folder
is set aside). After the kill, ``dist/docker`` must be a whole context (every
file its manifest lists, with its hash; without the exchange, once the next
run's first step has put the old folder back); the next run must succeed and leave
nothing else in ``dist/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlprod_cli.adapters.files import recover_folder
from mlprod_cli.core.package import MANIFEST

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

# The child runs ``mlprod package`` and kills itself at the moment asked for.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path

    moment, exchange = sys.argv[1], sys.argv[2] == "exchange"
    target = Path("dist/docker").resolve()

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    from mlprod_cli.adapters import files
    from mlprod_cli.core.package import _context

    if moment == "assembling":
        real_inventory = _context._inventory

        def inventory(folder):
            real_inventory(folder)
            die()

        _context._inventory = inventory
    else:  # "swapping": right after the old context left the name dist/docker
        real_rename = os.rename

        def rename(src, dst, *args, **kwargs):
            real_rename(src, dst, *args, **kwargs)
            if Path(src).resolve() == target:
                die()

        os.rename = rename
        if hasattr(files, "_exchange"):
            real_exchange = files._exchange

            def exchange_names(a, b):
                if not exchange:
                    return False
                if real_exchange(a, b):
                    die()
                return False

            files._exchange = exchange_names

    from mlprod_cli.cli import main

    sys.exit(main(["package"]))
    """
)


def run_package(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, CI="true", MLPROD_NO_DELEGATE="1", PYTHONDONTWRITEBYTECODE="1")
    command = (
        [sys.executable, "-c", CHILD, *args]
        if args
        else [sys.executable, "-m", "mlprod_cli", "package"]
    )
    return subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=300
    )


def whole_context(context: Path) -> dict:
    """The manifest of ``context``, after checking every file it lists is there, byte for byte."""
    manifest = json.loads((context / MANIFEST).read_text())
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    present = {
        p.relative_to(context).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in context.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }
    assert present == listed, "the context is not the one its manifest describes"
    return manifest


@pytest.fixture(scope="module")
def packaged(trained_project, tmp_path_factory) -> Path:
    """A trained project with v0001 and v0002 active and a context already in dist/docker."""
    from mlprod_cli.core.workspace import Workspace

    dest = tmp_path_factory.mktemp("packaged") / trained_project.name
    shutil.copytree(trained_project, dest)
    registry = Workspace.load(dest).registry
    registry.activate(registry.get("v0001"))
    registry.activate(registry.get("v0002"))
    done = run_package(dest)
    assert done.returncode == 0, done.stderr
    return dest


@pytest.mark.parametrize(
    ("moment", "exchange"),
    [("assembling", "exchange"), ("swapping", "exchange"), ("swapping", "aside")],
)
def test_a_killed_package_leaves_a_whole_context_and_the_next_run_cleans_up(
    packaged, tmp_path, moment, exchange
):
    project = tmp_path / packaged.name
    shutil.copytree(packaged, project)
    context = project / "dist" / "docker"
    old = whole_context(context)

    killed = run_package(project, moment, exchange)
    assert killed.returncode == -9, killed.stderr  # it did die at that moment

    if exchange == "aside":
        # Without a one-step exchange the name is empty between the two renames: the
        # old folder waits, whole, under a name the next run puts back first.
        assert not context.exists()
        recover_folder(context)
        assert whole_context(context) == old
    assert context.is_dir(), f"dist/docker is gone: {sorted(os.listdir(project / 'dist'))}"
    after_kill = whole_context(context)
    assert after_kill["files"] == old["files"] or after_kill["model_version"] == "v0002"

    done = run_package(project)
    assert done.returncode == 0, done.stderr
    whole_context(context)
    assert sorted(os.listdir(project / "dist")) == ["docker"], "a killed run's leftovers stayed"


def test_leftovers_named_by_a_dead_pid_are_removed_or_put_back(packaged, tmp_path):
    """What mlprod 0.1 left: ``.docker.tmp-PID`` (assembling) and ``.docker.old-PID`` (swapping)."""
    project = tmp_path / packaged.name
    shutil.copytree(packaged, project)
    dist = project / "dist"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (dist / f".docker.tmp-{dead}" / "wheels").mkdir(parents=True)
    (dist / "docker").rename(dist / f".docker.old-{dead}")  # killed between the two renames

    done = run_package(project)
    assert done.returncode == 0, done.stderr
    whole_context(dist / "docker")
    assert sorted(os.listdir(dist)) == ["docker"]
