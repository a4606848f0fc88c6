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

    report = run_checks(venv=not no_venv)
    console.write_result(render(report, format), output)
    return 0 if report.ok else 1


def render(report, format: Format) -> str:
    if format is Format.json:
        import json
        import sys

        from mlprod_cli import __version__

        return json.dumps(
            {
                "root": str(report.root),
                "mlprod": {"version": __version__, "python": sys.executable, "prefix": sys.prefix},
                "ok": report.ok,
                "checks": [
                    {"name": i.name, "ok": i.ok, "detail": i.detail, "problems": list(i.problems)}
                    for i in report.items
                ],
            },
            indent=2,
        )
    lines = []
    for item in report.items:
        lines.append(f"{'ok  ' if item.ok else 'FAIL'} {item.name:<9} {item.detail}")
        lines += [f"     {'':<9} {p}" for p in item.problems[1:]]
    return "\n".join(lines)
