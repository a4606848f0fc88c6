"""mlprod_cli.render.check: a line per check, every problem under its check."""

from __future__ import annotations

import json

from mlprod_cli.render.check import render as render_check
from tests.render.results import check_report


def test_check_lists_every_problem_under_its_check():
    assert render_check(check_report(), "table").splitlines() == [
        "ok   config    mlprod.yaml is valid (project skin-lesions)",
        "ok   lock      requirements.lock: 42 packages pinned with hashes",
        "FAIL venv      numpy: 1.26.0 in .venv, 2.0.0 in the lock",
        "               pandas: missing in .venv",
        "warn unlocked  .venv has 2 packages requirements.lock does not pin: matplotlib 3.9.0, seaborn 0.13.2",
        "               seaborn 0.13.2 is not in requirements.lock",
    ]


def test_a_warning_is_ok_in_json_with_its_status():
    data = json.loads(render_check(check_report(), "json"))
    statuses = [(c["name"], c["ok"], c["status"]) for c in data["checks"]]
    assert statuses[-2:] == [("venv", False, "fail"), ("unlocked", True, "warn")]


def test_check_json_says_which_mlprod_checked():
    data = json.loads(render_check(check_report(ok=True), "json"))
    assert list(data) == ["root", "mlprod", "ok", "checks"]
    assert list(data["mlprod"]) == ["version", "python", "prefix"] and data["ok"] is True
    assert data["checks"][0] == {
        "name": "config",
        "ok": True,
        "status": "ok",
        "detail": "mlprod.yaml is valid (project skin-lesions)",
        "problems": [],
    }
