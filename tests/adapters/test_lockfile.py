"""The lock: exact hashed pins, agreement with pyproject.toml and with the venv."""

from __future__ import annotations

import pytest

from mlprod_cli.adapters.lockfile import (
    check_against_pyproject,
    check_venv,
    installed_versions,
    read_lock,
)
from mlprod_cli.errors import ConfigError

H1 = "sha256:" + "a" * 64
H2 = "sha256:" + "b" * 64


def _lock(tmp_path, text: str):
    path = tmp_path / "requirements.lock"
    path.write_text(text)
    return path


def test_reads_multiline_pins_with_markers(tmp_path):
    path = _lock(
        tmp_path,
        f"# header\nnumpy==2.2.6 ; python_full_version < '3.11' \\\n    --hash={H1} \\\n    --hash={H2}\n"
        f"    # via pandas\nPyYAML==6.0.2 \\\n    --hash={H1}\n",
    )
    pins = read_lock(path)
    assert [(p.name, p.version, len(p.hashes), p.line) for p in pins] == [
        ("numpy", "2.2.6", 2, 2),
        ("pyyaml", "6.0.2", 1, 6),
    ]
    assert pins[0].marker == 'python_full_version < "3.11"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"numpy>=2 --hash={H1}\n",
            r"requirements.lock:1: numpy is not pinned with an exact ==version",
        ),
        ("numpy==2.2.6\n", r"requirements.lock:1: numpy has no --hash"),
        (f"numpy==2.* --hash={H1}\n", r"not pinned"),
        ("--index-url http://example.invalid/simple\n", r"option lines \(--index-url\)"),
        (f"numpy[[ --hash={H1}\n", r"requirements.lock:1: not a requirement"),
    ],
)
def test_refuses_what_hash_checking_would_refuse(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        read_lock(_lock(tmp_path, text))


def test_pyproject_agreement(tmp_path):
    pins = read_lock(_lock(tmp_path, f"numpy==2.2.6 --hash={H1}\npytest==8.0.0 --hash={H1}\n"))
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\nversion = "1"\n'
        'dependencies = ["numpy>=2", "pandas>=2", "tomli; python_version < \'3.0\'"]\n'
        '[project.optional-dependencies]\ndev = ["pytest>=9"]\n'
    )
    problems = check_against_pyproject(pins, pyproject)
    assert problems == [
        "pyproject.toml needs pandas but requirements.lock does not pin it",
        "pyproject.toml needs pytest>=9 but requirements.lock pins 8.0.0",
    ]


def test_bad_pyproject(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[project\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: not valid TOML"):
        check_against_pyproject([], pyproject)


def _fake_venv(tmp_path, dists: dict[str, str], version: str = "3.11.7"):
    venv = tmp_path / ".venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion_info = {version}\n")
    for name, ver in dists.items():
        (site / f"{name}-{ver}.dist-info").mkdir()
    return venv


def test_venv_agreement_respects_markers(tmp_path):
    pins = read_lock(
        _lock(
            tmp_path,
            f"numpy==2.2.6 ; python_full_version < '3.11' --hash={H1}\n"
            f"numpy==2.4.6 ; python_full_version >= '3.11' --hash={H1}\n"
            f"typing_extensions==4.12.0 --hash={H1}\nrich==13.0.0 --hash={H1}\n",
        )
    )
    venv = _fake_venv(tmp_path, {"numpy": "2.4.6", "typing_extensions": "4.12.0", "rich": "14.0.0"})
    assert installed_versions(venv)["typing-extensions"] == "4.12.0"
    assert check_venv(pins, venv) == [".venv has rich 14.0.0, requirements.lock pins 13.0.0"]
    venv310 = _fake_venv(tmp_path / "old", {"numpy": "2.4.6"}, version="3.10.14")
    problems = check_venv(pins, venv310)
    assert ".venv has numpy 2.4.6, requirements.lock pins 2.2.6" in problems
    assert "typing-extensions==4.12.0 from requirements.lock is not installed in .venv" in problems


# --------------------------------------------------------------------------- shapes (issue 11, item 15)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[project]\nname = "x"\ndependencies = 5\n',
            r"^pyproject\.toml:3: project\.dependencies: expected a list of requirement strings, got 5$",
        ),
        (
            'project = "x"\n',
            r"^pyproject\.toml:1: project: expected a table \(\[project\]\), got 'x'$",
        ),
        ("[tool.x]\na = 1\n", r"^pyproject\.toml: no \[project\] table"),
        ("[project]\nname = 5\n", r"^pyproject\.toml:2: project\.name: expected a string, got 5$"),
        (
            '[project]\ndependencies = ["numpy", 3]\n',
            r"project\.dependencies: item 2 is 3, not a requirement string",
        ),
        ('[project]\ndependencies = [["numpy"]]\n', r"project\.dependencies: item 1 is an array"),
        (
            '[project]\noptional-dependencies = "dev"\n',
            r"project\.optional-dependencies: expected a table of lists",
        ),
        (
            '[project.optional-dependencies]\ndev = "pytest"\n',
            r"project\.optional-dependencies\.dev: expected a list",
        ),
        (
            "a = " + "[" * 5000 + "]" * 5000 + "\n",
            r"^pyproject\.toml: not valid TOML: nested too deeply$",
        ),
    ],
    ids=[
        "dependencies-a-number",
        "project-a-string",
        "no-project-table",
        "name-a-number",
        "a-dependency-a-number",
        "a-dependency-a-list",
        "optional-a-string",
        "optional-group-a-string",
        "nested-deeply",
    ],
)
def test_a_pyproject_of_the_wrong_shape_names_the_file_and_key(tmp_path, text, message):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(text)
    with pytest.raises(ConfigError, match=message):
        check_against_pyproject([], pyproject)


@pytest.mark.parametrize("name", ["requirements.lock", "pyproject.toml"])
def test_a_file_that_is_not_utf8_names_the_file_and_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"# caf\xc3\xa9\n# na\xefve\n")
    read = read_lock if name == "requirements.lock" else lambda p: check_against_pyproject([], p)
    with pytest.raises(ConfigError, match=rf"^{name}: not UTF-8 text \(byte 0xef on line 2\)"):
        read(path)


@pytest.mark.parametrize("name", ["requirements.lock", "pyproject.toml"])
def test_a_fifo_is_named_not_waited_on(tmp_path, name):
    import os

    path = tmp_path / name
    os.mkfifo(path)
    read = read_lock if name == "requirements.lock" else lambda p: check_against_pyproject([], p)
    with pytest.raises(ConfigError, match=rf"^{name}: cannot read \(a FIFO, not a regular file\)$"):
        read(path)


def test_a_marker_nested_past_recursion_is_a_bad_line(tmp_path):
    path = _lock(
        tmp_path, f"numpy==2.2.6 ; {'(' * 3000}python_version > '3'{')' * 3000} --hash={H1}\n"
    )
    with pytest.raises(ConfigError, match=r"^requirements\.lock:1: not a requirement"):
        read_lock(path)
