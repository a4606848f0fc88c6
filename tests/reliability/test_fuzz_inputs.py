"""Property-based fuzzing of what users hand mlprod: mlprod.yaml, and the tables of
``evaluate --predictions``, ``predict`` and ``skew`` (CSV, Parquet, JSON Lines).

The property is the contract of DESIGN.md, whatever the input: a clean result
(exit 0; 1 only where a gate or a skew threshold may fail) or bad input (exit
2, stderr one ``error:`` line, nothing written: no output file, no version, no
cache), and never a traceback or an internal error (exit 70).

The number of examples each test ran is shown by
``pytest tests/reliability/test_fuzz_inputs.py --hypothesis-show-statistics``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from mlprod_cli.cli import main
from mlprod_cli.core.config import parse_config
from mlprod_cli.errors import EXIT_USAGE, MlprodError

# A numpy or pandas warning would be printed in the middle of stderr: it fails the example
# (as exit 70) instead of passing unseen.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

FUZZ = settings(
    deadline=None,
    # No explain phase: it reruns a failure hundreds of times to annotate it (a minute here).
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    database=None,  # no .hypothesis/ folder written into the projects under test
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a folder)."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _check(code: int, out: str, err: str, allowed: tuple[int, ...]) -> None:
    assert "Traceback" not in out + err, err
    assert code in allowed, f"exit {code}: {err}"
    if code == EXIT_USAGE:
        assert err.startswith("error: ") and err.count("\n") == 1, err


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    for key in ("MLPROD_STORE_URL", "MLPROD_FORMAT", "MLPROD_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)


# =========================================================================== mlprod.yaml


@pytest.fixture(scope="module")
def small_project(rendered_project, tmp_path_factory) -> Path:
    """The rendered project with a tenth of its data, so that train runs in a blink."""
    root = tmp_path_factory.mktemp("fuzz-config") / rendered_project.name
    shutil.copytree(rendered_project, root)
    data = root / "data" / "lesions.csv"
    lines = data.read_text().splitlines()
    data.write_text("\n".join([lines[0], *lines[1::10]]) + "\n")
    return root


@pytest.fixture
def in_small_project(small_project, monkeypatch) -> Path:
    monkeypatch.chdir(small_project)
    template = (small_project / "mlprod.yaml").read_text()
    yield small_project
    (small_project / "mlprod.yaml").write_text(template)


def _load(root: Path) -> bool:
    """parse_config: a Config (True), or an MlprodError with exit code 2 (False); nothing else."""
    try:
        parse_config(root / "mlprod.yaml")
    except MlprodError as exc:
        assert exc.exit_code == EXIT_USAGE, exc
        assert "\n" not in exc.message, exc.message
        return False
    return True


KEYS = st.sampled_from(
    ["project", "data", "model", "baseline", "metrics", "tune", "store", "registry", "skew",
     "serve", "train", "target", "split", "gates", "metric", "min", "max", "class", "by",
     "test_size", "cutoff", "column", "params", "cv", "port", "host", "thresholds"]
)  # fmt: skip
NASTY_STRINGS = st.sampled_from(
    ["", " ", "~", "/", "..", "a:b:c", "recall@", "@", "recall@melanoma", "auroc", "2024-13-45",
     "2024-07-01", "{{ x }}", "nan", ".inf", "-1", "1e400", "yes", "null", "sqlite:///", "ftp://x",
     "skin_lesions.model:build", "skin_lesions.nope:x", "data/lesions.csv", "data/", "é", "\x00"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    NASTY_STRINGS,
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS | st.text(max_size=6), children, max_size=4),
    ),
    max_leaves=12,
)


def _dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@pytest.mark.slow
@settings(FUZZ, max_examples=700)
@given(document=st.dictionaries(KEYS, VALUES, max_size=8) | VALUES)
def test_random_yaml_documents(in_small_project, document):
    (in_small_project / "mlprod.yaml").write_text(_dump(document), encoding="utf-8")
    _load(in_small_project)


@settings(FUZZ, max_examples=1000)
@given(raw=st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_raw_text(in_small_project, raw):
    path = in_small_project / "mlprod.yaml"
    path.write_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))
    _load(in_small_project)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside nested mappings and lists."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, (*prefix, i))
    return out


def _parent(document: Any, path: tuple) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


def _out_of_range(value: Any):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return st.sampled_from([-1, 0, 10**12, 1.5, -0.5, float("nan"), float("inf")])
    return st.sampled_from([-value, value * 1000, 0, -1, value + 0.5, float("inf"), float("nan")])


def _mutated(
    draw, template: dict, values, *, protected: tuple[str, ...] = (), most: int = 4
) -> dict:
    """The template with one to ``most`` mutations: a key dropped, renamed or added, a value
    replaced by another type or pushed out of range."""
    document = json.loads(json.dumps(template))  # a deep copy of plain data
    for _ in range(draw(st.integers(min_value=1, max_value=most))):
        paths = [p for p in _paths(document) if not (p and p[0] in protected)]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(document, path), path[-1]
        action = draw(st.sampled_from(["drop", "replace", "range", "rename", "add"]))
        if action == "drop":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(values)
        elif action == "range":
            parent[last] = draw(_out_of_range(parent[last]))
        elif action == "rename" and isinstance(parent, dict):
            new = draw(KEYS | st.text(min_size=1, max_size=8))
            if new not in parent and not (len(path) == 1 and new in protected):
                parent[new] = parent.pop(last)
        elif isinstance(parent, dict):
            key = draw(KEYS | st.text(min_size=1, max_size=8))
            if not (len(path) == 1 and key in protected):
                parent.setdefault(key, draw(values))
    return document


@pytest.mark.slow
@settings(FUZZ, max_examples=700)
@given(data=st.data())
def test_mutated_template(in_small_project, small_project_template, data, capsys):
    document = _mutated(data.draw, small_project_template, VALUES)
    (in_small_project / "mlprod.yaml").write_text(_dump(document), encoding="utf-8")
    if not _load(in_small_project):
        return  # what check would print is that error, as one line (the catalogue checks it)
    before = _tree(in_small_project)
    code, out, err = _run(["check", "--no-venv"], capsys)
    _check(code, out, err, (0, 1, 2))  # 1: the lock or environment check fails
    assert _tree(in_small_project) == before


@pytest.fixture(scope="module")
def small_project_template(small_project) -> dict:
    return yaml.safe_load((small_project / "mlprod.yaml").read_text())


# Values train may meet without writing anywhere but the project: no absolute paths, no "..".
SAFE_STRINGS = st.text(max_size=10).filter(lambda s: not s.startswith(("/", "~")) and ".." not in s)
SAFE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    SAFE_STRINGS,
    st.sampled_from(["", "sex", "age", "visit_date", "lesion_id", "diagnosis", "melanoma", "nevus",
                     "2024-07-01", "2019-01-01", "2030-01-01", "random", "time", "recall@melanoma",
                     "data/lesions.csv", "skin_lesions.baseline:build", "skin_lesions.data:load"]),
    st.lists(st.sampled_from(["sex", "age", "lesion_id", "visit_date", "x"]), max_size=3),
)  # fmt: skip


@pytest.mark.slow
@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_train_with_a_mutated_config(in_small_project, small_project_template, data, capsys):
    """Configs that load, run through train: exit 0, or 2 with no version written."""
    document = _mutated(
        data.draw, small_project_template, SAFE_VALUES, protected=("registry",), most=2
    )
    (in_small_project / "mlprod.yaml").write_text(_dump(document), encoding="utf-8")
    try:
        parse_config(in_small_project / "mlprod.yaml")
    except MlprodError:
        assume(False)  # the loader's part is fuzzed above; here, what it accepts
    models = in_small_project / "models"
    before = _tree(in_small_project)
    code, out, err = _run(["train", "--cv", "0"], capsys)
    _check(code, out, err, (0, 2))
    if code == 2:
        assert _tree(in_small_project) == before
    for version in models.glob("v*"):  # keep the registry small for the next example
        shutil.rmtree(version)


# =========================================================================== tables

NASTY_CELLS = st.sampled_from(
    ["", " ", "a,b", 'say "hi"', "é", "日本語", "\u200b", "NaN", "nan", "inf", "-inf", "1e400",
     "-1e400", "NULL", "None", "\t", "0x10", "1,5", "١٢", "\ufeff", "🙂", "line\nbreak", "'",
     "9" * 40, "-0", "true"]
)  # fmt: skip
CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    NASTY_CELLS,
    st.text(max_size=6),
)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return str(value)


@st.composite
def tables(draw, names, sane) -> tuple[list[str], list[list[Any]]]:
    """Column names (some from ``names``, some random, maybe repeated) and rows of cells:
    each column's cells from ``sane[name]`` or anything at all."""
    columns = draw(st.lists(st.sampled_from(names) | st.text(max_size=6), max_size=9))
    if draw(st.booleans()):  # usually each wanted column once
        columns = list(dict.fromkeys(columns))
    rows = draw(st.integers(min_value=0, max_value=6))
    cells = {
        i: draw(st.lists(sane.get(name, CELLS) if draw(st.booleans()) else CELLS,
                         min_size=rows, max_size=rows))
        for i, name in enumerate(columns)
    }  # fmt: skip
    return columns, [[cells[i][r] for i in range(len(columns))] for r in range(rows)]


