"""``mlprod models``: the registry — list, show, activate, rollback, diff."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from mlprod_cli.options import Format, FormatOption, OutputOption


class Kind(str, Enum):
    model = "model"
    baseline = "baseline"


VersionArgument = Annotated[str, typer.Argument(help="A version id, e.g. v0003.")]
ReplaceRulesOption = Annotated[
    bool,
    typer.Option(
        "--replace-rules",
        help="Replace a rules file holding edits no version was trained with by the "
        "version's rules (the edits are kept under .mlprod/rules-backup/).",
    ),
]


def register(app: typer.Typer) -> None:
    models = typer.Typer(
        help="The model registry: list, show, activate, rollback, diff.", no_args_is_help=True
    )
    models.command("list", help="Every version, newest last, with the active ones marked.")(list_)
    models.command("show", help="One version's metadata.")(show)
    models.command("activate", help="Make a version active (a model must pass its gates).")(
        activate
    )
    models.command("rollback", help="Make the previously active version active again.")(rollback)
    models.command("diff", help="What differs between two versions' metadata.")(diff)
    app.add_typer(models, name="models")


def _workspace():
    from mlprod_cli.core.workspace import Workspace

    return Workspace.load()


def list_(
    kind: Annotated[
        Kind | None, typer.Option("--kind", help="Only models or only baselines.")
    ] = None,
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import models
    from mlprod_cli.render.models import render_listing

    workspace = _workspace()
    listing = models.list_versions(workspace, kind.value if kind else None)
    console.warn(f"not listed: {problem}" for problem in listing.broken.values())
    objective = workspace.config.metrics.objective
    console.write_result(render_listing(listing, objective, format.value), output)
    return 0


def show(
    version: VersionArgument, format: FormatOption = Format.table, output: OutputOption = None
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import models
    from mlprod_cli.render.models import render_version

    console.write_result(render_version(models.show(_workspace(), version), format.value), output)
    return 0


def activate(
    version: VersionArgument,
    force: Annotated[bool, typer.Option("--force", help="Activate even if gates fail.")] = False,
    replace_rules: ReplaceRulesOption = False,
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import models
    from mlprod_cli.render.models import render_activation

    with console.steps() as report:
        report(f"checking {version} against the gates on the test split")
        outcome = models.activate(_workspace(), version, force=force, replace_rules=replace_rules)
    console.warn(outcome.warnings)
    console.write_result(render_activation(outcome, format.value), output)
    return 0


def rollback(
    kind: Annotated[
        Kind, typer.Option("--kind", help="Which active version to roll back.")
    ] = Kind.model,
    replace_rules: ReplaceRulesOption = False,
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import models
    from mlprod_cli.render.models import render_rollback

    outcome = models.rollback(_workspace(), kind.value, replace_rules=replace_rules)
    console.write_result(render_rollback(outcome, format.value), output)
    return 0


def diff(
    a: Annotated[str, typer.Argument(help="A version id.")],
    b: Annotated[str, typer.Argument(help="Another version id.")],
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import models
    from mlprod_cli.render.models import render_diff

    console.write_result(render_diff(models.diff(_workspace(), a, b), a, b, format.value), output)
    return 0
