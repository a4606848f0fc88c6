"""Fault injection at every write, in the manner of SQLite's I/O-error tests.

SQLite's test suite runs an operation with its N-th I/O call made to fail, for
N = 1, 2, … until the operation completes, and checks after each that the
database is whole. This module does the same for mlprod's commands, in-process:

* :func:`inject` patches the functions through which Python code writes files
  (``open``/``io.open`` in a writing mode and so ``Path.open``/``write_text``/
  ``write_bytes``, ``os.open`` with writing flags, the first write and the
  close of each file so opened, ``os.write``, ``os.fsync``/``fdatasync``,
  ``os.replace``/``os.rename``, ``os.mkdir`` and so ``Path.mkdir``/
  ``makedirs``, ``os.symlink``/``os.link``), SQLite's write statements and
  commits (``sqlite3.connect`` hands out a counting connection), and any
  callable named in ``wrap`` (writes done in C, such as pyarrow's). Only
  writes to paths under ``under`` count, so pytest's own files are never hit.
  The ``fail_at``-th write point raises what the kernel (or SQLite) would
  raise for the errno given; the points reached are listed, as text.
* :func:`sweep` runs a command for N = 1, 2, … with a fresh copy each time.
* :func:`subprocess_env` does the same in a child process (a real server),
  through a ``sitecustomize`` module on the child's ``PYTHONPATH``.

Writes done by C code that the names in ``wrap`` do not cover (pyarrow
writing to a path, a compiled extension) are not seen: a sweep proves what it
reached, and ``Faults.points`` says what that was.
"""

from __future__ import annotations

import builtins
import contextlib
import errno as errnos
import hashlib
import importlib
import io
import json
import os
import re
import sqlite3
import stat
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERRNOS = (errnos.ENOSPC, errnos.EIO, errnos.EPERM)

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_SQLITE_MESSAGES = {
    errnos.ENOSPC: "database or disk is full",
    errnos.EIO: "disk I/O error",
    errnos.EPERM: "attempt to write a readonly database",
    errnos.EACCES: "attempt to write a readonly database",
    errnos.EROFS: "attempt to write a readonly database",
}
# A temporary's random part (tempfile's 8 characters), shown as * in the points.
_TEMP_NAME = re.compile(r"(/?\.[^/ ]+\.)[a-z0-9_]{8}((?:\.tmp)?(?: |$))")
_TEMP_UUID = re.compile(r"(\.tmp-)[0-9a-f]{32}")
_SQLITE_READS = ("SELECT", "BEGIN", "WITH", "EXPLAIN", "SAVEPOINT", "RELEASE", "ROLLBACK")


@dataclass
class Faults:
    """What one injected run reached: ``points`` in order, and the one that ``fired``."""

    fail_at: int
    err: int
    under: Path
    points: list[str] = field(default_factory=list)
    fired: str | None = None
    record: Callable[[str], None] | None = None  # also told every point (subprocesses)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reached(self, point: str, filename: str | None = None) -> None:
        """Count ``point``; raise the injected error if it is the ``fail_at``-th."""
        point = _TEMP_NAME.sub(r"\1*\2", point)  # the same point in every run
        point = _TEMP_UUID.sub(r"\1*", point)
        with self._lock:
            self.points.append(point)
            if self.record is not None:
                self.record(point)
            if len(self.points) != self.fail_at:
                return
            self.fired = point
            if self.record is not None:
                self.record(f"FIRED {point}")
        if point.startswith("sqlite "):
            raise sqlite3.OperationalError(_SQLITE_MESSAGES.get(self.err, "disk I/O error"))
        raise OSError(self.err, os.strerror(self.err), filename)

    def rel(self, path: Any) -> str | None:
        """``path`` relative to ``under`` when it is under it, else None."""
        if isinstance(path, int) or path is None:
            return None
        try:
            full = os.path.abspath(os.fsdecode(path))
        except (TypeError, ValueError):
            return None
        root = str(self.under)
        if full == root:
            return "."
        if full.startswith(root + os.sep):
            return full[len(root) + 1 :]
        return None


