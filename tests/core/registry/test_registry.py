"""The registry: whole versions, atomic activation, hash and type checks on load."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest
import skops.io as sio
from sklearn.dummy import DummyClassifier

from mlprod_cli.adapters.files import sha256_file
from mlprod_cli.core.registry import ARTIFACT, METADATA, Registry, RegistryError


def _fitted():
    return DummyClassifier(strategy="most_frequent").fit([[0], [1], [1]], ["a", "b", "b"])


def _meta(kind):
    return {"kind": kind, "schema": {"features": []}}


def _add(root, kind="model"):
    return Registry(root).add(_fitted(), _meta(kind))


def test_versions_are_numbered_and_whole(tmp_path):
    registry = Registry(tmp_path / "models")
    first, second = (
        registry.add(_fitted(), _meta("baseline")),
        registry.add(_fitted(), _meta("model")),
    )
    assert (first.id, second.id) == ("v0001", "v0002")
    assert json.loads((second.path / METADATA).read_text())["artifact_sha256"] == sha256_file(
        second.path / ARTIFACT
    )
    # leftovers of killed runs are never listed
    (registry.root / ".tmp-abc").mkdir()
    (registry.root / "v0003").mkdir()  # no metadata: not whole
    (registry.root / "v0004").mkdir()
    (registry.root / "v0004" / METADATA).write_text("{not json")
    assert [v.id for v in registry.versions()] == ["v0001", "v0002"]
    assert [v.id for v in registry.versions("model")] == ["v0002"]
    # numbers are never reused, even for broken folders
    assert registry.add(_fitted(), _meta("model")).id == "v0005"
    assert registry.load(registry.get("v0005")).predict([[3]]).tolist() == ["b"]


def _add_many(root: str, n: int, queue) -> None:
    queue.put(
        [
            Registry(__import__("pathlib").Path(root)).add(_fitted(), _meta("model")).id
            for _ in range(n)
        ]
    )


def test_concurrent_adds_get_distinct_versions(tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_add_many, args=(str(root), 3, queue)) for _ in range(4)]
    for w in workers:
        w.start()
    ids = [i for _ in workers for i in queue.get(timeout=120)]
    for w in workers:
        w.join()
    assert len(ids) == 12 and len(set(ids)) == 12
    assert [v.id for v in Registry(root).versions()] == sorted(ids)


def test_activate_and_rollback(tmp_path):
    registry = Registry(tmp_path)
    a, b, c = (_add(tmp_path) for _ in range(3))
    assert registry.active("model") is None
    assert registry.activate(a) is None
    assert registry.activate(b) == a.id
    assert registry.activate(c) == b.id
    assert registry.rollback() == (c.id, b.id)
    assert registry.rollback() == (b.id, a.id)
    with pytest.raises(RegistryError, match="no earlier active model"):
        registry.rollback()
    assert registry.active_id("model") == a.id


def test_rollback_without_active(tmp_path):
    with pytest.raises(RegistryError, match="no active model to roll back from"):
        Registry(tmp_path).rollback()


def test_unknown_version(tmp_path):
    _add(tmp_path)
    with pytest.raises(
        RegistryError, match=r"model version 'v0042' not found in .* \(versions: v0001\)"
    ):
        Registry(tmp_path).get("v0042")


def test_tampered_artifact_is_refused(tmp_path):
    registry = Registry(tmp_path)
    version = _add(tmp_path)
    with (version.path / ARTIFACT).open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(RegistryError, match="does not match its metadata"):
        registry.load(version)
    with pytest.raises(RegistryError, match="does not match its metadata"):
        registry.activate(version)
    assert registry.active_id("model") is None


def test_untrusted_types_are_refused_even_with_a_matching_hash(tmp_path):
    """An attacker who rewrites the artifact and its metadata still cannot run code."""
    registry = Registry(tmp_path, trusted_packages=("myproject",))
    version = _add(tmp_path)
    sio.dump({"model": _fitted(), "payload": os.system}, version.path / ARTIFACT)
    meta = json.loads((version.path / METADATA).read_text())
    meta["artifact_sha256"] = sha256_file(version.path / ARTIFACT)
    (version.path / METADATA).write_text(json.dumps(meta))
    with pytest.raises(RegistryError, match=r"types that are not trusted: .*system"):
        registry.load(registry.get(version.id))


def test_not_a_skops_file(tmp_path):
    registry = Registry(tmp_path)
    version = _add(tmp_path)
    (version.path / ARTIFACT).write_bytes(b"not a zip")
    meta = json.loads((version.path / METADATA).read_text())
    meta["artifact_sha256"] = sha256_file(version.path / ARTIFACT)
    (version.path / METADATA).write_text(json.dumps(meta))
    with pytest.raises(RegistryError, match="not a readable skops file"):
        registry.load(registry.get(version.id))
