"""Structure fuzzing of the project files a person edits that mlprod's config reads.

``mlprod.yaml`` (every :func:`~tests.reliability.shapes.yaml_shapes` shape of the
template's own file), ``requirements.lock`` and ``pyproject.toml`` (shapes built
here: ``shapes.py`` has none for a requirements file or TOML). Each shape ends in
exit 0 or 1, or a clean exit 2 with one ``error:`` line; never a traceback, exit
70, a hang (every run has a time limit) or a changed tree. The whole set runs
through ``check`` (the fast command); a sample through ``train`` (where check's
refusal must be train's, word for word: one validation path) and ``package``.

``requirements-dev.lock`` is read by nothing in mlprod, and nor is the template's
provenance file ``.mlprod-template.json`` (``new`` writes it, nothing reads it
yet), so neither has a reader to fuzz.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.faults import Outcome, run_main, snapshot
from tests.reliability.shapes import ODD_VALUES, Shape, yaml_shapes

pytestmark = pytest.mark.slow

CHECK = ["check", "--no-venv"]
TRAIN = ["train", "--cv", "0"]
SECONDS = 60  # a hang is a failure, not a stuck suite


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so mlprod's own ``except Exception`` lets it by."""


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def ring(signum, frame):
        raise Hang

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _run(argv: list[str], root: Path) -> Outcome:
    try:
        with _time_limit(SECONDS):
            return run_main(argv, root, {"CI": "true"})
    except Hang:
        return Outcome(-1, "", f"hung for {SECONDS} s\n")


def _problem(outcome: Outcome) -> str | None:
    """What breaks the contract in ``outcome`` (None: nothing)."""
    text = outcome.out + outcome.err
    if outcome.code not in (0, 1, 2):
        return f"exit {outcome.code}: {outcome.err.strip()[:300]}"
    if "Traceback" in text:
        return f"a traceback: {text[:300]}"
    if outcome.code == 2:
        if not (outcome.err.startswith("error: ") and outcome.err.count("\n") == 1):
            return f"exit 2 without one error line: {outcome.err[:300]!r}"
        if outcome.out:
            return f"exit 2 with output: {outcome.out[:100]!r}"
    return None


def _fuzz(
    shapes: list[Shape], rel: str, source: Path, work: Path, argv: list[str]
) -> tuple[dict[int, int], list[str]]:
    """Run ``argv`` with each shape written to ``rel`` of one copy of ``source``.

    For commands that write nothing on bad input (check always, the others on
    exit 2): the copy must be as it was, the shape aside. A run that exits 0 or 1
    may change the tree, so it gets a fresh copy after.
    """
    root = work / source.name
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(source, root)
    codes: dict[int, int] = {}
    failures: list[str] = []
    for shape in shapes:
        (root / rel).write_bytes(shape.data)
        before = snapshot(root)
        outcome = _run(argv, root)
        codes[outcome.code] = codes.get(outcome.code, 0) + 1
        problem = _problem(outcome)
        unchanged = outcome.code == 2 or argv[0] == "check"
        if problem is None and unchanged and snapshot(root) != before:
            problem = "the tree changed"
        if problem is not None:
            failures.append(f"{rel} {shape.id}: {problem}")
        if outcome.code in (0, 1) and argv[0] != "check":
            shutil.rmtree(root)
            shutil.copytree(source, root)
    return codes, failures


def _report(capsys, what: str, codes: dict[int, int], failures: list[str]) -> None:
    total = sum(codes.values())
    listing = ", ".join(f"exit {code}: {n}" for code, n in sorted(codes.items()))
    with capsys.disabled():
        sys.stderr.write(
            f"\nstructure fuzz: {what}: {total} shapes ({listing}), {len(failures)} broke the contract"
            + "\n"
        )
    assert not failures, "\n".join(failures[:30])


@pytest.fixture(scope="module")
def template_yaml(rendered_project) -> str:
    return (rendered_project / "mlprod.yaml").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- mlprod.yaml


def test_every_yaml_shape_through_check(rendered_project, template_yaml, tmp_path, capsys):
    shapes = yaml_shapes(template_yaml)
    codes, failures = _fuzz(shapes, "mlprod.yaml", rendered_project, tmp_path, CHECK)
    assert len(shapes) > 2000
    _report(capsys, "mlprod.yaml through check", codes, failures)


