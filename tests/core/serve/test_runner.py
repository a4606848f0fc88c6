"""prepare: the checks before a server starts, and the port it binds."""

from __future__ import annotations

import socket

import pytest

from mlprod_cli.core.registry import RegistryError
from mlprod_cli.core.serve import ServeOptions, prepare
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import UsageError


def test_prepare_without_an_active_model_names_the_commands_that_make_one(trained):
    with pytest.raises(RegistryError) as caught:
        prepare(Workspace.load(trained), ServeOptions(port=0))
    assert caught.value.exit_code == 2
    assert "mlprod train --activate" in caught.value.hint
    assert "mlprod models activate VERSION" in caught.value.hint


def test_prepare_refuses_a_port_in_use_naming_it(served_project, tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        with pytest.raises(UsageError) as caught:
            prepare(Workspace.load(served_project), ServeOptions(port=port, log_dir=tmp_path))
    finally:
        holder.close()
    assert caught.value.exit_code == 2
    assert f"--port {port}" in caught.value.message and "in use" in caught.value.message


def test_prepare_binds_loopback_by_default_and_loads_the_model(served_project, tmp_path):
    server = prepare(Workspace.load(served_project), ServeOptions(port=0, log_dir=tmp_path / "l"))
    try:
        assert server.host == "127.0.0.1"
        assert server.socket.getsockname()[0] == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.model is not None and server.model.id == "v0002"
        assert (tmp_path / "l").is_dir()
    finally:
        server.socket.close()
