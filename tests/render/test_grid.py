"""mlprod_cli.render.grid: cells and grids as text, Markdown and XML-safe text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mlprod_cli.render.grid import (
    UNDEFINED,
    Cell,
    Grid,
    md,
    md_grid,
    plain,
    reason_notes,
    text_cell,
    text_grid,
    xml_text,
)
from mlprod_cli.render.text import table


def grid(notes=()) -> Grid:
    rows = [
        [text_cell("a [b]"), Cell(UNDEFINED, "no predicted positives"), Cell("1.0000")],
        [text_cell("c|d"), Cell(UNDEFINED, "no predicted positives"), Cell("0.5000 fail", status="fail")],
        [text_cell("e"), Cell("0.2500"), Cell(UNDEFINED, "no scores")],
    ]  # fmt: skip
    return Grid("per class", ["class", "precision", "auroc"], rows, {1, 2}, list(notes))


def test_text_cell():
    assert text_cell(None) == Cell("")
    assert text_cell(3) == Cell("3", None, "ok")


def test_reason_notes_group_rows_by_column_and_reason():
    assert reason_notes(grid()) == [
        "— precision of a [b], c|d: no predicted positives",
        "— auroc of e: no scores",
    ]
    short = reason_notes(grid(), names=lambda names: f"{len(names)} classes")
    assert short[0] == "— precision of 2 classes: no predicted positives"


def test_text_grid_keeps_brackets_and_puts_notes_after_a_blank_line():
    text = text_grid(grid(["a note"]))
    lines = text.splitlines()
    assert lines[0] == "per class"
    assert lines[1].split() == ["class", "precision", "auroc"]
    assert lines[3].split() == ["a", "[b]", UNDEFINED, "1.0000"]
    assert lines[-2:] == ["", "a note"]
    # Numbers are right-aligned: the cells of a column end where its header ends.
    assert lines[1].index("auroc") + len("auroc") == lines[3].index("1.0000") + len("1.0000")
    assert text_grid(grid()).splitlines()[-1].split() == ["e", "0.2500", UNDEFINED]
    # What plain() hands to render.table prints as itself, whether or not Rich reads markup.
    assert table(["x"], [[plain("[b] [/i]")]]).splitlines()[-1].strip() == "[b] [/i]"


def test_md_escapes_what_would_render():
    assert md('a<b & "c"|d') == 'a&lt;b &amp; "c"\\|d'
    assert md("[x] *y* `z` #1 ~w") == "\\[x\\] \\*y\\* \\`z\\` \\#1 \\~w"
    assert md("f1_score _private_") == "f1_score \\_private\\_"
    assert md("two\nlines") == "two lines"


def test_md_grid_aligns_numbers_and_bolds_failures():
    lines = md_grid(grid(["a note"]), heading="####").splitlines()
    assert lines[:4] == [
        "#### per class",
        "",
        "| class | precision | auroc |",
        "|---|---:|---:|",
    ]
    assert lines[4] == "| a \\[b\\] | — | 1.0000 |"
    assert lines[5] == "| c\\|d | — | **0.5000 fail** |"
    assert lines[-2:] == ["", "- a note"]


def test_xml_text_replaces_what_xml_cannot_carry():
    assert xml_text(None) == ""
    assert xml_text("bell\x07 and \ud800 stay out") == "bell\ufffd and \ufffd stay out"
    element = ET.Element("case", name=xml_text("a\x00b <c>"))
    assert ET.fromstring(ET.tostring(element)).get("name") == "a\ufffdb <c>"