# Every SAMPLE-th shape: document-level shapes and per-value ones of every section.
SAMPLE = 40


def test_a_sample_of_yaml_shapes_through_train_agrees_with_check(
    trained_project, template_yaml, tmp_path, capsys
):
    """Train refuses what check refuses, with the same line; what check accepts train
    trains or refuses cleanly (a column the data lacks, say), never exit 70."""
    shapes = yaml_shapes(template_yaml)[::SAMPLE]
    root = tmp_path / "check" / trained_project.name
    shutil.copytree(trained_project, root)
    codes: dict[int, int] = {}
    failures: list[str] = []
    for shape in shapes:
        (root / "mlprod.yaml").write_bytes(shape.data)
        checked = _run(CHECK, root)
        work = tmp_path / "train"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        c, f = _fuzz([shape], "mlprod.yaml", trained_project, work, TRAIN)
        for code, n in c.items():
            codes[code] = codes.get(code, 0) + n
        failures += f
        if checked.code == 2 and not f:
            trained = _run(TRAIN, work / trained_project.name)
            if trained.err != checked.err:
                failures.append(
                    f"mlprod.yaml {shape.id}: check said {checked.err.strip()!r}, "
                    f"train {trained.err.strip()!r}"
                )
    assert len(shapes) >= 60
    _report(capsys, f"mlprod.yaml through train (every {SAMPLE}th shape)", codes, failures)


# --------------------------------------------------------------------------- the lock and pyproject.toml