@st.composite
def csv_bytes(draw, table) -> bytes:
    columns, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    if columns or draw(st.booleans()):
        writer.writerow(columns)
    for row in rows:
        cells = [_cell_text(v) for v in row]
        if draw(st.integers(0, 9)) == 0:  # a ragged row
            cells = cells[: draw(st.integers(0, len(cells)))] + draw(
                st.lists(st.text(max_size=3), max_size=2)
            )
        writer.writerow(cells)
    data = buffer.getvalue().encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        data = b"\xef\xbb\xbf" + data  # a byte order mark
    if data and draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # truncated anywhere
    if draw(st.integers(0, 15)) == 0:
        data = draw(st.binary(max_size=64))  # not text at all
    return data


def _parquet_bytes(table) -> bytes | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns, rows = table
    arrays = []
    for i in range(len(columns)):
        values = [row[i] for row in rows]
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            arrays.append(pa.array([None if v is None else _cell_text(v) for v in values]))
    try:
        frame = pa.table(arrays, names=columns) if columns else pa.table({})
        buffer = io.BytesIO()
        pq.write_table(frame, buffer)
    except (pa.ArrowException, ValueError):
        return None
    return buffer.getvalue()


@st.composite
def table_file(draw, table, formats=("csv", "parquet")) -> tuple[str, bytes]:
    """A suffix and the bytes of ``table`` in that format; sometimes a file lying about it."""
    form = draw(st.sampled_from(formats))
    if form == "parquet":
        data = _parquet_bytes(table)
        if data is None or draw(st.integers(0, 9)) == 0:
            data = draw(csv_bytes(table))  # a .parquet that is really CSV
    elif form == "jsonl":
        data = draw(jsonl_bytes(table))
    else:
        data = draw(csv_bytes(table))
    return form, data


