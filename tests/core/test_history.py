"""``core/history.py``: which series to read, its changes, its trend and its sparkline."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from mlprod_cli.adapters.store import HistoryPoint, MetricRow, Run, open_store
from mlprod_cli.core.history import History, Point, load_history, series, sparkline
from mlprod_cli.errors import UsageError

T0 = datetime(2024, 7, 1, 12, tzinfo=timezone.utc)
PROJECT = "skin-lesions"
KNOWN = ("accuracy", "recall", "f1_score", "auroc")


@pytest.fixture
def store(tmp_path):
    """A SQLite store with four runs of PROJECT, the third without recall@melanoma."""
    with open_store(f"sqlite:///{tmp_path}/m.db", root=tmp_path, env={}) as opened:
        for n, value in enumerate((0.6, 0.72, None, 0.8)):
            opened.add_run(
                Run(
                    f"run-{n}",
                    T0 + timedelta(hours=n),
                    PROJECT,
                    model_version=f"v{n + 1}",
                    rows=(
                        MetricRow("recall", value, "melanoma"),
                        MetricRow("recall", 0.5 + n / 10, "melanoma", "sex=female"),
                        MetricRow("recall", 0.75, "macro"),
                        MetricRow("f1_score", 0.70 + n / 100, "macro"),
                        MetricRow("accuracy", 0.80 + n / 100),
                    ),
                )
            )
        yield opened


def read(store, metric, **kw):
    return load_history(store, PROJECT, metric=metric, known_metrics=KNOWN, **kw)


def values(history):
    return [p.value for p in history.points]


# --------------------------------------------------------------------------- choosing the series


def test_metric_at_class_is_metric_and_class(store):
    history = read(store, "recall@melanoma")
    assert (history.metric, history.cls, history.slice) == ("recall", "melanoma", None)
    assert values(history) == [0.6, 0.72, None, 0.8]
    assert [p.model_version for p in history.points] == ["v1", "v2", "v3", "v4"]
    assert history.label == "recall@melanoma" and history.note is None
    assert history.store == store.url
    assert values(read(store, "recall", cls="melanoma")) == values(history)
    assert values(read(store, "recall@melanoma", cls="melanoma")) == values(history)  # agreeing


def test_without_a_metric_the_objective_then_f1_macro(store):
    objective = load_history(store, PROJECT, metric=None, objective=("recall", "melanoma"))
    assert objective.label == "recall@melanoma"
    default = load_history(store, PROJECT, metric=None)
    assert default.label == "f1_score@macro"
    assert values(default) == pytest.approx([0.70, 0.71, 0.72, 0.73])
    # --class alone applies to the objective's metric.
    assert (
        load_history(store, PROJECT, metric=None, cls="macro", objective=("recall", "melanoma")).cls
        == "macro"
    )


def test_without_a_class_the_macro_average_else_the_overall_value(store):
    assert read(store, "recall").cls == "macro"
    accuracy = read(store, "accuracy")
    assert accuracy.cls is None and accuracy.label == "accuracy"
    assert values(accuracy) == pytest.approx([0.80, 0.81, 0.82, 0.83])


def test_a_slice(store):
    female = read(store, "recall@melanoma", slice="sex=female")
    assert female.label == "recall@melanoma [sex=female]"
    assert values(female) == pytest.approx([0.5, 0.6, 0.7, 0.8])


def test_last_keeps_the_newest_runs(store):
    assert [p.run_id for p in read(store, "accuracy", last=2).points] == ["run-2", "run-3"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"metric": "recal"}, "unknown metric 'recal' (known: accuracy, auroc, f1_score, recall)"),
        ({"metric": "recall@melanoma", "cls": "nevus"}, "--metric recall@melanoma and --class nevus disagree"),
        ({"metric": "@melanoma"}, "--metric must name a metric"),
        ({"metric": "recall", "cls": "melanomaa"}, "no stored values of recall@melanomaa for project 'skin-lesions'; "
         "stored for recall: classes macro, melanoma; slices sex=female"),
        ({"metric": "accuracy", "slice": "sex=male"}, "no stored values of accuracy on slice sex=male"),
    ],
)  # fmt: skip
def test_names_that_mean_nothing_are_usage_errors(store, kw, message):
    with pytest.raises(UsageError) as info:
        load_history(store, PROJECT, known_metrics=KNOWN, **kw)
    assert info.value.message.startswith(message) and info.value.exit_code == 2


def test_a_stored_metric_is_known_even_when_not_listed(store):
    assert values(load_history(store, PROJECT, metric="accuracy")) == pytest.approx(
        [0.80, 0.81, 0.82, 0.83]
    )


def test_nothing_stored_yet_is_an_empty_history_with_a_note(store, tmp_path):
    other = read(store, "auroc")  # known, never stored
    assert other.points == () and other.trend is None
    assert other.note == "no run of project 'skin-lesions' has stored auroc yet"
    with open_store(f"sqlite:///{tmp_path}/empty.db", root=tmp_path, env={}) as empty:
        fresh = read(empty, "recall@melanoma")
        assert fresh.points == () and fresh.cls == "melanoma"
        assert fresh.note.startswith("no runs stored yet for project 'skin-lesions' in sqlite:///")
        assert read(empty, "recall").cls == "macro"
    assert not (tmp_path / "empty.db").exists()  # reading created nothing


# --------------------------------------------------------------------------- changes, trend, sparkline


def test_series_changes_are_from_the_run_before(store):
    changes = [p.change for p in read(store, "recall@melanoma").points]
    assert changes == [
        None,
        0.12,
        None,
        None,
    ]  # 0.72 - 0.6 without binary noise; undefined on either side: none


def test_series_of_store_points():
    points = [HistoryPoint(f"r{n}", T0, None, v) for n, v in enumerate((0.5, 0.5, 0.25))]
    assert [p.change for p in series(points)] == [None, 0.0, -0.25]
    assert series([]) == ()


def test_sparkline():
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0.7, None, 0.7]) == "▄ ▄"  # flat is mid height; undefined is a gap
    assert sparkline([None, None]) == "  "
    assert sparkline([]) == ""
    long = sparkline([i % 2 for i in range(600)], width=60)
    assert len(long) == 60 and set(long) == {"▄"}  # buckets of 10 average to 0.5


def test_sparkline_buckets_keep_the_shape_and_the_gaps():
    rising = sparkline([i / 119 for i in range(120)], width=8)
    assert rising == "▁▂▃▄▅▆▇█"
    gaps = sparkline([None] * 10 + [1.0] * 10, width=4)
    assert gaps == "  ▄▄"


def test_trend_skips_undefined_values():
    def point(n, value):
        return Point(f"r{n}", T0 + timedelta(hours=n), f"v{n}", value, None)

    history = History(
        PROJECT, "recall", "melanoma", None, "sqlite:///x", (point(0, None), point(1, 0.4), point(2, 0.9), point(3, 0.6))
    )  # fmt: skip
    trend = history.trend
    assert (trend.first, trend.last, trend.change) == (0.4, 0.6, 0.2)
    assert (trend.min.value, trend.min.model_version) == (0.4, "v1")
    assert (trend.max.value, trend.max.run_id) == (0.9, "r2")
    assert (trend.runs, trend.undefined) == (4, 1)
    assert History(PROJECT, "recall", None, None, "x", (point(0, None),)).trend is None


# --------------------------------------------------------------------------- values a custom metric may return (item 11)

INF = float("inf")


@pytest.mark.parametrize(
    "values",
    [
        [0.5, INF, 0.7],
        [-INF, 0.5, INF],
        [INF, INF],
        [1e308, -1e308, 1e308],
        [-1e308, 0.0, 1e308, None],
        [INF, None, -INF, 1e308, -1e308] * 30,  # averaged into buckets
    ],
)
def test_sparkline_and_trend_of_infinite_and_extreme_values(values):
    line = sparkline(values)
    assert len(line) == min(len(values), 60) and set(line) <= set(" ▁▂▃▄▅▆▇█")
    points = series(
        [HistoryPoint(f"r{i}", T0 + timedelta(hours=i), "v1", v) for i, v in enumerate(values)]
    )
    history = History("p", "m", None, None, "sqlite:///x.db", points)
    trend = history.trend
    assert trend.min.value == min(v for v in values if v is not None)
    assert trend.max.value == max(v for v in values if v is not None)
    for change in [trend.change, *(p.change for p in points)]:
        assert change is None or math.isfinite(change)


def test_sparkline_draws_infinities_at_the_ends():
    assert sparkline([-INF, 0.0, 1.0, INF]) == "▁▁██"
    assert sparkline([1e308, -1e308]) == "█▁"
