"""``mlprod new``'s checks before a byte is written: the name, the template, the answers, the place.

Everything here only reads: a bad NAME, ``--template``, ``-e`` answer or
destination is refused with one line naming it, before any folder exists.
"""

from __future__ import annotations

import contextlib
import json
import keyword
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlprod_cli.core.scaffold._render import name_variable
from mlprod_cli.core.scaffold._tasks import DATA_SPEC, task_specs
from mlprod_cli.errors import ScaffoldError, UsageError

MARKER = ".mlprod-incomplete"
DEFAULT_TEMPLATE = "classification"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")
_JINJA = ("{{", "}}", "{%", "%}", "{#", "#}")
_GIT_URL = re.compile(r"^(gh:|gl:|bb:|git\+|git@|https?://|ssh://|file://)")
# Top-level modules of the stack a project imports: a project package of that
# name would shadow the real one.
_SHADOWED = {
    "mlprod_cli",
    "numpy",
    "pandas",
    "sklearn",
    "scipy",
    "joblib",
    "pytest",
    "yaml",
    "typer",
    "rich",
}


def package_name_for(name: str) -> str:
    """The import name a project called ``name`` gets (as the template derives it)."""
    return name.lower().replace("-", "_").replace(".", "_")


def validate_name(name: str) -> str:
    """Refuse a project name that is not a valid distribution and package name."""
    if not name or not name.strip():
        raise UsageError("NAME: a project name is required and must not be empty")
    if "/" in name or "\\" in name or ".." in name:
        raise UsageError(
            f"NAME {name!r}: a project name is a plain name, not a path (use --output-dir)"
        )
    if not _NAME.match(name):
        raise UsageError(
            f"NAME {name!r}: use letters, digits, '-', '_' and '.', starting with a letter"
        )
    package = package_name_for(name)
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise UsageError(f"NAME {name!r}: its package name {package!r} is a Python keyword")
    if package in sys.stdlib_module_names or package in _SHADOWED:
        raise UsageError(
            f"NAME {name!r}: its package name {package!r} would shadow the module of that name"
        )
    if len(name) > 100:
        raise UsageError(f"NAME: at most 100 characters, got {len(name)}")
    return name


@dataclass(frozen=True)
class Template:
    location: str  # what the user named (path, URL or builtin name)
    path: Path | None  # local directory, None for a remote template cookiecutter fetches
    builtin: bool
    variables: dict[str, Any]
    task: str | None = None  # a task of a template's ``_mlprod_data.tasks``: "regression"

    @property
    def takes_data(self) -> bool:
        """Whether the template is made for a data table (``--data``)."""
        spec = self.variables.get(DATA_SPEC)
        return isinstance(spec, dict) and bool(spec.get("sample"))


def resolve_template(spec: str | None) -> Template:
    """A builtin name, a local template directory, or a git URL for cookiecutter."""
    from mlprod_cli.adapters.wheel import templates_dir

    spec = spec or DEFAULT_TEMPLATE
    builtin_dir = templates_dir() / spec
    if "/" not in spec and builtin_dir.is_dir():
        return Template(spec, builtin_dir, True, _read_variables(builtin_dir))
    if "/" not in spec and spec != DEFAULT_TEMPLATE:
        # A task the default template also makes ("regression"): its files and sample.
        default = templates_dir() / DEFAULT_TEMPLATE
        variables = _read_variables(default)
        if spec in task_specs(variables.get(DATA_SPEC)):
            return Template(spec, default, True, variables, task=spec)
    if _GIT_URL.match(spec):
        return Template(spec, None, False, {})
    path = Path(spec).expanduser()
    if not path.exists():
        known = ", ".join(sorted(_builtin_names()))
        raise UsageError(
            f"--template {spec}: no such template (builtin: {known}; or a path or git URL)"
        )
    if not (path / "cookiecutter.json").is_file():
        raise UsageError(
            f"--template {spec}: not a cookiecutter template (no cookiecutter.json in it)"
        )
    return Template(spec, path.resolve(), False, _read_variables(path))


def _builtin_names() -> list[str]:
    from mlprod_cli.adapters.wheel import templates_dir

    names = [p.name for p in templates_dir().iterdir() if p.is_dir()]
    with contextlib.suppress(UsageError):
        names += task_specs(_read_variables(templates_dir() / DEFAULT_TEMPLATE).get(DATA_SPEC))
    return names


def _read_variables(path: Path) -> dict[str, Any]:
    source = path / "cookiecutter.json"
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--template: {source}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"--template: {source}: expected a JSON object of template variables")
    return data


def _path_variables(template: Path) -> set[str]:
    """Variables used in the names of the template's files and folders."""
    used: set[str] = set()
    for item in template.rglob("*"):
        used.update(re.findall(r"cookiecutter\.([A-Za-z_][A-Za-z0-9_]*)", item.name))
    return used


def parse_extra_context(items: tuple[str, ...], template: Template) -> dict[str, str]:
    """``-e key=value`` pairs, checked against the template's variables."""
    out: dict[str, str] = {}
    path_vars = _path_variables(template.path) if template.path else set()
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"-e {item}: expected key=value")
        if key == name_variable(template.variables):
            raise UsageError(f"-e {key}: the project name is the NAME argument")
        if template.variables and (key not in template.variables or key.startswith("_")):
            public = ", ".join(k for k in template.variables if not k.startswith("_"))
            raise UsageError(f"-e {key}: the template has no such variable (it has: {public})")
        if any(mark in value for mark in _JINJA):
            raise UsageError(f"-e {key}: template expressions are not allowed in answers")
        if key in path_vars and (
            "/" in value or "\\" in value or ".." in value or Path(value).is_absolute()
        ):
            raise UsageError(f"-e {key}: {value!r} would make a path outside the project")
        if key == "package_name" and (not value.isidentifier() or keyword.iskeyword(value)):
            raise UsageError(f"-e package_name: {value!r} is not a valid Python package name")
        out[key] = value
    return out


def check_destination(dest: Path) -> bool:
    """Refuse a destination that is not an empty folder; return whether it exists."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise ScaffoldError(f"{dest}: exists and is not a folder")
    if not dest.exists():
        return False
    if (dest / MARKER).exists():
        raise ScaffoldError(
            f"{dest}: left half-made by an 'mlprod new' that was killed (it holds {MARKER})",
            hint=f"remove it ('rm -rf {dest}') and run 'mlprod new' again",
        )
    if any(dest.iterdir()):
        raise ScaffoldError(
            f"{dest}: exists and is not empty", hint="choose another NAME or --output-dir"
        )
    return True
