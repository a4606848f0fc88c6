"""``mlprod check``: fast validation of config, lock and environment (for pre-commit)."""

from __future__ import annotations

from typing import Annotated

import typer

from mlprod_cli.options import Format, FormatOption, OutputOption

HELP = """Validate mlprod.yaml, the lock file against pyproject.toml, and .venv against the lock.

Exit code 0 when all is well, 1 when a check fails, 2 when mlprod.yaml or the
lock cannot be read. Reads files only, so it is fast enough for pre-commit.
"""


def register(app: typer.Typer) -> None:
    app.command("check", help=HELP)(check)


def check(
    no_venv: Annotated[
        bool,
        typer.Option("--no-venv", help="Skip comparing .venv with the lock (e.g. in CI images)."),
    ] = False,
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.check import run_checks
    from mlprod_cli.render.check import render

    report = run_checks(venv=not no_venv)
    console.write_result(render(report, format.value), output)
    return 0 if report.ok else 1
