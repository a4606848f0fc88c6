"""Rendering a cookiecutter template: questions first, then files and hooks in place.

cookiecutter's ``cookiecutter()`` asks the questions, renders into a folder and
runs the hooks in one call. mlprod takes it apart (with cookiecutter's own
functions, so a template renders to the same files as with plain cookiecutter)
because it needs three things that one call cannot give:

* the questions asked before any spinner starts, and the name the user gave on
  the command line taken as the answer to the template's name question, not
  asked again (:func:`prepare`);
* the files rendered at the project's final place, so paths a hook writes (a
  virtualenv's own paths above all) stay valid after ``new`` (:func:`generate`);
* a hook's output on stderr, never stdout (``new --format json`` stays JSON),
  and a failing hook reported as one line that quotes the hook's last words
  instead of cookiecutter's traceback (:class:`HookFailed`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.errors import ScaffoldError, UsageError

# The template variables that name the project, in the order looked for: NAME
# on the command line is the answer to the first the template has.
NAME_VARIABLES = ("project_name", "project_slug", "repo_name", "name")
HOOK_NAMES = ("pre_prompt", "pre_gen_project", "post_gen_project")


class HookFailed(ScaffoldError):
    """A template hook exited non-zero, could not start, or could not be rendered."""


@dataclass
class Prepared:
    """A template's answers, decided before anything of the project is written."""

    location: str
    repo_dir: Path
    context: dict[str, Any]  # cookiecutter's whole context: {"cookiecutter": answers, …}
    root_name: str  # the rendered name of the project's folder
    temporary: list[Path] = field(default_factory=list)  # a pre_prompt hook's copy

    @property
    def answers(self) -> dict[str, Any]:
        return self.context["cookiecutter"]


def name_variable(variables: dict[str, Any]) -> str:
    """The template's variable that NAME answers (``project_name`` when it has none)."""
    return next((v for v in NAME_VARIABLES if v in variables), NAME_VARIABLES[0])


def has_hooks(repo_dir: Path | None) -> bool:
    """Whether a local template has hook scripts cookiecutter would run."""
    hooks = (repo_dir / "hooks") if repo_dir is not None else None
    if hooks is None or not hooks.is_dir():
        return False
    return any(p.is_file() and p.stem in HOOK_NAMES for p in hooks.iterdir())


def _user_config(work: Path) -> str:
    """A private cookiecutter config: the user's settings, clones and replays under ``work``."""
    import yaml
    from cookiecutter import exceptions as cc_errors
    from cookiecutter.config import get_user_config

    try:
        settings = get_user_config()
    except cc_errors.CookiecutterException as exc:
        raise ScaffoldError(f"cookiecutter's user config: {exc}") from None
    settings.update(replay_dir=str(work / "replay"), cookiecutters_dir=str(work / "clones"))
    config_file = work / "cookiecutter-config.yaml"
    config_file.write_text(yaml.safe_dump(json.loads(json.dumps(settings))))
    return str(config_file)


@contextmanager
def _errors(location: str) -> Iterator[None]:
    """cookiecutter's exceptions as one-line mlprod errors."""
    from cookiecutter import exceptions as cc_errors
    from jinja2.exceptions import TemplateError

    try:
        yield
    except cc_errors.RepositoryNotFound:
        raise UsageError(f"--template {location}: no such template") from None
    except cc_errors.RepositoryCloneFailed as exc:
        raise UsageError(f"--template {location}: cannot clone ({exc})") from None
    except cc_errors.UndefinedVariableInTemplate as exc:
        raise ScaffoldError(f"template {location}: {exc.message}: {exc.error.message}") from None
    except cc_errors.CookiecutterException as exc:
        raise ScaffoldError(f"template {location}: {exc}") from None
    except TemplateError as exc:  # in cookiecutter.json's defaults
        raise ScaffoldError(f"template {location}: {exc}") from None
    except OSError as exc:  # e.g. git missing for a URL template
        raise ScaffoldError(f"template {location}: {exc}") from None


