"""``core/evaluate/_scoring.py``: predictions scored into reports, per slice, and read back."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from mlprod_cli.core.config import MetricRef, load_config
from mlprod_cli.core.evaluate import (
    Evaluated,
    EvaluationResult,
    GateResult,
    Scored,
    custom_metrics,
    predict_with_scores,
    report_for,
    slice_reports,
    value_from_dict,
)
from mlprod_cli.core.metrics import classification_report, to_dict
from mlprod_cli.errors import DataError

Y_TRUE = np.array(["a", "a", "b", "b", "c", "a"])
Y_PRED = np.array(["a", "b", "b", "b", "c", "c"])


@pytest.fixture(scope="module")
def fitted():
    X = pd.DataFrame({"x": [0.0, 0.1, 1.0, 1.1, 2.0, 2.1, 0.2, 1.2, 2.2]})
    y = ["a", "a", "b", "b", "c", "c", "a", "b", "c"]
    return LogisticRegression().fit(X, y), X


def test_predict_with_scores_in_the_estimators_class_order(fitted):
    model, X = fitted
    scored = predict_with_scores(model, X)
    assert scored.labels == ["a", "b", "c"]
    assert scored.y_pred.tolist() == model.predict(X).tolist()
    np.testing.assert_allclose(scored.scores, model.predict_proba(X))


def test_predict_with_scores_reorders_to_the_labels_given(fitted):
    model, X = fitted
    scored = predict_with_scores(model, X, ["c", "a", "b"])
    assert scored.labels == ["c", "a", "b"]
    np.testing.assert_allclose(scored.scores, model.predict_proba(X)[:, [2, 0, 1]])


def test_predict_with_scores_of_integer_classes_gives_text():
    model = DecisionTreeClassifier(random_state=0).fit([[0], [1], [2]], [0, 1, 1])
    scored = predict_with_scores(model, [[0], [2]])
    assert scored.labels == ["0", "1"] and scored.y_pred.tolist() == ["0", "1"]


def test_report_for_a_mask_is_the_report_of_those_rows():
    scores = np.eye(3)[[0, 1, 1, 1, 2, 2]]
    scored = Scored(["a", "b", "c"], Y_PRED, scores)
    mask = np.array([True, True, False, True, True, True])
    masked = report_for(Y_TRUE, scored, mask=mask)
    direct = classification_report(
        Y_TRUE[mask], Y_PRED[mask], labels=["a", "b", "c"], scores=scores[mask]
    )
    assert to_dict(masked) == to_dict(direct)
    assert masked.n_samples == 5 and masked.labels == ["a", "b", "c"]
    whole = report_for(Y_TRUE, Scored(["a", "b", "c"], Y_PRED, None))
    assert whole.value("auroc").value is None  # no scores, no AUROC


def test_slice_reports_one_report_per_value_with_missing_as_its_own_slice():
    frame = pd.DataFrame({"sex": ["f", "m", "f", None, "m", "f"], "site": list("xxyyzz")})
    scored = Scored(["a", "b", "c"], Y_PRED, None)
    slices = slice_reports(frame, Y_TRUE, scored, ("sex",))
    assert list(slices) == ["sex"] and list(slices["sex"]) == ["(missing)", "f", "m"]
    female = frame["sex"].eq("f").to_numpy()
    expected = classification_report(Y_TRUE[female], Y_PRED[female], labels=["a", "b", "c"])
    assert to_dict(slices["sex"]["f"]) == to_dict(expected)
    assert sum(r.n_samples for r in slices["sex"].values()) == len(frame)
    with pytest.raises(
        DataError, match=r"slice column 'age' is not in the data \(columns: sex, site\)"
    ):
        slice_reports(frame, Y_TRUE, scored, ("sex", "age"))


def test_custom_metrics_come_from_the_projects_metrics_module(project):
    config = load_config(project)
    found = custom_metrics(config)
    assert list(found) == ["worst_class_recall"]
    assert found["worst_class_recall"](["melanoma", "nevus"], ["melanoma", "melanoma"]) == 0.0
    assert custom_metrics(replace(config, metrics=replace(config.metrics, module=None))) == {}


def test_custom_metrics_that_are_not_a_mapping_are_none(project):
    (project / "src" / "odd_metrics.py").write_text("CUSTOM_METRICS = ['not', 'a', 'mapping']\n")
    config = load_config(project)
    assert (
        custom_metrics(replace(config, metrics=replace(config.metrics, module="odd_metrics"))) == {}
    )


# --------------------------------------------------------------------------- stored reports


@pytest.fixture(scope="module")
def stored():
    report = classification_report(
        Y_TRUE, Y_PRED, custom={"hits": lambda t, p: float((np.asarray(t) == p).sum())}
    )
    return report, to_dict(report)


@pytest.mark.parametrize(
    "ref",
    [
        MetricRef("accuracy"),
        MetricRef("recall", "a"),
        MetricRef("precision", "c"),
        MetricRef("f1_score"),  # no class: the macro average
        MetricRef("hits"),  # a custom metric
    ],
)
def test_value_from_dict_reads_what_to_dict_wrote(stored, ref):
    report, as_dict = stored
    assert value_from_dict(as_dict, ref) == pytest.approx(
        report.value(ref.metric, label=ref.cls).value
    )


def test_value_from_dict_of_an_undefined_or_absent_value_is_none(stored):
    as_dict = stored[1]
    assert value_from_dict(as_dict, MetricRef("auroc", "a")) is None  # no scores
    assert value_from_dict(as_dict, MetricRef("recall", "zebra")) is None
    assert value_from_dict(as_dict, MetricRef("nonsense")) is None


@pytest.mark.parametrize(
    "edited",
    [
        {},
        {"accuracy": "0.9"},
        {"accuracy": True},
        {"classes": "a, b"},
        {"classes": [None, "x", {"label": "a", "metrics": "high"}]},
        {"classes": [{"label": "a", "metrics": {"recall": None}}]},
        {"averages": {"macro": [0.5]}},
        [],
    ],
)
def test_value_from_dict_of_a_hand_edited_report_is_none_not_a_crash(edited):
    for ref in (MetricRef("accuracy"), MetricRef("recall", "a"), MetricRef("recall")):
        assert value_from_dict(edited, ref) is None


def test_value_from_dict_takes_ints_as_numbers():
    assert (
        value_from_dict({"classes": [{"label": "a", "metrics": {"tp": 3}}]}, MetricRef("tp", "a"))
        == 3
    )


# --------------------------------------------------------------------------- the result


def test_a_result_passes_when_every_gate_passes():
    primary = Evaluated("model v0002", "v0002", "model", classification_report(["a"], ["a"]))
    result = EvaluationResult("p", {"source": "x"}, primary)
    assert result.passed  # no gates, nothing failed

    def gate(passed):
        return GateResult("g", "threshold", passed, 1.0, "")

    assert replace(result, gates=[gate(True), gate(True)]).passed
    assert not replace(result, gates=[gate(True), gate(False)]).passed


def test_the_first_lesson_of_metrics_warns_without_any_gate():
    """On 990 benign and 10 melanomas, "benign" always is 99 % accurate and finds nothing."""
    from mlprod_cli.core.evaluate import metric_lessons
    from mlprod_cli.core.metrics import classification_report

    y_true = np.array(["benign"] * 990 + ["melanoma"] * 10)
    lessons = metric_lessons(classification_report(y_true, np.array(["benign"] * 1000)))
    assert lessons == [
        "'melanoma' is never predicted (10 of its rows, none found)",
        "accuracy 0.990 equals the share of 'benign' (0.990): the model may be predicting only the majority class",
    ]
    wrong = np.array(["benign"] * 985 + ["melanoma"] * 5 + ["benign"] * 10)
    assert metric_lessons(classification_report(y_true, wrong)) == [
        "recall of 'melanoma' is 0: none of its 10 rows is found"
    ]
    good = y_true.copy()
    assert metric_lessons(classification_report(y_true, good)) == []
