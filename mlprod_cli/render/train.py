"""``mlprod train``'s result: the versions it registered, as a table or JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlprod_cli.render.grid import UNDEFINED
from mlprod_cli.render.text import number, table, to_json

if TYPE_CHECKING:
    from mlprod_cli.core.config import MetricRef
    from mlprod_cli.core.registry import Version
    from mlprod_cli.core.train import TrainResult

__all__ = ["objective_score", "render"]


def objective_score(version: Version, objective: MetricRef | None) -> str:
    """The cross-validated ``objective`` of ``version`` as text, ``—`` when there is none."""
    from mlprod_cli.core.evaluate import value_from_dict

    validation = version.metadata.get("validation", {}).get("report")
    if objective is None or not validation:
        return UNDEFINED
    return number(value_from_dict(validation, objective))


def render(result: TrainResult, objective: MetricRef | None, fmt: str) -> str:
    """The new versions with their fit time, validation score and whether they are active."""
    if fmt == "json":
        return to_json(
            {
                "versions": [
                    {
                        "version": v.id,
                        "kind": v.kind,
                        "fit_seconds": v.metadata.get("fit_seconds"),
                        "validation": v.metadata.get("validation"),
                    }
                    for v in result.versions
                ],
                "activated": result.activated,
                "split": result.split,
                "data": result.data,
            }
        )
    rows = [
        (
            v.id,
            v.kind,
            v.metadata.get("estimator", "").rsplit(".", 1)[-1],
            f"{v.metadata.get('fit_seconds', 0):.2f}",
            objective_score(v, objective),
            "yes" if v.id in result.activated else "no",
        )
        for v in result.versions
    ]
    split = result.split
    title = f"trained on {split.get('train_rows')} rows, test split {split.get('test_rows')} rows held out"
    text = table(
        ["version", "kind", "estimator", "fit s", f"{objective or 'objective'} (cv)", "active"],
        rows,
        title=title,
        right=(3, 4),
    )
    if not result.activated:
        ids = " / ".join(v.id for v in result.versions)
        text += f"\nnext: mlprod models activate VERSION   (new: {ids})"
    return text
