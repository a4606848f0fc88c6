"""Rendering results: the same result object to every format people and machines read.

Commands hand their core results to the module of this package named for the
command; the shared pieces (text tables, numbers, JSON) are public names here.
"""

from __future__ import annotations

from mlprod_cli.render.text import human_bytes, number, table, to_json

__all__ = ["human_bytes", "number", "table", "to_json"]
