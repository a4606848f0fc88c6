"""``mlprod serve`` under abuse: hostile bodies one by one, then a flood of 10,000.

Every hostile request (bodies over the size limit, JSON nested 100,000 deep,
NaN and ±Infinity literals, numbers too large, text where numbers belong,
missing features, wrong content types, empty bodies, batches with too many
rows…) must get a 4xx whose JSON error names the field or the limit, and no
Python internals. Then 10,000 of them arrive from 32 keep-alive connections at
once while a 33rd sends good rows: every bad one gets its 4xx, every good one
its 200 with the prediction the model gives offline, the server's resident
memory stays flat, and the request log holds the good rows only, in a form
``mlprod skew`` reads (re-scoring them gives what was served).

The real server runs as a process on loopback (``tests/serving.py``); a few
checks of the application itself run in process.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import shutil
import socket
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlprod_cli.core.serve import (
    MAX_ERRORS_SHOWN,
    MAX_FIELD_DEPTH,
    ServeOptions,
    create_app,
    load_model,
)
from mlprod_cli.core.workspace import Workspace
from tests.serving import (
    INTERNALS,
    ROW,
    activate_model,
    free_port,
    metric,
    offline_predictions,
    parse_metrics,
    request,
    rss_kib,
    skew_report,
    start,
    stop,
    wait_ready,
)

# The figures (requests, seconds, memory): pytest -o log_cli=true --log-cli-level=INFO
log = logging.getLogger("mlprod.tests.abuse")

MAX_BODY = 256 * 1024  # --max-body-bytes of the servers here
MAX_ROWS = 100  # --max-request-rows
FLOOD = 10_000  # bad requests
THREADS = 32  # connections sending them, each kept alive
RSS_GROWTH_KIB = 30 * 1024  # what the flood may add to the server's resident memory


# --------------------------------------------------------------------------- the catalogue


def _body(row: dict, field: str | None = None, literal: str | None = None) -> bytes:
    """``row`` as JSON, with the value of ``field`` replaced by the JSON text ``literal``."""
    if field is None:
        return json.dumps(row).encode()
    text = json.dumps({**row, field: "\x00"})
    return text.replace('"\\u0000"', literal, 1).encode()


@dataclass(frozen=True)
class Bad:
    """A hostile request and the refusal it must get."""

    name: str
    body: bytes | None
    status: int
    what: str  # a 422: the type of its first error; else words of the detail
    loc: tuple | None = None  # a 422: where its first error points
    method: str = "POST"
    path: str = "/predict"
    content_type: str = "application/json"


def _without(name: str) -> dict:
    return {k: v for k, v in ROW.items() if k != name}


# fmt: off
BAD = [
    Bad("array nested 100,000 deep", b"[" * 100_000, 400, "nested too deeply"),
    Bad("object nested 50,000 deep", b'{"a":' * 50_000, 400, "nested too deeply"),
    Bad(
        f"unknown field nested {MAX_FIELD_DEPTH + 8} deep",
        _body(ROW, "notes", "[" * (MAX_FIELD_DEPTH + 8) + "]" * (MAX_FIELD_DEPTH + 8)),
        422,
        "nested_too_deeply",
        ("body", "notes"),
    ),
    Bad("NaN", _body(ROW, "age", "NaN"), 422, "finite_number", ("body", "age")),
    Bad("Infinity", _body(ROW, "age", "Infinity"), 422, "finite_number", ("body", "age")),
    Bad(
        "-Infinity",
        _body(ROW, "diameter_mm", "-Infinity"),
        422,
        "finite_number",
        ("body", "diameter_mm"),
    ),
    Bad("1e999", _body(ROW, "age", "1e999"), 422, "finite_number", ("body", "age")),
    Bad("400-digit integer", _body(ROW, "age", "9" * 400), 422, "finite_number", ("body", "age")),
    # A float, but a scaler dividing it by a deviation below 1 overflows: the model would fail.
    Bad("1.7e308", _body(ROW, "asymmetry", "1.7e308"), 422, "finite_number", ("body", "asymmetry")),
    Bad("5000-digit integer", _body(ROW, "age", "9" * 5000), 400, "too many digits"),
    Bad("text for a number", _body(ROW, "age", '"52"'), 422, "float_type", ("body", "age")),
    Bad("boolean for a number", _body(ROW, "age", "true"), 422, "float_type", ("body", "age")),
    Bad("object for text", _body(ROW, "sex", '{"v": 1}'), 422, "string_type", ("body", "sex")),
    Bad("array for text", _body(ROW, "sex", '["f"]'), 422, "string_type", ("body", "sex")),
    Bad("missing feature", _body(_without("age")), 422, "missing", ("body", "age")),
    Bad(
        "bad row in a batch",
        json.dumps([ROW, ROW, ROW, dict(ROW, color_count="three")]).encode(),
        422,
        "float_type",
        ("body", 3, "color_count"),
    ),
    Bad("rows that are not objects", b"[1, 2, 3]", 422, "dict_type", ("body", 0)),
    Bad(
        "every feature missing, 100 rows",
        b"[" + b",".join([b"{}"] * MAX_ROWS) + b"]",
        422,
        "missing",
        ("body", 0, "age"),
    ),
    Bad("null", b"null", 422, "body_type", ("body",)),
    Bad("empty array", b"[]", 422, "body_type", ("body",)),
    Bad("a string", b'"a row"', 422, "body_type", ("body",)),
    Bad(
        "too many rows",
        json.dumps([ROW] * (MAX_ROWS + 1)).encode(),
        422,
        "too_many_rows",
        ("body",),
    ),
    Bad(
        "60,000 empty rows",
        b"[" + b",".join([b"{}"] * 60_000) + b"]",
        422,
        "too_many_rows",
        ("body",),
    ),
    Bad("over the size limit", json.dumps([ROW] * 2_000).encode(), 413, "--max-body-bytes"),
    Bad("empty body", b"", 400, "empty body"),
    Bad("blank body", b" \r\n\t ", 400, "empty body"),
    Bad("malformed JSON", b'{"age": 52,', 400, "malformed JSON"),
    Bad("not UTF-8", b'{"sex": "\xff\xfe"}', 400, "not UTF-8"),
    Bad(
        "form-encoded",
        b"age=52&sex=female",
        400,
        "malformed JSON",
        content_type="application/x-www-form-urlencoded",
    ),
    Bad("XML", b"<row><age>52</age></row>", 400, "malformed JSON", content_type="application/xml"),
    Bad(
        "multipart",
        b'--b\r\nContent-Disposition: form-data; name="age"\r\n\r\n52\r\n--b--\r\n',
        400,
        "malformed JSON",
        content_type="multipart/form-data; boundary=b",
    ),
    Bad("GET /predict", None, 405, "Method Not Allowed", method="GET"),
    Bad("unknown path", _body(ROW), 404, "Not Found", path="/predictions"),
]
# fmt: on

# Valid rows, some odd, all served; they are what the request log could be poisoned with.
NESTED = {"a": [{"b": [math.nan, math.inf]}]}
for _ in range(MAX_FIELD_DEPTH - 4):
    NESTED = {"n": NESTED}
GOOD = [
    ROW,
    dict(ROW, age=81, color_count=5, evolving=1, sex="male"),
    dict(ROW, age=23, anatomic_site="palms/soles", diameter_mm=None),
    dict(ROW, sex="\ud800"),  # a lone surrogate: valid JSON ("\ud800"), not UTF-8
    {**ROW, "\udc00 key": 1, "visit": "\udbff"},  # unknown fields named and valued so
    dict(ROW, extra=NESTED),  # as deep as allowed, NaN and Infinity inside
    dict(ROW, anatomic_site=10**30, sex=True),  # numbers and booleans as text: unseen
    {**ROW, "lesion_id": "L" * 10_000, "x" * 200: 1},  # a long field name: "_other" in /metrics
    dict(ROW, age=1e100, diameter_mm=-1e100),  # at the bound: served, out of range
]


def _send(conn: http.client.HTTPConnection, method: str, path: str, body, content_type: str):
    headers = {"Content-Type": content_type} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type", ""), response.read()


def _refusal_problem(case: Bad, status: int, content_type: str, data: bytes) -> str | None:
    """What is wrong with the answer to ``case``, or None."""
    if status != case.status:
        return f"{case.name}: {status} instead of {case.status}: {data[:200]!r}"
    if not content_type.startswith("application/json"):
        return f"{case.name}: Content-Type {content_type}"
    text = data.decode("utf-8")
    if INTERNALS.search(text):
        return f"{case.name}: Python internals in {text[:300]}"
    detail = json.loads(text)["detail"]
    if case.status == 422:
        first = detail[0]
        if (first["type"], tuple(first["loc"])) != (case.what, case.loc):
            return f"{case.name}: {first} instead of {case.what} at {case.loc}"
        if len(detail) > MAX_ERRORS_SHOWN:
            return f"{case.name}: {len(detail)} errors shown"
    elif case.what not in detail:
        return f"{case.name}: {detail!r} does not say {case.what!r}"
    return None


def _prediction_problem(row: dict, expected, status: int, data: bytes) -> str | None:
    if status != 200:
        return f"{status}: {data[:200]!r}"
    answer = json.loads(data)
    cls, scores = expected
    if answer["class"] != cls:
        return f"class {answer['class']} instead of {cls}"
    if not all(
        math.isclose(a, b, abs_tol=1e-12)
        for a, b in zip(answer["scores"].values(), scores, strict=True)
    ):
        return f"scores {answer['scores']} instead of {scores}"
    return None


# --------------------------------------------------------------------------- servers


class Server:
    def __init__(self, project: Path, port: int, process, log_dir: Path, output: Path):
        self.project, self.port, self.process = project, port, process
        self.log_dir, self.output = log_dir, output
        self.base = f"http://127.0.0.1:{port}"

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)


def _serve(trained_project: Path, folder: Path):
    """A context: ``mlprod serve`` with this module's limits, and its own project copy."""
    project = folder / trained_project.name
    shutil.copytree(trained_project, project)
    activate_model(project)
    log_dir, output, port = folder / "requests", folder / "serve.out", free_port()
    sink = output.open("w")
    limits = ["--max-body-bytes", str(MAX_BODY), "--max-request-rows", str(MAX_ROWS)]
    process = start(project, "--port", str(port), "--log-dir", str(log_dir), *limits, output=sink)
    try:
        wait_ready(process, f"http://127.0.0.1:{port}")
    except BaseException:
        stop(process)
        sink.close()
        raise
    return Server(project, port, process, log_dir, output), sink


