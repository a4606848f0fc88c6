"""Bytecode for what a new project imports, without compiling the whole venv.

``PYTHONDONTWRITEBYTECODE=1`` (set on many CI images and on these machines)
means a fresh venv never gets ``.pyc`` files by being used, and every start
pays for compiling again: importing scikit-learn's metrics takes about three
times as long. ``pip install`` compiles every installed file, which is most of
its run time. mlprod compiles only what the project imports, and remembers it:

1. The first time a lock is installed, the project's first commands are run
   with bytecode writing on (``mlprod --help``, ``mlprod check``, and
   ``pytest --collect-only``, which imports the tests, the project's modules
   and, through them, the parts of the ML stack they use). The list of
   modules that got compiled is saved under the user cache, keyed by the
   lock's hash and the interpreter's cache tag.
2. The next time the same lock is installed, the list is known: each ``.pyc``
   that is still valid for the new file (same source size and mtime in its
   header: the very check Python's importer makes, and uv's hard links from
   its cache keep both) is copied from the cache; the rest is compiled by the
   venv's own interpreter in two processes. Nothing is imported or run.

A stale or missing cache entry costs only time, never correctness: Python
validates every ``.pyc`` against its source when importing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from mlprod_cli.adapters.files import atomic_write_text, cache_root

# pytest first, so that it imports (and rewrites) its plugins itself; then
# mlprod's own first commands in the same process.
_WARMUP = """\
import contextlib, io, runpy, sys
sys.argv = ['pytest', '--collect-only', '-q', '-p', 'no:cacheprovider']
try:
    runpy.run_module('pytest', run_name='__main__', alter_sys=True)
    code = 0
except SystemExit as stop:
    code = stop.code if isinstance(stop.code, int) else 1
from mlprod_cli.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    main(['--help']); main(['check'])
sys.exit(code)
"""

_COMPILE = """\
import py_compile, sys
from concurrent.futures import ProcessPoolExecutor

def compile_all(paths):
    failed = 0
    for path in paths:
        try:
            py_compile.compile(path, doraise=True)
        except (py_compile.PyCompileError, OSError, ValueError):
            failed += 1
    return failed