def _file_shapes(raw: bytes) -> list[Shape]:
    """Shapes of any text file: encodings, bytes, line endings, size."""
    half = len(raw) // 2
    return [
        Shape("file/empty", b""),
        Shape("file/whitespace", b" \n\n\t\n"),
        Shape("file/bom", b"\xef\xbb\xbf" + raw),
        Shape("file/utf16", raw.decode("utf-8").encode("utf-16")),
        Shape("file/latin1-byte", raw + b"# caf\xe9\n"),
        Shape("file/invalid-utf8", raw[:half] + b"\xff\xfe" + raw[half:]),
        Shape("file/nul-byte", raw[:half] + b"\0" + raw[half:]),
        Shape("file/truncated", raw[:half]),
        Shape("file/cr-only", raw.replace(b"\n", b"\r")),
        Shape("file/crlf", raw.replace(b"\n", b"\r\n")),
        Shape("file/no-final-newline", raw.rstrip(b"\n")),
        Shape("file/doubled", raw + raw),
        Shape("file/padded", raw + (b"# " + b"p" * 78 + b"\n") * (3 * 1024 * 1024 // 80)),
        Shape("file/huge-line", raw + b"x" * (5 * 1024 * 1024) + b"\n"),
        Shape("file/binary", b"\x89PNG\r\n\x1a\n" + bytes(range(256))),
    ]


HASH = "--hash=sha256:" + "a" * 64


def lock_shapes(text: str) -> list[Shape]:
    """The lock as a whole, odd lines added, and each of a few pins broken in every way."""
    raw = text.encode("utf-8")
    shapes = _file_shapes(raw)
    extra = {
        "option-line": "--index-url file:///nowhere\n",
        "include-line": "-r other.txt\n",
        "editable": "-e .\n",
        "url-requirement": f"thing @ file:///tmp/thing.whl {HASH}\n",
        "unpinned": "left-pad\n",
        "range": f"left-pad>=1 {HASH}\n",
        "wildcard": f"left-pad==1.* {HASH}\n",
        "no-hash": "left-pad==1.0\n",
        "md5-hash": "left-pad==1.0 --hash=md5:" + "a" * 32 + "\n",
        "short-hash": "left-pad==1.0 --hash=sha256:abc\n",
        "bad-name": f"-left-pad==1.0 {HASH}\n",
        "unicode-name": f"lëft-pad==1.0 {HASH}\n",
        "extras": f"left-pad[a,b]==1.0 {HASH}\n",
        "bad-marker": f"left-pad==1.0 ; python_version >>> '3' {HASH}\n",
        "unknown-marker-variable": f"left-pad==1.0 ; colour == 'blue' {HASH}\n",
        "marker-version-text": f"left-pad==1.0 ; python_version > 'abc' {HASH}\n",
        "deep-marker": f"left-pad==1.0 ; {'(' * 3000}os_name == 'x'{')' * 3000} {HASH}\n",
        "duplicate-pin": None,  # filled below
        "dangling-continuation": "left-pad==1.0 \\\n",
        "nul-in-name": f"left\0pad==1.0 {HASH}\n",
        "long-name": "a" * 100_000 + f"==1.0 {HASH}\n",
        "huge-version": "left-pad==" + "9" * 5000 + f" {HASH}\n",
    }
    blocks = _lock_blocks(text)
    extra["duplicate-pin"] = blocks[0][1]
    shapes += [Shape(f"added/{name}", (text + line).encode()) for name, line in extra.items()]
    picked = [blocks[0], blocks[len(blocks) // 2], blocks[-1]]
    picked += [b for b in blocks if b[1].startswith("mlprod==")]
    picked += [b for b in blocks if " ; " in b[1]][:1]
    for start, block in dict(picked).items():
        name = block.split("=", 1)[0].split()[0]
        edits = {
            "deleted": "",
            "no-version": re.sub(r"==[^ ;\\\n]+", "", block, count=1),
            "range": block.replace("==", ">=", 1),
            "no-hashes": re.sub(r"\s*\\\n\s*--hash=\S+", "", block),
            "hash-truncated": re.sub(
                r"(--hash=sha256:)([0-9a-f]{64})", r"\g<1>abc", block, count=1
            ),
            "hash-upper": re.sub(
                r"(--hash=sha256:)([0-9a-f]{64})", lambda m: m[1] + m[2].upper(), block
            ),
            "marker-garbage": block.replace(" \\\n", " ; ((( \\\n", 1),
            "version-empty": re.sub(r"==[^ ;\\\n]+", "==", block, count=1),
        }
        for what, new in edits.items():
            shapes.append(
                Shape(
                    f"pin/{name}={what}", (text[:start] + new + text[start + len(block) :]).encode()
                )
            )
    return shapes


def _lock_blocks(text: str) -> list[tuple[int, str]]:
    """``(offset, text)`` of each pin with its continuation lines."""
    return [
        (m.start(), m.group(0))
        for m in re.finditer(r"(?m)^[A-Za-z0-9][^\n]*(?:\\\n[^\n]*)*\n", text)
    ]


# TOML values to put where a value was, written raw: the types and sizes a reader may not expect.
_TOML_VALUES = {
    "int": "5",
    "huge-int": "1" + "0" * 400,
    "float-inf": "inf",
    "float-nan": "nan",
    "bool": "true",
    "empty-string": '""',
    "string": '"x"',
    "long-string": '"' + "x" * 100_000 + '"',
    "nul-escape": '"a\\u0000b"',
    "surrogate-escape": '"\\ud800"',
    "empty-array": "[]",
    "array-of-int": "[5]",
    "array-of-arrays": '[["numpy"]]',
    "mixed-array": '["numpy", 3]',
    "bad-requirement": '["numpy>>=1", "@@"]',
    "inline-table": "{a = 1}",
    "date": "2024-02-29",
    "deep-array": "[" * 3000 + "]" * 3000,
}


def pyproject_shapes(text: str) -> list[Shape]:
    """pyproject.toml as a whole, its tables, and every ``key = value`` replaced, deleted, doubled."""
    raw = text.encode("utf-8")
    shapes = _file_shapes(raw)
    shapes += [
        Shape(
            "table/project-a-string",
            re.sub(r"(?m)^\[project\]\n", 'project = "x"\n[other]\n', text, count=1).encode(),
        ),
        Shape(
            "table/no-project",
            re.sub(r"(?m)^\[project\]$", "[not-project]", text, count=1).encode(),
        ),
        Shape("table/project-twice", (text + "\n[project]\nname = 'y'\n").encode()),
        Shape(
            "table/project-array-of-tables",
            re.sub(r"(?m)^\[project\]$", "[[project]]", text, count=1).encode(),
        ),
        Shape(
            "table/optional-a-string",
            re.sub(r"(?m)^\[project\.optional-dependencies\]\n", "", text, count=1)
            .replace("batch = [", 'optional-dependencies = "x"\nbatch = [', 1)
            .encode(),
        ),
    ]
    lines = text.splitlines(keepends=True)
    for start, end, key, label in _assignments(lines):
        head = "".join(lines[:start])
        tail = "".join(lines[end:])
        for name, value in _TOML_VALUES.items():
            shapes.append(Shape(f"{label}={name}", (head + f"{key} = {value}\n" + tail).encode()))
        shapes.append(Shape(f"{label}=deleted", (head + tail).encode()))
        shapes.append(
            Shape(f"{label}=doubled", (head + "".join(lines[start:end]) * 2 + tail).encode())
        )
    return shapes


def _assignments(lines: list[str]) -> Iterator[tuple[int, int, str, str]]:
    """``(first line, line after, key, table.key)`` of each ``key = value``, multi-line arrays whole."""
    table = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        header = re.match(r"^\[+([^\]]+)\]+\s*$", line)
        if header:
            table = header.group(1).strip()
            i += 1
            continue
        match = re.match(r'^([A-Za-z0-9_."-]+)\s*=', line)
        if not match:
            i += 1
            continue
        end, depth = i, 0
        while True:
            depth += _bracket_depth(lines[end])
            end += 1
            if depth <= 0 or end >= len(lines):
                break
        key = match.group(1)
        yield i, end, key, f"{table}.{key}" if table else key
        i = end


def _bracket_depth(line: str) -> int:
    depth, quote = 0, None
    for char in line.split(" #", 1)[0]:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return depth


def test_the_shape_builders_make_what_they_say(rendered_project):
    lock = (rendered_project / "requirements.lock").read_text()
    pyproject = (rendered_project / "pyproject.toml").read_text()
    lock_ids = [s.id for s in lock_shapes(lock)]
    pyproject_ids = [s.id for s in pyproject_shapes(pyproject)]
    assert len(set(lock_ids)) == len(lock_ids) > 50
    assert len(set(pyproject_ids)) == len(pyproject_ids) > 200
    assert "project.dependencies=int" in pyproject_ids  # dependencies = 5
    assert "pin/mlprod=no-hashes" in lock_ids
    # the multi-line dependencies array is replaced whole, so the result is valid TOML
    import tomllib

    shape = next(s for s in pyproject_shapes(pyproject) if s.id == "project.dependencies=int")
    assert tomllib.loads(shape.data.decode())["project"]["dependencies"] == 5
    assert ODD_VALUES  # the YAML side uses the shared values; TOML has its own above


@pytest.mark.parametrize("rel", ["requirements.lock", "pyproject.toml"])
def test_every_lock_and_pyproject_shape_through_check(rendered_project, tmp_path, capsys, rel):
    text = (rendered_project / rel).read_text(encoding="utf-8")
    shapes = lock_shapes(text) if rel == "requirements.lock" else pyproject_shapes(text)
    codes, failures = _fuzz(shapes, rel, rendered_project, tmp_path, CHECK)
    _report(capsys, f"{rel} through check", codes, failures)


@pytest.fixture(scope="module")
def packaged_project(trained_project, tmp_path_factory) -> Path:
    """The trained project with v0002 and v0001 active, as ``package`` wants it."""
    from tests.reliability.cases import ACTIVE

    root = tmp_path_factory.mktemp("package") / trained_project.name
    shutil.copytree(trained_project, root)
    ACTIVE(root)
    return root


@pytest.mark.parametrize("rel", ["requirements.lock", "pyproject.toml"])
def test_lock_and_pyproject_shapes_through_package(packaged_project, tmp_path, capsys, rel):
    """A sample: package reads both files as check does and builds the context from them."""
    text = (packaged_project / rel).read_text(encoding="utf-8")
    shapes = lock_shapes(text) if rel == "requirements.lock" else pyproject_shapes(text)
    step = 4 if rel == "requirements.lock" else 8
    shapes = shapes[::step]
    codes, failures = _fuzz(shapes, rel, packaged_project, tmp_path, ["package"])
    _report(capsys, f"{rel} through package (every {step}th shape)", codes, failures)