_STATE: dict[str, Any] = {"faults": None}
_FDS: dict[int, str] = {}  # descriptor → the relative path it was opened for writing


def _faults() -> Faults | None:
    return _STATE["faults"]


class _FaultyFile:
    """A file opened for writing: its first write and its close are write points."""

    def __init__(self, real: Any, rel: str):
        self._real, self._rel = real, rel
        self._tried = self._written = False
        with contextlib.suppress(Exception):
            _FDS[real.fileno()] = rel

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __iter__(self):
        return iter(self._real)

    def __enter__(self):
        self._real.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        self.close()
        return False

    def _first_write(self) -> None:
        faults = _faults()
        if not self._tried and faults is not None:
            self._tried = True
            faults.reached(f"write {self._rel}", self._rel)
            self._written = True  # (a failed first write leaves nothing for close to flush)

    def write(self, data: Any) -> Any:
        self._first_write()
        return self._real.write(data)

    def writelines(self, lines: Any) -> Any:
        self._first_write()
        return self._real.writelines(lines)

    def close(self) -> None:
        if self._real.closed:
            return
        with contextlib.suppress(Exception):
            _FDS.pop(self._real.fileno(), None)
        faults = _faults()
        try:
            if self._written and faults is not None:
                faults.reached(f"close {self._rel}", self._rel)
        finally:
            self._real.close()


def _writing_mode(mode: str) -> bool:
    return any(c in mode for c in "wax+")


def _patched(real_open: Callable[..., Any]) -> Callable[..., Any]:
    def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        faults = _faults()
        if faults is None or not _writing_mode(mode):
            return real_open(file, mode, *args, **kwargs)
        if isinstance(file, int):  # os.fdopen of a descriptor opened (and counted) before
            rel = _FDS.get(file)
            handle = real_open(file, mode, *args, **kwargs)
            return _FaultyFile(handle, rel) if rel is not None else handle
        rel = faults.rel(file)
        if rel is None:
            return real_open(file, mode, *args, **kwargs)
        faults.reached(f"open {rel}", rel)
        return _FaultyFile(real_open(file, mode, *args, **kwargs), rel)

    return open_


def _os_open(real: Callable[..., int]) -> Callable[..., int]:
    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        faults = _faults()
        rel = faults.rel(path) if faults is not None and flags & _WRITE_FLAGS else None
        if rel is not None and kwargs.get("dir_fd") is None:
            faults.reached(f"open {rel}", rel)
            fd = real(path, flags, *args, **kwargs)
            _FDS[fd] = rel
            return fd
        return real(path, flags, *args, **kwargs)

    return os_open


def _on_fd(kind: str, real: Callable[..., Any], *, once: bool) -> Callable[..., Any]:
    seen: set[int] = set()

    def call(fd: Any, *args: Any, **kwargs: Any) -> Any:
        faults = _faults()
        if not isinstance(fd, int):  # os.fsync accepts an object with fileno()
            with contextlib.suppress(Exception):
                fd = fd.fileno()
        rel = _FDS.get(fd) if isinstance(fd, int) else None
        if faults is not None and rel is not None and not (once and (fd, rel) in seen):
            if once:
                seen.add((fd, rel))
            faults.reached(f"{kind} {rel}", rel)
        return real(fd, *args, **kwargs)

    return call


def _on_path(kind: str, real: Callable[..., Any], *, two: bool = False) -> Callable[..., Any]:
    def call(src: Any, *args: Any, **kwargs: Any) -> Any:
        faults = _faults()
        if faults is not None and not (kind == "mkdir" and os.path.lexists(src)):
            # (mkdir of what exists fails with EEXIST before the disk is asked)
            rels = [faults.rel(p) for p in ([src, args[0]] if two and args else [src])]
            if any(r is not None for r in rels):
                shown = " -> ".join(r if r is not None else "(outside)" for r in rels)
                faults.reached(f"{kind} {shown}", next(r for r in reversed(rels) if r))
        return real(src, *args, **kwargs)

    return call


def _os_close(real: Callable[[int], None]) -> Callable[[int], None]:
    def close(fd: int) -> None:
        _FDS.pop(fd, None)
        return real(fd)

    return close


