"""The rules' fire rates in skew: reference vs serving, as served or re-scored."""

from __future__ import annotations

import json
import shutil
import warnings

import pandas as pd
import pytest

from mlprod_cli.core.skew import SkewRequest, run_skew
from mlprod_cli.core.skew._rules import RuleCounts, rule_rates
from mlprod_cli.core.workspace import Workspace
from tests.serving import activate_model

IDS = ["no_sk_on_palms_soles", "kids", "referred", "trunk_two"]


class _Rules:
    ids = ("a", "b")
    sha256 = "0" * 64
    policy = "all"


def test_rule_rates_put_both_sides_side_by_side_and_note_a_move():
    reference, serving = RuleCounts(["a", "b"]), RuleCounts(["a", "b"])
    reference.add([["a"], [], (), None] * 25, [False] * 100)
    serving.add(["a,b", "", "b", "b"] * 10, [True, False, False, False] * 10)
    entry, notes = rule_rates(_Rules(), reference, serving, source="served")
    assert entry["rows_reference"] == 100 and entry["rows_serving"] == 40
    a, b = entry["rates"]
    assert (a["reference"], a["serving"]) == (0.25, 0.25) and a["difference"] == 0.0
    assert (b["reference"], b["serving"]) == (0.0, 0.75)
    assert entry["abstained_reference"] == 0.0 and entry["abstained_serving"] == 0.25
    assert notes == [
        "rule 'b' fired on 75.0% of the serving rows and on 0.0% of the reference rows"
    ]
    again = RuleCounts.from_dict(json.loads(json.dumps(serving.to_dict())))
    assert again.to_dict() == serving.to_dict()


@pytest.fixture
def served_with_rules(rules_trained_project, tmp_path):
    """A project served with rules: 400 rows through the app, a third on palms and soles."""
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from mlprod_cli.core.serve import ServeOptions, create_app

    project = tmp_path / rules_trained_project.name
    shutil.copytree(rules_trained_project, project)
    activate_model(project)
    rows = pd.read_csv(project / "data" / "lesions.csv").head(400)
    rows.loc[::3, "anatomic_site"] = "palms/soles"
    rows["referral"] = ["dermatologist" if i % 10 == 0 else "gp" for i in range(len(rows))]
    records = json.loads(rows.drop(columns=["diagnosis"]).to_json(orient="records"))
    app = create_app(Workspace.load(project), ServeOptions())
    with TestClient(app) as client:
        answers = [client.post("/predict", json=r).json() for r in records[:40]]
        for start in range(40, len(records), 60):
            answers += client.post("/predict", json=records[start : start + 60]).json()[
                "predictions"
            ]
    return project, answers


def test_skew_reports_the_served_fire_rates_and_no_prediction_skew(served_with_rules):
    project, answers = served_with_rules
    run = run_skew(Workspace.load(project), SkewRequest())
    entry = run.rules
    assert entry["source"] == "served" and entry["rows_serving"] == len(answers) == 400
    fired = {rule: sum(rule in a["rules"] for a in answers) for rule in IDS}
    assert {r["rule"]: r["fired_serving"] for r in entry["rates"]} == fired
    abstained = sum(a["abstained"] for a in answers) / len(answers)
    assert entry["abstained_serving"] == pytest.approx(abstained)
    palms = next(r for r in entry["rates"] if r["rule"] == "no_sk_on_palms_soles")
    assert palms["serving"] == pytest.approx(fired["no_sk_on_palms_soles"] / 400)
    assert palms["serving"] - palms["reference"] > 0.05  # a third of the rows, vs a few %
    assert any("rule 'no_sk_on_palms_soles' fired on" in n for n in run.notes)
    # The served classes are the rules' answers, and re-scoring applies the same rules.
    assert run.report.predictions.statistics["prediction_mismatch"].value == 0.0
    assert entry["rows_reference"] == run.report.rows_reference
    # The reference counts come back from the cache.
    again = run_skew(Workspace.load(project), SkewRequest())
    assert again.reference["cached"] is True and again.rules["rates"] == entry["rates"]


def test_without_served_rules_the_rates_are_re_scored(served_with_rules, tmp_path):
    project, answers = served_with_rules
    lines = [
        json.loads(line)
        for p in sorted((project / "logs" / "requests").glob("*.jsonl"))
        for line in p.open()
    ]
    flat = pd.DataFrame([line["features"] for line in lines])
    current = tmp_path / "current.csv"
    flat.to_csv(current, index=False)
    run = run_skew(Workspace.load(project), SkewRequest(current=(current,)))
    assert run.rules["source"] == "re-scored"
    fired = {rule: sum(rule in a["rules"] for a in answers) for rule in IDS}
    assert {r["rule"]: r["fired_serving"] for r in run.rules["rates"]} == fired


def test_a_version_without_rules_has_no_rules_section(served_project_without_rules):
    run = run_skew(Workspace.load(served_project_without_rules), SkewRequest())
    assert run.rules is None


@pytest.fixture
def served_project_without_rules(trained, served):
    activate_model(trained)
    served.log(trained, served.X.head(300))
    return trained
