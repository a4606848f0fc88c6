"""Security: secrets stay secret, artifacts are checked, templates stay inside, serve stays local.

Already covered elsewhere, and not repeated here:

* the store's own messages, reprs, logs and files without the password, wrong
  password and unreachable server, malformed URLs, and ``metrics history``
  through the CLI (tests/adapters/store/test_postgres.py, test_base.py);
* a tampered artifact and ``os.system`` planted in one refused by the registry,
  and ``models activate`` refusing a tampered artifact (tests/core/registry/test_registry.py,
  tests/commands/test_models.py);
* ``-e`` answers with ``../``, absolute paths or Jinja expressions, and project
  names that are paths (tests/core/scaffold/test_scaffold.py);
* ``prepare`` binding 127.0.0.1 and a real ``serve`` listening on loopback only
  with the template's ``serve: {host: 127.0.0.1}`` (tests/core/serve/test_server.py,
  tests/e2e/test_serve_e2e.py).

Added here: the password through every command that touches the store or
writes files (train, evaluate in every format, metrics history with a plot,
predict, serve's request log, skew, models, check), with the errors of a wrong
password, an unreachable port and an unknown host, with and without ``-v``;
``predict``, ``evaluate`` and a real ``serve`` refusing a tampered artifact and
one holding a live payload (exit 2, one line, nothing written, the payload never
run); answers that reach a path only through another variable's default; and
the built-in 127.0.0.1 default when ``mlprod.yaml`` has no ``serve:`` at all.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from mlprod_cli.adapters.files import sha256_file
from mlprod_cli.adapters.store import ENV_VAR
from mlprod_cli.cli import main
from mlprod_cli.core.config import load_config
from mlprod_cli.core.registry import ARTIFACT, METADATA
from mlprod_cli.core.workspace import Workspace
from tests.serving import ROW

# Characters a password may hold that URLs must percent-encode, and libpq decodes.
PASSWORD = "s3cr@t/p:ss?w#rd%x&y=z"


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    seen = capsys.readouterr()
    return code, seen.out, seen.err


def error_line(err: str) -> str:
    """The one ``error:`` line, last on stderr (after any finished steps), no traceback."""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and err.splitlines()[-1] == errors[0], err
    assert "Traceback" not in err
    return errors[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- (a) the password


@pytest.fixture
def secret_url(postgres_server) -> str:
    """A database of a role whose password needs percent-encoding in the URL."""
    role, database = "secretive", "secret_metrics"
    postgres_server.admin(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    postgres_server.admin(f"CREATE DATABASE {database} OWNER {role}")
    host = f"{postgres_server.host}:{postgres_server.port}"
    return f"postgresql://{role}:{quote(PASSWORD, safe='')}@{host}/{database}"


def test_the_store_password_from_the_environment_shows_up_nowhere(
    active, secret_url, monkeypatch, capsys, caplog
):
    from fastapi.testclient import TestClient

    from mlprod_cli.core.serve import ServeOptions, create_app

    wrong = PASSWORD[::-1]
    forms = {p for pw in (PASSWORD, wrong) for p in (pw, quote(pw, safe=""), quote(pw))}
    caplog.set_level(logging.DEBUG)
    monkeypatch.chdir(active)
    monkeypatch.setenv(ENV_VAR, secret_url)
    streams: list[str] = []

    def done(*args: str, codes: tuple[int, ...] = (0,)) -> str:
        code, out, err = run(list(args), capsys)
        streams.extend((out, err))
        assert code in codes, err
        return out

    done("train", "--cv", "0", "--activate")  # the activation's gates run evaluate
    evaluations = [
        ["evaluate", "--format", "json", "--slice-by", "sex"],
        *(
            ["evaluate", "--format", form, "--output", f"reports/evaluate.{form}", "--no-gate"]
            for form in ("table", "markdown", "junit", "html")
        ),
        ["evaluate", "--predictions", "data/lesions.csv", "--label-col", "diagnosis",
         "--pred-col", "diagnosis", "--no-gate"],
    ]  # fmt: skip
    for args in evaluations:
        done(*args)
    history = json.loads(done("metrics", "history", "--format", "json", "--metric", "accuracy"))
    assert len(history["points"]) == len(evaluations)  # every run went to PostgreSQL
    done("metrics", "history", "--plot", "reports/history.png")
    done("predict", "data/lesions.csv", "--output", "reports/predictions.csv")
    done("models", "list")
    done("models", "show", "v0004")
    done("check", "--format", "json", codes=(0, 1))  # 1: this copy has no .venv
    app = create_app(Workspace.load(active), ServeOptions())
    with TestClient(app) as client:
        assert client.post("/predict", json=ROW).status_code == 200
        for path in ("/metadata", "/metrics", "/health", "/ready"):
            streams.append(client.get(path).text)
    done("skew", "--format", "json", "--output", "reports/skew.json", codes=(0, 1))

    # Every way the store can fail, with and without tracebacks.
    port = free_port()
    broken = {
        "wrong password": secret_url.replace(quote(PASSWORD, safe=""), quote(wrong, safe="")),
        "unreachable": re.sub(r"@[^/]+/", f"@127.0.0.1:{port}/", secret_url),
        "unknown host": re.sub(r"@[^/]+/", "@no-such-host.invalid:5432/", secret_url),
    }
    assert quote(wrong, safe="") in broken["wrong password"]
    reasons = {
        "wrong password": '/secret_metrics: password authentication failed for user "secretive"',
        "unreachable": f"@127.0.0.1:{port}/secret_metrics: connection refused",
        "unknown host": "@no-such-host.invalid:5432/secret_metrics: unknown host",
    }
    for what, url in broken.items():
        monkeypatch.setenv(ENV_VAR, url)
        for verbose in ([], ["-v"]):
            for args in (["evaluate"], ["metrics", "history"]):
                monkeypatch.setenv("MLPROD_DEBUG", "0")  # -v sets it to 1 in-process
                code, out, err = run([*verbose, *args], capsys)
                streams.extend((out, err))
                assert code == 2, (what, err)
                error = error_line(err) if not verbose else err.splitlines()[-1]
                assert error.startswith(
                    "error: cannot reach the metrics store postgresql://secretive:***@"
                )
                assert error.endswith(reasons[what]), error

    text = "\n".join(streams)
    text += "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for form in forms:
        assert form not in text
    written = ["models/v0004/metadata.json", "reports/evaluate.html", "reports/history.png",
               "reports/predictions.csv", "reports/skew.json"]  # fmt: skip
    assert all((active / name).is_file() for name in written)
    assert list((active / "logs" / "requests").glob("requests-*.jsonl"))
    for path in active.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for form in forms:
                assert form.encode() not in data, path


# --------------------------------------------------------------------------- (b) artifacts

PAYLOAD = textwrap.dedent(
    """
    import os


    class Payload:
        def __init__(self):
            self.armed = True

        # Runs when the object is rebuilt: proof that loading executed foreign code.
        def __setstate__(self, state):
            open(os.environ["PAYLOAD_RAN"], "w").write("ran")
    """
)


@pytest.fixture
def payload(tmp_path, monkeypatch):
    """``(Payload instance, marker path)``: the module is importable, here and in children."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "evil_payload.py").write_text(PAYLOAD)
    marker = tmp_path / "payload-ran"
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", f"{folder}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("PAYLOAD_RAN", str(marker))
    import evil_payload

    return evil_payload.Payload(), marker


