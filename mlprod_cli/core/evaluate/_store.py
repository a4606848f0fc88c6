"""An evaluation run written to the metrics store, in one transaction, for ``metrics history``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mlprod_cli.core.evaluate._scoring import EvaluationResult


def metric_rows(result: EvaluationResult) -> list[Any]:
    """Every number of the primary report (whole data and slices) as store rows."""
    from mlprod_cli.adapters.store import MetricRow

    rows = []
    seen: set[tuple] = set()

    def keep(row: Any) -> None:
        # A class named "macro", or a custom metric named like a built-in one, would
        # repeat a key; the first (the per-class or built-in value) is the one stored.
        key = (row.metric, row.cls, row.slice)
        if key not in seen:
            seen.add(key)
            rows.append(row)

    def add(report: Any, slice_name: str | None) -> None:
        if getattr(report, "task", None) == "regression":
            for name, value in (*report.metrics.items(), *report.custom.items()):
                keep(MetricRow(name, value.value, None, slice_name))
            return
        keep(MetricRow("accuracy", report.accuracy.value, None, slice_name))
        for cls in report.classes:
            for name, value in cls.metrics.items():
                keep(MetricRow(name, value.value, cls.label, slice_name))
        for average, values in report.averages.items():
            for name, value in values.items():
                keep(MetricRow(name, value.value, average, slice_name))
        for name, value in report.custom.items():
            keep(MetricRow(name, value.value, None, slice_name))

    add(result.primary.report, None)
    for column, groups in result.primary.slices.items():
        for value, report in groups.items():
            add(report, f"{column}={value}")
    return rows


def store_result(result: EvaluationResult, store: Any) -> None:
    """Write the run in one transaction; fills ``run_id`` and ``created_at``."""
    from mlprod_cli.adapters.store import Run, new_run_id

    run_id = new_run_id()
    created = dt.datetime.now(dt.timezone.utc)
    run = Run(
        run_id=run_id,
        created_at=created,
        project=result.project or "predictions",
        model_version=result.primary.version,
        model_kind=result.primary.kind,
        data_hash=result.data.get("sha256"),
        source=str(result.data.get("source")),
        gates_passed=result.passed if result.gates else None,
        rows=tuple(metric_rows(result)),
    )
    store.add_run(run)
    result.run_id = run_id
    result.created_at = created.isoformat(timespec="seconds")
    result.stored = True
