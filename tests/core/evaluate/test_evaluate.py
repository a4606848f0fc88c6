"""The evaluate core: store rows and gates on edge cases."""

from __future__ import annotations

import datetime as dt

from mlprod_cli.adapters.store import Run
from mlprod_cli.core.config import MetricRef
from mlprod_cli.core.evaluate import Evaluated, EvaluationResult, metric_rows, slice_gap_gate
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


def test_slice_gap_ties_name_two_slices():
    same = classification_report(["a", "b"], ["a", "b"])
    gate = slice_gap_gate(MetricRef("recall", "a"), "sex", {"female": same, "male": same}, 0.1)
    assert gate.passed and gate.value == 0.0
    assert "sex=female" in gate.detail and "sex=male" in gate.detail
