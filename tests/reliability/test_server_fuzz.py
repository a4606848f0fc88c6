"""Schema-driven fuzzing of ``mlprod serve`` with schemathesis, over loopback.

A real server process (uvicorn, one worker) serves the template's trained model;
schemathesis reads the app's own OpenAPI document (``GET /openapi.json``, where
``/predict``'s body is the model's feature schema) and sends generated requests
to every operation, valid ones (positive mode) and ones that break the schema
(negative mode), twice:

* ``st run``, schemathesis's own runner: its examples, coverage (boundary values,
  each required field missing, each type wrong, methods not allowed) and fuzzing
  phases, with every check it has;
* the Python API: Hypothesis strategies of each operation in both modes, every
  answer checked by ``case.call_and_validate``.

Every answer must be below 500, show no traceback or Python exception text
(:mod:`schemathesis_hooks`), and conform to the document (status codes, content
types, bodies); valid rows must be served and invalid ones refused. Afterwards
the server must still be alive and predict a good row as the model does offline.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

if sys.version_info >= (3, 11) or os.environ.get("CI"):
    import schemathesis  # in the test extra: missing, it is a failure
else:  # schemathesis needs Python 3.11; the test extra leaves it out on 3.10
    schemathesis = pytest.importorskip("schemathesis")
from tests.reliability.schemathesis_hooks import no_python_internals
from tests.serving import (
    ROW,
    activate_model,
    free_port,
    offline_predictions,
    request,
    skew_report,
    start,
    stop,
    wait_ready,
)

pytestmark = pytest.mark.slow
# The figures (requests sent, seconds): pytest -o log_cli=true --log-cli-level=INFO
log = logging.getLogger("mlprod.tests.fuzz")

EXAMPLES = 150  # per operation (and per generation mode, in the Python API)
ROWS = 20  # --max-request-rows: a batch over it is cheap to generate
# A refusal of a body that breaks the schema: malformed, too large, or not the model's rows.
REFUSED = [400, 413, 422]
# No crash cache: schemathesis would write it in the working directory (the checkout).
CONFIG = {
    "cache": {"enabled": False},
    "checks": {"negative_data_rejection": {"expected-statuses": REFUSED}},
}
CONFIG_TOML = f"""
[cache]
enabled = false

