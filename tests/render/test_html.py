"""mlprod_cli.render.html: the Jinja2 environment, the grid macro, and the templates shipped."""

from __future__ import annotations

import jinja2
import pytest

from mlprod_cli.render import html
from mlprod_cli.render.grid import UNDEFINED, Cell, Grid


def render_string(source: str, **context) -> str:
    return html._environment().from_string(source).render(**context)


def test_every_value_is_escaped_and_none_is_nothing():
    text = render_string("<p title='{{ a }}'>{{ a }}{{ b }}</p>", a="<script>'&\"", b=None)
    assert text == "<p title='&lt;script&gt;&#39;&amp;&#34;'>&lt;script&gt;&#39;&amp;&#34;</p>"


def test_a_misspelt_name_fails_the_render():
    with pytest.raises(jinja2.UndefinedError):
        render_string("{{ nmae }}")


def test_the_grid_macro():
    grid = Grid(
        "t <1>",
        ["class", "value"],
        [
            [Cell("a"), Cell(UNDEFINED, "no <scores>")],
            [Cell("macro avg"), Cell("0.5000 warn", status="warn")],
        ],
        right={1},
        notes=["n & m"],
    )
    text = render_string(
        '{% from "grid.html.j2" import grid %}{{ grid(g, ("macro avg",)) }}', g=grid
    )
    assert "<h3>t &lt;1&gt;</h3>" in text
    assert "<th>class</th>" in text and "<th>value</th>" in text
    assert f'<td class="num undefined" title="no &lt;scores&gt;">{UNDEFINED}</td>' in text
    assert '<tr class="summary">' in text and '<td class="num is-warn">0.5000 warn</td>' in text
    assert '<ul class="notes"><li>n &amp; m</li></ul>' in text
    untitled = render_string(
        '{% from "grid.html.j2" import grid %}{{ grid(g) }}', g=Grid("", ["x"], [])
    )
    assert "<h3>" not in untitled and "summary" not in untitled


def test_the_templates_are_package_files():
    names = {path.name for path in html.TEMPLATES.iterdir()}
    assert {"base.html.j2", "grid.html.j2", "evaluate.html.j2", "skew.html.j2"} <= names
