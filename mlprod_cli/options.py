"""Options shared by several commands, declared once.

Every command that reports takes ``--format`` and ``--output``; their help and
environment variables are the same everywhere. ``--model`` picks a version in
evaluate, predict, serve and skew; what each does without it differs, so its
help is the command's, given to :func:`ModelOption`.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer


class Format(str, Enum):
    table = "table"
    json = "json"


FormatOption = Annotated[
    Format,
    typer.Option("--format", "-f", help="How to print the result.", envvar="MLPROD_FORMAT"),
]
SummaryFormatOption = Annotated[
    Format,
    typer.Option("--format", "-f", help="How to print the summary.", envvar="MLPROD_FORMAT"),
]
"""``--format`` of a command whose result is a file (predict): it shapes the summary only.

The file's own format follows its suffix (``--output``); ``MLPROD_FORMAT`` is the
default of the summary, as of every other report."""

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


def ModelOption(help: str) -> Any:  # a type alias that takes its help text, hence the name
    """``--model/-m VERSION``: a model version id; ``help`` says what the command does without it.

    ``model: ModelOption("A version id instead of the active model.") = None``
    """
    return Annotated[str | None, typer.Option("--model", "-m", help=help)]


RulesFromFileOption = Annotated[bool, typer.Option("--rules-from-file", help="apply the project's rules file as it is now, even when it differs from the rules the version was trained with")]  # fmt: skip


CvOption = Annotated[
    int,
    typer.Option(
        "--cv", min=0, help="Folds for validation metrics on the training split (0: none)."
    ),
]
"""``--cv`` of the commands that register a version (train, ensemble)."""

ForceOption = Annotated[
    bool, typer.Option("--force", help="With --activate: activate even if gates fail.")
]
