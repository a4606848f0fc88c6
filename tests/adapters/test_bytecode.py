"""Reusing ``.pyc`` files across new venvs: only when importlib would accept them."""

from __future__ import annotations

import os
import py_compile
import sys

import pytest

from mlprod_cli.adapters.bytecode import _header_matches


@pytest.mark.parametrize(
    "mode",
    [py_compile.PycInvalidationMode.TIMESTAMP, py_compile.PycInvalidationMode.CHECKED_HASH],
)
def test_header_check_follows_importlib(tmp_path, mode):
    source = tmp_path / "mod.py"
    source.write_text("x = 1\n")
    os.utime(source, (1_700_000_000, 1_700_000_000))
    pyc = tmp_path / "mod.pyc"
    py_compile.compile(str(source), cfile=str(pyc), invalidation_mode=mode, doraise=True)
    data = pyc.read_bytes()
    assert _header_matches(data, source)
    # a copy of the same file elsewhere (uv hard-links from its cache) still matches
    twin = tmp_path / "twin.py"
    twin.write_bytes(source.read_bytes())
    os.utime(twin, (1_700_000_000, 1_700_000_000))
    assert _header_matches(data, twin)
    # an edited source does not (same size, new content and mtime)
    source.write_text("x = 2\n")
    if mode is py_compile.PycInvalidationMode.TIMESTAMP:
        os.utime(source, (1_700_000_500, 1_700_000_500))
    assert not _header_matches(data, source)


def test_garbage_never_matches(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("")
    assert not _header_matches(b"", source)
    assert not _header_matches(b"\x00" * 4 + (2).to_bytes(4, "little") + b"\x00" * 8, source)
    assert sys.implementation.cache_tag  # the cache is keyed by it
