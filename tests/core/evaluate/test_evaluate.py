"""The evaluate core: the store rows of a result (``_store.py``)."""

from __future__ import annotations

import datetime as dt

from mlprod_cli.adapters.store import Run
from mlprod_cli.core.evaluate import Evaluated, EvaluationResult, metric_rows
from mlprod_cli.core.metrics import classification_report


def test_a_class_named_like_an_average_stores_once():
    report = classification_report(["macro", "b", "b", "macro"], ["macro", "b", "macro", "macro"])
    result = EvaluationResult("p", {"source": "x"}, Evaluated("f", None, "predictions", report))
    rows = metric_rows(result)
    keys = [(r.metric, r.cls, r.slice) for r in rows]
    assert len(keys) == len(set(keys))
    recall = next(r for r in rows if r.metric == "recall" and r.cls == "macro")
    assert recall.value == report.value("recall", label="macro").value  # the class, not the average
    Run("r1", dt.datetime.now(dt.timezone.utc), "p", rows=tuple(rows))  # a valid run
