"""``mlprod.yaml``: the contract between a project and mlprod.

The file is read by :mod:`._yaml` (every value keeps the line it came from, and
what YAML can say but the schema cannot mean is refused there); validation then
walks a small declarative schema and raises a
:class:`~mlprod_cli.errors.ConfigError` that names the file, the line and the
dotted key (``mlprod.yaml:14: metrics.gates[0].min: expected a number, got
'high'``). Unknown keys are errors, not silently ignored: a typo in a gate
must not turn the gate off.

The schema is hand-written rather than pydantic's because ``mlprod check``
runs in pre-commit hooks and must start fast, and because the error messages
are the product here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mlprod_cli.core.config._model import (
    CONFIG_NAME,
    Config,
    DataSpec,
    FeatureSpec,
    Gate,
    MetricRef,
    MetricsSpec,
    ServeSpec,
    SkewSpec,
    Split,
    TuneSpec,
)
from mlprod_cli.core.config._model import config_error as _error
from mlprod_cli.core.config._yaml import join_key as _join
from mlprod_cli.core.config._yaml import read_yaml
from mlprod_cli.core.names import METRIC_NAMES, SKEW_STATISTICS
from mlprod_cli.errors import ConfigError

#: Metric names a gate, an objective or a threshold may use (see docs/metrics.md).
KNOWN_METRICS = ("accuracy", *METRIC_NAMES)

_DOTTED = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$"
)
_MAX_DOTTED = 200  # longer module paths than this are not code, and not a file name either
# numpy's random seeds (scikit-learn's random_state) are 32-bit.
MAX_SEED = 2**32 - 1
# A host name or address as the server binds it: letters, digits, dots, colons (IPv6),
# hyphens, underscores and an IPv6 zone's percent sign; no blank, NUL or control character.
_HOST = re.compile(r"^[A-Za-z0-9._:%-]{1,253}$")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?", re.ASCII)


# --------------------------------------------------------------------------- schema walking


class _Ctx:
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


def _describe(value: Any) -> str:
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


def _mapping(ctx: _Ctx, key: str, value: Any, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(value, dict):
        raise ctx.fail(key, f"expected a mapping, got {_describe(value)}")
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


def _str(ctx: _Ctx, key: str, value: Any, *, choices: tuple[str, ...] | None = None) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ctx.fail(key, f"expected a string, got {_describe(value)}")
    text = str(value)
    if not text.strip():
        raise ctx.fail(key, "must not be empty")
    if choices is not None and text not in choices:
        raise ctx.fail(key, f"expected one of {', '.join(choices)}, got {text!r}")
    return text


def _number(
    ctx: _Ctx, key: str, value: Any, *, low: float | None = None, high: float | None = None
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ctx.fail(key, f"expected a number, got {_describe(value)}")
    try:
        number = float(value)
    except OverflowError:  # a whole number past 1.8e308
        raise ctx.fail(key, f"expected a number, got one too large ({_describe(value)})") from None
    if number != number:  # NaN
        raise ctx.fail(key, "expected a number, got NaN")
    if number in (float("inf"), float("-inf")):
        raise ctx.fail(key, f"expected a finite number, got {number}")
    if low is not None and number < low:
        raise ctx.fail(key, f"must be at least {low:g}, got {number:g}")
    if high is not None and number > high:
        raise ctx.fail(key, f"must be at most {high:g}, got {number:g}")
    return number


def _int(
    ctx: _Ctx, key: str, value: Any, *, low: int | None = None, high: int | None = None
) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.fail(key, f"expected a whole number, got {_describe(value)}")
    if low is not None and value < low:
        raise ctx.fail(key, f"must be at least {low}, got {value}")
    if high is not None and value > high:
        raise ctx.fail(key, f"must be at most {high}, got {value}")
    return value


def _list(ctx: _Ctx, key: str, value: Any, item: Callable[[_Ctx, str, Any], Any]) -> tuple:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]  # a lone value is a list of one
    if not isinstance(value, list):
        raise ctx.fail(key, f"expected a list, got {_describe(value)}")
    return tuple(item(ctx, f"{key}[{i}]", v) for i, v in enumerate(value))


def _dotted(ctx: _Ctx, key: str, value: Any, *, attribute: bool) -> str:
    text = _str(ctx, key, value)
    if (
        len(text) > _MAX_DOTTED
        or not _DOTTED.fullmatch(text)
        or (attribute and ":" not in text)
        or (not attribute and ":" in text)
    ):
        form = "package.module:function" if attribute else "package.module"
        raise ctx.fail(key, f"expected a dotted path like {form}, got {text!r}")
    module = text.split(":", 1)[0]
    if _module_file(ctx.root, module) is None:
        raise ctx.fail(key, f"module {module!r} not found under src/ or the project root")
    return text


def _module_file(root: Path, module: str) -> Path | None:
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


def _path(ctx: _Ctx, key: str, value: Any, *, must_exist: bool) -> Path:
    """A path relative to the project (or absolute); ``~`` is refused, never expanded.

    ``~`` means another folder on every machine (a colleague's, CI's, the image's),
    so a committed mlprod.yaml would mean different files in each; and ``registry``
    and ``skew.serving_log`` are folders mlprod writes, which ``~`` would put
    outside the project.
    """
    text = _str(ctx, key, value)
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


def _metric_ref(ctx: _Ctx, key: str, value: Any, metrics: set[str]) -> MetricRef:
    text = _str(ctx, key, value)
    name, _, cls = text.partition("@")
    if name not in metrics:
        raise ctx.fail(key, f"unknown metric {name!r} (known: {', '.join(sorted(metrics))})")
    if "@" in text and not cls:
        raise ctx.fail(key, f"{text!r}: class missing after '@'")
    return MetricRef(name, cls or None)


def _metric_map(ctx: _Ctx, key: str, value: Any, metrics: set[str], *, low: float = 0.0) -> dict:
    _mapping(ctx, key, value, set(value) if isinstance(value, dict) else set(), set())
    return {
        _metric_ref(ctx, _join(key, k), k, metrics): _number(ctx, _join(key, k), v, low=low)
        for k, v in value.items()
    }


def _custom_metric_names(root: Path, module: str | None) -> set[str]:
    """Names in the metrics module's ``CUSTOM_METRICS = {...}``, read without importing it."""
    if module is None:
        return set()
    source = _module_file(root, module)
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


# --------------------------------------------------------------------------- the sections


def _split(ctx: _Ctx, key: str, value: Any) -> Split:
    raw = _mapping(ctx, key, value, {"by", "column", "cutoff", "test_size", "seed"}, {"by"})
    by = _str(ctx, f"{key}.by", raw["by"], choices=("time", "random"))
    if by == "time":
        for needed in ("column", "cutoff"):
            if raw.get(needed) is None:
                raise ctx.fail(key, f"a split by time needs '{needed}'")
        cutoff = _str(ctx, f"{key}.cutoff", raw["cutoff"])  # an unquoted date is its text
        if not _DATE.fullmatch(cutoff):
            raise ctx.fail(f"{key}.cutoff", f"expected a date like 2024-07-01, got {cutoff!r}")
        try:
            datetime.fromisoformat(cutoff)
        except ValueError as exc:  # 2024-02-30: the form of a date, but no such day
            raise ctx.fail(f"{key}.cutoff", f"{cutoff!r} is not a date ({exc})") from None
        return Split("time", column=_str(ctx, f"{key}.column", raw["column"]), cutoff=cutoff)
    test_size = _number(ctx, f"{key}.test_size", raw.get("test_size", 0.2), low=0.0, high=1.0)
    if not 0.0 < test_size < 1.0:
        raise ctx.fail(
            f"{key}.test_size", f"must be between 0 and 1 (exclusive), got {test_size:g}"
        )
    return Split(
        "random",
        column=None if raw.get("column") is None else _str(ctx, f"{key}.column", raw["column"]),
        test_size=test_size,
        seed=_int(ctx, f"{key}.seed", raw.get("seed", 42), low=0, high=MAX_SEED),
    )


def _data(ctx: _Ctx, value: Any) -> DataSpec:
    raw = _mapping(
        ctx,
        "data",
        value,
        {"train", "test", "loader", "split", "target", "positive_class", "exclude"},
        {"train", "target"},
    )
    if raw.get("test") is not None and raw.get("split") is not None:
        raise ctx.fail("data.split", "give either 'test' (a file) or 'split', not both")
    return DataSpec(
        train=_path(ctx, "data.train", raw["train"], must_exist=ctx.need_data),
        test=None
        if raw.get("test") is None
        else _path(ctx, "data.test", raw["test"], must_exist=ctx.need_data),
        loader=None
        if raw.get("loader") is None
        else _dotted(ctx, "data.loader", raw["loader"], attribute=True),
        split=None if raw.get("split") is None else _split(ctx, "data.split", raw["split"]),
        target=_str(ctx, "data.target", raw["target"]),
        positive_class=None
        if raw.get("positive_class") is None
        else _str(ctx, "data.positive_class", raw["positive_class"]),
        exclude=_list(ctx, "data.exclude", raw.get("exclude") or [], _str),
    )


TASKS = ("classification",)


def _features(ctx: _Ctx, value: Any, data: DataSpec) -> FeatureSpec:
    raw = _mapping(ctx, "features", value, {"numeric", "categorical"}, set())
    numeric = _list(ctx, "features.numeric", raw.get("numeric") or [], _str)
    categorical = _list(ctx, "features.categorical", raw.get("categorical") or [], _str)
    seen: dict[str, str] = {}
    for kind, names in (("numeric", numeric), ("categorical", categorical)):
        for i, name in enumerate(names):
            key = f"features.{kind}[{i}]"
            if name in seen:
                raise ctx.fail(key, f"'{name}' is listed twice (also in features.{seen[name]})")
            if name == data.target:
                raise ctx.fail(key, f"'{name}' is the target; the model must not see it")
            if name in data.exclude:
                raise ctx.fail(key, f"'{name}' is in data.exclude; a feature cannot be excluded")
            seen[name] = kind
    if not seen:
        raise ctx.fail("features", "lists no column; name the numeric and categorical features")
    return FeatureSpec(numeric=numeric, categorical=categorical)


def _gate(ctx: _Ctx, key: str, value: Any, metrics: set[str]) -> Gate:
    raw = _mapping(ctx, key, value, {"metric", "class", "min", "max", "slice"}, {"metric"})
    metric = _str(ctx, f"{key}.metric", raw["metric"])
    if metric not in metrics:
        raise ctx.fail(
            f"{key}.metric", f"unknown metric {metric!r} (known: {', '.join(sorted(metrics))})"
        )
    if raw.get("min") is None and raw.get("max") is None:
        raise ctx.fail(key, "a gate needs 'min' or 'max'")
    return Gate(
        metric=metric,
        cls=None if raw.get("class") is None else _str(ctx, f"{key}.class", raw["class"]),
        min=None if raw.get("min") is None else _number(ctx, f"{key}.min", raw["min"]),
        max=None if raw.get("max") is None else _number(ctx, f"{key}.max", raw["max"]),
        slice=None if raw.get("slice") is None else _str(ctx, f"{key}.slice", raw["slice"]),
    )


def _metrics(ctx: _Ctx, value: Any) -> MetricsSpec:
    raw = _mapping(
        ctx,
        "metrics",
        value or {},
        {
            "module",
            "objective",
            "gates",
            "beat_baseline",
            "max_regression",
            "slices",
            "max_slice_gap",
        },
        set(),
    )
    module = (
        None
        if raw.get("module") is None
        else _dotted(ctx, "metrics.module", raw["module"], attribute=False)
    )
    names = set(KNOWN_METRICS) | _custom_metric_names(ctx.root, module)
    return MetricsSpec(
        module=module,
        objective=None
        if raw.get("objective") is None
        else _metric_ref(ctx, "metrics.objective", raw["objective"], names),
        gates=_list(
            ctx, "metrics.gates", raw.get("gates") or [], lambda c, k, v: _gate(c, k, v, names)
        ),
        beat_baseline=_list(
            ctx,
            "metrics.beat_baseline",
            raw.get("beat_baseline") or [],
            lambda c, k, v: _metric_ref(c, k, v, names),
        ),
        max_regression=_metric_map(
            ctx, "metrics.max_regression", raw.get("max_regression") or {}, names
        ),
        slices=_list(ctx, "metrics.slices", raw.get("slices") or [], _str),
        max_slice_gap=_metric_map(
            ctx, "metrics.max_slice_gap", raw.get("max_slice_gap") or {}, names
        ),
    )


# More candidates than this is a typo, not a search that will ever end.
MAX_CANDIDATES = 10_000


def _tune(ctx: _Ctx, value: Any) -> TuneSpec:
    raw = _mapping(ctx, "tune", value, {"search", "cv", "n_iter", "seed", "params"}, {"params"})
    params = _mapping(
        ctx,
        "tune.params",
        raw["params"],
        set(raw["params"]) if isinstance(raw["params"], dict) else set(),
        set(),
    )
    if not params:
        raise ctx.fail("tune.params", "name at least one parameter to search")
    grid: dict[str, list[Any]] = {}
    for name, values in params.items():
        key = _join("tune.params", name)
        if not isinstance(values, list) or not values:
            raise ctx.fail(key, f"expected a non-empty list of values, got {_describe(values)}")
        grid[name] = values
    return TuneSpec(
        search=_str(ctx, "tune.search", raw.get("search", "grid"), choices=("grid", "random")),
        cv=_int(ctx, "tune.cv", raw.get("cv", 5), low=2, high=100),
        n_iter=_int(ctx, "tune.n_iter", raw.get("n_iter", 10), low=1, high=MAX_CANDIDATES),
        seed=_int(ctx, "tune.seed", raw.get("seed", 42), low=0, high=MAX_SEED),
        params=grid,
    )


_SKEW_STATS = SKEW_STATISTICS


def _threshold_value(ctx: _Ctx, key: str, value: Any) -> Any:
    if isinstance(value, dict):
        raw = _mapping(ctx, key, value, {"warn", "fail"}, set())
        out = {level: _number(ctx, f"{key}.{level}", v, low=0.0) for level, v in raw.items()}
        if "warn" in out and "fail" in out and out["warn"] > out["fail"]:
            raise ctx.fail(key, f"warn ({out['warn']:g}) is above fail ({out['fail']:g})")
        return out
    return _number(ctx, key, value, low=0.0)


def _thresholds(ctx: _Ctx, key: str, value: Any) -> dict[str, Any]:
    raw = _mapping(ctx, key, value or {}, set(_SKEW_STATS), set())
    return {name: _threshold_value(ctx, _join(key, name), v) for name, v in raw.items()}


def _skew(ctx: _Ctx, value: Any) -> SkewSpec:
    raw = _mapping(ctx, "skew", value or {}, {"serving_log", "thresholds", "features"}, set())
    features_raw = raw.get("features") or {}
    _mapping(
        ctx,
        "skew.features",
        features_raw,
        set(features_raw) if isinstance(features_raw, dict) else set(),
        set(),
    )
    return SkewSpec(
        serving_log=_path(
            ctx, "skew.serving_log", raw.get("serving_log", "logs/requests/"), must_exist=False
        ),
        thresholds=_thresholds(ctx, "skew.thresholds", raw.get("thresholds")),
        features={
            name: _thresholds(ctx, _join("skew.features", name), v)
            for name, v in features_raw.items()
        },
    )


def _serve(ctx: _Ctx, value: Any) -> ServeSpec:
    raw = _mapping(ctx, "serve", value or {}, {"host", "port"}, set())
    host = _str(ctx, "serve.host", raw.get("host", "127.0.0.1"))
    if not _HOST.fullmatch(host):
        raise ctx.fail(
            "serve.host", f"expected a host name or address like 127.0.0.1, got {_describe(host)}"
        )
    return ServeSpec(
        host=host,
        port=_int(ctx, "serve.port", raw.get("port", 8000), low=1, high=65535),
    )


_TOP_KEYS = {
    "project",
    "task",
    "features",
    "data",
    "model",
    "baseline",
    "metrics",
    "tune",
    "store",
    "registry",
    "skew",
    "serve",
}


def parse_config(path: Path, *, need_data: bool = True) -> Config:
    """Read and validate ``path`` (an ``mlprod.yaml``); raise ConfigError naming the key.

    ``need_data=False`` is for commands that never read the training data
    (``serve``, ``predict``): a serving image carries ``mlprod.yaml`` but not
    ``data/``, so there the data files need not exist.
    """
    # The folder is resolved, not the file: a linked mlprod.yaml does not move the project.
    path = path.parent.resolve() / path.name
    raw, lines = read_yaml(path)
    ctx = _Ctx(path, lines, path.parent, need_data=need_data)
    if raw is None:
        raise ConfigError(f"{path.name}: the file is empty")
    raw = _mapping(ctx, "", raw, _TOP_KEYS, {"project", "data", "model"})
    data = _data(ctx, raw["data"])
    return Config(
        root=path.parent,
        path=path,
        project=_str(ctx, "project", raw["project"]),
        data=data,
        model=_dotted(ctx, "model", raw["model"], attribute=True),
        baseline=None
        if raw.get("baseline") is None
        else _dotted(ctx, "baseline", raw["baseline"], attribute=True),
        metrics=_metrics(ctx, raw.get("metrics")),
        tune=None if raw.get("tune") is None else _tune(ctx, raw["tune"]),
        store=_str(ctx, "store", raw.get("store", "sqlite:///.mlprod/metrics.db")),
        registry=_path(ctx, "registry", raw.get("registry", "models/"), must_exist=False),
        skew=_skew(ctx, raw.get("skew")),
        serve=_serve(ctx, raw.get("serve")),
        task=_str(ctx, "task", raw.get("task", "classification"), choices=TASKS),
        features=None if raw.get("features") is None else _features(ctx, raw["features"], data),
        lines=lines,
    )


def load_config(start: Path | None = None, *, need_data: bool = True) -> Config:
    """Find ``mlprod.yaml`` at or above ``start`` (default: the working directory) and load it."""
    from mlprod_cli.core.project import find_project_root

    root = find_project_root(start)
    if root is None:
        here = (start or Path.cwd()).resolve()
        raise ConfigError(
            f"no {CONFIG_NAME} in {here} or any folder above it",
            hint="run this inside a project made by 'mlprod new NAME'",
        )
    return parse_config(root / CONFIG_NAME, need_data=need_data)
