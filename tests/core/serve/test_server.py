"""The serving app in process: answers, refusals, metrics, the request log, hot swaps."""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import socket
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
with warnings.catch_warnings():
    # Newer Starlette prefers httpx2 and warns when it finds httpx; either works.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mlprod_cli.core.config import load_config
from mlprod_cli.core.registry import RegistryError
from mlprod_cli.core.serve import (
    Batcher,
    RequestLog,
    ServeOptions,
    create_app,
    load_model,
    prepare,
    request_log_files,
)
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import UsageError
from tests.serving import ROW, metric, parse_metrics

CLASSES = ["melanoma", "nevus", "seborrheic_keratosis"]


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def add_model_copy(registry, source: str = "v0002", **changes):
    """A new model version (a copy of ``source``'s estimator) registered whole."""
    version = registry.get(source)
    metadata = {
        k: v for k, v in version.metadata.items() if k not in ("version", "artifact_sha256")
    }
    metadata.update(changes)
    return registry.add(registry.load(version), metadata)


@pytest.fixture(scope="module")
def served_project(trained_project, tmp_path_factory) -> Path:
    """A trained project with the baseline v0001 and the model v0002 active."""
    dest = tmp_path_factory.mktemp("served") / trained_project.name
    shutil.copytree(trained_project, dest)
    registry = Workspace.load(dest).registry
    registry.activate(registry.get("v0001"))
    registry.activate(registry.get("v0002"))
    return dest


@pytest.fixture(scope="module")
def client(served_project, tmp_path_factory):
    """One app for the tests that only read (counters are compared before and after)."""
    config = load_config(served_project)
    log_dir = tmp_path_factory.mktemp("requests")
    app = create_app(Workspace(config), ServeOptions(log_dir=log_dir, max_body_bytes=64 * 1024))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def project(served_project, tmp_path) -> Path:
    """A private copy of the served project, for tests that change the registry."""
    dest = tmp_path / served_project.name
    shutil.copytree(served_project, dest)
    return dest


# --------------------------------------------------------------------------- predictions


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


# --------------------------------------------------------------------------- refusals


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


# --------------------------------------------------------------------------- probes and metrics