def _sqlite_point(sql: Any) -> str | None:
    words = str(sql).lstrip().split(None, 1)
    if not words:
        return None
    first = words[0].upper()
    if first == "COMMIT" or first == "END":
        return "sqlite commit"
    if first == "PRAGMA":
        return "sqlite pragma" if "=" in str(sql) else None
    if first in _SQLITE_READS:
        return None
    return f"sqlite {first.lower()}"


class _CountingCursor(sqlite3.Cursor):
    def execute(self, sql: str, *args: Any) -> Any:
        _sqlite_reached(sql)
        return super().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        _sqlite_reached(sql)
        return super().executemany(sql, *args)


class _CountingConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _CountingCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, *args: Any) -> Any:
        _sqlite_reached(sql)
        return super().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        _sqlite_reached(sql)
        return super().executemany(sql, *args)

    def executescript(self, script: str) -> Any:
        _sqlite_reached(script)
        return super().executescript(script)

    def commit(self) -> None:
        if self.in_transaction:
            _sqlite_reached("COMMIT")
        return super().commit()


def _sqlite_reached(sql: Any) -> None:
    faults = _faults()
    point = _sqlite_point(sql) if faults is not None else None
    if point is not None:
        faults.reached(point)


def _sqlite_connect(real: Callable[..., Any]) -> Callable[..., Any]:
    def connect(database: Any, *args: Any, **kwargs: Any) -> Any:
        faults = _faults()
        if faults is not None and "factory" not in kwargs and faults.rel(database) is not None:
            kwargs["factory"] = _CountingConnection
        return real(database, *args, **kwargs)

    return connect


def _resolve(dotted: str) -> tuple[Any, str]:
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise ImportError(dotted)


