"""``mlprod check``: is this project's configuration, lock and venv in order?

Fast by design (it runs in pre-commit hooks): it reads files only. It never
starts the project's interpreter or imports its code or its ML stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlprod_cli.adapters.lockfile import LOCK_NAME, check_against_pyproject, check_venv, read_lock
from mlprod_cli.core.config import Config, load_config
from mlprod_cli.core.project import VENV_NAME


@dataclass(frozen=True)
class CheckItem:
    name: str
    ok: bool
    detail: str
    problems: tuple[str, ...] = ()


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

    lock_path = config.root / LOCK_NAME
    if not lock_path.is_file():
        report.items.append(
            CheckItem("lock", False, f"{LOCK_NAME} is missing", (f"no {LOCK_NAME}",))
        )
        return report
    pins = read_lock(lock_path)  # ConfigError on an unpinned or unhashed line
    report.items.append(
        CheckItem("lock", True, f"{LOCK_NAME}: {len(pins)} packages pinned with hashes")
    )

    pyproject = config.root / "pyproject.toml"
    if pyproject.is_file():
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
    return report
