"""``mlprod new NAME``: scaffold a project with its own venv, lock and git history."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import Format, FormatOption

HELP = """Create a project from a template, with its own .venv installed from the lock.

The default template is a tabular classification project (--template
regression: a number to predict, on its own sample) with a metrics module,
a heuristic baseline, a simple first model, tests that pass at once, a
Dockerfile, Kubernetes manifests, pre-commit and CI configuration.

With --data FILE --target COL the project is made for your own table (CSV or
Parquet): the file is profiled, and the task, positive class, objective,
split, features, excluded columns and gates are decided from it and written
into mlprod.yaml with the reason for each; a numeric target of many values
makes a regression project. Without --data it is the same path on the
bundled sample data.
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
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Make the project for this CSV or Parquet table.", dir_okay=False
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="With --data: the column to predict.")
    ] = None,
    positive_class: Annotated[
        str | None,
        typer.Option(
            "--positive-class",
            help="With --data: the class the objective is about [default: the minority of two].",
        ),
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option(
            "--time-column",
            help="With --data: split by this date column ('none': at random) [default: a date column if any].",
        ),
    ] = None,
    slice_by: Annotated[
        list[str] | None,
        typer.Option("--slice-by", help="Report and gate per value of this column (repeatable)."),
    ] = None,
    data_link: Annotated[
        bool,
        typer.Option(
            "--data-link", help="With --data: refer to the file where it is instead of copying it."
        ),
    ] = False,
    task: Annotated[
        str | None,
        typer.Option(
            "--task",
            help="With --data: classification or regression [default: regression for a numeric target of many values].",
        ),
    ] = None,
    no_measure: Annotated[
        bool,
        typer.Option(
            "--no-measure",
            help="Do not validate the first model at new time (then no gates are proposed).",
        ),
    ] = False,
    format: FormatOption = Format.table,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.scaffold import DataRequest, NewRequest, create_project
    from mlprod_cli.render.new import render

    asking = not no_input and not dry_run and console.can_ask()
    if data is None and target is None and asking and _takes_data(template):
        with contextlib.redirect_stdout(sys.stderr):
            data, target = _ask_for_data()

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
        data=DataRequest(
            path=data,
            target=target,
            positive_class=positive_class,
            time_column=time_column,
            slice_by=tuple(slice_by or ()),
            link=data_link,
            task=task,
        ),
        measure=not no_measure,
    )
    # The template's questions come before the first step: the spinner starts
    # at that step, so it never hides a question. Questions, hooks and
    # anything else said while making the project go to stderr: stdout is
    # for the result (--format json stays JSON).
    # (redirect_stdout outermost: the spinner's Live restores the stdout it found.)
    with contextlib.redirect_stdout(sys.stderr), contextlib.ExitStack() as stack:
        report = _lazy_steps(stack)
        result = create_project(request, progress=report)
    console.warn(result.warnings)
    console.write_result(render(result, format.value))
    return 0


def _ask_for_data() -> tuple[Path | None, str | None]:
    """On a terminal: the user's own table and its target, or none for the sample."""
    answer = typer.prompt(
        "Your data (a CSV or Parquet file; press Enter for the bundled sample)",
        default="",
        show_default=False,
    ).strip()
    if not answer:
        return None, None
    target = typer.prompt("The column to predict (--target)").strip()
    return Path(answer).expanduser(), target or None


def _takes_data(template: str | None) -> bool:
    """Whether the template is made for a data table (only then is the data asked for)."""
    from mlprod_cli.core.scaffold import resolve_template

    return resolve_template(template).takes_data


def _lazy_steps(stack: contextlib.ExitStack) -> Callable[[str], None]:
    """A ``report(text)`` that starts ``console.steps()`` at its first call."""
    from mlprod_cli import console

    started: list[Callable[[str], None]] = []

    def report(text: str) -> None:
        if not started:
            started.append(stack.enter_context(console.steps()))
        started[0](text)

    return report
