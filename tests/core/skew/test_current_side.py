"""mlprod_cli.core.skew._current_side: the serving files, other versions, re-scoring."""

from __future__ import annotations

import pandas as pd
import pytest

from mlprod_cli.errors import DataError
from tests.core.skew.support import run
from tests.request_logs import LOG

# --------------------------------------------------------------------------- re-scoring


def test_a_unit_change_in_the_log_shows_as_skew_and_prediction_skew(trained, served):
    # Served from millimetres, logged in centimetres: the log no longer says what was scored.
    X = served.X
    served.log(trained, X.assign(diameter_mm=X["diameter_mm"] / 10), served_from=X)
    report = run(trained).report
    assert report.feature("diameter_mm").status == "fail"
    assert {f.name for f in report.features if f.status != "ok"} == {"diameter_mm"}
    mismatch = report.predictions.statistics["prediction_mismatch"]
    assert mismatch.status == "fail" and mismatch.value > 0.05
    assert report.predictions.statistics["score_diff"].status == "fail"


def test_a_unit_change_inside_serving_only_is_caught_by_re_scoring(trained, served):
    # Logged in millimetres, but the server converted to centimetres before scoring: every
    # distribution matches training, only the served predictions give it away.
    X = served.X
    served.log(trained, served_from=X.assign(diameter_mm=X["diameter_mm"] / 10))
    report = run(trained).report
    assert all(f.status == "ok" for f in report.features)
    assert report.predictions.statistics["prediction_mismatch"].status == "fail"
    assert report.status == "fail"


def test_rows_of_other_versions_are_left_out_and_counted(trained, served):
    X = served.X
    served.log(trained, X.head(100), version="v0001")
    served.log(trained)
    result = run(trained)
    assert result.version == "v0002"  # the newest line's version
    assert result.report.rows_current == 2365
    assert result.current["other_versions"] == {"v0001": 100}
    assert any("left out 100 rows of v0001" in note for note in result.notes)
    (trained / LOG).write_text("")
    served.log(trained, X.head(5))
    with pytest.raises(DataError, match=r"no rows served by v0001 \(it has 5 of v0002\)"):
        run(trained, version_id="v0001")


def test_files_without_served_predictions(trained, served, tmp_path):
    X = served.X
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


def test_a_feature_missing_from_the_log(trained, served):
    served.log(trained, served.X.drop(columns=["evolving"]), served_from=served.X)
    result = run(trained)
    missing = [x for x in result.report.schema if x.kind == "missing_feature"]
    assert [x.column for x in missing] == ["evolving"]
    assert result.prediction_skew["checked"] is False
    assert "lacks features the model needs: evolving" in result.prediction_skew["reason"]


# --------------------------------------------------------------------------- bad input


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


def test_current_file_with_none_of_the_features(trained, tmp_path):
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_csv(tmp_path / "cur.csv", index=False)
    with pytest.raises(DataError, match=r"cur\.csv: none of the reference's features is in it"):
        run(trained, current=(tmp_path / "cur.csv",), version_id="v0002")
