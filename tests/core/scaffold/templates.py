"""Test templates for ``mlprod new --template``, written for mlprod's tests.

Each does what public cookiecutter templates do (hooks that print, make a
virtualenv, fail with a message, use an undefined variable; no lock; a
package). They are kept here as text and written out by :func:`write_template`
because every folder under ``tests/`` is a Python package (a template's folders
must not get an ``__init__.py``).
"""

from __future__ import annotations

from pathlib import Path

P = "{{cookiecutter.project_name}}"

TEMPLATES: dict[str, dict[str, str]] = {
    "hook_exit": {
        "cookiecutter.json": '{"project_name": "exits"}\n',
        "hooks/post_gen_project.py": '"""Refuses after the files are written, with sys.exit("message")."""\n\nimport sys\n\nprint("post-gen: checking the answers")\nsys.exit("the project name {{ cookiecutter.project_name }} is reserved")\n',
        P + "/README.md": "x\n",
    },
    "hook_print_fail": {
        "cookiecutter.json": '{"project_name": "prints"}\n',
        "hooks/pre_gen_project.py": '"""Refuses before the files are written: a message printed, then exit 1."""\n\nimport sys\n\nprint("pre-gen: looking for a compiler")\nprint("ERROR: no C compiler found; install gcc and try again")\nsys.exit(1)\n',
        P + "/README.md": "x\n",
    },
    "hook_undefined": {
        "cookiecutter.json": '{"project_name": "undefined"}\n',
        "hooks/post_gen_project.py": '"""Uses a variable the template does not define."""\n\nprint("{{ cookiecutter.no_such_variable.attr }}")\n',
        P + "/README.md": "x\n",
    },
    "hook_venv": {
        "cookiecutter.json": '{"project_name": "venvy"}\n',
        "hooks/post_gen_project.py": '"""Bootstraps a virtualenv inside the project, as tox/nox bootstrap hooks do."""\n\nimport subprocess\nimport sys\n\nsubprocess.run([sys.executable, "-m", "venv", "env"], check=True)\nprint("post-gen: made env/")\n',
        P + "/README.md": "# {{ cookiecutter.project_name }}\n",
    },
    "hooks_print": {
        "cookiecutter.json": '{"project_name": "printer", "greeting": "hello"}\n',
        "hooks/post_gen_project.py": '"""Writes a file of its own and says so on stdout."""\n\nfrom pathlib import Path\n\nPath("HOOKED.txt").write_text("written by the post-gen hook in " + Path.cwd().name + "\\n")\nprint("post-gen: wrote HOOKED.txt")\n',
        "hooks/pre_gen_project.py": '"""Says what it does on stdout and stderr, as many public templates\' hooks do."""\n\nimport sys\n\nprint("pre-gen: checking {{ cookiecutter.project_name }}")\nprint("pre-gen: a note on stderr", file=sys.stderr)\n',
        P + "/README.md": "# {{ cookiecutter.project_name }}\n\n{{ cookiecutter.greeting }}\n",
    },
    "no_lock": {
        "cookiecutter.json": '{"project_name": "plain", "author": "Ada"}\n',
        P + "/README.md": "# {{ cookiecutter.project_name }} by {{ cookiecutter.author }}\n",
        P + "/docs/notes.txt": "notes\n",
    },
    "package": {
        "cookiecutter.json": '{\n  "project_name": "pkg",\n  "package_name": "{{ cookiecutter.project_name|lower|replace(\'-\', \'_\') }}",\n  "version": "0.1.0"\n}\n',
        "hooks/post_gen_project.py": '"""Prints the next step, as package templates do."""\n\nprint("post-gen: run \'pip install -e .\' in {{ cookiecutter.project_name }}")\n',
        P
        + "/pyproject.toml": '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n[project]\nname = "{{ cookiecutter.project_name }}"\nversion = "{{ cookiecutter.version }}"\nrequires-python = ">=3.10"\ndependencies = []\n\n[tool.hatch.build.targets.wheel]\npackages = ["src/{{ cookiecutter.package_name }}"]\n',
        P
        + "/src/{{cookiecutter.package_name}}/__init__.py": '"""{{ cookiecutter.project_name }}."""\n\nVERSION = "{{ cookiecutter.version }}"\n',
    },
}


def write_template(name: str, parent: Path) -> Path:
    """Write template ``name`` into ``parent / name`` and return that folder."""
    folder = parent / name
    for rel, text in TEMPLATES[name].items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder
