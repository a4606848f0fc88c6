"""mlprod_cli.core.skew._thresholds: defaults, numbers and levels, overrides, bad values."""

from __future__ import annotations

import pytest

from mlprod_cli.core.dataset import infer_schema
from mlprod_cli.core.skew import (
    DEFAULT_THRESHOLDS,
    CurrentAccumulator,
    ReferenceSummary,
    Threshold,
    compare,
    resolve_thresholds,
)
from mlprod_cli.errors import DataError
from tests.core.skew.support import (
    frame_of,
    skew_report,
)

# --------------------------------------------------------------------------- thresholds


def test_thresholds_defaults_numbers_and_levels():
    base, per = resolve_thresholds(
        {"psi": 0.2, "ks": {"fail": 0.3}, "js": {"warn": 0.05}},
        {"x": {"psi": {"warn": 0.01, "fail": 0.02}}},
        ["x", "y"],
    )
    assert base["psi"] == Threshold(0.1, 0.2)  # a number: fail above it, warn above half
    assert base["ks"] == Threshold(0.15, 0.3)
    assert base["js"] == Threshold(0.05, None)  # warn only: never fails
    assert base["linf"] == DEFAULT_THRESHOLDS["linf"]
    assert per["x"]["psi"] == Threshold(0.01, 0.02) and per["x"]["ks"] == base["ks"]
    assert Threshold(0.1, 0.25).status(0.25) == "warn"  # above, not at
    assert Threshold(0.0, 0.0).status(0.0) == "ok" and Threshold(0, 0).status(1e-9) == "fail"


def test_feature_overrides_apply_to_their_feature():
    train, serving = frame_of(5000, 1), frame_of(5000, 2)
    serving["x"] += 0.3
    serving["ties"] += 0.0
    loose = skew_report(
        train.to_dict("list"),
        serving.to_dict("list"),
        thresholds={"psi": 5, "ks": 5},
        feature_overrides={"x": {"wasserstein": 5}},
    )
    assert loose.feature("x").status == "ok"


@pytest.mark.parametrize(
    ("thresholds", "overrides", "message"),
    [
        (
            {"psi": "high"},
            None,
            "skew.thresholds.psi: expected a number or {warn, fail}, got the text 'high'",
        ),
        ({"psi": True}, None, "skew.thresholds.psi: expected a number"),
        ({"psi": float("nan")}, None, "skew.thresholds.psi: expected a finite number"),
        ({"psi": -1}, None, "skew.thresholds.psi: must be at least 0"),
        ({"psi": {"warn": 0.3, "fail": 0.2}}, None, r"warn \(0.3\) is above fail \(0.2\)"),
        ({"psi": {"alarm": 1}}, None, "unknown key 'alarm'"),
        ({"kl": 0.1}, None, "skew.thresholds.kl: unknown skew statistic"),
        (None, {"colour": {"js": [0.1]}}, "skew.features.colour.js: expected a number"),
        (None, {"color": {"js": 0.1}}, "skew.features.color: no training feature is named 'color'"),
    ],
)
def test_bad_thresholds(thresholds, overrides, message):
    train = frame_of(100, 1)
    summary = ReferenceSummary.build(train, infer_schema(train))
    acc = CurrentAccumulator(summary)
    acc.add(train)
    with pytest.raises(DataError, match=message):
        compare(summary, acc, thresholds, overrides)
