"""mlprod_cli.core.metrics against scikit-learn, property by property, and bad input."""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    class_likelihood_ratios,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
)

from mlprod_cli.core.metrics import (
    HIGHER_IS_BETTER,
    METRIC_NAMES,
    Value,
    classification_report,
    to_dict,
)
from mlprod_cli.core.metrics import _classification as m
from mlprod_cli.errors import DataError

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SCORE_STYLES = ("continuous", "probabilities", "ties", "integers", "float32", "signed", "wide")


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0, abs_tol=1e-12)


def same(ours: Value, theirs: float) -> bool:
    """Our value equals scikit-learn's; sklearn's NaN (zero_division=nan) is our undefined."""
    if math.isnan(theirs):
        return not ours.defined and bool(ours.reason)
    return ours.defined and ours.reason is None and close(ours.value, theirs)


@st.composite
def problems(draw: st.DrawFn) -> dict:
    """Labels, predictions and scores: 2..6 classes, imbalanced, classes may be absent."""
    k = draw(st.integers(2, 6))
    n = draw(st.integers(1, 80))
    true_weights = draw(st.lists(st.integers(0, 6), min_size=k, max_size=k))
    pred_weights = draw(st.lists(st.integers(0, 6), min_size=k, max_size=k))
    hit_rate = draw(st.sampled_from([0.0, 0.3, 0.7, 0.95, 1.0]))
    style = draw(st.sampled_from(SCORE_STYLES))
    text = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if sum(true_weights) == 0:
        true_weights[0] = 1
    if sum(pred_weights) == 0:
        pred_weights[-1] = 1
    true_idx = rng.choice(k, size=n, p=np.array(true_weights) / sum(true_weights))
    guess_idx = rng.choice(k, size=n, p=np.array(pred_weights) / sum(pred_weights))
    pred_idx = np.where(rng.random(n) < hit_rate, true_idx, guess_idx)
    names = [f"class-{i}" for i in range(k)] if text else list(range(10, 10 + k))
    order = list(rng.permutation(k))  # report order need not be sorted
    labels = [names[i] for i in order]
    values = np.array(names, dtype=object if text else np.int64)
    return {
        "labels": labels,
        "y_true": values[true_idx],
        "y_pred": values[pred_idx],
        "scores": _scores(rng, style, n, k),
    }


def _scores(rng: np.random.Generator, style: str, n: int, k: int) -> np.ndarray:
    if style == "continuous":
        return rng.random((n, k))
    if style == "probabilities":
        return rng.dirichlet(np.ones(k), size=n)
    if style == "ties":  # few distinct values: many ties between classes
        return rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=(n, k))
    if style == "integers":
        return rng.integers(-3, 3, size=(n, k))
    if style == "float32":
        return rng.random((n, k)).astype(np.float32)
    if style == "signed":  # decision-function scores of both signs
        return rng.standard_normal((n, k)) * 10
    # Both signs over the whole float range, -0.0 and 0.0: often the binary-search fallback.
    return rng.choice([-1e300, -2.5, -0.0, 0.0, 5e-324, 1.5, 1e300], size=(n, k))


def _one_vs_rest(p: dict, label: object) -> tuple[np.ndarray, np.ndarray]:
    return p["y_true"] == label, p["y_pred"] == label


@PROPERTY
@given(problems())
def test_counts_and_rates_equal_sklearn(p: dict) -> None:
    labels = p["labels"]
    report = classification_report(p["y_true"], p["y_pred"], labels=labels)
    assert report.labels == [str(v) for v in labels]
    assert report.n_samples == len(p["y_true"])

    cm = confusion_matrix(p["y_true"], p["y_pred"], labels=labels)
    np.testing.assert_array_equal(report.confusion, cm)
    assert close(report.accuracy.value, accuracy_score(p["y_true"], p["y_pred"]))

    precision, recall, f1, support = precision_recall_fscore_support(
        p["y_true"], p["y_pred"], labels=labels, zero_division=np.nan
    )
    for j, (label, cls) in enumerate(zip(labels, report.classes, strict=True)):
        assert cls.label == str(label)
        assert cls.support == support[j] == cls.tp + cls.fn
        assert cls.tp == cm[j, j]
        assert cls.fp == cm[:, j].sum() - cm[j, j]
        assert cls.fn == cm[j, :].sum() - cm[j, j]
        assert cls.tn == cm.sum() - cls.tp - cls.fp - cls.fn
        assert close(cls.share, support[j] / len(p["y_true"]))
        got = cls.metrics
        assert same(got["precision"], precision[j])
        assert same(got["recall"], recall[j])
        assert got["sensitivity"] == got["recall"]
        assert same(got["f1_score"], f1[j])
        yt, yp = _one_vs_rest(p, label)
        specificity = recall_score(yt, yp, pos_label=False, zero_division=np.nan)
        npv = precision_score(yt, yp, pos_label=False, zero_division=np.nan)
        assert same(got["specificity"], specificity)
        assert same(got["npv"], npv)
        # The complements sklearn has no function for.
        assert same(got["fdr"], 1 - precision[j])
        assert same(got["fnr"], 1 - recall[j])
        assert same(got["fpr"], 1 - specificity)
        assert same(got["for"], 1 - npv)
        assert close(got["prevalence"].value, support[j] / len(p["y_true"]))
        assert got["auroc"] == Value(None, "no scores")


