"""A request log written by hand as ``mlprod serve`` writes it, for the skew tests.

:class:`ServedRows` is a trained version's training split and a way to score rows
with it; :meth:`ServedRows.log` appends rows to a project's request log, each line
:func:`mlprod_cli.core.request_log.record`, the served outputs scored from the logged
rows or from other ones (a server that logged something else than it scored). The
``served`` fixture (tests/conftest.py) is v0002's, built once a session.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlprod_cli.core import request_log

LOG = "logs/requests/requests-2026-11-28.jsonl"
"""The log file, under a project's root."""


@dataclass(frozen=True)
class ServedRows:
    """A version's training rows (its features only) and its scorer."""

    X: Any  # pandas.DataFrame; copy it before changing it
    score: Callable[[Any], tuple[Any, Any]]  # frame -> (classes, scores)
    labels: list[str]
    version: str

    @classmethod
    def of(cls, project: Path, version_id: str) -> ServedRows:
        """The training split of ``version_id`` as ``train`` built it, and its scorer."""
        from mlprod_cli.core import dataset
        from mlprod_cli.core.config import load_config
        from mlprod_cli.core.predict import predict_batch
        from mlprod_cli.core.workspace import Workspace

        config = load_config(project)
        registry = Workspace(config).registry
        version = registry.get(version_id)
        model = registry.load(version)
        schema, labels = version.metadata["schema"], version.metadata["classes"]
        train, test = dataset.load_training_data(config)
        X, _ = dataset.features_and_target(config, dataset.split(config, train, test).train)
        X = X[[f["name"] for f in schema["features"]]].reset_index(drop=True)

        def score(frame):
            return predict_batch(model, dataset.conform(frame, schema, source="test")[0], labels)

        return cls(X, score, labels, version_id)

    def log(
        self,
        project: Path,
        logged: Any = None,
        *,
        served_from: Any = None,
        version: str | None = None,
    ) -> Any:
        """Append ``logged`` (default: every training row) to the project's :data:`LOG`.

        The served classes and scores are those of ``served_from`` (default: the
        logged rows, as a faithful server does); ``version`` is the ``model_version``
        of the lines (default: this one). Returns the rows logged.
        """
        logged = self.X if logged is None else logged
        classes, scores = self.score(logged if served_from is None else served_from)
        lines = []
        for i, (row, cls, row_scores) in enumerate(
            zip(logged.to_dict("records"), classes, scores, strict=True)
        ):
            row = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
            record = request_log.record(
                "2026-11-28T19:00:00.123Z",
                f"r{i}",
                version or self.version,
                row,
                str(cls),
                dict(zip(self.labels, row_scores.tolist(), strict=True)),
            )
            lines.append(json.dumps(record))
        path = project / LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            handle.write("\n".join(lines) + "\n")
        return logged
