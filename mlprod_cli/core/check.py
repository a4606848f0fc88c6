"""``mlprod check``: is this project's configuration, lock and venv in order?

Fast by design (it runs in pre-commit hooks): it reads files only. It never
starts the project's interpreter or imports its code or its ML stack; the one
column it reads of the training data (the target, to prove that every class
``metrics`` names is in the data) is read with the standard library's CSV reader
(pyarrow for Parquet), and only until a version is registered: then the classes
come from the newest version's metadata.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mlprod_cli.adapters.lockfile import (
    LOCK_NAME,
    check_against_pyproject,
    check_venv,
    read_lock,
    read_pyproject,
    unlocked_packages,
)
from mlprod_cli.core.config import Config, load_config
from mlprod_cli.core.project import VENV_NAME
from mlprod_cli.core.words import plural
from mlprod_cli.errors import MlprodError


@dataclass(frozen=True)
class CheckItem:
    name: str
    ok: bool
    detail: str
    problems: tuple[str, ...] = ()
    warning: bool = False  # ok (exit 0), but worth saying: ``warn`` in the report

    @property
    def status(self) -> str:
        return "fail" if not self.ok else "warn" if self.warning else "ok"


@dataclass
class CheckReport:
    root: Path
    items: list[CheckItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)


def run_checks(start: Path | None = None, *, venv: bool = True) -> CheckReport:
    """Validate ``mlprod.yaml`` (ConfigError when malformed), the lock, and ``.venv``."""
    config: Config = load_config(start)
    report = CheckReport(config.root)
    report.items.append(
        CheckItem("config", True, f"{config.path.name} is valid (project {config.project})")
    )
    report.items.append(classes_item(config))
    rules = rules_item(config)
    if rules is not None:
        report.items.append(rules)

    lock_path = config.root / LOCK_NAME
    # Anything of that name is the lock, and read_lock names what is wrong with a FIFO,
    # a folder or a dangling link; only nothing at all is a missing lock.
    if not os.path.lexists(lock_path):
        report.items.append(
            CheckItem("lock", False, f"{LOCK_NAME} is missing", (f"no {LOCK_NAME}",))
        )
        return report
    pins = read_lock(lock_path)  # ConfigError on an unpinned or unhashed line
    report.items.append(
        CheckItem("lock", True, f"{LOCK_NAME}: {plural(len(pins), 'package')} pinned with hashes")
    )

    pyproject = config.root / "pyproject.toml"
    if os.path.lexists(pyproject):
        problems = check_against_pyproject(pins, pyproject)
        detail = f"{LOCK_NAME} satisfies pyproject.toml" if not problems else problems[0]
        report.items.append(CheckItem("pyproject", not problems, detail, tuple(problems)))

    if venv:
        venv_path = config.root / VENV_NAME
        if not venv_path.is_dir():
            report.items.append(
                CheckItem(
                    "venv", False, f"{VENV_NAME} is missing", (f"no {VENV_NAME} in {config.root}",)
                )
            )
        else:
            problems = check_venv(pins, venv_path)
            detail = f"{VENV_NAME} matches {LOCK_NAME}" if not problems else problems[0]
            report.items.append(CheckItem("venv", not problems, detail, tuple(problems)))
            extra = unlocked_item(pins, venv_path, _project_name(pyproject))
            if extra is not None:
                report.items.append(extra)
    return report


def _project_name(pyproject: Path) -> str | None:
    if not os.path.lexists(pyproject):
        return None
    try:
        return read_pyproject(pyproject)["project"].get("name")
    except MlprodError:
        return None  # the pyproject item has said what is wrong with it


def unlocked_item(pins: list, venv: Path, project_name: str | None) -> CheckItem | None:
    """A warning when ``venv`` holds packages the lock does not pin (None when it holds none).

    They work on this machine and nowhere else: the Docker image, CI and a
    colleague's ``mlprod new`` install the lock only.
    """
    extra = unlocked_packages(pins, venv, ignore=(project_name,) if project_name else ())
    if not extra:
        return None
    listing = [f"{name} {version}" for name, version in extra.items()]
    detail = (
        f"{VENV_NAME} has {plural(len(extra), 'package')} {LOCK_NAME} does not pin: "
        + ", ".join(listing)
    )
    problems = tuple(f"{item} is not in {LOCK_NAME}" for item in listing)
    return CheckItem("unlocked", True, detail, problems, warning=True)


def data_classes(config: Config) -> list[str] | None:
    """The data's classes: those the newest registered version was trained on, else the
    target column of the training file, read without pandas.

    The metadata first: it is one small file, where the training file may be large
    and ``check`` runs before every commit. Before anything is trained, a project
    that reads its data with its own ``data.loader`` (its code is not imported
    here) gives None. A file that cannot be read raises DataError.
    """
    from mlprod_cli.errors import DataError

    registered = _registered_classes(config)
    if registered is not None or config.data.loader is not None:
        return registered
    path, target = config.data.train, config.data.target
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq

            column = pq.read_table(path, columns=[target]).column(0)
        except Exception as exc:  # pyarrow's errors: a missing column, a corrupt file
            raise DataError(f"{path}: cannot read the target '{target}': {exc}") from None
        values = {str(v) for v in column.to_pylist() if v is not None}
    else:
        import csv

        try:
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                header = next(reader, [])
                if target not in header:
                    raise DataError(
                        f"{path}: the target column '{target}' is missing (columns: {', '.join(header)})"
                    )
                at = header.index(target)
                values = {row[at] for row in reader if len(row) > at and row[at] != ""}
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataError(f"{path}: cannot read it: {exc}") from None
    return sorted(values)


def _registered_classes(config: Config) -> list[str] | None:
    """The classes the newest registered version was trained on (its metadata), if any."""
    from mlprod_cli.core.registry import Registry

    if not config.registry.is_dir():
        return None
    registry = Registry(config.registry)
    newest = registry.latest("model") or registry.latest("baseline")
    classes = newest.metadata.get("classes") if newest is not None else None
    return [str(c) for c in classes] if isinstance(classes, list) and classes else None


def classes_item(config: Config) -> CheckItem:
    """Every class ``metrics`` names (objective, gates) is one of the data's classes."""
    named = config.named_classes()
    if not named:
        return CheckItem("classes", True, "metrics names no class")
    try:
        classes = data_classes(config)
    except MlprodError as exc:
        return CheckItem("classes", False, exc.message, (exc.message,))
    if classes is None:
        return CheckItem(
            "classes",
            True,
            "not checked yet: data.loader reads the data and no version is trained (train checks them)",
        )
    problem = config.class_error(classes)
    if problem is not None:
        return CheckItem("classes", False, problem.message, (problem.message,))
    distinct = sorted({cls for _, cls in named})
    verb = "is" if len(distinct) == 1 else "are"
    return CheckItem(
        "classes", True, f"{', '.join(distinct)} {verb} in the data (as metrics names them)"
    )


def rules_item(config: Config) -> CheckItem | None:
    """Whether the rules file holds the rules the active model was trained with.

    A warning, not a failure: rules edited and not trained yet are work in
    progress, but ``serve`` and ``package`` refuse the active model with them.
    None when there is nothing to say (no rules, no active model without them).
    """
    from mlprod_cli.core.predict import version_rules
    from mlprod_cli.core.registry import Registry

    active = None
    if config.registry.is_dir():
        try:
            active = Registry(config.registry).active("model")
        except MlprodError:
            active = None  # the registry's own problems are for the commands that use it
    if active is None:
        if config.rules is None:
            return None
        return CheckItem("rules", True, "not checked against a version: no active model")
    from mlprod_cli.core.workspace import Workspace

    try:
        ruleset = version_rules(Workspace(config), active)
    except MlprodError as exc:
        return CheckItem("rules", True, exc.message, (exc.message,), warning=True)
    if ruleset is None:
        return None
    return CheckItem(
        "rules",
        True,
        f"{config.rules.name} holds the rules {active.id} was trained with "
        f"({plural(len(ruleset.ids), 'rule')}, sha256 {ruleset.sha256[:12]})",
    )
