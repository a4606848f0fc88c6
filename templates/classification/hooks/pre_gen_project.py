"""Refuse a project whose package name is not an importable Python name.

``package_name`` is derived from ``project_name`` (lower case, ``-`` and ``.``
to ``_``). A name such as ``2fa`` or ``class`` would render a project whose
own tests cannot import it, so fail before anything is written.
"""

from __future__ import annotations

import keyword
import sys

# tojson gives a valid Python string literal whatever characters the name has.
PROJECT_NAME = {{ cookiecutter.project_name|tojson }}
PACKAGE_NAME = {{ cookiecutter.package_name|tojson }}

if not PACKAGE_NAME.isidentifier() or keyword.iskeyword(PACKAGE_NAME):
    sys.stderr.write(
        f"error: project name {PROJECT_NAME!r} gives the package name {PACKAGE_NAME!r}, "
        "which Python cannot import; start with a letter and use only letters, "
        "digits, '-', '.' and '_'\n"
    )
    sys.exit(1)
