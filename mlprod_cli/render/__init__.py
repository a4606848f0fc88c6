"""Rendering results: the one place where a result becomes text, for people and machines.

Commands hand their core result to the module of this package named for the
command (``render.evaluate``, ``render.train`` …), which returns the text (or,
for a chart, the bytes) to write. The pieces those modules share are public
names of their own modules: :mod:`~mlprod_cli.render.text` (text tables,
numbers, JSON), :mod:`~mlprod_cli.render.grid` (the cells and grids of a
report), :mod:`~mlprod_cli.render.charts` (matplotlib) and
:mod:`~mlprod_cli.render.html` (Jinja2 templates in ``templates/``).
"""

from __future__ import annotations

from mlprod_cli.render.text import human_bytes, json_ready, number, table, to_json

__all__ = ["human_bytes", "json_ready", "number", "table", "to_json"]
