"""The request log: every served row, files by day and size, a full queue, workers."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import time
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
from mlprod_cli.core.serve._options import DROP_REASONS
from mlprod_cli.core.workspace import Workspace
from tests.serving import ROW, wait_for


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
    assert metrics.value("mlprod_request_log_dropped_total", reason="queue_full") == 4
    assert log.submit(*_entry(2))
    log.close()
    assert metrics.value("mlprod_request_log_lines_total") == 2


WRITER = """
import sys
from pathlib import Path
from mlprod_cli.core.serve import Metrics
from mlprod_cli.core.serve._log import RequestLog
folder, name = Path(sys.argv[1]), sys.argv[2]
log = RequestLog(folder, metrics=Metrics(), max_bytes=20_000)
sys.stdin.readline()  # all start together
for i in range(300):
    n = 1 + i % 5
    rows = [{"age": j, "note": name * (10 + 7 * j)} for j in range(n)]
    log.submit("2026-01-02T10:00:00.000Z", f"{name}-{i}", "v0002", rows, ["nevus"] * n, [{"nevus": 1.0}] * n)
log.close()
"""


def test_workers_share_one_log_without_interleaving_a_line(tmp_path):
    """Four processes (the workers of --workers 4) append to one folder at once:
    every line is whole, none lost, each writer's in its order, every file within
    its size (the parts rolled by whichever process found a file full)."""
    import subprocess
    import sys

    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), name], stdin=subprocess.PIPE, text=True
        )
        for name in "abcd"
    ]
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    assert [writer.wait(timeout=120) for writer in writers] == [0] * 4
    files = request_log_files(tmp_path)
    assert len(files) > 10  # 4 x 900 rows of 90 to 400 bytes, 20,000 bytes a file
    assert all(".pid" not in f.name for f in files)
    assert all(f.stat().st_size <= 20_000 for f in files)
    seen: dict[str, list[int]] = {name: [] for name in "abcd"}
    for f in files:
        for line in f.read_text().splitlines():
            record = json.loads(line)
            name, i = record["request_id"].split("-")
            assert record["features"]["note"] == name * len(record["features"]["note"])
            seen[name].append(int(i))
    for name, order in seen.items():
        assert len(order) == sum(1 + i % 5 for i in range(300)), name
        assert order == sorted(order), name  # whole requests, in the order written


def test_non_finite_values_in_unknown_fields_do_not_break_the_log(tmp_path):
    log = RequestLog(tmp_path, metrics=Metrics())
    entry = list(_entry(1))
    entry[3] = [{"age": 3, "extra": float("nan")}]
    log.submit(*entry)
    log.close()
    (path,) = request_log_files(tmp_path)
    assert json.loads(path.read_text())["features"] == {"age": 3, "extra": None}


# --------------------------------------------------------------------------- faults (issue 11)


def _lines(folder):
    """Every line of every log file under ``folder``, each parsed (a partial one fails)."""
    out = []
    for path in request_log_files(folder):
        data = path.read_bytes()
        assert not data or data.endswith(b"\n"), f"{path.name} ends in a partial line"
        for number, line in enumerate(data.splitlines(), 1):
            try:
                out.append(json.loads(line))
            except ValueError:
                pytest.fail(f"{path.name}:{number} is not a whole JSON record: {line[:80]!r}")
    return out


def _idle(log) -> bool:
    return wait_for(lambda: log._pending == 0 and log._queue.empty(), timeout=10)


def _dropped(metrics, reason: str) -> float:
    return metrics.value("mlprod_request_log_dropped_total", reason=reason)


_FSIZE_CHILD = """
import json, resource, sys, time
from pathlib import Path
from mlprod_cli.core.serve import Metrics, RequestLog, request_log_files
from tests.core.serve.test_log import _entry

folder = Path(sys.argv[1])
metrics = Metrics()
log = RequestLog(folder, metrics=metrics)

def idle():
    while log._pending or not log._queue.empty():
        time.sleep(0.01)
    time.sleep(0.05)

log.submit(*_entry(1))
idle()
(path,) = request_log_files(folder)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 500, hard))
for _ in range(5):
    log.submit(*_entry(4))
idle()
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
for _ in range(3):  # space is back
    log.submit(*_entry(2))
