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


def _scored(served_project, wait: float, in_flight: int, gaps: list[float]):
    """Requests that arrive ``gaps`` seconds apart while ``in_flight`` are in the
    server at once: the batcher's metrics, and how long each request took."""
    import time

    config = load_config(served_project)
    model = load_model(Workspace(config).registry, None)
    checked = [model.check([dict(ROW, age=30 + i)], single=True) for i in range(len(gaps))]
    metrics = Metrics()
    batcher = Batcher(max_rows=256, metrics=metrics, wait=wait)
    took: list[float] = []

    async def one(columns, gap):
        await asyncio.sleep(gap)
        started = time.monotonic()
        result = await batcher.predict(model, columns, 1)
        took.append(time.monotonic() - started)
        return result

    async def main():
        for _ in range(in_flight):  # the requests being read, as the app marks them
            batcher.arrived()
        return await asyncio.gather(*(one(c.columns, g) for c, g in zip(checked, gaps, strict=True)))  # fmt: skip

    try:
        asyncio.run(main())
    finally:
        batcher.stop()
    return metrics, took


def test_requests_in_flight_are_waited_for_and_share_one_call(served_project):
    # Four requests in the server at once, the last arriving 30 ms after the first:
    # a wait of 0.5 s lets all of them join the first one's call.
    metrics, _ = _scored(served_project, 0.5, 4, [0.0, 0.01, 0.02, 0.03])
    assert metrics.value("mlprod_inference_batches_total") == 1
    assert metrics.value("mlprod_inference_batch_rows_sum") == 4
    assert metrics.value("mlprod_inference_batch_rows_bucket", le="4.0") == 1
    # Without the wait, each is scored as it comes.
    metrics, _ = _scored(served_project, 0.0, 4, [0.0, 0.15, 0.3, 0.45])
    assert metrics.value("mlprod_inference_batches_total") == 4
    assert metrics.value("mlprod_inference_batch_rows_bucket", le="1.0") == 4


def test_a_lone_request_is_never_made_to_wait(served_project):
    # The only request in flight: scored at once, however long the wait could be.
    metrics, took = _scored(served_project, 5.0, 1, [0.0])
    assert metrics.value("mlprod_inference_batches_total") == 1
    assert took[0] < 2.5


def test_the_wait_is_bounded_when_a_request_in_flight_never_comes(served_project):
    # Two in flight, one of them refused before scoring (a 422): the other waits
    # for the bound only, then is scored alone.
    metrics, took = _scored(served_project, 0.3, 2, [0.0])
    assert metrics.value("mlprod_inference_batches_total") == 1
    assert 0.25 <= took[0] < 3.0