@pytest.fixture(scope="module")
def server(trained_project, tmp_path_factory):
    served, sink = _serve(trained_project, tmp_path_factory.mktemp("abuse"))
    try:
        yield served
    finally:
        code = stop(served.process)
        sink.close()
    text = served.output.read_text()
    assert code == 0 and "Traceback" not in text, text


# --------------------------------------------------------------------------- one by one


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD, ids=[case.name for case in BAD])
def test_each_hostile_request_gets_a_4xx_naming_the_field(server, case):
    conn = server.connection()
    try:
        status, content_type, data = _send(
            conn, case.method, case.path, case.body, case.content_type
        )
    finally:
        conn.close()
    assert _refusal_problem(case, status, content_type, data) is None


def _raw_answer(sock: socket.socket) -> tuple[bytes, bytes]:
    """Status line and headers, and the body, of one HTTP/1.1 answer read from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head, body


@pytest.mark.slow
@pytest.mark.parametrize("expect", [False, True], ids=["plain", "expect-100-continue"])
def test_a_declared_length_over_the_limit_is_413_before_any_body_is_sent(server, expect):
    head = (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {1 << 30}\r\n" + ("Expect: 100-continue\r\n" if expect else "") + "\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head.encode())  # and no byte of the 1 GiB announced
        status, body = _raw_answer(sock)
    assert status.startswith(b"HTTP/1.1 413 "), status
    assert b"100 Continue" not in status
    assert "--max-body-bytes" in json.loads(body)["detail"]


@pytest.mark.slow
def test_a_client_that_sends_a_body_over_the_limit_whole_and_closes_reads_the_413(server):
    # urllib sends "Connection: close": closed with the body unread, the connection was
    # reset (RST) under the client, which got a broken pipe instead of the answer.
    body = b"[" + b" " * (4 << 20) + b"]"
    for _ in range(10):
        status, _, data = request(f"{server.base}/predict", body)
        assert status == 413, data
        assert "--max-body-bytes" in json.loads(data)["detail"]


@pytest.mark.slow
def test_a_chunked_body_that_ends_past_the_limit_is_answered_at_once(server):
    # The part that passes the limit is also the last: reading on would wait for
    # the client to go away.
    data = b"[" + b"0," * (MAX_BODY // 2) + b"0]"
    head = "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head.encode() + chunked)
        status, _ = _raw_answer(sock)
    assert status.startswith(b"HTTP/1.1 413 "), status


@pytest.mark.slow
def test_a_body_over_the_limit_that_stalls_is_answered_within_seconds(server):
    head = f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {2 * MAX_BODY}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(head.encode() + b"[0, 0, 0")  # and then nothing
        began = time.monotonic()
        status, _ = _raw_answer(sock)
    assert status.startswith(b"HTTP/1.1 413 "), status
    assert time.monotonic() - began < 10


@pytest.mark.slow
def test_a_chunked_body_over_the_limit_is_413_and_not_kept(server):
    sent = 0

    def chunks():  # 32 MiB without Content-Length, made as it is sent
        nonlocal sent
        piece = b"[" + b"0," * 32767
        while sent < 32 << 20:
            sent += len(piece)
            yield piece

    conn = server.connection()
    try:
        assert _send(conn, "POST", "/predict", _body(ROW), "application/json")[0] == 200
        before = rss_kib(server.process.pid)
        conn.request("POST", "/predict", body=chunks(), encode_chunked=True)
        response = conn.getresponse()
        data = response.read()
        growth = rss_kib(server.process.pid) - before
        # The connection stays usable: the rest of the body was read and dropped.
        status, _, again = _send(conn, "POST", "/predict", _body(ROW), "application/json")
    finally:
        conn.close()
    log.info("%d MiB chunked body: 413; server RSS %+d KiB", sent >> 20, growth)
    assert response.status == 413 and "--max-body-bytes" in json.loads(data)["detail"]
    assert sent >= 32 << 20
    assert status == 200, again
    assert growth < 4 * 1024


# --------------------------------------------------------------------------- the flood


@pytest.mark.slow
def test_a_flood_of_bad_requests_is_refused_while_good_ones_are_served(
    trained_project, tmp_path, record_property
):
    served, sink = _serve(trained_project, tmp_path)
    expected = list(zip(*offline_predictions(served.project, GOOD), strict=True))
    pid = served.process.pid
    problems: list[str | None] = []
    try:
        start_kib = rss_kib(pid)
        # Warm up: every kind of request once, so that what is allocated once is counted before.
        conn = served.connection()
        for case in BAD:
            answer = _send(conn, case.method, case.path, case.body, case.content_type)
            problems.append(_refusal_problem(case, *answer))
        for row, prediction in zip(GOOD, expected, strict=True):
            status, _, data = _send(
                conn, "POST", "/predict", json.dumps(row).encode(), "application/json"
            )
            problems.append(_prediction_problem(row, prediction, status, data))
        conn.close()
        before_kib = rss_kib(pid)

        flooding = threading.Event()
        flooding.set()
        good_problems: list[str] = []
        good_count = 0
        good_latency: list[float] = []

        def good_client() -> None:
            nonlocal good_count
            conn = served.connection()
            try:
                while flooding.is_set():
                    k = good_count % len(GOOD)
                    began = time.perf_counter()
                    status, _, data = _send(
                        conn, "POST", "/predict", json.dumps(GOOD[k]).encode(), "application/json"
                    )
                    good_latency.append(time.perf_counter() - began)
                    problem = _prediction_problem(GOOD[k], expected[k], status, data)
                    if problem:
                        good_problems.append(f"{k}: {problem}")
                    good_count += 1
            finally:
                conn.close()

        def bad_client(first: int) -> list[str]:
            found = []
            conn = served.connection()
            try:
                for i in range(first, FLOOD, THREADS):
                    case = BAD[i % len(BAD)]
                    answer = _send(conn, case.method, case.path, case.body, case.content_type)
                    problem = _refusal_problem(case, *answer)
                    if problem:
                        found.append(problem)
            finally:
                conn.close()
            return found

        good_thread = threading.Thread(target=good_client)
        began = time.monotonic()
        good_thread.start()
        with ThreadPoolExecutor(THREADS) as pool:
            for found in pool.map(bad_client, range(THREADS)):
                problems.extend(found)
        flooding.clear()
        good_thread.join(timeout=60)
        seconds = time.monotonic() - began
        after_kib = rss_kib(pid)
        conn = served.connection()
        status, _, text = _send(conn, "GET", "/metrics", None, "")
        conn.close()
    finally:
        code = stop(served.process)
        sink.close()

    good_latency.sort()
    log.info(
        "flood: %d bad requests from %d connections in %.1f s (%.0f/s); %d good answered "
        "meanwhile (p50 %.1f ms, max %.1f ms); server RSS at start %d KiB, before %d KiB, "
        "after %d KiB (%+d KiB)",
        FLOOD,
        THREADS,
        seconds,
        FLOOD / seconds,
        good_count,
        1000 * good_latency[len(good_latency) // 2],
        1000 * good_latency[-1],
        start_kib,
        before_kib,
        after_kib,
        after_kib - before_kib,
    )
    record_property("rss_before_kib", before_kib)
    record_property("rss_after_kib", after_kib)
    record_property("good_during_flood", good_count)
    problems = [p for p in problems if p]
    assert not problems, f"{len(problems)} wrong answers, e.g. {problems[:5]}"
    assert not good_problems, good_problems[:5]
    assert good_count >= 20
    assert after_kib - before_kib < RSS_GROWTH_KIB

    # /metrics still answers (a field named "\udc00 key" was counted) and counted it all.
    assert status == 200
    samples = parse_metrics(text.decode("utf-8"))
    refused = sum(
        metric(samples, "mlprod_requests_total", endpoint=endpoint, status=str(code))
        for endpoint in ("/predict", "other")
        for code in (400, 404, 405, 413, 422)
    )
    assert refused == FLOOD + len(BAD)
    assert metric(samples, "mlprod_requests_total", endpoint="/predict", status="200") == (
        good_count + len(GOOD)
    )
    assert metric(samples, "mlprod_unknown_fields_total", field="_other") >= 1

    # The server stopped cleanly and said nothing about the flood.
    output = served.output.read_text()
    assert code == 0, output
    assert output.count("\n") == 2 and "Traceback" not in output, output

    # The request log holds the good rows only, as UTF-8 JSON, and skew reads it whole.
    lines = [
        json.loads(line.decode("utf-8"))
        for path in sorted(served.log_dir.glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]
    assert len(lines) == good_count + len(GOOD)
    assert {line["features"]["sex"] for line in lines} >= {"female", "male", "\ufffd"}
    _, report, _ = skew_report(served.project, served.log_dir)
    assert report["rows_current"] == len(lines)
    assert report["predictions"]["summary"] == {
        "mismatches": 0,
        "compared": len(lines),
        "score_diff_max": pytest.approx(0, abs=1e-9),
    }


# --------------------------------------------------------------------------- in process


@pytest.fixture(scope="module")
def client(trained_project, tmp_path_factory):
    """The application in process (no socket), for what a real client cannot send."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's notice about httpx
        from fastapi.testclient import TestClient

    project = tmp_path_factory.mktemp("abuse-app") / trained_project.name
    shutil.copytree(trained_project, project)
    activate_model(project)
    options = ServeOptions(log_dir=project.parent / "log", max_request_rows=MAX_ROWS)
    with TestClient(create_app(Workspace.load(project), options)) as test_client:
        yield test_client


