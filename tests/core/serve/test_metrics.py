"""/metrics: what is counted, in the Prometheus text format, and one set for --workers N.

The counting runs in process; the multiprocess mode of ``prometheus_client``
(one set of metrics added up over every worker) needs processes of its own: a
few small Python processes here, and a real ``mlprod serve --workers 2``
(slow) at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("prometheus_client")

from mlprod_cli.core.serve import Metrics
from tests.serving import (
    ROW,
    free_port,
    metric,
    parse_metrics,
    predictions_per_worker,
    request,
    start,
    stop,
    tiny_metadata,
    tiny_model,
    wait_ready,
)

CLASSES = ["melanoma", "nevus", "seborrheic_keratosis"]


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


def test_the_model_served_is_named_and_its_counters_listed_from_zero():
    metrics = Metrics()
    first, second = tiny_model("v0001"), tiny_model("v0002", classes=("a", "c"))
    metrics.loaded(first, previous=None)
    samples = parse_metrics(metrics.render().decode())
    assert metric(samples, "mlprod_model_info", version="v0001", kind="model") == 1
    assert metric(samples, "mlprod_model_ready") == 1
    assert metric(samples, "mlprod_model_reloads_total") == 1
    for name, labels in [
        ("mlprod_predictions_total", {"class": "a"}),
        ("mlprod_predictions_total", {"class": "b"}),
        ("mlprod_unseen_category_total", {"feature": "color"}),
        ("mlprod_out_of_range_total", {"feature": "size"}),
    ]:
        assert (name, frozenset(labels.items())) in samples, name
    metrics.loaded(second, previous=first)
    text = metrics.render().decode()
    samples = parse_metrics(text)
    assert metric(samples, "mlprod_model_info", version="v0002", kind="model") == 1
    assert "v0001" not in text  # a version no longer served is not listed
    assert ("mlprod_predictions_total", frozenset({("class", "c")})) in samples
    assert metric(samples, "mlprod_model_reloads_total") == 2
    assert "_created" not in text


def test_unknown_field_names_are_capped_and_made_utf8():
    from mlprod_cli.core.serve._model import Checked
    from mlprod_cli.core.serve._options import MAX_UNKNOWN_FIELD_NAMES

    metrics = Metrics()
    names = {f"field{i}": 1 for i in range(MAX_UNKNOWN_FIELD_NAMES + 5)}
    metrics.count_checked(Checked(unknown={"\ud800": 2, **names, "x" * 65: 1}))
    metrics.count_checked(Checked(unknown={"\ud800": 1, "field70": 1}))
    samples = parse_metrics(metrics.render().decode("utf-8"))
    counted = {
        dict(labels)["field"]: value
        for (name, labels), value in samples.items()
        if name == "mlprod_unknown_fields_total"
    }
    assert len(counted) == MAX_UNKNOWN_FIELD_NAMES + 1  # and "_other"
    assert counted["\ufffd"] == 3
    # The first names are "\ud800" and field0..field48; past them field49..field54,
    # the long name and field70 are counted as one.
    assert counted["_other"] == 6 + 1 + 1


# --------------------------------------------------------------------------- several processes

# One worker: VERSION served, REQUESTS counted, then ENDING: "close" (as a worker
# that stops), "crash" (gone without a word) or "wait" (alive until stdin closes).
WORKER = """
import json, os, sys
from pathlib import Path
from types import SimpleNamespace
from mlprod_cli.core.serve import LoadedModel, Metrics

version, requests, ending, metadata = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
metrics = Metrics(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
model = LoadedModel(SimpleNamespace(id=version, metadata=json.loads(metadata)), None)
metrics.loaded(model, previous=None)
for _ in range(requests):
    metrics.observe("/predict", 200, 0.003)
metrics.count_predictions(["a"] * requests)
metrics.scored(requests)
if ending == "wait":
    print("counted", flush=True)
    sys.stdin.read()
if ending != "crash":
    metrics.close()
"""


def test_the_workers_counts_add_up_and_a_stopped_worker_leaves_the_gauges(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(folder))

    def worker(version: str, requests: int, ending: str) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                version,
                str(requests),
                ending,
                json.dumps(tiny_metadata()),
            ],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    for version, requests, ending in [("v0001", 3, "close"), ("v0002", 4, "crash")]:
        done = worker(version, requests, ending)
        assert done.wait(timeout=60) == 0
    running = worker("v0003", 5, "wait")
    try:
        assert running.stdout.readline() == "counted\n"
        # What a scrape of any worker answers (this process writes no files of its own).
        samples = parse_metrics(Metrics(folder).render().decode())
    finally:
        running.stdin.close()
        assert running.wait(timeout=60) == 0
    assert metric(samples, "mlprod_requests_total", endpoint="/predict", status="200") == 12
    assert metric(samples, "mlprod_request_seconds_count", endpoint="/predict") == 12
    assert metric(samples, "mlprod_predictions_total", **{"class": "a"}) == 12
    assert metric(samples, "mlprod_inference_rows_total") == 12
    assert metric(samples, "mlprod_model_reloads_total") == 3
    # Gauges: the live workers only; v0002's stopped without a word and was found out.
    served = {
        dict(labels)["version"]
        for (name, labels), value in samples.items()
        if name == "mlprod_model_info"
    }
    assert served == {"v0003"}
    assert metric(samples, "mlprod_model_ready") == 1
    assert not list(folder.glob("gauge_live*"))  # v0003 closed too


@pytest.mark.slow
def test_serve_with_two_workers_exposes_one_set_of_metrics(active, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the server makes its metrics folder
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    output = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    process = start(active, "--port", str(port), "--workers", "2", output=output)
    log_dir = active / "logs" / "requests"
    body = json.dumps(ROW).encode()
    sent = 0
    try:
        wait_ready(process, base)
        # Until both workers have answered some.
        deadline = time.monotonic() + 60
        (folder,) = tmp_path.glob("mlprod-serve-metrics-*")
        while len([n for n in predictions_per_worker(folder) if n]) < 2:
            assert time.monotonic() < deadline, "one worker answered every request"
            threads = [threading.Thread(target=request, args=(f"{base}/predict", body)) for _ in range(8)]  # fmt: skip
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            sent += len(threads)
        for _ in range(6):  # whichever worker answers
            status, _, text = request(f"{base}/metrics")
            assert status == 200
            samples = parse_metrics(text.decode())
            assert (
                metric(samples, "mlprod_requests_total", endpoint="/predict", status="200") == sent
            )
            assert sum(metric(samples, "mlprod_predictions_total", **{"class": c}) for c in CLASSES) == sent  # fmt: skip
            assert metric(samples, "mlprod_inference_rows_total") == sent
            assert metric(samples, "mlprod_request_seconds_count", endpoint="/predict") == sent
            assert metric(samples, "mlprod_model_info", version="v0002", kind="model") == 1
            assert metric(samples, "mlprod_model_ready") == 1
            assert metric(samples, "mlprod_model_reloads_total") == 2  # one per worker
        # One request log: both workers' lines in the same file, each line whole.
        deadline = time.monotonic() + 10
        while True:
            files = list(log_dir.glob("*.jsonl"))
            lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
            if len(lines) >= sent or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [f.name for f in files] == [f"requests-{lines[0]['ts'][:10]}.jsonl"]
        assert len(lines) == sent
    finally:
        code = stop(process)
        output.close()
    assert code == 0, (tmp_path / "serve.log").read_text()
    assert not folder.exists()  # removed with the server run
