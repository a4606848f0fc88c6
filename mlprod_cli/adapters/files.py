"""Atomic writes: a temporary file in the same folder, then a rename.

A reader (or a crash) sees either the old file or the whole new one, never a
truncated one.

A process killed outright (SIGKILL, the out-of-memory killer) cannot remove its
temporary file, and for ``predict`` that can be gigabytes. So the writer holds
an exclusive ``flock`` on its temporary file until the rename: the kernel drops
the lock when the process dies, and the next write to the same target removes
every temporary of that target that nobody holds any more. ``mlprod new``
stages a project the same way, in a temporary folder beside it.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import stat
import tempfile
from pathlib import Path

TMP_SUFFIX = ".tmp"


def temp_beside(target: Path, *, directory: bool = False) -> tuple[int, Path]:
    """A new temporary file (or folder) beside ``target``: its descriptor, locked, and path.

    A file gets the mode ``target`` has, or the mode a new file would get.
    Keep the descriptor open until the temporary is renamed or removed: while
    it is open, :func:`remove_stale_temps` of another process leaves it alone.
    Stale temporaries of ``target`` left by killed processes are removed first.
    """
    import fcntl

    remove_stale_temps(target)
    prefix, where = f".{target.name}.", target.parent
    while True:
        if directory:
            name = tempfile.mkdtemp(prefix=prefix, suffix=TMP_SUFFIX, dir=where)
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY)
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=TMP_SUFFIX, dir=where)
        with contextlib.suppress(OSError):  # no locks on this file system: no cleanup either
            fcntl.flock(fd, fcntl.LOCK_EX)
        if not directory:
            os.fchmod(fd, _default_mode(target))  # mkstemp makes 0600
        # Another process's cleanup may have taken the unlocked temporary in the instant
        # between its creation and flock (it removes only what it holds locked): again.
        try:
            if os.path.samestat(os.stat(name), os.fstat(fd)):
                return fd, Path(name)
        except FileNotFoundError:
            pass
        os.close(fd)


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporaries of ``target`` whose writer is gone; return them."""
    import fcntl
    import shutil

    removed = []
    for path in target.parent.glob(f".{glob.escape(target.name)}.*{TMP_SUFFIX}"):
        try:
            # Not following a symlink, not blocking on a FIFO: only our own files.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # gone already, or a symlink: not ours
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live writer holds it (or the file system has no locks)
            continue
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False)):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def atomic_write_bytes(path: os.PathLike, data: bytes) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(tmp, target)  # before closing: the lock guards the file until then
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _default_mode(target: Path) -> int:
    """The mode an ordinary new file gets (mkstemp makes 0600), or the replaced file's."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file, read in chunks (models and data can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def cache_root() -> Path:
    """mlprod's cache folder (``MLPROD_CACHE_DIR``, else the XDG cache)."""
    if os.environ.get("MLPROD_CACHE_DIR"):
        return Path(os.environ["MLPROD_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mlprod"


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def read_small_file(path: os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (links followed), at most ``limit`` of them.

    For files a person edits (``mlprod.yaml``, the lock): opened without blocking,
    so a FIFO cannot hang the command, and refused unless it is a regular file no
    larger than ``limit`` (``/dev/zero`` never ends). Raises OSError whose
    ``strerror`` says what the path is instead ("a FIFO, not a regular file").
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        if not os.path.islink(path):
            raise
        target = os.readlink(path)
        raise FileNotFoundError(
            errno.ENOENT, f"a symbolic link to {target}, which does not exist", os.fspath(path)
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "a special file")
            raise OSError(errno.EINVAL, f"{kind}, not a regular file", os.fspath(path))
        chunks, size = [], 0
        while size <= limit and (block := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(block)
            size += len(block)
        if size > limit:
            raise OSError(errno.EFBIG, f"larger than {limit:,} bytes", os.fspath(path))
        return b"".join(chunks)
    finally:
        os.close(fd)
