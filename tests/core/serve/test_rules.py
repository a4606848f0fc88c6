"""Serving a version trained with rules: the rules' answers, the fired ids in the
answer, the request log and /metrics, and versions whose rules differ refused."""

from __future__ import annotations

import json
import math
import shutil
import warnings

import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mlprod_cli.core.serve import ServeOptions, create_app, prepare
from mlprod_cli.core.train import train
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import UsageError
from tests.serving import ROW, activate_model, metric, parse_metrics

CLASSES = ["melanoma", "nevus", "seborrheic_keratosis"]
IDS = ["no_sk_on_palms_soles", "kids", "referred", "trunk_two"]


@pytest.fixture(scope="module")
def rules_served(rules_trained_project, tmp_path_factory):
    dest = tmp_path_factory.mktemp("rules-served") / rules_trained_project.name
    shutil.copytree(rules_trained_project, dest)
    return activate_model(dest)


@pytest.fixture
def rules_client(rules_served, tmp_path):
    app = create_app(Workspace.load(rules_served), ServeOptions(log_dir=tmp_path / "log"))
    with TestClient(app) as client:
        yield client


def _log_lines(folder) -> list[dict]:
    return [json.loads(line) for p in sorted(folder.glob("*.jsonl")) for line in p.open()]


def test_a_row_no_rule_fires_on_keeps_the_models_answer(rules_client):
    body = rules_client.post("/predict", json=dict(ROW, anatomic_site="back")).json()
    assert body["rules"] == [] and body["abstained"] is False
    assert body["class"] in CLASSES
    assert math.isclose(sum(body["scores"].values()), 1.0, rel_tol=1e-9)


def test_deny_masks_the_class_and_renormalises(rules_client):
    body = rules_client.post("/predict", json=dict(ROW, anatomic_site="palms/soles")).json()
    assert body["rules"] == ["no_sk_on_palms_soles"]
    assert body["scores"]["seborrheic_keratosis"] == 0.0
    assert math.isclose(sum(body["scores"].values()), 1.0, rel_tol=1e-9)
    assert body["class"] == max(body["scores"], key=body["scores"].get)
    assert body["class"] != "seborrheic_keratosis"


def test_abstain_answers_no_class_and_is_counted(rules_client):
    before = parse_metrics(rules_client.get("/metrics").text)
    body = rules_client.post("/predict", json=dict(ROW, age=12)).json()
    assert body == {
        "model_version": "v0002",
        "class": None,
        "scores": body["scores"],
        "rules": ["kids"],
        "abstained": True,
    }
    after = parse_metrics(rules_client.get("/metrics").text)
    assert metric(after, "mlprod_abstained_total") == metric(before, "mlprod_abstained_total") + 1
    fired = metric(after, "mlprod_rule_fired_total", rule="kids")
    assert fired == metric(before, "mlprod_rule_fired_total", rule="kids") + 1
    for rule in IDS:  # every rule listed from 0
        assert ("mlprod_rule_fired_total", frozenset({("rule", rule)})) in after


def test_a_rule_on_a_field_the_model_does_not_use_forces_its_class(rules_client):
    body = rules_client.post("/predict", json=dict(ROW, referral="dermatologist")).json()
    assert body["rules"] == ["referred"]
    assert body["class"] == "melanoma"
    assert body["scores"] == {"melanoma": 1.0, "nevus": 0.0, "seborrheic_keratosis": 0.0}
    # Without the field, the rule reads null and does not fire.
    assert rules_client.post("/predict", json=ROW).json()["rules"] == []


def test_a_batch_answers_as_single_rows_do_and_the_log_names_the_fired_rules(
    rules_served, tmp_path
):
    rows = [
        dict(ROW, anatomic_site="palms/soles"),
        dict(ROW, age=9),
        dict(ROW, referral="dermatologist"),
        dict(ROW, anatomic_site="trunk", age=75),
        dict(ROW, anatomic_site="back"),
    ] * 3  # 15 rows: resolved on whole arrays, not the one-row path
    log = tmp_path / "log"
    app = create_app(Workspace.load(rules_served), ServeOptions(log_dir=log))
    with TestClient(app) as client:
        batch = client.post("/predict", json=rows).json()["predictions"]
        single = [client.post("/predict", json=row).json() for row in rows]
    for one, alone in zip(batch, single, strict=True):
        assert one["rules"] == alone["rules"] and one["class"] == alone["class"]
        assert one["abstained"] == alone["abstained"]
        for label in CLASSES:
            assert math.isclose(one["scores"][label], alone["scores"][label], abs_tol=1e-12)
    assert [p["rules"] for p in batch[:5]] == [
        ["no_sk_on_palms_soles"],
        ["kids"],
        ["referred"],
        ["trunk_two"],
        [],
    ]
    lines = _log_lines(log)
    assert len(lines) == 30
    assert [line["rules"] for line in lines[:15]] == [p["rules"] for p in batch]
    assert [line["prediction"] for line in lines[:15]] == [p["class"] for p in batch]
    assert lines[1]["prediction"] is None  # abstained


