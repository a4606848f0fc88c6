"""mlprod_cli.render.evaluate: one EvaluationResult in every format, from real reports."""

from __future__ import annotations

import json
import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from mlprod_cli.core.config import Gate, MetricRef
from mlprod_cli.core.evaluate import (
    Evaluated,
    EvaluationResult,
    compare_gate,
    slice_gap_gate,
    threshold_gate,
)
from mlprod_cli.core.metrics import METRIC_NAMES, classification_report, to_dict
from mlprod_cli.errors import DataError, UsageError
from mlprod_cli.render.evaluate import (
    ALL_METRICS_COLUMNS,
    FORMATS,
    TABLE_COLUMNS,
    json_data,
    render,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    render_table,
)
from tests.render.pages import assert_self_contained, parse

ODD = 'a<b & "c"|d'  # needs escaping in HTML, XML and Markdown tables
BENIGN = "bénin [x]"  # unicode, and brackets that Rich would read as markup
SEB = "seborrheic keratosis"  # never predicted: precision undefined
LABELS = [ODD, BENIGN, SEB]
Y_TRUE = np.array([ODD, ODD, ODD, BENIGN, BENIGN, BENIGN, BENIGN, SEB, SEB, BENIGN, ODD, BENIGN])
Y_PRED = np.array(
    [ODD, BENIGN, ODD, BENIGN, BENIGN, ODD, BENIGN, BENIGN, BENIGN, BENIGN, ODD, BENIGN]
)
SEX = np.array(["f", "m", "m", "f", "m", "f", "m", "f", "f", "m", "f", "m"])  # no SEB among m
SCORES = np.random.default_rng(7).random((len(Y_TRUE), len(LABELS)))
DOCS = Path(__file__).resolve().parents[2] / "docs" / "evaluate.md"
JSON_KEYS = {
    "project",
    "run_id",
    "created_at",
    "stored",
    "data",
    "model",
    "selected",
    "n_samples",
    "classes",
    "averages",
    "accuracy",
    "custom",
    "confusion",
    "comparisons",
    "slices",
    "slice_gaps",
    "gates",
    "gates_enforced",
    "passed",
    "status",
    "warnings",
}


def slices_of(y_pred, scores) -> dict:
    groups = {}
    for value in ("f", "m"):
        rows = np.flatnonzero(np.equal(SEX, value))
        groups[value] = classification_report(
            Y_TRUE[rows], y_pred[rows], labels=LABELS, scores=scores[rows]
        )
    return {"sex": groups}


def make_result(*, enforced: bool = True) -> tuple[EvaluationResult, dict]:
    report = classification_report(
        Y_TRUE, Y_PRED, labels=LABELS, scores=SCORES, custom={"nan_metric": lambda t, p: math.nan}
    )
    baseline = classification_report(Y_TRUE, np.array([BENIGN] * len(Y_TRUE)), labels=LABELS)
    slices = slices_of(Y_PRED, SCORES)
    gates = [
        *threshold_gate(Gate("recall", ODD, min=0.5), report),
        *threshold_gate(Gate("precision", SEB, min=0.5), report),
        compare_gate(
            MetricRef("recall", ODD),
            report,
            baseline,
            kind="beat_baseline",
            tolerance=0.0,
            other_name="baseline v0001",
        ),
        slice_gap_gate(MetricRef("recall", BENIGN), "sex", slices["sex"], 0.1),
    ]
    result = EvaluationResult(
        project="skin-lesions",
        data={"source": "data/test.csv", "rows": len(Y_TRUE), "sha256": "ab" * 32},
        primary=Evaluated("model v0003", "v0003", "model", report, slices),
        comparisons=[Evaluated("baseline v0001", "v0001", "baseline", baseline)],
        gates=gates,
        gates_enforced=enforced,
        run_id="run-1",
        created_at="2024-07-01T12:00:00+00:00",
        warnings=["3 rows had no label"],
    )
    curves = {"model v0003": (Y_TRUE, SCORES, LABELS), "baseline v0001": (Y_TRUE, None, LABELS)}
    return result, curves


@pytest.fixture(scope="module")
def full():
    return make_result()


@pytest.fixture(scope="module")
def result(full):
    return full[0]


@pytest.fixture(scope="module")
def bare() -> EvaluationResult:
    """No scores, no comparisons, no slices, no gates."""
    report = classification_report(["x", "x", "y"], ["x", "x", "x"])
    return EvaluationResult(None, {}, Evaluated("preds.csv", None, "predictions", report))


def test_fixture_gates_pass_and_fail_as_designed(result):
    assert [g.passed for g in result.gates] == [True, False, True, False]
    assert result.primary.report.value("precision", label=SEB).reason == "no predicted positives"


