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

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from mlprod_cli.core.config._model import (
    CONFIG_NAME,
    Config,
    DataSpec,
    FeatureSpec,
    Gate,
    MetricsSpec,
    ServeSpec,
    SkewSpec,
    Split,
    TuneSpec,
)
from mlprod_cli.core.config._values import (
    Ctx,
    custom_metric_names,
    describe,
    expect_dotted,
    expect_int,
    expect_list,
    expect_mapping,
    expect_number,
    expect_path,
    expect_str,
    metric_map,
    metric_ref,
)
from mlprod_cli.core.config._yaml import join_key as _join
from mlprod_cli.core.config._yaml import read_yaml
from mlprod_cli.core.names import METRIC_NAMES, REGRESSION_METRIC_NAMES, SKEW_STATISTICS, TASKS
from mlprod_cli.errors import ConfigError

#: Metric names a gate, an objective or a threshold may use (see docs/metrics.md).
KNOWN_METRICS = ("accuracy", *METRIC_NAMES)
REGRESSION_METRICS = REGRESSION_METRIC_NAMES

# numpy's random seeds (scikit-learn's random_state) are 32-bit.
MAX_SEED = 2**32 - 1
# A host name or address as the server binds it: letters, digits, dots, colons (IPv6),
# hyphens, underscores and an IPv6 zone's percent sign; no blank, NUL or control character.
_HOST = re.compile(r"^[A-Za-z0-9._:%-]{1,253}$")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?", re.ASCII)


# --------------------------------------------------------------------------- the sections


def _split(ctx: Ctx, key: str, value: Any) -> Split:
    raw = expect_mapping(ctx, key, value, {"by", "column", "cutoff", "test_size", "seed"}, {"by"})
    by = expect_str(ctx, f"{key}.by", raw["by"], choices=("time", "random"))
    if by == "time":
        for needed in ("column", "cutoff"):
            if raw.get(needed) is None:
                raise ctx.fail(key, f"a split by time needs '{needed}'")
        cutoff = expect_str(ctx, f"{key}.cutoff", raw["cutoff"])  # an unquoted date is its text
        if not _DATE.fullmatch(cutoff):
            raise ctx.fail(f"{key}.cutoff", f"expected a date like 2024-07-01, got {cutoff!r}")
        try:
            datetime.fromisoformat(cutoff)
        except ValueError as exc:  # 2024-02-30: the form of a date, but no such day
            raise ctx.fail(f"{key}.cutoff", f"{cutoff!r} is not a date ({exc})") from None
        return Split("time", column=expect_str(ctx, f"{key}.column", raw["column"]), cutoff=cutoff)
    test_size = expect_number(ctx, f"{key}.test_size", raw.get("test_size", 0.2), low=0.0, high=1.0)
    if not 0.0 < test_size < 1.0:
        raise ctx.fail(
            f"{key}.test_size", f"must be between 0 and 1 (exclusive), got {test_size:g}"
        )
    return Split(
        "random",
        column=None
        if raw.get("column") is None
        else expect_str(ctx, f"{key}.column", raw["column"]),
        test_size=test_size,
        seed=expect_int(ctx, f"{key}.seed", raw.get("seed", 42), low=0, high=MAX_SEED),
    )


def _data(ctx: Ctx, value: Any) -> DataSpec:
    raw = expect_mapping(
        ctx,
        "data",
        value,
        {"train", "test", "loader", "split", "target", "positive_class", "exclude", "label_patch"},
        {"train", "target"},
    )
    if raw.get("test") is not None and raw.get("split") is not None:
        raise ctx.fail("data.split", "give either 'test' (a file) or 'split', not both")
    return DataSpec(
        train=expect_path(ctx, "data.train", raw["train"], must_exist=ctx.need_data),
        test=None
        if raw.get("test") is None
        else expect_path(ctx, "data.test", raw["test"], must_exist=ctx.need_data),
        loader=None
        if raw.get("loader") is None
        else expect_dotted(ctx, "data.loader", raw["loader"], attribute=True),
        split=None if raw.get("split") is None else _split(ctx, "data.split", raw["split"]),
        target=expect_str(ctx, "data.target", raw["target"]),
        positive_class=None
        if raw.get("positive_class") is None
        else expect_str(ctx, "data.positive_class", raw["positive_class"]),
        exclude=expect_list(ctx, "data.exclude", raw.get("exclude") or [], expect_str),
        label_patch=None
        if raw.get("label_patch") is None
        else expect_path(ctx, "data.label_patch", raw["label_patch"], must_exist=ctx.need_data),
    )


def _features(ctx: Ctx, value: Any, data: DataSpec) -> FeatureSpec:
    raw = expect_mapping(ctx, "features", value, {"numeric", "categorical"}, set())
    numeric = expect_list(ctx, "features.numeric", raw.get("numeric") or [], expect_str)
    categorical = expect_list(ctx, "features.categorical", raw.get("categorical") or [], expect_str)
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