def _wrapped_call(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        faults = _faults()
        if faults is not None:
            faults.reached(f"call {name}")
        return real(*args, **kwargs)

    return call


def _patches(wrap: tuple[str, ...]) -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for every function a write goes through."""
    out: list[tuple[Any, str, Any]] = [
        (builtins, "open", _patched(builtins.open)),
        (io, "open", _patched(io.open)),
        (os, "open", _os_open(os.open)),
        (os, "close", _os_close(os.close)),
        (os, "write", _on_fd("write", os.write, once=True)),
        (os, "fsync", _on_fd("fsync", os.fsync, once=False)),
        (os, "replace", _on_path("replace", os.replace, two=True)),
        (os, "rename", _on_path("rename", os.rename, two=True)),
        (os, "mkdir", _on_path("mkdir", os.mkdir)),
        (os, "symlink", _on_path("symlink", os.symlink, two=True)),
        (os, "link", _on_path("link", os.link, two=True)),
        (sqlite3, "connect", _sqlite_connect(sqlite3.connect)),
    ]
    if hasattr(os, "fdatasync"):
        out.append((os, "fdatasync", _on_fd("fdatasync", os.fdatasync, once=False)))
    for dotted in wrap:
        owner, attr = _resolve(dotted)
        out.append((owner, attr, _wrapped_call(dotted, getattr(owner, attr))))
    return out


@contextlib.contextmanager
def inject(
    fail_at: int,
    err: int = errnos.ENOSPC,
    *,
    under: Path,
    wrap: tuple[str, ...] = (),
    record: Callable[[str], None] | None = None,
) -> Iterator[Faults]:
    """Make the ``fail_at``-th write point under ``under`` fail with ``err`` (0: only count)."""
    if _faults() is not None:
        raise RuntimeError("fault injection is already on")
    faults = Faults(fail_at, err, Path(os.path.abspath(under)), record=record)
    patches = _patches(wrap)
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in patches]
    for owner, attr, replacement in patches:
        setattr(owner, attr, replacement)
    _STATE["faults"] = faults
    try:
        yield faults
    finally:
        _STATE["faults"] = None
        for owner, attr, real in reversed(saved):
            setattr(owner, attr, real)
        _FDS.clear()


# --------------------------------------------------------------------------- running commands


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def run_main(argv: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> Outcome:
    """``mlprod_cli.cli.main(argv)`` in ``cwd``, with stdout and stderr captured."""
    from mlprod_cli.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env = {key: os.environ.get(key) for key in env or {}}
    saved_bytecode = sys.dont_write_bytecode
    here = os.getcwd()
    try:
        os.environ.update(env or {})
        sys.dont_write_bytecode = True  # the project's code must not leave __pycache__ behind
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        os.chdir(here)
        sys.dont_write_bytecode = saved_bytecode
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Outcome(code, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class Trial:
    err: int
    n: int
    point: str | None  # the write point made to fail; None: the run completed
    root: Path
    result: Any
    points: tuple[str, ...]  # every point the run reached


def sweep(
    prepare: Callable[[], Path],
    run: Callable[[Path], Any],
    *,
    errnos: tuple[int, ...] = ERRNOS,
    wrap: tuple[str, ...] = (),
    limit: int = 400,
    every: int = 1,
) -> Iterator[Trial]:
    """For each errno and N = 1, 2, …: ``run(prepare())`` with the N-th write point failing.

    Stops, per errno, after the first N whose run completes (that trial has
    ``point=None``). ``every=k`` tries N = 1, 1+k, 1+2k, … for a command with
    many points (the completing run is still found). More than ``limit``
    trials for one errno is an error: the command never completes.
    """
    for err in errnos:
        n = 1
        for _ in range(limit):
            root = prepare()
            with inject(n, err, under=root, wrap=wrap) as faults:
                result = run(root)
            yield Trial(err, n, faults.fired, root, result, tuple(faults.points))
            if faults.fired is None:
                break
            n += every
        else:
            raise AssertionError(f"{os.strerror(err)}: no completed run in {limit} trials")


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` → ``sha256:…`` / ``dir`` / ``link:target`` / ``special``."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[rel] = "link:" + os.readlink(path)
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = "dir"
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    found[rel] = "sha256:" + hashlib.sha256(handle.read()).hexdigest()
            else:
                found[rel] = "special"
    return found


# --------------------------------------------------------------------------- child processes

_ENV = "MLPROD_TEST_FAULTS"
_SITECUSTOMIZE = """\
import os
if os.environ.get("MLPROD_TEST_FAULTS"):
    from tests.reliability.faults import install_from_environment
    install_from_environment()
"""


def subprocess_env(
    fail_at: int, err: int = errnos.ENOSPC, *, under: Path, points_file: Path
) -> dict[str, str]:
    """Variables for a child Python process to inject the same faults.

    The child appends each point it reaches to ``points_file`` (a line each;
    the one that failed is also written as ``FIRED <point>``): read them with
    :func:`read_points`. Merge the result into the child's environment.
    """
    shim = points_file.parent / "faults-sitecustomize"
    shim.mkdir(parents=True, exist_ok=True)
    (shim / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    repo = Path(__file__).resolve().parents[2]
    path = [str(shim), str(repo)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    spec = {"fail_at": fail_at, "err": err, "under": str(under), "points": str(points_file)}
    return {_ENV: json.dumps(spec), "PYTHONPATH": os.pathsep.join(path)}


def install_from_environment() -> None:
    """Turn injection on for this whole process (called by the child's sitecustomize)."""
    spec = json.loads(os.environ[_ENV])
    points = open(spec["points"], "a", buffering=1)  # noqa: SIM115 - open for the whole run

    def record(point: str) -> None:
        points.write(point + "\n")

    manager = inject(spec["fail_at"], spec["err"], under=Path(spec["under"]), record=record)
    manager.__enter__()  # on for the rest of the process's life
    _STATE["process"] = manager  # (a collected generator would run its finally: off again)
    os.environ.pop(_ENV, None)  # not inherited by the child's own children


def read_points(points_file: Path) -> tuple[list[str], str | None]:
    """(points reached, the one that fired or None) of a child run."""
    lines = points_file.read_text().splitlines() if points_file.exists() else []
    fired = [line[6:] for line in lines if line.startswith("FIRED ")]
    return [line for line in lines if not line.startswith("FIRED ")], (fired[0] if fired else None)
