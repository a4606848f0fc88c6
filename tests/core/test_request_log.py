"""``core/request_log.py``: the request log's file names, their order and the shape of a line."""

from __future__ import annotations

import random

from mlprod_cli.core.request_log import FIELDS, file_name, log_files, record, write_order


def test_file_names():
    assert file_name("2026-12-02") == "requests-2026-12-02.jsonl"
    assert file_name("2026-12-02", part=3) == "requests-2026-12-02.3.jsonl"
    assert file_name("2026-12-02", worker=".pid42") == "requests-2026-12-02.pid42.jsonl"
    assert file_name("2026-12-02", worker=".pid42", part=1) == "requests-2026-12-02.pid42.1.jsonl"


def test_write_order_is_day_worker_then_part_as_a_number(tmp_path):
    written = [
        file_name("2026-12-01"),
        file_name("2026-12-01", part=2),
        file_name("2026-12-02"),
        *(file_name("2026-12-02", part=n) for n in (1, 2, 10, 11)),
        file_name("2026-12-02", worker=".pid7"),
        file_name("2026-12-02", worker=".pid7", part=1),
        file_name("2026-12-03"),
    ]
    shuffled = written[:]
    random.Random(1).shuffle(shuffled)
    assert sorted(shuffled, key=lambda name: write_order(tmp_path / name)) == written


def test_other_names_come_after_in_name_order(tmp_path):
    names = ["zeta.jsonl", "requests-2026-12-02.jsonl", "alpha.jsonl", "requests-bad.jsonl"]
    ordered = sorted(names, key=lambda name: write_order(tmp_path / name))
    assert ordered == [
        "requests-2026-12-02.jsonl",
        "alpha.jsonl",
        "requests-bad.jsonl",
        "zeta.jsonl",
    ]


def test_log_files_serve_writes_or_any_json_lines(tmp_path):
    assert log_files(tmp_path / "missing") == []
    for name in (
        "requests-2026-12-02.1.jsonl",
        "requests-2026-12-02.jsonl",
        "export.jsonl",
        "notes.txt",
    ):
        (tmp_path / name).write_text("{}\n")
    (tmp_path / "requests-2026-12-03.jsonl").mkdir()  # a folder is not a log file
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "requests-2026-12-01.jsonl").write_text("{}\n")  # not searched below
    assert [p.name for p in log_files(tmp_path)] == [
        "requests-2026-12-02.jsonl",
        "requests-2026-12-02.1.jsonl",
    ]
    assert [p.name for p in log_files(tmp_path, any_name=True)] == [
        "requests-2026-12-02.jsonl",
        "requests-2026-12-02.1.jsonl",
        "export.jsonl",
    ]
    assert log_files(tmp_path / "notes.txt") == []  # a file, not a folder


def test_a_record_has_the_fields_and_the_features():
    line = record("2026-12-02T10:00:00Z", "r1", "v0002", {"age": 52}, "nevus", [0.1, 0.9])
    assert list(line) == ["ts", "request_id", "model_version", "features", "prediction", "scores"]
    assert set(line) == {*FIELDS, "features"}
    assert line["features"] == {"age": 52} and line["scores"] == [0.1, 0.9]
