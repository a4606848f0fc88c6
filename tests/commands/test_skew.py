"""``mlprod skew``: exit codes, formats, --output, bad input, through ``cli.main``."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from mlprod_cli import cli
from mlprod_cli.cli import main
from tests.request_logs import LOG

JSON_KEYS = [
    "status",
    "failed",
    "fail_on",
    "project",
    "model_version",
    "reference",
    "current",
    "rows_reference",
    "rows_current",
    "sample_size",
    "thresholds",
    "features",
    "schema",
    "predictions",
    "prediction_skew",
    "rules",
    "notes",
    "seconds",
]


@pytest.fixture(autouse=True)
def skew_command(monkeypatch):
    """``mlprod skew`` registered whether or not cli.build_app does it yet."""
    from mlprod_cli.commands import skew

    original = cli.build_app

    def build_app():
        app = original()
        if not any(command.name == "skew" for command in app.registered_commands):
            skew.register(app)
        return app

    monkeypatch.setattr(cli, "build_app", build_app)


@pytest.fixture
def here(trained, monkeypatch):
    monkeypatch.chdir(trained)
    return trained


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if line.startswith("error:")]) == 1, err
    return err[-1]


# --------------------------------------------------------------------------- results


def test_identical_distributions_exit_0_all_ok(here, served, capsys):
    served.log(here)
    assert main(["skew"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("skew OK: all ok; 8 features compared")
    assert "model v0002, project skin-lesions" in captured.out
    assert "prediction skew: 2,365 served rows re-scored offline with v0002" in captured.out
    assert "FAIL" not in captured.out and "WARN" not in captured.out
    assert "error" not in captured.err


def test_a_shifted_feature_fails_and_is_named(here, served, capsys):
    X = served.X
    served.log(here, X.assign(age=X["age"] + 15))
    assert main(["skew"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("skew FAIL: 1 failure (age)")
    assert re.search(r"^ age +numeric +FAIL", captured.out, re.MULTILINE)
    assert "mlprod: skew FAIL: 1 failure (age)" in captured.err


def test_51_rows_from_the_training_distribution_pass_with_a_note(here, served, capsys):
    # By the thresholds alone anatomic_site's PSI fails (and eight distances warn) on
    # 51 rows drawn from the training split; no KS or chi-square test finds a drift.
    served.log(here, served.X.sample(51, random_state=0))
    assert main(["skew", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "ok" and report["failed"] is False
    site = next(f for f in report["features"] if f["name"] == "anatomic_site")
    assert site["status"] == "ok" and site["statistics"]["psi"]["value"] > 0.25
    assert site["significance"]["test"] == "chi2" and site["significance"]["values"] == 51
    assert site["significance"]["significant"] is False
    assert site["significance"]["overridden"]["psi"] == "fail"
    assert main(["skew"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("skew OK: all ok; 8 features compared")
    assert re.search(
        r"^\* anatomic_site: psi above its fail level, js above its warn level, linf above its "
        r"warn level, but not significant at n=51 \(chi-square p = [0-9.]+ ≥ 0\.01\): judged ok$",
        out,
        re.MULTILINE,
    )


def test_51_shifted_rows_still_fail(here, served, capsys):
    X = served.X.sample(51, random_state=0)
    served.log(here, X.assign(age=X["age"] + 15))
    assert main(["skew", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    age = next(f for f in report["features"] if f["name"] == "age")
    assert age["status"] == "fail" and age["significance"]["significant"] is True
    assert [f["name"] for f in report["features"] if f["status"] != "ok"] == ["age"]


def test_unit_change_json_names_the_feature_and_the_prediction_skew(here, served, capsys):
    X = served.X
    served.log(here, X.assign(diameter_mm=X["diameter_mm"] / 10), served_from=X)
    assert main(["skew", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert list(report) == JSON_KEYS
    assert report["status"] == "fail" and report["failed"] is True
    assert [f["name"] for f in report["features"] if f["status"] != "ok"] == ["diameter_mm"]
    feature = report["features"][3]
    assert list(feature) == [
        "name", "kind", "status", "values_reference", "values_current", "null_rate_reference",
        "null_rate_current", "sampled", "statistics", "summary", "distribution", "significance",
    ]  # fmt: skip
    assert list(feature["statistics"]["psi"]) == ["value", "status", "warn", "fail", "reason"]
    assert feature["statistics"]["psi"]["status"] == "fail"
    mismatch = report["predictions"]["statistics"]["prediction_mismatch"]
    assert mismatch["status"] == "fail" and mismatch["value"] > 0.05
    assert report["prediction_skew"] == {
        "checked": True, "rows": 2365, "score_rows": 2365, "reason": None, "drift_from": "served",
    }  # fmt: skip
    assert list(report["reference"]) == ["kind", "source", "sha256", "rows", "split", "cached"]
    assert list(report["current"]) == [
        "kind", "source", "files", "rows_read", "rows", "other_versions",
    ]  # fmt: skip
    assert report["current"]["files"] == [{"path": LOG, "rows": 2365}]


def test_fail_on_warn(here, served, capsys):
    X = served.X.copy()
    X.loc[X.index[::200], "anatomic_site"] = "scalp"  # unseen: a warning; 0.5% moves little
    served.log(here, X)
    assert main(["skew", "-f", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "warn" and report["failed"] is False
    assert [(x["kind"], x["column"]) for x in report["schema"]] == [
        ("unseen_categories", "anatomic_site")
    ]
    assert main(["skew", "--fail-on", "warn"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("skew WARN (--fail-on warn): 1 warning (anatomic_site)")


def test_junit_parses_and_fails_what_fails(here, served, capsys, tmp_path):
    X = served.X
    served.log(here, X.assign(age=X["age"] + 15))
    out = tmp_path / "skew.xml"
    assert main(["skew", "--format", "junit", "--output", str(out)]) == 1
    assert capsys.readouterr().out == ""
    root = ET.parse(out).getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert len(cases) == 9  # 8 features and the predictions
    failed = sorted(name for name, case in cases.items() if case.find("failure") is not None)
    assert failed == ["age"]
    assert "ks" in cases["age"].find("failure").get("message")
    assert root.get("tests") == "9" and root.get("failures") == "1"


def test_html_is_one_self_contained_file(here, served, capsys, tmp_path):
    X = served.X
    served.log(here, X.assign(diameter_mm=X["diameter_mm"] / 10), served_from=X)
    out = tmp_path / "skew.html"
    assert main(["skew", "--format", "html", "--output", str(out)]) == 1
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert text.count("data:image/png;base64,") == 9  # every feature and the predictions
    assert not re.search(r"(src|href)=\"(https?:)?//", text) and "<script" not in text
    assert 'id="feature-diameter_mm"' in text


def test_markdown(here, served, capsys):
    served.log(here)
    assert main(["skew", "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("## ✅ skew OK") and "| feature | kind | status |" in text


def test_outside_a_project_with_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(list("ab"), 2000)}).to_parquet(
        tmp_path / "ref.parquet"
    )
    (tmp_path / "cur.jsonl").write_text(
        "\n".join(json.dumps({"x": float(v), "c": "a"}) for v in rng.normal(size=500)) + "\n"
    )
    args = ["skew", "-r", "ref.parquet", "-c", "cur.jsonl", "-f", "json"]
    assert main(args) == 1  # c is all "a" now
    report = json.loads(capsys.readouterr().out)
    assert report["project"] is None and report["model_version"] is None
    assert [f["status"] for f in report["features"]] == ["ok", "fail"]
    assert report["prediction_skew"]["checked"] is False


# --------------------------------------------------------------------------- bad input


def test_no_reference(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cur.csv").write_text("x\n1\n")
    assert main(["skew", "--current", "cur.csv", "--output", "out.json"]) == 2
    assert error_line(capsys).startswith(
        "error: no reference: pass --reference FILE or train and activate a model"
    )
    assert not (tmp_path / "out.json").exists()


def test_no_reference_in_a_project_without_an_active_model(here, served, capsys):
    served.X.to_csv(here / "cur.csv", index=False)
    assert main(["skew", "--current", "cur.csv"]) == 2
    assert "no reference: pass --reference FILE" in error_line(capsys)


def test_current_file_with_none_of_the_features(here, capsys):
    (here / "other.csv").write_text("a,b\n1,2\n")
    assert main(["skew", "-c", "other.csv", "-m", "v0002", "-o", "out.json"]) == 2
    line = error_line(capsys)
    assert "other.csv: none of the reference's features is in it" in line
    assert "age, sex" in line
    assert not (here / "out.json").exists()


def test_empty_log_names_the_folder(here, capsys):
    assert main(["skew"]) == 2
    assert "the request log is empty: logs/requests/ has no *.jsonl files" in error_line(capsys)
    (here / LOG).parent.mkdir(parents=True)
    (here / LOG).write_text("")
    assert main(["skew", "-o", "out.txt"]) == 2
    assert "the request log is empty: its file in logs/requests/ has no lines" in error_line(capsys)
    assert not (here / "out.txt").exists()


def test_threshold_that_is_not_a_number(here, served, capsys):
    served.log(here)
    path = here / "mlprod.yaml"
    path.write_text(path.read_text().replace("skew:\n", "skew:\n  thresholds: {psi: high}\n"))
    assert main(["skew"]) == 2
    line = error_line(capsys)
    assert re.search(r"mlprod\.yaml:\d+: skew\.thresholds\.psi: .*number", line), line


def test_unreadable_json_names_file_and_line(here, served, capsys):
    served.log(here)
    lines = (here / LOG).read_text().splitlines()
    lines[2] = '{"ts": "2026-11-28T19:00:00Z", "features": {"age": 5'
    (here / LOG).write_text("\n".join(lines) + "\n")
    assert main(["skew", "-f", "html", "-o", "report.html"]) == 2
    assert re.search(r"requests-2026-11-28\.jsonl:3: not valid JSON", error_line(capsys))
    assert not (here / "report.html").exists()


def test_bad_usage(here, capsys):
    assert main(["skew", "-c", "data.txt"]) == 2
    assert "--current data.txt: must be .csv, .parquet or .jsonl" in error_line(capsys)
    assert main(["skew", "-m", "v9999"]) == 2
    assert "model version 'v9999' not found" in error_line(capsys)
    assert main(["skew", "-r", "data/lesions.csv", "-c", "nowhere.csv"]) == 2
    assert "nowhere.csv: no such file" in error_line(capsys)
    assert main(["skew", "-c", "data/lesions.csv", "--log", "logs"]) == 2
    assert "--current and --log exclude each other" in error_line(capsys)
