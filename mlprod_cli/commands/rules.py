"""``mlprod rules test``: validate the rules file and check its example cases (for pre-commit)."""

from __future__ import annotations

import typer

from mlprod_cli.options import Format, FormatOption, OutputOption

HELP = """Validate the rules file (rules: in mlprod.yaml) and check its example cases.

The rules are validated against the active model's classes and fields (with
no model yet, against mlprod.yaml's features and the data's classes); each
case under tests: in the file gives a row, what the model said, and what must
come out. Exit 0 when every case passes (or the project has no rules), 1 when
one fails, 2 when the file is malformed (the line names the rule).
"""


def register(app: typer.Typer) -> None:
    rules = typer.Typer(
        help="The rule layer applied after the model: test its cases.", no_args_is_help=True
    )
    rules.command("test", help=HELP)(test)
    app.add_typer(rules, name="rules")


def test(format: FormatOption = Format.table, output: OutputOption = None) -> int:
    from mlprod_cli import console
    from mlprod_cli.core.rulebook import test_rules
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.render.rules import render_test

    result = test_rules(Workspace.load())
    console.write_result(render_test(result, format.value), output)
    return 0 if result.ok else 1


test.__test__ = False  # not a pytest test, whatever its name
