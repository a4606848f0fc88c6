"""LoadedModel: a version's training schema compiled into plain-Python row checks."""

from __future__ import annotations

import pytest

from mlprod_cli.core.serve import MAX_FIELD_DEPTH, load_model
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import MlprodError
from tests.serving import ROW, tiny_model


def test_good_rows_become_columns_and_soft_findings_are_counted():
    rows = [
        {"size": 0.5, "color": "red", "seen": "2026-01-02"},
        {"size": 7, "color": "green", "seen": None, "note": "x"},
        {"size": None, "color": 3, "seen": "2026-01-03"},
    ]
    checked = tiny_model().check(rows, single=False)
    assert checked.errors == []
    assert checked.columns["color"] == ["red", "green", "3"]  # a number is taken as its text
    assert checked.columns["seen"] == ["2026-01-02", None, "2026-01-03"]
    assert checked.out_of_range == {"size": 1}
    assert checked.unseen == {"color": 2}
    assert checked.unknown == {"note": 1}
    frame = tiny_model().frame(checked.columns)
    assert str(frame["size"].dtype) == "float64" and frame["color"].dtype == object
    assert str(frame["seen"].dtype).startswith("datetime64")


def test_errors_are_located_in_the_body():
    model = tiny_model()
    (error,) = model.check([{"size": "big", "color": "red", "seen": None}], single=True).errors
    assert (error["type"], error["loc"]) == ("float_type", ["body", "size"])
    errors = model.check([{"color": "red", "seen": None}, 7], single=False).errors
    assert [(e["type"], e["loc"]) for e in errors] == [
        ("missing", ["body", 0, "size"]),
        ("dict_type", ["body", 1]),
    ]
    deep = [[]]
    for _ in range(MAX_FIELD_DEPTH):
        deep = [deep]
    row = {"size": 1e101, "color": "red", "seen": 5, "extra": deep}
    errors = model.check([row], single=True).errors
    assert [e["type"] for e in errors] == ["finite_number", "datetime_type", "nested_too_deeply"]


def test_a_version_without_a_schema_is_refused():
    with pytest.raises(MlprodError, match="no training schema"):
        tiny_model(schema={"features": []})


def test_load_model_hash_checks_and_compiles_the_active_version(served_project):
    model = load_model(Workspace.load(served_project).registry, None)
    assert model.id == "v0002" and not model.pinned
    assert [f.name for f in model.features][:3] == ["age", "sex", "anatomic_site"]
    assert model.check([ROW], single=True).errors == []
    assert model.info()["version"] == "v0002"


def test_dates_with_offsets_that_differ_become_one_column_of_instants():
    # Issue 11, item 2: pandas refused "Mixed timezones" in a batch, and serve answered 500.
    import pandas as pd

    model = tiny_model()
    seen = ["2026-01-02T10:00:00+02:00", "2026-01-02T08:00:00Z", "2026-01-02T08:00:00", "soon"]
    checked = model.check([{"size": 0.5, "color": "red", "seen": s} for s in seen], single=False)
    assert checked.errors == []
    frame = model.frame(checked.columns)
    assert frame["seen"].dt.tz is None  # naive in training: naive UTC, as train's schema says
    assert frame["seen"].iloc[:3].tolist() == [pd.Timestamp("2026-01-02 08:00")] * 3
    assert pd.isna(frame["seen"].iloc[3])