@st.composite
def jsonl_bytes(draw, table, log_format: bool = False) -> bytes:
    columns, rows = table
    lines = []
    for row in rows:
        record: Any = dict(zip(columns, row, strict=True))
        if log_format:
            record = {
                "model_version": draw(st.sampled_from(["v0002", "v0002", "v0001", "v0042", None, 5])),
                "features": record if draw(st.integers(0, 9)) else draw(CELLS),
                "prediction": draw(st.sampled_from(["nevus", "melanoma", "seborrheic_keratosis", None, 3, ""])),
                "scores": draw(st.one_of(
                    st.none(),
                    st.dictionaries(st.sampled_from(["melanoma", "nevus", "seborrheic_keratosis", "x"]),
                                    st.floats(allow_nan=True, allow_infinity=True) | CELLS, max_size=3),
                    st.lists(st.floats(), max_size=3),
                )),
            }  # fmt: skip
        if draw(st.integers(0, 19)) == 0:
            record = draw(CELLS)  # not an object
        lines.append(json.dumps(record, ensure_ascii=draw(st.booleans()), default=str))
    data = "\n".join(lines).encode("utf-8", "surrogatepass") + (
        b"\n" if draw(st.booleans()) else b""
    )
    if data and draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


# --------------------------------------------------------------------------- evaluate --predictions

LABELS = st.sampled_from(["a", "b", "c"])
SCORES = st.floats(min_value=0, max_value=1)
PREDICTION_TABLES = tables(
    ["y", "p", "score_a", "score_b", "score_c", "group"],
    {"y": LABELS, "p": LABELS, "score_a": SCORES, "score_b": SCORES, "score_c": SCORES,
     "group": st.sampled_from(["m", "f"])},
)  # fmt: skip


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-predictions")


@pytest.mark.slow
@settings(FUZZ, max_examples=700)
@given(data=st.data())
def test_evaluate_predictions_files(outside, monkeypatch, capsys, data):
    monkeypatch.chdir(outside)
    for leftover in outside.iterdir():
        leftover.unlink()
    table = data.draw(PREDICTION_TABLES)
    form, content = data.draw(table_file(table, formats=("csv", "csv", "parquet", "jsonl")))
    predictions = outside / f"p.{form}"
    predictions.write_bytes(content)
    argv = ["evaluate", "--predictions", predictions.name, "--label-col", "y", "--pred-col", "p"]
    if data.draw(st.booleans()):
        argv += [
            "--score-cols",
            data.draw(st.sampled_from(["score_a,score_b", "score_a,score_b,score_c", "score_a"])),
        ]
    if data.draw(st.integers(0, 3)) == 0:
        argv += ["--classes", data.draw(st.sampled_from(["a,b", "a,b,c", "c,b,a", "a"]))]
    if data.draw(st.integers(0, 3)) == 0:
        argv += ["--slice-by", data.draw(st.sampled_from(["group", "y", "nope"]))]
    if data.draw(st.integers(0, 4)) == 0:
        form, content = data.draw(table_file(data.draw(PREDICTION_TABLES)))
        (outside / f"l.{form}").write_bytes(content)
        argv += ["--labels", f"l.{form}"]
    output = outside / f"report.{data.draw(st.sampled_from(['json', 'md', 'xml']))}"
    argv += ["--format", {"json": "json", "md": "markdown", "xml": "junit"}[output.suffix[1:]]]
    argv += ["--output", output.name]
    before = _tree(outside)
    code, out, err = _run(argv, capsys)
    _check(code, out, err, (0, 2))  # outside a project there are no gates to fail
    if code == 2:
        assert _tree(outside) == before
    else:
        assert output.is_file()


