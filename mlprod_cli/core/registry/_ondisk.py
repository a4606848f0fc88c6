"""What the registry holds on disk, read and checked without trusting it.

Everything under ``models/`` can be edited, replaced or broken by hand. Reading
it never blocks (a FIFO), never follows a link out of the registry, never
exhausts the stack (JSON nested thousands deep) and never accepts text that
cannot be printed; what is wrong is said in one sentence naming the file.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlprod_cli.core.names import TASKS
from mlprod_cli.errors import MlprodError, UsageError

ARTIFACT = "model.skops"
METADATA = "metadata.json"
ACTIVE = "active.json"
KINDS = ("model", "baseline")
# ASCII digits only, and the whole text (``$`` would accept a trailing newline).
_VERSION = re.compile(r"v([0-9]{4,})")
# What a registry file may be: far above any real metadata (tune's candidates
# included), far below what could exhaust memory or the parser's stack.
_MAX_JSON_BYTES = 64 << 20
_MAX_JSON_DEPTH = 64
_INT64 = (-(2**63), 2**63 - 1)


class RegistryError(MlprodError):
    """A version that does not exist, is broken, or was tampered with."""


@dataclass(frozen=True)
class Version:
    id: str
    path: Path
    metadata: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.metadata.get("kind", "?")

    @property
    def number(self) -> int:
        return int(self.id[1:])

    @property
    def made_as(self) -> str:
        """What made it: ``baseline``, ``model``, ``ensemble`` or ``distilled`` (``models list``).

        ``kind`` is the slot it is activated in; an ensemble is activated as the model.
        """
        if self.kind == "model":
            for made in ("ensemble", "distilled"):
                if isinstance(self.metadata.get(made), dict):
                    return made
        return self.kind

    def artifact_bytes(self) -> int | None:
        """The size of its artifact, or None when it cannot be read."""
        try:
            return (self.path / ARTIFACT).stat().st_size
        except OSError:
            return None


def is_version_id(text: Any) -> bool:
    """``text`` is a version id: ``v`` and four or more ASCII digits, nothing else."""
    return isinstance(text, str) and _VERSION.fullmatch(text) is not None


def check_version_id(text: str) -> str:
    if not is_version_id(text):
        raise UsageError(f"VERSION {text!r}: expected a version id like v0003")
    return text


# --------------------------------------------------------------------------- checking what is on disk

ACTIVE_HINT = f"fix it, or remove {ACTIVE} and run 'mlprod models activate VERSION' again"
_FEATURE_KINDS = ("numeric", "categorical", "datetime")
# The metadata keys mlprod reads, and the JSON types they must have when present.
_METADATA_TYPES: dict[str, tuple[type, ...]] = {
    "task": (str,),
    "classes": (list,),
    "schema": (dict,),
    "data": (list,),
    "split": (dict,),
    "git": (dict,),
    "validation": (dict,),
    "params": (dict,),
    "libraries": (dict,),
    "tune": (dict,),
    "ensemble": (dict,),
    "distilled": (dict,),
    "created_at": (str,),
    "estimator": (str,),
    "description": (str,),
    "artifact_sha256": (str,),
    "lock_sha256": (str, type(None)),
    "project": (str,),
    "target": (str,),
    "positive_class": (str, type(None)),
    "fit_seconds": (int, float),
}
_JSON_NAMES = {
    list: "a list",
    dict: "a mapping",
    str: "text",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def _json_kind(value: Any) -> str:
    return "a boolean" if isinstance(value, bool) else _JSON_NAMES.get(type(value), "a value")


def active_problem(data: Any) -> str | None:
    """What is wrong with the content of ``active.json``, or None."""
    if not isinstance(data, dict):
        return f"expected a JSON object, got {_json_kind(data)}"
    for kind in KINDS:
        value = data.get(kind)
        if value is not None and not (isinstance(value, str) and is_version_id(value)):
            return f"'{kind}' must be a version id like v0003, got {json.dumps(value)[:40]}"
    history = data.get("history", {})
    if not isinstance(history, dict):
        return f"'history' must be a mapping, got {_json_kind(history)}"
    for kind, ids in history.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return f"'history.{kind}' must be a list of version ids"
    return None


def metadata_problem(metadata: Any) -> str | None:
    """What is wrong with a version's metadata (the parts mlprod reads), or None."""
    if not isinstance(metadata, dict):
        return f"expected a JSON object, got {_json_kind(metadata)}"
    if metadata.get("kind") not in KINDS:
        return (
            f"'kind' must be one of {', '.join(KINDS)}, got {json.dumps(metadata.get('kind'))[:40]}"
        )
    for key, types in _METADATA_TYPES.items():
        if key in metadata and (
            not isinstance(metadata[key], types) or isinstance(metadata[key], bool)
        ):
            wanted = " or ".join(dict.fromkeys(_JSON_NAMES[t] for t in types))
            return f"'{key}' must be {wanted}, got {_json_kind(metadata[key])}"
    task = metadata.get("task", "classification")
    if task not in TASKS:
        return f"'task' must be one of {', '.join(TASKS)}, got {json.dumps(task)[:40]}"
    classes = metadata.get("classes", ["?"] if task == "classification" else [])
    if task == "regression" and classes:
        return "'classes' must be empty for a regression version"
    if task == "classification" and not classes:
        return "'classes' must be a list of class names"
    if not all(isinstance(c, str) for c in classes):
        return "'classes' must be a list of class names"
    if len(set(classes)) != len(classes):
        return "'classes' names a class twice"
    # Every version mlprod writes has its training schema; predict and serve check rows with it.
    if "schema" not in metadata:
        return "'schema' is missing (the features the version was trained on)"
    features = metadata["schema"].get("features")
    if not isinstance(features, list):
        return "'schema.features' must be a list"
    names: set[str] = set()
    for i, feature in enumerate(features):
        problem = _feature_problem(feature)
        if problem:
            return f"'schema.features[{i}]' {problem}"
        if feature["name"] in names:
            return f"'schema.features[{i}]' names the feature {feature['name']!r} twice"
        names.add(feature["name"])
    for i, entry in enumerate(metadata.get("data", [])):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("rows"), int)
        ):
            return f"'data[{i}]' must have a 'path', a 'sha256' and 'rows'"
    report = metadata.get("validation", {}).get("report")
    if report is not None and not isinstance(report, dict):
        return f"'validation.report' must be a mapping, got {_json_kind(report)}"
    return None


