"""The wheel of the running mlprod that new projects pin and install."""

from __future__ import annotations

import base64
import hashlib
import zipfile

from mlprod_cli import __version__
from mlprod_cli.adapters.wheel import build_self_wheel


def test_reproducible(tmp_path):
    first = build_self_wheel(tmp_path / "a")
    second = build_self_wheel(tmp_path / "b")
    assert first.sha256 == second.sha256
    assert first.name == f"mlprod-{__version__}-py3-none-any.whl"
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == first.sha256


def test_contents_and_record(tmp_path):
    wheel = build_self_wheel(tmp_path)
    with zipfile.ZipFile(wheel.path) as archive:
        names = set(archive.namelist())
        info = f"mlprod-{__version__}.dist-info"
        assert {"mlprod_cli/cli.py", f"{info}/METADATA", f"{info}/WHEEL", f"{info}/RECORD"} <= names
        assert "mlprod_cli/templates/classification/cookiecutter.json" in names
        # The HTML reports' templates (render.html reads them beside the module).
        assert {
            f"mlprod_cli/render/templates/{n}.html.j2" for n in ("base", "grid", "evaluate", "skew")
        } <= names
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
        assert "mlprod = mlprod_cli.cli:main" in archive.read(f"{info}/entry_points.txt").decode()
        assert "Requires-Dist: typer" in archive.read(f"{info}/METADATA").decode()
        for line in archive.read(f"{info}/RECORD").decode().splitlines():
            name, digest, size = line.split(",")
            if name.endswith("RECORD"):
                continue
            data = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}" and int(size) == len(data)