# --------------------------------------------------------------------------- predict and skew

FEATURES = ["age", "sex", "anatomic_site", "diameter_mm", "asymmetry", "border_irregularity",
            "color_count", "evolving"]  # fmt: skip
NUMBER = st.one_of(st.integers(0, 90), st.floats(0, 30, allow_nan=False))
SERVING = {
    "age": NUMBER,
    "diameter_mm": NUMBER,
    "asymmetry": st.sampled_from([0, 1]),
    "border_irregularity": st.integers(0, 3),
    "color_count": st.integers(1, 5),
    "evolving": st.sampled_from([0, 1]),
    "sex": st.sampled_from(["male", "female"]),
    "anatomic_site": st.sampled_from(["trunk", "head/neck", "lower extremity", "palms/soles"]),
    "lesion_id": st.text(max_size=5),
    "visit_date": st.sampled_from(["2024-08-01", "2024-09-30", "not a date"]),
}


@st.composite
def serving_tables(draw):
    """Mostly the features the model needs (so scoring is reached), plus anything."""
    columns, rows = draw(tables([*FEATURES, "lesion_id", "visit_date"], SERVING))
    if draw(st.integers(0, 3)):  # most of the time, every feature is there
        missing = [f for f in FEATURES if f not in columns]
        extra = [[draw(SERVING[f]) for f in missing] for _ in rows]
        columns = columns + missing
        rows = [row + more for row, more in zip(rows, extra, strict=True)]
    return columns, rows


@pytest.fixture(scope="module")
def serving_project(trained_project, tmp_path_factory) -> Path:
    """The trained project with v0002 active."""
    root = tmp_path_factory.mktemp("fuzz-serving") / trained_project.name
    shutil.copytree(trained_project, root)
    (root / "models" / "active.json").write_text(
        json.dumps({"model": "v0002", "baseline": "v0001",
                    "history": {"model": ["v0002"], "baseline": ["v0001"]}})
    )  # fmt: skip
    return root


@contextlib.contextmanager
def _inputs(root: Path, files: dict[str, bytes]):
    """Write the example's input files; remove them and every output after it."""
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    try:
        yield
    finally:
        for rel in files:
            (root / rel).unlink(missing_ok=True)
        for leftover in ("fuzz", "out.csv", "out.parquet", "report.json"):
            path = root / leftover
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


@pytest.mark.slow
@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_predict_inputs(serving_project, monkeypatch, capsys, data):
    monkeypatch.chdir(serving_project)
    table = data.draw(serving_tables())
    form, content = data.draw(table_file(table, formats=("csv", "csv", "parquet", "jsonl")))
    name = f"fuzz-in.{form}"
    output = data.draw(st.sampled_from(["out.csv", "out.parquet"]))
    argv = [
        "predict",
        name,
        "--output",
        output,
        "--batch-rows",
        str(data.draw(st.sampled_from([1, 2, 1000]))),
    ]
    with _inputs(serving_project, {name: content}):
        before = _tree(serving_project)
        code, out, err = _run(argv, capsys)
        _check(code, out, err, (0, 2))
        if code == 2:
            assert _tree(serving_project) == before  # no output, no temporary file
        else:
            assert (serving_project / output).is_file()


@pytest.mark.slow
@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_skew_inputs(serving_project, monkeypatch, capsys, data):
    monkeypatch.chdir(serving_project)
    table = data.draw(serving_tables())
    if data.draw(st.booleans()):  # a request log folder as serve writes it
        files = {
            f"fuzz/requests-2024-08-0{i}.jsonl": data.draw(jsonl_bytes(table, log_format=True))
            for i in range(1, data.draw(st.integers(1, 2)) + 1)
        }
        argv = ["skew", "--log", "fuzz"]
    else:
        form, content = data.draw(table_file(table, formats=("csv", "parquet", "jsonl")))
        files = {f"fuzz-current.{form}": content}
        argv = ["skew", "--current", f"fuzz-current.{form}"]
    argv += ["--format", "json", "--output", "report.json"]
    with _inputs(serving_project, files):
        before = _tree(serving_project)
        code, out, err = _run(argv, capsys)
        _check(code, out, err, (0, 1, 2))  # 1: a skew threshold failed
        if code == 2:
            assert _tree(serving_project) == before
        else:
            json.loads((serving_project / "report.json").read_text())
