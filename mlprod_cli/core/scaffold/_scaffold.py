"""``mlprod new``: render a template into a project that installs, tests and runs.

The steps, in order: validate everything that can be validated before a byte
is written (name, destination, template, answers, interpreter); pack the
running mlprod into a wheel; claim the destination and render the template
in place there (``_render``: questions, files, hooks); create ``.venv``
(unless a hook made it); install the lock, or the project itself when it has
no lock and is a package; compile the bytecode the project imports while git
makes the first commit.

Safety, as in copier's ``Worker``: a destination that exists and is not empty
is refused; whatever this run created is removed when a later step fails or
the user presses Ctrl-C, and a folder that existed before is never removed
(only what was put into it). While the project is being made it holds a
marker file, so a run killed outright (SIGKILL) leaves a folder a rerun can
recognise and explain instead of failing obscurely.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli import __version__
from mlprod_cli.adapters.files import temp_beside
from mlprod_cli.core.scaffold._data import (
    DataRequest,
    check_request,
    measure,
    place_data,
    plan_for,
    write_config,
)
from mlprod_cli.core.scaffold._render import (
    check_paths,
    generate,
    has_hooks,
    name_variable,
    prepare,
)
from mlprod_cli.core.scaffold._tasks import DATA_SPEC, task_specs
from mlprod_cli.core.scaffold._validate import (
    MARKER,
    Template,
    check_destination,
    package_name_for,
    parse_extra_context,
    resolve_template,
    validate_name,
)
from mlprod_cli.errors import ScaffoldError, UsageError

PROVENANCE = ".mlprod-template.json"


@dataclass(frozen=True)
class NewRequest:
    """What ``mlprod new`` was asked to do."""

    name: str
    output_dir: Path = Path(".")
    template: str | None = None
    extra_context: tuple[str, ...] = ()
    no_input: bool = False
    python: str | None = None
    venv: bool = True
    install: bool = True
    git: bool = True
    dry_run: bool = False
    data: DataRequest = field(default_factory=DataRequest)
    measure: bool = True  # cross-validate the first model to propose gates


@dataclass
class NewResult:
    project_dir: Path
    template: str
    files: list[str] = field(default_factory=list)
    venv: Path | None = None
    installer: str | None = None
    python_version: str | None = None
    git_commit: str | None = None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    dry_run: bool = False
    profile: Any = None  # the data's Profile, for a template that takes --data
    plan: Any = None  # the Plan decided from it
    gates_measured: bool = False
    hooks: bool = False  # the template has hooks (run, except in a dry run)
    lock: str | None = "requirements.lock"  # the project's lock file; None: it has none
    package: bool = False  # the project is a Python package (pyproject.toml, setup.py/cfg)
    installed: list[str] = field(default_factory=list)  # what went into .venv


Progress = Callable[[str], None]


# --------------------------------------------------------------------------- cleanup


@contextmanager
def _owned(dest: Path, existed: bool) -> Iterator[None]:
    """Remove what this run put at ``dest`` if the block fails or is interrupted."""
    try:
        yield
    except BaseException:
        _remove_created(dest, existed)
        raise


def _remove_created(dest: Path, existed: bool) -> None:
    if not dest.exists():
        return
    if not existed:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for child in dest.iterdir():  # the folder was there (empty) before: keep it
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


@contextmanager
def _folders_made(folder: Path) -> Iterator[None]:
    """Make ``folder`` (``--output-dir``) and its missing parents; remove them if the block fails."""
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # innermost first
    try:
        folder.mkdir(parents=True, exist_ok=True)
        yield
    except BaseException:
        for path in made:
            with contextlib.suppress(OSError):  # only while empty: never what others put there
                path.rmdir()
        raise


@contextmanager
def _staging(dest: Path) -> Iterator[Path]:
    """A temporary folder beside ``dest`` for this run, removed at the end.

    It is locked while this run lives (see core/files.py), so one left by a run
    killed outright is removed by the next run for the same name, and a run in
    progress is never disturbed.
    """
    fd, path = temp_beside(dest, directory=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def _commit_of(path: Path | None) -> str | None:
    from mlprod_cli.adapters import git

    return git.head_commit(path) if path is not None else None


def _provenance(template: Template, answers: dict[str, Any], data: Any = None) -> dict[str, Any]:
    """What ``.mlprod-template.json`` records, so the project can be updated from its template."""
    public = {k: v for k, v in answers.items() if not k.startswith("_")}
    out = {
        "template": f"builtin:{template.location}" if template.builtin else template.location,
        "template_version": __version__ if template.builtin else None,
        "template_commit": None if template.builtin else answers.get("_commit"),
        "mlprod_version": __version__,
        "answers": public,
    }
    if data is not None:
        out["data"] = {
            "source": str(data.source.resolve()) if data.own else "sample",
            "file": data.train_path(),
            "sha256": data.sha256,
            "rows": data.profile.rows,
            "command": data.command,
        }
    return out


def _data_context(data: Any) -> dict[str, Any]:
    """Template variables that describe the data (the README uses them)."""
    plan = data.plan
    return {
        "_data_file": data.train_path(),
        "_data_rows": data.profile.rows,
        "_data_own": data.own,
        "_task": plan.task,
        "_target": plan.target,
        "_objective": plan.objective,
        "_classes": ", ".join(plan.classes[:12]) + (" …" if len(plan.classes) > 12 else ""),
    }


def _list_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _step(progress: Progress | None, text: str) -> None:
    if progress is not None:
        progress(text)


def create_project(request: NewRequest, progress: Progress | None = None) -> NewResult:
    """Make the project ``request`` describes; see the module docstring for the steps.

    The template's questions (unless ``no_input``) are asked before the first
    call of ``progress``, so a caller can start its spinner at that call.
    """
    from mlprod_cli.adapters.lockfile import LOCK_NAME
    from mlprod_cli.adapters.venv import find_interpreter
    from mlprod_cli.adapters.wheel import build_self_wheel

    name = validate_name(request.name)
    template = resolve_template(request.template)
    context: dict[str, Any] = {name_variable(template.variables): name}
    spec = template.variables.get(DATA_SPEC)
    spec = spec if isinstance(spec, dict) and spec.get("sample") else None
    if template.task:  # --template regression: its answers (the description) over the defaults
        context.update(task_specs(spec).get(template.task, {}).get("context") or {})
    context.update(parse_extra_context(request.extra_context, template))
    check_request(request.data, spec, template.location)
    if not request.no_input and not request.dry_run and not sys.stdin.isatty():
        raise UsageError(
            "standard input is not a terminal, so mlprod cannot ask the template's questions; "
            "pass --no-input (and -e key=value for answers)"
        )
    output_dir = request.output_dir.expanduser().resolve()
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"--output-dir {request.output_dir}: exists and is not a folder")
    dest = output_dir / name
    existed = check_destination(dest)
    interpreter = find_interpreter(request.python) if request.venv and not request.dry_run else None

    timings: dict[str, float] = {}
    result = NewResult(project_dir=dest, template=template.location, dry_run=request.dry_run)
    with _folders_made(output_dir), _staging(output_dir / name) as work:
        # A dry run runs no hook: hooks may act outside the project or use the network.
        prepared = prepare(
            template.location,
            str(template.path) if template.path else template.location,
            work,
            context,
            name=name,
            no_input=request.no_input or request.dry_run,
            hooks=not request.dry_run,
        )
        started = time.perf_counter()
        check_paths(prepared)
        if prepared.root_name != name:  # a custom template may name its folder from another answer
            dest = output_dir / prepared.root_name
            existed = check_destination(dest)
            result.project_dir = dest
        result.hooks = has_hooks(prepared.repo_dir)
        # The data is profiled and the project decided before anything is written.
        if spec is not None:
            _step(
                progress, "profiling the data" if request.data.path else "profiling the sample data"
            )
        data = plan_for(request.data, spec, template.path, template.task)
        if data is not None:
            prepared.answers.update(_data_context(data))
            result.profile, result.plan = data.profile, data.plan
            result.warnings += data.plan.warnings
        wheel = None
        if "_mlprod_wheel_sha256" in template.variables:
            _step(progress, "packing mlprod into a wheel")
            wheel = build_self_wheel(work / "wheel")
            prepared.answers.update(
                _mlprod_version=wheel.version,
                _mlprod_wheel=wheel.name,
                _mlprod_wheel_sha256=wheel.sha256,
            )
        answers = prepared.answers
        answers["_commit"] = _commit_of(
            next((p for p in (work / "clones").glob("*") if p.is_dir()), template.path)
        )
        package = answers.get("package_name") or package_name_for(name)
        _step(progress, f"rendering template {template.location}")
        if request.dry_run:
            (work / "render").mkdir()
            made = generate(prepared, work / "render", hooks=False)
            _add_own_files(made, template, answers, data, spec, wheel, name, package, result)
            result.files = _list_files(made)
            timings["render"] = time.perf_counter() - started
            result.lock = LOCK_NAME if (made / LOCK_NAME).is_file() else None
            result.package = _is_package(made)
            return result
        # Rendered in place: the destination is claimed (and marked) first, so
        # paths written while rendering (a hook's virtualenv) stay valid.
        with _owned(dest, existed):
            dest.mkdir(exist_ok=existed)
            (dest / MARKER).write_text("mlprod new is still making this project\n")
            made = generate(prepared, output_dir, hooks=True)
            if made != dest.resolve():
                raise ScaffoldError(f"template {template.location}: rendered outside {dest}")
            _add_own_files(dest, template, answers, data, spec, wheel, name, package, result)
            result.files = [f for f in _list_files(dest) if f != MARKER]
            timings["render"] = time.perf_counter() - started
            result.lock = LOCK_NAME if (dest / LOCK_NAME).is_file() else None
            result.package = _is_package(dest)
            _finish(request, result, dest, interpreter, timings, progress, data, package)
    result.timings = timings
    timings["total"] = time.perf_counter() - started
    return result


def _add_own_files(
    made: Path,
    template: Template,
    answers: dict[str, Any],
    data: Any,
    spec: Any,
    wheel: Any,
    name: str,
    package: str,
    result: NewResult,
) -> None:
    """What mlprod adds to a rendered template: its wheel, the data, the provenance file."""
    if wheel is not None:
        (made / "wheels").mkdir(exist_ok=True)
        shutil.copy2(wheel.path, made / "wheels" / wheel.name)
    if data is not None:
        result.warnings += place_data(data, made, spec, project=name, package=package)
    provenance = _provenance(template, answers, data)
    (made / PROVENANCE).write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")


def _is_package(root: Path) -> bool:
    """Whether the rendered project is a Python package pip can install."""
    return any((root / f).is_file() for f in ("pyproject.toml", "setup.py", "setup.cfg"))


def _finish(
    request: NewRequest,
    result: NewResult,
    dest: Path,
    interpreter,
    timings: dict[str, float],
    progress: Progress | None,
    data: Any = None,
    package: str | None = None,
) -> None:
    from mlprod_cli.adapters import git
    from mlprod_cli.adapters.bytecode import Warmup
    from mlprod_cli.adapters.lockfile import LOCK_NAME
    from mlprod_cli.adapters.venv import (
        create_venv,
        install_editable,
        install_lock,
        interpreter_version,
        venv_executable,
    )

    lock = dest / LOCK_NAME
    warmup = None
    made_by_hook = venv_executable(dest / ".venv", "python")
    if request.venv and made_by_hook.exists():
        # A template hook made .venv already: it is the template's, kept as it is.
        python = made_by_hook
        result.venv = dest / ".venv"
        result.python_version = interpreter_version(python)
        result.warnings.append("a template hook made .venv; mlprod used it rather than its own")
    elif request.venv:
        t0 = time.perf_counter()
        _step(progress, f"creating .venv with Python {interpreter.version}")
        python = create_venv(dest / ".venv", interpreter)
        result.venv = dest / ".venv"
        result.python_version = interpreter.version
        timings["venv"] = time.perf_counter() - t0
    if request.venv:
        if request.install and lock.is_file():
            t0 = time.perf_counter()
            _step(progress, f"installing {LOCK_NAME} (hashes checked)")
            result.installer = install_lock(python, lock, find_links=dest / "wheels")
            result.installed.append(LOCK_NAME)
            timings["install"] = time.perf_counter() - t0
            _step(progress, "compiling the bytecode the project imports")
            warmup = Warmup(python, dest, lock)
            warmup.start()
            warmup_started = time.perf_counter()
        elif request.install and result.package:
            t0 = time.perf_counter()
            _step(progress, "installing the project itself (pip install -e .)")
            result.installer = install_editable(python, dest)
            result.installed.append("the project (editable)")
            timings["install"] = time.perf_counter() - t0
            result.warnings.append(
                f"the template has no {LOCK_NAME}: the project and the dependencies it "
                "declares were installed unpinned"
            )
        elif request.install:
            result.warnings.append(
                f"the template has no {LOCK_NAME} and is not a Python package: "
                ".venv holds nothing but pip"
            )
    if data is not None and request.measure:  # --no-measure: the user said no gates yet
        t0 = time.perf_counter()
        _step(progress, "validating the first model and the baseline (for the gates)")
        usable = result.venv if result.installer else None
        measured, why_not = measure(dest, usable, (dest.name, package))
        if measured is not None:
            result.warnings += write_config(
                data, dest, project=dest.name, package=package, measured=measured
            )
            result.gates_measured = True
        else:
            result.warnings.append(f"no gates were proposed: {why_not}")
        timings["measure"] = time.perf_counter() - t0
    if request.git:
        t0 = time.perf_counter()
        if git.available():
            _step(progress, "git init and first commit")
            warning = git.init_and_commit(
                dest,
                f"Start {dest.name} from mlprod's {result.template} template",
                exclude=(MARKER,),
            )
            if warning:
                result.warnings.append(warning)
            result.git_commit = git.head_commit(dest)
        else:
            result.warnings.append("git is not installed; the project is not a git repository")
        timings["git"] = time.perf_counter() - t0
    if warmup is not None:
        try:
            warning = warmup.wait()
        except BaseException:
            warmup.kill()
            raise
        if warning:
            result.warnings.append(warning)
        # The measurement ran meanwhile (the warmup runs beside it): its time is its own.
        elapsed = time.perf_counter() - warmup_started - timings.get("measure", 0.0)
        timings["bytecode"] = max(elapsed, 0.0)
    (dest / MARKER).unlink(missing_ok=True)
