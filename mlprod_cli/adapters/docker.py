"""The docker command line: is a daemon there, build an image, how big it is.

mlprod talks to Docker through the ``docker`` client rather than an SDK: the
client is what users have, it honours their contexts, ``DOCKER_HOST`` and
``DOCKER_BUILDKIT``, and it keeps one more heavy dependency out of mlprod.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from mlprod_cli.errors import EnvironmentProblem

_PROBE_SECONDS = 15


def client() -> str | None:
    return shutil.which("docker")


def daemon_problem() -> str | None:
    """None when a docker daemon answers; otherwise why not, in a few words."""
    docker = client()
    if docker is None:
        return "the docker command is not installed"
    try:
        done = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=_PROBE_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return f"the docker daemon did not answer within {_PROBE_SECONDS} s"
    except OSError as exc:
        return f"docker cannot be started ({exc.strerror})"
    if done.returncode != 0 or not done.stdout.strip():
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"docker version exited with {done.returncode}"
        return f"no docker daemon is reachable ({reason})"
    return None


def build(context: Path, tag: str, build_args: dict[str, str]) -> str:
    """``docker build`` ``context`` as ``tag``; return the image id.

    Docker's own output goes to stderr, so that stdout keeps only mlprod's
    report (``--format json`` stays parseable).
    """
    docker = client() or "docker"
    command = [docker, "build", "--tag", tag]
    for key, value in build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    command.append(str(context))
    sys.stderr.flush()
    done = subprocess.run(command, stdout=sys.stderr.fileno(), check=False)
    if done.returncode != 0:
        raise EnvironmentProblem(
            f"docker build of {context} failed (exit code {done.returncode})",
            hint="its output above says why",
        )
    return inspect(tag, "{{.Id}}")


def inspect(image: str, template: str) -> str:
    docker = client() or "docker"
    done = subprocess.run(
        [docker, "image", "inspect", "--format", template, image],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise EnvironmentProblem(f"docker image inspect {image} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def image_size(image: str) -> int:
    return int(inspect(image, "{{.Size}}"))
