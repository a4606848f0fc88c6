"""Options shared by several commands, declared once.

Every command that reports takes ``--format`` and ``--output``; their help and
environment variables are the same everywhere.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class Format(str, Enum):
    table = "table"
    json = "json"


FormatOption = Annotated[
    Format,
    typer.Option("--format", "-f", help="How to print the result.", envvar="MLPROD_FORMAT"),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Write the result to this file instead of stdout.", dir_okay=False
    ),
]


class ReportFormat(str, Enum):
    """The formats of a report (evaluate, skew): for people, machines, pull requests and CI."""

    table = "table"
    json = "json"
    markdown = "markdown"
    junit = "junit"
    html = "html"


ReportFormatOption = Annotated[
    ReportFormat,
    typer.Option(
        "--format", "-f", help="table, json, markdown, junit or html.", envvar="MLPROD_FORMAT"
    ),
]
