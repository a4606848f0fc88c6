"""mlprod_cli.core.skew._report: the report as plain JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from mlprod_cli.core.skew import (
    to_dict,
)
from tests.core.skew.support import (
    skew_report,
)

# --------------------------------------------------------------------------- JSON


def test_no_predictions_no_prediction_section():
    report = skew_report({"x": [1.0, 2.0, 3.0]}, {"x": [1.0, 2.0]})
    assert report.predictions is None and to_dict(report)["predictions"] is None


def test_the_report_is_plain_json_without_nan():
    train = pd.DataFrame({"k": [3.0] * 10, "e": [np.nan] * 10, "c": ["a"] * 10})
    serving = pd.DataFrame({"k": [3.0, 4.0], "e": [1.0, 2.0], "c": [None, None]})
    report = skew_report(train.to_dict("list"), serving.to_dict("list"))
    out = json.loads(json.dumps(to_dict(report), allow_nan=False))
    k = {f["name"]: f for f in out["features"]}
    assert k["k"]["statistics"]["wasserstein"] == {
        "value": None,
        "status": "ok",
        "warn": None,
        "fail": None,
        "reason": "the training values are constant (standard deviation 0)",
    }
    assert k["e"]["statistics"]["psi"]["reason"] == "no values in the training data"
    assert k["c"]["statistics"]["js"]["reason"] == "no values in the serving data"
