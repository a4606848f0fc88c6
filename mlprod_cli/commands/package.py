"""``mlprod package``: the Docker build context of the serving image, and the image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlprod_cli.options import Format, FormatOption

HELP = """Write a self-contained Docker build context (dist/docker/) and optionally build it.

The context holds the project's wheel, mlprod's wheel, the lock, the active
model version (hash-checked), mlprod.yaml, the Dockerfile and .dockerignore;
with --offline also every wheel the lock needs, so the build reaches no index.
deploy/k8s/ is pointed at the image tag. --build runs docker build (exit 2,
after writing the context, when no docker daemon answers).
"""


def register(app: typer.Typer) -> None:
    app.command("package", help=HELP)(package)


def package(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="The context folder (default: dist/docker).", file_okay=False
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Also download every wheel the lock needs into wheels/."),
    ] = False,
    tag: Annotated[
        str | None,
        typer.Option("--tag", "-t", help="Image tag (default: <project>:<model version>)."),
    ] = None,
    build: Annotated[
        bool, typer.Option("--build", help="Run docker build on the context afterwards.")
    ] = False,
    base_image: Annotated[
        str | None,
        typer.Option("--base-image", help="With --build: the BASE_IMAGE build argument."),
    ] = None,
    format: FormatOption = Format.table,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import package as core
    from mlprod_cli.core.workspace import Workspace
    from mlprod_cli.errors import UsageError
    from mlprod_cli.render.package import render

    if base_image and not build:
        raise UsageError("--base-image goes with --build")
    if tag is not None:
        core.check_tag(tag)
    workspace = Workspace.load(need_data=False)
    request = core.PackageRequest(output=output, offline=offline, tag=tag)
    with console.steps() as report:
        result = core.make_context(workspace, request, progress=report)
    console.warn(result.warnings)
    if build:
        # After the context is written: without a daemon, it is still there to build elsewhere.
        core.build_image(result, base_image)
    console.write_result(render(result, format.value))
    return 0
