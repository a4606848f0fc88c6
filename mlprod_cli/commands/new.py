"""``mlprod new NAME``: scaffold a project with its own venv, lock and git history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import Format, FormatOption

HELP = """Create a project from a template, with its own .venv installed from the lock.

The default template is a tabular classification project with a metrics module,
a heuristic baseline, a simple first model, tests that pass at once, a
Dockerfile, Kubernetes manifests, pre-commit and CI configuration.
"""


def register(app: typer.Typer) -> None:
    app.command("new", help=HELP)(new)


def new(
    name: Annotated[
        str,
        typer.Argument(
            help="Project name (letters, digits, - _ .).", metavar="NAME", show_default=False
        ),
    ],
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output-dir", "-o", help="Folder to create the project in.", file_okay=False
        ),
    ] = Path("."),
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="Builtin template name, a cookiecutter template folder, or a git URL. [default: classification]",
            envvar="MLPROD_TEMPLATE",
        ),
    ] = None,
    extra_context: Annotated[
        list[str] | None,
        typer.Option(
            "--extra-context", "-e", help="Answer a template question: key=value (repeatable)."
        ),
    ] = None,
    no_input: Annotated[
        bool,
        typer.Option("--no-input", help="Ask nothing; use the template's defaults and -e answers."),
    ] = False,
    python: Annotated[
        str | None,
        typer.Option(
            "--python", "-p", help="Interpreter for .venv: a path, a name or a version like 3.12."
        ),
    ] = None,
    no_venv: Annotated[
        bool, typer.Option("--no-venv", help="Do not create .venv (implies --no-install).")
    ] = False,
    no_install: Annotated[
        bool, typer.Option("--no-install", help="Create .venv but install nothing.")
    ] = False,
    no_git: Annotated[bool, typer.Option("--no-git", help="Do not git init and commit.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be written; write nothing.")
    ] = False,
    format: FormatOption = Format.table,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.scaffold import NewRequest, create_project

    request = NewRequest(
        name=name,
        output_dir=output_dir,
        template=template,
        extra_context=tuple(extra_context or ()),
        no_input=no_input,
        python=python,
        venv=not no_venv,
        install=not (no_venv or no_install),
        git=not no_git,
        dry_run=dry_run,
    )
    with console.steps() as report:
        result = create_project(request, progress=report)
    for warning in result.warnings:
        console.status(f"warning: {warning}")
    console.write_result(render_result(result, format))
    return 0


def render_result(result, format: Format = Format.table) -> str:
    """What ``new`` prints on stdout: what was made and what to run next."""
    import os

    if format is Format.json:
        import dataclasses
        import json

        data = dataclasses.asdict(result)
        data["timings"] = {k: round(v, 3) for k, v in result.timings.items()}
        return json.dumps(data, indent=2, default=str)

    if result.dry_run:
        lines = [f"would create {result.project_dir} from template {result.template}:"]
        lines += [f"  {name}" for name in result.files]
        lines.append("  .venv/ (installed from requirements.lock)")
        return "\n".join(lines)
    try:
        where = os.path.relpath(result.project_dir)
    except ValueError:
        where = str(result.project_dir)
    lines = [f"created {result.project_dir} ({len(result.files)} files)"]
    if result.venv is not None:
        how = f", installed with {result.installer}" if result.installer else ""
        lines.append(f"  .venv: Python {result.python_version}{how}")
    if result.git_commit:
        lines.append(f"  git: first commit {result.git_commit[:12]}")
    lines.append("next:")
    lines.append(f"  cd {where}")
    if result.installer:
        lines.append("  mlprod check              # config, lock and .venv agree")
        lines.append("  .venv/bin/python -m pytest # the project's tests")
    elif result.venv is not None:
        lines.append(
            "  .venv/bin/python -m pip install --require-hashes --no-deps -r requirements.lock --find-links wheels"
        )
    return "\n".join(lines)