def _feature_problem(feature: Any) -> str | None:
    if not (
        isinstance(feature, dict)
        and isinstance(feature.get("name"), str)
        and feature["name"]
        and feature.get("kind") in _FEATURE_KINDS
    ):
        return f"must have a 'name' and a 'kind' ({', '.join(_FEATURE_KINDS)})"
    for bound in ("min", "max"):
        value = feature.get(bound)
        if value is None:
            continue
        if feature["kind"] == "datetime":  # train writes a date's bounds in ISO 8601
            if not isinstance(value, str) or not _is_iso_datetime(value):
                return f"'{bound}' must be an ISO 8601 date, got {_json_kind(value)}"
        elif not isinstance(value, (int, float)) or isinstance(value, bool):
            return f"'{bound}' must be a number, got {_json_kind(value)}"
    categories = feature.get("categories")
    if categories is not None and (
        not isinstance(categories, list)
        or not all(isinstance(c, (str, int, float)) or c is None for c in categories)
    ):
        return "'categories' must be a list of values"
    return None


def _is_iso_datetime(text: str) -> bool:
    from datetime import datetime

    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def read_version(entry: Path) -> Version:
    """The version in folder ``entry``, or a RegistryError saying what is missing or broken."""
    where = f"{entry.name}/{METADATA}"
    require(entry, entry.name, stat.S_ISDIR, "a version folder")
    try:
        metadata = read_json(entry / METADATA, where)
    except FileNotFoundError:
        raise RegistryError(f"{entry.name}: {METADATA} is missing; not a whole version") from None
    problem = metadata_problem(metadata)
    if problem:
        raise RegistryError(f"{where} is malformed: {problem}")
    try:
        require(entry / ARTIFACT, f"{entry.name}/{ARTIFACT}", stat.S_ISREG, "a file")
    except FileNotFoundError:
        raise RegistryError(f"{entry.name}: {ARTIFACT} is missing; not a whole version") from None
    return Version(entry.name, entry, metadata)