def plant(version_path: Path, obj) -> None:
    """Replace the artifact with ``obj`` and make the metadata's hash match it."""
    import skops.io as sio

    sio.dump(obj, version_path / ARTIFACT)
    metadata = json.loads((version_path / METADATA).read_text())
    metadata["artifact_sha256"] = sha256_file(version_path / ARTIFACT)
    (version_path / METADATA).write_text(json.dumps(metadata))


def test_the_payload_is_live_when_loaded_without_the_type_check(payload, tmp_path):
    """The control for the test below: skops trusting everything would run it."""
    import skops.io as sio

    obj, marker = payload
    sio.dump({"payload": obj}, tmp_path / "a.skops")
    sio.load(tmp_path / "a.skops", trusted=sio.get_untrusted_types(file=tmp_path / "a.skops"))
    assert marker.read_text() == "ran"


def serve_once(project: Path, *args: str) -> tuple[int, str]:
    process = subprocess.run(
        [sys.executable, "-m", "mlprod_cli", "serve", "--port", "0", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return process.returncode, process.stderr


@pytest.mark.slow
@pytest.mark.parametrize("attack", ["tampered", "payload"])
def test_predict_evaluate_and_serve_refuse_the_artifact(
    attack, active, payload, capsys, tree_snapshot, monkeypatch
):
    model = active / "models" / "v0002"
    if attack == "tampered":
        with (model / ARTIFACT).open("ab") as handle:
            handle.write(b"\0")
        expected = "v0002: model.skops does not match its metadata"
    else:
        registry = Workspace.load(active).registry
        plant(model, {"model": registry.load(registry.get("v0002")), "payload": payload[0]})
        expected = "v0002: model.skops holds types that are not trusted: evil_payload.Payload"
    monkeypatch.chdir(active)
    before = tree_snapshot(active)
    for args in (
        ["predict", "data/lesions.csv", "--output", "predictions.csv"],
        ["evaluate", "--model", "v0002"],
    ):
        code, out, err = run(args, capsys)
        assert code == 2, err
        assert error_line(err).startswith(f"error: {expected}")
        assert out == ""
    code, err = serve_once(active)
    assert code == 2 and error_line(err).startswith(f"error: {expected}")
    assert tree_snapshot(active) == before  # no predictions, no stored run, no request log
    assert not payload[1].exists()


# --------------------------------------------------------------------------- (c) templates


def custom_template(tmp_path: Path, root_name: str) -> Path:
    """A template whose path variable ``sub`` defaults to another answer, ``author``."""
    template = tmp_path / "template"
    inner = template / root_name / "{{cookiecutter.sub}}"
    inner.mkdir(parents=True)
    (inner / "notes.txt").write_text("hello\n")
    variables = {
        "project_name": "demo",
        "author": "someone",
        "sub": "{{ cookiecutter.author }}",
        "slug": "{{ cookiecutter.author }}",
    }
    (template / "cookiecutter.json").write_text(json.dumps(variables))
    return template


@pytest.mark.parametrize(
    ("root_name", "author"),
    [
        ("{{cookiecutter.project_name}}", "../../../../escaped"),
        ("{{cookiecutter.project_name}}", "a/../../../escaped"),
        ("{{cookiecutter.project_name}}", "/tmp/mlprod-escaped"),
        ("{{cookiecutter.slug}}", "../escaped"),
        ("{{cookiecutter.slug}}", ".."),
    ],
)
def test_an_answer_reaching_a_path_through_a_default_cannot_escape(
    root_name, author, tmp_path, monkeypatch, capsys, tree_snapshot
):
    template = custom_template(tmp_path, root_name)
    out = tmp_path / "deep" / "er" / "out"
    out.mkdir(parents=True)
    monkeypatch.chdir(out)
    before = tree_snapshot(tmp_path)
    code, stdout, err = run(
        ["new", "demo", "--no-input", "--no-venv", "--no-git", "--template", str(template),
         "-e", f"author={author}"],
        capsys,
    )  # fmt: skip
    assert code == 2, err
    assert err.startswith(f"error: template {template}: ") and err.count("\n") == 1, err
    assert "outside the project" in err
    assert stdout == ""
    assert tree_snapshot(tmp_path) == before  # nothing written, here or above
    assert not Path("/tmp/mlprod-escaped").exists()


def test_a_path_answer_that_stays_inside_is_fine(tmp_path, monkeypatch, capsys):
    template = custom_template(tmp_path, "{{cookiecutter.project_name}}")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(
        ["new", "demo", "--no-input", "--no-venv", "--no-git", "--template", str(template),
         "-e", "author=docs/../notes"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "demo" / "notes" / "notes.txt").read_text() == "hello\n"


# --------------------------------------------------------------------------- (d) serve binds


def test_serve_listens_on_loopback_when_nothing_says_otherwise(active):
    """No ``serve:`` in mlprod.yaml and no --host: 127.0.0.1, and only that."""
    from mlprod_cli.commands.serve import serve as serve_command
    from mlprod_cli.core.serve import ServeOptions, prepare

    assert inspect.signature(serve_command).parameters["host"].default is None
    config_file = active / "mlprod.yaml"
    text = config_file.read_text()
    config_file.write_text(re.sub(r"(?m)^serve:.*\n", "", text))
    config = load_config(active)
    assert config.serve.host == "127.0.0.1"
    wide = prepare(Workspace(config), ServeOptions(host="0.0.0.0", port=0, log_dir=active / "l"))
    try:  # --host is the way to listen elsewhere
        assert wide.socket.getsockname()[0] == "0.0.0.0"
    finally:
        wide.socket.close()

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlprod_cli", "serve", "--port", str(port)],
        cwd=active,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "serve never got ready"
                time.sleep(0.1)
        listening = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                listening.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
        assert listening == {"127.0.0.1"}
        v6 = Path("/proc/net/tcp6")
        if v6.exists():
            assert f":{port:04X} " not in v6.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"at http://127.0.0.1:{port} " in err
