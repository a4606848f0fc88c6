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
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.files import atomic_write_text, sha256_file
from mlprod_cli.core.registry._ondisk import (
    ACTIVE,
    ACTIVE_HINT,
    ARTIFACT,
    KINDS,
    METADATA,
    RegistryError,
    Version,
    active_problem,
    is_version_id,
    read_json,
    read_version,
)

_TRUSTED_PREFIXES = ("numpy.", "scipy.", "sklearn.", "pandas.")
_STALE_TMP_SECONDS = 3600


class Registry:
    """The versions under one registry folder."""

    def __init__(self, root: Path, *, trusted_packages: tuple[str, ...] = ()):
        self.root = root
        self.trusted_packages = tuple(p for p in trusted_packages if p)

    # ------------------------------------------------------------------ reading

    def _entries(self) -> list[Path]:
        """Every ``vNNNN`` entry of the registry folder, whatever it is, by number."""
        if not self.root.is_dir():
            return []
        try:
            names = [e for e in self.root.iterdir() if is_version_id(e.name)]
        except OSError as exc:
            raise RegistryError(f"{self.root.name}/ cannot be listed: {exc.strerror}") from None
        return sorted(names, key=lambda e: int(e.name[1:]))

    def scan(self) -> tuple[list[Version], dict[str, str]]:
        """(every whole version, oldest first; the ``vNNNN`` entries that are not, each with why)."""
        found, broken = [], {}
        for entry in self._entries():
            try:
                found.append(read_version(entry))
            except RegistryError as exc:
                broken[entry.name] = exc.message  # never listed, never loaded ('get' says why)
        return found, broken

    def versions(self, kind: str | None = None) -> list[Version]:
        """Every whole version (oldest first); half-written, broken and foreign entries are skipped."""
        return [v for v in self.scan()[0] if kind is None or v.kind == kind]

    def broken(self) -> dict[str, str]:
        """The ``vNNNN`` entries ``versions`` skips, each with what is wrong with it."""
        return self.scan()[1]

    def get(self, version_id: str) -> Version:
        entry = self.root / version_id
        if is_version_id(version_id) and os.path.lexists(entry):
            return read_version(entry)  # names what is wrong with a broken version
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
            data = read_json(self.root / ACTIVE, where)
        except FileNotFoundError:
            return {}
        except RegistryError as exc:
            raise RegistryError(exc.message, hint=ACTIVE_HINT) from None
        problem = active_problem(data)
        if problem:
            raise RegistryError(f"{where} is malformed: {problem}", hint=ACTIVE_HINT)
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

        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root, os.O_RDONLY)
        except OSError as exc:
            raise RegistryError(
                f"{self.root.name}/ cannot be locked for writing: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write_active(self, state: dict[str, Any]) -> None:
        """Replace ``active.json`` by ``state`` whole, or raise a RegistryError leaving it as it was.

        The write is atomic (a temporary file, then a rename): a failure before the
        rename leaves the old file. A failure after it (closing the renamed file)
        leaves the new one, which is what was asked: that is no failure.
        """
        text = json.dumps(state, indent=2, sort_keys=True) + "\n"
        try:
            atomic_write_text(self.root / ACTIVE, text)
        except OSError as exc:
            with contextlib.suppress(OSError):
                if (self.root / ACTIVE).read_text(encoding="utf-8") == text:
                    return
            raise RegistryError(
                f"{self.root.name}/{ACTIVE} could not be written ({exc.strerror}); "
                "the active versions are unchanged"
            ) from None

    def _clean_stale(self) -> None:
        now = time.time()
        for entry in self.root.glob(".tmp-*"):
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > _STALE_TMP_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)

    def add(
        self, estimator: Any, metadata: dict[str, Any], files: dict[str, bytes] | None = None
    ) -> Version:
        """Write a new version whole (artifact, then metadata, then one rename) and return it.

        ``files`` are more files of the version, by name (its copy of the rules).
        """
        import skops.io as sio

        self.root.mkdir(parents=True, exist_ok=True)
        self._clean_stale()
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        try:
            tmp.mkdir()  # inside the try: a Ctrl-C right after it leaves no folder behind
            sio.dump(estimator, tmp / ARTIFACT)
            for name, data in (files or {}).items():
                (tmp / name).write_bytes(data)
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
        """Every ``vNNNN`` entry, whole or not, and every id ``active.json`` names (a
        deleted version's folder is gone, its id is in the history): numbers are never reused."""
        out = []
        for entry in self.root.iterdir():
            if is_version_id(entry.name):
                out.append(Version(entry.name, entry, {}))
        try:
            state = self._read_active()
        except RegistryError:
            state = {}  # activating will say what is wrong with it; numbering needs no more
        named = [state.get(kind) for kind in KINDS]
        named += [i for ids in state.get("history", {}).values() for i in ids]
        out += [Version(i, self.root / i, {}) for i in named if is_version_id(i)]
        return out

    def activate(self, version: Version) -> str | None:
        """Make ``version`` the active one of its kind; return the one it replaced."""
        return self.activate_all([version])[version.kind]

    def activate_all(self, versions: list[Version]) -> dict[str, str | None]:
        """Make each of ``versions`` (one per kind) active in one write; return what each replaced.

        One rename of ``active.json`` for all of them: either all are active
        afterwards or none is. The version a kind replaces need not exist any more
        (its folder deleted): activating another is how that is repaired.
        """
        for version in versions:
            self.verify(version)
        replaced: dict[str, str | None] = {}
        with self._locked():
            state = self._read_active()
            changed = False
            for version in versions:
                previous = state.get(version.kind)
                replaced[version.kind] = previous
                if previous == version.id:
                    continue
                history = state.setdefault("history", {}).setdefault(version.kind, [])
                if previous and (not history or history[-1] != previous):
                    history.append(previous)
                history.append(version.id)
                state[version.kind] = version.id
                changed = True
            if changed:
                self._write_active(state)
        return replaced

    def check_active(self) -> None:
        """Raise the RegistryError that activating would meet in ``active.json``, if any."""
        self._read_active()

    def rollback_target(self, kind: str = "model") -> tuple[str, str]:
        """``(from, to)`` of a :meth:`rollback` now, with nothing written (the same refusals)."""
        with self._locked():
            current, target, _ = self._rollback_of(self._read_active(), kind)
        return current, target

    def rollback(self, kind: str = "model", *, expected: str | None = None) -> tuple[str, str]:
        """Make the previously active version active again; return (from, to).

        ``expected``: the version to roll back to, as :meth:`rollback_target` said;
        if ``active.json`` changed since and another would be, RegistryError.
        """
        with self._locked():
            state = self._read_active()
            current, target, history = self._rollback_of(state, kind)
            if expected is not None and target != expected:
                raise RegistryError(
                    f"{self.root.name}/active.json changed while rolling back "
                    f"(the {kind} before {current} is now {target}); nothing changed"
                )
            state[kind] = target
            state.setdefault("history", {})[kind] = history
            self._write_active(state)
        return current, target

    def _rollback_of(self, state: dict, kind: str) -> tuple[str, str, list[str]]:
        """The active version, the one a rollback makes active, and the history after it."""
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
        if self.get(target).kind != kind:  # it must still exist, and be one of this kind
            raise RegistryError(
                f"{target}, the {kind} active before {current}, is a {self.get(target).kind} now",
                hint="'mlprod models activate VERSION' makes any version active",
            )
        return current, target, history


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
