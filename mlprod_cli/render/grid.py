"""The cells and grids reports are made of, and how a grid reads as text, Markdown and XML.

A report (``evaluate``, ``skew``) builds its sections once as :class:`Grid`\\ s of
:class:`Cell`\\ s; each format then draws the same grids. A cell keeps the reason
when its value is undefined, so the text table lists the reasons under it and the
HTML page (``templates/grid.html.j2``) shows them on hover.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.render.text import table

__all__ = [
    "UNDEFINED",
    "Cell",
    "Grid",
    "md",
    "md_grid",
    "plain",
    "reason_notes",
    "text_cell",
    "text_grid",
    "xml_text",
]

UNDEFINED = "—"
"""What an undefined value reads as, in every format."""


@dataclass(frozen=True)
class Cell:
    """One cell: its text, why it is undefined (text is then ``—``), and its status."""

    text: str
    reason: str | None = None
    status: str = "ok"  # ok / warn / fail: HTML colours the cell, Markdown bolds a failure


@dataclass
class Grid:
    """One table of a report: headers, rows of cells, and lines to print under it."""

    title: str
    headers: list[str]
    rows: list[list[Cell]]
    right: set[int] = field(default_factory=set)  # right-aligned (numeric) columns
    notes: list[str] = field(default_factory=list)


def text_cell(text: Any) -> Cell:
    """A cell showing ``text`` as it is (``None`` as nothing)."""
    return Cell("" if text is None else str(text))


def reason_notes(grid: Grid, *, names: Callable[[list[str]], str] = ", ".join) -> list[str]:
    """``— precision of a, b: no predicted positives``: one line per column and reason.

    ``names`` joins the row names (the first column) that share a reason.
    """
    grouped: dict[tuple[str, str], list[str]] = {}
    for row in grid.rows:
        for header, cell in zip(grid.headers[1:], row[1:], strict=True):
            if cell.reason is not None:
                grouped.setdefault((header, cell.reason), []).append(row[0].text)
    return [
        f"{UNDEFINED} {header} of {names(labels)}: {reason}"
        for (header, reason), labels in grouped.items()
    ]


# --- text ----------------------------------------------------------------------------------------


@functools.cache
def _table_reads_markup() -> bool:
    # render.table hands cells to Rich, which reads "[b]" as markup and drops it; a
    # class named "[b]" must still print as itself, whichever way render.table goes.
    return "[b]" not in table(["x"], [["[b]"]])


def plain(text: str) -> str:
    """``text`` as :func:`~mlprod_cli.render.text.table` prints it literally (no Rich markup)."""
    if _table_reads_markup():
        from rich.markup import escape

        return escape(text)
    return text


def text_grid(grid: Grid) -> str:
    """The grid as a plain-text table with its title, and its notes under it."""
    body = table(
        [plain(h) for h in grid.headers],
        [[plain(cell.text) for cell in row] for row in grid.rows],
        title=grid.title,
        right=sorted(grid.right),
    )
    # Rich ends the table with an empty line: one blank line before the notes, none after.
    return "\n".join([body.rstrip(), *([""] if grid.notes else []), *grid.notes])


# --- markdown ------------------------------------------------------------------------------------

# Markdown that could fire inside a cell; "_" only at a word's edge (f1_score stays as is).
_MD_SPECIAL = re.compile(r"([\\`*\[\]|#~]|(?<!\w)_|_(?!\w))")


def md(text: str) -> str:
    """Text that GitHub renders as itself inside a table cell: no HTML, no markup, no pipes."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = " ".join(text.splitlines())
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_cell(cell: Cell) -> str:
    text = md(cell.text)
    return f"**{text}**" if cell.status == "fail" and text else text


def md_grid(grid: Grid, *, heading: str = "###") -> str:
    """The grid as a GitHub-flavoured Markdown table under a heading, its notes as a list."""
    align = ["---:" if i in grid.right else "---" for i in range(len(grid.headers))]
    lines = [f"{heading} {md(grid.title)}", ""]
    lines.append("| " + " | ".join(md(h) for h in grid.headers) + " |")
    lines.append("|" + "|".join(align) + "|")
    for row in grid.rows:
        lines.append("| " + " | ".join(_md_cell(cell) for cell in row) + " |")
    if grid.notes:
        lines.append("")
        lines += [f"- {md(note)}" for note in grid.notes]
    return "\n".join(lines)


# --- xml -----------------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: Any) -> str:
    """``text`` as XML 1.0 can carry it (ElementTree escapes the rest): JUnit reports."""
    return _XML_INVALID.sub("\ufffd", "" if text is None else str(text))
