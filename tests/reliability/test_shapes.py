"""The structure fuzzer's shapes: distinct, named, and each one really changes the file."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from tests.reliability.shapes import json_shapes, jsonl_shapes, paths, yaml_shapes


def test_paths_walk_every_key_parents_first():
    doc = {"a": {"b": 1, "c": [1, {"d": 2}]}, "e": None}
    assert list(paths(doc)) == [
        ("a",),
        ("a", "b"),
        ("a", "c"),
        ("a", "c", 0),
        ("a", "c", 1),
        ("a", "c", 1, "d"),
        ("e",),
    ]


def test_yaml_shapes_are_distinct_and_change_the_file(rendered_project):
    text = (rendered_project / "mlprod.yaml").read_text()
    shapes = yaml_shapes(text)
    ids = [s.id for s in shapes]
    assert len(ids) == len(set(ids)) and len(shapes) > 500
    assert all(s.data != text.encode() for s in shapes)
    by_id = {s.id: s.data for s in shapes}
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(by_id["doc/tag-python-object"])
    assert yaml.safe_load(by_id["doc/two-documents"].split(b"\n---\n")[0]) == yaml.safe_load(text)
    assert by_id["doc/deep-flow-list"].count(b"[") > sys.getrecursionlimit()
    # a value shape replaces exactly the value named
    key = next(iter(yaml.safe_load(text)))
    assert yaml.safe_load(by_id[f"{key}=null"])[key] is None


def test_json_shapes_cover_tokens_json_cannot_write(trained_project):
    metadata = json.loads((trained_project / "models" / "v0002" / "metadata.json").read_text())
    shapes = json_shapes(metadata)
    ids = [s.id for s in shapes]
    assert len(ids) == len(set(ids))
    key = next(iter(metadata))
    by_id = {s.id: s.data for s in shapes}
    assert json.loads(by_id[f"{key}=nan"])[key] != json.loads(by_id[f"{key}=nan"])[key]  # NaN
    assert json.loads(by_id[f"{key}=int-huge"])[key] == 10**400
    assert by_id["doc/deep-map"].count(b"{") > sys.getrecursionlimit()


def test_jsonl_shapes_keep_the_good_lines_around_the_bad_one():
    records = [{"features": {"x": i}, "prediction": "a"} for i in range(4)]
    shapes = {s.id: s.data for s in jsonl_shapes(records)}
    lines = shapes["line/not-json"].splitlines()
    assert len(lines) == 5 and lines[2] == b"this is not json"
    assert [json.loads(line) for line in lines[:2] + lines[3:]] == records
    assert len(shapes["line/50mb"]) > 50 * 1024 * 1024
    assert b"\n" not in shapes["file/cr-only"]