@PROPERTY
@given(problems())
def test_undefined_where_sklearn_warns(p: dict) -> None:
    """Where sklearn returns 0 with an UndefinedMetricWarning we say undefined, with why."""
    labels = p["labels"]
    report = classification_report(p["y_true"], p["y_pred"], labels=labels)
    reasons = {
        "precision": "no predicted positives",
        "recall": "no actual positives",
        "f1_score": "no actual or predicted positives",
    }
    for name, score in (
        ("precision", precision_score),
        ("recall", recall_score),
        ("f1_score", f1_score),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values = score(p["y_true"], p["y_pred"], labels=labels, average=None)
        warned = any(issubclass(w.category, UndefinedMetricWarning) for w in caught)
        undefined = [c for c in report.classes if not c.metrics[name].defined]
        assert warned == bool(undefined)
        for j, cls in enumerate(report.classes):
            if not cls.metrics[name].defined:
                assert values[j] == 0
                assert cls.metrics[name].reason == reasons[name]


@PROPERTY
@given(problems())
def test_auroc_equals_sklearn_one_vs_rest(p: dict) -> None:
    labels, scores = p["labels"], p["scores"]
    report = classification_report(p["y_true"], p["y_pred"], labels=labels, scores=scores)
    for j, (label, cls) in enumerate(zip(labels, report.classes, strict=True)):
        positives = p["y_true"] == label
        auroc = cls.metrics["auroc"]
        if positives.all() or not positives.any():
            assert auroc == Value(None, "only one class present in y_true")
            continue
        assert auroc.defined
        assert close(auroc.value, roc_auc_score(positives, scores[:, j]))


@PROPERTY
@given(problems())
def test_averages_equal_sklearn_when_every_class_is_defined(p: dict) -> None:
    labels, scores = p["labels"], p["scores"]
    report = classification_report(p["y_true"], p["y_pred"], labels=labels, scores=scores)
    for name, score in (("precision", precision_score), ("recall", recall_score)):
        if all(c.metrics[name].defined for c in report.classes):
            for average in ("macro", "weighted"):
                got = report.averages[average][name]
                assert got.skipped == ()
                expected = score(p["y_true"], p["y_pred"], labels=labels, average=average)
                if average == "weighted" and sum(c.support for c in report.classes) == 0:
                    continue
                assert close(got.value, expected)
    if all(c.metrics["f1_score"].defined for c in report.classes):
        for average in ("macro", "weighted"):
            expected = f1_score(p["y_true"], p["y_pred"], labels=labels, average=average)
            assert close(report.averages[average]["f1_score"].value, expected)
    present = {str(v) for v in p["y_true"]}
    if len(labels) > 2 and len(present) == len(labels):
        probabilities = scores / scores.sum(axis=1, keepdims=True) if (scores > 0).all() else None
        if probabilities is not None and np.allclose(probabilities.sum(axis=1), 1):
            normalised = classification_report(
                p["y_true"], p["y_pred"], labels=labels, scores=probabilities
            )
            order = np.argsort(labels)  # sklearn wants sorted labels for multiclass AUROC
            for average in ("macro", "weighted"):
                expected = roc_auc_score(
                    p["y_true"],
                    probabilities[:, order],
                    multi_class="ovr",
                    labels=[labels[i] for i in order],
                    average=average,
                )
                assert close(normalised.averages[average]["auroc"].value, expected)
    # Every average, against averaging the per-class values by hand.
    for name in METRIC_NAMES:
        defined = [c for c in report.classes if c.metrics[name].defined]
        macro = report.averages["macro"][name]
        assert macro.skipped == tuple(c.label for c in report.classes if c not in defined)
        if not defined:
            assert macro.value is None and macro.reason == "undefined for every class"
            continue
        assert close(macro.value, np.mean([c.metrics[name].value for c in defined]))
        weights = [c.support for c in defined]
        if sum(weights) > 0:
            expected = np.average([c.metrics[name].value for c in defined], weights=weights)
            assert close(report.averages["weighted"][name].value, expected)


@PROPERTY
@given(problems())
def test_averages_skip_undefined_like_sklearn_zero_division_nan(p: dict) -> None:
    """Our skip policy is sklearn's zero_division=np.nan, undefined classes and all."""
    labels = p["labels"]
    report = classification_report(p["y_true"], p["y_pred"], labels=labels)
    for name, score in (
        ("precision", precision_score),
        ("recall", recall_score),
        ("f1_score", f1_score),
    ):
        for average in ("macro", "weighted"):
            got = report.averages[average][name]
            expected = score(
                p["y_true"], p["y_pred"], labels=labels, average=average, zero_division=np.nan
            )
            if got.reason == "defined only for classes with no support":
                continue  # sklearn falls back to the unweighted mean of those classes
            assert same(got, expected)


@PROPERTY
@given(problems())
def test_likelihood_ratios_equal_sklearn(p: dict) -> None:
    report = classification_report(p["y_true"], p["y_pred"], labels=p["labels"])
    for label, cls in zip(p["labels"], report.classes, strict=True):
        yt, yp = _one_vs_rest(p, label)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn warns for what we report as undefined
            lr_plus, lr_minus = class_likelihood_ratios(yt, yp, labels=[False, True])
        got = cls.metrics
        assert same(got["lr_plus"], lr_plus)
        assert same(got["lr_minus"], lr_minus)
        if math.isnan(lr_plus) or math.isnan(lr_minus) or lr_minus == 0:
            assert not got["dor"].defined and got["dor"].reason
        else:
            # DOR is one exact division of counts; sklearn's ratio of ratios rounds twice.
            assert math.isclose(got["dor"].value, lr_plus / lr_minus, rel_tol=1e-14)


@PROPERTY
@given(problems())
def test_to_dict_is_json_with_reasons_for_every_null(p: dict) -> None:
    report = classification_report(p["y_true"], p["y_pred"], labels=p["labels"], scores=p["scores"])
    data = json.loads(json.dumps(to_dict(report), allow_nan=False))
    assert data["labels"] == report.labels
    assert data["confusion"] == report.confusion.tolist()
    entries = [*data["classes"], data["averages"]["macro"], data["averages"]["weighted"]]
    for entry in entries:
        assert list(entry["metrics"]) == list(METRIC_NAMES)
        nulls = {name for name, v in entry["metrics"].items() if v is None}
        assert nulls == set(entry["undefined"])
        assert all(isinstance(reason, str) and reason for reason in entry["undefined"].values())


# --- exact numbers by hand ---------------------------------------------------------------


def _hand_example() -> tuple[list[str], list[str]]:
    # sick: TP=8, FN=2, FP=3, TN=7
    y_true = ["sick"] * 10 + ["healthy"] * 10
    y_pred = ["sick"] * 8 + ["healthy"] * 2 + ["sick"] * 3 + ["healthy"] * 7
    return y_true, y_pred


def test_hand_computed_binary_example() -> None:
    y_true, y_pred = _hand_example()
    report = classification_report(y_true, y_pred, labels=["sick", "healthy"])
    sick, healthy = report.classes
    assert (sick.tp, sick.fp, sick.fn, sick.tn, sick.support) == (8, 3, 2, 7, 10)
    assert (healthy.tp, healthy.fp, healthy.fn, healthy.tn) == (7, 2, 3, 8)
    assert sick.share == 0.5
    exact = {
        "sensitivity": Fraction(8, 10),
        "recall": Fraction(8, 10),
        "specificity": Fraction(7, 10),
        "precision": Fraction(8, 11),
        "npv": Fraction(7, 9),
        "f1_score": Fraction(16, 21),
        "fdr": Fraction(3, 11),
        "for": Fraction(2, 9),
        "fpr": Fraction(3, 10),
        "fnr": Fraction(2, 10),
        "lr_plus": Fraction(8, 3),  # 0.8 / 0.3
        "lr_minus": Fraction(2, 7),  # 0.2 / 0.7
        "dor": Fraction(28, 3),  # (8 * 7) / (3 * 2)
        "prevalence": Fraction(1, 2),
    }
    for name, fraction in exact.items():
        # One correctly rounded division: equal to the nearest float, not merely close.
        assert sick.metrics[name] == Value(float(fraction)), name
    assert healthy.metrics["lr_plus"] == Value(float(Fraction(7, 10) / Fraction(2, 10)))
    assert report.accuracy == Value(0.75)
    assert report.averages["macro"]["precision"].value == pytest.approx(
        (8 / 11 + 7 / 9) / 2, abs=1e-15
    )
    np.testing.assert_array_equal(report.confusion, [[8, 2], [3, 7]])


def test_hand_computed_auroc_with_ties() -> None:
    # positives 0.9, 0.5, 0.5 against negatives 0.5, 0.1:
    # pairs 1 + 1 + (1/2 + 1) + (1/2 + 1) = 5 of 6.
    y_true = [1, 1, 1, 0, 0]
    scores = np.array([[0.1, 0.9], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.9, 0.1]])
    report = classification_report(y_true, [1, 1, 0, 0, 0], scores=scores)
    assert report.value("auroc", label="1") == Value(5 / 6)
    # class 0: positives 0.5, 0.9 against negatives 0.1, 0.5, 0.5: (1 + 1/2 + 1/2) + 3 = 5.
    assert report.value("auroc", label="0") == Value(5 / 6)


