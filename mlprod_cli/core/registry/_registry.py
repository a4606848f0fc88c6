"""The model registry: versioned, hash-checked estimators with their metadata.

Layout under ``registry:`` (default ``models/``)::

    models/
      v0001/                 one version: written whole, then renamed into place
        model.skops          the fitted estimator (skops, never pickle)
        metadata.json        who, what, from which data and code (see docs/registry.md)
      v0002/
      active.json            {"model": "v0002", "baseline": "v0001", "history": {...}}

Guarantees:

* A version appears whole or not at all: it is built in ``.tmp-…`` and
  renamed to ``vNNNN``. Renaming onto an existing (never empty) version fails,
  so two ``train`` runs at once take the next free number each.
* ``active.json`` is replaced by an atomic rename under an exclusive lock
  (``flock`` on the registry folder), so
  the active version is always one that was active or asked for.
* An artifact is loaded only if its sha256 equals the one in its metadata and
  every type in it is trusted: skops' defaults, plus numpy, scipy, scikit-learn
  and the project's own package. Anything else (``os.system``, say) is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.files import atomic_write_text, sha256_file
from mlprod_cli.errors import MlprodError, UsageError

ARTIFACT = "model.skops"
METADATA = "metadata.json"
ACTIVE = "active.json"
KINDS = ("model", "baseline")
_VERSION = re.compile(r"^v(\d{4,})$")
_TRUSTED_PREFIXES = ("numpy.", "scipy.", "sklearn.", "pandas.")
_STALE_TMP_SECONDS = 3600


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
        return int(_VERSION.match(self.id).group(1))


class Registry:
    """The versions under one registry folder."""

    def __init__(self, root: Path, *, trusted_packages: tuple[str, ...] = ()):
        self.root = root
        self.trusted_packages = tuple(p for p in trusted_packages if p)

    # ------------------------------------------------------------------ reading

    def versions(self, kind: str | None = None) -> list[Version]:
        """Every whole version (oldest first); half-written, broken and foreign folders are skipped."""
        if not self.root.is_dir():
            return []
        found = []
        for entry in self.root.iterdir():
            if not _VERSION.match(entry.name) or not entry.is_dir():
                continue
            try:
                version = _read_version(entry)
            except RegistryError:
                continue  # not a whole version: never listed, never loaded ('get' says why)
            if kind is None or version.kind == kind:
                found.append(version)
        return sorted(found, key=lambda v: v.number)

    def broken(self) -> dict[str, str]:
        """The ``vNNNN`` folders ``versions`` skips, each with what is wrong with it."""
        if not self.root.is_dir():
            return {}
        out = {}
        for entry in sorted(self.root.iterdir()):
            if _VERSION.match(entry.name) and entry.is_dir():
                try:
                    _read_version(entry)
                except RegistryError as exc:
                    out[entry.name] = exc.message
        return out

    def get(self, version_id: str) -> Version:
        entry = self.root / version_id
        if _VERSION.match(version_id) and entry.is_dir():
            return _read_version(entry)  # names what is wrong with a broken version
        known = ", ".join(v.id for v in self.versions()) or "none yet"
        raise RegistryError(
            f"model version {version_id!r} not found in {self.root.name}/ (versions: {known})"
        )

    def latest(self, kind: str = "model") -> Version | None:
        versions = self.versions(kind)
        return versions[-1] if versions else None

    def _read_active(self) -> dict[str, Any]:
        where = f"{self.root.name}/{ACTIVE}"
        try:
            data = json.loads((self.root / ACTIVE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{where} is unreadable: {exc}", hint=_ACTIVE_HINT) from None
        problem = _active_problem(data)
        if problem:
            raise RegistryError(f"{where} is malformed: {problem}", hint=_ACTIVE_HINT)
        return data

    def active_id(self, kind: str = "model") -> str | None:
        value = self._read_active().get(kind)
        return value if isinstance(value, str) else None

    def active(self, kind: str = "model") -> Version | None:
        version_id = self.active_id(kind)
        return self.get(version_id) if version_id else None

    def resolve(self, version_id: str | None, kind: str = "model") -> Version:
        """``version_id``, or the active version of ``kind``; a clear error when there is none."""
        if version_id is not None:
            return self.get(version_id)
        version = self.active(kind)
        if version is None:
            hint = "run 'mlprod train --activate', or 'mlprod models activate VERSION'"
            raise RegistryError(f"no active {kind} in {self.root.name}/", hint=hint)
        return version

    # ------------------------------------------------------------------ loading

    def verify(self, version: Version) -> None:
        """Refuse an artifact whose content does not match its metadata."""
        expected = version.metadata.get("artifact_sha256")
        actual = sha256_file(version.path / ARTIFACT)
        if expected != actual:
            raise RegistryError(
                f"{version.id}: {ARTIFACT} does not match its metadata (sha256 {actual[:12]}…, "
                f"expected {str(expected)[:12]}…); it was changed after training: refusing to load it"
            )

    def load(self, version: Version) -> Any:
        """The fitted estimator of ``version``, hash-checked and loaded with trusted types only."""
        import skops.io as sio

        self.verify(version)
        path = version.path / ARTIFACT
        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as exc:  # skops raises a variety of errors on a corrupt file
            raise RegistryError(
                f"{version.id}: {ARTIFACT} is not a readable skops file ({exc})"
            ) from None
        refused = [t for t in untrusted if not self._trusted(t)]
        if refused:
            raise RegistryError(
                f"{version.id}: {ARTIFACT} holds types that are not trusted: {', '.join(refused)}"
            )
        try:
            return sio.load(path, trusted=untrusted)
        except Exception as exc:
            raise RegistryError(
                f"{version.id}: loading {ARTIFACT} failed ({type(exc).__name__}: {exc})"
            ) from None

    def _trusted(self, type_name: str) -> bool:
        if type_name.startswith(_TRUSTED_PREFIXES):
            return True
        return any(type_name.startswith(f"{package}.") for package in self.trusted_packages)

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on the registry folder itself (no lock file left behind)."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _clean_stale(self) -> None:
        now = time.time()
        for entry in self.root.glob(".tmp-*"):
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > _STALE_TMP_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)

    def add(self, estimator: Any, metadata: dict[str, Any]) -> Version:
        """Write a new version whole (artifact, then metadata, then one rename) and return it."""
        import skops.io as sio

        self.root.mkdir(parents=True, exist_ok=True)
        self._clean_stale()
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            sio.dump(estimator, tmp / ARTIFACT)
            metadata = dict(metadata, artifact_sha256=sha256_file(tmp / ARTIFACT))
            while True:
                number = max((v.number for v in self._all_numbered()), default=0) + 1
                version_id = f"v{number:04d}"
                metadata["version"] = version_id
                (tmp / METADATA).write_text(
                    json.dumps(metadata, indent=2, sort_keys=True, default=str) + "\n"
                )
                _fsync_dir_files(tmp)
                try:
                    os.rename(tmp, self.root / version_id)
                except OSError:
                    if (self.root / version_id).exists():
                        continue  # another train took this number first: take the next
                    raise
                break
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Version(version_id, self.root / version_id, metadata)

    def _all_numbered(self) -> list[Version]:
        """Every ``vNNNN`` folder, whole or not, so numbers are never reused."""
        out = []
        for entry in self.root.iterdir():
            if _VERSION.match(entry.name):
                out.append(Version(entry.name, entry, {}))
        return out

    def activate(self, version: Version) -> str | None:
        """Make ``version`` the active one of its kind; return the one it replaced."""
        self.verify(version)
        with self._locked():
            state = self._read_active()
            previous = state.get(version.kind)
            if previous == version.id:
                return previous
            history = state.setdefault("history", {}).setdefault(version.kind, [])
            if previous and (not history or history[-1] != previous):
                history.append(previous)
            history.append(version.id)
            state[version.kind] = version.id
            atomic_write_text(
                self.root / ACTIVE, json.dumps(state, indent=2, sort_keys=True) + "\n"
            )
        return previous

    def rollback(self, kind: str = "model") -> tuple[str, str]:
        """Make the previously active version active again; return (from, to)."""
        with self._locked():
            state = self._read_active()
            current = state.get(kind)
            history = [v for v in state.get("history", {}).get(kind, []) if isinstance(v, str)]
            while history and history[-1] == current:
                history.pop()
            if not current:
                raise RegistryError(f"no active {kind} to roll back from")
            if not history:
                raise RegistryError(
                    f"no earlier active {kind} to roll back to ({current} is the first)",
                    hint="'mlprod models activate VERSION' makes any version active",
                )
            target = history[-1]
            self.get(target)  # it must still exist
            state[kind] = target
            state.setdefault("history", {})[kind] = history
            atomic_write_text(
                self.root / ACTIVE, json.dumps(state, indent=2, sort_keys=True) + "\n"
            )
        return current, target


# --------------------------------------------------------------------------- checking what is on disk

_ACTIVE_HINT = f"fix it, or remove {ACTIVE} and run 'mlprod models activate VERSION' again"
_FEATURE_KINDS = ("numeric", "categorical", "datetime")
# The metadata keys mlprod reads, and the JSON types they must have when present.
_METADATA_TYPES: dict[str, tuple[type, ...]] = {
    "classes": (list,),
    "schema": (dict,),
    "data": (list,),
    "split": (dict,),
    "git": (dict,),
    "validation": (dict,),
    "params": (dict,),
    "libraries": (dict,),
    "tune": (dict,),
    "created_at": (str,),
    "estimator": (str,),
    "description": (str,),
    "artifact_sha256": (str,),
    "lock_sha256": (str, type(None)),
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


def _active_problem(data: Any) -> str | None:
    """What is wrong with the content of ``active.json``, or None."""
    if not isinstance(data, dict):
        return f"expected a JSON object, got {_json_kind(data)}"
    for kind in KINDS:
        value = data.get(kind)
        if value is not None and not (isinstance(value, str) and _VERSION.match(value)):
            return f"'{kind}' must be a version id like v0003, got {json.dumps(value)[:40]}"
    history = data.get("history", {})
    if not isinstance(history, dict):
        return f"'history' must be a mapping, got {_json_kind(history)}"
    for kind, ids in history.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return f"'history.{kind}' must be a list of version ids"
    return None


def _metadata_problem(metadata: Any) -> str | None:
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
    if not all(isinstance(c, str) for c in metadata.get("classes", [])):
        return "'classes' must be a list of class names"
    schema = metadata.get("schema", {"features": []})
    features = schema.get("features")
    if not isinstance(features, list):
        return "'schema.features' must be a list"
    for i, feature in enumerate(features):
        if not (
            isinstance(feature, dict)
            and isinstance(feature.get("name"), str)
            and feature.get("kind") in _FEATURE_KINDS
        ):
            return f"'schema.features[{i}]' must have a 'name' and a 'kind' ({', '.join(_FEATURE_KINDS)})"
        categories = feature.get("categories")
        if categories is not None and not isinstance(categories, list):
            return f"'schema.features[{i}].categories' must be a list"
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


def _read_version(entry: Path) -> Version:
    """The version in folder ``entry``, or a RegistryError saying what is missing or broken."""
    where = f"{entry.name}/{METADATA}"
    try:
        metadata = json.loads((entry / METADATA).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{entry.name}: {METADATA} is missing; not a whole version") from None
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{where} is unreadable: {exc}") from None
    problem = _metadata_problem(metadata)
    if problem:
        raise RegistryError(f"{where} is malformed: {problem}")
    if not (entry / ARTIFACT).is_file():
        raise RegistryError(f"{entry.name}: {ARTIFACT} is missing; not a whole version")
    return Version(entry.name, entry, metadata)


def _fsync_dir_files(folder: Path) -> None:
    """Flush a version's files to disk before the rename makes them visible."""
    for path in folder.iterdir():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def diff_metadata(a: Version, b: Version) -> list[tuple[str, Any, Any]]:
    """Keys whose values differ between two versions' metadata (flattened, dotted)."""
    flat_a, flat_b = _flatten(a.metadata), _flatten(b.metadata)
    skip = {"version", "created_at", "artifact_sha256", "fit_seconds"}
    out = []
    for key in sorted(set(flat_a) | set(flat_b)):
        if key.split(".")[0] in skip or key.startswith("tune.candidates"):
            continue
        if flat_a.get(key) != flat_b.get(key):
            out.append((key, flat_a.get(key), flat_b.get(key)))
    return out


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def check_version_id(text: str) -> str:
    if not _VERSION.match(text):
        raise UsageError(f"VERSION {text!r}: expected a version id like v0003")
    return text
