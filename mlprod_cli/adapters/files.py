"""Files as mlprod writes and reads them: atomic, whole, and never a stranger's.

Atomic writes: a temporary file in the same folder, then a rename. A reader
(or a crash) sees either the old file or the whole new one, never a truncated
one; a folder (``package``'s build context) is swapped in by one exchange of
names (:func:`swap_folder_in`).

A process killed outright (SIGKILL, the out-of-memory killer) cannot remove its
temporary file, and for ``predict`` that can be gigabytes. So the writer holds
an exclusive ``flock`` on its temporary file until the rename: the kernel drops
the lock when the process dies, and the next write to the same target removes
every temporary of that target that nobody holds any more. ``mlprod new``
stages a project the same way, in a temporary folder beside it.

A write the environment refuses (a full disk, a read-only file system, a
missing permission: :data:`ENVIRONMENT_ERRNOS`) is bad input, not a bug: one
``cannot write FILE: reason`` error. Files a person edits are read with
:func:`read_small_file`, which never waits on a FIFO nor reads a device.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mlprod_cli.errors import MlprodError

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


# What the environment says when it refuses a write (a full disk or quota, a read-only
# file system, permissions, a failing device, no descriptors left): never a bug of
# mlprod's, always the user's to fix. A path mlprod got wrong gives other errnos
# (ENOENT, ENOTDIR, EISDIR, EEXIST, EINVAL, EBADF), which stay bugs.
ENVIRONMENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EFBIG,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.EIO,
        errno.EMFILE,
        errno.ENFILE,
    }
)


def is_environment_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is the environment refusing (see :data:`ENVIRONMENT_ERRNOS`)."""
    return isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS


def cannot_write(target: os.PathLike | str, exc: OSError) -> MlprodError:
    """``cannot write TARGET: No space left on device`` (exit 2): the reason, by its errno."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return MlprodError(f"cannot write {_shown(target)}: {reason}")


def _shown(path: os.PathLike | str) -> Path:
    """``path`` as the user knows it: from the current folder when it is under it."""
    shown = Path(path)
    with contextlib.suppress(ValueError, OSError):
        shown = shown.absolute().relative_to(Path.cwd())
    return shown


@contextlib.contextmanager
def writing(target: os.PathLike | str) -> Iterator[None]:
    """Turn an environment fault inside the block into :func:`cannot_write` naming ``target``.

    For writes done by a library (pyarrow's, whose errors name no file): the
    block must only write ``target`` (or its temporary), so the error names it.
    """
    try:
        yield
    except OSError as exc:
        if not is_environment_fault(exc):
            raise
        raise cannot_write(target, exc) from None


class AtomicFile:
    """A file written whole or not at all: the temporary is made now, renamed by :meth:`commit`.

    Making it first tells early whether ``path`` can be written at all (a
    read-only folder, a missing permission), before anything else is done. An
    environment fault at any step is a one-line error naming ``path``, and
    leaves ``path`` as it was.
    """

    def __init__(self, path: os.PathLike | str):
        self.target = Path(path)
        for folder in (self.target.parent, *self.target.parent.parents):
            if os.path.lexists(folder):  # the nearest that exists must be a folder
                if not folder.is_dir():
                    raise MlprodError(
                        f"cannot write {_shown(self.target)}: {_shown(folder)} is a file, not a folder"
                    )
                break
        with writing(self.target):
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.fd, self.tmp = temp_beside(self.target)

    def commit(self, data: bytes) -> None:
        try:
            with writing(self.target):
                view = memoryview(data)
                while view:
                    view = view[os.write(self.fd, view) :]
                os.fsync(self.fd)
                os.replace(self.tmp, self.target)  # before closing: the lock guards it till then
        except BaseException:
            self.abort()
            raise
        fd, self.fd = self.fd, -1
        with contextlib.suppress(OSError):  # written, synced and renamed: nothing is lost
            os.close(fd)

    def abort(self) -> None:
        """Remove the temporary; ``path`` stays as it was."""
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            self.tmp.unlink(missing_ok=True)
        fd, self.fd = self.fd, -1
        with contextlib.suppress(OSError):
            os.close(fd)


def atomic_write_bytes(path: os.PathLike, data: bytes) -> None:
    AtomicFile(path).commit(data)


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


# --------------------------------------------------------------------------- folders

OLD_SUFFIX = ".old"


def staging_folder(target: Path) -> tuple[int, Path]:
    """A locked temporary folder beside ``target`` to build a replacement for it in.

    Leftovers of dead runs for ``target`` are dealt with first
    (:func:`recover_folder`). The folder gets the mode a new folder would get
    (mkdtemp makes 0700). Keep the descriptor open until :func:`swap_folder_in`
    is done, then close it.
    """
    recover_folder(target)
    fd, path = temp_beside(target, directory=True)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o777 & ~umask)
    return fd, path


def recover_folder(target: Path) -> None:
    """Undo what a run killed in the middle of :func:`swap_folder_in` left beside ``target``.

    A run that held the old folder aside (only where the file system cannot
    exchange two names at once) and died before the new one was in leaves
    ``target`` missing: the old folder is put back. Old folders of dead runs
    with ``target`` present are removed, and so are dead runs' temporaries.
    Folders named by the pid of a run of mlprod before 0.2 (``.NAME.tmp-PID``,
    ``.NAME.old-PID``) are handled the same way once that process is gone.
    """
    import fcntl
    import shutil

    held = []
    for path in target.parent.glob(f".{glob.escape(target.name)}.*{OLD_SUFFIX}"):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        held.append((fd, path))
    held += [(None, p) for p in _dead_pid_folders(target, "old")]
    try:
        for _fd, path in held:
            if not os.path.lexists(target):
                os.rename(path, target)  # the old folder, back where it was
            else:
                shutil.rmtree(path, ignore_errors=True)
    finally:
        for fd, _path in held:
            if fd is not None:
                os.close(fd)
    for path in _dead_pid_folders(target, "tmp"):
        shutil.rmtree(path, ignore_errors=True)
    remove_stale_temps(target)


def _dead_pid_folders(target: Path, kind: str) -> list[Path]:
    found = []
    for path in target.parent.glob(f".{glob.escape(target.name)}.{kind}-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or path.is_symlink() or not path.is_dir():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            found.append(path)
        except OSError:
            pass  # alive (another user's), or cannot tell: leave it
    return found


def swap_folder_in(staging: Path, target: Path) -> None:
    """Put the folder ``staging`` at ``target``; an existing ``target`` is removed once replaced.

    At every instant ``target`` is the old folder or the new one: the two names
    are exchanged in one step (``renameat2(RENAME_EXCHANGE)``) where the file
    system can, and the old folder is then removed from the staging name (by the
    next run, if this one dies first). Where it cannot, the old folder is moved
    aside, locked, under a name :func:`recover_folder` puts back if this run dies
    before the new one is in.
    """
    import shutil

    if not os.path.lexists(target):
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)
        return
    import fcntl
    import secrets

    old = target.parent / f".{target.name}.{secrets.token_hex(6)}{OLD_SUFFIX}"
    old_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        with contextlib.suppress(OSError):  # held while aside: only a dead run's is put back
            fcntl.flock(old_fd, fcntl.LOCK_EX)
        os.rename(target, old)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(old, target)
            raise
    finally:
        os.close(old_fd)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` in one step; False where the system cannot."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False  # glibc before 2.28, musl
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # this file system has no exchange
    raise OSError(code, os.strerror(code), str(b))