def test_auroc_paths_agree_on_large_input() -> None:
    rng = np.random.default_rng(7)
    n = 200_000
    y = rng.integers(0, 3, n)
    scores = np.round(rng.random((n, 3)), 3)  # ties
    report = classification_report(y, rng.integers(0, 3, n), scores=scores)
    # Probabilities and signed scores take the one-sort path, wide ones the fallback.
    assert m._order_keys(scores[:, 0]) is not None
    assert m._order_keys(rng.standard_normal(100) * 1e6) is not None
    assert m._order_keys(np.array([-1e300, 5e-324, 1e300])) is None
    for j in range(3):
        expected = roc_auc_score(y == j, scores[:, j])
        assert close(report.classes[j].metrics["auroc"].value, expected)
        fallback = m._auroc_by_search(scores[y == j, j], scores[y != j, j])
        assert close(fallback, expected)


def test_undefined_reasons() -> None:
    # "c" never occurs in y_true, "b" is never predicted, every sample is "a" or "b".
    report = classification_report(["a", "a", "b"], ["a", "a", "a"], labels=["a", "b", "c"])
    a, b, c = report.classes
    assert b.metrics["precision"] == Value(None, "no predicted positives")
    assert b.metrics["f1_score"] == Value(0.0)
    assert c.metrics["recall"] == Value(None, "no actual positives")
    assert c.metrics["f1_score"] == Value(None, "no actual or predicted positives")
    assert c.metrics["lr_plus"] == Value(None, "no actual positives")
    assert a.metrics["npv"] == Value(None, "no predicted negatives")
    assert a.metrics["lr_plus"] == Value(1.0)
    assert a.metrics["lr_minus"] == Value(None, "no true negatives (specificity is 0)")
    assert a.metrics["dor"] == Value(None, "no true negatives (specificity is 0)")
    assert b.metrics["lr_plus"] == Value(None, "no false positives (FPR is 0)")
    assert b.metrics["lr_minus"] == Value(1.0)
    assert b.metrics["dor"] == Value(None, "no false positives (FPR is 0)")
    assert b.metrics["auroc"] == Value(None, "no scores")
    precision = report.averages["macro"]["precision"]
    assert precision.skipped == ("b", "c")
    assert precision.value == 2 / 3
    assert report.averages["weighted"]["precision"].value == 2 / 3

    everyone_sick = classification_report(["s", "s"], ["s", "s"], scores=[[1.0], [0.5]])
    (s,) = everyone_sick.classes
    assert s.metrics["specificity"] == Value(None, "no actual negatives")
    assert s.metrics["lr_minus"] == Value(None, "no actual negatives")
    assert s.metrics["auroc"] == Value(None, "only one class present in y_true")
    assert everyone_sick.averages["macro"]["auroc"].reason == "undefined for every class"

    no_true_negatives = classification_report([0, 1, 1], [1, 1, 1], labels=[1, 0])
    assert no_true_negatives.classes[0].metrics["lr_minus"] == Value(
        None, "no true negatives (specificity is 0)"
    )
    no_false_negatives = classification_report([0, 0, 1, 1], [0, 1, 1, 1], labels=[1, 0])
    assert no_false_negatives.classes[0].metrics["dor"] == Value(
        None, "no false negatives (LR- is 0)"
    )