[checks.negative_data_rejection]
expected-statuses = {REFUSED}
"""


class Server:
    def __init__(self, base: str, process, project: Path):
        self.base, self.process, self.project = base, process, project


@pytest.fixture(scope="module")
def server(trained_project, tmp_path_factory):
    """``mlprod serve`` on a free loopback port, for the whole module.

    At the end: the server still answers a good ``/predict`` exactly as the
    model predicts offline, stops cleanly on SIGTERM, and wrote no traceback.
    """
    project = tmp_path_factory.mktemp("fuzz") / trained_project.name
    shutil.copytree(trained_project, project)
    activate_model(project)
    output = project.parent / "serve.out"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with output.open("w") as sink:
        process = start(project, "--port", str(port), "--max-request-rows", str(ROWS), output=sink)
        try:
            wait_ready(process, base)
            yield Server(base, process, project)
            status, _, body = request(f"{base}/predict", json.dumps(ROW).encode())
            assert status == 200, body
            (expected,), (scores,) = offline_predictions(project, [ROW])
            answer = json.loads(body)
            assert answer["class"] == expected
            assert list(answer["scores"].values()) == pytest.approx(scores, abs=1e-12)
            assert request(f"{base}/health")[0] == 200
        finally:
            code = stop(process)
    text = output.read_text()
    assert code == 0, text
    assert "Traceback" not in text, text
    # The rows generated and served are in the request log, and skew reads it whole:
    # every served row re-scored offline gives what the server answered.
    log_dir = project / "logs" / "requests"
    lines = sum(len(path.read_bytes().splitlines()) for path in log_dir.glob("*.jsonl"))
    assert lines >= EXAMPLES
    _, report, _ = skew_report(project, log_dir)
    assert report["rows_current"] == lines
    assert report["prediction_skew"]["checked"] is True
    assert report["predictions"]["summary"]["mismatches"] == 0


def test_schemathesis_run_finds_no_failure_in_any_phase(server, tmp_path, record_property):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG_TOML)
    report = tmp_path / "report.json"
    repository = Path(__file__).parents[2]  # where the tests package is importable
    env = dict(
        os.environ,
        SCHEMATHESIS_HOOKS="tests.reliability.schemathesis_hooks",
        PYTHONPATH=os.pathsep.join([str(repository), os.environ.get("PYTHONPATH", "")]),
    )
    started = time.monotonic()
    run = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli",
            "--config-file", str(config),
            "run", f"{server.base}/openapi.json",
            "--checks", "all",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", str(EXAMPLES),
            "--workers", "1",
            "--report", "json", "--report-json-path", str(report),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    result = json.loads(report.read_text())
    cases = result["test_cases"]
    seconds = time.monotonic() - started
    log.info("st run: %d test cases in %.1f s", cases["generated"], seconds)
    record_property("test_cases", cases["generated"])
    assert result["operations"]["tested"] == 5
    assert {name: result["phases"][name]["status"] for name in ("coverage", "fuzzing")} == {
        "coverage": "success",
        "fuzzing": "success",
    }
    assert cases["with_failures"] == 0 and cases["errored"] == 0
    assert cases["generated"] >= 200


SENT: list[tuple[str, int]] = []  # ("METHOD /path", status) of every generated request


def _fuzz(operation, mode, base: str, session) -> None:
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        response = case.call_and_validate(
            base_url=base, session=session, additional_checks=[no_python_internals]
        )
        SENT.append((f"{case.method} {case.path}", response.status_code))
        assert response.status_code < 500

    run()


def test_generated_valid_rows_are_served_and_invalid_ones_refused(server, record_property):
    import requests

    config = schemathesis.Config.from_dict(CONFIG)
    schema = schemathesis.openapi.from_url(f"{server.base}/openapi.json", config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {
        "POST /predict",
        "GET /health",
        "GET /ready",
        "GET /metadata",
        "GET /metrics",
    }
    started = time.monotonic()
    with requests.Session() as session:
        for operation in operations:
            inputs = [operation.body, operation.query, operation.headers, operation.path_parameters]
            for mode in schemathesis.GenerationMode:
                if mode is schemathesis.GenerationMode.NEGATIVE and not any(map(len, inputs)):
                    continue  # nothing to send wrong
                _fuzz(operation, mode, server.base, session)
    statuses: dict[str, dict[int, int]] = {}
    for operation, status in SENT:
        counts = statuses.setdefault(operation, {})
        counts[status] = counts.get(status, 0) + 1
    seconds = time.monotonic() - started
    log.info("Python API: %d requests in %.1f s: %s", len(SENT), seconds, statuses)
    record_property("requests", len(SENT))
    predict = statuses["POST /predict"]
    assert predict.get(200, 0) >= EXAMPLES  # every valid body was served
    assert sum(n for code, n in predict.items() if code in REFUSED) >= EXAMPLES // 2


# --------------------------------------------------------------------------- body shapes


def test_every_shape_of_a_body_is_answered_below_500_and_logged_whole(
    trained_project, tmp_path, record_property
):
    """The structure fuzzer's JSON shapes (``tests/reliability/shapes.py``) of one
    row and of a batch, in process: encodings, depth, size, NaN tokens, lone
    surrogates, every value replaced, wrapped or deleted, unknown fields. Each is
    answered 200 or a 4xx that names what is wrong (never a 500, never Python's
    internals), and the request log holds exactly the rows answered 200, each a
    whole JSON line."""
    import warnings

    from mlprod_cli.core.serve import ServeOptions, create_app, request_log_files
    from mlprod_cli.core.workspace import Workspace
    from tests.reliability.shapes import json_shapes
    from tests.serving import INTERNALS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's notice about httpx
        from fastapi.testclient import TestClient

    project = tmp_path / trained_project.name
    shutil.copytree(trained_project, project)
    activate_model(project)
    log_dir = tmp_path / "log"
    shapes = json_shapes(ROW) + [
        shape for shape in json_shapes({"rows": [ROW, ROW]}) if shape.id.startswith("rows")
    ]
    statuses: dict[int, int] = {}
    served_rows = 0
    app = create_app(Workspace.load(project), ServeOptions(log_dir=log_dir, max_request_rows=ROWS))
    with TestClient(app) as client:
        for shape in shapes:
            body = shape.data
            if shape.id.startswith("rows"):  # {"rows": [...]} → the batch itself
                body = _batch_of(body)
                if body is None:
                    continue
            response = client.post(
                "/predict", content=body, headers={"content-type": "application/json"}
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code in (200, 400, 413, 422), (shape.id, response.text[:300])
            assert not INTERNALS.search(response.text), (shape.id, response.text[:300])
            answer = response.json()
            if response.status_code == 200:
                served_rows += len(answer.get("predictions", [answer]))
            else:
                assert answer["detail"], shape.id
    lines = []
    for path in request_log_files(log_dir):
        data = path.read_bytes()
        assert data.endswith(b"\n")
        lines += [json.loads(line) for line in data.splitlines()]
    assert len(lines) == served_rows
    log.info("body shapes: %d sent, by status %s", sum(statuses.values()), statuses)
    record_property("shapes", sum(statuses.values()))
    assert sum(statuses.values()) >= 300 and statuses.get(200, 0) >= 10


def _batch_of(data: bytes) -> bytes | None:
    """The ``rows`` value of a shape of ``{"rows": [...]}``, as its JSON text (None if gone)."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):  # sent as it is, less the wrapping object
        return data.replace(b'{\n  "rows": ', b"", 1)[:-2] if data.startswith(b'{\n  "rows": ') else None  # fmt: skip
    if not isinstance(document, dict) or "rows" not in document:
        return None
    return json.dumps(document["rows"]).encode()
