"""A template's files per task: ``regression_NAME`` stands in for ``NAME`` in a regression project.

One template makes both kinds of tabular project: the Dockerfile, manifests,
schema, loader, features and CI are the same for a class and for a number;
what differs (the baseline, the model, the metric design, their tests, the
sample data) lives beside the classification file under the task's prefix.
``_mlprod_data.tasks`` in ``cookiecutter.json`` names the tasks besides
classification and each one's sample, e.g.::

    "tasks": {"regression": {"sample": "data/diabetes.csv", "target": "progression"}}

After rendering, :func:`apply_task` keeps one variant of each such file: in a
regression project ``src/pkg/regression_model.py`` replaces
``src/pkg/model.py``; in a classification project every ``regression_*`` file
is removed. It is mlprod's step, not a cookiecutter hook, so ``--dry-run``
lists the same files a real run writes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_TASK = "classification"
DATA_SPEC = "_mlprod_data"
"""The cookiecutter.json key of a template that takes ``--data``: its sample and how to read it."""


def task_specs(spec: Any) -> dict[str, dict[str, Any]]:
    """The tasks a template's ``_mlprod_data`` makes besides classification, each with its sample."""
    tasks = spec.get("tasks") if isinstance(spec, dict) else None
    if not isinstance(tasks, dict):
        return {}
    return {str(k): v for k, v in tasks.items() if isinstance(v, dict) and k != DEFAULT_TASK}


def source_name(path: str, task: str) -> str:
    """Where a task's file (``data/diabetes.csv``) is in the template (``data/regression_diabetes.csv``)."""
    if task == DEFAULT_TASK:
        return path
    folder, _, name = path.rpartition("/")
    return f"{folder}/{task}_{name}" if folder else f"{task}_{name}"


def apply_task(root: Path, task: str, tasks: list[str]) -> None:
    """Keep the files of ``task`` under ``root``: rename its ``TASK_`` files, drop the others'."""
    prefixes = {f"{t}_": t for t in tasks if t != DEFAULT_TASK}
    if not prefixes:
        return
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        for prefix, owner in prefixes.items():
            if path.name.startswith(prefix) and len(path.name) > len(prefix):
                if owner == task:
                    os.replace(path, path.with_name(path.name[len(prefix) :]))
                else:
                    path.unlink()
                break