# --- table ---------------------------------------------------------------------------------


def header_cells(text: str, start: str) -> list[str]:
    """The cells of the first line matching the regular expression ``start``."""
    line = next(line for line in text.splitlines() if re.match(start, line.strip()))
    return re.split(r"\s{2,}", line.strip())


def test_table_has_the_columns_rows_and_reasons(result):
    text = render_table(result)
    assert header_cells(text, r"class\s+sensitivity") == list(TABLE_COLUMNS)
    assert "— precision of seborrheic keratosis: no predicted positives" in text
    assert "precision averages leave out seborrheic keratosis (undefined there)" in text
    assert "custom metric nan_metric: — (custom metric returned NaN)" in text
    row = re.split(r"\s{2,}", next(line for line in text.splitlines() if SEB in line).strip())
    assert row[:4] == [SEB, "0.0000", "—", "0.0000"]
    assert row[-4:] == ["0", "0", "2", "16.7"]  # TP FP FN and % of samples
    odd_row = next(line for line in text.splitlines() if line.strip().startswith(ODD))
    assert odd_row.split()[-1] == "33.3"  # 4 of 12, one decimal
    for name in ("macro avg", "weighted avg", "accuracy"):
        assert any(line.strip().startswith(name) for line in text.splitlines())
    assert BENIGN in text  # brackets are not swallowed as Rich markup


def test_table_compares_slices_and_gates(result):
    text = render_table(result)
    assert "model v0003 compared with baseline v0001" in text
    benign_recall = next(
        line for line in text.splitlines() if line.strip().startswith(BENIGN) and " recall " in line
    )
    assert benign_recall.split()[-3:] == ["0.8333", "1.0000", "-0.1667"]
    assert "— auroc of" in text and "(baseline v0001): no scores" in text
    # Three classes: the slice table has every class; SEB has no support among m.
    assert f"recall@{SEB}" in text
    assert "largest gap across sex" in text
    gap_row = next(line for line in text.splitlines() if line.strip().startswith(f"recall@{SEB}"))
    assert gap_row.split()[-2:] == ["—", "m"]
    gate_lines = [
        line.strip() for line in text.splitlines() if line.strip()[:4] in ("PASS", "FAIL")
    ]
    assert [line[:4] for line in gate_lines] == ["PASS", "FAIL", "PASS", "FAIL"]
    # What was required and what was measured, never "0.0000 >= 0.72" beside FAIL.
    assert f"recall@{ODD}" in gate_lines[0] and ">= 0.5" not in gate_lines[0].split("needs")[0]
    assert gate_lines[0].endswith(f"needs >= 0.5, measured {result.gates[0].value:.4f}")
    assert gate_lines[1].endswith(
        "needs >= 0.5, cannot be checked: undefined: no predicted positives"
    )
    assert text.rstrip().endswith("gates: 2 passed, 2 failed")


def test_table_all_metrics_adds_the_rest(result):
    text = render_table(result, all_metrics=True)
    assert header_cells(text, r"class\s+sensitivity") == list(TABLE_COLUMNS)
    assert header_cells(text, r"class\s+NPV") == ["class", *ALL_METRICS_COLUMNS]
    assert "— LR+ of seborrheic keratosis: no false positives (FPR is 0)" in text


def test_table_of_a_bare_result(bare):
    text = render_table(bare)
    assert "— AUROC of x, y: no scores" in text
    assert "compared" not in text and "largest gap" not in text
    assert text.rstrip().endswith("gates: none configured (metrics.gates in mlprod.yaml)")


def test_table_says_when_gates_are_not_enforced():
    text = render_table(make_result(enforced=False)[0])
    assert "FAIL" in text
    assert "gates: not enforced (--no-gate)" in text


def test_slice_table_shows_macro_averages_above_three_classes():
    y = np.array(["a", "b", "c", "d"] * 3)
    groups = np.array(["u"] * 6 + ["v"] * 6)  # every class in both slices
    slices = {"g": {v: classification_report(y[groups == v], y[groups == v]) for v in ("u", "v")}}
    report = classification_report(y, y)
    result = EvaluationResult(None, {}, Evaluated("m", None, "model", report, slices))
    text = render_table(result)
    assert header_cells(text, r"g\s+support")[:3] == ["g", "support", "macro recall"]
    assert "recall@a" not in text
    assert json_data(result)["slice_gaps"]["g"]["recall@a"] == 0.0


# --- json ----------------------------------------------------------------------------------


def no_constants(name):
    raise AssertionError(f"{name} in JSON")


