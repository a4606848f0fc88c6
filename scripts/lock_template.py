"""Regenerate the classification template's ``requirements.lock``.

Run from a checkout with mlprod installed (``pip install -e .``)::

    python scripts/lock_template.py [--upgrade]

It renders the template, packs the running mlprod into a wheel, and asks
``uv pip compile`` for a universal lock (every supported Python, every
platform's hashes) of the project's dependencies plus all its extras (``batch``, ``dev``).
The mlprod pin is then turned back into template variables, because ``new``
packs mlprod afresh for every project and pins that wheel's hash. The lock is
written in the requirements format with hashes and no index URL.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter
from uv import find_uv_bin

from mlprod_cli.adapters.wheel import build_self_wheel

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "classification"
TARGET = TEMPLATE / "{{cookiecutter.project_name}}" / "requirements.lock"
HEADER = """\
# The exact packages of this project, with the hash of every file that may be
# installed. Install with hash checking on:
#   pip install --require-hashes --no-deps -r requirements.lock --find-links wheels
# mlprod itself is the wheel in wheels/ (pinned below by its hash).
# Regenerate after changing pyproject.toml:
#   uv pip compile pyproject.toml --all-extras --universal --generate-hashes \\
#     --find-links wheels --no-header -o requirements.lock
"""
MLPROD_PIN = re.compile(r"^mlprod==\S+ \\\n(    --hash=sha256:[0-9a-f]{64}\n)", re.MULTILINE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="Take the newest versions allowed.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wheel = build_self_wheel(work / "wheels")
        project = Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                output_dir=str(work),
                extra_context={
                    "_mlprod_version": wheel.version,
                    "_mlprod_wheel_sha256": wheel.sha256,
                },
            )
        )
        # The rendered project carries the current lock: uv keeps its pins as
        # preferences where they are still valid (unless --upgrade).
        command = [
            find_uv_bin(), "pip", "compile", "pyproject.toml", "--all-extras", "--universal",
            "--python-version", "3.11", "--generate-hashes", "--find-links", str(work / "wheels"),
            "--no-header", "--quiet", "-o", "requirements.lock",
        ]  # fmt: skip
        if args.upgrade:
            command.append("--upgrade")
        subprocess.run(command, cwd=project, check=True)
        text = (project / "requirements.lock").read_text()
    text, count = MLPROD_PIN.subn(
        "mlprod=={{ cookiecutter._mlprod_version }} \\\\\n"
        "    --hash=sha256:{{ cookiecutter._mlprod_wheel_sha256 }}\n",
        text,
    )
    if count != 1:
        sys.exit("error: the compiled lock has no single hashed mlprod pin")
    if re.search(r"--(extra-)?index-url|https?://", text):
        sys.exit("error: the compiled lock names an index or a URL; refusing to write it")
    TARGET.write_text(HEADER + text)
    print(f"wrote {TARGET.relative_to(ROOT)} ({text.count('==')} pins)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