def _what(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISREG, "a file"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    ):
        if test(mode):
            return name
    return "a special file"


def require(path: Path, where: str, test: Any, wanted: str) -> None:
    """Refuse ``path`` unless it is (itself, not through a link) what ``test`` accepts.

    The registry holds only its own files: a symbolic link could point anywhere
    (``package`` would copy it, ``predict`` load it), and a FIFO blocks a reader
    forever. FileNotFoundError passes through for the caller to word.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise RegistryError(f"{where} is unreadable: {exc.strerror}") from None
    if not test(mode):
        raise RegistryError(f"{where} is {_what(mode)}, not {wanted}; the registry holds no others")


def read_json(path: Path, where: str) -> Any:
    """The JSON document in the regular file ``path``, or a RegistryError naming ``where``.

    Never blocks (a FIFO, a socket or a device is refused before it is read),
    never follows a link, and refuses what would exhaust memory or the stack:
    more than 64 MiB, or nesting deeper than :data:`_MAX_JSON_DEPTH`. Text that is
    not valid Unicode (a lone surrogate escape) is refused too: it could never
    be printed. FileNotFoundError passes through.
    """
    require(path, where, stat.S_ISREG, "a file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as exc:
        reason = "it became a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        raise RegistryError(f"{where} is unreadable: {reason}") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):  # swapped in since the lstat
                raise RegistryError(f"{where} is {_what(mode)}, not a file")
            data = handle.read(_MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise RegistryError(f"{where} is unreadable: {exc.strerror}") from None
    if len(data) > _MAX_JSON_BYTES:
        raise RegistryError(f"{where} is unreadable: larger than {_MAX_JSON_BYTES >> 20} MiB")
    try:
        # NaN, Infinity and 1e400 are not JSON numbers a reader can rely on (json.dumps
        # cannot write them back): undefined, as mlprod writes an undefined value.
        document = json.loads(
            data.decode("utf-8"), parse_constant=lambda _: None, parse_float=_finite_or_none
        )
    except RecursionError:
        document, problem = None, f"nested more than {_MAX_JSON_DEPTH} levels deep"
    except ValueError as exc:  # not UTF-8, not JSON, a number of 5,000 digits
        raise RegistryError(f"{where} is unreadable: {_first_line(exc)}") from None
    else:
        problem = _document_problem(document)
    if problem:
        raise RegistryError(f"{where} is unreadable: {problem}")
    return document


def _finite_or_none(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def _document_problem(document: Any) -> str | None:
    """Nesting too deep, or text no encoder can write (walked without recursion)."""
    stack = [(document, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_JSON_DEPTH:
            return f"nested more than {_MAX_JSON_DEPTH} levels deep"
        if isinstance(item, dict):
            stack += ((k, depth) for k in item)
            stack += ((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack += ((v, depth + 1) for v in item)
        elif (
            isinstance(item, int)
            and not isinstance(item, bool)
            and not _INT64[0] <= item <= _INT64[1]
        ):
            # numpy and pandas hold 64 bits; past that a schema bound or category crashes them
            return f"holds an integer too large for 64 bits ({str(item)[:20]}…)"
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return f"holds text that is not valid Unicode ({json.dumps(item)[:40]})"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
