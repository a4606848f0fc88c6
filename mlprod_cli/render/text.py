"""Rendering results for people (tables) and machines (JSON).

Commands hand their result objects here; the same data renders to every
format. Tables are drawn by Rich into a string (no colour codes when stdout
is not a terminal), so they read the same in a terminal, a CI log or a file.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

REPORT_FORMATS: tuple[str, ...] = ("table", "json", "markdown", "junit", "html")
"""The formats every report (evaluate, skew) renders to."""


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    right: Sequence[int] = (),
) -> str:
    """A text table; columns whose index is in ``right`` are right-aligned (numbers)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for i, header in enumerate(headers):
        grid.add_column(header, justify="right" if i in right else "left", no_wrap=i == 0)
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    console = Console(
        width=400, force_terminal=False, color_system=None, file=_Sink(), highlight=False
    )
    with console.capture() as captured:
        console.print(grid)
    lines = [line.rstrip() for line in captured.get().rstrip("\n").splitlines()]
    if lines and not lines[0]:
        lines = lines[1:]
    return "\n".join(([title] if title else []) + lines)


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return sys.stdout.isatty()


def number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def to_json(data: Any) -> str:
    return json.dumps(
        data, indent=2, sort_keys=False, default=str, allow_nan=False, ensure_ascii=False
    )


def human_bytes(size: int) -> str:
    """``1.5 MB``: decimal units, as ``docker images`` prints sizes."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def json_ready(data: Any) -> Any:
    """JSON-ready data: numpy scalars and arrays to Python, NaN and infinity to None."""
    if isinstance(data, Mapping):
        return {str(k): json_ready(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_ready(v) for v in data]
    if hasattr(data, "tolist") and not isinstance(data, (str, bytes)):
        return json_ready(data.tolist())
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data
