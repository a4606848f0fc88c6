"""Data as it comes, read the same way by every command that reads it.

A value one command accepts must not break another: a date with a UTC offset
that ``serve`` answered 200 is read by ``skew`` from the request log, by
``predict`` from a table and by ``train`` from the split column, all alike
(offsets that differ become UTC instants, see ``dataset.parse_datetimes``).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from mlprod_cli.cli import main
from mlprod_cli.core.workspace import Workspace
from tests.reliability.cases import HEADER, ROW
from tests.serving import activate_model


def _run(argv, cwd: Path, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("CI", "true")
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_clean(code: int, err: str, allowed=(0,)) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in allowed, f"exit {code}: {err}"


# --------------------------------------------------------------------------- dates with offsets


@pytest.fixture(scope="module")
def dated_project(rendered_project, tmp_path_factory) -> Path:
    """The template with ``visit_date`` a feature (a datetime in the schema), trained and active."""
    from mlprod_cli.core.train import train

    dest = tmp_path_factory.mktemp("dated") / rendered_project.name
    shutil.copytree(rendered_project, dest)
    config = dest / "mlprod.yaml"
    lines = config.read_text().splitlines(keepends=True)
    config.write_text(
        "".join(line for line in lines if not line.strip().startswith("- visit_date"))
    )
    train(Workspace.load(dest), cv=0)
    metadata = json.loads((dest / "models" / "v0002" / "metadata.json").read_text())
    kinds = {f["name"]: f["kind"] for f in metadata["schema"]["features"]}
    assert kinds["visit_date"] == "datetime", kinds
    return activate_model(dest)


@pytest.fixture
def dated(dated_project, tmp_path) -> Path:
    dest = tmp_path / dated_project.name
    shutil.copytree(dated_project, dest)
    return dest


def _row(when: str) -> dict:
    values = dict(zip(HEADER.split(","), ROW.split(","), strict=True))
    features = {k: v for k, v in values.items() if k != "lesion_id"}
    for name in ("age", "diameter_mm", "asymmetry", "border_irregularity", "color_count"):
        features[name] = float(features[name])
    features["evolving"] = float(features["evolving"])
    features["visit_date"] = when
    return features


OFFSETS = ("2024-08-01T10:00:00+02:00", "2024-08-01T08:00:00Z", "2024-08-01T03:00:00-05:00")


def test_serve_answers_rows_whose_offsets_differ_and_skew_reads_their_log(
    dated, tmp_path, monkeypatch, capsys
):
    # Issue 11, item 2: a batch of mixed offsets was a 500; two single-row requests,
    # each answered 200, left a log that made every later skew exit 70.
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from mlprod_cli.core.config import load_config
    from mlprod_cli.core.serve import ServeOptions, create_app

    log_dir = tmp_path / "requests"
    log_dir.mkdir()
    app = create_app(Workspace(load_config(dated)), ServeOptions(log_dir=log_dir))
    with TestClient(app, raise_server_exceptions=False) as client:
        singles = [client.post("/predict", json=_row(when)) for when in OFFSETS[:2]]
        assert [r.status_code for r in singles] == [200, 200], [r.text for r in singles]
        batch = client.post("/predict", json=[_row(when) for when in OFFSETS])
        assert batch.status_code == 200, batch.text
        # The same instant, whatever its offset: the same answer.
        answers = [singles[0].json()["scores"], singles[1].json()["scores"]]
        answers += [p["scores"] for p in batch.json()["predictions"]]
        assert all(a == pytest.approx(answers[0]) for a in answers)
    assert sum(len(p.read_text().splitlines()) for p in log_dir.glob("*.jsonl")) == 5

    code, out, err = _run(
        ("skew", "--log", str(log_dir), "--format", "json"), dated, monkeypatch, capsys
    )
    _assert_clean(code, err, allowed=(0, 1))  # 1: a distance over its threshold
    report = json.loads(out)
    assert report["rows_current"] == 5
    assert "visit_date" in {f["name"] for f in report["features"]}
    # Every date read as a date: none is a value of another type.
    assert not [
        s for s in report["schema"] if s["column"] == "visit_date" and s["kind"] == "type_change"
    ]


def test_predict_reads_a_table_whose_offsets_differ(dated, monkeypatch, capsys):
    lines = [HEADER] + [ROW.replace("2024-08-01", when) for when in OFFSETS]
    (dated / "in.csv").write_text("\n".join(lines) + "\n")
    code, _, err = _run(("predict", "in.csv", "--output", "out.csv"), dated, monkeypatch, capsys)
    _assert_clean(code, err)
    rows = (dated / "out.csv").read_text().splitlines()
    assert len(rows) == 4 and len(set(rows[1:])) == 1  # one instant, one answer


def test_train_without_a_loader_splits_on_offsets_that_differ(project, monkeypatch, capsys):
    config = project / "mlprod.yaml"
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(line for line in lines if not line.strip().startswith("loader:")))
    data = project / "data" / "lesions.csv"
    rows = data.read_text().splitlines()
    for i in range(1, len(rows), 2):  # every other row in summer time, the rest in UTC
        cells = rows[i].split(",")
        cells[1] += "T12:00:00+02:00" if i % 4 == 1 else "T12:00:00Z"
        rows[i] = ",".join(cells)
    data.write_text("\n".join(rows) + "\n")
    code, out, err = _run(("train", "--cv", "0"), project, monkeypatch, capsys)
    _assert_clean(code, err)
    assert "trained on" in out


# --------------------------------------------------------------------------- train and predict agree


def _cr_only(text: str) -> bytes:
    return text.replace("\n", "\r").encode()


def _latin1(text: str) -> bytes:
    return text.replace("trunk", "tr\u00fcnk").encode("latin-1")


def _long_field(text: str) -> bytes:
    lines = text.splitlines()
    cells = lines[1].split(",")
    cells[0] = "L" * (50 << 20)  # lesion_id, excluded: 50 MB in one field
    return ("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n").encode()


def _parquet(change):
    def make(text: str) -> bytes:
        import io

        import pandas as pd

        frame = pd.read_csv(io.StringIO(text), dtype={"lesion_id": str})
        change(frame)
        out = io.BytesIO()
        frame.to_parquet(out)
        return out.getvalue()

    return make


def _bytes(frame) -> None:
    frame["sex"] = frame["sex"].map(str.encode)


def _structs(frame) -> None:
    frame["anatomic_site"] = [{"site": site} for site in frame["anatomic_site"]]


# (file name, how it is made from the template's data, None when both read it, or the
# reason both give)
SHAPES = [
    ("cr.csv", _cr_only, None),
    ("long.csv", _long_field, None),
    ("latin1.csv", _latin1, "not UTF-8 at byte "),
    ("bytes.parquet", _parquet(_bytes), "column 'sex' holds bytes, which mlprod cannot use"),
    ("structs.parquet", _parquet(_structs), "column 'anatomic_site' holds structs, which mlprod"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "make", "reason"), SHAPES, ids=[s[0] for s in SHAPES])
def test_train_and_predict_agree_on_a_file(trained, name, make, reason, monkeypatch, capsys):
    # Issue 11, item 8: train accepted what predict refused with a wrong message
    # ("no rows" for CR-only lines, "straddling object" for a long field).
    text = (trained / "data" / "lesions.csv").read_text()
    (trained / name).write_bytes(make(text))
    outcomes = {
        "train": _run(("train", "--data", name, "--cv", "0"), trained, monkeypatch, capsys),
        "predict": _run(
            ("predict", name, "--output", "out.csv", "--model", "v0002"),
            trained,
            monkeypatch,
            capsys,
        ),
    }
    for command, (code, _, err) in outcomes.items():
        if reason is None:
            _assert_clean(code, err)
        else:
            assert code == 2 and err.count("\n") == 1 and reason in err, (command, err)
    if reason is None:
        assert len((trained / "out.csv").read_text().splitlines()) == text.count("\n")
    else:
        assert not (trained / "out.csv").exists()


# --------------------------------------------------------------------------- skew on hostile request logs


def _log_records() -> list[dict]:
    from mlprod_cli.core.request_log import record

    features = {k: v for k, v in _row("2024-08-01").items() if k != "visit_date"}
    rows = [
        dict(features, age=age, sex=sex)
        for age, sex in ((37.0, "male"), (52.0, "female"), (61.0, "male"))
    ]
    scores = {"melanoma": 0.1, "nevus": 0.8, "seborrheic_keratosis": 0.1}
    return [
        record(f"2024-08-01T10:00:0{i}.000Z", f"r{i}", "v0002", row, "nevus", scores)
        for i, row in enumerate(rows)
    ]


def _log_shapes():
    from tests.reliability.shapes import jsonl_shapes

    return jsonl_shapes(_log_records())


LOG_SHAPES = _log_shapes()


@pytest.fixture(scope="module")
def skewed(trained_project, tmp_path_factory) -> Path:
    """The trained project with v0002 active, shared by the shapes (skew writes nothing)."""
    dest = tmp_path_factory.mktemp("skewed") / trained_project.name
    shutil.copytree(trained_project, dest)
    return activate_model(dest)


def _warning_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith(("mlprod: ", "error: "))]


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(s, id=s.id, marks=[pytest.mark.slow] if "50mb" in s.id else [])
        for s in LOG_SHAPES
    ],
)
def test_skew_reads_a_hostile_request_log(skewed, shape, tmp_path, monkeypatch, capsys):
    # Issue 11, item 13: nesting 100,000 deep, lone surrogates, ±1e308 and the like.
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "requests-2024-08-01.jsonl").write_bytes(shape.data)
    code, out, err = _run(
        ("skew", "--log", str(logs), "--format", "json"), skewed, monkeypatch, capsys
    )
    _assert_clean(code, err, allowed=(0, 1, 2))
    assert "RecursionError" not in err
    assert _warning_lines(err) == [], err  # no numpy or pandas warning on stderr
    if code == 2:
        assert err.count("error: ") == 1 and err.endswith("\n") and out == "", err
        assert "requests-2024-08-01.jsonl" in err or "logs" in err, err
    else:
        json.loads(out)


# --------------------------------------------------------------------------- special files in data paths


def _special(kind: str, path: Path) -> None:
    import os
    import socket

    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))  # left bound: the test's process ends it
        _SOCKETS.append(server)
    elif kind == "folder":
        path.mkdir()
    elif kind == "dangling-link":
        path.symlink_to(path.parent / "gone.csv")
    elif kind == "looping-link":
        path.symlink_to(path)
    else:  # a link to a device
        path.symlink_to(f"/dev/{kind.removeprefix('link-to-')}")


_SOCKETS: list = []
KINDS = {
    "fifo": "is a named pipe (FIFO), not a file",
    "socket": "is a socket, not a file",
    "folder": "",  # each command says it its own way: a folder is not a table
    "dangling-link": "gone.csv, which does not exist",
    "looping-link": "cannot read it: Too many levels of symbolic links",
    "link-to-zero": "is a device, not a file",
    "link-to-urandom": "is a device, not a file",
}
READERS = {
    "train-data": ("train", "--data", "{}", "--cv", "0"),
    "predict-input": ("predict", "{}", "--output", "out.csv", "--model", "v0002"),
    "evaluate-predictions": (
        "evaluate",
        "--predictions",
        "{}",
        "--label-col",
        "y",
        "--pred-col",
        "p",
    ),
    "skew-current": ("skew", "--current", "{}", "--model", "v0002"),
    "skew-reference": (
        "skew",
        "--reference",
        "{}",
        "--current",
        "data/lesions.csv",
        "--model",
        "v0002",
    ),
    "new-data": (
        "new",
        "made",
        "--data",
        "{}",
        "--target",
        "y",
        "--no-input",
        "--no-venv",
        "--no-git",
    ),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reader", READERS)
def test_a_special_file_in_a_data_path_is_one_error_line(
    trained, reader, kind, monkeypatch, capsys
):
    import signal

    name = "odd.jsonl" if reader == "skew-current" and kind == "fifo" else "odd.csv"
    _special(kind, trained / name)
    argv = tuple(a.replace("{}", name) for a in READERS[reader])

    def hung(*_):
        raise AssertionError(f"{reader} on a {kind} did not end in 20 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        code, out, err = _run(argv, trained, monkeypatch, capsys)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert name in err and KINDS[kind] in err, err
    assert out == "" and not (trained / "out.csv").exists() and not (trained / "made").exists()


def test_a_symlink_to_a_regular_file_is_read_as_the_users_data(trained, monkeypatch, capsys):
    (trained / "linked.csv").symlink_to(trained / "data" / "lesions.csv")
    argv = ("predict", "linked.csv", "--output", "out.csv", "--model", "v0002")
    code, _, err = _run(argv, trained, monkeypatch, capsys)
    _assert_clean(code, err)
    assert (trained / "out.csv").is_file()
