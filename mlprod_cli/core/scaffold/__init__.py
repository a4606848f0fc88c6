"""``mlprod new``: a project rendered from a template, in its own hashed virtualenv.

:func:`create_project` renders the template (cookiecutter) into a staging
folder, makes the venv from the lock, compiles the bytecode the project
imports, commits with git and moves the whole into place; anything it made is
removed when a step fails or the user interrupts.
"""

from __future__ import annotations

from mlprod_cli.core.scaffold._data import DataRequest
from mlprod_cli.core.scaffold._scaffold import (
    DEFAULT_TEMPLATE,
    MARKER,
    PROVENANCE,
    NewRequest,
    NewResult,
    Template,
    check_destination,
    create_project,
    package_name_for,
    parse_extra_context,
    resolve_template,
    validate_name,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "MARKER",
    "PROVENANCE",
    "DataRequest",
    "NewRequest",
    "NewResult",
    "Template",
    "check_destination",
    "create_project",
    "package_name_for",
    "parse_extra_context",
    "resolve_template",
    "validate_name",
]
