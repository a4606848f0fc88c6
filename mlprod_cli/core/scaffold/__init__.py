"""``mlprod new``: a project rendered from a template, in its own hashed virtualenv.

:func:`create_project` checks everything first (``_validate``), asks the
template's questions and renders it in place at the destination it claimed,
hooks included (``_render``), makes the venv from the lock (or installs the
project itself), compiles the bytecode the project imports and commits with
git; anything it made is removed when a step fails or the user interrupts.
"""

from __future__ import annotations

from mlprod_cli.core.scaffold._data import DataRequest
from mlprod_cli.core.scaffold._scaffold import PROVENANCE, NewRequest, NewResult, create_project
from mlprod_cli.core.scaffold._validate import (
    DEFAULT_TEMPLATE,
    MARKER,
    Template,
    check_destination,
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
