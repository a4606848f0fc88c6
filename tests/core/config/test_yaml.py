"""Reading mlprod.yaml: YAML the schema cannot mean is one error naming the line and the key.

Each of these crashed every command with exit code 70 before the loader built the
values itself (issue 11, item 7): PyYAML's constructor raised ConstructorError,
ValueError or OverflowError, or the file was a FIFO that nothing should wait on.
"""

from __future__ import annotations

import os
import re

import pytest

from mlprod_cli.core.config import load_config, parse_config
from mlprod_cli.errors import ConfigError

SERVE = "serve: {host: 127.0.0.1, port: 8000}"
CV = "  cv: 5\n"


def _edit(project, old: str, new: str):
    path = project / "mlprod.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(project, needle: str) -> int:
    for number, line in enumerate((project / "mlprod.yaml").read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (CV, "  cv: !!int abc\n", "cv:", r"tune\.cv: 'abc' is not a valid !!int"),
        (CV, "  cv: !!float five\n", "cv:", r"tune\.cv: 'five' is not a valid !!float"),
        (CV, "  cv: !!bool maybe\n", "cv:", r"tune\.cv: 'maybe' is not a valid !!bool"),
        (CV, "  cv: !!binary aGVsbG8=\n", "cv:", r"tune\.cv: the tag !!binary is not allowed"),
        (
            CV,
            "  cv: !!python/object/apply:os.system [echo hi]\n",
            "cv:",
            r"tune\.cv: the tag !!python/object/apply:os\.system is not allowed",
        ),
        (CV, "  cv: !custom 5\n", "cv:", r"tune\.cv: the tag !custom is not allowed"),
        (CV, "  cv: !!set {a, b}\n", "cv:", r"tune\.cv: the tag !!set is not allowed"),
        (CV, "  cv: !!omap [a: 1]\n", "cv:", r"tune\.cv: the tag !!omap is not allowed"),
        (
            CV,
            "  cv: !!timestamp 2024-02-30\n",
            "cv:",
            r"tune\.cv: expected a whole number, got '2024-02-30'",
        ),
        (
            "project: skin-lesions",
            'project: "skin\\0lesions"',
            "project:",
            r"project: contains a NUL character",
        ),
        (
            "project: skin-lesions",
            'project: "skin\\ud800"',
            "project:",
            r"project: contains a lone surrogate",
        ),
        (
            "project: skin-lesions",
            "? [a, b]\n: 1\nproject: x",
            "? [a, b]",
            r"a key must be a string",
        ),
        (
            SERVE,
            "serve: {host: 127.0.0.1, port: 8000, 5: x}",
            "serve:",
            r"serve: key 5 is not a string",
        ),
        (SERVE, "serve: {<<: 5, port: 8000}", "serve:", r"serve\.<<: '<<' merges a mapping"),
        (
            SERVE,
            "serve: {port: 8000, port: 8001}",
            "serve:",
            r"serve\.port: duplicate key",
        ),
    ],
    ids=[
        "bad-int-tag",
        "bad-float-tag",
        "bad-bool-tag",
        "binary-tag",
        "python-tag",
        "custom-tag",
        "set-tag",
        "omap-tag",
        "timestamp-tag-impossible-date",
        "nul-in-a-string",
        "lone-surrogate",
        "complex-key",
        "non-string-key",
        "merge-of-a-scalar",
        "duplicate-key",
    ],
)
def test_what_the_schema_cannot_mean_is_refused_on_its_line(project, old, new, needle, message):
    path = _edit(project, old, new)
    line = _line_of(project, needle)
    with pytest.raises(ConfigError, match=rf"^mlprod\.yaml:{line}: {message}"):
        parse_config(path)


def test_merge_keys_are_applied_own_keys_win_and_the_first_merged_mapping_wins(project):
    path = _edit(
        project,
        "skew:\n  serving_log: logs/requests/\n",
        "skew:\n  serving_log: logs/requests/\n  features:\n"
        "    age: &strict {psi: 0.1, js: 0.05}\n"
        "    sex: {<<: *strict, js: 0.2}\n"
        "    diameter_mm: {<<: [{psi: 0.3}, *strict]}\n",
    )
    config = parse_config(path)
    assert config.skew.features["age"] == {"psi": 0.1, "js": 0.05}
    assert config.skew.features["sex"] == {"psi": 0.1, "js": 0.2}
    assert config.skew.features["diameter_mm"] == {"psi": 0.3, "js": 0.05}


