"""A wheel of the running mlprod, so a new project can install it offline.

mlprod need not be on any package index, yet every generated project pins it
in its lock file and its container installs it. ``new`` therefore packs the
mlprod that is running into ``<project>/wheels/`` and pins that file's hash.

The wheel is assembled directly from the installed distribution's metadata
and the package's own files instead of calling a build backend: a build
backend would need build dependencies (an index or a warm cache) and seconds,
while this takes milliseconds and works offline. The archive is reproducible
(sorted entries, fixed timestamps and modes), so the same mlprod always packs
to the same hash.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from mlprod_cli.errors import EnvironmentProblem

_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


@dataclass(frozen=True)
class Wheel:
    path: Path
    name: str
    version: str
    sha256: str


def package_dir() -> Path:
    """The directory of the ``mlprod_cli`` package that is running."""
    import mlprod_cli

    return Path(mlprod_cli.__file__).resolve().parent


def templates_dir() -> Path:
    """Bundled templates: inside the package when installed, beside it in a checkout."""
    inside = package_dir() / "templates"
    if inside.is_dir():
        return inside
    return package_dir().parent / "templates"


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _files() -> list[tuple[str, Path]]:
    """(archive name, source path) of every file the wheel carries, sorted."""
    out: list[tuple[str, Path]] = []
    pkg = package_dir()
    roots = [(pkg, "mlprod_cli")]
    templates = templates_dir()
    if templates.parent != pkg:
        roots.append((templates, "mlprod_cli/templates"))
    for base, prefix in roots:
        for folder, dirs, names in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            for name in names:
                if name.endswith((".pyc", ".pyo")):
                    continue
                source = Path(folder, name)
                rel = source.relative_to(base).as_posix()
                out.append((f"{prefix}/{rel}", source))
    return sorted(out)


def _metadata_text(dist: metadata.Distribution) -> tuple[str, str | None]:
    text = dist.read_text("METADATA")
    if not text:
        raise EnvironmentProblem("mlprod's installed metadata is missing; reinstall mlprod")
    return text, dist.read_text("entry_points.txt")


def build_self_wheel(out_dir: Path) -> Wheel:
    """Write ``mlprod-<version>-py3-none-any.whl`` of the running mlprod into ``out_dir``."""
    try:
        dist = metadata.distribution("mlprod")
    except metadata.PackageNotFoundError:
        raise EnvironmentProblem(
            "mlprod is not installed as a distribution, so it cannot be packed into the project",
            hint="install it with 'pip install -e .' or from its wheel",
        ) from None
    version = dist.version
    meta, entry_points = _metadata_text(dist)
    dist_info = f"mlprod-{version}.dist-info"
    wheel_meta = "Wheel-Version: 1.0\nGenerator: mlprod (repacked)\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries: list[tuple[str, bytes]] = [(name, src.read_bytes()) for name, src in _files()]
    entries.append((f"{dist_info}/METADATA", meta.encode()))
    if entry_points:
        entries.append((f"{dist_info}/entry_points.txt", entry_points.encode()))
    entries.append((f"{dist_info}/WHEEL", wheel_meta.encode()))
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries)
    record += f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    payload = buffer.getvalue()
    filename = f"mlprod-{version}-py3-none-any.whl"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / filename
    path.write_bytes(payload)
    return Wheel(path, filename, version, hashlib.sha256(payload).hexdigest())
