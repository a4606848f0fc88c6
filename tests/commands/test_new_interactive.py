"""``mlprod new NAME`` at a terminal: the template's questions are seen, NAME is not asked.

Run in a pseudo-terminal (stdin and stderr), stdout a pipe, as ``mlprod new
… --format json | jq`` at a terminal is.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.scaffold.templates import TEMPLATES as TEMPLATE_TEXTS
from tests.core.scaffold.templates import write_template

pty = pytest.importorskip("pty")

TEMPLATES = Path("/nonexistent")  # where the templates are written, per module (below)


@pytest.fixture(scope="module", autouse=True)
def templates(tmp_path_factory) -> Path:
    """The test templates of tests/core/scaffold/templates.py, written out."""
    global TEMPLATES
    TEMPLATES = tmp_path_factory.mktemp("templates")
    for name in TEMPLATE_TEXTS:
        write_template(name, TEMPLATES)
    return TEMPLATES


def read_until(fd: int, text: str, seen: bytearray, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{text!r} never shown; the terminal shows: {seen.decode()!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
    return seen.decode("utf-8", "replace")


def test_questions_are_shown_on_the_terminal_and_name_is_not_asked(tmp_path):
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MLPROD_FORMAT")}
    env.update(TERM="xterm", COLUMNS="120")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlprod_cli", "new", "asked", "--format", "json",
         "--template", str(TEMPLATES / "hooks_print"), "--no-venv", "--no-git"],
        cwd=tmp_path, stdin=follower, stdout=subprocess.PIPE, stderr=follower, env=env,
    )  # fmt: skip
    os.close(follower)
    seen = bytearray()
    try:
        shown = read_until(leader, "greeting", seen)
        os.write(leader, b"bonjour\r")
        out, _ = process.communicate(timeout=120)
    finally:
        process.kill()
        shown = read_until(leader, "post-gen", seen, timeout=5) if process.poll() == 0 else shown
        os.close(leader)
    assert process.returncode == 0, seen.decode()
    assert "project_name" not in shown  # NAME is the answer: not asked again
    result = json.loads(out)  # the questions went to the terminal (stderr), not stdout
    assert result["project_dir"] == str(tmp_path / "asked")
    readme = (tmp_path / "asked" / "README.md").read_text()
    assert readme == "# asked\n\nbonjour\n"
    assert "hello" in shown  # the question with its default, as cookiecutter asks it