def _gate(ctx: Ctx, key: str, value: Any, metrics: set[str]) -> Gate:
    raw = expect_mapping(ctx, key, value, {"metric", "class", "min", "max", "slice"}, {"metric"})
    metric = expect_str(ctx, f"{key}.metric", raw["metric"])
    if metric not in metrics:
        raise ctx.fail(
            f"{key}.metric", f"unknown metric {metric!r} (known: {', '.join(sorted(metrics))})"
        )
    if raw.get("min") is None and raw.get("max") is None:
        raise ctx.fail(key, "a gate needs 'min' or 'max'")
    return Gate(
        metric=metric,
        cls=None if raw.get("class") is None else expect_str(ctx, f"{key}.class", raw["class"]),
        min=None if raw.get("min") is None else expect_number(ctx, f"{key}.min", raw["min"]),
        max=None if raw.get("max") is None else expect_number(ctx, f"{key}.max", raw["max"]),
        slice=None if raw.get("slice") is None else expect_str(ctx, f"{key}.slice", raw["slice"]),
    )


def _no_classes(ctx: Ctx, spec: MetricsSpec) -> MetricsSpec:
    """A regression project's metrics name no class: ``mae@high`` is a mistake, said where."""
    named = [("metrics.objective", spec.objective)] if spec.objective else []
    named += [(f"metrics.beat_baseline[{i}]", ref) for i, ref in enumerate(spec.beat_baseline)]
    named += [(_join("metrics.max_regression", str(ref)), ref) for ref in spec.max_regression]
    named += [(_join("metrics.max_slice_gap", str(ref)), ref) for ref in spec.max_slice_gap]
    for key, ref in named:
        if ref.cls is not None:
            raise ctx.fail(key, f"{ref}: a regression project has no classes; write {ref.metric!r}")
    for i, gate in enumerate(spec.gates):
        if gate.cls is not None:
            raise ctx.fail(
                f"metrics.gates[{i}].class", "a regression project has no classes; remove 'class'"
            )
    return spec


def _metrics(ctx: Ctx, value: Any, task: str = "classification") -> MetricsSpec:
    raw = expect_mapping(
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
            "max_label_issue_rate",
        },
        set(),
    )
    if task == "regression" and raw.get("max_label_issue_rate") is not None:
        raise ctx.fail(
            "metrics.max_label_issue_rate", "label issues are a classifier's; a regression has none"
        )
    module = (
        None
        if raw.get("module") is None
        else expect_dotted(ctx, "metrics.module", raw["module"], attribute=False)
    )
    known = REGRESSION_METRICS if task == "regression" else KNOWN_METRICS
    names = set(known) | custom_metric_names(ctx.root, module)
    spec = MetricsSpec(
        module=module,
        objective=None
        if raw.get("objective") is None
        else metric_ref(ctx, "metrics.objective", raw["objective"], names),
        gates=expect_list(
            ctx, "metrics.gates", raw.get("gates") or [], lambda c, k, v: _gate(c, k, v, names)
        ),
        beat_baseline=expect_list(
            ctx,
            "metrics.beat_baseline",
            raw.get("beat_baseline") or [],
            lambda c, k, v: metric_ref(c, k, v, names),
        ),
        max_regression=metric_map(
            ctx, "metrics.max_regression", raw.get("max_regression") or {}, names
        ),
        slices=expect_list(ctx, "metrics.slices", raw.get("slices") or [], expect_str),
        max_slice_gap=metric_map(
            ctx, "metrics.max_slice_gap", raw.get("max_slice_gap") or {}, names
        ),
        max_label_issue_rate=None
        if raw.get("max_label_issue_rate") is None
        else expect_number(
            ctx, "metrics.max_label_issue_rate", raw["max_label_issue_rate"], low=0.0, high=1.0
        ),
    )
    return _no_classes(ctx, spec) if task == "regression" else spec


# More candidates than this is a typo, not a search that will ever end.
MAX_CANDIDATES = 10_000


