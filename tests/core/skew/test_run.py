"""mlprod_cli.core.skew: finding both sides, streaming, re-scoring, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mlprod_cli.adapters import tables
from mlprod_cli.core import dataset
from mlprod_cli.core.config import load_config
from mlprod_cli.core.predict import predict_batch
from mlprod_cli.core.skew import SkewRequest, run_skew, to_dict
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import ConfigError, DataError, MlprodError

LOG = "logs/requests/requests-2026-11-28.jsonl"


@pytest.fixture(scope="module")
def served(trained_project):
    """v0002's training split as ``serve`` would log it, and a way to score changed rows."""
    config = load_config(trained_project)
    registry = Workspace(config).registry
    version = registry.get("v0002")
    model = registry.load(version)
    schema, labels = version.metadata["schema"], version.metadata["classes"]
    train, test = dataset.load_training_data(config)
    X, _ = dataset.features_and_target(config, dataset.split(config, train, test).train)
    X = X[[f["name"] for f in schema["features"]]].reset_index(drop=True)

    def score(frame):
        return predict_batch(model, dataset.conform(frame, schema, source="test")[0], labels)

    return X, score, labels


def write_log(path, features, classes, scores, labels, *, version="v0002", start=0):
    """Lines in ``mlprod serve``'s format (appended, so that a log can mix versions)."""
    lines = []
    for i, (row, cls, row_scores) in enumerate(
        zip(features.to_dict("records"), classes, scores, strict=True)
    ):
        row = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        record = {
            "ts": "2026-11-28T19:00:00.123Z",
            "request_id": f"r{start + i}",
            "model_version": version,
            "features": row,
            "prediction": str(cls),
            "scores": dict(zip(labels, np.asarray(row_scores).tolist(), strict=True)),
        }
        lines.append(json.dumps(record))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write("\n".join(lines) + "\n")


def log_of(project, served, change=None, *, served_from=None):
    """Log the training rows, changed by ``change`` as logged; the served outputs come from
    ``served_from`` (default: the logged rows themselves, as a faithful server does)."""
    X, score, labels = served
    logged = X if change is None else change(X.copy())
    classes, scores = score(logged if served_from is None else served_from(X.copy()))
    write_log(project / LOG, logged, classes, scores, labels)
    return logged


def run(project, **request):
    return run_skew(Workspace.load(project), SkewRequest(**request))


# --------------------------------------------------------------------------- scenarios


def test_the_training_rows_served_faithfully_are_all_ok(trained, served):
    log_of(trained, served)
    result = run(trained)
    report = result.report
    assert report.status == "ok" and report.rows_current == report.rows_reference == 2365
    assert all(f.status == "ok" for f in report.features)
    assert result.version == "v0002"  # from the log: no model is active
    assert result.reference["kind"] == "training split" and result.reference["rows"] == 2365
    assert result.prediction_skew == {
        "checked": True, "rows": 2365, "score_rows": 2365, "reason": None, "drift_from": "served",
    }  # fmt: skip
    stats = report.predictions.statistics
    assert stats["prediction_mismatch"].value == 0 and stats["score_diff"].value < 1e-12
    assert stats["psi"].value == pytest.approx(0, abs=1e-12)
    assert result.notes == []


def test_a_shifted_feature_is_named(trained, served):
    log_of(trained, served, lambda X: X.assign(age=X["age"] + 15))
    report = run(trained).report
    assert report.status == "fail"
    assert [f.name for f in report.features if f.status != "ok"] == ["age"]
    assert report.feature("age").statistics["ks"].status == "fail"
    assert report.predictions.statistics["prediction_mismatch"].value == 0


def test_a_new_category_is_named(trained, served):
    def scalp(X):
        X.loc[X.index[::10], "anatomic_site"] = "scalp"
        return X

    log_of(trained, served, scalp)
    report = run(trained).report
    unseen = [x for x in report.schema if x.kind == "unseen_categories"]
    assert [(x.column, x.examples) for x in unseen] == [("anatomic_site", ("scalp",))]
    assert report.feature("anatomic_site").status != "ok"
    assert {f.name for f in report.features if f.status != "ok"} == {"anatomic_site"}


