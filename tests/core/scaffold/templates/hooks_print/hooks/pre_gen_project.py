"""Says what it does on stdout and stderr, as many public templates' hooks do."""

import sys

print("pre-gen: checking {{ cookiecutter.project_name }}")
print("pre-gen: a note on stderr", file=sys.stderr)
