"""``mlprod train``'s result: the versions it registered, as a table or JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlprod_cli.core.words import plural
from mlprod_cli.render.grid import UNDEFINED
from mlprod_cli.render.text import number, table, to_json

if TYPE_CHECKING:
    from mlprod_cli.core.config import MetricRef
    from mlprod_cli.core.registry import Version
    from mlprod_cli.core.train import TrainResult

__all__ = ["objective_score", "render", "render_ensemble"]


def objective_score(version: Version | dict, objective: MetricRef | None) -> str:
    """The cross-validated ``objective`` of a version (or its metadata) as text, ``—`` when none."""
    from mlprod_cli.core.evaluate import value_from_dict

    metadata = version if isinstance(version, dict) else version.metadata
    validation = metadata.get("validation", {}).get("report")
    if objective is None or not validation:
        return UNDEFINED
    return number(value_from_dict(validation, objective))


def _rows(n: object) -> str:
    return plural(n, "row") if isinstance(n, int) else f"{n} rows"


def render(result: TrainResult, objective: MetricRef | None, fmt: str) -> str:
    """The new versions with their fit time, validation score and whether they are active.

    A dry run (``train --dry-run``) registered nothing: its rows have no version id.
    """
    entries = [(v.id, v.metadata) for v in result.versions] or [
        (None, metadata) for metadata in result.unregistered.values()
    ]
    if fmt == "json":
        data = {
            "versions": [
                {
                    "version": version_id,
                    "kind": meta.get("kind"),
                    "fit_seconds": meta.get("fit_seconds"),
                    "validation": meta.get("validation"),
                    **({"description": meta["description"]} if "description" in meta else {}),
                }
                for version_id, meta in entries
            ],
            "activated": result.activated,
            "split": result.split,
            "data": result.data,
        }
        if not result.versions:
            data.update(registered=False, test_counts=result.test_counts)
        return to_json(data)
    rows = [
        (
            version_id or UNDEFINED,
            meta.get("kind"),
            meta.get("estimator", "").rsplit(".", 1)[-1],
            f"{meta.get('fit_seconds', 0):.2f}",
            objective_score(meta, objective),
            "yes" if version_id in result.activated else "no",
        )
        for version_id, meta in entries
    ]
    split = result.split
    title = f"trained on {_rows(split.get('train_rows'))}, test split {_rows(split.get('test_rows'))} held out"
    text = table(
        ["version", "kind", "estimator", "fit s", f"{objective or 'objective'} (cv)", "active"],
        rows,
        title=title,
        right=(3, 4),
    )
    if not result.versions:
        text += "\ndry run: nothing was registered (run 'mlprod train' to register these)"
    elif not result.activated:
        ids = " / ".join(v.id for v in result.versions)
        text += f"\nnext: mlprod models activate VERSION   (new: {ids})"
    return text


def render_ensemble(result: TrainResult, objective: MetricRef | None, fmt: str) -> str:
    """``mlprod ensemble``'s result: train's, with the method and the members named."""
    import json

    from mlprod_cli.render.models import ensemble_text

    lineage = result.versions[0].metadata.get("ensemble", {}) if result.versions else {}
    if fmt == "json":
        data = json.loads(render(result, objective, "json"))
        data["ensemble"] = lineage
        return to_json(data)
    return f"{ensemble_text(lineage)}\n" + render(result, objective, fmt)
