"""The inference thread: requests waiting together share one model call."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("prometheus_client")

from mlprod_cli.core.config import load_config
from mlprod_cli.core.serve import Batcher, Metrics, load_model
from mlprod_cli.core.workspace import Workspace
from tests.serving import ROW


def test_requests_waiting_together_share_one_model_call(served_project):
    config = load_config(served_project)
    model = load_model(Workspace(config).registry, None)
    rows = [dict(ROW, age=20 + 3 * i) for i in range(24)]
    checked = [model.check([row], single=True) for row in rows]
    metrics = Metrics()
    batcher = Batcher(max_rows=256, metrics=metrics)

    async def main():
        return await asyncio.gather(*(batcher.predict(model, c.columns, 1) for c in checked))

    try:
        results = asyncio.run(main())
    finally:
        batcher.stop()
    assert metrics.value("mlprod_inference_rows_total") == 24
    assert metrics.value("mlprod_inference_batches_total") < 24
    together = model.check(rows, single=False)
    from mlprod_cli.core.predict import predict_batch

    classes, scores = predict_batch(model.estimator, model.frame(together.columns), model.labels)
    assert [r[0][0] for r in results] == classes.tolist()
    for (_, row_scores, fired), expected in zip(results, scores, strict=True):
        assert row_scores[0] == pytest.approx(expected.tolist(), abs=1e-12)
        assert fired is None  # a version without rules