def prepare(
    location: str,
    source: str,
    work: Path,
    extra_context: dict[str, Any],
    *,
    name: str,
    no_input: bool,
    hooks: bool,
) -> Prepared:
    """Find the template, ask its questions (unless ``no_input``) and return the answers.

    ``name`` answers the template's name variable; it is never asked. With
    ``hooks`` a ``pre_prompt`` hook runs, as cookiecutter runs it.
    """
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import choose_nested_template
    from cookiecutter.repository import determine_repo_dir

    config_file = _user_config(work)
    with _errors(location), _quiet_logs():
        from cookiecutter.config import get_user_config

        settings = get_user_config(config_file=config_file)
        repo, _ = determine_repo_dir(
            template=source,
            abbreviations=settings["abbreviations"],
            clone_to_dir=settings["cookiecutters_dir"],
            checkout=None,
            no_input=no_input,
        )
        repo_dir = Path(repo)
        temporary: list[Path] = []
        if hooks:
            repo_dir, temporary = _pre_prompt(location, repo_dir)
        while True:
            context = generate_context(
                context_file=str(repo_dir / "cookiecutter.json"),
                default_context=settings["default_context"],
                extra_context=extra_context,
            )
            if not {"template", "templates"} & set(context["cookiecutter"]):
                break
            repo_dir = Path(choose_nested_template(context, str(repo_dir), no_input))
        context["_cookiecutter"] = {
            k: v for k, v in context["cookiecutter"].items() if not k.startswith("_")
        }
        key = name_variable(context["cookiecutter"])
        if key in context["cookiecutter"]:  # a remote template's variables are known only now
            context["cookiecutter"][key] = name
        answers = _ask(context, no_input, key, name)
        context["cookiecutter"].update(answers)
        context["cookiecutter"].update(_template=source, _repo_dir=str(repo_dir), _checkout=None)
        root_name = _root_name(repo_dir, context)
    return Prepared(location, repo_dir, context, root_name, temporary)


def _ask(context: dict[str, Any], no_input: bool, key: str, name: str) -> dict[str, Any]:
    """cookiecutter's questions, with ``key`` answered by ``name`` instead of asked."""
    from cookiecutter import prompt

    read_user_variable = prompt.read_user_variable

    def read(var_name, default_value, *args, **kwargs):
        if var_name == key:
            return name
        return read_user_variable(var_name, default_value, *args, **kwargs)

    prompt.read_user_variable = read
    try:
        return prompt.prompt_for_config(context, no_input)
    finally:
        prompt.read_user_variable = read_user_variable


def _root_name(repo_dir: Path, context: dict[str, Any]) -> str:
    from cookiecutter.find import find_template
    from cookiecutter.utils import create_env_with_context

    env = create_env_with_context(context)
    root = Path(find_template(repo_dir, env))
    return env.from_string(root.name).render(**context)


def check_paths(prepared: Prepared) -> None:
    """Raise UsageError when a name of the template renders to a path outside the project.

    cookiecutter renders each name in the template's tree with the answers and
    joins it to the destination unchecked, so an answer like ``../../x`` or
    ``/etc`` would write outside it. ``-e`` answers are checked on the way in,
    but a value derived from one (a default like ``{{ cookiecutter.author }}``)
    or typed at a prompt exists only once every question is answered: here.
    """
    repo_dir, context, location = prepared.repo_dir, prepared.context, prepared.location
    from cookiecutter.find import find_template
    from cookiecutter.utils import create_env_with_context

    env = create_env_with_context(context)
    root = Path(find_template(repo_dir, env))
    rendered: dict[Path, str | None] = {}
    for item in [root, *sorted(root.rglob("*"))]:
        if item != root and rendered[item.parent] is None:
            rendered[item] = None
            continue
        try:
            name = env.from_string(item.name).render(**context)
        except Exception:  # an undefined variable: cookiecutter reports it its own way
            rendered[item] = None
            continue
        if item == root:
            inside = name not in ("", ".", "..") and "/" not in name and "\\" not in name
            rendered[item] = name
        else:
            rendered[item] = os.path.join(rendered[item.parent], name)
            path = os.path.normpath(rendered[item])
            inside = not os.path.isabs(name) and path.split(os.sep)[0] == rendered[root]
        if not inside:
            raise UsageError(
                f"template {location}: {item.relative_to(root.parent).as_posix()!r} "
                f"would be written to {rendered[item]!r}, outside the project; check the answers"
            )


def _pre_prompt(location: str, repo_dir: Path) -> tuple[Path, list[Path]]:
    from cookiecutter.hooks import run_pre_prompt_hook

    with _hooks_on_stderr(location):
        made = Path(run_pre_prompt_hook(repo_dir))
    return made, ([made] if made != repo_dir else [])