def test_checking_stops_once_the_errors_shown_are_found(client):
    model = client.app.state.mlprod.holder.current
    checked = model.check([{}] * 50_000, single=False)  # 400,000 missing features
    assert MAX_ERRORS_SHOWN <= len(checked.errors) < MAX_ERRORS_SHOWN + len(model.features)


def test_a_field_named_with_a_lone_surrogate_leaves_metrics_answering(client):
    body = _body(ROW)[:-1] + b', "\\ud800": 1, "\\udfff\\ud800": 2}'
    assert client.post("/predict", content=body).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert 'mlprod_unknown_fields_total{field="\ufffd"} 1' in response.text
    # A 422 that names such a field shows U+FFFD in its place.
    deep = "[" * 40 + "]" * 40
    response = client.post("/predict", content=_body(ROW)[:-1] + f', "\\ud800": {deep}}}'.encode())
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "\ufffd"]


def test_a_content_length_that_is_not_ascii_digits_is_400(client):
    response = client.post(
        "/predict", content=_body(ROW), headers={"Content-Length": "\u00b2\u00b3".encode("latin-1")}
    )
    assert response.status_code == 400
    assert "Content-Length" in response.json()["detail"]


def test_openapi_describes_the_rows_of_the_model_served(client):
    document = client.get("/openapi.json").json()
    model = load_model(Workspace.load(client.app.state.mlprod.config.root).registry, None)
    row = document["components"]["schemas"]["Row"]
    assert row["required"] == [f.name for f in model.features]
    assert row["properties"]["age"]["type"] == ["number", "null"]
    assert row["properties"]["age"]["maximum"] == 1e100
    assert row["properties"]["sex"]["examples"] == ["female", "male"]
    assert "number" in row["properties"]["sex"]["type"]  # a number is taken as its text
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    batch = body["schema"]["oneOf"][1]
    assert (batch["minItems"], batch["maxItems"]) == (1, MAX_ROWS)
    answers = document["paths"]["/predict"]["post"]["responses"]
    assert set(answers) == {"200", "400", "413", "422", "500", "503"}
    single = answers["200"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert single["properties"]["class"]["enum"] == model.labels
