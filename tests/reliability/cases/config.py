"""The config round (issue 11, items 7 and 15): mlprod.yaml shapes, the lock and pyproject.toml.

YAML the schema cannot mean (tags, merge keys, impossible dates, ``~`` paths, numbers
past a float, NUL characters, encodings), values ``check`` used to accept that
``train``, ``tune`` and ``serve`` crashed on, special files in place of the config,
the lock or pyproject.toml, and those two files not UTF-8 or of the wrong shape.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.reliability.cases import ACTIVE, CV, SPLIT, Case, Setup, edit, write

SERVE = "serve: {host: 127.0.0.1, port: 8000}"
CUTOFF = 'cutoff: "2024-07-01"'
CHECK = ("check", "--no-venv")
TRAIN = ("train", "--cv", "0")


def special(rel: str, kind: str) -> Setup:
    """Replace ``rel`` by a FIFO, a folder, a dangling or looping link, or a link to /dev/zero."""

    def setup(root: Path) -> None:
        path = root / rel
        path.unlink()
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "directory":
            path.mkdir()
        elif kind == "dangling-link":
            path.symlink_to("gone")
        elif kind == "looping-link":
            path.symlink_to(path.name)
        else:
            path.symlink_to("/dev/zero")

    return setup


_SPECIAL = {
    "fifo": "a FIFO, not a regular file",
    "directory": "a directory, not a regular file",
    "dangling-link": "a symbolic link to gone, which does not exist",
    "looping-link": "Too many levels of symbolic links",
    "dev-zero": "a character device, not a regular file",
}

# fmt: off
CASES = [
    # ---- YAML the schema cannot mean, through check
    Case("check/yaml-merge-unknown-key", CHECK, "serve.hostt: unknown key", (edit(SERVE, "serve: {<<: {hostt: x}, port: 8000}"),), base="rendered"),
    Case("check/yaml-merge-a-scalar", CHECK, "serve.<<: '<<' merges a mapping or a list of mappings", (edit(SERVE, "serve: {<<: 5, port: 8000}"),), base="rendered"),
    Case("check/yaml-merge-itself", CHECK, "serve: '<<' merges a mapping into itself", (edit(SERVE, "serve: &s {<<: *s, port: 8000}"),), base="rendered"),
    Case("check/yaml-int-tag-abc", CHECK, "tune.cv: 'abc' is not a valid !!int", (edit(CV, "  cv: !!int abc\n"),), base="rendered"),
    Case("check/yaml-bool-tag-maybe", CHECK, "tune.cv: 'maybe' is not a valid !!bool", (edit(CV, "  cv: !!bool maybe\n"),), base="rendered"),
    Case("check/yaml-binary-tag", CHECK, "tune.cv: the tag !!binary is not allowed here", (edit(CV, "  cv: !!binary aGVsbG8=\n"),), base="rendered"),
    Case("check/yaml-python-tag", CHECK, "the tag !!python/object/apply:os.system is not allowed", (edit(CV, "  cv: !!python/object/apply:os.system [echo hi]\n"),), base="rendered"),
    Case("check/yaml-custom-tag", CHECK, "project: the tag !env is not allowed here", (edit("project: skin-lesions", "project: !env NAME"),), base="rendered"),
    Case("check/yaml-set-tag", CHECK, "data.exclude: the tag !!set is not allowed here", (edit("  exclude:", "  exclude: !!set"),), base="rendered"),
    Case("check/yaml-timestamp-tag-impossible", CHECK, "data.split.cutoff: '2024-02-30' is not a date", (edit(CUTOFF, "cutoff: !!timestamp 2024-02-30"),), base="rendered"),
    Case("check/yaml-complex-key", CHECK, "a key must be a string, not a list", (edit("project: skin-lesions", "? [a, b]\n: 1\nproject: skin-lesions"),), base="rendered"),
    Case("check/yaml-nul-escape", CHECK, "project: contains a NUL character", (edit("project: skin-lesions", 'project: "skin\\0lesions"'),), base="rendered"),
    Case("check/yaml-lone-surrogate", CHECK, "project: contains a lone surrogate", (edit("project: skin-lesions", 'project: "skin\\ud800"'),), base="rendered"),
    Case("check/yaml-nul-byte", CHECK, "mlprod.yaml:2: a NUL character", (write("mlprod.yaml", b"project: x\n\0\n"),), base="rendered"),
    Case("check/yaml-utf16", CHECK, "mlprod.yaml: UTF-16 text; save it as UTF-8", (write("mlprod.yaml", "project: x\n".encode("utf-16")),), base="rendered"),
    Case("check/yaml-too-large", CHECK, "mlprod.yaml: cannot read (larger than", (write("mlprod.yaml", "project: x\n" + "#" * (2 << 20) + "\n"),), base="rendered"),
    Case("check/yaml-two-documents", CHECK, "mlprod.yaml:2: not valid YAML", (write("mlprod.yaml", "project: x\n---\nproject: y\n"),), base="rendered"),
    Case("check/yaml-control-character", CHECK, "mlprod.yaml:1: not valid YAML", (write("mlprod.yaml", "project: x\x07\n"),), base="rendered"),
    # ---- values check accepted and other commands crashed on
    Case("check/cutoff-unquoted-impossible", CHECK, "data.split.cutoff: '2024-02-30' is not a date", (edit(CUTOFF, "cutoff: 2024-02-30"),), base="rendered"),
    Case("check/cutoff-quoted-impossible", CHECK, "data.split.cutoff: '2023-02-29' is not a date", (edit(CUTOFF, 'cutoff: "2023-02-29"'),), base="rendered"),
    Case("check/seed-past-32-bits", CHECK, "tune.seed: must be at most 4294967295", (edit(CV, "  cv: 5\n  seed: 4294967296\n"),), base="rendered"),
    Case("check/n-iter-huge", CHECK, "tune.n_iter: must be at most 10000", (edit(CV, "  cv: 5\n  n_iter: 1000000000000000000000\n"),), base="rendered"),
    Case("check/host-nul", CHECK, "serve.host: contains a NUL character", (edit(SERVE, 'serve: {host: "127.0.0.1\\0", port: 8000}'),), base="rendered"),
    Case("check/host-blank", CHECK, "serve.host: expected a host name or address", (edit(SERVE, 'serve: {host: "127.0.0.1 ", port: 8000}'),), base="rendered"),
    Case("check/host-newline", CHECK, "serve.host: expected a host name or address", (edit(SERVE, 'serve: {host: "localhost\\n", port: 8000}'),), base="rendered"),
    Case("check/int-too-large-for-a-float", CHECK, "metrics.max_regression.recall@melanoma: expected a number, got one too large", (edit("recall@melanoma: 0.02", "recall@melanoma: 1" + "0" * 400),), base="rendered"),
    Case("check/infinite-threshold", CHECK, "skew.thresholds.psi: expected a finite number, got inf", (edit("serving_log: logs/requests/", "serving_log: logs/requests/\n  thresholds: {psi: .inf}"),), base="rendered"),
    Case("check/tilde-user-registry", CHECK, "registry: ~nobody-here/models: '~' is not expanded", (edit("registry: models/", "registry: ~nobody-here/models"),), base="rendered"),
    Case("check/tilde-serving-log", CHECK, "skew.serving_log: ~/logs: '~' is not expanded", (edit("serving_log: logs/requests/", "serving_log: ~/logs"),), base="rendered"),
    Case("check/path-too-long", CHECK, "data.train: " + "x" * 40, (edit("train: data/lesions.csv", "train: " + "x" * 5000 + ".csv"),), base="rendered"),
    Case("check/model-trailing-newline", CHECK, "model: expected a dotted path", (edit("model: skin_lesions.model:build", 'model: "skin_lesions.model:build\\n"'),), base="rendered"),
    # ---- the same refusals, by every command that reads the config
    Case("train/cutoff-impossible", TRAIN, "data.split.cutoff: '2024-02-30' is not a date", (edit(CUTOFF, 'cutoff: "2024-02-30"'),)),
    Case("train/split-seed-past-32-bits", TRAIN, "data.split.seed: must be at most 4294967295", (edit(SPLIT, "split: {by: random, seed: 100000000000000000000}"),)),
    Case("train/yaml-merge-key", TRAIN, "serve.hostt: unknown key", (edit(SERVE, "serve: {<<: {hostt: x}, port: 8000}"),)),
    Case("train/yaml-int-tag-abc", TRAIN, "tune.cv: 'abc' is not a valid !!int", (edit(CV, "  cv: !!int abc\n"),)),
    Case("train/tilde-registry", TRAIN, "registry: ~/models: '~' is not expanded", (edit("registry: models/", "registry: ~/models"),)),
    Case("tune/seed-past-32-bits", ("tune",), "tune.seed: must be at most 4294967295", (edit(CV, "  cv: 5\n  seed: 99999999999999999999\n"),)),
    Case("serve/host-nul", ("serve",), "serve.host: contains a NUL character", (ACTIVE, edit(SERVE, 'serve: {host: "127.0.0.1\\0", port: 8000}'))),
    Case("serve/host-blank", ("serve",), "serve.host: expected a host name or address", (ACTIVE, edit(SERVE, 'serve: {host: "local host", port: 8000}'))),
    Case("serve/config-fifo", ("serve",), "mlprod.yaml: cannot read (a FIFO, not a regular file)", (ACTIVE, special("mlprod.yaml", "fifo"))),
    Case("evaluate/yaml-python-tag", ("evaluate",), "the tag !!python/object/apply:os.system is not allowed", (ACTIVE, edit(CV, "  cv: !!python/object/apply:os.system [echo hi]\n"))),
    Case("predict/tilde-registry", ("predict", "in.csv", "-o", "out.csv"), "registry: ~/models: '~' is not expanded", (ACTIVE, write("in.csv", "a\n1\n"), edit("registry: models/", "registry: ~/models"))),
    Case("skew/config-dangling-link", ("skew",), "mlprod.yaml: cannot read (a symbolic link to gone, which does not exist)", (ACTIVE, special("mlprod.yaml", "dangling-link"))),
    Case("models/config-directory", ("models", "list"), "mlprod.yaml: cannot read (a directory, not a regular file)", (special("mlprod.yaml", "directory"),)),
    Case("package/config-dev-zero", ("package",), "mlprod.yaml: cannot read (a character device, not a regular file)", (ACTIVE, special("mlprod.yaml", "dev-zero"))),
    # ---- mlprod.yaml, the lock and pyproject.toml as special files, through check
    *[
        Case(f"check/{name}-{kind}", CHECK, f"{rel}: cannot read ({message})", (special(rel, kind),), base="rendered")
        for name, rel in (("config", "mlprod.yaml"), ("lock", "requirements.lock"), ("pyproject", "pyproject.toml"))
        for kind, message in _SPECIAL.items()
    ],
    # ---- the lock and pyproject.toml: not UTF-8, the wrong shape (item 15)
    Case("check/lock-latin-1", CHECK, "requirements.lock: not UTF-8 text (byte 0xe9 on line 1)", (write("requirements.lock", b"# caf\xe9\n"),), base="rendered"),
    Case("check/lock-marker-nested-deeply", CHECK, "requirements.lock:1: not a requirement", (write("requirements.lock", "numpy==2.2.6 ; " + "(" * 3000 + "python_version > '3'" + ")" * 3000 + " --hash=sha256:" + "a" * 64 + "\n"),), base="rendered"),
    Case("check/pyproject-latin-1", CHECK, "pyproject.toml: not UTF-8 text (byte 0xe9 on line 2)", (write("pyproject.toml", b'[project]\nname = "caf\xe9"\n'),), base="rendered"),
    Case("check/pyproject-dependencies-5", CHECK, "pyproject.toml:3: project.dependencies: expected a list of requirement strings, got 5", (write("pyproject.toml", '[project]\nname = "x"\ndependencies = 5\n'),), base="rendered"),
    Case("check/pyproject-project-a-string", CHECK, "pyproject.toml:1: project: expected a table ([project]), got 'x'", (write("pyproject.toml", 'project = "x"\n'),), base="rendered"),
    Case("check/pyproject-no-project-table", CHECK, "pyproject.toml: no [project] table", (write("pyproject.toml", "[tool.ruff]\nline-length = 100\n"),), base="rendered"),
    Case("check/pyproject-a-dependency-a-number", CHECK, "project.dependencies: item 2 is 3, not a requirement string", (write("pyproject.toml", '[project]\nname = "x"\ndependencies = ["numpy", 3]\n'),), base="rendered"),
    Case("check/pyproject-optional-a-string", CHECK, "project.optional-dependencies.dev: expected a list", (write("pyproject.toml", '[project]\nname = "x"\n[project.optional-dependencies]\ndev = "pytest"\n'),), base="rendered"),
    Case("check/pyproject-nested-deeply", CHECK, "pyproject.toml: not valid TOML: nested too deeply", (write("pyproject.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n"),), base="rendered"),
    Case("package/pyproject-dependencies-5", ("package",), "pyproject.toml:3: project.dependencies: expected a list", (ACTIVE, write("pyproject.toml", '[project]\nname = "x"\ndependencies = 5\n'))),
    Case("package/pyproject-project-a-string", ("package",), "pyproject.toml:1: project: expected a table", (ACTIVE, write("pyproject.toml", 'project = "x"\n'))),
    Case("package/lock-latin-1", ("package",), "requirements.lock: not UTF-8 text", (ACTIVE, write("requirements.lock", b"# caf\xe9\n"))),
]
# fmt: on