def test_serve_answers_as_predict_does(rules_served, tmp_path):
    """The same rows through predict (whole arrays) and serve (row by row)."""
    from mlprod_cli.core.predict import predict_file

    frame = pd.read_csv(rules_served / "data" / "lesions.csv").head(200)
    frame.loc[::7, "age"] = 10
    frame["referral"] = ["dermatologist" if i % 11 == 0 else "gp" for i in range(len(frame))]
    source = tmp_path / "rows.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "out.csv"
    predict_file(Workspace.load(rules_served), source, out, version_id="v0002")
    expected = pd.read_csv(out, keep_default_na=False, na_values={"prediction": [""]})
    rows = json.loads(frame.to_json(orient="records"))
    app = create_app(Workspace.load(rules_served), ServeOptions(log_dir=tmp_path / "log"))
    with TestClient(app) as client:
        got = [client.post("/predict", json=row).json() for row in rows[:60]]
        got += client.post("/predict", json=rows[60:]).json()["predictions"]
    assert [g["class"] for g in got] == [None if pd.isna(p) else p for p in expected["prediction"]]
    assert [",".join(g["rules"]) for g in got] == expected["rules"].tolist()
    assert any(g["abstained"] for g in got) and any(g["rules"] for g in got)


def test_openapi_and_metadata_describe_the_rules(rules_client):
    document = rules_client.get("/openapi.json").json()
    prediction = document["paths"]["/predict"]["post"]["responses"]["200"]["content"]
    single = prediction["application/json"]["schema"]["oneOf"][0]
    assert single["properties"]["rules"]["items"]["enum"] == IDS
    assert None in single["properties"]["class"]["enum"]
    assert "abstained" in single["required"]
    info = rules_client.get("/metadata").json()["rules"]
    assert info["ids"] == IDS and info["policy"] == "first" and len(info["sha256"]) == 64


def test_serve_refuses_a_version_whose_rules_differ_from_the_file(rules_served, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(rules_served, project)
    rules = project / "rules.yaml"
    rules.write_text(rules.read_text().replace("age < 18", "age < 16"))
    with pytest.raises(UsageError, match=r"rules\.yaml differs from the rules v0002 was trained"):
        prepare(Workspace.load(project), ServeOptions(port=0, log_dir=tmp_path / "log"))
    assert not (tmp_path / "log").exists()  # refused before anything was made
    server = prepare(
        Workspace.load(project),
        ServeOptions(port=0, log_dir=tmp_path / "log", rules_from_file=True),
    )
    server.socket.close()
    assert server.rules is not None and server.model.rules is server.rules
    app = create_app(
        Workspace.load(project),
        ServeOptions(log_dir=tmp_path / "log", rules_from_file=True),
        model=server.model,
    )
    with TestClient(app) as client:
        assert client.post("/predict", json=dict(ROW, age=17)).json()["abstained"] is False
        assert client.post("/predict", json=dict(ROW, age=15)).json()["abstained"] is True


def test_a_swap_to_a_version_whose_rules_differ_is_refused_and_the_old_one_serves(
    rules_served, tmp_path
):
    project = tmp_path / "p"
    shutil.copytree(rules_served, project)
    workspace = Workspace.load(project)
    app = create_app(workspace, ServeOptions(log_dir=tmp_path / "log"))
    with TestClient(app) as client:
        state = app.state.mlprod
        rules = project / "rules.yaml"
        text = rules.read_text()
        rules.write_text(text + "\n# edited\n")
        train(Workspace.load(project), cv=0)  # v0003 (baseline), v0004 with the edited rules
        rules.write_text(text)  # the file holds v0002's rules again
        registry = workspace.registry
        registry.activate(registry.get("v0004"))
        assert state.watcher.check(force=True) is False
        assert state.holder.current.id == "v0002"
        samples = parse_metrics(client.get("/metrics").text)
        assert metric(samples, "mlprod_model_reload_failures_total") == 1
        assert client.post("/predict", json=ROW).json()["model_version"] == "v0002"


def test_serve_check_names_the_rules_and_refuses_an_edited_file(
    rules_served, tmp_path, monkeypatch, capsys
):
    from mlprod_cli.cli import main

    project = tmp_path / "p"
    shutil.copytree(rules_served, project)
    monkeypatch.chdir(project)
    log = str(tmp_path / "log")
    assert main(["serve", "--check", "--port", "0", "--log-dir", log]) == 0
    assert "ready to serve v0002 (model), with 4 rules (rules.yaml) at" in capsys.readouterr().err
    rules = project / "rules.yaml"
    rules.write_text(rules.read_text().replace("force: melanoma", "force: nevus"))
    assert main(["serve", "--check", "--port", "0", "--log-dir", log]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: rules.yaml differs from the rules v0002 was trained with")
    assert "--rules-from-file" in err[0]
    args = ["serve", "--check", "--port", "0", "--log-dir", log, "--rules-from-file"]
    assert main(args) == 0