def test_health_ready_and_metadata(client):
    assert client.get("/health").json() == {"status": "alive"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["model_version"] == "v0002"
    info = client.get("/metadata").json()
    assert info["version"] == "v0002" and info["kind"] == "model"
    assert info["classes"] == CLASSES
    assert [f["name"] for f in info["schema"]["features"]][:3] == ["age", "sex", "anatomic_site"]
    assert {"created_at", "validation", "artifact_sha256", "pinned"} <= set(info)


def test_metrics_count_requests_predictions_and_findings(client):
    before = parse_metrics(client.get("/metrics").text)
    rows = [
        dict(ROW, sex="unknown-sex", lesion_id="L1"),  # unseen category, unknown field
        dict(ROW, age=130),  # out of range
        ROW,
    ]
    answer = client.post("/predict", json=rows).json()
    client.post("/predict", json={"age": "old"})
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = parse_metrics(response.text)

    def moved(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert moved("mlprod_requests_total", endpoint="/predict", status="200") == 1
    assert moved("mlprod_requests_total", endpoint="/predict", status="422") == 1
    assert moved("mlprod_validation_failures_total") == 1
    assert moved("mlprod_unseen_category_total", feature="sex") == 1
    assert moved("mlprod_unseen_category_total", feature="anatomic_site") == 0
    assert moved("mlprod_out_of_range_total", feature="age") == 1
    assert moved("mlprod_unknown_fields_total", field="lesion_id") == 1
    assert moved("mlprod_request_seconds_count", endpoint="/predict") == 2
    assert metric(after, "mlprod_request_seconds_bucket", endpoint="/predict", le="+Inf") == (
        metric(after, "mlprod_request_seconds_count", endpoint="/predict")
    )
    predicted = [p["class"] for p in answer["predictions"]]
    for label in CLASSES:
        assert moved("mlprod_predictions_total", **{"class": label}) == predicted.count(label)
    assert metric(after, "mlprod_model_info", version="v0002", kind="model") == 1
    assert metric(after, "mlprod_model_ready") == 1
    # Buckets are cumulative.
    buckets = sorted(
        (float("inf") if dict(labels)["le"] == "+Inf" else float(dict(labels)["le"]), value)
        for (name, labels), value in after.items()
        if name == "mlprod_request_seconds_bucket" and dict(labels)["endpoint"] == "/predict"
    )
    counts = [value for _, value in buckets]
    assert counts == sorted(counts)


# --------------------------------------------------------------------------- no model, hot swap


def test_no_active_model_is_not_ready_until_one_is_activated(trained, tmp_path):
    config = load_config(trained)
    app = create_app(Workspace(config), ServeOptions(log_dir=tmp_path / "log", reload_seconds=0.1))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        assert client.post("/predict", json=ROW).status_code == 503
        registry = Workspace(config).registry
        registry.activate(registry.get("v0002"))
        assert wait_for(lambda: client.get("/ready").status_code == 200)
        assert client.post("/predict", json=ROW).json()["model_version"] == "v0002"


def test_activating_another_version_is_served_without_restart(project, tmp_path):
    config = load_config(project)
    registry = Workspace(config).registry
    new = add_model_copy(registry)
    app = create_app(
        Workspace(config), ServeOptions(log_dir=tmp_path / "log")
    )  # checks every second
    with TestClient(app) as client:
        assert client.get("/metadata").json()["version"] == "v0002"
        registry.activate(new)
        assert wait_for(lambda: client.get("/metadata").json()["version"] == new.id, timeout=3)
        assert client.post("/predict", json=ROW).json()["model_version"] == new.id
        samples = parse_metrics(client.get("/metrics").text)
        assert metric(samples, "mlprod_model_info", version=new.id, kind="model") == 1
        assert metric(samples, "mlprod_model_reloads_total") == 2


def test_a_version_that_fails_to_load_keeps_the_old_one_serving(project, tmp_path, caplog):
    config = load_config(project)
    registry = Workspace(config).registry
    new = add_model_copy(registry)
    app = create_app(Workspace(config), ServeOptions(log_dir=tmp_path / "log", reload_seconds=0.1))
    state = app.state.mlprod
    with TestClient(app) as client:
        # Changed after activation: written in this order, the watcher never sees it whole.
        (new.path / "model.skops").write_bytes(b"tampered")
        active = json.loads((registry.root / "active.json").read_text())
        (registry.root / "active.tmp").write_text(json.dumps(dict(active, model=new.id)))
        (registry.root / "active.tmp").replace(registry.root / "active.json")
        assert wait_for(lambda: state.metrics.reload_failures >= 1)
        assert client.get("/metadata").json()["version"] == "v0002"
        assert client.post("/predict", json=ROW).status_code == 200
        assert "does not match its metadata" in caplog.text
        assert "still serving v0002" in caplog.text
        # Not retried every second; retried when asked (SIGHUP does this).
        time.sleep(0.3)
        assert state.metrics.reload_failures == 1
        state.watcher.request()
        assert wait_for(lambda: state.metrics.reload_failures == 2)


def test_a_pinned_version_does_not_follow_activations(project, tmp_path):
    config = load_config(project)
    registry = Workspace(config).registry
    new = add_model_copy(registry)
    options = ServeOptions(log_dir=tmp_path / "log", model="v0002", reload_seconds=0.1)
    with TestClient(create_app(Workspace(config), options)) as client:
        registry.activate(new)
        time.sleep(0.5)
        info = client.get("/metadata").json()
        assert info["version"] == "v0002" and info["pinned"] is True


# --------------------------------------------------------------------------- the request log


def test_every_served_row_is_logged_and_flushed_at_shutdown(served_project, tmp_path):
    config = load_config(served_project)
    log_dir = tmp_path / "requests"
    app = create_app(Workspace(config), ServeOptions(log_dir=log_dir))
    rows = [dict(ROW, lesion_id="L7"), dict(ROW, age=70)]
    with TestClient(app) as client:
        one = client.post("/predict", json=ROW, headers={"X-Request-ID": "one"}).json()
        two = client.post("/predict", json=rows, headers={"X-Request-ID": "two"}).json()
        client.post("/predict", json={"age": 1})  # refused: not logged
    (path,) = request_log_files(log_dir)
    assert re.fullmatch(r"requests-\d{4}-\d{2}-\d{2}\.jsonl", path.name)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["request_id"] for line in lines] == ["one", "two", "two"]
    for line in lines:
        assert set(line) == {
            "ts",
            "request_id",
            "model_version",
            "features",
            "prediction",
            "scores",
        }
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", line["ts"])
        assert path.name == f"requests-{line['ts'][:10]}.jsonl"
        assert line["model_version"] == "v0002"
    assert lines[0]["features"] == ROW
    assert lines[0]["prediction"] == one["class"] and lines[0]["scores"] == one["scores"]
    assert lines[1]["features"] == rows[0]  # as received, the unknown field too
    assert [line["prediction"] for line in lines[1:]] == [p["class"] for p in two["predictions"]]


def _entry(n: int, day: str = "2026-01-02"):
    rows = [{"age": i, "note": "x" * 50} for i in range(n)]
    return (f"{day}T10:00:00.000Z", "rid", "v0002", rows, ["nevus"] * n, [{"nevus": 1.0}] * n)


def test_the_log_rolls_past_its_size_and_starts_a_file_per_day(tmp_path):
    log = RequestLog(tmp_path, max_bytes=1000)
    for _ in range(5):
        assert log.submit(*_entry(4))
    assert log.submit(*_entry(1, day="2026-01-03"))
    log.close()
    names = [p.name for p in request_log_files(tmp_path)]
    parts = len(names) - 1
    assert parts >= 3
    assert names == [
        "requests-2026-01-02.jsonl",
        *(f"requests-2026-01-02.{n}.jsonl" for n in range(1, parts)),
        "requests-2026-01-03.jsonl",
    ]
    total = 0
    for path in request_log_files(tmp_path):
        assert path.stat().st_size <= 1000
        total += sum(1 for line in path.read_text().splitlines() if json.loads(line))
    assert total == log.written == 21
    # A restart appends to the day's newest part while it has room.
    again = RequestLog(tmp_path, max_bytes=1000)
    again.submit(*_entry(1, day="2026-01-03"))
    again.close()
    assert len(request_log_files(tmp_path)) == len(names)
    assert len((tmp_path / "requests-2026-01-03.jsonl").read_text().splitlines()) == 2


def test_a_full_log_queue_drops_and_counts_instead_of_blocking(tmp_path):
    log = RequestLog(tmp_path, max_pending_rows=3)
    assert not log.submit(*_entry(4))
    assert log.dropped == 4
    assert log.submit(*_entry(2))
    log.close()
    assert log.written == 2


def test_workers_write_files_of_their_own(tmp_path):
    log = RequestLog(tmp_path, per_process=True)
    log.submit(*_entry(1))
    log.close()
    (path,) = request_log_files(tmp_path)
    assert re.fullmatch(r"requests-2026-01-02\.pid\d+\.jsonl", path.name)


def test_non_finite_values_in_unknown_fields_do_not_break_the_log(client, tmp_path):
    log = RequestLog(tmp_path)
    entry = list(_entry(1))
    entry[3] = [{"age": 3, "extra": float("nan")}]
    log.submit(*entry)
    log.close()
    (path,) = request_log_files(tmp_path)
    assert json.loads(path.read_text())["features"] == {"age": 3, "extra": None}


# --------------------------------------------------------------------------- batching, failures


def test_requests_waiting_together_share_one_model_call(served_project):
    config = load_config(served_project)
    model = load_model(Workspace(config).registry, None)
    rows = [dict(ROW, age=20 + 3 * i) for i in range(24)]
    checked = [model.check([row], single=True) for row in rows]
    batcher = Batcher(max_rows=256)

    async def main():
        return await asyncio.gather(*(batcher.predict(model, c.columns, 1) for c in checked))

    try:
        results = asyncio.run(main())
    finally:
        batcher.stop()
    assert batcher.rows == 24
    assert batcher.batches < 24
    together = model.check(rows, single=False)
    from mlprod_cli.core.predict import predict_batch

    classes, scores = predict_batch(model.estimator, model.frame(together.columns), model.labels)
    assert [r[0][0] for r in results] == classes.tolist()
    for (_, row_scores), expected in zip(results, scores, strict=True):
        assert row_scores[0] == pytest.approx(expected.tolist(), abs=1e-12)


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


# --------------------------------------------------------------------------- prepare


def test_prepare_without_an_active_model_names_the_commands_that_make_one(trained):
    with pytest.raises(RegistryError) as caught:
        prepare(Workspace.load(trained), ServeOptions(port=0))
    assert caught.value.exit_code == 2
    assert "mlprod train --activate" in caught.value.hint
    assert "mlprod models activate VERSION" in caught.value.hint


def test_prepare_refuses_a_port_in_use_naming_it(served_project, tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        with pytest.raises(UsageError) as caught:
            prepare(Workspace.load(served_project), ServeOptions(port=port, log_dir=tmp_path))
    finally:
        holder.close()
    assert caught.value.exit_code == 2
    assert f"--port {port}" in caught.value.message and "in use" in caught.value.message


def test_prepare_binds_loopback_by_default_and_loads_the_model(served_project, tmp_path):
    server = prepare(Workspace.load(served_project), ServeOptions(port=0, log_dir=tmp_path / "l"))
    try:
        assert server.host == "127.0.0.1"
        assert server.socket.getsockname()[0] == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.model is not None and server.model.id == "v0002"
        assert (tmp_path / "l").is_dir()
    finally:
        server.socket.close()
