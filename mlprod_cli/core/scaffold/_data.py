"""A project made for a table: the data profiled, the project decided, its first model measured.

``mlprod new NAME --data FILE --target COL`` and the sample project take the
same path here (the sample is the template's bundled file with the targets
and slices its ``cookiecutter.json`` names under ``_mlprod_data``):

1. :func:`plan_for` profiles the file and decides the project before anything
   is written, so bad input leaves nothing behind;
2. :func:`place_data` copies the file into ``data/`` (or records where it is,
   with ``--data-link``) and writes ``mlprod.yaml`` and ``data/README.md``;
3. :func:`measure` cross-validates the first model and the baseline with
   ``mlprod train --dry-run`` in the new project's own environment, and
   :func:`write_gates` rewrites ``mlprod.yaml`` with gates a stated margin
   below what the model reached.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.files import atomic_write_text, sha256_file
from mlprod_cli.adapters.tables import check_regular
from mlprod_cli.core.names import higher_is_better
from mlprod_cli.core.profile import Plan, PlanRequest, Profile, plan_project, profile_table
from mlprod_cli.core.scaffold._config_text import DataSource, config_text
from mlprod_cli.core.scaffold._gates import Measured, propose
from mlprod_cli.core.scaffold._tasks import (
    DATA_SPEC,
    DEFAULT_TASK,
    apply_task,
    source_name,
    task_specs,
)
from mlprod_cli.errors import DataError, ScaffoldError, UsageError

TEMPLATE_ROOT = "{{cookiecutter.project_name}}"
LARGE_DATA_BYTES = 50_000_000
"""A data file larger than this is not committed to git (it is listed in .gitignore)."""


@dataclass(frozen=True)
class DataRequest:
    """The ``--data`` options of ``mlprod new``."""

    path: Path | None = None
    target: str | None = None
    positive_class: str | None = None
    time_column: str | None = None
    slice_by: tuple[str, ...] = ()
    link: bool = False
    task: str | None = None


@dataclass
class DataPlan:
    """The file, its profile and the project decided from it."""

    source: Path
    own: bool  # the user's file, not the template's sample
    profile: Profile
    plan: Plan
    sha256: str
    link: bool = False
    command: str = ""
    name: str = ""  # the file's name in the project (a task's sample drops its prefix)

    @property
    def file_name(self) -> str:
        return self.name or self.source.name

    def train_path(self, project_dir: Path | None = None) -> str:
        """``data.train`` as written in mlprod.yaml."""
        return str(self.source.resolve()) if self.link else f"data/{self.file_name}"


def check_request(request: DataRequest, spec: dict[str, Any] | None, template: str) -> None:
    """Options that cannot go together, before anything is read."""
    if request.path is None:
        for name, value in (
            ("--target", request.target),
            ("--positive-class", request.positive_class),
            ("--time-column", request.time_column),
            ("--task", request.task),
        ):
            if value is not None:
                raise UsageError(f"{name} goes with --data FILE")
        if request.link:
            raise UsageError("--data-link goes with --data FILE")
        if request.slice_by and spec is None:
            raise UsageError("--slice-by goes with --data FILE")
        return
    if spec is None:
        raise UsageError(
            f"--data: template {template} does not say how to use a data file "
            f"(its cookiecutter.json has no '{DATA_SPEC}')"
        )
    if not request.target:
        raise UsageError("--data needs --target COL: the column to predict")


def plan_for(
    request: DataRequest,
    spec: dict[str, Any] | None,
    template_dir: Path | None,
    template_task: str | None = None,
) -> DataPlan | None:
    """Profile the data (the user's, else the template's sample) and decide the project.

    ``template_task`` is the task the template was named for (``--template
    regression``); without it the data decide, unless ``--task`` says.
    """
    if spec is None or template_dir is None:
        return None
    tasks = task_specs(spec)
    if template_task and request.task not in (None, template_task):
        raise UsageError(
            f"--task {request.task}: template {template_task} makes {template_task} projects"
        )
    task = request.task or template_task
    own = request.path is not None
    if own:
        source = request.path.expanduser()
        if source.is_dir():
            raise DataError(f"--data {source}: is a folder, not a CSV or Parquet file")
        try:
            check_regular(source, f"--data {source}: no such file")
        except DataError as exc:  # a FIFO, a device, a dangling link: named as the option
            message = exc.message
            raise DataError(
                message if message.startswith("--data") else f"--data {message}"
            ) from None
        plan_request = PlanRequest(
            target=request.target,
            positive_class=request.positive_class,
            time_column=request.time_column,
            slice_by=request.slice_by,
            task=task,
        )
    else:
        sample = tasks.get(task, spec)
        source = template_dir / TEMPLATE_ROOT / source_name(sample["sample"], task or DEFAULT_TASK)
        plan_request = PlanRequest(
            target=sample["target"],
            positive_class=sample.get("positive_class"),
            time_column=sample.get("time_column"),
            slice_by=tuple(request.slice_by or sample.get("slice_by") or ()),
            task=task,
        )
    profile = profile_table(source, target=plan_request.target)
    plan = plan_project(profile, plan_request)
    if plan.task != DEFAULT_TASK and plan.task not in tasks:
        raise UsageError(
            f"--target {plan.target}: a number to predict (regression), but this template "
            "makes classification projects only",
            hint="--task classification takes its values as classes",
        )
    command = _command_line(request, source if own else None, plan_request, template_task)
    name = source.name if own else Path(sample["sample"]).name
    return DataPlan(source, own, profile, plan, sha256_file(source), request.link, command, name)


def _command_line(
    request: DataRequest, source: Path | None, plan: PlanRequest, template_task: str | None
) -> str:
    template = f" --template {template_task}" if template_task else ""
    if source is None:
        slices = "".join(f" --slice-by {s}" for s in plan.slice_by)
        return f"mlprod new{template}{slices} (the sample)"
    parts = ["mlprod new NAME" + template, f"--data {source.name}", f"--target {plan.target}"]
    if request.task:
        parts.append(f"--task {request.task}")
    if request.positive_class:
        parts.append(f"--positive-class {request.positive_class}")
    if request.time_column:
        parts.append(f"--time-column {request.time_column}")
    parts += [f"--slice-by {s}" for s in request.slice_by]
    if request.link:
        parts.append("--data-link")
    return " ".join(parts)


def place_data(
    data: DataPlan, made: Path, spec: dict[str, Any], *, project: str, package: str
) -> list[str]:
    """Put the data into the rendered project and write ``mlprod.yaml``; return warnings."""
    warnings: list[str] = []
    folder = made / "data"
    folder.mkdir(exist_ok=True)
    task = data.plan.task
    tasks = task_specs(spec)
    apply_task(made, task, list(tasks))
    for leftover in _unused_samples(spec, tasks, task, data.own):
        (made / leftover).unlink(missing_ok=True)
    if data.own:
        if not data.link:
            shutil.copyfile(data.source, folder / data.file_name)
        atomic_write_text(folder / "README.md", data_readme(data))
        size = data.source.stat().st_size
        if size > LARGE_DATA_BYTES and not data.link:
            with (made / ".gitignore").open("a", encoding="utf-8") as handle:
                handle.write(
                    f"\n# {data.file_name} is {size / 1e6:.0f} MB: too large for git history"
                    " (keep it with git-lfs, DVC or your data store).\n"
                    f"/data/{data.file_name}\n"
                )
            warnings.append(
                f"data/{data.file_name} ({size / 1e6:.0f} MB) is not committed to git; "
                "it is listed in .gitignore"
            )
    write_config(data, made, project=project, package=package, measured=None)
    return warnings


def _unused_samples(
    spec: dict[str, Any], tasks: dict[str, dict[str, Any]], task: str, own: bool
) -> list[str]:
    """The sample files the project does not use: another task's, or all of them for own data.

    A sample's files are its data, its data dictionary and its example rules (on
    columns the user's data need not have). Another task's data dictionary is
    not listed: :func:`apply_task` replaced it with this task's.
    """
    keys = ("sample", "sample_readme", "sample_rules")
    mine = tasks.get(task, spec)
    out = [mine.get(k) for k in keys] if own else []
    if task != DEFAULT_TASK:  # the classification sample's data and rules
        out += [spec.get("sample"), spec.get("sample_rules")]
    return [path for path in dict.fromkeys(out) if path]


def write_config(
    data: DataPlan, project_dir: Path, *, project: str, package: str, measured: Measured | None
) -> list[str]:
    """Write ``mlprod.yaml``; return warnings (the first model not beating its baseline)."""
    source = DataSource(
        train=data.train_path(),
        sha256=data.sha256,
        rows=data.profile.rows,
        columns=len(data.profile.columns),
        origin=str(data.source) if data.own else "the bundled sample",
        linked=data.link,
    )
    proposal = None
    if measured is not None:
        shares = {}
        for column in data.plan.slices:
            counts = data.profile.column(column).counts or {}
            total = sum(counts.values()) or 1
            shares[column] = min(counts.values()) / total if counts else 0.5
        proposal = propose(
            data.plan.objective, measured, slices=data.plan.slices, slice_shares=shares
        )
    text = config_text(
        project=project,
        package=package,
        plan=data.plan,
        source=source,
        proposal=proposal,
        command=data.command,
        rules="rules.yaml" if (project_dir / "rules.yaml").is_file() else None,
    )
    atomic_write_text(project_dir / "mlprod.yaml", text)
    if proposal is not None and proposal.model_value is not None:
        base, value = proposal.baseline_value, proposal.model_value
        metric = data.plan.objective.partition("@")[0]
        if base is not None and (value <= base if higher_is_better(metric) else value >= base):
            return [
                f"in validation the first model ({proposal.model_value:.3f}) does not beat the "
                f"baseline ({base:.3f}) on {data.plan.objective}: launch with the baseline's "
                "rules, or improve the model before activating it (the beat_baseline gate will fail)"
            ]
    return []


def data_readme(data: DataPlan) -> str:
    """``data/README.md``: the data dictionary, from the profile."""
    plan, profile = data.plan, data.profile
    where = str(data.source.resolve()) if data.link else f"data/{data.file_name}"
    lines = [
        f"# {data.file_name}",
        "",
        f"`{where}`: {profile.rows:,} rows, {len(profile.columns)} columns, sha256 `{data.sha256}`.",
        f"Profiled by `{data.command}`; `mlprod.yaml` says what was decided from it and why.",
        "",
        "| column | kind | missing | distinct | values | role |",
        "|---|---|---|---|---|---|",
    ]
    features = set(plan.features)
    for column in profile.columns:
        if column.name == plan.target:
            role = "**target**"
        elif column.name in features:
            role = "feature"
        else:
            role = f"excluded: {plan.excluded.get(column.name, '')}"
        if column.counts:
            top = list(column.counts.items())[:5]
            values = ", ".join(f"`{v}` ({n:,})" for v, n in top)
            values += ", …" if len(column.counts) > 5 else ""
        elif column.minimum is not None:
            values = f"{column.minimum} to {column.maximum}"
        else:
            values = ", ".join(f"`{e}`" for e in column.examples[:3])
        lines.append(
            f"| `{column.name}` | {column.kind} | {100 * column.missing_share:.1f} % "
            f"| {column.describe_distinct()} | {values.replace('|', '/')} | {role} |"
        )
    lines += ["", "Edit this page: say where the data come from and what each column means.", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- measuring


def _measure_key(project_dir: Path, venv_used: bool, names: tuple[str, ...] = ()) -> str:
    """What the figures depend on: mlprod, the pinned (or running) libraries, config, code, data.

    Fitting is seeded, so the same inputs give the same figures: a second
    project made from the same data (the sample, say) reuses them, as the
    bytecode cache reuses compiled files. The project's own names (``names``)
    are left out, so two projects differing only in name share the figures.
    """

    def plain(data: bytes) -> bytes:
        for i, name in enumerate(sorted(names, key=len, reverse=True)):
            data = data.replace(name.encode(), f"\0name{i}\0".encode())
        return data

    import hashlib
    import platform
    from importlib import metadata

    from mlprod_cli import __version__
    from mlprod_cli.adapters.lockfile import LOCK_NAME

    digest = hashlib.sha256(f"measure 1 {__version__}\n".encode())
    if venv_used:
        lock = project_dir / LOCK_NAME
        digest.update(lock.read_bytes() if lock.is_file() else b"no lock")
        cfg = project_dir / ".venv" / "pyvenv.cfg"
        text = cfg.read_text(encoding="utf-8", errors="replace") if cfg.is_file() else ""
        digest.update("".join(x for x in text.splitlines() if x.startswith("version")).encode())
    else:
        digest.update(platform.python_version().encode())
        for name in ("scikit-learn", "numpy", "pandas", "scipy", "skops"):
            try:
                digest.update(f"{name}={metadata.version(name)}\n".encode())
            except metadata.PackageNotFoundError:
                digest.update(f"{name} missing\n".encode())
    digest.update(plain((project_dir / "mlprod.yaml").read_bytes()))
    for path in sorted((project_dir / "src").rglob("*.py")):
        digest.update(plain(path.relative_to(project_dir).as_posix().encode()) + b"\0")
        digest.update(plain(path.read_bytes()))
    for path in sorted((project_dir / "data").glob("*")):
        if path.is_file() and path.suffix.lower() in (".csv", ".parquet", ".pq"):
            digest.update(sha256_file(path).encode())
    return digest.hexdigest()


def measure(
    project_dir: Path, venv: Path | None, names: tuple[str, ...] = ()
) -> tuple[Measured | None, str | None]:
    """Cross-validate the first model and baseline in the project; (measurement, why not).

    Runs ``mlprod train --dry-run`` with the project's own ``.venv`` when it
    has one (its pinned versions), else with this interpreter. A project
    whose first training fails on its data is an error (exit 2 naming the
    reason); an environment that cannot train at all (no scikit-learn) only
    leaves the gates unmeasured. Results are cached (see :func:`_measure_key`).
    """
    from mlprod_cli.adapters.files import cache_root
    from mlprod_cli.adapters.venv import venv_executable

    mlprod = venv_executable(venv, "mlprod") if venv is not None else None
    in_venv = mlprod is not None and mlprod.exists()
    command = [str(mlprod)] if in_venv else [sys.executable, "-m", "mlprod_cli"]
    command += ["train", "--dry-run", "--cv", "5", "--format", "json"]
    cached = cache_root() / "measure" / f"{_measure_key(project_dir, in_venv, names)}.json"
    stdout = None
    with contextlib.suppress(OSError, UnicodeDecodeError):
        stdout = cached.read_text(encoding="utf-8")
    if stdout is None:
        env = dict(os.environ, MLPROD_NO_DELEGATE="1")
        env.pop("MLPROD_FORMAT", None)
        try:
            done = subprocess.run(
                command, cwd=project_dir, capture_output=True, text=True, env=env, timeout=3600
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"measuring the first model failed to run ({exc})"
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
            if "needs the Python package" in last:
                return None, last.removeprefix("error: ")
            raise ScaffoldError(
                f"the new project's first training failed on its data: {last.removeprefix('error: ')}",
                hint="fix the data or the options (the project was not created)",
            )
        stdout = done.stdout
        with contextlib.suppress(OSError):  # a read-only cache only costs time next time
            atomic_write_text(cached, stdout)
    return _read_measured(stdout)


def _read_measured(stdout: str) -> tuple[Measured | None, str | None]:
    try:
        report = json.loads(stdout)
        versions = {v["kind"]: v for v in report["versions"]}
        model = versions["model"]["validation"]["report"]
        baseline = versions.get("baseline", {}).get("validation", {}).get("report")
        split = report["split"]
        return Measured(
            model=model,
            baseline=baseline,
            folds=int(versions["model"]["validation"]["folds"]),
            scheme=str(versions["model"]["validation"].get("scheme", "stratified")),
            validated_rows=int(versions["model"]["validation"].get("rows", split["train_rows"])),
            train_rows=int(split["train_rows"]),
            test_rows=int(split["test_rows"]),
            test_counts={str(k): int(v) for k, v in report["test_counts"].items()},
        ), None
    except (ValueError, KeyError, TypeError) as exc:
        skipped = _skipped(stdout)
        return None, skipped or f"the first model's validation could not be read ({exc})"


def _skipped(stdout: str) -> str | None:
    try:
        for version in json.loads(stdout)["versions"]:
            why = version.get("validation", {}).get("skipped")
            if why:
                return why
    except (ValueError, KeyError, TypeError):
        return None
    return None