log.close()
print(json.dumps({
    "lines": metrics.value("mlprod_request_log_lines_total"),
    "disk_full": metrics.value("mlprod_request_log_dropped_total", reason="disk_full"),
}))
"""


def test_a_file_size_limit_mid_record_leaves_only_whole_lines_after_space_returns(tmp_path):
    # RLIMIT_FSIZE makes the kernel do what a full disk does: a short write of the
    # bytes that fit, then EFBIG (Python ignores SIGXFSZ). The old writer left the
    # first half of a record in the file and glued the next one to it. In a child
    # process: the limit holds for every file the process writes (pytest's own too).
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    child = subprocess.run(
        [sys.executable, "-c", _FSIZE_CHILD, str(tmp_path)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    counts = json.loads(child.stdout)
    lines = _lines(tmp_path)
    assert 0 < counts["disk_full"] < 20  # the rows that fitted were kept
    assert len(lines) + counts["disk_full"] == 1 + 20 + 6
    assert counts["lines"] == len(lines)
    assert [line["features"]["age"] for line in lines[-6:]] == [0, 1] * 3


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO, errno.EPERM])
def test_a_write_that_fails_after_part_of_a_record_is_cut_back_to_whole_lines(
    tmp_path, monkeypatch, err
):
    # A short write, then an error: what a disk that fills up mid-write does.
    metrics = Metrics()
    log = RequestLog(tmp_path, metrics=metrics)
    log.submit(*_entry(1))
    assert _idle(log)
    real = os.write
    state = {"budget": 300}

    def failing_write(fd, data):
        if fd != log._fd or state["budget"] is None:
            return real(fd, data)
        if state["budget"] <= 0:
            raise OSError(err, os.strerror(err))
        n = real(fd, bytes(data)[: state["budget"]])
        state["budget"] -= n
        return n

    monkeypatch.setattr(os, "write", failing_write)
    for _ in range(3):
        log.submit(*_entry(4))
    assert _idle(log)
    state["budget"] = None
    log.submit(*_entry(2))
    log.close()
    lines = _lines(tmp_path)
    reason = {errno.ENOSPC: "disk_full", errno.EIO: "io_error", errno.EPERM: "not_permitted"}[err]
    assert len(lines) + _dropped(metrics, reason) == 1 + 12 + 2
    assert metrics.value("mlprod_request_log_lines_total") == len(lines)
    assert metrics.value("mlprod_request_log_errors_total") >= 1


def test_a_log_that_cannot_be_written_is_logged_once_per_episode(tmp_path, monkeypatch, caplog):
    metrics = Metrics()
    log = RequestLog(tmp_path, metrics=metrics)
    real = os.write
    broken = {"on": True}

    def failing_write(fd, data):
        if fd == log._fd and broken["on"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", failing_write)
    with caplog.at_level(logging.INFO, logger="mlprod.serve"):
        for _ in range(50):
            log.submit(*_entry(2))
        assert _idle(log)
        broken["on"] = False
        log.submit(*_entry(1))
        log.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "mlprod.serve"]
    assert len(messages) == 2, messages
    assert "cannot write the request log" in messages[0] and "No space left" in messages[0]
    assert "100 rows" in messages[1]
    assert _dropped(metrics, "disk_full") == 100
    assert len(_lines(tmp_path)) == metrics.value("mlprod_request_log_lines_total") == 1


def _submit_until(log, condition, timeout: float = 10.0) -> int:
    """Submit a row every 50 ms until ``condition()`` holds; the rows submitted."""
    deadline = time.monotonic() + timeout
    n = 0
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the log file was not opened again")
        log.submit(*_entry(1))
        n += 1
        assert _idle(log)
        time.sleep(0.05)
    return n


def test_a_deleted_log_folder_is_made_again_and_the_rows_lost_are_counted(tmp_path):
    folder = tmp_path / "requests"
    metrics = Metrics()
    log = RequestLog(folder, metrics=metrics)
    log.submit(*_entry(2))
    assert _idle(log)
    shutil.rmtree(folder)
    # To the deleted file until the writer's check (once a second), then to a new one.
    sent = _submit_until(log, lambda: request_log_files(folder))
    log.submit(*_entry(4))
    log.close()
    lines = _lines(folder)
    lost = _dropped(metrics, "file_deleted")
    assert lost >= 1 and len(lines) >= 4
    # The first two rows are lost too unless a check saw them before the folder went.
    assert len(lines) + lost in (2 + sent + 4, sent + 4)
    assert metrics.value("mlprod_request_log_lines_total") + lost == 2 + sent + 4


def test_a_rotated_log_file_is_reopened_and_nothing_is_lost(tmp_path):
    metrics = Metrics()
    log = RequestLog(tmp_path, metrics=metrics)
    log.submit(*_entry(2))
    assert _idle(log)
    (path,) = request_log_files(tmp_path)
    rotated = path.with_name(path.name + ".1")  # logrotate's name
    path.rename(rotated)
    sent = _submit_until(log, path.exists)  # to the rotated file until the check
    log.submit(*_entry(1))
    log.close()
    old = [json.loads(line) for line in rotated.read_text().splitlines()]
    assert len(old) >= 3
    assert len(old) + len(_lines(tmp_path)) == 2 + sent + 1
    assert metrics.value("mlprod_request_log_lines_total") == 2 + sent + 1
    assert sum(_dropped(metrics, reason) for reason in DROP_REASONS) == 0


def test_reopen_takes_a_rotated_file_at_once(tmp_path):
    # What SIGHUP does (logrotate's postrotate convention), without waiting for a check.
    metrics = Metrics()
    log = RequestLog(tmp_path, metrics=metrics, check_seconds=3600)
    log.submit(*_entry(1))
    assert _idle(log)
    (path,) = request_log_files(tmp_path)
    path.rename(tmp_path / "rotated.jsonl")
    log.reopen()
    log.submit(*_entry(1))
    assert wait_for(path.exists, timeout=10)
    log.close()
    assert len(path.read_text().splitlines()) == 1
    assert metrics.value("mlprod_request_log_lines_total") == 2


def test_a_partial_line_left_by_an_earlier_run_is_not_appended_to(tmp_path):
    # A killed run (or an old one) can leave a partial last line: a restart starts
    # the next part instead of gluing its first record to it, and changes no byte.
    name = "requests-2026-01-02.jsonl"
    (tmp_path / name).write_bytes(b'{"ts": "2026-01-02T09:00:00.000Z"}\n{"ts": "2026-01')
    before = (tmp_path / name).read_bytes()
    log = RequestLog(tmp_path, metrics=Metrics())
    log.submit(*_entry(1))
    log.close()
    assert (tmp_path / name).read_bytes() == before
    assert json.loads((tmp_path / "requests-2026-01-02.1.jsonl").read_text())["request_id"] == "rid"


def test_predictions_are_answered_while_the_log_cannot_be_written(
    served_project, tmp_path, monkeypatch
):
    config = load_config(served_project)
    log_dir = tmp_path / "requests"
    app = create_app(Workspace(config), ServeOptions(log_dir=log_dir))
    log = app.state.mlprod.log
    real = os.write
    broken = {"on": False}

    def failing_write(fd, data):
        if fd == log._fd and broken["on"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", failing_write)
    with TestClient(app) as client:
        assert client.post("/predict", json=ROW).status_code == 200
        assert _idle(log)
        broken["on"] = True
        for _ in range(20):
            assert client.post("/predict", json=[ROW, ROW]).status_code == 200
        assert _idle(log)
        broken["on"] = False
        assert client.post("/predict", json=ROW).status_code == 200
        assert _idle(log)
        app.state.mlprod.hangup()  # SIGHUP: the log checked and counted at once
        assert wait_for(lambda: log._fd is None)
        text = client.get("/metrics").text
    assert 'mlprod_request_log_dropped_total{reason="disk_full"} 40.0' in text
    assert 'mlprod_request_log_dropped_total{reason="file_deleted"} 0.0' in text
    assert "mlprod_request_log_lines_total 2.0" in text
    assert len(_lines(log_dir)) == 2


def test_a_failed_write_never_cuts_what_another_process_appended_since(tmp_path, monkeypatch):
    # Two servers given one log folder append to one file. Cutting our half record
    # off would cut the other's line after it too: the file is left as it is (the
    # other's bytes kept), and this writer goes on in the next part.
    metrics = Metrics()
    log = RequestLog(tmp_path, metrics=metrics)
    log.submit(*_entry(1))
    assert _idle(log)
    (path,) = request_log_files(tmp_path)
    other = b'{"request_id": "other process"}\n'
    real = os.write
    state = {"calls": 0}

    def write(fd, data):
        if fd != log._fd or state["calls"] >= 2:
            return real(fd, data)
        state["calls"] += 1
        if state["calls"] == 1:
            return real(fd, bytes(data)[:40])  # a short write: part of our record
        with path.open("ab") as handle:  # the other server's line, after it
            handle.write(other)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", write)
    log.submit(*_entry(2))
    assert _idle(log)
    log.submit(*_entry(1))
    log.close()
    assert path.read_bytes().endswith(other)
    following = path.with_name("requests-2026-01-02.1.jsonl")
    assert [json.loads(line)["request_id"] for line in following.read_text().splitlines()] == [
        "rid"
    ]
    assert _dropped(metrics, "disk_full") == 2