def test_a_merged_key_the_schema_does_not_know_names_the_line_of_the_anchor(project):
    path = _edit(
        project,
        "skew:\n  serving_log: logs/requests/\n",
        "skew:\n  serving_log: logs/requests/\n  features:\n"
        "    age: &loose {psi: 0.1}\n"
        "    sex: {<<: *loose}\n"
        "    anatomic_site: &bad {bogus: 1}\n"
        "    evolving: {<<: *bad}\n",
    )
    line = _line_of(project, "bogus")
    with pytest.raises(
        ConfigError,
        match=rf"^mlprod\.yaml:{line}: skew\.features\.anatomic_site\.bogus: unknown key",
    ):
        parse_config(path)


def test_merges_of_merges_stay_small(project):
    """Nine merges of nine merges of ...: flattened once per mapping, not 9**9 pairs."""
    chain = "".join(
        f"    f{n}: &m{n} {{<<: [{', '.join([f'*m{n - 1}'] * 9)}], psi: 0.{n}}}\n"
        for n in range(1, 12)
    )
    path = _edit(
        project,
        "skew:\n  serving_log: logs/requests/\n",
        "skew:\n  serving_log: logs/requests/\n  features:\n    f0: &m0 {js: 0.1}\n" + chain,
    )
    config = parse_config(path)
    assert config.skew.features["f11"] == {"js": 0.1, "psi": 0.11}


def test_a_mapping_merged_into_itself_is_refused(project):
    path = _edit(project, SERVE, "serve: &s {<<: *s, port: 8000}")
    line = _line_of(project, "serve:")
    with pytest.raises(
        ConfigError, match=rf"^mlprod\.yaml:{line}: serve: '<<' merges a mapping into itself"
    ):
        parse_config(path)


@pytest.mark.parametrize("written", ["2024-07-01", '"2024-07-01"', "'2024-07-01'"])
def test_an_unquoted_date_is_the_date_as_written(project, written):
    path = _edit(project, 'cutoff: "2024-07-01"', f"cutoff: {written}")
    assert parse_config(path).data.split.cutoff == "2024-07-01"


@pytest.mark.parametrize("written", ["2024-02-30", '"2024-02-30"', "2024-13-01", "2023-02-29"])
def test_an_impossible_cutoff_is_refused_quoted_or_not(project, written):
    path = _edit(project, 'cutoff: "2024-07-01"', f"cutoff: {written}")
    line = _line_of(project, "cutoff:")
    with pytest.raises(
        ConfigError,
        match=rf"^mlprod\.yaml:{line}: data\.split\.cutoff: '20\d\d-\d\d-\d\d' is not a date",
    ):
        parse_config(path)


@pytest.mark.parametrize("written", ["2024-02-30", "=", "<<"])
def test_a_plain_scalar_yaml_tags_on_its_own_is_the_text_written(project, written):
    """A date, a lone '=' (PyYAML's !!value) or a '<<' that is a value, not a key."""
    path = _edit(project, "project: skin-lesions", f"project: {written}")
    assert parse_config(path).project == written


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"project: caf\xe9\n", r"not UTF-8 text \(byte 0xe9 on line 1\)"),
        ("project: x\n".encode("utf-16"), r"UTF-16 text; save it as UTF-8"),
        (b"project: x\n\0\n", r"^mlprod\.yaml:2: a NUL character"),
        (b"project: x\n#" + b"#" * (2 << 20) + b"\n", r"cannot read \(larger than [\d,]+ bytes\)"),
        (b"project: x\n---\nproject: y\n", r"mlprod\.yaml:2: not valid YAML"),
        (b"project: [x\n", r"mlprod\.yaml:2: not valid YAML"),
        (b"project: x\x07\n", r"mlprod\.yaml:1: not valid YAML"),
    ],
    ids=["latin-1", "utf-16", "nul", "too-large", "two-documents", "truncated", "control-char"],
)
def test_bytes_that_are_not_a_yaml_text_are_refused(project, data, message):
    path = project / "mlprod.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message):
        parse_config(path)


def test_a_byte_order_mark_is_allowed(project):
    path = project / "mlprod.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert parse_config(path).project == "skin-lesions"


def _fifo(path):
    os.mkfifo(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_fifo, "a FIFO, not a regular file"),
        (lambda p: p.mkdir(), "a directory, not a regular file"),
        (
            lambda p: p.symlink_to("nowhere.yaml"),
            "cannot read (a symbolic link to nowhere.yaml, which does not exist)",
        ),
        (lambda p: p.symlink_to(p.name), "Too many levels of symbolic links"),
        (lambda p: p.symlink_to("/dev/zero"), "a character device, not a regular file"),
    ],
    ids=["fifo", "directory", "dangling-link", "looping-link", "dev-zero"],
)
def test_a_config_that_is_not_a_regular_file_is_named_never_waited_on(project, make, message):
    """Found as the project's config (not skipped for a folder above) and refused at once."""
    path = project / "mlprod.yaml"
    path.unlink()
    make(path)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(project / "src")