def test_json_keys_and_values_equal_the_report(result):
    text = render_json(result)
    data = json.loads(text, parse_constant=no_constants)
    assert set(data) == JSON_KEYS
    expected = to_dict(result.primary.report)
    assert data["accuracy"] == expected["accuracy"]
    assert data["model"] == {"name": "model v0003", "version": "v0003", "kind": "model"}
    assert data["confusion"] == {"labels": LABELS, "matrix": expected["confusion"]}
    for ours, theirs in zip(data["classes"], expected["classes"], strict=True):
        assert {k: ours[k] for k in ("label", "tp", "fp", "fn", "tn", "support", "share")} == {
            k: theirs[k] for k in ("label", "tp", "fp", "fn", "tn", "support", "share")
        }
        assert {name: ours[name] for name in METRIC_NAMES} == theirs["metrics"]
        assert ours["undefined"] == theirs["undefined"]
    seb = next(c for c in data["classes"] if c["label"] == SEB)
    assert seb["precision"] is None
    assert seb["undefined"]["precision"] == "no predicted positives"
    for kind in ("macro", "weighted"):
        theirs = expected["averages"][kind]
        assert {name: data["averages"][kind][name] for name in METRIC_NAMES} == theirs["metrics"]
        assert data["averages"][kind]["skipped"] == theirs["skipped"]
    assert data["custom"] == {
        "metrics": {"nan_metric": None},
        "undefined": {"nan_metric": "custom metric returned NaN"},
    }


def test_json_comparisons_slices_gaps_and_gates(result):
    data = json.loads(render_json(result))
    (baseline,) = data["comparisons"]
    assert baseline["name"] == "baseline v0001" and baseline["kind"] == "baseline"
    assert baseline["accuracy"] == result.comparisons[0].report.accuracy.value
    assert {c["label"]: c["auroc"] for c in baseline["classes"]} == dict.fromkeys(LABELS)
    female = data["slices"]["sex"]["f"]
    assert female["support"] == int((SEX == "f").sum())
    assert [c["label"] for c in female["classes"]] == LABELS
    gaps = data["slice_gaps"]["sex"]
    recalls = {
        v: r.value("recall", label=ODD).value for v, r in result.primary.slices["sex"].items()
    }
    assert gaps[f"recall@{ODD}"] == pytest.approx(max(recalls.values()) - min(recalls.values()))
    assert gaps[f"recall@{SEB}"] is None  # defined in one slice only
    assert set(gaps) >= {"recall", "precision", "f1_score", "auroc"}  # macro averages
    assert [g["passed"] for g in data["gates"]] == [True, False, True, False]
    assert data["gates"][1] == {
        "name": f"precision@{SEB} >= 0.5",
        "kind": "threshold",
        "passed": False,
        "value": None,
        "detail": "needs >= 0.5, cannot be checked: undefined: no predicted positives",
        "subject": f"precision@{SEB}",
        "required": ">= 0.5",
        "limit": None,
        "checked": False,
        "reason": "undefined: no predicted positives",
    }
    passed = data["gates"][0]
    assert (passed["required"], passed["limit"], passed["checked"]) == (">= 0.5", 0.5, True)
    assert passed["detail"] == f"needs >= 0.5, measured {passed['value']:.4f}"
    assert data["gates_enforced"] is True and data["passed"] is False


def test_json_never_carries_nan(bare):
    bare_nan = EvaluationResult(
        "p", {"rows": np.int64(3), "weird": float("nan"), "inf": [np.float64("inf")]}, bare.primary
    )
    data = json.loads(render_json(bare_nan), parse_constant=no_constants)
    assert data["data"] == {"rows": 3, "weird": None, "inf": [None]}
    assert data["comparisons"] == [] and data["slices"] == {} and data["gates"] == []
    assert data["passed"] is True


def test_every_json_key_is_documented():
    docs = DOCS.read_text(encoding="utf-8")
    for key in JSON_KEYS | {"undefined", "skipped", "share", "matrix", "support"}:
        assert f"`{key}`" in docs, key


# --- markdown ------------------------------------------------------------------------------


def test_markdown_tables_and_gates(result):
    text = render_markdown(result)
    lines = text.splitlines()
    assert lines[0] == "## ❌ model v0003: 2 of 4 gates failed; 1 warning"
    assert "| " + " | ".join(TABLE_COLUMNS) + " |" in lines
    odd = next(line for line in lines if line.startswith("| a&lt;b"))
    assert odd.startswith('| a&lt;b &amp; "c"\\|d | ')
    # Every row of the per-class table has as many cells as the header.
    cells = len(TABLE_COLUMNS)
    assert len(re.split(r"(?<!\\)\|", odd)) == cells + 2
    assert "| bénin \\[x\\] |" in text
    assert (
        f"| ❌ FAIL | precision@{SEB} | needs &gt;= 0.5, cannot be checked: undefined: no predicted positives |"
        in lines
    )
    assert sum(line.startswith("| ✅ PASS |") for line in lines) == 2
    assert "> **warning:** 3 rows had no label" in text
    assert "<" not in text.replace("&lt;", "")  # no raw HTML