def test_a_unit_change_in_the_log_shows_as_skew_and_prediction_skew(trained, served):
    # Served from millimetres, logged in centimetres: the log no longer says what was scored.
    log_of(
        trained,
        served,
        lambda X: X.assign(diameter_mm=X["diameter_mm"] / 10),
        served_from=lambda X: X,
    )
    report = run(trained).report
    assert report.feature("diameter_mm").status == "fail"
    assert {f.name for f in report.features if f.status != "ok"} == {"diameter_mm"}
    mismatch = report.predictions.statistics["prediction_mismatch"]
    assert mismatch.status == "fail" and mismatch.value > 0.05
    assert report.predictions.statistics["score_diff"].status == "fail"


def test_a_unit_change_inside_serving_only_is_caught_by_re_scoring(trained, served):
    # Logged in millimetres, but the server converted to centimetres before scoring: every
    # distribution matches training, only the served predictions give it away.
    log_of(trained, served, served_from=lambda X: X.assign(diameter_mm=X["diameter_mm"] / 10))
    report = run(trained).report
    assert all(f.status == "ok" for f in report.features)
    assert report.predictions.statistics["prediction_mismatch"].status == "fail"
    assert report.status == "fail"


def test_rows_of_other_versions_are_left_out_and_counted(trained, served):
    X, score, labels = served
    classes, scores = score(X.head(100))
    write_log(trained / LOG, X.head(100), classes, scores, labels, version="v0001")
    log_of(trained, served)
    result = run(trained)
    assert result.version == "v0002"  # the newest line's version
    assert result.report.rows_current == 2365
    assert result.current["other_versions"] == {"v0001": 100}
    assert any("left out 100 rows of v0001" in note for note in result.notes)
    (trained / LOG).write_text("")
    write_log(trained / LOG, X.head(5), *score(X.head(5)), labels)
    with pytest.raises(DataError, match=r"no rows served by v0001 \(it has 5 of v0002\)"):
        run(trained, version_id="v0001")


def test_files_without_served_predictions(trained, served, tmp_path):
    X, _, _ = served
    (tmp_path / "ref").mkdir()
    reference = tmp_path / "ref" / "reference.csv"
    X.to_csv(reference, index=False)
    X.to_parquet(tmp_path / "a.parquet", index=False)
    flat = tmp_path / "b.jsonl"
    flat.write_text(X.head(50).to_json(orient="records", lines=True))
    result = run(
        trained, reference=reference, current=(tmp_path / "a.parquet", flat), version_id="v0002"
    )
    assert result.report.status == "ok" and result.report.rows_current == 2415
    assert result.reference["kind"] == "file"
    info = result.prediction_skew
    assert info["checked"] is False and "no served predictions" in info["reason"]
    assert info["drift_from"] == "offline"
    assert result.report.predictions.statistics["psi"].value < 0.01
    assert "prediction_mismatch" not in result.report.predictions.statistics
    assert any("prediction skew not checked" in n for n in result.notes)
    assert [f["rows"] for f in result.current["files"]] == [2365, 50]


def test_a_predict_output_style_file_carries_served_predictions(trained, served, tmp_path):
    X, score, labels = served
    classes, scores = score(X)
    frame = X.assign(prediction=classes, model_version="v0002")
    for j, label in enumerate(labels):
        frame[f"score_{label}"] = scores[:, j]
    frame.to_csv(tmp_path / "served.csv", index=False)
    result = run(trained, current=(tmp_path / "served.csv",), version_id="v0002")
    assert result.prediction_skew["checked"] and result.prediction_skew["score_rows"] == 2365
    assert result.report.status == "ok"
    assert not [x for x in result.report.schema if x.kind == "extra_column"]


def test_reference_cache_is_reused_and_gives_the_same_report(trained, served):
    log_of(trained, served, lambda X: X.assign(age=X["age"] + 3))
    first = run(trained)
    cached = list((trained / ".mlprod" / "skew-cache").glob("v0002-*.json"))
    assert len(cached) == 1 and first.reference["cached"] is False
    second = run(trained)
    assert second.reference["cached"] is True
    assert to_dict(second.report) == to_dict(first.report)
    cached[0].write_text("{damaged")
    assert to_dict(run(trained).report) == to_dict(first.report)  # rebuilt, not an error
    assert to_dict(run(trained, use_cache=False).report) == to_dict(first.report)


