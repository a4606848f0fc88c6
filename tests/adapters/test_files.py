"""``adapters/files.py``: atomic writes, temporaries of dead writers, file hashes."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mlprod_cli.adapters import files
from mlprod_cli.adapters.files import (
    atomic_write_bytes,
    atomic_write_text,
    remove_stale_temps,
    sha256_file,
    temp_beside,
)
from mlprod_cli.errors import MlprodError


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(files.TMP_SUFFIX))


def test_atomic_write_creates_the_folder_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a" / "b" / "report.json"
    atomic_write_text(target, '{"é": 1}\n')
    assert target.read_bytes() == '{"é": 1}\n'.encode()
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert leftovers(target.parent) == []


def test_a_new_file_gets_the_umask_mode_and_a_replaced_file_keeps_its_own(tmp_path):
    old = os.umask(0o027)
    try:
        fresh = tmp_path / "fresh.txt"
        atomic_write_text(fresh, "x")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o640  # not mkstemp's 0600
    finally:
        os.umask(old)
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o604)
    atomic_write_text(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o604 and kept.read_text() == "new"


@pytest.mark.parametrize("step", ["write", "fsync", "replace"])
@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO, errno.EPERM, errno.EROFS])
def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(
    tmp_path, monkeypatch, step, err
):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def fault(*args):
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(files.os, step, fault)
    with pytest.raises(MlprodError) as caught:  # the environment's fault: exit 2, not a bug
        atomic_write_text(target, "new")
    assert caught.value.exit_code == 2
    assert str(caught.value) == f"cannot write {target}: {os.strerror(err)}"
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_an_error_that_is_not_the_environments_stays_what_it_is(tmp_path, monkeypatch):
    def wrong(*args):
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    monkeypatch.setattr(files.os, "fsync", wrong)
    with pytest.raises(OSError) as caught:
        atomic_write_text(tmp_path / "out.csv", "new")
    assert not isinstance(caught.value, MlprodError) and caught.value.errno == errno.EBADF
    assert leftovers(tmp_path) == []


def test_a_temporary_is_hidden_beside_its_target_and_locked(tmp_path):
    target = tmp_path / "model.skops"
    fd, path = temp_beside(target)
    try:
        assert path.parent == tmp_path
        assert path.name.startswith(".model.skops.") and path.name.endswith(".tmp")
        assert remove_stale_temps(target) == []  # held by this writer
    finally:
        os.close(fd)
    folder_fd, folder = temp_beside(target, directory=True)
    try:
        assert folder.is_dir() and folder.name.startswith(".model.skops.")
    finally:
        os.close(folder_fd)
    # Both writers gone: the next write to the target clears their leftovers.
    atomic_write_bytes(target, b"m")
    assert leftovers(tmp_path) == [] and target.read_bytes() == b"m"


def test_only_the_temporaries_of_dead_writers_are_removed(tmp_path):
    """The lock tells a leftover from a file another process is writing right now."""
    target = tmp_path / "out.csv"
    dead = subprocess.run(
        [sys.executable, "-c", "import sys, pathlib; from mlprod_cli.adapters.files import temp_beside;"
         " fd, path = temp_beside(pathlib.Path(sys.argv[1])); print(path)", str(target)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    fd, live = temp_beside(target)  # this one removed the dead one already
    try:
        assert not Path(dead).exists() and live.exists()
        assert remove_stale_temps(target) == []  # a live writer holds it
        assert live.exists()
        (tmp_path / ".out.csv.foreign.tmp").symlink_to(live)  # never followed
        (tmp_path / ".other.csv.abc.tmp").write_text("another target's")
        assert remove_stale_temps(target) == []
    finally:
        os.close(fd)
    assert remove_stale_temps(target) == [live]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".other.csv.abc.tmp",
        ".out.csv.foreign.tmp",
    ]


def test_a_target_name_with_glob_characters_matches_only_itself(tmp_path):
    odd = tmp_path / "out[1].csv"
    other = tmp_path / ".out1.csv.x.tmp"  # what an unescaped pattern would match
    other.write_text("not ours")
    atomic_write_text(odd, "a")
    assert remove_stale_temps(odd) == [] and other.exists()


def test_sha256_file_reads_in_chunks(tmp_path):
    path = tmp_path / "data.bin"
    data = os.urandom(10_000)
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(path, chunk=7) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("exchange", [True, False])
def test_a_folder_swapped_in_replaces_the_old_one_and_leaves_nothing_beside(
    tmp_path, monkeypatch, exchange
):
    if not exchange:
        monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    target = tmp_path / "docker"
    target.mkdir()
    (target / "old.txt").write_text("old")
    fd, staging = files.staging_folder(target)
    try:
        assert stat.S_IMODE(staging.stat().st_mode) == 0o777 & ~_umask()
        (staging / "new.txt").write_text("new")
        files.swap_folder_in(staging, target)
    finally:
        os.close(fd)
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker"]


def test_recovery_puts_back_an_old_folder_a_dead_run_set_aside(tmp_path):
    target = tmp_path / "docker"
    aside = tmp_path / f".docker.0123456789ab{files.OLD_SUFFIX}"
    aside.mkdir()
    (aside / "old.txt").write_text("old")
    files.recover_folder(target)  # nobody holds it: its run is dead
    assert (target / "old.txt").read_text() == "old" and not aside.exists()
    aside.mkdir()  # with the name taken again, a dead run's old folder is only garbage
    files.recover_folder(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
