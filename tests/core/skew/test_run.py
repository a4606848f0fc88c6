"""mlprod_cli.core.skew._run: a whole run on a trained project, scenarios and bad input."""

from __future__ import annotations

import pytest

from mlprod_cli.errors import ConfigError, DataError
from tests.core.skew.support import run

# --------------------------------------------------------------------------- scenarios


def test_the_training_rows_served_faithfully_are_all_ok(trained, served):
    served.log(trained)
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
    served.log(trained, served.X.assign(age=served.X["age"] + 15))
    report = run(trained).report
    assert report.status == "fail"
    assert [f.name for f in report.features if f.status != "ok"] == ["age"]
    assert report.feature("age").statistics["ks"].status == "fail"
    assert report.predictions.statistics["prediction_mismatch"].value == 0


def test_a_new_category_is_named(trained, served):
    X = served.X.copy()
    X.loc[X.index[::10], "anatomic_site"] = "scalp"
    served.log(trained, X)
    report = run(trained).report
    unseen = [x for x in report.schema if x.kind == "unseen_categories"]
    assert [(x.column, x.examples) for x in unseen] == [("anatomic_site", ("scalp",))]
    assert report.feature("anatomic_site").status != "ok"
    assert {f.name for f in report.features if f.status != "ok"} == {"anatomic_site"}


# --------------------------------------------------------------------------- bad input


def test_no_reference(trained, served, tmp_path):
    X = served.X
    X.to_csv(tmp_path / "cur.csv", index=False)
    with pytest.raises(
        DataError, match="no reference: pass --reference FILE or train and activate a model"
    ):
        run(trained, current=(tmp_path / "cur.csv",))


def test_a_threshold_for_an_unknown_feature_names_mlprod_yaml(trained, served):
    served.log(trained)
    path = trained / "mlprod.yaml"
    text = path.read_text().replace("skew:\n", "skew:\n  features:\n    colour: {psi: 0.3}\n")
    path.write_text(text)
    with pytest.raises(
        ConfigError, match=r"mlprod\.yaml:\d+: skew\.features\.colour: no training feature"
    ):
        run(trained)
