"""mlprod_cli.core.skew._batches: serving files as batches, flat or in the log's format."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from mlprod_cli.adapters import tables
from mlprod_cli.core import request_log
from mlprod_cli.core.skew import to_dict
from mlprod_cli.core.skew._batches import file_batches
from mlprod_cli.errors import DataError
from tests.core.skew.support import run
from tests.request_logs import LOG

# --------------------------------------------------------------------------- through a run


def test_a_predict_output_style_file_carries_served_predictions(trained, served, tmp_path):
    X, labels = served.X, served.labels
    classes, scores = served.score(X)
    frame = X.assign(prediction=classes, model_version="v0002")
    for j, label in enumerate(labels):
        frame[f"score_{label}"] = scores[:, j]
    frame.to_csv(tmp_path / "served.csv", index=False)
    result = run(trained, current=(tmp_path / "served.csv",), version_id="v0002")
    assert result.prediction_skew["checked"] and result.prediction_skew["score_rows"] == 2365
    assert result.report.status == "ok"
    assert not [x for x in result.report.schema if x.kind == "extra_column"]


def test_json_blocks_and_batches_do_not_change_the_report(trained, served, monkeypatch):
    served.log(trained, served.X.assign(age=served.X["age"] * 1.1))
    whole = to_dict(run(trained, use_cache=False).report)
    monkeypatch.setattr(tables, "JSON_BLOCK_BYTES", 20_000)  # about 60 lines a block
    # Equal up to float rounding: means and scores are summed batch by batch.
    assert_close(to_dict(run(trained, use_cache=False).report), whole)


def assert_close(a, b, path="report"):
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            assert_close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), path
    else:
        assert a == b, path


def test_json_lines_that_pyarrow_cannot_type_are_read_by_python(trained, served):
    served.log(trained, served.X.head(200))
    lines = (trained / LOG).read_text().splitlines()
    for i in (3, 150):  # a number sent as text, twice
        record = json.loads(lines[i])
        record["features"]["age"] = "unknown"
        lines[i] = json.dumps(record)
    record = json.loads(lines[7])
    record["features"]["sex"] = 1  # a category sent as a number
    lines[7] = json.dumps(record)
    (trained / LOG).write_text("\n".join(lines) + "\n")
    report = run(trained).report
    changes = {x.column: x for x in report.schema if x.kind == "type_change"}
    assert set(changes) == {"age"} and changes["age"].count == 2
    assert changes["age"].examples == ("unknown",)
    unseen = {x.column: x.examples for x in report.schema if x.kind == "unseen_categories"}
    assert unseen == {"sex": ("1",)}
    assert report.rows_current == 200


def test_csv_text_in_a_number_column_is_a_finding_not_an_error(trained, served, tmp_path):
    X = served.X
    frame = X.astype({"diameter_mm": object})
    frame.loc[2000, "diameter_mm"] = "12 mm"  # in a later batch than the first
    frame.to_csv(tmp_path / "cur.csv", index=False)
    result = run(trained, current=(tmp_path / "cur.csv",), version_id="v0002", batch_rows=500)
    change = [x for x in result.report.schema if x.kind == "type_change"]
    assert [(x.column, x.count, x.examples) for x in change] == [("diameter_mm", 1, ("12 mm",))]
    assert result.report.rows_current == 2365


# --------------------------------------------------------------------------- bad input


def test_bad_json_names_the_file_and_the_line(trained, served, monkeypatch):
    served.log(trained)
    lines = (trained / LOG).read_text().splitlines()
    lines[1999] = lines[1999][:40]  # a torn line, in a later block than the first
    (trained / LOG).write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(tables, "JSON_BLOCK_BYTES", 100_000)
    with pytest.raises(DataError, match=r"requests-2026-11-28\.jsonl:2000: not valid JSON"):
        run(trained)
    lines[1999] = "[1, 2]"
    (trained / LOG).write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"jsonl:2000: expected a JSON object, got an array"):
        run(trained)


# --------------------------------------------------------------------------- one file

SCHEMA = {"features": [{"name": "age", "kind": "numeric"}, {"name": "sex", "kind": "categorical"}]}
LABELS = ["nevus", "melanoma"]
SERVED = [
    request_log.record("t", "r0", "v0002", {"age": 3, "sex": "f"}, "nevus", {"nevus": 0.75, "melanoma": 0.25}),
    request_log.record("t", "r1", "v0001", {"age": None, "sex": "m", "site": "arm"}, "melanoma", {"nevus": 0.5}),
]  # fmt: skip


def _batch(path):
    (batch,) = file_batches(path, SCHEMA, LABELS, batch_rows=1000)
    return batch


@pytest.mark.parametrize("mixed", [False, True])  # read by pyarrow, or by Python's json
def test_a_log_file_gives_the_rows_and_what_was_served(tmp_path, mixed):
    records = list(SERVED)
    if mixed:  # a number column that turns to text after numbers: pyarrow gives up on it
        records.append(request_log.record("t", "r2", "v0002", {"age": "old"}, None, None))
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    batch = _batch(path)
    assert list(batch.frame.columns) == ["age", "sex", "site"]
    assert batch.frame["sex"].tolist()[:2] == ["f", "m"]
    assert batch.served.tolist()[:2] == ["nevus", "melanoma"]
    assert batch.versions.tolist()[:2] == ["v0002", "v0001"]
    assert batch.scores[:2].tolist()[0] == [0.75, 0.25]
    assert batch.scores[1, 0] == 0.5 and math.isnan(batch.scores[1, 1])  # not logged
    if mixed:
        assert batch.frame["age"].tolist()[2] == "old" and batch.served[2] is None


def test_a_flat_table_with_predict_output_columns(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text(
        "age,sex,prediction,score_nevus,score_melanoma,model_version\n3,f,nevus,0.75,0.25,v0002\n"
    )
    batch = _batch(path)
    assert batch.served.tolist() == ["nevus"] and batch.versions.tolist() == ["v0002"]
    assert batch.scores.tolist() == [[0.75, 0.25]]
    flat = tmp_path / "flat.jsonl"
    flat.write_text('{"age": 3, "sex": "f"}\n')
    batch = _batch(flat)
    assert batch.served is None and batch.scores is None and batch.versions is None
    assert batch.frame.to_dict("records") == [{"age": 3.0, "sex": "f"}]


def test_features_that_are_not_an_object_name_the_line(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps(SERVED[0]) + "\n" + json.dumps({"features": [1, 2]}) + "\n")
    with pytest.raises(
        DataError, match=r"log\.jsonl:2: 'features' is not a JSON object but an array"
    ):
        _batch(path)


# --------------------------------------------------------------------------- a regression's values


def _values(path):
    (batch,) = file_batches(path, SCHEMA, [], batch_rows=1000, numeric_prediction=True)
    return batch


@pytest.mark.parametrize("fallback", [False, True])  # read by pyarrow, or by Python's json
def test_a_regressions_log_gives_numbers_with_nan_for_null(tmp_path, fallback):
    rows = [{"age": 3, "sex": "f"}, {"age": 4, "sex": "m"}, {"age": 5, "sex": "f"}]
    if fallback:  # a number column that turns to text: the block goes to Python's json
        rows[2]["age"] = "old"
    lines = [
        request_log.record("t", f"r{i}", "v0002", row, value, None)
        for i, (row, value) in enumerate(zip(rows, [12.5, None, 7], strict=True))
    ]
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    batch = _values(path)
    assert batch.served.dtype.kind == "f" and batch.served[0] == 12.5 and batch.served[2] == 7.0
    assert math.isnan(batch.served[1])
    assert batch.scores is None and batch.versions.tolist() == ["v0002"] * 3


@pytest.mark.parametrize(
    ("value", "shown"), [("12.5", 'a string ("12.5")'), (True, "a boolean (true)")]
)
def test_a_regressions_log_line_that_serves_no_number_is_named(tmp_path, value, shown):
    good = request_log.record("t", "r0", "v0002", {"age": 3, "sex": "f"}, 1.5, None)
    bad = {**good, "prediction": value}
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n")  # a blank line 2
    with pytest.raises(DataError) as info:
        _values(path)
    assert str(info.value) == (
        f"{path}:3: 'prediction' is {shown}, but a regression serves numbers"
    )


def test_a_regressions_flat_table_reads_its_prediction_column(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("age,sex,prediction,model_version\n3,f,12.5,v0002\n4,m,,v0002\n")
    batch = _values(path)
    assert batch.served[0] == 12.5 and math.isnan(batch.served[1])
    path.write_text("age,sex,prediction\n3,f,true\n")
    with pytest.raises(DataError, match=r"out\.csv: the column 'prediction' holds 1 text value"):
        _values(path)
    booleans = tmp_path / "out.parquet"
    pd.DataFrame({"age": [3.0], "sex": ["f"], "prediction": [True]}).to_parquet(booleans)
    with pytest.raises(DataError, match=r"out\.parquet: the column 'prediction' holds booleans"):
        _values(booleans)