def test_markdown_of_a_bare_result(bare):
    text = render_markdown(bare)
    assert text.startswith("## ✅ preds.csv: no gates")
    assert "### gates" not in text


# --- junit ---------------------------------------------------------------------------------


def test_junit_parses_with_the_counts(result):
    root = ET.fromstring(render_junit(result))
    assert root.tag == "testsuites"
    # 4 gates, 1 warning, 3 classes
    assert (root.get("tests"), root.get("failures")) == ("8", "2")
    gates, metrics = root.findall("testsuite")
    assert gates.get("name") == "mlprod evaluate"
    assert (gates.get("tests"), gates.get("failures"), gates.get("skipped")) == ("5", "2", "1")
    cases = gates.findall("testcase")
    assert [c.get("name") for c in cases] == [g.name for g in result.gates] + result.warnings
    assert [c.get("classname") for c in cases] == ["mlprod.gates"] * 4 + ["mlprod.warnings"]
    warned = cases[-1].find("skipped")
    assert warned.get("message") == "warning: 3 rows had no label"
    failure = cases[1].find("failure")
    assert failure.get("message") == (
        "needs >= 0.5, cannot be checked: undefined: no predicted positives"
    )
    assert cases[0].find("failure") is None
    assert [c.get("name") for c in metrics.findall("testcase")] == LABELS
    out = metrics.find("testcase").find("system-out").text
    assert "recall=0.7500" in out


def test_junit_skips_failed_gates_not_enforced():
    root = ET.fromstring(render_junit(make_result(enforced=False)[0]))
    gates = root.find("testsuite")
    assert (gates.get("failures"), gates.get("skipped")) == ("0", "3")  # 2 gates, 1 warning
    skipped = [
        c.find("skipped") for c in gates.findall("testcase") if c.get("classname") == "mlprod.gates"
    ]
    assert [s is not None and s.get("message") == "not enforced" for s in skipped] == [
        False,
        True,
        False,
        True,
    ]


def test_junit_of_a_bare_result(bare):
    root = ET.fromstring(render_junit(bare))
    assert (root.get("tests"), root.get("failures")) == ("2", "0")


# --- html ----------------------------------------------------------------------------------


def test_html_is_one_file_with_images(full):
    result, curves = full
    text = render_html(result, curves=curves)
    page = parse(text)
    assert_self_contained(text, page)
    assert page.tags.count("img") == 3  # confusion matrix, ROC, precision-recall
    words = "".join(page.text)
    assert ODD in words and "— precision of seborrheic keratosis: no predicted positives" in words
    assert ODD not in text  # escaped in the source
    assert "baseline v0001: no scores" in words
    assert len(text) < 600_000


def test_html_without_curves_has_the_heatmap_and_a_note(bare):
    text = render(bare, "html")
    page = parse(text)
    assert_self_contained(text, page)
    assert page.tags.count("img") == 1
    assert "No curves" in text


def test_html_rejects_scores_of_the_wrong_shape(result):
    with pytest.raises(DataError, match="shape"):
        render_html(result, curves={"m": (Y_TRUE, SCORES[:, :2], LABELS)})


def test_html_needs_matplotlib(result, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(UsageError, match=r"--format html needs matplotlib"):
        render_html(result)


# --- dispatch ------------------------------------------------------------------------------


def test_render_dispatches_every_format(bare):
    assert render(bare, "table") == render_table(bare)
    assert render(bare, "json") == render_json(bare)
    assert render(bare, "markdown") == render_markdown(bare)
    assert render(bare, "junit") == render_junit(bare)
    assert set(FORMATS) == {"table", "json", "markdown", "junit", "html"}
    with pytest.raises(UsageError, match="unknown format 'csv'"):
        render(bare, "csv")


def test_one_of_a_kind_reads_singular():
    from dataclasses import replace

    report = classification_report(["x"], ["x"])
    one = EvaluationResult(
        "p", {"source": "one.csv", "rows": 1}, Evaluated("preds.csv", None, "predictions", report)
    )
    one.gates = threshold_gate(Gate("recall", "x", min=0.5), report)
    one.warnings = ["only one row"]
    text = render_table(one)
    assert "preds.csv (predictions) on one.csv (1 row)" in text
    assert "preds.csv: per class (1 sample)" in text
    assert render_markdown(one).startswith("## ⚠️ preds.csv: its one gate passed; 1 warning")
    two = replace(one, gates=one.gates * 2, warnings=[])
    assert render_markdown(two).startswith("## ✅ preds.csv: all 2 gates passed")
