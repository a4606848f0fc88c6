"""The value checks ``mlprod.yaml``'s schema is written with: one function per kind of value.

Each takes the :class:`Ctx` (the file, its lines, the project root), the dotted
key and the raw value, and returns the value as the schema means it or raises
the ConfigError that names the file, the line and the key. :mod:`._parse`
composes them into the sections of the file.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlprod_cli.core.config._model import MetricRef
from mlprod_cli.core.config._model import config_error as _error
from mlprod_cli.core.config._yaml import join_key as _join
from mlprod_cli.errors import ConfigError

_DOTTED = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$"
)
_MAX_DOTTED = 200  # longer module paths than this are not code, and not a file name either


class Ctx:
    """Where a value is: the file, its lines (``{dotted.key: line}``) and the project root."""

    def __init__(self, path: Path, lines: dict[str, int], root: Path, *, need_data: bool = True):
        self.path = path
        self.lines = lines
        self.root = root
        self.need_data = need_data

    def fail(self, key: str, message: str) -> ConfigError:
        line = self.lines.get(key)
        if line is None and "." in key:
            line = self.lines.get(key.rsplit(".", 1)[0])
        return _error(self.path, line, key, message)


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def expect_mapping(ctx: Ctx, key: str, value: Any, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(value, dict):
        raise ctx.fail(key, f"expected a mapping, got {describe(value)}")
    for k in value:
        if k not in allowed:
            sub = _join(key, k)
            known = ", ".join(sorted(allowed))
            raise ctx.fail(sub, f"unknown key (known keys here: {known})")
    for k in sorted(required):
        if k not in value or value[k] is None:
            sub = _join(key, k)
            raise ctx.fail(key or sub, f"missing required key '{k}'")
    return value


def expect_str(ctx: Ctx, key: str, value: Any, *, choices: tuple[str, ...] | None = None) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ctx.fail(key, f"expected a string, got {describe(value)}")
    text = str(value)
    if not text.strip():
        raise ctx.fail(key, "must not be empty")
    if choices is not None and text not in choices:
        raise ctx.fail(key, f"expected one of {', '.join(choices)}, got {text!r}")
    return text


def expect_number(
    ctx: Ctx, key: str, value: Any, *, low: float | None = None, high: float | None = None
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ctx.fail(key, f"expected a number, got {describe(value)}")
    try:
        number = float(value)
    except OverflowError:  # a whole number past 1.8e308
        raise ctx.fail(key, f"expected a number, got one too large ({describe(value)})") from None
    if number != number:  # NaN
        raise ctx.fail(key, "expected a number, got NaN")
    if number in (float("inf"), float("-inf")):
        raise ctx.fail(key, f"expected a finite number, got {number}")
    if low is not None and number < low:
        raise ctx.fail(key, f"must be at least {low:g}, got {number:g}")
    if high is not None and number > high:
        raise ctx.fail(key, f"must be at most {high:g}, got {number:g}")
    return number


def expect_int(
    ctx: Ctx, key: str, value: Any, *, low: int | None = None, high: int | None = None
) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.fail(key, f"expected a whole number, got {describe(value)}")
    if low is not None and value < low:
        raise ctx.fail(key, f"must be at least {low}, got {value}")
    if high is not None and value > high:
        raise ctx.fail(key, f"must be at most {high}, got {value}")
    return value


def expect_list(ctx: Ctx, key: str, value: Any, item: Callable[[Ctx, str, Any], Any]) -> tuple:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]  # a lone value is a list of one
    if not isinstance(value, list):
        raise ctx.fail(key, f"expected a list, got {describe(value)}")
    return tuple(item(ctx, f"{key}[{i}]", v) for i, v in enumerate(value))


def expect_dotted(ctx: Ctx, key: str, value: Any, *, attribute: bool) -> str:
    text = expect_str(ctx, key, value)
    if (
        len(text) > _MAX_DOTTED
        or not _DOTTED.fullmatch(text)
        or (attribute and ":" not in text)
        or (not attribute and ":" in text)
    ):
        form = "package.module:function" if attribute else "package.module"
        raise ctx.fail(key, f"expected a dotted path like {form}, got {text!r}")
    module = text.split(":", 1)[0]
    if module_file(ctx.root, module) is None:
        raise ctx.fail(key, f"module {module!r} not found under src/ or the project root")
    return text


def module_file(root: Path, module: str) -> Path | None:
    """Where ``module`` lives, without importing it.

    In the project (src layout or flat), else where the project is installed
    as a package (a serving image installs the project's wheel, not ``src/``).
    """
    parts = module.split(".")
    bases = [root / "src", root]
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec(parts[0])  # the top-level package on sys.path; nothing runs
    if spec is not None and spec.submodule_search_locations:
        bases += [Path(location).parent for location in spec.submodule_search_locations]
    elif spec is not None and spec.origin:
        bases.append(Path(spec.origin).parent)
    for base in bases:
        candidate = base.joinpath(*parts)
        if candidate.with_suffix(".py").is_file():
            return candidate.with_suffix(".py")
        if (candidate / "__init__.py").is_file():
            return candidate / "__init__.py"
    return None


def expect_path(ctx: Ctx, key: str, value: Any, *, must_exist: bool) -> Path:
    """A path relative to the project (or absolute); ``~`` is refused, never expanded.

    ``~`` means another folder on every machine (a colleague's, CI's, the image's),
    so a committed mlprod.yaml would mean different files in each; and ``registry``
    and ``skew.serving_log`` are folders mlprod writes, which ``~`` would put
    outside the project.
    """
    text = expect_str(ctx, key, value)
    if text.startswith("~"):
        raise ctx.fail(
            key,
            f"{_join('', text)}: '~' is not expanded; write the path relative to the project "
            "(or absolute)",
        )
    path = Path(text)
    path = path if path.is_absolute() else ctx.root / path
    try:  # also for a path only written: a name the file system refuses is refused here
        missing = not path.exists()
    except OSError as exc:  # a name too long for the file system, say
        raise ctx.fail(key, f"{_join('', text[:80])}: {exc.strerror}") from None
    if must_exist and missing:
        raise ctx.fail(key, f"{_join('', text)}: no such file")
    return path


def metric_ref(ctx: Ctx, key: str, value: Any, metrics: set[str]) -> MetricRef:
    text = expect_str(ctx, key, value)
    name, _, cls = text.partition("@")
    if name not in metrics:
        raise ctx.fail(key, f"unknown metric {name!r} (known: {', '.join(sorted(metrics))})")
    if "@" in text and not cls:
        raise ctx.fail(key, f"{text!r}: class missing after '@'")
    return MetricRef(name, cls or None)


def metric_map(ctx: Ctx, key: str, value: Any, metrics: set[str], *, low: float = 0.0) -> dict:
    expect_mapping(ctx, key, value, set(value) if isinstance(value, dict) else set(), set())
    return {
        metric_ref(ctx, _join(key, k), k, metrics): expect_number(ctx, _join(key, k), v, low=low)
        for k, v in value.items()
    }


def custom_metric_names(root: Path, module: str | None) -> set[str]:
    """Names in the metrics module's ``CUSTOM_METRICS = {...}``, read without importing it."""
    if module is None:
        return set()
    source = module_file(root, module)
    if source is None:
        return set()
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return set()
    for node in tree.body:
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if (
            isinstance(target, ast.Name)
            and target.id == "CUSTOM_METRICS"
            and isinstance(value, ast.Dict)
        ):
            return {
                k.value
                for k in value.keys
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            }
    return set()
