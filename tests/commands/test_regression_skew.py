"""``mlprod skew`` on a regression project: the served values' drift and their re-scoring.

One project is trained once for the module and copied for each test; its request log
is written by ``mlprod serve`` itself (the app through a test client), then shifted or
tampered with line by line as a faulty server or a changed population would.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from mlprod_cli.cli import main

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory):
    """A regression project trained (v0002 active), for the tests to copy."""
    from tests.regression_project import write_project

    root = write_project(tmp_path_factory.mktemp("regression") / "diabetes")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.syspath_prepend(str(root))
        assert main(["train", "--activate"]) == 0
    return root


@pytest.fixture
def project(trained_once, tmp_path, monkeypatch):
    root = tmp_path / "diabetes"
    shutil.copytree(trained_once, root)
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    return root


def serve(root, rows: pd.DataFrame) -> list[dict]:
    """``rows`` sent to ``mlprod serve``'s app; the lines it logged, as JSON."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from mlprod_cli.core.serve import ServeOptions, create_app
    from mlprod_cli.core.workspace import Workspace

    app = create_app(Workspace.load(root), ServeOptions(log_dir=root / "logs" / "requests"))
    with TestClient(app) as client:
        answer = client.post("/predict", json=rows[FEATURES].to_dict("records"))
        assert answer.status_code == 200, answer.text
    return read_log(root)


def log_file(root):
    (path,) = (root / "logs" / "requests").glob("*.jsonl")
    return path


def read_log(root) -> list[dict]:
    return [json.loads(line) for line in log_file(root).read_text().splitlines()]


def write_log(root, lines: list[dict]) -> None:
    log_file(root).write_text("".join(json.dumps(line) + "\n" for line in lines))


def data(root) -> pd.DataFrame:
    return pd.read_csv(root / "data" / "diabetes.csv")


def skew_json(capsys, *args: str, code: int = 0) -> dict:
    assert main(["skew", "-f", "json", *args]) == code
    return json.loads(capsys.readouterr().out)