def _tune(ctx: Ctx, value: Any) -> TuneSpec:
    raw = expect_mapping(
        ctx, "tune", value, {"search", "cv", "n_iter", "seed", "params"}, {"params"}
    )
    params = expect_mapping(
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
            raise ctx.fail(key, f"expected a non-empty list of values, got {describe(values)}")
        grid[name] = values
    return TuneSpec(
        search=expect_str(
            ctx, "tune.search", raw.get("search", "grid"), choices=("grid", "random")
        ),
        cv=expect_int(ctx, "tune.cv", raw.get("cv", 5), low=2, high=100),
        n_iter=expect_int(ctx, "tune.n_iter", raw.get("n_iter", 10), low=1, high=MAX_CANDIDATES),
        seed=expect_int(ctx, "tune.seed", raw.get("seed", 42), low=0, high=MAX_SEED),
        params=grid,
    )


_SKEW_STATS = SKEW_STATISTICS


def _threshold_value(ctx: Ctx, key: str, value: Any) -> Any:
    if isinstance(value, dict):
        raw = expect_mapping(ctx, key, value, {"warn", "fail"}, set())
        out = {level: expect_number(ctx, f"{key}.{level}", v, low=0.0) for level, v in raw.items()}
        if "warn" in out and "fail" in out and out["warn"] > out["fail"]:
            raise ctx.fail(key, f"warn ({out['warn']:g}) is above fail ({out['fail']:g})")
        return out
    return expect_number(ctx, key, value, low=0.0)


def _thresholds(ctx: Ctx, key: str, value: Any) -> dict[str, Any]:
    raw = expect_mapping(ctx, key, value or {}, set(_SKEW_STATS), set())
    return {name: _threshold_value(ctx, _join(key, name), v) for name, v in raw.items()}


def _skew(ctx: Ctx, value: Any) -> SkewSpec:
    raw = expect_mapping(ctx, "skew", value or {}, {"serving_log", "thresholds", "features"}, set())
    features_raw = raw.get("features") or {}
    expect_mapping(
        ctx,
        "skew.features",
        features_raw,
        set(features_raw) if isinstance(features_raw, dict) else set(),
        set(),
    )
    return SkewSpec(
        serving_log=expect_path(
            ctx, "skew.serving_log", raw.get("serving_log", "logs/requests/"), must_exist=False
        ),
        thresholds=_thresholds(ctx, "skew.thresholds", raw.get("thresholds")),
        features={
            name: _thresholds(ctx, _join("skew.features", name), v)
            for name, v in features_raw.items()
        },
    )


def _serve(ctx: Ctx, value: Any) -> ServeSpec:
    raw = expect_mapping(ctx, "serve", value or {}, {"host", "port"}, set())
    host = expect_str(ctx, "serve.host", raw.get("host", "127.0.0.1"))
    if not _HOST.fullmatch(host):
        raise ctx.fail(
            "serve.host", f"expected a host name or address like 127.0.0.1, got {describe(host)}"
        )
    return ServeSpec(
        host=host,
        port=expect_int(ctx, "serve.port", raw.get("port", 8000), low=1, high=65535),
    )


def _task_rules(ctx: Ctx, task: str, value: Any) -> Path:
    """The rules file; a regression project has none (a rule's effects name classes)."""
    if task == "regression":
        raise ctx.fail(
            "rules",
            "a regression project has no rules layer (rules allow, deny or force classes); remove it",
        )
    return _rules(ctx, value)


def _rules(ctx: Ctx, value: Any) -> Path:
    """The rules file: a regular file inside the project, never a link out of it.

    A version keeps a copy of its rules and ``package`` builds them into the
    image, so a path that leads outside the project would carry a file from
    elsewhere into an artifact.
    """
    if isinstance(value, list):
        raise ctx.fail(
            "rules",
            "expected the path of a rules file (rules: rules.yaml), not the rules themselves; "
            "a version keeps a copy of that file, which models rollback restores",
        )
    path = expect_path(ctx, "rules", value, must_exist=True)
    root = ctx.root.resolve()
    try:
        path.resolve().relative_to(root)
        path.parent.resolve().relative_to(root)
    except ValueError:
        raise ctx.fail("rules", f"{value}: is outside the project") from None
    if path.is_symlink():
        raise ctx.fail("rules", f"{value}: is a symbolic link; name the file itself")
    if not path.is_file():
        raise ctx.fail("rules", f"{value}: not a regular file")
    return path


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
    "rules",
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
    ctx = Ctx(path, lines, path.parent, need_data=need_data)
    if raw is None:
        raise ConfigError(f"{path.name}: the file is empty")
    raw = expect_mapping(ctx, "", raw, _TOP_KEYS, {"project", "data", "model"})
    data = _data(ctx, raw["data"])
    task = expect_str(ctx, "task", raw.get("task", "classification"), choices=TASKS)
    if task == "regression" and data.positive_class is not None:
        raise ctx.fail("data.positive_class", "a regression project has no classes; remove it")
    return Config(
        root=path.parent,
        path=path,
        project=expect_str(ctx, "project", raw["project"]),
        data=data,
        model=expect_dotted(ctx, "model", raw["model"], attribute=True),
        baseline=None
        if raw.get("baseline") is None
        else expect_dotted(ctx, "baseline", raw["baseline"], attribute=True),
        metrics=_metrics(ctx, raw.get("metrics"), task),
        tune=None if raw.get("tune") is None else _tune(ctx, raw["tune"]),
        store=expect_str(ctx, "store", raw.get("store", "sqlite:///.mlprod/metrics.db")),
        registry=expect_path(ctx, "registry", raw.get("registry", "models/"), must_exist=False),
        skew=_skew(ctx, raw.get("skew")),
        serve=_serve(ctx, raw.get("serve")),
        task=task,
        features=None if raw.get("features") is None else _features(ctx, raw["features"], data),
        rules=None if raw.get("rules") is None else _task_rules(ctx, task, raw["rules"]),
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
