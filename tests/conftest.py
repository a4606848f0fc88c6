"""Fixtures shared by every layer of tests."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlprod_cli.core.scaffold import NewRequest, create_project
from mlprod_cli.core.workspace import Workspace


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory):
    """No test hands over to a project's venv or writes mlprod's real cache.

    Session-wide (not per test) so that module-scoped fixtures see it too, and
    so that end-to-end tests share one bytecode cache as a user's runs would.
    """
    saved = {
        k: os.environ.get(k) for k in ("MLPROD_NO_DELEGATE", "MLPROD_CACHE_DIR", "MLPROD_DEBUG")
    }
    os.environ["MLPROD_NO_DELEGATE"] = "1"
    os.environ["MLPROD_CACHE_DIR"] = str(tmp_path_factory.mktemp("mlprod-cache"))
    os.environ.pop("MLPROD_DEBUG", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def rendered_project(tmp_path_factory) -> Path:
    """The default template rendered once (no venv, no git): copy it before changing it.

    Without the sample's example rule (``rules.yaml``): the outputs the tests pin
    are those of a project without rules. The rules' tests put rules back
    (``rules_trained_project``, ``tests/commands/test_rules.py``).
    """
    out = tmp_path_factory.mktemp("rendered")
    result = create_project(
        NewRequest(name="skin-lesions", output_dir=out, no_input=True, venv=False, git=False)
    )
    drop_sample_rules(result.project_dir)
    return result.project_dir


def drop_sample_rules(project: Path) -> None:
    """Remove the sample's ``rules.yaml`` and the ``rules:`` line that names it."""
    (project / "rules.yaml").unlink()
    config = project / "mlprod.yaml"
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(x for x in lines if not x.startswith("rules:")))


@pytest.fixture
def project(rendered_project, tmp_path) -> Path:
    """A private copy of the rendered project, free to edit."""
    dest = tmp_path / rendered_project.name
    shutil.copytree(rendered_project, dest)
    return dest


def _tree_snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def tree_snapshot():
    """``tree_snapshot(root)``: every file with its bytes, to prove a command changed nothing."""
    return _tree_snapshot


@pytest.fixture(scope="session")
def trained_project(rendered_project, tmp_path_factory) -> Path:
    """The rendered project with a baseline (v0001) and a model (v0002) trained, none active."""
    from mlprod_cli.core.train import train

    dest = tmp_path_factory.mktemp("trained") / rendered_project.name
    shutil.copytree(rendered_project, dest)
    train(Workspace.load(dest), cv=0)
    return dest


@pytest.fixture(scope="session")
def served(trained_project):
    """v0002's training rows and scorer, to write request logs with (tests/request_logs.py)."""
    from tests.request_logs import ServedRows

    return ServedRows.of(trained_project, "v0002")


@pytest.fixture
def trained(trained_project, tmp_path) -> Path:
    """A private copy of the trained project."""
    dest = tmp_path / trained_project.name
    shutil.copytree(trained_project, dest)
    return dest


@pytest.fixture
def two_models(trained):
    """A private trained project with a second model: v0002 as trained, v0003 with C = 0.05."""
    from mlprod_cli.core.code import build_estimator
    from mlprod_cli.core.train import train

    workspace = Workspace.load(trained)
    other = build_estimator(workspace.config, "model").set_params(classifier__C=0.05)
    train(workspace, kinds=("model",), cv=0, estimators={"model": other})
    return trained


# --------------------------------------------------------------------------- PostgreSQL

# A real, private PostgreSQL server for the store tests: no mock, no shared server.
#
# ``postgres_server`` (session) runs ``initdb`` into a fresh folder under /tmp and
# starts the cluster on 127.0.0.1 with a free port and its socket in that folder,
# with password (SCRAM) authentication over TCP and a login role ``mlprod``.
# ``pg_url`` (per test) creates an empty database owned by that role and returns
# its ``postgresql://`` URL, password included.
#
# PostgreSQL refuses to run as root, so as root the server runs as the
# ``postgres`` system user (Debian's package creates it) through ``runuser``.
# Without the server binaries the tests are skipped, except in CI (``CI=true``),
# where they must run: there the fixture fails instead.