def test_weighted_average_undefined_without_support() -> None:
    report = classification_report(["a", "a"], ["b", "b"], labels=["a", "b"])
    # precision: "a" never predicted (undefined); "b" is 0 but has no support.
    assert report.averages["macro"]["precision"] == m.Average(0.0, None, ("a",))
    assert report.averages["weighted"]["precision"] == m.Average(
        None, "defined only for classes with no support", ("a",)
    )


def test_labels_inputs_and_text() -> None:
    as_ints = classification_report([0, 1, 1, 2], [0, 1, 2, 2])
    assert as_ints.labels == ["0", "1", "2"]
    # Known classes named as text in config still match integer columns.
    as_text = classification_report(np.array([0, 1, 1, 2]), [0, 1, 2, 2], labels=["2", "1", "0"])
    assert as_text.labels == ["2", "1", "0"]
    assert as_text.value("recall", label="1") == as_ints.value("recall", label="1")
    booleans = classification_report(np.array([True, False, True]), [True, True, True])
    assert booleans.labels == ["False", "True"]
    big = classification_report([10**12, 5, 5], [5, 5, 10**12])
    assert big.labels == ["5", "1000000000000"]
    floats = classification_report([0.5, 1.5], [1.5, 1.5])
    assert floats.labels == ["0.5", "1.5"]