def test_json_blocks_and_batches_do_not_change_the_report(trained, served, monkeypatch):
    log_of(trained, served, lambda X: X.assign(age=X["age"] * 1.1))
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
    X, score, labels = served
    classes, scores = score(X.head(200))
    write_log(trained / LOG, X.head(200), classes, scores, labels)
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


def test_a_feature_missing_from_the_log(trained, served):
    log_of(trained, served, lambda X: X.drop(columns=["evolving"]), served_from=lambda X: X)
    result = run(trained)
    missing = [x for x in result.report.schema if x.kind == "missing_feature"]
    assert [x.column for x in missing] == ["evolving"]
    assert result.prediction_skew["checked"] is False
    assert "lacks features the model needs: evolving" in result.prediction_skew["reason"]


def test_csv_text_in_a_number_column_is_a_finding_not_an_error(trained, served, tmp_path):
    X, _, _ = served
    frame = X.astype({"diameter_mm": object})
    frame.loc[2000, "diameter_mm"] = "12 mm"  # in a later batch than the first
    frame.to_csv(tmp_path / "cur.csv", index=False)
    result = run(trained, current=(tmp_path / "cur.csv",), version_id="v0002", batch_rows=500)
    change = [x for x in result.report.schema if x.kind == "type_change"]
    assert [(x.column, x.count, x.examples) for x in change] == [("diameter_mm", 1, ("12 mm",))]
    assert result.report.rows_current == 2365


def test_reference_file_without_a_model_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(list("abc"), 3000)})
    cur = pd.DataFrame({"x": rng.normal(1.0, size=2000), "c": rng.choice(list("abd"), 2000)})
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    result = run_skew(
        None,
        SkewRequest(reference=tmp_path / "ref.parquet", current=(tmp_path / "cur.csv",)),
    )
    assert result.version is None and result.report.predictions is None
    assert result.report.feature("x").status == "fail"
    assert [(x.kind, x.examples) for x in result.report.schema if x.column == "c"] == [
        ("unseen_categories", ("d",))
    ]
    assert not (tmp_path / ".mlprod").exists()


# --------------------------------------------------------------------------- bad input


def test_bad_json_names_the_file_and_the_line(trained, served, monkeypatch):
    log_of(trained, served)
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


def test_empty_logs(trained):
    with pytest.raises(DataError, match=r"logs/requests/ has no \*\.jsonl files") as raised:
        run(trained)
    assert raised.value.exit_code == 2
    (trained / LOG).parent.mkdir(parents=True)
    (trained / LOG).write_text("")
    (trained / "logs/requests/requests-2026-11-29.jsonl").write_text("\n")
    with pytest.raises(
        DataError, match=r"the request log is empty: its 2 files in logs/requests/ have no lines"
    ):
        run(trained)


def test_no_reference(trained, served, tmp_path):
    X, _, _ = served
    X.to_csv(tmp_path / "cur.csv", index=False)
    with pytest.raises(
        DataError, match="no reference: pass --reference FILE or train and activate a model"
    ):
        run(trained, current=(tmp_path / "cur.csv",))


def test_current_file_with_none_of_the_features(trained, tmp_path):
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_csv(tmp_path / "cur.csv", index=False)
    with pytest.raises(DataError, match=r"cur\.csv: none of the reference's features is in it"):
        run(trained, current=(tmp_path / "cur.csv",), version_id="v0002")


def test_a_threshold_for_an_unknown_feature_names_mlprod_yaml(trained, served):
    log_of(trained, served)
    path = trained / "mlprod.yaml"
    text = path.read_text().replace("skew:\n", "skew:\n  features:\n    colour: {psi: 0.3}\n")
    path.write_text(text)
    with pytest.raises(
        ConfigError, match=r"mlprod\.yaml:\d+: skew\.features\.colour: no training feature"
    ):
        run(trained)


def test_a_log_served_by_a_version_not_in_the_registry(trained, served):
    X, score, labels = served
    write_log(trained / LOG, X.head(3), *score(X.head(3)), labels, version="v0042")
    with pytest.raises(MlprodError, match=r"served by v0042, which is not in models/"):
        run(trained)
