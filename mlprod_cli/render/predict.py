"""``mlprod predict``'s result: how many rows were scored, by which version, into which file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlprod_cli.core.words import plural
from mlprod_cli.render.text import to_json

if TYPE_CHECKING:
    from mlprod_cli.core.predict import PredictResult

__all__ = ["render"]


def render(result: PredictResult, fmt: str) -> str:
    """One summary line with the count of each predicted class, or the result as JSON."""
    if fmt == "json":
        return to_json(result.__dict__)
    shares = ", ".join(f"{k} {v}" for k, v in result.classes.items())
    return (
        f"wrote {plural(result.rows, 'prediction')} of {result.version} to {result.output} "
        f"in {result.seconds:.2f} s ({shares})"
    )