def test_pandas_inputs_match_lists() -> None:
    y_true = ["cat", "dog", "dog", "bird", "cat"]
    y_pred = ["cat", "dog", "cat", "bird", "bird"]
    expected = to_dict(classification_report(y_true, y_pred))
    for kind in ("str", "category", "object"):
        got = classification_report(pd.Series(y_true, dtype=kind), pd.Series(y_pred, dtype=kind))
        assert to_dict(got) == expected
    numeric = classification_report(pd.Series([1, 2, 2]), pd.Series([1, 1, 2]))
    assert numeric.labels == ["1", "2"]


def test_custom_metrics() -> None:
    def auroc_of_b(y_true, y_pred, y_score=None):
        return roc_auc_score(np.asarray(y_true) == "b", y_score[:, 1])

    def boom(y_true, y_pred):
        raise ValueError("Only one class present\nsecond line")

    custom = {
        "accuracy_sklearn": accuracy_score,
        "auroc_b": auroc_of_b,
        "nan": lambda y_true, y_pred: float("nan"),
        "inf": lambda y_true, y_pred: np.float64("inf"),
        "text": lambda y_true, y_pred: "high",
        "boom": boom,
    }
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    report = classification_report(["a", "b", "b"], ["a", "b", "a"], scores=scores, custom=custom)
    assert report.custom["accuracy_sklearn"] == Value(2 / 3)
    assert report.custom["auroc_b"] == Value(1.0)
    assert report.custom["nan"] == Value(None, "custom metric returned NaN")
    assert report.custom["inf"] == Value(None, "custom metric returned infinity")
    assert report.custom["text"] == Value(None, "custom metric returned str, not a number")
    assert report.custom["boom"] == Value(
        None, "custom metric raised ValueError: Only one class present"
    )
    assert report.value("auroc_b") == Value(1.0)
    data = to_dict(report)["custom"]
    assert data["metrics"]["nan"] is None
    assert data["undefined"]["nan"] == "custom metric returned NaN"
    without_scores = classification_report(["a", "b"], ["a", "b"], custom={"auroc_b": auroc_of_b})
    assert not without_scores.custom["auroc_b"].defined


def test_report_value_lookup() -> None:
    report = classification_report(*_hand_example())
    assert report.value("accuracy") == Value(0.75)
    assert report.value("recall", label="sick") == Value(0.8)
    assert report.value("recall") == report.averages["macro"]["recall"]
    assert report.value("recall", average="weighted") == report.averages["weighted"]["recall"]
    with pytest.raises(DataError, match='unknown metric "recal"'):
        report.value("recal")
    with pytest.raises(DataError, match='class "flu" is not among the known classes'):
        report.value("recall", label="flu")
    with pytest.raises(DataError, match='unknown average "micro"'):
        report.value("recall", average="micro")