if __name__ == '__main__':
    paths = [line for line in sys.stdin.read().splitlines() if line]
    workers = max(1, min(int(sys.argv[1]), len(paths) // 50 or 1))
    if workers == 1:
        failed = compile_all(paths)
    else:
        with ProcessPoolExecutor(workers) as pool:
            failed = sum(pool.map(compile_all, [paths[i::workers] for i in range(workers)]))
    print(failed)
"""

_TAG_SCRIPT = "import sys, sysconfig; print(sys.implementation.cache_tag); print(sysconfig.get_paths()['purelib'])"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["MLPROD_NO_DELEGATE"] = "1"
    return env


def _interpreter_facts(python: Path) -> tuple[str, Path]:
    done = subprocess.run(
        [str(python), "-c", _TAG_SCRIPT], capture_output=True, text=True, check=True
    )
    tag, site = done.stdout.split("\n")[:2]
    return tag.strip(), Path(site.strip())


def _header_matches(pyc: bytes, source: Path) -> bool:
    """Whether a ``.pyc`` is valid for ``source`` as it is now, as importlib judges it.

    Timestamp-based files (flags 0) record the source's mtime and size;
    hash-based ones (flags bit 0, as pytest writes its rewritten modules)
    record the source's hash.
    """
    if len(pyc) < 16:
        return False
    flags = int.from_bytes(pyc[4:8], "little")
    if flags & 0b1:
        import importlib.util

        return pyc[8:16] == importlib.util.source_hash(source.read_bytes())
    if flags != 0:
        return False
    stat = source.stat()
    mtime = int(stat.st_mtime) & 0xFFFFFFFF
    size = stat.st_size & 0xFFFFFFFF
    return pyc[8:12] == mtime.to_bytes(4, "little") and pyc[12:16] == size.to_bytes(4, "little")


class Warmup:
    """Compiles a new venv's bytecode; ``start`` is quick, ``wait`` finishes the work.

    Started right after the install so that it overlaps with ``git commit``.
    """

    def __init__(self, python: Path, project: Path, lock: Path):
        self.python = python
        self.project = project
        self.lock = lock
        self.process: subprocess.Popen | None = None
        self.mode = ""

    def _key(self, tag: str) -> str:
        """The pinned versions, not the hashes: a rebuilt mlprod wheel keeps its listing."""
        from mlprod_cli.adapters.lockfile import read_lock

        pins = sorted(f"{pin.name}=={pin.version}" for pin in read_lock(self.lock))
        digest = hashlib.sha256("\n".join(pins).encode()).hexdigest()[:24]
        return f"{tag}-{digest}"

    def start(self) -> None:
        self.tag, self.site = _interpreter_facts(self.python)
        self.cache = cache_root() / "bytecode" / self.tag
        self.listing = cache_root() / "bytecode" / f"pyc-{self._key(self.tag)}.txt"
        if self.listing.is_file():
            self.mode = "cached"
            relative = self.listing.read_text(encoding="utf-8").splitlines()
            todo = self._restore(relative)
            todo += [str(p) for p in self._project_sources()]
            self.process = subprocess.Popen(
                [str(self.python), "-c", _COMPILE, str(os.cpu_count() or 1)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=_env(),
                text=True,
            )
            assert self.process.stdin is not None
            self.process.stdin.write("\n".join(todo))
            self.process.stdin.close()
        else:
            self.mode = "imports"
            self.process = subprocess.Popen(
                [str(self.python), "-c", _WARMUP],
                cwd=self.project,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=_env(),
                text=True,
            )

    def _project_sources(self) -> list[Path]:
        out: list[Path] = []
        for folder in ("src", "tests"):
            out += sorted((self.project / folder).rglob("*.py"))
        return out

    def _source_of(self, pyc: Path) -> Path | None:
        """``pkg/__pycache__/mod.<tag>[-pytest-X].pyc`` → ``pkg/mod.py``."""
        marker = f".{self.tag}"
        if pyc.parent.name != "__pycache__" or marker not in pyc.name:
            return None
        return pyc.parent.parent / (pyc.name.split(marker, 1)[0] + ".py")

    def _restore(self, relative: list[str]) -> list[str]:
        """Copy still-valid cached ``.pyc`` files in; return the sources left to compile.

        Entries are ``.pyc`` paths relative to site-packages: plain ones and
        the assertion-rewritten ones pytest keeps for its plugins (same
        header, so the same check applies). A stale pytest one is left for
        pytest to rewrite; a stale plain one is compiled again.
        """
        todo: list[str] = []
        for rel in relative:
            pyc = self.site / rel
            source = self._source_of(pyc)
            if source is None or not source.is_file():
                continue
            try:
                data = (self.cache / rel).read_bytes()
            except OSError:
                data = b""
            if data and _header_matches(data, source):
                pyc.parent.mkdir(exist_ok=True)
                pyc.write_bytes(data)
            elif "-pytest-" not in pyc.name:
                todo.append(str(source))
        return todo

    def _remember(self) -> None:
        """Record every ``.pyc`` made in site-packages, and keep a copy of each."""
        relative: list[str] = []
        for pyc in self.site.rglob(f"__pycache__/*.{self.tag}*.pyc"):
            source = self._source_of(pyc)
            if source is None or not source.is_file():
                continue
            rel = pyc.relative_to(self.site).as_posix()
            relative.append(rel)
            keep = self.cache / rel
            try:
                keep.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(pyc, keep)
            except OSError:
                return  # a read-only or full cache only costs speed next time
        try:
            atomic_write_text(self.listing, "\n".join(sorted(relative)) + "\n")
        except OSError:
            return

    def wait(self) -> str | None:
        """Finish; return a warning when something could not be compiled."""
        if self.process is None:
            return None
        assert self.process.stdout is not None
        output = self.process.stdout.read()
        code = self.process.wait()
        if self.mode == "imports":
            if code not in (0, 5):  # 5: pytest collected no tests
                last = [line for line in (output or "").splitlines() if line.strip()]
                return f"compiling the project's imports: collecting its tests failed ({last[-1] if last else code})"
            self._remember()
            return None
        if code != 0:
            return f"compiling the project's imports failed (exit {code})"
        return None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
