"""Sample runs for the store tests: ``make_run(n)`` is run n of project "skin", an hour after run n-1."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mlprod_cli.adapters.store import MetricRow, Run

T0 = datetime(2024, 7, 1, 12, 0, tzinfo=timezone.utc)


def make_run(n: int, project: str = "skin", *, value: float | None = None, **kw) -> Run:
    """Run ``n`` with five rows around ``value`` (0.5 + n/100); any field can be given in ``kw``."""
    value = 0.5 + n / 100 if value is None else value
    rows = kw.pop(
        "rows",
        (
            MetricRow("accuracy", value),
            MetricRow("recall", value, "melanoma"),
            MetricRow("recall", value - 0.1, "nevus"),
            MetricRow("recall", value - 0.05, "macro"),
            MetricRow("recall", value - 0.2, "melanoma", "sex=female"),
        ),
    )
    return Run(
        run_id=kw.pop("run_id", f"run-{project}-{n}"),
        created_at=kw.pop("created_at", T0 + timedelta(hours=n)),
        project=project,
        model_version=kw.pop("model_version", f"v{n}"),
        model_kind=kw.pop("model_kind", "model"),
        data_hash=kw.pop("data_hash", f"sha256:{n:04d}"),
        source=kw.pop("source", "evaluate"),
        gates_passed=kw.pop("gates_passed", n % 2 == 0),
        rows=rows,
    )
