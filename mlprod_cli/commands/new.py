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
    from mlprod_cli.render.new import render

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
    console.warn(result.warnings)
    console.write_result(render(result, format.value))
    return 0
