"""Bootstraps a virtualenv inside the project, as tox/nox bootstrap hooks do."""

import subprocess
import sys

subprocess.run([sys.executable, "-m", "venv", "env"], check=True)
print("post-gen: made env/")