def test_constants() -> None:
    assert METRIC_NAMES[:2] == ("sensitivity", "recall")
    assert len(set(METRIC_NAMES)) == len(METRIC_NAMES)
    assert set(HIGHER_IS_BETTER) == (set(METRIC_NAMES) - {"prevalence"}) | {"accuracy"}
    assert HIGHER_IS_BETTER["fdr"] is False and HIGHER_IS_BETTER["auroc"] is True


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_true": [1, 2, 3], "y_pred": [1, 2]}, "y_true has 3 rows but y_pred has 2"),
        ({"y_true": [], "y_pred": []}, "no samples: y_true and y_pred are empty"),
        ({"y_true": [[1, 2]], "y_pred": [[1, 2]]}, r"y_true must be one-dimensional"),
        ({"y_true": [1.0, np.nan], "y_pred": [1.0, 1.0]}, r"y_true has a missing label \(NaN\)"),
        (
            {"y_true": ["a", "b"], "y_pred": [None, "a"]},
            r"y_pred has a missing label \(NaN or None\) at row 0",
        ),
        (
            {"y_true": pd.Series(["a", pd.NA], dtype="string"), "y_pred": ["a", "a"]},
            r"y_true has a missing label \(NaN or None\) at row 1",
        ),
        (
            {"y_true": ["a", "b"], "y_pred": ["a", "x"], "labels": ["a", "b"]},
            'predicted label "x" is not among the known classes: a, b',
        ),
        (
            {"y_true": ["a", "z"], "y_pred": ["a", "b"], "labels": ["a", "b"]},
            'true label "z" is not among the known classes: a, b',
        ),
        (
            {"y_true": [1, 2], "y_pred": [1, 3], "labels": [1, 2]},
            'predicted label "3" is not among the known classes: 1, 2',
        ),
        ({"y_true": [1], "y_pred": [1], "labels": []}, "labels is empty"),
        ({"y_true": [1], "y_pred": [1], "labels": [1, None]}, "labels contains a missing"),
        ({"y_true": [1], "y_pred": [1], "labels": [1, "1"]}, 'label "1" appears twice'),
        (
            {"y_true": np.array([1, "a"], dtype=object), "y_pred": np.array([1, 1], dtype=object)},
            r"y_true and y_pred mix label types \(int, str\)",
        ),
        (
            {"y_true": [0, 1], "y_pred": [0, 1], "scores": [0.2, 0.8]},
            r"scores must have shape \(2, 2\).*got \(2,\)",
        ),
        (
            {"y_true": [0, 1], "y_pred": [0, 1], "scores": [[0.2, 0.8, 0.0]] * 2},
            r"scores must have shape \(2, 2\).*got \(2, 3\)",
        ),
        (
            {"y_true": [0, 1], "y_pred": [0, 1], "scores": [["low", "high"]] * 2},
            r"scores are not numeric",
        ),
        (
            {"y_true": [0, 1], "y_pred": [0, 1], "scores": np.array([[0.1, None]] * 2)},
            'scores are not finite at row 0, column 1 \\(class "1"\\)',
        ),
        (
            {"y_true": [0, 1], "y_pred": [0, 1], "scores": [[0.1, 0.9], [np.nan, 0.5]]},
            'scores are not finite at row 1, column 0 \\(class "0"\\): nan',
        ),
        (
            {"y_true": [0, 1], "y_pred": [0, 1], "scores": [[0.1, 0.9], [0.5, -np.inf]]},
            'scores are not finite at row 1, column 1 \\(class "1"\\): -inf',
        ),
        (
            {"y_true": [0, 1], "y_pred": [0, 1], "custom": {"mine": 3}},
            'custom metric "mine" is not callable',
        ),
        (
            {"y_true": [0, 1], "y_pred": [0, 1], "custom": {"recall": accuracy_score}},
            'custom metric "recall" has the name of a built-in metric',
        ),
    ],
)
def test_bad_input_is_a_data_error(kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message) as info:
        classification_report(**kwargs)
    assert "\n" not in str(info.value)


def test_unknown_label_listing_is_shortened() -> None:
    labels = list(range(30))
    with pytest.raises(DataError, match=r"0, 1, .*, 19, … \(30 in all\)$"):
        classification_report([0, 1], [0, 99], labels=labels)


def test_no_warnings_on_undefined_values() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = classification_report([0, 0], [0, 0], labels=[0, 1, 2], scores=np.ones((2, 3)))
    assert not report.value("auroc", label="0").defined