# --------------------------------------------------------------------------- what serve logged


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "junit", "html"])
def test_the_served_log_is_no_skew_in_every_format(project, capsys, fmt):
    lines = serve(project, data(project))
    assert len(lines) == 442 and all(isinstance(line["prediction"], float) for line in lines)
    assert main(["skew", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        report = json.loads(out)
        assert report["status"] == "ok" and report["failed"] is False
        pred = report["predictions"]
        assert pred["kind"] == "numeric" and pred["status"] == "ok"
        assert list(pred["statistics"]) == [
            "psi", "ks", "ks_pvalue", "wasserstein", "wasserstein_raw", "null_rate",
            "prediction_mismatch",
        ]  # fmt: skip
        assert pred["statistics"]["prediction_mismatch"]["value"] == 0.0
        summary = pred["summary"]
        assert summary["compared"] == 442 and summary["mismatches"] == 0
        assert summary["abs_diff_max"] == 0.0 and summary["served_null"] == 0
        assert summary["tolerance"]["relative"] == 1e-6
        assert summary["tolerance"]["scale"] == pytest.approx(summary["reference"]["std"])
        assert len(summary["quantiles"]["current"]) == 5
        assert report["prediction_skew"] == {
            "checked": True, "rows": 442, "score_rows": 0, "reason": None, "drift_from": "served",
        }  # fmt: skip
    elif fmt == "junit":
        root = ET.fromstring(out)
        cases = {case.get("name"): case for case in root.iter("testcase")}
        assert len(cases) == 11 and root.get("failures") == "0"
        text = cases["prediction"].find("system-out").text
        assert "kind=numeric" in text and "0 of 442 served values differ" in text
    elif fmt == "html":
        assert out.count("data:image/png;base64,") == 11  # 10 features and the values
        assert 'id="feature-prediction"' in out and "predicted values: training vs serving" in out
    else:
        assert "0 of 442 served values differ from the offline ones by more than 1e-06" in out
        assert "predicted values: training vs serving" in out
        assert re.search(r"median +[0-9.]+ +[0-9.]+ +[-+][0-9.]+", out) or "| median |" in out
        assert "classes" not in out


def test_the_summary_from_the_cache_gives_the_same_report(project, capsys):
    serve(project, data(project))
    first = skew_json(capsys)
    second = skew_json(capsys)
    assert first["reference"]["cached"] is False and second["reference"]["cached"] is True
    assert first["predictions"] == second["predictions"]


# --------------------------------------------------------------------------- drift


def test_a_population_that_moved_fails_the_prediction_drift(project, capsys):
    frame = data(project)
    high = frame[frame["progression"] > frame["progression"].quantile(0.6)]
    serve(project, high)
    report = skew_json(capsys, code=1)
    pred = report["predictions"]
    assert pred["status"] == "fail" and report["failed"] is True
    assert pred["statistics"]["ks"]["status"] == "fail"
    assert pred["statistics"]["prediction_mismatch"]["value"] == 0.0  # served faithfully
    assert pred["summary"]["current"]["mean"] > pred["summary"]["reference"]["mean"] + 20
    assert main(["skew"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("skew FAIL: 7 failures (") and "and 1 more" in captured.out
    assert "\npredictions: FAIL\n" in captured.out
    assert re.search(r"^ ks +[0-9.]+ fail +0\.1 +0\.2 +FAIL$", captured.out, re.MULTILINE)


# --------------------------------------------------------------------------- re-scoring


def test_float_noise_in_the_served_values_is_no_skew(project, capsys):
    lines = serve(project, data(project))
    for line in lines:
        line["prediction"] *= 1 + 1e-10
    write_log(project, lines)
    pred = skew_json(capsys)["predictions"]
    assert pred["summary"]["mismatches"] == 0 and 0 < pred["summary"]["abs_diff_max"] < 1e-6


def test_tampered_served_values_are_prediction_skew(project, capsys):
    lines = serve(project, data(project))
    for line in lines[::10]:  # 45 of 442: 10%
        line["prediction"] += 7.5
    write_log(project, lines)
    report = skew_json(capsys, code=1)
    pred = report["predictions"]
    assert [f["name"] for f in report["features"] if f["status"] != "ok"] == []
    mismatch = pred["statistics"]["prediction_mismatch"]
    assert mismatch["status"] == "fail" and mismatch["value"] == pytest.approx(45 / 442)
    assert pred["summary"]["mismatches"] == 45
    assert pred["summary"]["abs_diff_max"] == pytest.approx(7.5)
    assert pred["summary"]["abs_diff_mean"] == pytest.approx(45 * 7.5 / 442)
    assert main(["skew", "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("## ❌ skew FAIL: 1 failure (prediction)")
    assert "45 of 442 served values differ" in out and "largest 7.5" in out


def test_a_served_null_is_counted_not_a_crash(project, capsys):
    lines = serve(project, data(project))
    lines[3]["prediction"] = None
    lines[300]["prediction"] = None
    write_log(project, lines)
    pred = skew_json(capsys)["predictions"]
    assert pred["summary"]["served_null"] == 2 and pred["summary"]["mismatches"] == 2
    assert pred["values_current"] == 440
    assert pred["null_rate_current"] == pytest.approx(2 / 442)
    assert main(["skew"]) == 0
    assert "2 served values were null (the model gave no finite number)" in capsys.readouterr().out


# --------------------------------------------------------------------------- bad input


def test_a_prediction_that_is_text_is_one_line(project, capsys, tree_snapshot):
    lines = serve(project, data(project))
    lines[4]["prediction"] = "high"
    write_log(project, lines)
    before = tree_snapshot(project)
    assert main(["skew", "-o", "report.txt"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert re.search(
        r"requests-[0-9-]+\.jsonl:5: 'prediction' is a string \(\"high\"\), but a regression serves numbers",
        err,
    )
    assert tree_snapshot(project) == before


def test_a_predict_output_with_text_in_prediction_is_one_line(project, capsys):
    frame = data(project).drop(columns=["progression"]).head(20)
    frame["prediction"] = ["12.5"] * 19 + ["high"]
    frame.to_csv(project / "served.csv", index=False)
    assert main(["skew", "--current", "served.csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: served.csv: the column 'prediction'")
    assert "'high'" in err and "a regression serves numbers" in err
