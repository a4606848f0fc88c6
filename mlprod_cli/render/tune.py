"""``mlprod tune``'s result: the ranked candidates of the search and the version registered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlprod_cli.core.words import plural
from mlprod_cli.render.text import number, table, to_json

if TYPE_CHECKING:
    from mlprod_cli.core.train import TuneResult

__all__ = ["render"]


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def render(result: TuneResult, fmt: str) -> str:
    """Every candidate by rank with its cross-validated objective, and what to run next."""
    if fmt == "json":
        return to_json(
            {
                "version": result.version.id,
                "objective": result.objective,
                "search": result.search,
                "best_params": result.best_params,
                "candidates": result.candidates,
            }
        )
    rows = [
        (c["rank"], _params(c["params"]), number(c["mean"]), number(c["std"]))
        for c in result.candidates
    ]
    title = f"{result.search} search: {plural(len(rows), 'candidate')}, ranked by {result.objective} (cross-validated)"
    text = table(
        ["rank", "parameters", f"{result.objective} mean", "std"],
        rows,
        title=title,
        right=(0, 2, 3),
    )
    text += f"\nregistered {result.version.id} with {_params(result.best_params)}"
    text += f"\nnext: mlprod models activate {result.version.id}"
    return text