ROLE = "mlprod"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    socket_dir: Path
    password: str

    def url(self, database: str) -> str:
        return f"postgresql://{ROLE}:{self.password}@{self.host}:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run ``sql`` as the superuser, over the unix socket (trusted, no password)."""
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="postgres", dbname="postgres",
            autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(sql)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
    pytest.skip(reason)


def _binaries() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _binaries()
    if bindir is None or not (bindir / "pg_ctl").exists():
        _unavailable(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); "
            "install them with: apt-get install postgresql"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'psycopg[binary]')")

    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        import pwd

        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no 'postgres' system user to run the server")
        if shutil.which("runuser") is None:
            _unavailable("running as root and 'runuser' is missing")
        as_user = ["runuser", "-u", "postgres", "--"]

    # Under /tmp rather than pytest's tmp_path: that one is mode 0700 for root, and
    # the server runs as another user.
    base = Path(tempfile.mkdtemp(prefix="mlprod-pg-"))
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data, log = base / "data", base / "server.log"
    password = "pw-" + secrets.token_hex(12)
    pwfile = base / "pwfile"
    pwfile.write_text(
        secrets.token_hex(16) + "\n"
    )  # the superuser's, never used (socket is trusted)
    if owner is not None:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)

    def run(*args: str) -> None:
        done = subprocess.run(
            [*as_user, *args], capture_output=True, text=True, timeout=120, cwd=base
        )
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            server_log = log.read_text()[-2000:] if log.exists() else ""
            pytest.fail(f"{Path(args[0]).name} failed: {' | '.join(detail)}\n{server_log}")

    port = _free_port()
    started = False
    try:
        run(
            str(bindir / "initdb"),
            "-D", str(data),
            "-U", "postgres",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {base} "
            "-c fsync=off -c full_page_writes=off -c max_connections=50"
        )
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
            "-o", options, "start")  # fmt: skip
        started = True
        server = PostgresServer("127.0.0.1", port, base, password)
        server.admin(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{password}'")
        yield server
    finally:
        if started:
            subprocess.run(
                [
                    *as_user,
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database for one test, owned by the password-protected role."""
    name = "t_" + secrets.token_hex(6)
    postgres_server.admin(f"CREATE DATABASE {name} OWNER {ROLE}")
    return postgres_server.url(name)


@pytest.fixture
def active(trained) -> Path:
    """A private copy of the trained project with v0001 (baseline) and v0002 (model) active."""

    registry = Workspace.load(trained).registry
    registry.activate(registry.get("v0001"))
    registry.activate(registry.get("v0002"))
    return trained


# --------------------------------------------------------------------------- rules

RULES_TEXT = """\
rules_policy: first
fallback: abstain
fields: {referral: string}
rules:
  - id: no_sk_on_palms_soles
    when: 'anatomic_site == "palms/soles"'
    deny_classes: [seborrheic_keratosis]
  - id: kids
    when: 'age < 18'
    abstain: true
  - id: referred
    when: 'referral == "dermatologist"'
    force: melanoma
  - id: trunk_two
    when: 'anatomic_site == "trunk" && age > 70'
    allow_classes: [melanoma, nevus]
"""


@pytest.fixture(scope="session")
def rules_trained_project(rendered_project, tmp_path_factory) -> Path:
    """The rendered project with ``rules.yaml`` (RULES_TEXT): v0001 baseline, v0002 model."""
    from mlprod_cli.core.train import train

    dest = tmp_path_factory.mktemp("rules-trained") / rendered_project.name
    shutil.copytree(rendered_project, dest)
    (dest / "rules.yaml").write_text(RULES_TEXT)
    config = dest / "mlprod.yaml"
    config.write_text(config.read_text() + "rules: rules.yaml\n")
    train(Workspace.load(dest), cv=0)
    return dest


@pytest.fixture
def rules_trained(rules_trained_project, tmp_path) -> Path:
    """A private copy of the project trained with rules."""
    dest = tmp_path / rules_trained_project.name
    shutil.copytree(rules_trained_project, dest)
    return dest
