"""Finding the project a command runs in, and handing over to its own mlprod.

A generated project pins its own mlprod (and scikit-learn, numpy …) in its
lock file and installs them into ``.venv``. When the ``mlprod`` a user types is
another one (a global install, pipx, a different venv), running the command
with it would train and serve with versions the project did not pin. So the
global ``mlprod`` re-executes itself as ``<project>/.venv/bin/mlprod`` with the
same arguments, the way ``pdm`` or ``hatch`` run inside the project's
environment. ``MLPROD_NO_DELEGATE=1`` turns this off.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mlprod_cli.adapters.venv import venv_executable

CONFIG_NAME = "mlprod.yaml"
VENV_NAME = ".venv"


def find_project_root(start: Path | None = None) -> Path | None:
    """Return the nearest directory at or above ``start`` holding ``mlprod.yaml``.

    Any entry of that name counts, whatever it is: a FIFO, a folder or a dangling
    link named ``mlprod.yaml`` is this project's broken config, which loading it
    then names, rather than a reason to run in the project of a folder above.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if os.path.lexists(folder / CONFIG_NAME):
            return folder
    return None


def running_in(venv: Path) -> bool:
    """Whether the running interpreter belongs to ``venv``."""
    try:
        return Path(sys.prefix).resolve() == venv.resolve()
    except OSError:
        return False


def delegate_if_needed(argv: list[str], start: Path | None = None) -> None:
    """Re-execute as the project's own ``mlprod`` when it is not the one running.

    Returns without doing anything outside a project, when the project has no
    ``.venv/bin/mlprod`` yet, when already running in that venv, or when
    ``MLPROD_NO_DELEGATE=1``. Otherwise it does not return.
    """
    if os.environ.get("MLPROD_NO_DELEGATE") == "1":
        return
    root = find_project_root(start)
    if root is None:
        return
    venv = root / VENV_NAME
    target = venv_executable(venv, "mlprod")
    if running_in(venv) or not os.access(target, os.X_OK):
        return
    env = dict(os.environ, MLPROD_NO_DELEGATE="1")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(target, [str(target), *argv], env)
