"""Fault injection over everything ``mlprod serve`` writes (issue 11's harness).

``serve`` writes no store rows and no registry files: it writes the request log
(and, at start, the log folder and a probe file in it). So the sweeps here make
each of those writes fail in turn (``tests/reliability/faults.py``), with ENOSPC,
EIO and EPERM, and check after each run:

* the request log writer, driven directly and through the app: every line in
  every file is a whole JSON record, the lines of an earlier run are untouched,
  every row is either in a file or counted dropped (``lines + dropped == rows``),
  and ``mlprod_request_log_lines_total`` is the number of lines written;
* the app: every prediction is answered 200 whatever the log does;
* ``mlprod serve --check``: a fault while making the log folder is exit 2, one
  ``error:`` line naming the folder, and the project exactly as it was;
* one real ``mlprod serve`` process (``subprocess_env``): the same, end to end.

The counts (points × errnos) are logged: ``pytest -o log_cli=true --log-cli-level=INFO``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import warnings
from pathlib import Path

import pytest

from mlprod_cli.core.config import load_config
from mlprod_cli.core.serve import Metrics, RequestLog, ServeOptions, create_app, request_log_files
from mlprod_cli.core.serve._options import DROP_REASONS
from mlprod_cli.core.workspace import Workspace
from tests.reliability.faults import (
    ERRNOS,
    read_points,
    run_main,
    snapshot,
    subprocess_env,
    sweep,
)
from tests.serving import (
    ROW,
    activate_model,
    free_port,
    metric,
    parse_metrics,
    request,
    start,
    stop,
    wait_for,
)

log = logging.getLogger("mlprod.tests.serve_faults")

EARLIER = b'{"ts": "2026-01-02T09:00:00.000Z", "request_id": "earlier"}\n'
DAY = "requests-2026-01-02.jsonl"


def _entry(n: int, day: str = "2026-01-02", rid: str = "rid"):
    rows = [{"age": i, "note": "x" * 40} for i in range(n)]
    return (f"{day}T10:00:00.000Z", rid, "v0002", rows, ["nevus"] * n, [{"nevus": 1.0}] * n)


def _whole_lines(folder: Path) -> list[dict]:
    """Every line of the log under ``folder``, parsed; a partial or broken line fails."""
    out = []
    for path in request_log_files(folder):
        data = path.read_bytes()
        assert not data or data.endswith(b"\n"), (
            f"{path.name} ends in a partial line: {data[-60:]!r}"
        )
        for number, line in enumerate(data.splitlines(), 1):
            try:
                out.append(json.loads(line))
            except ValueError:
                pytest.fail(f"{path.name}:{number} is not a whole record: {line[:80]!r}")
    return out


def _dropped(metrics: Metrics) -> float:
    return sum(
        metrics.value("mlprod_request_log_dropped_total", reason=reason) for reason in DROP_REASONS
    )


def _tally(trials) -> tuple[int, dict[int, int]]:
    per_errno: dict[int, int] = {}
    for trial in trials:
        per_errno[trial.err] = per_errno.get(trial.err, 0) + 1
    return sum(per_errno.values()), per_errno


# --------------------------------------------------------------------------- the writer


def _log_workload(root: Path) -> Metrics:
    """Two days, a file that fills up (parts), a reopen (SIGHUP), a close."""
    metrics = Metrics()
    writer = RequestLog(root / "requests", metrics=metrics, max_bytes=1200, check_seconds=0)
    for i in range(6):
        writer.submit(*_entry(3, rid=f"a{i}"))
    writer.reopen()
    for i in range(3):
        writer.submit(*_entry(2, rid=f"b{i}"))
    writer.submit(*_entry(2, day="2026-01-03", rid="c"))
    writer.close()
    return metrics


ROWS = 6 * 3 + 3 * 2 + 2


def _log_root(tmp_path: Path, counter: list[int]) -> Path:
    counter[0] += 1
    root = tmp_path / f"t{counter[0]}"
    (root / "requests").mkdir(parents=True)
    (root / "requests" / DAY).write_bytes(EARLIER)  # a restart appends to it
    return root


def _check_log(root: Path, metrics: Metrics, *, completed: bool) -> None:
    folder = root / "requests"
    assert (folder / DAY).read_bytes().startswith(EARLIER), "the earlier run's line changed"
    lines = [line for line in _whole_lines(folder) if line["request_id"] != "earlier"]
    assert len(lines) + _dropped(metrics) == ROWS
    assert metrics.value("mlprod_request_log_lines_total") == len(lines)
    if completed:
        assert len(lines) == ROWS


@pytest.mark.parametrize("every_write", [False, True], ids=["first-writes", "every-write"])
def test_the_log_writer_under_a_fault_at_each_write(tmp_path, every_write):
    # faults.py counts the first os.write of each file; wrapping os.write counts each one.
    counter = [0]
    wrap = ("os.write",) if every_write else ()
    trials = list(sweep(lambda: _log_root(tmp_path, counter), _log_workload, wrap=wrap, limit=200))
    for trial in trials:
        _check_log(trial.root, trial.result, completed=trial.point is None)
    total, per_errno = _tally(trials)
    points = len(trials[-1].points)
    assert points >= 8 and all(n == points + 1 for n in per_errno.values())
    log.info("request log writer (%s): %d points x %d errnos = %d trials, all whole", "every os.write" if every_write else "first writes", points, len(ERRNOS), total)  # fmt: skip


# --------------------------------------------------------------------------- the app


@pytest.fixture(scope="module")
def app_project(trained_project, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("serve-faults") / trained_project.name
    shutil.copytree(trained_project, dest)
    return activate_model(dest)


@pytest.mark.slow
def test_the_app_answers_every_prediction_under_a_fault_at_each_log_write(app_project, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's notice about httpx
        from fastapi.testclient import TestClient

    workspace = Workspace(load_config(app_project))
    counter = [0]
    requests = 12

    def prepare() -> Path:
        counter[0] += 1
        root = tmp_path / f"t{counter[0]}"
        root.mkdir()
        return root

    def run(root: Path):
        app = create_app(workspace, ServeOptions(log_dir=root / "requests", log_max_bytes=2000))
        with TestClient(app) as client:
            statuses = [
                client.post("/predict", json=[ROW, dict(ROW, age=i)]).status_code
                for i in range(requests)
            ]
            metrics_text = client.get("/metrics").text
        return statuses, app.state.mlprod.metrics, metrics_text

    trials = list(sweep(prepare, run, wrap=("os.write",), limit=100))
    for trial in trials:
        statuses, metrics, text = trial.result
        assert statuses == [200] * requests, trial.point
        lines = _whole_lines(trial.root / "requests")
        assert len(lines) + _dropped(metrics) == 2 * requests, trial.point
        assert metrics.value("mlprod_request_log_lines_total") == len(lines)
        assert "mlprod_request_log_dropped_total{" in text
    total, _ = _tally(trials)
    log.info("app: %d log write points x %d errnos = %d trials, every request 200", len(trials[-1].points), len(ERRNOS), total)  # fmt: skip


# --------------------------------------------------------------------------- serve --check


@pytest.mark.slow
def test_serve_check_under_a_fault_at_each_write_is_exit_2_and_changes_nothing(
    app_project, tmp_path
):
    counter = [0]

    def prepare() -> Path:
        counter[0] += 1
        root = tmp_path / f"t{counter[0]}" / app_project.name
        shutil.copytree(app_project, root, ignore=shutil.ignore_patterns("logs"))
        return root

    def run(root: Path):
        before = snapshot(root)
        return before, run_main(["serve", "--check", "--port", "0"], root)

    trials = list(sweep(prepare, run))
    for trial in trials:
        before, outcome = trial.result
        if trial.point is None:
            assert outcome.code == 0, outcome.err
            assert (trial.root / "logs" / "requests").is_dir()
            continue
        assert outcome.code == 2, (trial.point, outcome)
        assert outcome.out == ""
        assert outcome.err.startswith("error: skew.serving_log of mlprod.yaml: ")
        assert outcome.err.count("\n") == 1 and "cannot write the request log there" in outcome.err
        assert snapshot(trial.root) == before, f"{trial.point}: the project changed"
    total, _ = _tally(trials)
    assert len(trials[-1].points) >= 4  # two folders, the probe's open, write and close
    log.info("serve --check: %d points x %d errnos = %d trials, all exit 2 and unchanged", len(trials[-1].points), len(ERRNOS), total)  # fmt: skip


# --------------------------------------------------------------------------- a real server


@pytest.mark.slow
def test_a_real_server_under_a_fault_at_each_log_write(app_project, tmp_path):
    trials = points_seen = 0
    for err in ERRNOS:
        for n in range(1, 40):
            root = tmp_path / f"{errno.errorcode[err]}-{n}" / app_project.name
            shutil.copytree(app_project, root, ignore=shutil.ignore_patterns("logs"))
            points, fired = _server_trial(root, n, err)
            trials += 1
            if fired is None:
                points_seen = max(points_seen, len(points))
                break
        else:
            pytest.fail(f"{os.strerror(err)}: the server never completed a run")
    assert points_seen >= 6
    log.info("a real mlprod serve: %d write points x %d errnos = %d server runs, all whole", points_seen, len(ERRNOS), trials)  # fmt: skip


REQUESTS = 8
BODY = json.dumps([ROW, dict(ROW, age=60)]).encode()


def _server_trial(root: Path, n: int, err: int) -> tuple[list[str], str | None]:
    """``mlprod serve`` in ``root`` with its ``n``-th write under the log folder failing."""
    log_dir = root / "logs" / "requests"
    points_file = root.parent / "points.txt"
    env = subprocess_env(n, err, under=log_dir, points_file=points_file)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (root.parent / "serve.txt").open("w") as output:
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            process = start(root, "--port", str(port), output=output)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key)
                else:
                    os.environ[key] = value
        try:
            assert wait_for(lambda: process.poll() is not None or _answers(base), timeout=60)
            if process.poll() is not None:  # a fault while making the log folder
                text = (root.parent / "serve.txt").read_text()
                assert process.wait() == 2 and text.count("\n") == 1, text
                assert text.startswith("error: skew.serving_log of mlprod.yaml: "), text
                assert not (root / "logs").exists(), "a half-made log folder was left"
                return read_points(points_file)
            for _ in range(REQUESTS):
                assert request(f"{base}/predict", BODY)[0] == 200
            assert wait_for(lambda: _settled(base) == 2 * REQUESTS, timeout=10), _settled(base)
            samples = parse_metrics(request(f"{base}/metrics")[2].decode())
            assert stop(process) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = (root.parent / "serve.txt").read_text()
    assert "Traceback" not in text, text
    assert len(_whole_lines(log_dir)) == metric(samples, "mlprod_request_log_lines_total")
    return read_points(points_file)


def _settled(base: str) -> float:
    """Rows written plus rows dropped, as the server's /metrics says."""
    samples = parse_metrics(request(f"{base}/metrics")[2].decode())
    lost = sum(metric(samples, "mlprod_request_log_dropped_total", reason=r) for r in DROP_REASONS)  # fmt: skip
    return metric(samples, "mlprod_request_log_lines_total") + lost


def _answers(base: str) -> bool:
    try:
        return request(f"{base}/ready")[0] == 200
    except OSError:
        return False
