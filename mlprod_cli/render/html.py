"""HTML reports: one Jinja2 environment, autoescaping, templates in ``render/templates/``.

Every value a template prints is escaped by Jinja2's autoescape, so a class
or a column named ``<script>`` reads as itself; ``None`` prints as nothing.
The templates ship inside the package (hatch includes every file under
``mlprod_cli/``), and are read from beside this module.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

__all__ = ["TEMPLATES", "render_page"]

TEMPLATES = Path(__file__).with_name("templates")
"""The folder of the ``*.html.j2`` templates."""


@functools.cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, not the reader
        finalize=lambda value: "" if value is None else value,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_page(template: str, **context: Any) -> str:
    """The template ``template`` (a file name in :data:`TEMPLATES`) rendered with ``context``."""
    return _environment().get_template(template).render(**context)
