"""Charts drawn with matplotlib: a ``Figure`` on an Agg canvas, saved to bytes or a data URI.

No pyplot: a ``Figure`` with its own Agg canvas needs no GUI backend and leaves
no global state behind, so drawing in a test, a CI job or a server is the same.
matplotlib is an optional dependency (``mlprod[plot]``) and is imported inside
each function; :func:`require_matplotlib` says so before any work is done.
"""

from __future__ import annotations

import base64
import io
from typing import Any

__all__ = ["DPI", "figure", "image_bytes", "literal", "png_data_uri", "require_matplotlib"]

DPI = 90
"""Dots per inch of the charts embedded in HTML reports."""


def require_matplotlib(option: str) -> None:
    """UsageError naming ``option`` (``--format html``, ``--plot``) when matplotlib is missing."""
    from mlprod_cli.errors import UsageError

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(f"{option} needs matplotlib (pip install matplotlib)") from None


def figure(width: float, height: float, *, dpi: float = DPI) -> Any:
    """An empty ``Figure`` of ``width`` × ``height`` inches with an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawn = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(drawn)
    return drawn


def image_bytes(drawn: Any, fmt: str, **savefig: Any) -> bytes:
    """The figure as a file of format ``fmt`` (png, svg, pdf), in memory."""
    buffer = io.BytesIO()
    drawn.savefig(buffer, format=fmt, **savefig)
    return buffer.getvalue()


def png_data_uri(drawn: Any) -> str:
    """``data:image/png;base64,…``: the figure embedded in a page, with nothing loaded from elsewhere.

    The PNG carries no "Software" entry, so the same chart is the same bytes
    whichever matplotlib drew it.
    """
    data = image_bytes(drawn, "png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def literal(text: str, limit: int = 40) -> str:
    """A label as matplotlib draws it literally: no mathtext from ``$``, not too long."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")
