"""What is on disk in the registry, read without trusting it (issue 11, item 12)."""

from __future__ import annotations

import json
import os
import re
import socket
import threading

import pytest
from sklearn.dummy import DummyClassifier

from mlprod_cli.core.registry import (
    ARTIFACT,
    METADATA,
    Registry,
    RegistryError,
    check_version_id,
)
from mlprod_cli.errors import UsageError


def _registry(tmp_path) -> Registry:
    registry = Registry(tmp_path / "models")
    fitted = DummyClassifier().fit([[0], [1]], ["a", "b"])
    for kind in ("baseline", "model"):
        registry.add(fitted, {"kind": kind, "classes": ["a", "b"], "schema": {"features": []}})
    return registry


def _within(seconds: float, call):
    """``call()``'s result or exception, failing the test if it has not returned in time (a hang)."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.parametrize("text", ["v0001\n", "v٠٠٠١", "v０００１", "v001", " v0001", "v0001 "])
def test_a_version_id_is_v_and_four_ascii_digits_and_nothing_else(text):
    with pytest.raises(UsageError, match="expected a version id like v0003"):
        check_version_id(text)
    assert check_version_id("v0001") == "v0001" and check_version_id("v12345") == "v12345"


def test_a_version_folder_with_a_non_ascii_digit_name_is_not_a_version(tmp_path):
    registry = _registry(tmp_path)
    os.rename(registry.root / "v0002", registry.root / "v٠٠٠٢")
    assert [v.id for v in registry.versions()] == ["v0001"]
    assert registry.add(DummyClassifier().fit([[0]], ["a"]), {"kind": "model"}).id == "v0002"


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_active_json_is_an_error_naming_it(tmp_path, depth):
    registry = _registry(tmp_path)
    (registry.root / "active.json").write_text("[" * depth + "]" * depth)
    with pytest.raises(RegistryError, match=r"models/active.json is unreadable: nested more than"):
        registry.active_id("model")


@pytest.mark.parametrize("depth", [100, 100_000])
def test_a_deeply_nested_metadata_is_skipped_by_the_listing_and_named_by_get(tmp_path, depth):
    registry = _registry(tmp_path)
    (registry.root / "v0002" / METADATA).write_text(
        '{"kind": "model", "x": ' + "[" * depth + "]" * depth + "}"
    )
    assert [v.id for v in registry.versions()] == ["v0001"]
    assert registry.broken() == {
        "v0002": "v0002/metadata.json is unreadable: nested more than 64 levels deep"
    }
    with pytest.raises(
        RegistryError, match=r"v0002/metadata\.json is unreadable: nested more than"
    ):
        registry.get("v0002")


def test_a_lone_surrogate_in_metadata_is_refused(tmp_path):
    registry = _registry(tmp_path)
    path = registry.root / "v0002" / METADATA
    metadata = json.loads(path.read_text())
    path.write_text(json.dumps(dict(metadata, description="\ud800")))
    with pytest.raises(RegistryError, match="holds text that is not valid Unicode"):
        registry.get("v0002")


def test_active_json_as_a_fifo_is_refused_without_blocking(tmp_path):
    registry = _registry(tmp_path)
    os.mkfifo(registry.root / "active.json")
    with pytest.raises(
        RegistryError, match=r"models/active.json is a named pipe \(FIFO\), not a file"
    ):
        _within(10, lambda: registry.active_id("model"))


def test_metadata_json_as_a_fifo_is_refused_without_blocking(tmp_path):
    registry = _registry(tmp_path)
    (registry.root / "v0002" / METADATA).unlink()
    os.mkfifo(registry.root / "v0002" / METADATA)
    assert _within(10, registry.versions) != []
    with pytest.raises(RegistryError, match=r"v0002/metadata.json is a named pipe"):
        _within(10, lambda: registry.get("v0002"))


def _socket(path):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return sock


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.mkdir(), "models/active.json is a folder, not a file"),
        (
            lambda p: p.symlink_to("nowhere.json"),
            "models/active.json is a symbolic link, not a file",
        ),
        (lambda p: p.symlink_to(p.name), "models/active.json is a symbolic link, not a file"),
        (lambda p: p.symlink_to("v0001/metadata.json"), "models/active.json is a symbolic link"),
        (_socket, "models/active.json is a socket, not a file"),
    ],
    ids=["folder", "dangling-link", "looping-link", "link-to-a-file", "socket"],
)
def test_active_json_that_is_not_a_file_is_refused(tmp_path, make, expected):
    registry = _registry(tmp_path)
    make(registry.root / "active.json")
    with pytest.raises(RegistryError, match=expected):
        _within(10, lambda: registry.active_id("model"))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p, other: p.write_text("{}"), "v0003 is a file, not a version folder"),
        (lambda p, other: os.mkfifo(p), "v0003 is a named pipe (FIFO), not a version folder"),
        (lambda p, other: p.symlink_to(other), "v0003 is a symbolic link, not a version folder"),
        (lambda p, other: p.symlink_to("v0003"), "v0003 is a symbolic link, not a version folder"),
    ],
    ids=["file", "fifo", "link-to-a-version", "looping-link"],
)
def test_a_version_entry_that_is_not_a_folder_is_skipped_and_named(tmp_path, make, expected):
    registry = _registry(tmp_path)
    make(registry.root / "v0003", registry.root / "v0002")
    assert [v.id for v in _within(10, registry.versions)] == ["v0001", "v0002"]
    assert registry.broken() == {"v0003": expected + "; the registry holds no others"}
    with pytest.raises(RegistryError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        registry.get("v0003")


def test_an_artifact_that_is_a_link_or_a_fifo_is_refused(tmp_path):
    registry = _registry(tmp_path)
    artifact = registry.root / "v0002" / ARTIFACT
    artifact.rename(tmp_path / "elsewhere.skops")
    artifact.symlink_to(tmp_path / "elsewhere.skops")
    with pytest.raises(RegistryError, match=r"v0002/model\.skops is a symbolic link, not a file"):
        registry.get("v0002")
    artifact.unlink()
    os.mkfifo(artifact)
    with pytest.raises(RegistryError, match=r"v0002/model.skops is a named pipe"):
        _within(10, lambda: registry.get("v0002"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"schema": None}, "'schema' must be a mapping, got null"),
        ({"classes": []}, "'classes' must be a list of class names"),
        ({"classes": ["a", "a"]}, "'classes' names a class twice"),
        ({"target": 5}, "'target' must be text, got a number"),
        (
            {"schema": {"features": [{"name": "x", "kind": "numeric", "min": "low"}]}},
            "'schema.features[0]' 'min' must be a number, got text",
        ),
        (
            {"schema": {"features": [{"name": "x", "kind": "categorical", "categories": [{}]}]}},
            "'schema.features[0]' 'categories' must be a list of values",
        ),
        (
            {"schema": {"features": [{"name": "x", "kind": "numeric"}] * 2}},
            "'schema.features[1]' names the feature 'x' twice",
        ),
        (
            {"schema": {"features": [{"name": "", "kind": "numeric"}]}},
            "'schema.features[0]' must have a 'name'",
        ),
    ],
)
def test_metadata_that_predict_or_serve_would_crash_on_is_malformed(tmp_path, change, expected):
    registry = _registry(tmp_path)
    path = registry.root / "v0002" / METADATA
    path.write_text(json.dumps(dict(json.loads(path.read_text()), **change)))
    with pytest.raises(
        RegistryError,
        match=f"v0002/metadata.json is malformed: {re.escape(expected)}",
    ):
        registry.get("v0002")


def test_metadata_without_a_schema_is_malformed(tmp_path):
    registry = _registry(tmp_path)
    path = registry.root / "v0002" / METADATA
    metadata = json.loads(path.read_text())
    del metadata["schema"]
    path.write_text(json.dumps(metadata))
    with pytest.raises(RegistryError, match="'schema' is missing"):
        registry.get("v0002")


def test_a_deleted_versions_number_is_never_reused(tmp_path):
    import shutil

    registry = _registry(tmp_path)
    registry.activate(registry.get("v0001"))
    registry.activate(registry.get("v0002"))
    shutil.rmtree(registry.root / "v0002")  # the active model, deleted by hand
    again = registry.add(DummyClassifier().fit([[0]], ["a"]), {"kind": "model", "schema": {}})
    assert again.id == "v0003"  # v0002 is still named by active.json


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_numbers_json_cannot_write_back_are_read_as_undefined(tmp_path, token):
    registry = _registry(tmp_path)
    path = registry.root / "v0002" / METADATA
    text = json.dumps(dict(json.loads(path.read_text()), note=0.5, fit_seconds=0.5))
    path.write_text(text.replace('"note": 0.5', f'"note": {token}'))
    assert registry.get("v0002").metadata["note"] is None  # undefined, as mlprod writes it
    path.write_text(text.replace('"fit_seconds": 0.5', f'"fit_seconds": {token}'))
    with pytest.raises(RegistryError, match="'fit_seconds' must be a number, got null"):
        registry.get("v0002")


@pytest.mark.parametrize("where", ["min", "max", "categories"])
def test_an_integer_past_64_bits_in_the_schema_is_refused(tmp_path, where):
    """numpy and pandas crash on it (OverflowError) when predict checks rows against it."""
    registry = _registry(tmp_path)
    path = registry.root / "v0002" / METADATA
    feature = {"name": "x", "kind": "categorical" if where == "categories" else "numeric"}
    feature[where] = ["MARK"] if where == "categories" else "MARK"
    text = json.dumps(dict(json.loads(path.read_text()), schema={"features": [feature]}))
    path.write_text(text.replace('"MARK"', "1" + "0" * 400))
    with pytest.raises(RegistryError, match="holds an integer too large for 64 bits"):
        registry.get("v0002")


def test_a_datetime_features_bounds_are_iso_dates_and_a_numbers_are_numbers():
    from mlprod_cli.core.registry._ondisk import _feature_problem

    when = {
        "name": "visit_date",
        "kind": "datetime",
        "min": "2024-01-01T00:00:00+00:00",
        "max": "2024-08-01",
    }
    assert _feature_problem(when) is None  # what train writes for a date column
    assert "ISO 8601" in _feature_problem({**when, "min": "yesterday"})
    assert "ISO 8601" in _feature_problem({**when, "max": 3})
    assert "number" in _feature_problem({"name": "age", "kind": "numeric", "min": "3"})
