"""The registry and the metrics store as someone left them (issue 11, items 6, 11 and 12).

Special files where the registry's files belong (a FIFO must never hang a
command), JSON too deep or not printable, metadata that validates as JSON but
would crash ``predict``, version ids with a newline or non-ASCII digits, an
activation history that points at a version of another kind, and store rows
mlprod did not write (a schema version, a time or a value that is not one).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from tests.reliability.cases import ACTIVE, ROWS, Case, Setup, append_byte, edit_metadata, write

DEEP = "[" * 100_000 + "]" * 100_000
PREDICT = ("predict", "in.csv", "-o", "out.csv")
IN = write("in.csv", ROWS)


def _replace(rel: str, make) -> Setup:
    """Put ``make(path)`` where ``rel`` is (removing what was there)."""

    def setup(root: Path) -> None:
        path = root / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
        make(path)

    return setup


def _fifo(rel: str) -> Setup:
    return _replace(rel, os.mkfifo)


def _link(rel: str, target: str) -> Setup:
    return _replace(rel, lambda p: p.symlink_to(target))


def _folder(rel: str) -> Setup:
    return _replace(rel, lambda p: p.mkdir())


def _without(version: str, key: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / "models" / version / "metadata.json"
        metadata = json.loads(path.read_text())
        del metadata[key]
        path.write_text(json.dumps(metadata))

    return setup


def _surrogate(version: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / "models" / version / "metadata.json"
        text = path.read_text()
        path.write_text(
            text.replace('"kind": "model"', '"kind": "model", "description": "\\ud800"', 1)
        )

    return setup


def _store(sql: str) -> Setup:
    """A store with one run of the project, then ``sql`` run on it by hand."""

    def setup(root: Path) -> None:
        from mlprod_cli.adapters.store import MetricRow, Run, open_store

        created = datetime(2024, 7, 1, tzinfo=timezone.utc)
        rows = (MetricRow("recall", 0.8, "melanoma"), MetricRow("f1_score", 0.7, "macro"))
        with open_store("sqlite:///.mlprod/metrics.db", root=root, env={}) as store:
            store.add_run(Run("run-1", created, "skin-lesions", "v0002", "model", rows=rows))
        conn = sqlite3.connect(root / ".mlprod" / "metrics.db", isolation_level=None)
        conn.execute(sql)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()

    return setup


def _second_model(**changes) -> Setup:
    """v0003: a copy of the model v0002, its metadata changed by ``changes``."""

    def setup(root: Path) -> None:
        shutil.copytree(root / "models" / "v0002", root / "models" / "v0003")
        edit_metadata("v0003", **changes)(root)

    return setup


HISTORY = ("metrics", "history", "--metric", "recall@melanoma")
ENSEMBLE = ("ensemble", "v0002", "v0003")
DISTILL = ("distill", "--teacher", "v0003")

# fmt: off
CASES = [
    # ---- active.json that is not a file, or not JSON a reader survives
    Case("models/list-active-json-deep", ("models", "list"), "models/active.json is unreadable: nested more than 64 levels deep", (write("models/active.json", DEEP),)),
    Case("models/rollback-active-json-deep-map", ("models", "rollback"), "nested more than 64 levels deep", (write("models/active.json", '{"a":' * 5000 + "1" + "}" * 5000),)),
    Case("models/activate-active-json-fifo", ("models", "activate", "v0001"), "models/active.json is a named pipe (FIFO), not a file", (_fifo("models/active.json"),)),
    Case("predict/active-json-fifo", PREDICT, "models/active.json is a named pipe (FIFO), not a file", (IN, _fifo("models/active.json"))),
    Case("evaluate/active-json-fifo", ("evaluate",), "models/active.json is a named pipe (FIFO), not a file", (_fifo("models/active.json"),)),
    # ---- ensembles: a member changed after training, of other classes, a lineage that is not one
    Case("ensemble/member-tampered", ENSEMBLE, "v0003: model.skops does not match its metadata", (_second_model(), append_byte("models/v0003/model.skops"))),
    Case("ensemble/member-other-classes", ENSEMBLE, "v0003 and v0002 predict different classes", (_second_model(classes=["a", "b"]),)),
    Case("ensemble/member-other-task", ENSEMBLE, "v0003 is a regression model and this project's task is classification", (_second_model(task="regression", classes=[], positive_class=None),)),
    Case("ensemble/member-folder-is-a-fifo", ENSEMBLE, "v0003", (_fifo("models/v0003"),)),
    # ---- distillation: a teacher changed after training, of another task, a lineage that is not one
    Case("distill/teacher-tampered", DISTILL, "v0003: model.skops does not match its metadata", (_second_model(), append_byte("models/v0003/model.skops"))),
    Case("distill/teacher-other-task", DISTILL, "v0003 is a regression model and this project's task is classification", (_second_model(task="regression", classes=[], positive_class=None),)),
    Case("distill/teacher-folder-is-a-fifo", DISTILL, "v0003", (_fifo("models/v0003"),)),
    Case("models/show-distilled-not-a-mapping", ("models", "show", "v0002"), "'distilled' must be a mapping, got a list", (edit_metadata("v0002", distilled=[1]),)),
    Case("models/show-ensemble-not-a-mapping", ("models", "show", "v0002"), "'ensemble' must be a mapping, got a list", (edit_metadata("v0002", ensemble=[1]),)),
    Case("models/list-active-json-dangling-link", ("models", "list"), "models/active.json is a symbolic link, not a file", (_link("models/active.json", "gone.json"),)),
    Case("models/rollback-active-json-looping-link", ("models", "rollback"), "models/active.json is a symbolic link, not a file", (_link("models/active.json", "active.json"),)),
    Case("models/list-active-json-a-folder", ("models", "list"), "models/active.json is a folder, not a file", (_folder("models/active.json"),)),
    Case("models/activate-active-json-lone-surrogate", ("models", "activate", "v0001"), "models/active.json is unreadable: holds text that is not valid Unicode", (write("models/active.json", '{"model": "v0002", "note": "\\udc80"}'),)),
    Case("models/list-active-json-version-newline", ("models", "list"), "'model' must be a version id like v0003", (write("models/active.json", '{"model": "v0002\\n"}'),)),
    Case("models/list-active-json-arabic-digits", ("models", "list"), "'model' must be a version id like v0003", (write("models/active.json", '{"model": "v\\u0660\\u0660\\u0660\\u0662"}'),)),
    Case("models/rollback-to-another-kind", ("models", "rollback"), "v0001, the model active before v0002, is a baseline now", (write("models/active.json", json.dumps({"model": "v0002", "history": {"model": ["v0001", "v0002"]}})),)),
    # ---- version folders that are not folders, metadata that is not a file
    Case("models/show-version-a-file", ("models", "show", "v0003"), "v0003 is a file, not a version folder", (write("models/v0003", "{}"),)),
    Case("models/show-version-a-fifo", ("models", "show", "v0003"), "v0003 is a named pipe (FIFO), not a version folder", (_fifo("models/v0003"),)),
    Case("models/show-version-a-link", ("models", "show", "v0003"), "v0003 is a symbolic link, not a version folder", (_link("models/v0003", "v0002"),)),
    Case("predict/active-version-a-link", PREDICT, "v0002 is a symbolic link, not a version folder", (ACTIVE, IN, _link("models/v0002", "v0001"))),
    Case("models/show-metadata-a-folder", ("models", "show", "v0002"), "v0002/metadata.json is a folder, not a file", (_folder("models/v0002/metadata.json"),)),
    Case("models/activate-metadata-a-fifo", ("models", "activate", "v0002"), "v0002/metadata.json is a named pipe (FIFO), not a file", (_fifo("models/v0002/metadata.json"),)),
    Case("predict/artifact-a-fifo", PREDICT, "v0002/model.skops is a named pipe (FIFO), not a file", (ACTIVE, IN, _fifo("models/v0002/model.skops"))),
    Case("predict/artifact-a-link", PREDICT, "v0002/model.skops is a symbolic link, not a file", (ACTIVE, IN, _link("models/v0002/model.skops", "../v0001/model.skops"))),
    Case("models/show-metadata-deep", ("models", "show", "v0002"), "v0002/metadata.json is unreadable: nested more than 64 levels deep", (write("models/v0002/metadata.json", DEEP),)),
    Case("models/show-metadata-lone-surrogate", ("models", "show", "v0002"), "holds text that is not valid Unicode", (_surrogate("v0002"),)),
    # ---- metadata that is JSON, and would have crashed predict or serve
    Case("predict/metadata-no-schema", PREDICT, "v0002/metadata.json is malformed: 'schema' is missing", (ACTIVE, IN, _without("v0002", "schema"))),
    Case("predict/metadata-no-classes", PREDICT, "'classes' must be a list of class names", (ACTIVE, IN, edit_metadata("v0002", classes=[]))),
    Case("predict/metadata-classes-twice", PREDICT, "'classes' names a class twice", (ACTIVE, IN, edit_metadata("v0002", classes=["nevus", "nevus"]))),
    Case("evaluate/metadata-min-text", ("evaluate",), "'schema.features[0]' 'min' must be a number, got text", (ACTIVE, edit_metadata("v0002", schema={"features": [{"name": "age", "kind": "numeric", "min": "young"}]}))),
    Case("evaluate/metadata-feature-twice", ("evaluate",), "names the feature 'age' twice", (ACTIVE, edit_metadata("v0002", schema={"features": [{"name": "age", "kind": "numeric"}] * 2}))),
    Case("models/activate-metadata-categories-maps", ("models", "activate", "v0002"), "'categories' must be a list of values", (edit_metadata("v0002", schema={"features": [{"name": "sex", "kind": "categorical", "categories": [{}]}]}),)),
    Case("predict/metadata-target-a-number", PREDICT, "'target' must be text, got a number", (ACTIVE, IN, edit_metadata("v0002", target=5))),
    # ---- version ids: nothing after the digits, ASCII digits only
    Case("serve/model-trailing-newline", ("serve", "--model", "v0002\n"), "VERSION 'v0002\\n': expected a version id"),
    Case("serve/model-arabic-digits", ("serve", "--model", "v٠٠٠٢"), "expected a version id like v0003"),
    Case("models/activate-trailing-newline", ("models", "activate", "v0002\n"), "model version 'v0002\\n' not found"),
    # ---- the store holds what mlprod did not write
    Case("metrics/history-schema-version-text", HISTORY, "has schema version 'abc', which is not a number", (_store("UPDATE meta SET value = 'abc'"),)),
    Case("metrics/history-schema-version-zero", HISTORY, "has schema version 0; versions start at 1", (_store("UPDATE meta SET value = '0'"),)),
    Case("metrics/history-no-schema-version", HISTORY, "has no schema version", (_store("DELETE FROM meta"),)),
    Case("metrics/history-bad-timestamp", HISTORY, "run run-1 has created_at 'yesterday', which is not a time", (_store("UPDATE runs SET created_at = 'yesterday'"),)),
    Case("metrics/history-impossible-date", HISTORY, "which is not a time", (_store("UPDATE runs SET created_at = '2024-02-30T00:00:00+00:00'"),)),
    Case("metrics/history-text-value", HISTORY, "run run-1 holds recall = 'high', which is not a number", (_store("UPDATE metrics SET value = 'high' WHERE metric = 'recall'"),)),
    Case("metrics/history-blob-value", ("metrics", "history", "--metric", "f1_score"), "holds f1_score = ", (_store("UPDATE metrics SET value = x'00ff' WHERE metric = 'f1_score'"),)),
]
# fmt: on
