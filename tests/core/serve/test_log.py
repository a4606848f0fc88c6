"""The request log: every served row, files by day and size, a full queue, workers."""

from __future__ import annotations

import json
import re
import warnings

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")
with warnings.catch_warnings():
    # Newer Starlette prefers httpx2 and warns when it finds httpx; either works.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mlprod_cli.core.config import load_config
from mlprod_cli.core.serve import Metrics, RequestLog, ServeOptions, create_app, request_log_files
from mlprod_cli.core.workspace import Workspace
from tests.serving import ROW


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
    metrics = Metrics()
    log = RequestLog(tmp_path, metrics=metrics, max_bytes=1000)
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
    assert total == metrics.value("mlprod_request_log_lines_total") == 21
    # A restart appends to the day's newest part while it has room.
    again = RequestLog(tmp_path, metrics=Metrics(), max_bytes=1000)
    again.submit(*_entry(1, day="2026-01-03"))
    again.close()
    assert len(request_log_files(tmp_path)) == len(names)
    assert len((tmp_path / "requests-2026-01-03.jsonl").read_text().splitlines()) == 2


def test_a_full_log_queue_drops_and_counts_instead_of_blocking(tmp_path):
    metrics = Metrics()
    log = RequestLog(tmp_path, metrics=metrics, max_pending_rows=3)
    assert not log.submit(*_entry(4))
    assert metrics.value("mlprod_request_log_dropped_total") == 4
    assert log.submit(*_entry(2))
    log.close()
    assert metrics.value("mlprod_request_log_lines_total") == 2


def test_workers_write_files_of_their_own(tmp_path):
    log = RequestLog(tmp_path, metrics=Metrics(), per_process=True)
    log.submit(*_entry(1))
    log.close()
    (path,) = request_log_files(tmp_path)
    assert re.fullmatch(r"requests-2026-01-02\.pid\d+\.jsonl", path.name)


def test_non_finite_values_in_unknown_fields_do_not_break_the_log(tmp_path):
    log = RequestLog(tmp_path, metrics=Metrics())
    entry = list(_entry(1))
    entry[3] = [{"age": 3, "extra": float("nan")}]
    log.submit(*entry)
    log.close()
    (path,) = request_log_files(tmp_path)
    assert json.loads(path.read_text())["features"] == {"age": 3, "extra": None}
