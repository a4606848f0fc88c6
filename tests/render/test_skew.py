"""mlprod_cli.render.skew: one SkewRun in every format, from a real comparison."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from mlprod_cli.core.skew import to_dict
from mlprod_cli.errors import UsageError
from mlprod_cli.render.skew import (
    FEATURE_COLUMNS,
    FORMATS,
    check_html,
    failed,
    headline,
    json_data,
    render,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    render_table,
)
from tests.render.pages import assert_self_contained, parse
from tests.render.results import ODD, skew_run

DOCS = Path(__file__).resolve().parents[2] / "docs" / "skew.md"


@pytest.fixture(scope="module")
def run():
    """Features that fail, warn and pass, schema findings, predictions and a note."""
    return skew_run()


@pytest.fixture(scope="module")
def files_run():
    """Two files compared, no model: no predictions section."""
    return skew_run(predictions=False)


def test_the_fixture_has_what_the_formats_show(run, files_run):
    statuses = {f.name: f.status for f in run.report.features}
    assert statuses == {"age": "fail", "diameter_mm": "fail", ODD: "fail", "site": "ok",
                        "visit": "ok", "weight": "fail"}  # fmt: skip
    assert {x.kind for x in run.report.schema} == {
        "out_of_range",
        "unseen_categories",
        "extra_column",
    }
    assert run.report.predictions.status == "warn" and files_run.report.predictions is None


# --- the exit code and the headline --------------------------------------------------------


def warning_only(run):
    return replace(run, report=replace(run.report, status="warn"))


def test_failed_follows_fail_on(run):
    assert failed(run) and failed(run, "warn")
    assert not failed(warning_only(run), "fail") and failed(warning_only(run), "warn")


def test_headline_names_what_fails_and_warns(run, files_run):
    assert headline(run) == (
        f"skew FAIL: 4 failures (age, diameter_mm, {ODD}, weight), 2 warnings (extra, prediction); "
        "6 features compared"
    )
    assert "1 warning (extra)" in headline(files_run)


# --- table ---------------------------------------------------------------------------------


def test_table_has_every_section(run):
    text = render_table(run)
    lines = text.splitlines()
    assert lines[0] == headline(run)
    header = next(line for line in lines if re.match(r"feature\s+kind", line.strip()))
    assert re.split(r"\s{2,}", header.strip()) == [
        "feature", "kind", "status", *FEATURE_COLUMNS, "null rate", "values ref / cur"
    ]  # fmt: skip
    diameter = next(line for line in lines if line.strip().startswith("diameter_mm"))
    assert "fail" in diameter and "FAIL" in diameter
    assert "— psi of weight: no values in the serving data" in text
    assert "schema findings (4)" in text and "predictions: WARN" in text
    assert "12 of 400 served classes differ from the offline ones" in text
    assert "note: left out 3 rows of v0001" in text
    assert text.rstrip().splitlines()[-1].startswith("thresholds (warn/fail above): psi 0.1/0.25")
    assert ODD in text  # brackets are not swallowed as Rich markup


def test_table_without_predictions_says_why(files_run):
    text = render_table(files_run)
    assert "predictions:" not in text
    assert "prediction skew: not checked (the serving data carries no served predictions)" in text
    assert "no model version" in text and "reference: file data/lesions.csv" in text


def test_fail_on_warn_shows_in_the_headline(run):
    assert headline(warning_only(run), "warn").startswith("skew WARN (--fail-on warn): ")


# --- json ----------------------------------------------------------------------------------


def no_constants(name):
    raise AssertionError(f"{name} in JSON")


def test_json_keys_and_values_equal_the_report(run):
    data = json.loads(render_json(run), parse_constant=no_constants)
    assert list(data) == [
        "status", "failed", "fail_on", "project", "model_version", "reference", "current",
        "rows_reference", "rows_current", "sample_size", "thresholds", "features", "schema",
        "predictions", "prediction_skew", "rules", "notes", "seconds",
    ]  # fmt: skip
    body = to_dict(run.report)
    assert data["features"] == json.loads(json.dumps(body["features"]))
    assert (data["status"], data["failed"], data["fail_on"]) == ("fail", True, "fail")
    assert data["model_version"] == "v0002" and data["prediction_skew"]["checked"] is True
    weight = next(f for f in data["features"] if f["name"] == "weight")
    psi = weight["statistics"]["psi"]
    assert (psi["value"], psi["reason"]) == (None, "no values in the serving data")
    assert json_data(run, fail_on="warn")["fail_on"] == "warn"


def test_every_json_key_is_documented(run):
    docs = DOCS.read_text(encoding="utf-8")
    for key in json_data(run):
        assert f"`{key}`" in docs, key


# --- markdown ------------------------------------------------------------------------------


def test_markdown_bolds_failures_and_escapes_names(run, files_run):
    text = render_markdown(run)
    lines = text.splitlines()
    assert lines[0].startswith("## ❌ skew FAIL: 4 fail")
    assert "| feature | kind | status | psi | ks | wasserstein | js | linf |" in text
    assert "| diameter_mm | numeric | **FAIL** | **8.2831 fail** |" in text
    assert '| a&lt;b &amp; "c"\\|d \\[b\\] | categorical | **FAIL** |' in text
    assert "> **note:** left out 3 rows of v0001" in text
    assert "<" not in text.replace("&lt;", "")  # no raw HTML
    assert render_markdown(files_run).count("prediction skew: not checked") == 1


# --- junit ---------------------------------------------------------------------------------


def test_junit_a_case_per_feature_extra_column_and_the_predictions(run):
    root = ET.fromstring(render_junit(run))
    (suite,) = root.findall("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == [
        "age",
        "diameter_mm",
        ODD,
        "site",
        "visit",
        "weight",
        "extra",
        "prediction",
    ]
    assert (root.get("tests"), root.get("failures")) == ("8", "4")
    assert cases["extra"].get("classname") == "mlprod.skew.schema"
    assert cases["prediction"].get("classname") == "mlprod.skew.predictions"
    assert "psi 8.2831 > 0.25 (fail)" in cases["diameter_mm"].find("failure").get("message")
    assert cases["prediction"].find("failure") is None
    assert (
        "warn: prediction_mismatch 0.0300 > 0.01 (warn)"
        in cases["prediction"].find("system-out").text
    )
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["model_version"] == "v0002" and properties["fail_on"] == "fail"


def test_junit_fail_on_warn_fails_warnings_too(run):
    root = ET.fromstring(render_junit(run, fail_on="warn"))
    assert root.get("failures") == "6"  # and extra, prediction
    assert root.find("testsuite/testcase[@name='extra']/failure") is not None


# --- html ----------------------------------------------------------------------------------


def test_html_is_one_file_with_a_chart_per_feature(run):
    pytest.importorskip("matplotlib")
    text = render_html(run)
    page = parse(text)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert_self_contained(text, page)
    assert page.tags.count("img") == 6  # every feature but the date, and the predictions
    words = "".join(page.text)
    assert "Dates are compared by null rate and type only." in words
    assert headline(run) in words and "— psi of weight: no values in the serving data" in words
    assert ODD in words and ODD not in text  # escaped by the template
    assert ("id", f"feature-{ODD}") in page.attrs
    assert ("title", "no values in the serving data") in page.attrs
    assert ("class", "num is-fail") in page.attrs and ("class", "badge fail") in page.attrs
    assert "<h3></h3>" not in text  # a feature's own table has no title


def test_html_of_two_files_has_no_predictions_section(files_run):
    pytest.importorskip("matplotlib")
    text = render_html(files_run)
    assert "<h2>Predictions</h2>" not in text
    assert "<title>mlprod skew: data/lesions.csv</title>" in text
    assert "prediction skew: not checked" in text


def test_html_needs_matplotlib(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(UsageError, match=r"--format html needs matplotlib"):
        check_html()
    with pytest.raises(UsageError, match=r"--format html needs matplotlib"):
        render_html(run)


# --- dispatch ------------------------------------------------------------------------------


def test_render_dispatches_every_format(files_run):
    assert render(files_run, "table") == render_table(files_run)
    assert render(files_run, "json", fail_on="warn") == render_json(files_run, fail_on="warn")
    assert render(files_run, "markdown") == render_markdown(files_run)
    assert render(files_run, "junit") == render_junit(files_run)
    assert set(FORMATS) == {"table", "json", "markdown", "junit", "html"}
    with pytest.raises(UsageError, match="unknown format 'csv'"):
        render(files_run, "csv")