def generate(prepared: Prepared, output_dir: Path, *, hooks: bool) -> Path:
    """Render the files (and run the hooks) into ``output_dir / prepared.root_name``.

    That folder may already exist, empty: the caller claims it first, so the
    project is rendered where it will live. On failure nothing is removed
    here; the caller removes what it claimed.
    """
    from cookiecutter.generate import generate_files

    context = prepared.context
    context["cookiecutter"]["_output_dir"] = str(output_dir)
    with _errors(prepared.location), _quiet_logs(), _hooks_on_stderr(prepared.location):
        sys_path = list(sys.path)
        sys.path.append(str(prepared.repo_dir))  # as cookiecutter does, for local extensions
        try:
            made = generate_files(
                repo_dir=str(prepared.repo_dir),
                context=context,
                output_dir=str(output_dir),
                overwrite_if_exists=True,
                accept_hooks=hooks,
                keep_project_on_failure=True,
            )
        finally:
            sys.path[:] = sys_path
    return Path(made).resolve()


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """cookiecutter logs a failing hook with its traceback: mlprod says it in one line."""
    import logging

    logger = logging.getLogger("cookiecutter")
    handler = logging.NullHandler()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


@contextmanager
def _hooks_on_stderr(location: str) -> Iterator[None]:
    """Run cookiecutter's hooks with their output relayed to stderr and failures explained."""
    from cookiecutter import hooks as cc_hooks
    from cookiecutter.utils import create_env_with_context
    from jinja2.exceptions import TemplateError

    run_script = cc_hooks.run_script
    run_script_with_context = cc_hooks.run_script_with_context

    def run(script_path, cwd=".", *, hook_name=None):
        _run_hook(location, hook_name or _hook_name(script_path), str(script_path), cwd)

    def run_with_context(script_path, cwd, context):
        import tempfile

        hook_name = _hook_name(script_path)
        suffix = Path(script_path).suffix
        try:
            env = create_env_with_context(context)
            text = env.from_string(Path(script_path).read_text(encoding="utf-8"))
            rendered = text.render(**context)
        except TemplateError as exc:
            raise HookFailed(
                f"{location} hook {hook_name} failed: it cannot be rendered ({exc.message})"
            ) from None
        with tempfile.NamedTemporaryFile(delete=False, mode="wb", suffix=suffix) as temp:
            temp.write(rendered.encode("utf-8"))
        try:
            run(temp.name, cwd, hook_name=hook_name)
        finally:
            os.unlink(temp.name)

    cc_hooks.run_script = run
    cc_hooks.run_script_with_context = run_with_context
    try:
        yield
    finally:
        cc_hooks.run_script = run_script
        cc_hooks.run_script_with_context = run_script_with_context


def _hook_name(script_path: str | os.PathLike) -> str:
    return Path(script_path).stem


def _run_hook(location: str, hook_name: str, script: str, cwd: str | os.PathLike) -> None:
    """Run one hook script with its stdout and stderr relayed, line by line, to stderr.

    The hook's output is the template's, not a result of mlprod: it belongs on
    stderr, beside mlprod's own status lines. The last non-empty line is kept
    to say why a failing hook failed.
    """
    from cookiecutter.utils import make_executable

    command = [sys.executable, script] if script.endswith(".py") else [script]
    make_executable(script)
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            shell=sys.platform.startswith("win"),
        )
    except OSError as exc:
        raise HookFailed(
            f"{location} hook {hook_name} failed: it cannot be run ({exc.strerror})"
        ) from None
    held = ""  # the last non-empty line, written once the next one comes or the hook succeeds
    try:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            if not line.strip():
                sys.stderr.write(line)
                continue
            if held:
                sys.stderr.write(held)
                sys.stderr.flush()
            held = line if line.endswith("\n") else line + "\n"
        code = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    if code == 0:
        sys.stderr.write(held)
        sys.stderr.flush()
        return
    # The last line is the reason, quoted in the one error line rather than said twice.
    why = held.strip() or f"exit status {code}, no output"
    if why[:6].lower() == "error:":
        why = why[6:].strip()
    raise HookFailed(f"{location} hook {hook_name} failed: {why}")
