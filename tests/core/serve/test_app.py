"""The serving app in process: answers, refusals, probes, and a model that fails."""

from __future__ import annotations

import json
import math
import re
import warnings

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
with warnings.catch_warnings():
    # Newer Starlette prefers httpx2 and warns when it finds httpx; either works.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mlprod_cli.core.config import load_config
from mlprod_cli.core.serve import ServeOptions, create_app
from mlprod_cli.core.workspace import Workspace
from tests.serving import ROW, metric, parse_metrics

CLASSES = ["melanoma", "nevus", "seborrheic_keratosis"]


def test_single_row_answers_one_prediction(client):
    response = client.post("/predict", json=ROW)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"model_version", "class", "scores"}
    assert body["model_version"] == "v0002"
    assert body["class"] in CLASSES
    assert list(body["scores"]) == CLASSES
    assert math.isclose(sum(body["scores"].values()), 1.0, rel_tol=1e-9)
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_a_list_of_rows_answers_a_list_equal_to_single_answers(client):
    rows = [ROW, dict(ROW, age=81, color_count=5, evolving=1), dict(ROW, sex="male", age=23)]
    response = client.post("/predict", json=rows)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"model_version", "predictions"}
    assert len(body["predictions"]) == 3
    for row, prediction in zip(rows, body["predictions"], strict=True):
        alone = client.post("/predict", json=row).json()
        assert prediction["class"] == alone["class"]
        for label in CLASSES:
            assert math.isclose(prediction["scores"][label], alone["scores"][label], abs_tol=1e-12)


def test_request_id_given_by_the_client_is_kept(client):
    response = client.post("/predict", json=ROW, headers={"X-Request-ID": "order-42"})
    assert response.headers["x-request-id"] == "order-42"
    response = client.post("/predict", json=ROW, headers={"X-Request-ID": "bad id\twith tab"})
    assert response.headers["x-request-id"] != "bad id\twith tab"


def test_null_is_a_missing_value_and_is_served(client):
    response = client.post("/predict", json=dict(ROW, diameter_mm=None))
    assert response.status_code == 200, response.text


def _errors(response) -> list[dict]:
    body = response.json()
    assert isinstance(body["detail"], list)
    for error in body["detail"]:
        assert set(error) >= {"loc", "msg", "type"}
    return body["detail"]


def test_missing_feature_is_422_naming_it(client):
    row = {k: v for k, v in ROW.items() if k != "age"}
    response = client.post("/predict", json=row)
    assert response.status_code == 422
    assert [e["loc"] for e in _errors(response)] == [["body", "age"]]
    response = client.post("/predict", json=[ROW, row])
    assert response.status_code == 422
    assert [e["loc"] for e in _errors(response)] == [["body", 1, "age"]]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"52"', "a string"),
        ("true", "a boolean"),
        ('{"years": 52}', "an object"),
        ("[52]", "an array"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("1e999", "Infinity"),
    ],
)
def test_wrong_type_in_a_number_is_422_naming_the_field(client, value, words):
    text = json.dumps(ROW).replace('"age": 52', f'"age": {value}')
    response = client.post("/predict", content=text, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    (error,) = _errors(response)
    assert error["loc"] == ["body", "age"]
    assert words in error["msg"]


def test_an_object_where_text_belongs_is_422(client):
    response = client.post("/predict", json=[dict(ROW, sex={"value": "female"})])
    assert response.status_code == 422
    assert _errors(response)[0]["loc"] == ["body", 0, "sex"]


@pytest.mark.parametrize("body", ['"a row"', "42", "[]", "[1, 2]", "null"])
def test_a_body_that_is_not_rows_is_422(client, body):
    response = client.post("/predict", content=body)
    assert response.status_code == 422
    assert _errors(response)[0]["loc"][0] == "body"


@pytest.mark.parametrize(
    "body",
    [b"{bad json", b"", b"   ", b"\xff\xfe\x00garbage", b"[" * 50_000, b'{"age": 1'],
)
def test_malformed_json_is_400_never_5xx(client, body):
    response = client.post("/predict", content=body)
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text
    assert isinstance(response.json()["detail"], str)


def test_a_body_over_the_limit_is_413(client):
    big = json.dumps([ROW] * 2000).encode()  # about 280 kB over a 64 kB limit
    response = client.post("/predict", content=big)
    assert response.status_code == 413
    assert "--max-body-bytes" in response.json()["detail"]

    def chunks():  # no Content-Length: counted while reading
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    response = client.post("/predict", content=chunks())
    assert response.status_code == 413


def test_unknown_paths_and_methods_are_4xx(client):
    assert client.get("/nope").status_code == 404
    assert client.get("/predict").status_code == 405


def test_health_ready_and_metadata(client):
    assert client.get("/health").json() == {"status": "alive"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["model_version"] == "v0002"
    info = client.get("/metadata").json()
    assert info["version"] == "v0002" and info["kind"] == "model"
    assert info["classes"] == CLASSES
    assert [f["name"] for f in info["schema"]["features"]][:3] == ["age", "sex", "anatomic_site"]
    assert {"created_at", "validation", "artifact_sha256", "pinned"} <= set(info)


def test_a_model_that_raises_is_a_500_without_a_traceback(served_project, tmp_path, monkeypatch):
    config = load_config(served_project)
    app = create_app(Workspace(config), ServeOptions(log_dir=tmp_path))
    model = app.state.mlprod.holder.current

    def broken(columns):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(model, "frame", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/predict", json=ROW)
        assert response.status_code == 500
        assert response.json()["detail"] == "prediction failed"
        assert "secret" not in response.text and "Traceback" not in response.text

        def bug(rows, single):
            raise KeyError("more internals")

        monkeypatch.setattr(model, "check", bug)
        response = client.post("/predict", json=ROW)
        assert response.status_code == 500
        assert response.json() == {"detail": "internal server error"}
        samples = parse_metrics(client.get("/metrics").text)
        assert metric(samples, "mlprod_requests_total", endpoint="/predict", status="500") == 2
