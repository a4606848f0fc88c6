"""mlprod_cli.render.metrics: the history as a table, as JSON, and as a chart."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mlprod_cli.errors import UsageError
from mlprod_cli.render.metrics import PLOT_FORMATS, check_plot, plot_history, render_history
from tests.render.results import history


def test_table_rows_and_trend():
    assert render_history(history(), "table").splitlines() == [
        "recall@melanoma [sex=female] of skin-lesions, 4 runs",
        "",
        "when (UTC)           kind   model version   value   change",
        "2024-07-01 12:00:00  model  v1             0.6000",
        "2024-07-01 13:00:00  model  v2             0.7200  +0.1200",
        "2024-07-01 14:00:00  model  v3                n/a",
        "2024-07-01 15:00:00  model  v4             0.8000",
        "",
        "trend  ▁▅ █  0.6000 → 0.8000 (+0.2000)",
        "       min 0.6000 (v1)  max 0.8000 (v4)  undefined in 1 run",
    ]


def test_table_without_points():
    text = render_history(history(points=False), "table")
    assert text.splitlines()[0].endswith(", 0 runs")
    assert text.splitlines()[-1] == "trend  no defined values"


def test_json_has_stable_keys():
    data = json.loads(render_history(history(), "json"))
    assert list(data) == [
        "project", "metric", "class", "slice", "kind", "model", "store", "points", "trend",
    ]  # fmt: skip
    assert (data["metric"], data["class"], data["slice"]) == ("recall", "melanoma", "sex=female")
    assert data["points"][1] == {
        "run_id": "run-1",
        "created_at": "2024-07-01T13:00:00+00:00",
        "model_version": "v2",
        "kind": "model",
        "source": "data/test.csv",
        "value": 0.72,
        "change": pytest.approx(0.12),
    }
    assert data["points"][2]["value"] is None and data["points"][3]["change"] is None
    assert data["trend"] == {
        "first": 0.6, "last": 0.8, "change": pytest.approx(0.2), "min": 0.6, "max": 0.8,
        "runs": 4, "undefined": 1,
    }  # fmt: skip
    empty = json.loads(render_history(history(points=False), "json"))
    assert empty["points"] == [] and empty["trend"] is None


@pytest.mark.parametrize(
    ("fmt", "magic"), [("png", b"\x89PNG\r\n\x1a\n"), ("svg", b"<?xml"), ("pdf", b"%PDF")]
)
def test_plot_is_the_file_of_its_format(fmt, magic):
    pytest.importorskip("matplotlib")
    assert plot_history(history(), fmt).startswith(magic)
    assert f".{fmt}" in PLOT_FORMATS


def test_check_plot(monkeypatch):
    pytest.importorskip("matplotlib")
    check_plot(Path("chart.PNG"))
    with pytest.raises(
        UsageError, match=r"--plot chart.gif: the file must end in .png, .svg or .pdf"
    ):
        check_plot(Path("chart.gif"))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(UsageError, match=r"^--plot needs matplotlib \(pip install matplotlib\)$"):
        check_plot(Path("chart.png"))
