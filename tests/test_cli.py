"""The entry point: version, help, start-up imports, and the one-line error contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlprod_cli import __version__
from mlprod_cli.cli import main

HEAVY = ("numpy", "pandas", "pyarrow", "sklearn", "scipy", "fastapi", "cookiecutter", "pydantic",
         "jinja2", "matplotlib")  # fmt: skip


def test_version_fast_path(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"mlprod {__version__}\n"


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("new", "check"):
        assert command in out


def _modules_after(args: list[str]) -> list[str]:
    code = (
        "import sys, io, contextlib\n"
        "from mlprod_cli.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({args!r})\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_help_imports_nothing_heavy():
    assert _modules_after(["--help"]) == []
    assert _modules_after(["new", "--help"]) == []
    assert _modules_after(["evaluate", "--help"]) == []  # the HTML report is Jinja2 and matplotlib
    assert _modules_after(["skew", "--help"]) == []
    assert _modules_after(["--version"]) == []


def test_unknown_option_is_one_line_exit_2(capsys):
    assert main(["new", "--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: ") and "--no-such-option" in err


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "frobnicate" in err


@pytest.mark.parametrize(
    ("args", "usage", "listed"),
    [
        ([], "Usage: mlprod [OPTIONS] COMMAND", ("new", "train", "models", "skew")),
        (["models"], "Usage: mlprod models [OPTIONS] COMMAND", ("list", "rollback", "diff")),
        (["metrics"], "Usage: mlprod metrics [OPTIONS] COMMAND", ("history",)),
    ],
)
def test_a_group_without_its_subcommand_prints_the_help(capsys, args, usage, listed):
    # As click's no_args_is_help does: the help, line by line, exit 2 (it is a usage error).
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert not err.startswith("error:")
    lines = err.splitlines()
    assert lines[0].startswith(usage)
    assert "Commands:" in lines
    commands = [line.split()[0] for line in lines[lines.index("Commands:") + 1 :] if line.strip()]
    assert set(listed) <= set(commands)


def test_missing_argument(capsys):
    assert main(["new"]) == 2
    assert "name" in capsys.readouterr().err.lower()


def test_internal_error_is_one_line_without_traceback(monkeypatch, capsys):
    from mlprod_cli.core import check

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(check, "run_checks", boom)
    assert main(["check"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("error: internal error: RuntimeError: kaboom")
    assert "Traceback" not in err


def test_a_missing_optional_package_is_named_in_one_line(trained, monkeypatch, capsys):
    """A serving image has no pyarrow: predict says so instead of failing with a traceback."""
    monkeypatch.chdir(trained)
    for name in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ModuleNotFoundError
    code = main(["predict", "data/lesions.csv", "--model", "v0002", "--output", "out.csv"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "error: predict needs the Python package pyarrow, which is not installed "
        "(hint: pip install pyarrow, or install the project's lock)\n"
    )
    assert not (trained / "out.csv").exists()


def test_entry_point_runs_as_module():
    done = subprocess.run(
        [sys.executable, "-m", "mlprod_cli", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == f"mlprod {__version__}"


HALF_BUILT = """
import sys
from mlprod_cli import cli

sys.argv = ["mlprod", "--version"]
cli.main()  # run as the program: installs mlprod's unraisable hook


class Lock:  # virtualenv's ReentrantFileLock, interrupted inside __init__
    def __init__(self):
        raise KeyboardInterrupt

    def __del__(self):
        self._lock


class Broken:
    def __del__(self):
        raise ValueError("a real bug in a __del__")


try:
    Lock()
except KeyboardInterrupt:
    pass
Broken()
"""


def test_an_object_interrupted_while_built_dies_quietly_and_other_del_errors_still_print():
    done = subprocess.run([sys.executable, "-c", HALF_BUILT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "_lock" not in done.stderr and "AttributeError" not in done.stderr
    assert "ValueError: a real bug in a __del__" in done.stderr


def test_the_command_tree_is_built_once_per_app(monkeypatch, capsys):
    from mlprod_cli import cli

    built = []
    original = cli.build_app

    def build_app():
        built.append(1)
        return original()

    monkeypatch.setattr(cli, "build_app", build_app)
    assert main(["models", "--help"]) == 0
    assert main(["train", "--help"]) == 0
    assert "Fit the baseline and the model" in capsys.readouterr().out
    assert built == [1]
