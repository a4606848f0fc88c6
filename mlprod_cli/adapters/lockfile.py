"""The project's lock file (``requirements.lock``) and what it must agree with.

The lock is in pip's requirements format: one ``name==version`` per package,
each followed by ``--hash=sha256:…`` lines, and no index URL. That format is
read by pip, uv and Docker builds alike, and hash checking is all-or-nothing:
one unpinned or unhashed line and ``--require-hashes`` refuses the file.

``mlprod check`` uses this module to prove three things quickly, without
starting the project's interpreter: every line is pinned and hashed, every
dependency in ``pyproject.toml`` is satisfied by the lock, and the packages in
``.venv`` are exactly the locked versions.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlprod_cli.adapters.files import read_small_file
from mlprod_cli.errors import ConfigError

LOCK_NAME = "requirements.lock"
# A universal lock with every wheel's hash is a few megabytes at most; pyproject.toml is small.
MAX_LOCK_BYTES = 64 << 20
MAX_PYPROJECT_BYTES = 4 << 20
_HASH = re.compile(r"--hash[= ](sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class Pin:
    name: str  # canonical (PEP 503) name
    version: str
    hashes: tuple[str, ...]
    marker: str | None
    line: int


@dataclass
class LockReport:
    """What ``check`` found: problems are strings naming the file and the package."""

    pins: list[Pin] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations; drop comments; keep the first physical line number."""
    out: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            out.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        out.append((start, buffer.strip()))
    return out


def read_text(path: Path, limit: int) -> str:
    """The UTF-8 text of ``path``, a regular file; ConfigError naming the file (and line).

    A FIFO, a device, a folder or a dangling link is said to be one, never waited on.
    """
    try:
        data = read_small_file(path, limit)
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path.name}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8"
        ) from None


def read_lock(path: Path) -> list[Pin]:
    """Parse ``path``; raise ConfigError for a line that is not an exact, hashed pin."""
    from packaging.requirements import InvalidRequirement, Requirement

    text = read_text(path, MAX_LOCK_BYTES)
    pins: list[Pin] = []
    for number, line in _logical_lines(text):
        if line.startswith("-"):
            raise ConfigError(
                f"{path.name}:{number}: option lines ({line.split()[0]}) do not belong in the lock; "
                "pass them to the installer"
            )
        hashes = tuple(_HASH.findall(line))
        spec = _HASH.sub("", line).strip()
        try:
            req = Requirement(spec)
        except InvalidRequirement as exc:
            first = str(exc).splitlines()[0] if str(exc) else "cannot parse it"
            raise ConfigError(f"{path.name}:{number}: not a requirement: {first}") from None
        except RecursionError:  # packaging's marker parser recurses once per parenthesis
            raise ConfigError(
                f"{path.name}:{number}: not a requirement: nested too deeply"
            ) from None
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            raise ConfigError(
                f"{path.name}:{number}: {req.name} is not pinned with an exact ==version"
            )
        if not hashes:
            raise ConfigError(f"{path.name}:{number}: {req.name} has no --hash")
        pins.append(
            Pin(
                canonical(req.name),
                specs[0].version,
                hashes,
                str(req.marker) if req.marker else None,
                number,
            )
        )
    return pins


def marker_environment(python_version: str | None) -> dict[str, str]:
    """This machine's marker environment, with ``python_version`` instead of the running one."""
    from packaging.markers import default_environment

    env = default_environment()
    if python_version:
        parts = python_version.split(".")
        env["python_full_version"] = python_version
        env["python_version"] = ".".join(parts[:2])
    return env


def applies(marker: str | None, env: dict[str, str], extras: tuple[str, ...] = ("",)) -> bool:
    """Whether a requirement with ``marker`` applies in environment ``env``."""
    if not marker:
        return True
    from packaging.markers import Marker

    m = Marker(marker)
    return any(m.evaluate(dict(env, extra=extra)) for extra in extras)


def read_pyproject(path: Path) -> dict:
    """``pyproject.toml`` as a dict whose ``project`` table has the types PEP 621 gives it.

    ``name`` a string; ``dependencies`` a list of strings; ``optional-dependencies``
    a table of such lists. Anything else (``dependencies = 5``, ``project`` a string,
    no ``[project]`` at all) is a ConfigError naming the file, the key and, where
    it can be found, the line, so every reader may take those types for granted.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    text = read_text(path, MAX_PYPROJECT_BYTES)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        raise ConfigError(f"{path.name}: not valid TOML: nested too deeply") from None
    _check_project_table(path.name, text, data)
    return data


def _check_project_table(name: str, text: str, data: dict) -> None:
    project = data.get("project")

    def fail(key: str, message: str) -> ConfigError:
        line = _line_of(text, key.rsplit(".", 1)[-1])
        return ConfigError(f"{name}{f':{line}' if line else ''}: {key}: {message}")

    if project is None:
        raise ConfigError(f"{name}: no [project] table (the project's name and dependencies)")
    if not isinstance(project, dict):
        raise fail("project", f"expected a table ([project]), got {_kind(project)}")
    if "name" in project and not isinstance(project["name"], str):
        raise fail("project.name", f"expected a string, got {_kind(project['name'])}")
    _check_requirement_list(fail, "project.dependencies", project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise fail(
            "project.optional-dependencies",
            f"expected a table of lists of requirements, got {_kind(optional)}",
        )
    for group, reqs in optional.items():
        _check_requirement_list(fail, f"project.optional-dependencies.{group}", reqs)


def _check_requirement_list(fail, key: str, value: object) -> None:
    if not isinstance(value, list):
        raise fail(key, f"expected a list of requirement strings, got {_kind(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise fail(key, f"item {i + 1} is {_kind(item)}, not a requirement string")


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _line_of(text: str, key: str) -> int | None:
    """The first line setting ``key`` (``key =`` or ``[key]``), where that is easy to see."""
    pattern = re.compile(rf"^\s*(\[\s*{re.escape(key)}\s*\]|\"?{re.escape(key)}\"?\s*=)")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def check_against_pyproject(
    pins: list[Pin], pyproject: Path, lock_name: str = LOCK_NAME
) -> list[str]:
    """Dependencies (and optional ``dev`` ones) of ``pyproject`` that the lock does not satisfy."""
    from packaging.requirements import InvalidRequirement, Requirement

    data = read_pyproject(pyproject).get("project", {})
    wanted = list(data.get("dependencies", []))
    optional = data.get("optional-dependencies", {})
    wanted += [(req, group) for group, reqs in optional.items() for req in reqs]
    by_name = {pin.name: pin for pin in pins}
    env = marker_environment(None)
    problems = []
    for item in wanted:
        text, group = (item, "") if isinstance(item, str) else item
        try:
            req = Requirement(text)
        except (InvalidRequirement, RecursionError) as exc:
            reason = (str(exc).splitlines() or ["nested too deeply"])[0]
            shown = text if len(text) <= 60 else text[:57] + "..."
            problems.append(f"{pyproject.name}: dependency {shown!r} is not valid: {reason}")
            continue
        if req.marker and not req.marker.evaluate(dict(env, extra=group)):
            continue
        pin = by_name.get(canonical(req.name))
        label = f"{req.name} (optional '{group}')" if group else req.name
        if pin is None:
            problems.append(f"{pyproject.name} needs {label} but {lock_name} does not pin it")
        elif req.specifier and not req.specifier.contains(pin.version, prereleases=True):
            problems.append(
                f"{pyproject.name} needs {req.name}{req.specifier} but {lock_name} pins {pin.version}"
            )
    return problems


def venv_python_version(venv: Path) -> str | None:
    """The ``version_info`` recorded in ``pyvenv.cfg`` (no interpreter start-up)."""
    try:
        text = read_small_file(venv / "pyvenv.cfg", 1 << 20).decode("utf-8", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version_info", "version"):
            return value.strip()
    return None


def installed_versions(venv: Path) -> dict[str, str]:
    """``{canonical name: version}`` of every distribution in ``venv``'s site-packages."""
    found: dict[str, str] = {}
    for site in [*sorted(venv.glob("lib/python*/site-packages")), venv / "Lib" / "site-packages"]:
        if not site.is_dir():
            continue
        for info in site.glob("*.dist-info"):
            stem = info.name[: -len(".dist-info")]
            name, _, version = stem.rpartition("-")
            if name:
                found[canonical(name)] = version
    return found


def check_venv(pins: list[Pin], venv: Path, lock_name: str = LOCK_NAME) -> list[str]:
    """Differences between the locked versions and what is installed in ``venv``."""
    installed = installed_versions(venv)
    env = marker_environment(venv_python_version(venv))
    problems = []
    for pin in pins:
        if not applies(pin.marker, env):
            continue
        have = installed.get(pin.name)
        if have is None:
            problems.append(
                f"{pin.name}=={pin.version} from {lock_name} is not installed in {venv.name}"
            )
        elif have != pin.version:
            problems.append(f"{venv.name} has {pin.name} {have}, {lock_name} pins {pin.version}")
    return problems


# Installers and build tools every virtualenv holds, whatever the lock says.
TOOLING = frozenset({"pip", "setuptools", "wheel"})


def unlocked_packages(
    pins: list[Pin], venv: Path, *, ignore: tuple[str, ...] = ()
) -> dict[str, str]:
    """``{name: version}`` installed in ``venv`` that the lock does not pin, sorted by name.

    pip, setuptools and wheel are left out (every venv has them), and so are the
    names in ``ignore`` (the project itself, installed in development mode).
    """
    pinned = {pin.name for pin in pins}
    skip = TOOLING | {canonical(name) for name in ignore}
    installed = installed_versions(venv)
    return {
        name: installed[name]
        for name in sorted(installed)
        if name not in pinned and name not in skip
    }
